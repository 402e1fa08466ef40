/* test_measures.c — measures on hand-worked cases, measure selection, and the
 * evaluator's handling of ties, -M, -J, -c, split queries and errors.
 * (The trec_eval agreement cases run from tests/cli/mm-eval.bats.) */
#include <stdlib.h>
#include <unistd.h>

#include "eval/measures.h"
#include "test.h"

typedef struct fixture {
    trec_qrels qrels;
    mm_measure_set set;
    mm_eval_result res;
    mm_eval_opts opts;
    int status;
    mm_error err;
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    mm_eval_opts def = MM_EVAL_OPTS_DEFAULT;
    f->opts = def;
}

/* specs: NULL-terminated -m arguments. Returns the evaluator's return code. */
static int eval_with(fixture *f, const char *qrels, const char *run, const char *const *specs)
{
    mm_error err = {0};
    trec_reader *qr = trec_reader_open_mem(qrels, strlen(qrels), "qrels", &err);
    if (trec_qrels_load_reader(&f->qrels, qr, &err) < 0) {
        fprintf(stderr, "  qrels: %s\n", err.msg);
        trec_reader_close(qr);
        return -2;
    }
    trec_reader_close(qr);
    for (const char *const *s = specs; *s; s++)
        if (mm_measure_set_add(&f->set, *s, &err) < 0) return -3;
    if (mm_measure_set_finalize(&f->set, &err) < 0) return -3;
    trec_reader *rr = trec_reader_open_mem(run, strlen(run), "run", &err);
    int rc = mm_evaluate_reader(&f->qrels, rr, &f->opts, &f->set, &f->res, &f->err, &f->status);
    trec_reader_close(rr);
    return rc;
}

static void fixture_free(fixture *f)
{
    mm_eval_result_free(&f->res, &f->set);
    mm_measure_set_free(&f->set);
    trec_qrels_free(&f->qrels);
}

/* value of row `name` for query qi (or the summary when qi < 0) */
static double value(const fixture *f, const char *name, long qi)
{
    for (size_t k = 0; k < f->set.count; k++) {
        const mm_measure *m = &f->set.m[k];
        for (size_t r = 0; r < m->nvalues; r++)
            if (strcmp(m->names[r], name) == 0)
                return qi < 0 ? mm_summary_value(&f->set, &f->res, &f->opts, m->offset + r, NULL, 0)
                              : f->res.values[(size_t)qi * f->set.nvalues + m->offset + r];
    }
    fprintf(stderr, "  no row %s\n", name);
    return NAN;
}

static const char *string_of(const fixture *f, const char *name, size_t qi)
{
    for (size_t k = 0; k < f->set.count; k++)
        if (strcmp(f->set.m[k].def->name, name) == 0)
            return f->res.strings[qi * f->set.count + k];
    return NULL;
}

/* Case A, worked by hand: judged rel d1 d2 d4 (R = 3), non-relevant d3,
 * pooled-unjudged d5; d9 not in the qrels. Ranking d1 d9 d3 d2 d5. */
static const char *QRELS_A = "q1 0 d1 1\nq1 0 d2 1\nq1 0 d3 0\nq1 0 d4 1\nq1 0 d5 -1\n";
static const char *RUN_A = "q1 Q0 d3 9 0.7 A\nq1 Q0 d1 1 0.9 A\nq1 Q0 d5 1 0.5 A\n"
                           "q1 Q0 d9 1 0.8 A\nq1 Q0 d2 1 0.6 A\n";

static void test_case_a(void)
{
    fixture f;
    static const char *const specs[] = {"all_trec", NULL};
    fixture_init(&f);
    CHECK_EQ_INT(eval_with(&f, QRELS_A, RUN_A, specs), 0);
    CHECK_NEAR(value(&f, "num_ret", 0), 5, 0);
    CHECK_NEAR(value(&f, "num_rel", 0), 3, 0);
    CHECK_NEAR(value(&f, "num_rel_ret", 0), 2, 0);
    CHECK_NEAR(value(&f, "map", 0), (1.0 + 2.0 / 4) / 3, 1e-12);
    CHECK_NEAR(value(&f, "P_5", 0), 0.4, 1e-12);
    CHECK_NEAR(value(&f, "P_10", 0), 0.2, 1e-12);
    CHECK_NEAR(value(&f, "recip_rank", 0), 1.0, 0);
    CHECK_NEAR(value(&f, "Rprec", 0), 1.0 / 3, 1e-12);
    CHECK_NEAR(value(&f, "bpref", 0), 1.0 / 3, 1e-12);
    CHECK_NEAR(value(&f, "num_nonrel_judged_ret", 0), 1, 0);
    CHECK_NEAR(value(&f, "success_1", 0), 1, 0);
    CHECK_NEAR(value(&f, "recall_5", 0), 2.0 / 3, 1e-12);
    double dcg = 1 + 1 / log2(5), idcg = 1 + 1 / log2(3) + 1 / log2(4);
    CHECK_NEAR(value(&f, "ndcg", 0), dcg / idcg, 1e-12);
    CHECK_NEAR(value(&f, "ndcg_cut_5", 0), dcg / idcg, 1e-12);
    CHECK_NEAR(value(&f, "unj_5", 0), 0.4, 1e-12);
    CHECK_NEAR(value(&f, "infAP", 0), 0.5, 1e-9);
    CHECK_NEAR(value(&f, "set_F", 0), 2 * 0.4 * (2.0 / 3) / (0.4 + 2.0 / 3), 1e-12);
    CHECK_NEAR(value(&f, "utility", 0), 2 - 3, 1e-12);
    CHECK_EQ_STR(string_of(&f, "relstring", 0), "1-01.");
    CHECK_EQ_STR(f.res.runid, "A");
    fixture_free(&f);
}

/* Case B: image-to-text style retrieval, worked by hand. */
static const char *QRELS_B = "q1 0 c1 1\nq2 0 c2 1\nq3 0 c3 1\nq4 0 c1 1\n";
static const char *RUN_B = "q1 Q0 c1 1 0.9 B\nq1 Q0 c2 2 0.5 B\nq1 Q0 c3 3 0.1 B\n"
                           "q2 Q0 c1 1 0.9 B\nq2 Q0 c2 2 0.5 B\nq2 Q0 c3 3 0.1 B\n"
                           "q3 Q0 c1 1 0.9 B\nq3 Q0 c2 2 0.5 B\nq3 Q0 c3 3 0.1 B\n"
                           "q4 Q0 c2 1 0.9 B\nq4 Q0 c3 2 0.5 B\n";

static void test_multimodal(void)
{
    fixture f;
    static const char *const specs[] = {"R", "MRR", "medr", "meanr", "acc", "balanced_acc",
                                        "success", NULL};
    fixture_init(&f);
    CHECK_EQ_INT(eval_with(&f, QRELS_B, RUN_B, specs), 0);
    CHECK_NEAR(value(&f, "R@1", -1), 0.25, 1e-12);
    CHECK_NEAR(value(&f, "R@5", -1), 0.75, 1e-12);
    CHECK_NEAR(value(&f, "R@10", -1), 0.75, 1e-12);
    CHECK_NEAR(value(&f, "success_5", -1), 0.75, 1e-12);
    CHECK_NEAR(value(&f, "MRR", -1), (1 + 0.5 + 1.0 / 3 + 0) / 4, 1e-12);
    /* first relevant ranks 1, 2, 3 and "not retrieved" = deepest (3) + 1 */
    CHECK_NEAR(value(&f, "medr", 3), 4, 0);
    CHECK_NEAR(value(&f, "medr", -1), 2.5, 1e-12);
    CHECK_NEAR(value(&f, "meanr", -1), 2.5, 1e-12);
    CHECK_NEAR(value(&f, "acc@1", -1), 0.25, 1e-12);
    CHECK_NEAR(value(&f, "acc@5", -1), 0.75, 1e-12);
    /* per class: c1 1/2, c2 0/1, c3 0/1 */
    CHECK_NEAR(value(&f, "balanced_acc", -1), (0.5 + 0 + 0) / 3, 1e-12);
    CHECK_EQ_STR(f.res.top1[3], "c2");
    CHECK_EQ_STR(f.res.label[3], "c1");
    fixture_free(&f);

    /* -c: a fifth query without results ranks "beyond the deepest list" */
    static const char *const specs2[] = {"medr", "R@1", "num_q", NULL};
    fixture_init(&f);
    f.opts.complete_rel_info = true;
    char qrels[256];
    snprintf(qrels, sizeof qrels, "%sq5 0 c2 1\n", QRELS_B);
    CHECK_EQ_INT(eval_with(&f, qrels, RUN_B, specs2), 0);
    CHECK_NEAR(value(&f, "num_q", -1), 5, 0);
    CHECK_NEAR(value(&f, "medr", -1), 3, 0);
    CHECK_NEAR(value(&f, "R@1", -1), 0.2, 1e-12);
    CHECK(f.res.missing[4]);
    fixture_free(&f);
}

static void test_measure_set(void)
{
    mm_measure_set set = {0};
    mm_error err = {0};
    /* rows follow the table, not the command line; cutoffs sorted */
    CHECK_EQ_INT(mm_measure_set_add(&set, "ndcg_cut.3,1", &err), 0);
    CHECK_EQ_INT(mm_measure_set_add(&set, "P.2", &err), 0);
    CHECK_EQ_INT(mm_measure_set_add(&set, "map", &err), 0);
    CHECK_EQ_INT(mm_measure_set_add(&set, "P.7", &err), 0); /* the first parameters win (trec_eval 10.0 meas_init.c) */
    CHECK_EQ_INT(mm_measure_set_add(&set, "P", &err), 0);   /* and a bare request keeps them */
    CHECK_EQ_INT(mm_measure_set_finalize(&set, &err), 0);
    CHECK_EQ_INT(set.nvalues, 4);
    CHECK_EQ_STR(set.m[0].names[0], "map");
    CHECK_EQ_STR(set.m[1].names[0], "P_2");
    CHECK_EQ_STR(set.m[2].names[0], "ndcg_cut_1");
    CHECK_EQ_STR(set.m[2].names[1], "ndcg_cut_3");
    mm_measure_set_free(&set);

    /* trec_eval's row names: cutoffs read as atol reads them, other
     * parameters appended as written, defaults give the bare name */
    CHECK_EQ_INT(mm_measure_set_add(&set, "ndcg_cut.10,23.4", &err), 0);
    CHECK_EQ_INT(mm_measure_set_add(&set, "set_F.0.5", &err), 0);
    CHECK_EQ_INT(mm_measure_set_add(&set, "utility", &err), 0);
    CHECK_EQ_INT(mm_measure_set_add(&set, "11pt_avg..25,.5", &err), 0);
    CHECK_EQ_INT(mm_measure_set_finalize(&set, &err), 0);
    const mm_measure *nm = mm_measure_set_find(&set, "ndcg_cut");
    CHECK_EQ_STR(nm->names[1], "ndcg_cut_23");
    CHECK_EQ_STR(mm_measure_set_find(&set, "set_F")->names[0], "set_F_0.5");
    CHECK_EQ_STR(mm_measure_set_find(&set, "utility")->names[0], "utility");
    CHECK_EQ_STR(mm_measure_set_find(&set, "11pt_avg")->names[0], "11pt_avg_.25,.5");
    mm_measure_set_free(&set);
    CHECK_EQ_INT(mm_measure_set_add(&set, "P.5x", &err), 0);
    CHECK_EQ_INT(mm_measure_set_finalize(&set, &err), -1);
    mm_measure_set_free(&set);

    CHECK_EQ_INT(mm_measure_set_add(&set, "iprec_at_recall.0.5,0.1", &err), 0);
    CHECK_EQ_INT(mm_measure_set_add(&set, "R@5", &err), 0);
    CHECK_EQ_INT(mm_measure_set_add(&set, "acc@1", &err), 0);
    CHECK_EQ_INT(mm_measure_set_finalize(&set, &err), 0);
    CHECK_EQ_STR(set.m[0].names[0], "iprec_at_recall_0.10");
    CHECK_EQ_STR(set.m[0].names[1], "iprec_at_recall_0.50");
    CHECK_EQ_STR(set.m[1].names[0], "R@5");
    CHECK_EQ_STR(set.m[2].names[0], "acc@1");
    mm_measure_set_free(&set);

    /* default: official */
    CHECK_EQ_INT(mm_measure_set_finalize(&set, &err), 0);
    CHECK_EQ_STR(set.m[0].def->name, "runid");
    CHECK_EQ_STR(set.m[set.count - 1].def->name, "P");
    mm_measure_set_free(&set);

    CHECK_EQ_INT(mm_measure_set_add(&set, "foo", &err), -1);
    CHECK(strstr(err.msg, "illegal measure 'foo'") != NULL);
    CHECK_EQ_INT(mm_measure_set_add(&set, "map.5", &err), -1);
    CHECK_EQ_INT(mm_measure_set_add(&set, "P.5,5", &err), 0);
    CHECK_EQ_INT(mm_measure_set_finalize(&set, &err), -1);
    CHECK(strstr(err.msg, "duplicate cutoffs detected") != NULL);
    mm_measure_set_free(&set);
    CHECK_EQ_INT(mm_measure_set_add(&set, "P.0", &err), 0);
    CHECK_EQ_INT(mm_measure_set_finalize(&set, &err), -1);
    mm_measure_set_free(&set);
    CHECK_EQ_INT(mm_measure_set_add(&set, "utility.1,2", &err), 0);
    CHECK_EQ_INT(mm_measure_set_finalize(&set, &err), -1);
    mm_measure_set_free(&set);
    CHECK_EQ_INT(mm_measure_set_add(&set, "ndcg.1=3,2=x", &err), 0);
    CHECK_EQ_INT(mm_measure_set_finalize(&set, &err), -1);
    mm_measure_set_free(&set);
}

static void test_gains(void)
{
    /* ndcg with gains 1=3,2=9 (graded); checked by hand */
    fixture f;
    static const char *const specs[] = {"ndcg.1=3,2=9", "ndcg_cut.2", NULL};
    fixture_init(&f);
    CHECK_EQ_INT(eval_with(&f, "q 0 a 1\nq 0 b 2\nq 0 c 0\n",
                           "q Q0 a 1 3 r\nq Q0 c 2 2 r\nq Q0 b 3 1 r\n", specs), 0);
    double dcg = 3 / log2(2) + 9 / log2(4), idcg = 9 / log2(2) + 3 / log2(3);
    CHECK_NEAR(value(&f, "ndcg_1=3,2=9", 0), dcg / idcg, 1e-12); /* named as trec_eval names it */
    /* ndcg_cut uses raw rel values: top 2 = a(1), c(0); ideal b(2), a(1) */
    CHECK_NEAR(value(&f, "ndcg_cut_2", 0), 1.0 / (2 + 1 / log2(3)), 1e-12);
    fixture_free(&f);
}

static void test_cut_judged_ties(void)
{
    fixture f;
    static const char *const specs[] = {"P.1,2", "num_ret", "relstring", NULL};
    /* ties broken by docno descending: b before a */
    fixture_init(&f);
    CHECK_EQ_INT(eval_with(&f, "q 0 a 1\nq 0 b 0\n", "q Q0 a 1 1.0 r\nq Q0 b 2 1.0 r\nq Q0 z 3 0.5 r\n", specs), 0);
    CHECK_NEAR(value(&f, "P_1", 0), 0, 0);
    CHECK_EQ_STR(string_of(&f, "relstring", 0), "01-");
    fixture_free(&f);
    /* -M 1 keeps b only; a duplicate below the cut is not looked for */
    fixture_init(&f);
    f.opts.max_docs_per_topic = 1;
    CHECK_EQ_INT(eval_with(&f, "q 0 a 1\nq 0 b 0\n", "q Q0 a 1 1.0 r\nq Q0 b 2 1.0 r\nq Q0 a 3 0.5 r\n", specs), 0);
    CHECK_NEAR(value(&f, "num_ret", 0), 1, 0);
    CHECK_NEAR(value(&f, "P_2", 0), 0, 0);
    fixture_free(&f);
    /* -J drops the unjudged z and x, keeping the order */
    fixture_init(&f);
    f.opts.judged_docs_only = true;
    CHECK_EQ_INT(eval_with(&f, "q 0 a 1\nq 0 b 0\n", "q Q0 z 1 3 r\nq Q0 x 1 2 r\nq Q0 a 2 1.0 r\n", specs), 0);
    CHECK_NEAR(value(&f, "num_ret", 0), 1, 0);
    CHECK_NEAR(value(&f, "P_1", 0), 1, 0);
    fixture_free(&f);
}

static void test_errors(void)
{
    fixture f;
    static const char *const specs[] = {"map", NULL};
    fixture_init(&f);
    CHECK_EQ_INT(eval_with(&f, "q 0 a 1\n", "q Q0 a 1 3 r\nq Q0 b 2 2 r\nq Q0 a 3 1 r\n", specs), -1);
    CHECK_EQ_INT(f.status, 4);
    CHECK(strstr(f.err.msg, "duplicate docs") != NULL);
    fixture_free(&f);
    fixture_init(&f);
    CHECK_EQ_INT(eval_with(&f, "q 0 a 1\nr 0 a 1\n", "q Q0 a 1 3 r\n", specs), -1);
    CHECK_EQ_INT(f.status, 4);
    CHECK(strstr(f.err.msg, "query 'r' is in the qrels but not in the run") != NULL);
    fixture_free(&f);
    fixture_init(&f);
    CHECK_EQ_INT(eval_with(&f, "q 0 a 1\n", "# nothing\n\n", specs), -1);
    CHECK_EQ_INT(f.status, 2);
    CHECK(strstr(f.err.msg, "empty file") != NULL);
    fixture_free(&f);
    fixture_init(&f);
    CHECK_EQ_INT(eval_with(&f, "q 0 a 1\n", "q Q0 a 1 3\n", specs), -1);
    CHECK_EQ_INT(f.status, 2);
    CHECK(strstr(f.err.msg, "run:1: expected at least 6 fields") != NULL);
    fixture_free(&f);
    /* all-negative judgments (trec_eval fails): evaluated, everything 0 */
    static const char *const all[] = {"all_trec", NULL};
    fixture_init(&f);
    CHECK_EQ_INT(eval_with(&f, "q 0 a -1\nq 0 b -2\n", "q Q0 a 1 3 r\nq Q0 c 1 2 r\n", all), 0);
    CHECK_NEAR(value(&f, "map", 0), 0, 0);
    CHECK_NEAR(value(&f, "ndcg_cut_5", 0), 0, 0);
    CHECK_EQ_STR(string_of(&f, "relstring", 0), ".-");
    fixture_free(&f);
}

/* trec_eval 10.0 quirk: with -c the summary num_rel counts rel > 0 in the
 * whole qrels, ignoring -l (SEMANTICS 1.5). */
static void test_num_rel_quirk(void)
{
    static const char *const specs[] = {"num_rel", "num_q", NULL};
    fixture f;
    fixture_init(&f);
    f.opts.complete_rel_info = true;
    f.opts.relevance_level = 2;
    CHECK_EQ_INT(eval_with(&f, "q1 0 a 2\nq1 0 b 1\nq1 0 c 1\nq2 0 d 1\nq2 0 e 2\nq2 0 f 0\n",
                           "q1 Q0 a 1 1 r\n", specs), 0);
    CHECK_NEAR(value(&f, "num_rel", 0), 1, 0);
    CHECK_NEAR(value(&f, "num_rel", 1), 1, 0);
    CHECK_NEAR(value(&f, "num_rel", -1), 5, 0);
    CHECK_NEAR(value(&f, "num_q", -1), 2, 0);
    fixture_free(&f);
}

/* Lines of a query split across the file give the same values as contiguous
 * lines, both when the input can be re-read and from a pipe. */
static void test_split_queries(void)
{
    static const char *const specs[] = {"all_trec", NULL};
    const char *qrels = "q1 0 a 1\nq1 0 b 2\nq2 0 c 1\nq2 0 x 0\n";
    const char *together = "q1 Q0 a 1 0.5 r\nq1 Q0 b 2 0.9 r\nq1 Q0 z 3 0.1 r\n"
                           "q2 Q0 c 1 0.3 r\nq2 Q0 x 2 0.4 r\n";
    const char *split = "q1 Q0 a 1 0.5 r\nq2 Q0 c 1 0.3 r\nq1 Q0 b 2 0.9 r\n"
                        "q2 Q0 x 2 0.4 r\nq1 Q0 z 3 0.1 r\n";
    fixture a, b, c;
    fixture_init(&a);
    CHECK_EQ_INT(eval_with(&a, qrels, together, specs), 0);
    fixture_init(&b);
    CHECK_EQ_INT(eval_with(&b, qrels, split, specs), 0);
    CHECK_EQ_INT(a.set.nvalues, b.set.nvalues);
    for (size_t i = 0; i < 2 * a.set.nvalues; i++) CHECK_NEAR(a.res.values[i], b.res.values[i], 0);

    /* from a pipe: copied to a temporary file, or (no usable $TMPDIR) kept in
     * memory */
    for (int mode = 0; mode < 2; mode++) {
        fixture_init(&c);
        if (mode == 1) setenv("TMPDIR", "/nonexistent/dir", 1);
        mm_error err = {0};
        trec_reader *qr = trec_reader_open_mem(qrels, strlen(qrels), "qrels", &err);
        CHECK_EQ_INT(trec_qrels_load_reader(&c.qrels, qr, &err), 0);
        trec_reader_close(qr);
        mm_measure_set_add(&c.set, "all_trec", &err);
        mm_measure_set_finalize(&c.set, &err);
        int fds[2];
        CHECK_EQ_INT(pipe(fds), 0);
        CHECK((size_t)write(fds[1], split, strlen(split)) == strlen(split));
        close(fds[1]);
        trec_reader *rr = trec_reader_open_fd(fds[0], "(pipe)", &err);
        CHECK(!trec_reader_can_rewind(rr));
        CHECK_EQ_INT(mm_evaluate_reader(&c.qrels, rr, &c.opts, &c.set, &c.res, &err, &c.status), 0);
        CHECK(mode == 1 || trec_reader_can_rewind(rr)); /* spooled */
        trec_reader_close(rr);
        close(fds[0]);
        for (size_t i = 0; i < 2 * a.set.nvalues; i++) CHECK_NEAR(a.res.values[i], c.res.values[i], 0);
        fixture_free(&c);
        unsetenv("TMPDIR");
    }
    fixture_free(&a);
    fixture_free(&b);
}

int main(void)
{
    RUN(test_case_a);
    RUN(test_multimodal);
    RUN(test_measure_set);
    RUN(test_gains);
    RUN(test_cut_judged_ties);
    RUN(test_errors);
    RUN(test_num_rel_quirk);
    RUN(test_split_queries);
    return test_summary();
}
