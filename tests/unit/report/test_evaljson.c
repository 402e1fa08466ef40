/* test_evaljson.c — mm-eval --format json outputs: one run with intervals,
 * a --compare of two, nulls and runid, the section (escaped), and errors
 * naming file:line:column or the JSON path. */
#include <math.h>

#include "report/evaljson.h"
#include "report_test_util.h"
#include "test.h"

static const char ONE[] =
    "{\"qrels\":\"q\",\"run\":\"<r1>\",\"summary\":{\"runid\":\"x\",\"MRR\":0.5,\"R@1\":0.25},"
    "\"per_query\":null,\"ci\":{\"level\":0.9,\"bootstrap\":10,\"seed\":1,"
    "\"intervals\":{\"MRR\":[0.4,0.6],\"R@1\":[null,0.3]}}}";
static const char CMP[] =
    "{\"qrels\":\"q\",\"run_a\":\"a\",\"run_b\":\"b\",\"num_q\":3,\"summary\":{\"MRR\":"
    "{\"mean_a\":0.5,\"mean_b\":0.75,\"diff\":0.25,\"p_permutation\":0.5,\"permutation_exact\":true,"
    "\"t\":null,\"p_ttest\":null,\"wins\":1,\"ties\":2,\"losses\":0,\"diff_ci\":[0,0.5]}}}";

static void test_one_run(void)
{
    report_evaljson e;
    mm_error err = {0};
    CHECK_EQ_INT(report_evaljson_load_mem(&e, ONE, strlen(ONE), "one.json", &err), 0);
    CHECK(!e.compare);
    CHECK_EQ_STR(e.run, "<r1>");
    CHECK_NEAR(e.ci_level, 0.9, 0);
    CHECK_EQ_INT(e.count, 2); /* runid skipped */
    CHECK_EQ_STR(e.rows[0].measure, "MRR");
    CHECK_NEAR(e.rows[0].value, 0.5, 0);
    CHECK_NEAR(e.rows[0].lo, 0.4, 0);
    CHECK_NEAR(e.rows[0].hi, 0.6, 0);
    CHECK(isnan(e.rows[1].lo));
    capture c;
    report_evaljson_write(capture_begin(&c), &e, 1);
    char *s = capture_end(&c);
    CHECK(strstr(s, "&lt;r1&gt;") != NULL && strstr(s, "<r1>") == NULL);
    CHECK(strstr(s, "<td>0.5000</td><td>[0.4000, 0.6000]</td>") != NULL);
    CHECK(strstr(s, "90% interval") != NULL);
    free(s);
    report_evaljson_free(&e);
}

static void test_compare(void)
{
    report_evaljson e;
    mm_error err = {0};
    CHECK_EQ_INT(report_evaljson_load_mem(&e, CMP, strlen(CMP), "cmp.json", &err), 0);
    CHECK(e.compare);
    CHECK_EQ_STR(e.run_b, "b");
    CHECK_EQ_INT(e.count, 1);
    CHECK_NEAR(e.rows[0].diff, 0.25, 0);
    CHECK_NEAR(e.rows[0].p_perm, 0.5, 0);
    CHECK(isnan(e.rows[0].p_t));
    capture c;
    report_evaljson_write(capture_begin(&c), &e, 1);
    char *s = capture_end(&c);
    CHECK(strstr(s, "<td>0.5000</td><td>0.7500</td><td>+0.2500</td><td>[0.0000, 0.5000]</td>"
                    "<td>0.5</td><td>–</td>") != NULL);
    free(s);
    report_evaljson_free(&e);
    /* a file, and a section of nothing */
    CHECK_EQ_INT(report_evaljson_load(&e, tmp_file("c.json", CMP), &err), 0);
    report_evaljson_free(&e);
    report_evaljson_write(capture_begin(&c), NULL, 0);
    s = capture_end(&c);
    CHECK_EQ_STR(s, "");
    free(s);
}

static void check_error(const char *text, const char *want)
{
    report_evaljson e;
    mm_error err = {0};
    CHECK_EQ_INT(report_evaljson_load_mem(&e, text, strlen(text), "e.json", &err), -1);
    CHECK_MSG(strstr(err.msg, want) != NULL, "message '%s' lacks '%s'", err.msg, want);
}

static void test_errors(void)
{
    check_error("{\"summary\": {\"MRR\": 0.5,\n \"x\": }\n", "e.json:2:");
    check_error("", "e.json:1:");
    check_error("[1]", "e.json: expected mm-eval --format json output");
    check_error("{\"run\":\"r\"}", "e.json: expected mm-eval --format json output");
    check_error("{\"summary\":{\"MRR\":[1]}}", "e.json: summary.MRR: expected a number");
    check_error("{\"summary\":{\"MRR\":1},\"ci\":{\"level\":0.9}}", "e.json: ci: expected an object");
    check_error("{\"summary\":{\"MRR\":1},\"ci\":{\"level\":0.9,\"intervals\":{\"MRR\":[1]}}}",
                "e.json: ci.intervals.MRR: expected [low, high]");
    check_error("{\"run_a\":\"a\",\"summary\":{}}", "e.json: run_a, run_b: expected strings");
    check_error("{\"run_a\":\"a\",\"run_b\":\"b\",\"summary\":{\"MRR\":1}}",
                "e.json: summary.MRR: expected an object");
    check_error("{\"run_a\":\"a\",\"run_b\":\"b\",\"summary\":{\"MRR\":{\"diff\":\"x\"}}}",
                "e.json: summary.MRR.diff: expected a number");
    check_error("{\"summary\":{},\"summary\":{}}", "e.json:1:"); /* duplicate key */
    report_evaljson e;
    mm_error err = {0};
    CHECK_EQ_INT(report_evaljson_load(&e, "/nonexistent/e.json", &err), -1);
    CHECK(strstr(err.msg, "/nonexistent/e.json") != NULL);
}

int main(void)
{
    RUN(test_one_run);
    RUN(test_compare);
    RUN(test_errors);
    tmp_cleanup();
    return test_summary();
}
