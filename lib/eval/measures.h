/* measures.h — evaluation measures (trec_eval 10.0 and multimodal ones) and
 * the evaluation of a run against qrels.
 *
 * Owns: the table of measures (lib/eval/measures/table.c: one row per measure, in
 * trec_eval's output order, then mmkit's), one file per measure
 * (lib/eval/measures/m_NAME.c, trec_eval style), measure selection from -m
 * arguments with parameters and nicknames (official, all_trec, set), the
 * per-query evaluation of a run (lib/eval/measures/evaluate.c: trec_eval's
 * ordering, -M, -J, -c, unjudged documents) and the summary aggregates.
 *
 * Adding a measure: write lib/eval/measures/m_foo.c defining
 *     const mm_measure_def mm_measure_foo = {...};
 * and add &mm_measure_foo to the table in lib/eval/measures/table.c at the place
 * where its rows should be printed.
 */
#ifndef MM_MEASURES_H
#define MM_MEASURES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "io/trec.h"

/* Relevance value of a retrieved document that is not in the qrels of its
 * query ("not in pool"), and of one judged with a negative value ("in pool,
 * unjudged", as infAP sampling uses). Judged documents carry their rel >= 0. */
#define MM_RELVALUE_NONPOOL (-1)
#define MM_RELVALUE_UNJUDGED (-2)

/* Evaluation options (trec_eval's EPI). */
typedef struct mm_eval_opts {
    long relevance_level;    /* -l: relevant iff value >= level; default 1 */
    long max_docs_per_topic; /* -M: keep the top M after sorting; default LONG_MAX */
    bool judged_docs_only;   /* -J: drop retrieved docs with value < 0 */
    long num_docs_in_coll;   /* -N: only utility uses it; default 0 */
    bool complete_rel_info;  /* -c: score qrels queries missing from the run */
    bool empty_is_zero;      /* --empty-is-zero: a ranking -J leaves empty scores 0 in
                                iprec_at_recall/11pt_avg, where trec_eval's 0/0 gives -nan */
} mm_eval_opts;
#define MM_EVAL_OPTS_DEFAULT {1, LONG_MAX, false, 0, false, false}

/* What a measure sees of one query (trec_eval's RES_RELS). */
typedef struct mm_query_rels {
    const char *qid;
    long num_ret;              /* after -M and -J */
    long num_rel;              /* qrels entries with rel >= level */
    long num_rel_ret;          /* retrieved with value >= level */
    long num_nonpool;          /* retrieved, value MM_RELVALUE_NONPOOL */
    long num_unjudged_in_pool; /* retrieved, value MM_RELVALUE_UNJUDGED */
    const long *rel;           /* rel[i]: value of the doc at rank i+1 */
    const char *const *docno;  /* docno[i]: the doc at rank i+1 */
    const long *rel_levels;    /* rel_levels[v]: #qrels entries with rel == v >= 0 */
    long num_rel_levels;       /* 1 + highest rel with a non-zero count; 0 if none */
    const char *label;         /* classification: the relevant doc with the highest rel
                                  (ties: smallest docno); NULL if none */
    bool missing;              /* -c: not in the run, scored as trec_eval 10.0 does */
    /* The judgment groups (-R qrels_jg; trec_eval's RES_RELS_JG): the same
     * ranking judged by each group's qrels, groups in name order. With plain
     * qrels, one group: the query itself. Set by the evaluator. */
    const struct mm_query_rels *jgs;
    size_t num_jgs;
    /* -R prefs / qrels_prefs: the preference counts (eval/prefs.h), else NULL */
    const struct mm_prefs_counts *prefs;
} mm_query_rels;

/* How the summary ("all") value of a row is formed from the per-query ones. */
typedef enum mm_aggregate {
    MM_AGG_MEAN,     /* arithmetic mean over evaluated queries */
    MM_AGG_SUM,      /* counts */
    MM_AGG_GEOMEAN,  /* exp(mean(log(max(v, 1e-5)))), trec_eval's gm_* */
    MM_AGG_MEDIAN,   /* medr */
    MM_AGG_BALANCED, /* mean over classes of the per-class mean (balanced accuracy) */
    MM_AGG_NONE,     /* no summary row (relstring) */
    MM_AGG_NUM_Q,    /* the number of queries (num_q) */
    MM_AGG_RUNID,    /* the run tag (runid) */
} mm_aggregate;

typedef enum mm_param_kind {
    MM_PARAM_NONE,
    MM_PARAM_CUTOFFS,   /* positive integers, sorted, no duplicates: P.5,10 */
    MM_PARAM_FRACTIONS, /* doubles, sorted, no duplicates: iprec_at_recall.0.1,0.5 */
    MM_PARAM_FLOATS,    /* ordered doubles: utility.1,-1,0,0 ; set_F.0.5 */
    MM_PARAM_GAINS,     /* level=gain pairs: ndcg.1=3,2=9 ; rbp.p=0.8 */
} mm_param_kind;

typedef enum mm_value_kind {
    MM_VALUE_FLOAT,  /* printed %6.4f */
    MM_VALUE_COUNT,  /* printed %ld */
    MM_VALUE_STRING, /* relstring (per query) and runid (summary) */
} mm_value_kind;

typedef struct mm_measure mm_measure;
typedef struct mm_measure_def mm_measure_def;

struct mm_measure_def {
    const char *name;
    const char *definition;     /* one paragraph, for --help -m NAME and the man page */
    mm_param_kind params;
    const char *default_params; /* as on the command line, or NULL */
    const char *row_format;     /* "%s_%ld" (cutoffs), "%s_%3.2f" (fractions), "R@%ld"...;
                                   NULL: one row named after the measure */
    mm_value_kind kind;
    mm_aggregate aggregate;
    bool per_query;             /* has per-query rows (-q) */
    bool zero_if_missing;       /* -c: forced to 0 for queries missing from the run */
    bool first_rank;            /* value -1 = "not found": replaced by (deepest N) + 1 */
    /* Per-query values: writes m->nvalues doubles (pre-zeroed). */
    void (*calc)(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                 double *values);
    /* String-valued per-query measures (relstring): returns a malloc'd string. */
    char *(*calc_string)(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q);
};

typedef struct mm_gain_param {
    long level;
    double gain;
    char *name; /* the key as written ("p" for rbp.p=0.8) */
} mm_gain_param;

/* A selected measure with its parameters. */
struct mm_measure {
    const mm_measure_def *def;
    size_t nvalues;   /* rows */
    char **names;     /* row names ("P_5") */
    size_t offset;    /* first value within a query's value vector */
    long *cutoffs;    /* MM_PARAM_CUTOFFS */
    double *fparams;  /* MM_PARAM_FRACTIONS / MM_PARAM_FLOATS */
    size_t nparams;
    mm_gain_param *gains; /* MM_PARAM_GAINS */
    size_t ngains;
};

/* The table, in output order. */
extern const mm_measure_def *const mm_measure_table[];
extern const size_t mm_measure_table_count;
const mm_measure_def *mm_measure_lookup(const char *name);
/* Names in a nickname ("official", "all_trec", "set", "clip"), NULL-terminated;
 * NULL if not a nickname. */
const char *const *mm_measure_nickname(const char *name);

/* The selected measures, in table order. */
typedef struct mm_measure_set {
    mm_measure *m;
    size_t count;
    size_t nvalues; /* total rows */
    /* requests collected by mm_measure_set_add (index = table row) */
    char **request;
    bool *requested;
} mm_measure_set;

/* Per-query calculations shared by measures that differ only in their name or
 * in how the summary aggregates them (map / gm_map, recip_rank / MRR). */
void mm_calc_average_precision(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                               double *v);
void mm_calc_reciprocal_rank(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                             double *v);
void mm_calc_precision_at(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                          double *v);
void mm_calc_Rprec_mult(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                        double *v);
/* A per-query calculation run against each judgment group of q (-R
 * qrels_jg) and averaged over the groups (map_avgjg, P_avgjg,
 * Rprec_mult_avgjg; lib/eval/measures/avgjg.c). */
typedef void mm_calc_fn(const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q, double *v);
void mm_calc_over_jgs(mm_calc_fn *base, const mm_measure *m, const mm_eval_opts *o, const mm_query_rels *q,
                      double *v);

/* Adds "-m SPEC": a measure name with optional ".params" (only the first
 * request for a measure keeps its parameters, as in trec_eval), a nickname,
 * or mmkit's shorthand "R@5" / "acc@1". Errors: unknown measure. */
int mm_measure_set_add(mm_measure_set *set, const char *spec, mm_error *err);
/* Parses parameters and lays out the rows; with no request, "official".
 * Errors: bad or duplicate parameters. */
int mm_measure_set_finalize(mm_measure_set *set, mm_error *err);
void mm_measure_set_free(mm_measure_set *set);
const mm_measure *mm_measure_set_find(const mm_measure_set *set, const char *name);

/* ---- helpers shared by measure files ---------------------------------------- */
typedef struct mm_gain_level {
    long level;
    long count; /* qrels entries at this level */
    double gain;
} mm_gain_level;
/* trec_eval's setup_gains: one entry per gain parameter and per level
 * 0..num_rel_levels-1 (default gain = the level), sorted by increasing gain.
 * out must hold m->ngains + q->num_rel_levels entries. Returns the count. */
size_t mm_setup_gains(const mm_measure *m, const mm_query_rels *q, mm_gain_level *out);
double mm_gain_of(const mm_gain_level *g, size_t n, long value);

/* Walk down the ideal ranking (trec_eval's loop over gain levels): after each
 * mm_ideal_step, w.gain is the gain of the next ideal document (<= 0 when the
 * documents with positive gain are exhausted). */
typedef struct mm_ideal_walk {
    const mm_gain_level *g;
    long cur;    /* current level index (into g, sorted by increasing gain) */
    long num_at; /* documents taken at the current level */
    double gain;
} mm_ideal_walk;

static inline void mm_ideal_init(mm_ideal_walk *w, const mm_gain_level *g, size_t n)
{
    w->g = g;
    w->cur = (long)n - 1;
    w->num_at = 0;
    w->gain = w->cur >= 0 ? g[w->cur].gain : 0.0;
}

static inline void mm_ideal_step(mm_ideal_walk *w)
{
    w->num_at++;
    while (w->cur >= 0 && w->num_at > w->g[w->cur].count) {
        w->num_at = 1;
        w->cur--;
        w->gain = w->cur >= 0 ? w->g[w->cur].gain : 0.0;
    }
}

/* ---- evaluation --------------------------------------------------------------- */

/* Per-query values of one run, queries in qrels qid (strcmp) order. */
typedef struct mm_eval_result {
    size_t query_count;
    const char **qid;     /* borrowed from the qrels */
    double *values;       /* query_count x set->nvalues */
    char **strings;       /* query_count x set->count (string measures only, else NULL) */
    bool *missing;        /* -c: query absent from the run */
    const char **label;   /* true class (borrowed from qrels) or NULL */
    char **top1;          /* top-ranked docno or NULL */
    long *num_rel_any;    /* qrels entries with rel > 0 (the -c num_rel quirk) */
    char *runid;          /* tag of the last run line */
    bool saw_crlf, saw_bom;
    long crlf_line;       /* first CRLF line of the run, 0 if none */
    /* On the error "qrels query missing from the run" (no -c) the result is
     * kept: its first partial_count queries are scored (the caller prints
     * their -q rows, as trec_eval does before it stops) and must be freed. */
    bool partial;
    size_t partial_count;
} mm_eval_result;

/* Exit statuses of evaluation failures (trec_eval's). */
enum {
    MM_EVAL_EXIT_INPUT = 2,      /* malformed or unreadable input */
    MM_EVAL_EXIT_MEASURE = 4,    /* duplicate docs; qrels query missing from the run */
    MM_EVAL_EXIT_NO_QUERIES = 7, /* no query with both results and judgments */
};

/* Reads the run (streaming: queries whose lines are contiguous are scored as
 * soon as they end, so memory does not grow with the run; split queries are
 * read again in a second pass; a pipe is copied to an unlinked temporary file
 * in $TMPDIR for that, or kept in memory if none can be created).
 * Returns 0, or -1 with err and *exit_status. */
int mm_evaluate_run(const trec_qrels *qrels, const char *run_path, const mm_eval_opts *opts,
                    const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                    int *exit_status);
int mm_evaluate_reader(const trec_qrels *qrels, trec_reader *run, const mm_eval_opts *opts,
                       const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                       int *exit_status);
void mm_eval_result_free(mm_eval_result *res, const mm_measure_set *set);

/* Evaluates one ranked list (already in trec_eval order, duplicates checked)
 * for query qi: fills values (set->nvalues, zeroed here) and strings. Used by
 * the evaluator and by tests. */
void mm_evaluate_query(const trec_qrels *qrels, size_t qi, const char *const *docnos,
                       size_t n, const mm_eval_opts *opts, const mm_measure_set *set,
                       bool missing, double *values, char **strings, char **top1);

/* Summary value of row `row` (0..set->nvalues-1) over the queries idx[0..n)
 * (repetition allowed: bootstrap); idx NULL = all queries in order. */
double mm_summary_value(const mm_measure_set *set, const mm_eval_result *res,
                        const mm_eval_opts *opts, size_t row, const size_t *idx, size_t n);
/* The measure a row belongs to. */
const mm_measure *mm_measure_of_row(const mm_measure_set *set, size_t row, size_t *index_in);

#endif
