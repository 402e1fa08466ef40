/* zscore.h — trec_eval's -Z: per-query values as z-scores against a
 * reference set of runs.
 *
 * Owns: the z-score file (lines "QID MEASURE MEAN STDDEV", fields separated by
 * white space, exactly four per line, every line significant), and the
 * conversion of a result's per-query values, as trec_eval 10.0 does it
 * (get_zscores.c, convert_zscores.c): value -> (value - mean) / stddev; a
 * stddev of 0 gives 0 when value == mean; a query or row name missing from the
 * file, or a stddev of 0 with value != mean, gives MM_ZSCORE_MISSING. The
 * summary rows are then formed from the converted values as usual.
 */
#ifndef MM_ZSCORE_H
#define MM_ZSCORE_H

#include <stddef.h>

#include "core/error.h"
#include "eval/measures.h"

/* trec_eval's MISSING_ZSCORE_VALUE */
#define MM_ZSCORE_MISSING (-1000000.0)

/* Exit status of trec_eval 10.0 for an unreadable or malformed -Z file: its
 * main() returns UNDEF (-1). */
#define MM_ZSCORE_EXIT_INPUT 255

typedef struct mm_zscore_entry {
    const char *qid, *meas; /* into the file buffer */
    double mean, stddev;
} mm_zscore_entry;

typedef struct mm_zscores {
    char *buf;
    mm_zscore_entry *e; /* sorted by qid, then measure (strcmp) */
    size_t n;
} mm_zscores;

/* Errors: "FILE:LINE: problem". A repeated (qid, measure) keeps the line
 * that sorts first, as trec_eval's binary search may find either; here it
 * is an error instead of an unspecified choice. */
int mm_zscores_load(mm_zscores *z, const char *path, mm_error *err);
/* Converts every numeric per-query row of res (not runid, num_q, strings). */
void mm_zscores_apply(const mm_zscores *z, const mm_measure_set *set, mm_eval_result *res);
void mm_zscores_free(mm_zscores *z);

#endif
