/* evaljson.h — mm-eval --format json outputs shown in a report's summary.
 *
 * Owns: reading the two JSON documents mm-eval writes — one run's
 * evaluation ({"run": ..., "summary": {measure: number}, "ci": {"level",
 * "intervals": {measure: [lo, hi]}}}) and the paired comparison of two runs
 * ({"run_a", "run_b", "summary": {measure: {"mean_a", "mean_b", "diff",
 * "p_permutation", "p_ttest", "diff_ci"}}}) — told apart by "run_a", and
 * their page section (one table per kind). Non-numeric summary values
 * (runid) are skipped, null p-values shown as "–". Errors name the file and,
 * for bad JSON, the line and column; for a wrong shape, the JSON path
 * ("e.json: summary.MRR: expected a number").
 */
#ifndef MM_REPORT_EVALJSON_H
#define MM_REPORT_EVALJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

typedef struct report_eval_row {
    char *measure;
    double value, lo, hi;          /* one run: value, interval (NaN when absent) */
    double mean_a, mean_b, diff;   /* comparison */
    double p_perm, p_t;            /* NaN when null */
} report_eval_row;

typedef struct report_evaljson {
    char *path;
    bool compare;                  /* a comparison (run_a, run_b) */
    char *run, *run_b;             /* run (or run_a), run_b */
    double ci_level;               /* NaN without intervals */
    report_eval_row *rows;
    size_t count;
} report_evaljson;

int report_evaljson_load(report_evaljson *e, const char *path, mm_error *err);
/* The same from memory; name is used in messages. */
int report_evaljson_load_mem(report_evaljson *e, const char *data, size_t size, const char *name,
                             mm_error *err);
/* The section for files[0..n): runs first, then comparisons. */
void report_evaljson_write(FILE *fp, const report_evaljson *files, size_t n);
void report_evaljson_free(report_evaljson *e);

#endif
