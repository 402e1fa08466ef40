/* fuse_optimize.c — weight search for late fusion (see fuse_optimize.h). */
#include "fuse/fuse_optimize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xalloc.h"

typedef struct scorer {
    const fuse_runs *fr;
    const fuse_optimize_params *p;
    mm_measure_set set;
    fuse_result res;
    size_t evaluations;
    size_t skipped;
} scorer;

/* The fused run as mm-eval would read it, except that each score is replaced
 * by an integer with the same order and the same ties (count, count-1, ...
 * decreasing at every change of score). Measures see only the ranking that
 * trec_eval's sort (score desc, docno desc) produces, and that sort gives the
 * same ranking for these integers as for the written scores, since the
 * written scores read back as exactly the doubles the ranking was made from
 * (fuse_format_score) or were rounded before ranking (--digits). Integers
 * avoid a shortest-round-trip conversion per line for every candidate. */
static char *ranking_text(const fuse_result *res, const char *tag, size_t *len, mm_error *err)
{
    (void)err; /* memory comes from xalloc: nothing left that fails */
    mm_buf b = {0};
    mm_buf_reserve(&b, 1 << 16);
    size_t tag_len = strlen(tag);
    for (size_t q = 0; q < res->query_count; q++) {
        const fuse_ranking *Q = &res->queries[q];
        size_t qlen = strlen(Q->qid);
        size_t level = Q->count;
        for (size_t j = 0; j < Q->count; j++) {
            if (j > 0 && Q->items[j].score != Q->items[j - 1].score) level--;
            size_t dlen = strlen(Q->items[j].docno);
            mm_buf_reserve(&b, qlen + dlen + tag_len + 64);
            char *d = b.data + b.len;
            memcpy(d, Q->qid, qlen);
            d += qlen;
            memcpy(d, " Q0 ", 4);
            d += 4;
            memcpy(d, Q->items[j].docno, dlen);
            d += dlen;
            d += sprintf(d, " %zu %zu ", j + 1, level);
            memcpy(d, tag, tag_len);
            d += tag_len;
            *d++ = '\n';
            b.len = (size_t)(d - b.data);
        }
    }
    return mm_buf_detach(&b, len);
}

/* The measure for weights w, as mm-eval computes it on the written run. */
static int score(scorer *s, const double *w, double *value, mm_error *err, int *exit_status)
{
    *exit_status = 1;
    if (fuse_runs_apply(s->fr, w, &s->res, err)) return -1;
    size_t len;
    char *text = ranking_text(&s->res, s->p->tag, &len, err);
    if (!text) return -1;
    if (len == 0) {
        free(text);
        return mm_fail(err, MM_ERR_MISMATCH, "the fused run is empty: nothing to evaluate");
    }
    trec_reader *r = trec_reader_open_mem(text, len, "(fused run)", err);
    free(text);
    if (!r) return -1;
    mm_eval_result er;
    int st = 0;
    int rc = mm_evaluate_reader(s->p->qrels, r, &s->p->eval, &s->set, &er, err, &st);
    trec_reader_close(r);
    if (rc) {
        /* a failed evaluation may still hold a partial result (mm-eval -q
         * prints it): free it all the same */
        mm_eval_result_free(&er, &s->set);
        *exit_status = st ? st : 1;
        return -1;
    }
    *value = mm_summary_value(&s->set, &er, &s->p->eval, 0, NULL, 0);
    mm_eval_result_free(&er, &s->set);
    s->evaluations++;
    return 0;
}

/* Keeps w if it scores strictly better than *best. */
static int consider(scorer *s, const double *w, double *best, double *best_w, size_t total,
                    mm_error *err, int *exit_status)
{
    double v = NAN;
    if (score(s, w, &v, err, exit_status)) {
        /* A zero weight drops the documents only that run retrieved, and with
         * them a query only that run answered; mm-eval (without -c) refuses a
         * run that lacks a qrels query, so such a candidate is infeasible.
         * The uniform weights (scored first) drop nothing: their failure is
         * the real error. */
        if (*exit_status != MM_EVAL_EXIT_MEASURE || s->evaluations == 0) return -1;
        s->skipped++;
        *exit_status = 0;
        return 0;
    }
    size_t R = fuse_runs_count(s->fr);
    if (!isnan(v) && (isnan(*best) || v > *best)) {
        *best = v;
        memcpy(best_w, w, R * sizeof *w);
    }
    if (s->p->progress) s->p->progress(s->evaluations, total, *best, s->p->progress_ctx);
    return 0;
}

/* C(n, k), saturating at limit + 1. */
static double binomial(unsigned n, unsigned k)
{
    double c = 1.0;
    for (unsigned i = 1; i <= k; i++) c = c * (double)(n - k + i) / (double)i;
    return c;
}

static int grid(scorer *s, unsigned steps, double *best, double *best_w, mm_error *err,
                int *exit_status)
{
    size_t R = fuse_runs_count(s->fr);
    double total = binomial(steps + (unsigned)R - 1, (unsigned)R - 1);
    if (total > FUSE_MAX_GRID)
        return mm_fail(err, MM_ERR_LIMIT,
                       "--optimize: the grid has %.0f candidates for %zu runs at step %g (limit "
                       "%d): use a larger --step or --search ascent",
                       total, R, s->p->step, FUSE_MAX_GRID);
    /* counts c[0..R) with sum = steps, in lexicographically decreasing order:
     * (steps,0,..,0), (steps-1,1,0,..), ... */
    unsigned *c = xcalloc(R, sizeof *c);
    double *w = xmalloc(R * sizeof *w);
    c[0] = steps;
    int rc = 0;
    for (;;) {
        for (size_t i = 0; i < R; i++) w[i] = (double)c[i] / (double)steps;
        if ((rc = consider(s, w, best, best_w, (size_t)total, err, exit_status))) break;
        /* next composition: find the last i < R-1 with c[i] > 0, move one unit
         * to i+1 and gather everything after i+1 there */
        size_t i = R - 1;
        while (i-- > 0 && c[i] == 0)
            ;
        if (i == (size_t)-1 || R == 1) break;
        unsigned rest = c[R - 1];
        c[R - 1] = 0;
        c[i]--;
        c[i + 1] += 1 + rest; /* c[i+1..R-2] were 0: i is the last non-zero */
    }
    free(c);
    free(w);
    return rc;
}

static int ascent(scorer *s, unsigned steps, double *best, double *best_w, mm_error *err,
                  int *exit_status)
{
    size_t R = fuse_runs_count(s->fr);
    double *w = xmalloc(R * sizeof *w);
    size_t total = (size_t)s->p->max_rounds * R * steps + 1;
    int rc = 0;
    for (int round = 0; round < s->p->max_rounds; round++) {
        bool improved = false;
        for (size_t i = 0; i < R && !rc; i++)
            for (unsigned k = 0; k <= steps; k++) {
                memcpy(w, best_w, R * sizeof *w);
                double v = (double)k / (double)steps;
                if (v == w[i]) continue;
                w[i] = v;
                double before = *best;
                if ((rc = consider(s, w, best, best_w, total, err, exit_status))) break;
                if (*best != before) improved = true;
            }
        if (rc || !improved) break;
    }
    free(w);
    return rc;
}

int fuse_optimize(const fuse_runs *fr, const fuse_optimize_params *p, fuse_optimize_result *out,
                  mm_error *err, int *exit_status)
{
    memset(out, 0, sizeof *out);
    *exit_status = 1;
    size_t R = fuse_runs_count(fr);
    double inv = 1.0 / p->step;
    double steps_d = nearbyint(inv);
    if (!(p->step > 0.0 && p->step <= 1.0) || fabs(inv - steps_d) > 1e-6 * steps_d ||
        steps_d > 10000)
        return mm_fail(err, MM_ERR_MALFORMED,
                       "--step %g: must be 1/N for an integer N in [1, 10000] (0.1, 0.05, 0.25...)",
                       p->step);
    unsigned steps = (unsigned)steps_d;
    scorer s = {.fr = fr, .p = p};
    int rc = -1;
    if (mm_measure_set_add(&s.set, p->measure, err) || mm_measure_set_finalize(&s.set, err))
        goto done;
    if (s.set.nvalues != 1) {
        mm_fail(err, MM_ERR_MALFORMED,
                "--optimize %s: gives %zu values; name a single one (e.g. P.10, not P.5,10)",
                p->measure, s.set.nvalues);
        goto done;
    }
    const mm_measure *m = mm_measure_of_row(&s.set, 0, NULL);
    if (!m || m->def->kind == MM_VALUE_STRING || m->def->aggregate == MM_AGG_NONE ||
        m->def->aggregate == MM_AGG_RUNID || m->def->aggregate == MM_AGG_NUM_Q) {
        mm_fail(err, MM_ERR_MALFORMED, "--optimize %s: not a measure that can be maximised",
                p->measure);
        goto done;
    }
    snprintf(out->row_name, sizeof out->row_name, "%s", m->names ? m->names[0] : m->def->name);
    out->weights = xmalloc(R * sizeof *out->weights);
    double *w = xmalloc(R * sizeof *w);
    double best = NAN;
    for (size_t i = 0; i < R; i++) w[i] = 1.0 / (double)R;
    rc = consider(&s, w, &best, out->weights, 0, err, exit_status);
    free(w);
    if (rc) goto done;
    if (R > 1)
        rc = p->search == FUSE_SEARCH_ASCENT
                 ? ascent(&s, steps, &best, out->weights, err, exit_status)
                 : grid(&s, steps, &best, out->weights, err, exit_status);
    if (rc) goto done;
    out->value = best;
    out->evaluations = s.evaluations;
    out->skipped = s.skipped;
    *exit_status = 0;
done:
    fuse_result_free(&s.res);
    mm_measure_set_free(&s.set);
    if (rc) fuse_optimize_result_free(out);
    return rc;
}

void fuse_optimize_result_free(fuse_optimize_result *r)
{
    free(r->weights);
    r->weights = NULL;
}
