/* test_classify.c — the mm-eval --confusion matrix: parsing, per-class
 * recall, the heat map and recall bars (names escaped), and every error
 * with its file:line. */
#include "report/classify.h"
#include "report_test_util.h"
#include "test.h"

static void test_load_and_recall(void)
{
    report_classes c;
    mm_error err = {0};
    const char *p = tmp_file("c.tsv", "true\\predicted\tcat\t<dog>\tnone\r\ncat\t3\t1\t0\n<dog>\t0\t2\t0\nnone\t0\t0\t0\n");
    CHECK_EQ_INT(report_classes_load(&c, p, &err), 0);
    CHECK_EQ_INT(c.n, 3);
    CHECK_EQ_STR(c.name[1], "<dog>");
    CHECK_EQ_INT(c.count[0 * 3 + 1], 1);
    CHECK_NEAR(report_class_recall(&c, 0), 0.75, 1e-12);
    CHECK_NEAR(report_class_recall(&c, 1), 1.0, 1e-12);
    CHECK(isnan(report_class_recall(&c, 2))); /* empty row */
    capture cap;
    report_classes_write(capture_begin(&cap), &c);
    char *s = capture_end(&cap);
    CHECK(strstr(s, "class=\"heatmap\"") != NULL);
    CHECK(strstr(s, "Per-class recall") != NULL);
    CHECK(strstr(s, "&lt;dog&gt;") != NULL);
    CHECK(strstr(s, "<dog>") == NULL);
    free(s);
    report_classes_free(&c);
}

static void test_many_classes_no_heatmap(void)
{
    char *text = malloc(1 << 16), *q = text;
    q += sprintf(q, "true\\predicted");
    int n = REPORT_HEATMAP_MAX + 1;
    for (int i = 0; i < n; i++) q += sprintf(q, "\tc%d", i);
    q += sprintf(q, "\n");
    for (int i = 0; i < n; i++) {
        q += sprintf(q, "c%d", i);
        for (int j = 0; j < n; j++) q += sprintf(q, "\t%d", i == j);
        q += sprintf(q, "\n");
    }
    report_classes c;
    mm_error err = {0};
    CHECK_EQ_INT(report_classes_load(&c, tmp_file("big.tsv", text), &err), 0);
    capture cap;
    report_classes_write(capture_begin(&cap), &c);
    char *s = capture_end(&cap);
    CHECK(strstr(s, "class=\"heatmap\"") == NULL);
    CHECK(strstr(s, "heat map left out") != NULL);
    free(s);
    report_classes_free(&c);
    free(text);
}

static void check_error(const char *text, const char *want)
{
    report_classes c;
    mm_error err = {0};
    CHECK_EQ_INT(report_classes_load(&c, tmp_file("bad.tsv", text), &err), -1);
    CHECK_MSG(strstr(err.msg, want) != NULL, "message '%s' lacks '%s'", err.msg, want);
}

static void test_errors(void)
{
    check_error("", "bad.tsv:1: empty confusion matrix");
    check_error("class\ta\n", "bad.tsv:1: expected the header");
    check_error("true\\predicted\ta\tb\na\t1\t0\nb\t1\n", "bad.tsv:3: expected 3 fields, found 2");
    check_error("true\\predicted\ta\tb\nb\t1\t0\n", "bad.tsv:2: row class 'b' is not column 1's");
    check_error("true\\predicted\ta\na\t-1\n", "bad.tsv:2: field 2: expected a count, found '-1'");
    check_error("true\\predicted\ta\na\tx\n", "bad.tsv:2: field 2: expected a count");
    check_error("true\\predicted\ta\na\t1\na\t1\n", "bad.tsv:3:");
    report_classes c;
    mm_error err = {0};
    CHECK_EQ_INT(report_classes_load(&c, "/nonexistent/c.tsv", &err), -1);
    CHECK(strstr(err.msg, "/nonexistent/c.tsv") != NULL);
}

int main(void)
{
    RUN(test_load_and_recall);
    RUN(test_many_classes_no_heatmap);
    RUN(test_errors);
    tmp_cleanup();
    return test_summary();
}
