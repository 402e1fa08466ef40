/* test_trec.c — TREC run/qrels parsing, ordering and writing. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"
#include "io/trec.h"

static void test_compare_ranked(void)
{
    CHECK(trec_compare_ranked(2.0, "a", 1.0, "z") < 0); /* higher score first */
    CHECK(trec_compare_ranked(1.0, "a", 2.0, "z") > 0);
    /* ties: docno descending, byte-wise */
    CHECK(trec_compare_ranked(1.0, "d", 1.0, "c") < 0);
    CHECK(trec_compare_ranked(1.0, "9", 1.0, "10") < 0);
    CHECK(trec_compare_ranked(1.0, "doc2", 1.0, "doc10") < 0);
    CHECK(trec_compare_ranked(1.0, "a", 1.0, "A") < 0);
    CHECK(trec_compare_ranked(1.0, "a", 1.0, "_x") < 0);
    CHECK(trec_compare_ranked(1.0, "_x", 1.0, "A") < 0);
    CHECK(trec_compare_ranked(-2.5, "x", -2.5, "x") == 0);
    trec_ranked r[5] = {{1.0, "a"}, {1.0, "c"}, {2.0, "b"}, {1.0, "d"}, {1.0, "b"}};
    trec_sort_ranked(r, 5);
    CHECK_EQ_STR(r[0].docno, "b");
    CHECK_EQ_STR(r[1].docno, "d");
    CHECK_EQ_STR(r[2].docno, "c");
    CHECK_EQ_STR(r[3].docno, "b");
    CHECK_EQ_STR(r[4].docno, "a");
    CHECK(trec_is_sorted_ranked(r, 5));
}

static void test_parse_score(void)
{
    const char *ok[] = {"1",        "1.0",     "1e0",     "-2.5e0",    "-2.5",  "0.1",
                        "123456.789", "+3",    ".5",      "5.",        "1e-300", "1.7976931348623157e308",
                        "0.30000000000000004", "12345678901234567890123", "4.9e-324", "inf",
                        "-0",        "0x1p3",   "2.2250738585072014e-308", "9007199254740993"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -1;
        CHECK_MSG(trec_parse_score(ok[i], strlen(ok[i]), &v), "%s", ok[i]);
        double ref = strtod(ok[i], NULL);
        CHECK_MSG(memcmp(&v, &ref, sizeof v) == 0, "%s: %.17g != %.17g", ok[i], v, ref);
    }
    /* random decimals: bit-identical to strtod */
    unsigned long long st = 12345;
    char buf[64];
    for (int i = 0; i < 20000; i++) {
        double x = (test_rand_unit(&st) - 0.5) * pow(10, (int)(test_rand_u64(&st) % 12) - 4);
        snprintf(buf, sizeof buf, i % 2 ? "%.*f" : "%.*e", (int)(test_rand_u64(&st) % 17), x);
        double v, ref = strtod(buf, NULL);
        CHECK(trec_parse_score(buf, strlen(buf), &v));
        if (memcmp(&v, &ref, sizeof v) != 0) {
            CHECK_MSG(0, "%s", buf);
            break;
        }
    }
    const char *bad[] = {"", "abc", "1.0x", "nan", "-", "1e", "1e+", "--1", " 1", "1 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v;
        CHECK_MSG(!trec_parse_score(bad[i], strlen(bad[i]), &v), "'%s' accepted", bad[i]);
    }
    long l;
    CHECK(trec_parse_long("-2", 2, &l) && l == -2);
    CHECK(trec_parse_long("+17", 3, &l) && l == 17);
    CHECK(trec_parse_long("9223372036854775807", 19, &l) && l == INT64_MAX);
    CHECK(!trec_parse_long("9223372036854775808", 19, &l));
    CHECK(!trec_parse_long("1.0", 3, &l));
    CHECK(!trec_parse_long("x", 1, &l));
    CHECK(!trec_parse_long("", 0, &l));
}

static trec_reader *mem(const char *s)
{
    mm_error err;
    return trec_reader_open_mem(s, strlen(s), "run", &err);
}

static void test_read_run(void)
{
    mm_error err = {0};
    trec_reader *r = mem("# comment\n"
                         "q1 Q0 d1 1 2.5 tagA\n"
                         "\n"
                         "q1\tQ0  d2\t2 1e0 tagA extra fields ignored\n"
                         "   \t \n"
                         "q2 0 d3 x -1 tagB");
    trec_run_line l;
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 1);
    CHECK_EQ_STR(l.qid, "q1");
    CHECK_EQ_STR(l.docno, "d1");
    CHECK_NEAR(l.score, 2.5, 0);
    CHECK_EQ_STR(l.tag, "tagA");
    CHECK_EQ_INT(l.lineno, 2);
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 1);
    CHECK_EQ_STR(l.docno, "d2");
    CHECK_NEAR(l.score, 1.0, 0);
    CHECK_EQ_INT(l.lineno, 4);
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 1);
    CHECK_EQ_STR(l.qid, "q2");
    CHECK_EQ_STR(l.rank, "x"); /* not interpreted */
    CHECK_EQ_STR(l.tag, "tagB");
    CHECK_EQ_INT(l.lineno, 6);
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 0);
    CHECK(!trec_reader_saw_crlf(r) && !trec_reader_saw_bom(r));
    /* rewind and read again */
    CHECK_EQ_INT(trec_reader_rewind(r, &err), 0);
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 1);
    CHECK_EQ_STR(l.docno, "d1");
    trec_reader_close(r);
}

static void expect_run_error(const char *text, const char *msg)
{
    mm_error err = {0};
    trec_reader *r = trec_reader_open_mem(text, strlen(text), "run.trec", &err);
    trec_run_line l;
    int rc;
    while ((rc = trec_read_run_line(r, &l, &err)) == 1) {}
    CHECK_EQ_INT(rc, -1);
    CHECK_MSG(strstr(err.msg, msg) != NULL, "'%s' lacks '%s'", err.msg, msg);
    trec_reader_close(r);
}

/* Bytes 0x80..0xFF are ordinary field bytes on every target (char is
 * signed on x86-64, unsigned on arm64: the classes are looked up as
 * unsigned char). None is a separator, a line break or a control byte, and
 * a control byte after them is named with its own value and column. */
static void test_high_bytes(void)
{
    for (unsigned b = 0x80; b <= 0xFF; b++) {
        char text[64];
        snprintf(text, sizeof text, "q%c Q0 d%c%c 1 1.5 t%c\n", (char)b, (char)b, (char)b, (char)b);
        mm_error err = {0};
        trec_reader *r = trec_reader_open_mem(text, strlen(text), "run.trec", &err);
        trec_run_line l;
        CHECK_MSG(trec_read_run_line(r, &l, &err) == 1, "byte 0x%02x: %s", b, err.msg);
        const char want_doc[] = {'d', (char)b, (char)b};
        CHECK_EQ_INT((int)l.docno_len, 3);
        CHECK_MSG(memcmp(l.docno, want_doc, 3) == 0, "byte 0x%02x: docno", b);
        CHECK_EQ_INT((int)l.qid_len, 2);
        CHECK(l.score == 1.5);
        CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 0);
        trec_reader_close(r);
    }
    expect_run_error("q1 Q0 d\xff\xfe\x80\x1f 1 1 t\n", "run.trec:1: binary data: control byte 0x1f in column 11");
    expect_run_error("q\xc3\xa9 Q0 d\x7f 1 1 t\n", "run.trec:1: binary data: control byte 0x7f in column 9");
}

static void test_run_errors(void)
{
    expect_run_error("q1 Q0 d1 1 1 t\nq1 Q0 d2 2 1\n", "run.trec:2: expected at least 6 fields");
    expect_run_error("q1 Q0 d1 1 abc t\n", "run.trec:1: score 'abc' is not a number");
    expect_run_error("q1 Q0 d1 1 nan t\n", "run.trec:1: score 'nan'");
    expect_run_error("q1 Q0 d\001 1 1 t\n", "run.trec:1: binary data: control byte 0x01");
    static const char nul[] = "q1 Q0 d1 1 1 t\nq1 Q0 d\0 1 1 t\n";
    mm_error err = {0};
    trec_reader *r = trec_reader_open_mem(nul, sizeof nul - 1, "run.trec", &err);
    trec_run_line l;
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 1);
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), -1);
    CHECK(strstr(err.msg, "run.trec:2: binary data: control byte 0x00") != NULL);
    trec_reader_close(r);
    /* a CR inside a line (not before LF) is a control byte */
    expect_run_error("q1 Q0 d1\r1 1 t\n", "control byte 0x0d");
    /* over-long line */
    size_t n = TREC_MAX_LINE + 100;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = 0;
    expect_run_error(big, "line longer than");
    free(big);
}

static void test_crlf_bom(void)
{
    mm_error err = {0};
    trec_reader *r = mem("\xEF\xBB\xBFq1 Q0 d1 1 1 t\r\nq1 Q0 d2 1 0.5 t\r\n");
    trec_run_line l;
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 1);
    CHECK_EQ_STR(l.qid, "q1");
    CHECK_EQ_STR(l.tag, "t");
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 1);
    CHECK_EQ_STR(l.tag, "t");
    CHECK_EQ_INT(trec_read_run_line(r, &l, &err), 0);
    CHECK(trec_reader_saw_bom(r));
    CHECK(trec_reader_saw_crlf(r));
    CHECK_EQ_INT(trec_reader_crlf_line(r), 1);
    trec_reader_close(r);
}

static void expect_qrels_error(const char *text, int kind, const char *msg)
{
    mm_error err = {0};
    trec_reader *r = trec_reader_open_mem(text, strlen(text), "qrels", &err);
    trec_qrels q;
    CHECK_EQ_INT(trec_qrels_load_reader(&q, r, &err), -1);
    CHECK_EQ_INT(err.kind, kind);
    CHECK_MSG(strstr(err.msg, msg) != NULL, "'%s' lacks '%s'", err.msg, msg);
    trec_reader_close(r);
}

static void test_qrels(void)
{
    mm_error err = {0};
    trec_reader *r = mem("q2 0 b 1\nq10 0 z 0\n# note\nq2 0 a 2\nq2 0 c -1\nq1 0 x 3\n");
    trec_qrels q;
    CHECK_EQ_INT(trec_qrels_load_reader(&q, r, &err), 0);
    trec_reader_close(r);
    CHECK_EQ_INT(q.query_count, 3);
    /* strcmp order of qids: q1, q10, q2 */
    CHECK_EQ_STR(q.queries[0].qid, "q1");
    CHECK_EQ_STR(q.queries[1].qid, "q10");
    CHECK_EQ_STR(q.queries[2].qid, "q2");
    const trec_qrels_query *q2 = &q.queries[2];
    CHECK_EQ_INT(q2->count, 3);
    CHECK_EQ_STR(q.docno[q2->first], "a"); /* docno order */
    CHECK_EQ_INT(q2->num_rel_levels, 3);
    CHECK_EQ_INT(q2->rel_levels[0], 0);
    CHECK_EQ_INT(q2->rel_levels[1], 1);
    CHECK_EQ_INT(q2->rel_levels[2], 1);
    CHECK_EQ_INT(trec_qrels_find_query(&q, "q2", 2), 2);
    CHECK_EQ_INT(trec_qrels_find_query(&q, "q3", 2), -1);
    CHECK_EQ_INT(trec_qrels_find_query(&q, "q", 1), -1);
    long j = trec_qrels_find_doc(&q, 2, "c", 1);
    CHECK(j >= 0 && q.rel[j] == -1);
    CHECK_EQ_INT(trec_qrels_find_doc(&q, 0, "c", 1), -1); /* other query */
    CHECK_EQ_INT(trec_qrels_find_doc(&q, 2, "d", 1), -1);
    trec_qrels_free(&q);

    expect_qrels_error("q1 0 a 1\nq1 0 a 0\n", MM_ERR_MISMATCH, "duplicate docs");
    expect_qrels_error("q1 0 a 1\n\nq1 0 b 1\n", MM_ERR_MALFORMED, "qrels:2: blank line");
    expect_qrels_error("q1 0 a 1 extra\n", MM_ERR_MALFORMED, "qrels:1: expected 4 fields");
    expect_qrels_error("q1 0 a\n", MM_ERR_MALFORMED, "qrels:1: expected 4 fields (qid iter docno rel), found 3");
    expect_qrels_error("q1 0 a yes\n", MM_ERR_MALFORMED, "qrels:1: relevance 'yes' is not an integer");
    expect_qrels_error("q1 0 a 1.5\n", MM_ERR_MALFORMED, "relevance '1.5' is not an integer");
    expect_qrels_error("", MM_ERR_MALFORMED, "empty file");
    expect_qrels_error("# only a comment\n", MM_ERR_MALFORMED, "empty file");
    expect_qrels_error("q1 0 a 99999999\n", MM_ERR_LIMIT, "outside");
    expect_qrels_error("\x7f\x45LF\x02\x01\n", MM_ERR_MALFORMED, "binary data");
}

/* -R qrels_jg: column 2 names a judgment group; a docno may repeat across
 * groups but not within one. */
static void test_qrels_jg(void)
{
    mm_error err = {0};
    trec_reader *r = mem("q1 u2 b 1\nq1 u1 b 0\nq1 u1 a 2\nq2 u1 x 1\n");
    trec_qrels q;
    CHECK_EQ_INT(trec_qrels_load_jg_reader(&q, r, &err), 0);
    trec_reader_close(r);
    CHECK(q.judgment_groups);
    CHECK_EQ_INT(q.query_count, 2);
    const trec_qrels_query *q1 = &q.queries[0];
    CHECK_EQ_INT(q1->count, 3);
    CHECK_EQ_INT(q1->num_groups, 2);
    CHECK_EQ_STR(q1->groups[0].name, "u1");
    CHECK_EQ_INT(q1->groups[0].count, 2);
    CHECK_EQ_INT(q1->groups[0].num_rel_levels, 3);
    CHECK_EQ_INT(q1->groups[0].rel_levels[2], 1);
    CHECK_EQ_STR(q1->groups[1].name, "u2");
    long j = trec_qrels_find_doc_in_group(&q, 0, 0, "b");
    CHECK(j >= 0 && q.rel[j] == 0);
    j = trec_qrels_find_doc_in_group(&q, 0, 1, "b");
    CHECK(j >= 0 && q.rel[j] == 1);
    CHECK_EQ_INT(trec_qrels_find_doc_in_group(&q, 0, 1, "a"), -1);
    trec_qrels_free(&q);

    r = mem("q1 u1 a 1\nq1 u2 a 1\nq1 u1 a 0\n");
    CHECK_EQ_INT(trec_qrels_load_jg_reader(&q, r, &err), -1);
    trec_reader_close(r);
    CHECK_EQ_INT(err.kind, MM_ERR_MISMATCH);
    CHECK(strstr(err.msg, "run:3: duplicate docs") != NULL); /* the reader is named "run" */
}

static void test_run_load(void)
{
    mm_error err = {0};
    trec_reader *r = mem("b Q0 x 1 1.0 t1\na Q0 y 1 3.0 t1\nb Q0 y 2 1.0 t1\na Q0 x 2 5.0 t2\n");
    trec_run run;
    CHECK_EQ_INT(trec_run_load_reader(&run, r, &err), 0);
    trec_reader_close(r);
    CHECK_EQ_INT(run.query_count, 2);
    CHECK_EQ_INT(run.line_count, 4);
    CHECK_EQ_STR(run.tag, "t2");
    CHECK_EQ_STR(run.queries[0].qid, "a");
    CHECK_EQ_STR(run.queries[0].items[0].docno, "x");
    CHECK_EQ_STR(run.queries[1].items[0].docno, "y"); /* tie: y before x */
    /* interned: same pointer for the same docno across queries */
    CHECK(run.queries[0].items[0].docno == run.queries[1].items[1].docno);
    CHECK_EQ_INT(trec_run_find_query(&run, "b"), 1);
    CHECK_EQ_INT(trec_run_find_query(&run, "c"), -1);
    trec_run_free(&run);

    r = mem("a Q0 x 1 1.0 t\na Q0 x 2 0.5 t\n");
    CHECK_EQ_INT(trec_run_load_reader(&run, r, &err), -1);
    CHECK(strstr(err.msg, "duplicate docs") != NULL);
    trec_reader_close(r);
}

static void test_write(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    CHECK_EQ_INT(trec_write_run_line(fp, "q1", "img7", 3, 0.123456789f, "clip", 0), 0);
    CHECK_EQ_INT(trec_write_run_line(fp, "q1", "img8", 4, 0.1, "clip", 17), 0);
    fclose(fp);
    CHECK_EQ_STR(buf, "q1 Q0 img7 3 0.123456791 clip\nq1 Q0 img8 4 0.10000000000000001 clip\n");
    /* the float survives the round trip */
    double v;
    CHECK(trec_parse_score("0.123456791", 11, &v) && (float)v == 0.123456789f);
    free(buf);
}

static void test_chunks(void)
{
    /* a file larger than the read chunk: lines straddle chunk boundaries */
    char path[] = "/tmp/test_trec_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    long n = 250000;
    for (long i = 0; i < n; i++) fprintf(fp, "query%ld Q0 document-%ld %ld %ld.%03ld run\n", i / 1000, i, i % 1000, i % 977, i % 1000);
    fclose(fp);
    mm_error err = {0};
    trec_reader *r = trec_reader_open(path, &err);
    CHECK(r && trec_reader_can_rewind(r));
    trec_run_line l;
    long count = 0, bad = 0;
    char want[64], score[64];
    while (trec_read_run_line(r, &l, &err) == 1) {
        snprintf(want, sizeof want, "document-%ld", count);
        snprintf(score, sizeof score, "%ld.%03ld", count % 977, count % 1000);
        if (strcmp(l.docno, want) != 0 || l.score != strtod(score, NULL)) bad++;
        count++;
    }
    CHECK_EQ_INT(count, n);
    CHECK_EQ_INT(bad, 0);
    trec_reader_close(r);
    unlink(path);
    r = trec_reader_open("/nonexistent/run", &err);
    CHECK(!r);
    CHECK(strstr(err.msg, "/nonexistent/run: cannot open") != NULL);
}

int main(void)
{
    RUN(test_compare_ranked);
    RUN(test_parse_score);
    RUN(test_read_run);
    RUN(test_run_errors);
    RUN(test_high_bytes);
    RUN(test_crlf_bom);
    RUN(test_qrels);
    RUN(test_qrels_jg);
    RUN(test_run_load);
    RUN(test_write);
    RUN(test_chunks);
    return test_summary();
}
