/* test_strstore.c — lib/core/strstore.c: copies are NUL-terminated, equal to
 * their source, and stay where they are while many more strings are added
 * (chunks are never moved); a string longer than a chunk gets its own. */
#include <stdint.h>

#include "core/strstore.h"
#include "test.h"

static void test_stable(void)
{
    enum { N = 100000 };
    static const char *copy[N];
    mm_strstore st = {0};
    char line[32];
    for (int i = 0; i < N; i++) {
        int len = snprintf(line, sizeof line, "q%d-%d", i, i * 7);
        copy[i] = mm_strstore_add(&st, line, (size_t)len);
    }
    int bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "q%d-%d", i, i * 7);
        bad += strcmp(copy[i], line) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(st.nchunks > 1); /* ~1.3 MB of strings: more than one chunk */
    /* not NUL-terminated input: only n bytes are taken */
    const char *p = mm_strstore_add(&st, "abcdef", 3);
    CHECK_EQ_STR(p, "abc");
    CHECK_EQ_STR(mm_strstore_add(&st, "", 0), "");
    /* longer than the largest chunk */
    size_t big = (size_t)3 << 20;
    char *s = malloc(big);
    memset(s, 'z', big);
    const char *b = mm_strstore_add(&st, s, big);
    CHECK(strlen(b) == big && b[0] == 'z' && b[big - 1] == 'z');
    CHECK_EQ_STR(copy[N - 1], "q99999-699993");
    CHECK_EQ_STR(mm_strstore_add(&st, "after", 5), "after");
    free(s);
    mm_strstore_free(&st);
    CHECK(st.nchunks == 0 && st.chunk == NULL);
    mm_strstore z = {0};
    mm_strstore_free(&z); /* a zeroed store frees */
}

int main(void)
{
    RUN(test_stable);
    return test_summary();
}
