/* test_texts.c — the id<TAB>text file: lookup, first text of a repeated id,
 * CR and BOM handling, and every error with its file:line. */
#include "report/texts.h"
#include "report_test_util.h"
#include "test.h"

static void test_lookup(void)
{
    report_texts t;
    mm_error err = {0};
    const char *p = tmp_file("t.tsv", "\xEF\xBB\xBFq2\tsecond\r\nq1\tfirst\twith tab\nq2\tlater\n"
                                      "<script>\t<b>&\n");
    CHECK_EQ_INT(report_texts_load(&t, p, &err), 0);
    CHECK_EQ_INT(t.count, 3);
    CHECK_EQ_STR(report_texts_find(&t, "q1"), "first\twith tab"); /* rest of the line */
    CHECK_EQ_STR(report_texts_find(&t, "q2"), "second");          /* first kept, CR dropped */
    CHECK_EQ_STR(report_texts_find(&t, "<script>"), "<b>&");      /* stored raw, escaped on output */
    CHECK(report_texts_find(&t, "q3") == NULL);
    report_texts_free(&t);
    p = tmp_file("empty.tsv", "");
    CHECK_EQ_INT(report_texts_load(&t, p, &err), 0);
    CHECK(report_texts_find(&t, "q1") == NULL);
    report_texts_free(&t);
    CHECK(report_texts_find(NULL, "x") == NULL);
}

static void check_error(const char *text, const char *want)
{
    report_texts t;
    mm_error err = {0};
    const char *p = tmp_file("bad.tsv", text);
    CHECK_EQ_INT(report_texts_load(&t, p, &err), -1);
    CHECK_MSG(strstr(err.msg, want) != NULL, "message '%s' lacks '%s'", err.msg, want);
}

static void test_errors(void)
{
    check_error("q1\tok\nnotab\n", "bad.tsv:2: expected id<TAB>text");
    check_error("q1\tok\n\n", "bad.tsv:2: expected id<TAB>text");
    check_error("\tno id\n", "bad.tsv:1: expected id<TAB>text");
    report_texts t;
    mm_error err = {0};
    CHECK_EQ_INT(report_texts_load(&t, "/nonexistent/x.tsv", &err), -1);
    CHECK(strstr(err.msg, "/nonexistent/x.tsv") != NULL);
    const char *p = tmp_file("nul.tsv", "");
    FILE *fp = fopen(p, "wb");
    fwrite("a\tb\0c\n", 1, 6, fp);
    fclose(fp);
    CHECK_EQ_INT(report_texts_load(&t, p, &err), -1);
    CHECK(strstr(err.msg, "nul.tsv:1: NUL byte") != NULL);
}

int main(void)
{
    RUN(test_lookup);
    RUN(test_errors);
    tmp_cleanup();
    return test_summary();
}
