/* fuse.h — fusion of feature files (early fusion) and of ranked runs (late
 * fusion), and the search for fusion weights that maximise a measure.
 *
 * Owns: the fusion methods and normalisations of mm-fuse and their exact
 * definitions (written out in man/man1/mm-fuse.1), the id join of several MMF
 * inputs (hash tables, --missing policy, --group-by rules), the row-by-row
 * streaming path for aligned inputs, the fused-run construction and its
 * trec_eval tie order, and the weight search (grid over the simplex or
 * coordinate ascent) scored by lib/eval/measures exactly as mm-eval scores a run.
 * Files: fuse.c names, --weights and --group-by rules (shared); fuse_early.c
 * early fusion (join and aligned paths); fuse_late.c late fusion;
 * fuse_optimize.c the weight search. The id join's table is core/hash.h.
 *
 * Early fusion, for one id with input vectors x_1..x_n (after the per-input
 * normalisation) and weights w_1..w_n (default 1):
 *   concat   [w_1 x_1, ..., w_n x_n]              dims may differ
 *   sum      sum_i w_i x_i                        (= wsum; wsum demands --weights)
 *   mean     sum_i w_i x_i / sum_i w_i            (plain mean with the default weights)
 *   product  prod_i x_i, element-wise             (weights are rejected)
 *   max      max_i w_i x_i, element-wise
 * computed in double precision and rounded to float once.
 *
 * Late fusion, for one query, document d, runs i with weights w_i (a run of
 * weight 0 is ignored entirely), R_i the ranking of run i cut to --depth,
 * r_i(d) the 1-based position of d in R_i in trec_eval order, s_i(d) the
 * normalised score:
 *   rrf      sum_{i: d in R_i} w_i / (k + r_i(d))         (Cormack et al. 2009)
 *   combsum  sum_{i: d in R_i} w_i s_i(d)                   (Fox & Shaw 1994)
 *   combmnz  |{i: d in R_i}| * sum_{i: d in R_i} w_i s_i(d) (Fox & Shaw 1994)
 *   combmax  max_{i: d in R_i} w_i s_i(d)                   (Fox & Shaw 1994)
 *   wsum     = combsum, with --weights required
 */
#ifndef MM_FUSE_H
#define MM_FUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "io/mmf.h"
#include "io/trec.h"

/* ---- names ------------------------------------------------------------------ */
enum fuse_method {
    FUSE_NONE = 0,
    /* early fusion */
    FUSE_CONCAT,
    FUSE_MEAN,
    FUSE_SUM,
    FUSE_WSUM,
    FUSE_PRODUCT,
    FUSE_MAX,
    /* late fusion */
    FUSE_RRF,
    FUSE_COMBSUM,
    FUSE_COMBMNZ,
    FUSE_COMBMAX,
    FUSE_RUN_WSUM,
};
/* "concat".."max" (runs false) or "rrf".."wsum" (runs true); FUSE_NONE if unknown. */
int fuse_method_parse(const char *name, bool runs);
const char *fuse_method_name(int method);

/* Vector normalisations (early fusion). */
enum fuse_vnorm { FUSE_VNORM_NONE = 0, FUSE_VNORM_L2, FUSE_VNORM_ZSCORE };
int fuse_vnorm_parse(const char *name); /* -1 if unknown */
const char *fuse_vnorm_name(int norm);

/* Score normalisations (late fusion), per run per query. */
enum fuse_snorm {
    FUSE_SNORM_NONE = 0,
    FUSE_SNORM_MINMAX,
    FUSE_SNORM_ZSCORE,
    FUSE_SNORM_SUM,
    FUSE_SNORM_RANK,
};
int fuse_snorm_parse(const char *name); /* -1 if unknown */
const char *fuse_snorm_name(int norm);

enum fuse_missing { FUSE_MISSING_ERROR = 0, FUSE_MISSING_SKIP, FUSE_MISSING_ZERO };
int fuse_missing_parse(const char *name); /* -1 if unknown */
const char *fuse_missing_name(int missing);

/* Parses "w1,w2,..." (finite numbers). Returns the count, or -1 with err.
 * *out is malloc'd. */
long fuse_parse_weights(const char *list, double **out, mm_error *err);

/* ---- --group-by rules ----------------------------------------------------------
 * Every rule maps an id to a prefix of it, its group key:
 *   suffix:SEP  strip from the LAST occurrence of SEP:   img12#3   -> img12
 *   head:SEP    keep what precedes the FIRST SEP:        img12_3_a -> img12
 *   prefix:N    keep the first N characters (UTF-8 code points; shorter ids
 *               are their own key)
 *   id          the whole id (averages records that repeat an id)
 * An id without SEP is its own key. An empty key is an error. */
enum fuse_group_kind {
    FUSE_GROUP_NONE = 0,
    FUSE_GROUP_SUFFIX,
    FUSE_GROUP_HEAD,
    FUSE_GROUP_PREFIX,
    FUSE_GROUP_ID,
};
typedef struct fuse_group_rule {
    int kind;
    char sep[64]; /* SEP, NUL-terminated */
    size_t sep_len;
    size_t n;     /* prefix:N */
} fuse_group_rule;
int fuse_group_rule_parse(const char *spec, fuse_group_rule *rule, mm_error *err);
/* Length of the group key of id (a prefix of id). */
size_t fuse_group_key_len(const fuse_group_rule *rule, const char *id, size_t id_len);

/* ---- early fusion ------------------------------------------------------------------ */
typedef struct fuse_params {
    int method;            /* FUSE_CONCAT..FUSE_MAX */
    const double *weights; /* NULL: all 1 */
    size_t weight_count;   /* must equal the number of inputs when weights != NULL */
    int input_norm;        /* FUSE_VNORM_*, applied to each input vector (zscore: per
                              dimension over all vectors of that input) */
    int output_norm;       /* FUSE_VNORM_*, applied to each fused vector */
    int missing;           /* FUSE_MISSING_* (join mode only) */
    fuse_group_rule group; /* kind FUSE_GROUP_NONE: no grouping */
    bool aligned;          /* stream row by row instead of joining by id */
    int dtype;             /* output MMF_F32 / MMF_F16; 0 = f32 */
    const char *producer;  /* "mm-fuse 0.1.0" for the metadata, or NULL */
} fuse_params;

/* Output dimension of method over inputs of dims[0..n); 0 (and err) if the
 * dims are not compatible with the method or the result exceeds MMF_MAX_DIM. */
uint32_t fuse_output_dim(int method, const uint32_t *dims, const char *const *names, size_t n,
                         mm_error *err);

/* Combines one id's vectors: vecs[i] has dims[i] floats (after normalisation;
 * a missing input under --missing zero is passed as zeros). out gets
 * fuse_output_dim() doubles. */
void fuse_combine(int method, const double *weights, const float *const *vecs,
                  const uint32_t *dims, size_t n, double *out);

/* Statistics for zscore: mean and 1/std (population) of every dimension over
 * rows; a constant dimension gets inv_std 0 (so it becomes 0). */
void fuse_zscore_stats(const float *data, size_t rows, uint32_t dim, double *mean,
                       double *inv_std);

/* Fuses the inputs paths[0..n) (NULL or "-" = stdin, at most one) and
 * writes one MMF segment to out. Join mode (default) loads every input and
 * joins by id (or group key); it reads MMF and also what featio reads (TSV
 * `id<TAB>v1 v2 ...`, .npy with the row numbers as ids). Aligned mode
 * streams MMF inputs in lockstep.
 * Nothing is written to out before all inputs have been read and checked in
 * join mode; in aligned mode records are written as they come, so callers must
 * write to an atomic output. Returns 0 or -1 with err. *written gets the number
 * of records written. */
int fuse_features(const char *const *paths, size_t n, const fuse_params *p, FILE *out,
                  const char *out_name, uint64_t *written, mm_error *err);

/* ---- late fusion --------------------------------------------------------------------- */
typedef struct fuse_run_params {
    int method;      /* FUSE_RRF..FUSE_RUN_WSUM */
    int norm;        /* FUSE_SNORM_* (ignored by rrf) */
    double rrf_k;    /* 60 */
    size_t depth;    /* input depth: only the top depth of each run per query; 0 = all */
    size_t k;        /* output depth per query; 0 = all */
    int digits;      /* 0: shortest precision >= 9 digits that round-trips the
                        double; N: scores rounded to N significant digits first */
} fuse_run_params;

/* Runs prepared for fusion: per query, the union of the documents and each
 * run's contribution (normalised score, or 1/(k + rank) for rrf). Built once;
 * fusing with different weights (the weight search) is then cheap. */
typedef struct fuse_runs fuse_runs;
fuse_runs *fuse_runs_prepare(const trec_run *runs, size_t nruns, const fuse_run_params *p,
                             mm_error *err);
void fuse_runs_free(fuse_runs *fr);
size_t fuse_runs_count(const fuse_runs *fr); /* number of runs */

/* The fused run: queries in qid strcmp order, each ranking in trec_eval order
 * of the scores as written, cut to k. Pointers borrow from the fuse_runs. */
typedef struct fuse_ranking {
    const char *qid;
    size_t count;
    trec_ranked *items;
} fuse_ranking;
typedef struct fuse_result {
    size_t query_count;
    fuse_ranking *queries;
    trec_ranked *storage;
} fuse_result;

/* weights: one per run (NULL: all 1). res is reused across calls (zero it first). */
int fuse_runs_apply(const fuse_runs *fr, const double *weights, fuse_result *res, mm_error *err);
void fuse_result_free(fuse_result *res);
/* Writes "qid Q0 docno rank score tag" lines. Returns 0 or -1 (I/O, err). */
int fuse_result_write(FILE *fp, const char *name, const fuse_result *res, const char *tag,
                      int digits, mm_error *err);
/* Text of the fused run in memory (malloc'd, *len bytes), for evaluation. */
char *fuse_result_format(const fuse_result *res, const char *tag, int digits, size_t *len,
                         mm_error *err);

/* Rounds a score the way it will be printed (digits 0: unchanged, since the
 * shortest round-tripping precision is used). */
double fuse_round_score(double v, int digits);
/* Prints v into buf (at least 32 bytes) with the precision described above. */
int fuse_format_score(char *buf, size_t size, double v, int digits);

#endif
