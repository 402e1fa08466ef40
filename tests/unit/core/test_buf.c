/* test_buf.c — lib/core/buf.c: appends of every kind, growth across many
 * doublings, the trailing NUL, reading a whole stream, detach. */
#include "core/buf.h"
#include "test.h"

static void test_append(void)
{
    mm_buf b = {0};
    mm_buf_append(&b, "ab", 2);
    mm_buf_putc(&b, 'c');
    mm_buf_printf(&b, "%d-%s", 42, "x");
    CHECK_EQ_STR(b.data, "abc42-x");
    CHECK_EQ_INT(b.len, 7);
    for (int i = 0; i < 100000; i++) mm_buf_printf(&b, "%05d", i % 100000);
    CHECK_EQ_INT(b.len, 7 + 500000);
    CHECK(b.data[b.len] == '\0' && b.cap > b.len);
    CHECK(memcmp(b.data + 7 + 5 * 99999, "99999", 5) == 0);
    char big[5000];
    memset(big, 'y', sizeof big);
    mm_buf_printf(&b, "%.*s", (int)sizeof big, big); /* longer than the first try */
    CHECK(b.len == 7 + 500000 + 5000 && b.data[b.len - 1] == 'y' && b.data[b.len] == '\0');
    size_t len;
    char *p = mm_buf_detach(&b, &len);
    CHECK(len == 7 + 500000 + 5000 && b.data == NULL && b.len == 0);
    free(p);
    mm_buf e = {0};
    p = mm_buf_detach(&e, &len); /* an empty buffer detaches to "" */
    CHECK(p && p[0] == '\0' && len == 0);
    free(p);
}

static void test_read(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    for (int i = 0; i < 50000; i++) fprintf(f, "line %d\n", i);
    long size = ftell(f);
    rewind(f);
    mm_buf b = {0};
    mm_buf_append(&b, "head:", 5);
    CHECK(mm_buf_read(&b, f) == 0);
    CHECK_EQ_INT(b.len, 5 + size);
    CHECK(strncmp(b.data + b.len - 11, "line 49999\n", 11) == 0);
    fclose(f);
    mm_buf_free(&b);
    CHECK(b.data == NULL);
}

int main(void)
{
    RUN(test_append);
    RUN(test_read);
    return test_summary();
}
