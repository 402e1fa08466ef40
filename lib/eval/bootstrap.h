/* bootstrap.h — bootstrap confidence intervals of summary values.
 *
 * Owns: the interval of every summary row of an evaluated run, from B
 * resamples of the queries (the same resamples serve every row, so rows are
 * comparable), as mm-eval --ci and mm-report print them. Built on
 * evalstats (the generator, resampling, percentile interval) and measures
 * (mm_summary_value); one implementation for every program.
 */
#ifndef MM_BOOTSTRAP_H
#define MM_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "eval/measures.h"

/* lo[row], hi[row] for row 0..set->nvalues-1 at confidence `level` (e.g.
 * 0.95); NaN for rows without a meaningful interval (strings, counts of
 * queries, run ids, no summary). Uses rows * B doubles of scratch. */
void mm_bootstrap_summary(const mm_measure_set *set, const mm_eval_result *res,
                          const mm_eval_opts *opts, size_t B, uint64_t seed, double level,
                          double *lo, double *hi);

#endif
