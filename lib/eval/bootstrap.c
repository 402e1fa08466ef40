/* bootstrap.c — see bootstrap.h. */
#include "eval/bootstrap.h"

#include <math.h>
#include <stdlib.h>

#include "core/xalloc.h"
#include "eval/evalstats.h"

void mm_bootstrap_summary(const mm_measure_set *set, const mm_eval_result *res,
                          const mm_eval_opts *opts, size_t B, uint64_t seed, double level,
                          double *lo, double *hi)
{
    size_t rows = set->nvalues, n = res->query_count;
    double *samples = xmalloc((rows * B + 1) * sizeof *samples);
    size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
    mm_rng rng;
    mm_rng_seed(&rng, seed);
    for (size_t b = 0; b < B; b++) {
        mm_bootstrap_indices(&rng, n, idx);
        for (size_t r = 0; r < rows; r++)
            samples[r * B + b] = mm_summary_value(set, res, opts, r, idx, n);
    }
    for (size_t r = 0; r < rows; r++) {
        const mm_measure *m = mm_measure_of_row(set, r, NULL);
        mm_aggregate a = m->def->aggregate;
        if (a == MM_AGG_NONE || a == MM_AGG_RUNID || a == MM_AGG_NUM_Q ||
            m->def->kind == MM_VALUE_STRING || B == 0) {
            lo[r] = hi[r] = NAN;
            continue;
        }
        mm_percentile_interval(samples + r * B, B, level, &lo[r], &hi[r]);
    }
    free(samples);
    free(idx);
}
