/* prefs.h — preference judgments (trec_eval 10.0 -R prefs / -R qrels_prefs)
 * and the preference counts the prefs_* measures are computed from.
 *
 * Owns: the loaded preference file (queries in qid strcmp order), the
 * per-query preference counts of a ranking (trec_eval form_prefs_counts.c:
 * judgment groups (JG) with one sub-group are equivalence classes by
 * rel_level, JGs with several sub-groups a preference array closed under
 * transitivity; preferences counted as fulfilled/possible among retrieved,
 * implied (one of the pair retrieved) and not occurring), and the evaluation
 * of a run against preferences into an mm_eval_result.
 *
 * Format: `qid jg jsg docno rel_level` (prefs) or `qid jg docno rel` (qrels
 * read as preferences: jsg "0"); '#' in column 0 starts a comment. Within one
 * JSG a doc with a higher rel_level is preferred to one with a lower level;
 * rel_level 0 means non-relevant. Rankings are ordered as trec_eval orders
 * them for preferences: score descending, equal scores by docno ASCENDING
 * (form_prefs_counts.c comp_sim_docno, unlike form_res_rels.c).
 */
#ifndef MM_PREFS_H
#define MM_PREFS_H

#include <stddef.h>

#include "core/error.h"
#include "core/strstore.h"
#include "eval/measures.h"
#include "io/trec.h"

typedef struct mm_pref {
    const char *jg, *jsg, *docno;
    double rel_level;
} mm_pref;

typedef struct mm_prefs_query {
    const char *qid;
    size_t first, count; /* into mm_prefs.prefs, sorted by docno */
} mm_prefs_query;

typedef struct mm_prefs {
    char *name;
    size_t query_count;
    mm_prefs_query *queries;
    size_t count;
    mm_pref *prefs;
    mm_strstore strings; /* the qids, judgment groups and docnos */
} mm_prefs;

/* from_qrels: -R qrels_prefs. Errors name file:line; kind MM_ERR_MALFORMED. */
int mm_prefs_load(mm_prefs *p, const char *path, bool from_qrels, mm_error *err);
int mm_prefs_load_reader(mm_prefs *p, trec_reader *r, bool from_qrels, mm_error *err);
void mm_prefs_free(mm_prefs *p);

/* Counts of one judgment group (trec_eval's JG). */
typedef struct mm_prefs_ec {
    double rel_level;
    long n;
    long *ranks; /* docid ranks, increasing */
} mm_prefs_ec;

typedef struct mm_prefs_jg {
    long ful_ret, poss_ret, ful_imp, poss_imp, poss_notoccur;
    long num_rel, num_rel_ret, num_nonrel, num_nonrel_ret;
    size_t num_ecs;         /* > 0: equivalence classes; 0: preference array */
    mm_prefs_ec *ecs;
    unsigned char *pa;      /* num_judged x num_judged, pa[i*nj+j]: i preferred to j */
    double *rel_array;      /* per docid rank, -1 if this JG does not judge it */
} mm_prefs_jg;

/* What the prefs_* measures see of one query (mm_query_rels.prefs). Docid
 * ranks: the judged retrieved docs 0..num_judged_ret-1 in ranking order, then
 * the judged docs not retrieved in docno order. */
typedef struct mm_prefs_counts {
    long num_judged, num_judged_ret;
    size_t num_jgs;
    mm_prefs_jg *jgs;
    unsigned short *ca; /* num_judged^2: the preference i > j summed over JGs */
} mm_prefs_counts;

/* Evaluates run_path against the preferences: per-query values of set (only
 * runid, num_q and prefs_* measures) in res, as mm_evaluate_run does.
 * Returns 0, or -1 with err and *exit_status (2 input, 4 duplicate docs,
 * inconsistent preferences, or a query missing from the run without -c;
 * 7 no query). */
int mm_prefs_evaluate(const mm_prefs *p, const char *run_path, const mm_eval_opts *opts,
                      const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                      int *exit_status);
/* The same with the run from a reader (tests, the fuzzer). */
int mm_prefs_evaluate_reader(const mm_prefs *p, trec_reader *r, const mm_eval_opts *opts,
                             const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                             int *exit_status);

/* The sums behind the all_prefs measures, one per family (each measure's
 * file in lib/eval/measures/ picks its variant). which: MM_PREFS_RET
 * (preferences with both docs retrieved), | MM_PREFS_IMP (one retrieved),
 * | MM_PREFS_NOTOCCUR (neither). v[0] is set only when defined. */
enum { MM_PREFS_RET = 1, MM_PREFS_IMP = 2, MM_PREFS_NOTOCCUR = 4 };
void mm_prefs_simp(const mm_query_rels *q, int which, double *v);  /* prefs_simp* */
void mm_prefs_avgjg(const mm_query_rels *q, int which, double *v); /* prefs_avgjg* */
void mm_prefs_pair(const mm_query_rels *q, int which, double *v);  /* prefs_pair* */
/* prefs_avgjg_Rnonrel (ret_only false) and prefs_avgjg_Rnonrel_ret */
void mm_prefs_avgjg_rnonrel(const mm_query_rels *q, bool ret_only, double *v);

#endif
