/* fuse_late.c — late fusion of runs (see fuse.h): score rounding and
 * formatting, the per-query join of the runs' documents, the fused ranking
 * and its writers. */
#include "fuse/fuse.h"
#include "fuse/fuse_internal.h"

#include "core/buf.h"
#include "core/hash.h"
#include "core/xalloc.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- late fusion ------------------------------------------------------------------------ */
double fuse_round_score(double v, int digits)
{
    if (digits <= 0) return v;
    char buf[64];
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    return strtod(buf, NULL);
}

int fuse_format_score(char *buf, size_t size, double v, int digits)
{
    if (digits > 0) return snprintf(buf, size, "%.*g", digits, v);
    /* The shortest precision in [9, 17] that reads back as v. Round-tripping
     * is monotone in the precision (more digits are never farther from v) and
     * 17 always round-trips, so: 9 first (every float32 score), then a binary
     * search over 10..17: at most 4 conversions instead of 9. */
    int len = snprintf(buf, size, "%.9g", v);
    if (strtod(buf, NULL) == v) return len;
    int lo = 10, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(buf, size, "%.*g", mid, v);
        if (strtod(buf, NULL) == v)
            hi = mid;
        else
            lo = mid + 1;
    }
    return snprintf(buf, size, "%.*g", lo, v);
}

typedef struct fq {
    const char *qid;
    size_t ndocs;
    size_t first; /* index of the first doc in fuse_runs.docs / contrib rows */
} fq;

struct fuse_runs {
    fuse_run_params p;
    size_t nruns;
    size_t query_count;
    fq *queries;
    size_t total_docs;
    const char **docs; /* total_docs */
    double *contrib;   /* total_docs × nruns; NaN = not retrieved by that run */
    size_t max_docs;   /* largest ndocs */
};

size_t fuse_runs_count(const fuse_runs *fr) { return fr->nruns; }

void fuse_runs_free(fuse_runs *fr)
{
    if (!fr) return;
    free(fr->queries);
    free(fr->docs);
    free(fr->contrib);
    free(fr);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Normalised contributions of one run's ranking (already cut to depth). */
static void normalise_scores(const fuse_run_params *p, const trec_ranked *it, size_t n,
                             double *out)
{
    if (p->method == FUSE_RRF) {
        for (size_t j = 0; j < n; j++) out[j] = 1.0 / (p->rrf_k + (double)(j + 1));
        return;
    }
    double mn = INFINITY, mx = -INFINITY, sum = 0.0;
    for (size_t j = 0; j < n; j++) {
        if (it[j].score < mn) mn = it[j].score;
        if (it[j].score > mx) mx = it[j].score;
        sum += it[j].score;
    }
    switch (p->norm) {
    case FUSE_SNORM_MINMAX:
        for (size_t j = 0; j < n; j++)
            out[j] = mx > mn ? (it[j].score - mn) / (mx - mn) : 1.0;
        break;
    case FUSE_SNORM_ZSCORE: {
        double mean = sum / (double)n, var = 0.0;
        for (size_t j = 0; j < n; j++) var += (it[j].score - mean) * (it[j].score - mean);
        var /= (double)n;
        double sd = sqrt(var);
        for (size_t j = 0; j < n; j++) out[j] = sd > 0.0 ? (it[j].score - mean) / sd : 0.0;
        break;
    }
    case FUSE_SNORM_SUM: {
        double shifted = 0.0;
        for (size_t j = 0; j < n; j++) shifted += it[j].score - mn;
        for (size_t j = 0; j < n; j++)
            out[j] = shifted > 0.0 ? (it[j].score - mn) / shifted : 1.0 / (double)n;
        break;
    }
    case FUSE_SNORM_RANK:
        for (size_t j = 0; j < n; j++) out[j] = 1.0 - (double)j / (double)n;
        break;
    default:
        for (size_t j = 0; j < n; j++) out[j] = it[j].score;
    }
}

fuse_runs *fuse_runs_prepare(const trec_run *runs, size_t nruns, const fuse_run_params *p,
                             mm_error *err)
{
    if (nruns == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "no runs");
        return NULL;
    }
    if (p->method < FUSE_RRF || p->method > FUSE_RUN_WSUM) {
        mm_fail(err, MM_ERR_MALFORMED, "unknown late-fusion method");
        return NULL;
    }
    if (p->method == FUSE_RRF && !(p->rrf_k >= 0.0 && isfinite(p->rrf_k))) {
        mm_fail(err, MM_ERR_MALFORMED, "rrf: k must be a finite number >= 0");
        return NULL;
    }
    fuse_runs *fr = xcalloc(1, sizeof *fr);
    const char **qids = NULL;
    double *norm = NULL;
    mm_strmap map = {0};
    size_t nq_all = 0, total_items = 0, max_query_items = 0, max_list = 0;
    fr->p = *p;
    fr->nruns = nruns;
    for (size_t i = 0; i < nruns; i++) nq_all += runs[i].query_count;
    qids = xmalloc((nq_all + 1) * sizeof *qids);
    {
        size_t at = 0;
        for (size_t i = 0; i < nruns; i++)
            for (size_t q = 0; q < runs[i].query_count; q++) qids[at++] = runs[i].queries[q].qid;
    }
    qsort(qids, nq_all, sizeof *qids, cmp_str_ptr);
    size_t nq = 0;
    for (size_t i = 0; i < nq_all; i++)
        if (nq == 0 || strcmp(qids[nq - 1], qids[i]) != 0) qids[nq++] = qids[i];
    /* sizes: per query, the items of every run after the depth cut */
    for (size_t q = 0; q < nq; q++) {
        size_t items = 0;
        for (size_t i = 0; i < nruns; i++) {
            long rq = trec_run_find_query(&runs[i], qids[q]);
            if (rq < 0) continue;
            size_t c = runs[i].queries[rq].count;
            if (p->depth && c > p->depth) c = p->depth;
            items += c;
            if (c > max_list) max_list = c;
        }
        total_items += items;
        if (items > max_query_items) max_query_items = items;
    }
    /* sized by runs already in memory (the items they hold), so xalloc */
    fr->queries = xcalloc(nq + 1, sizeof *fr->queries);
    fr->docs = xmalloc((total_items + 1) * sizeof *fr->docs);
    fr->contrib = xmalloc((total_items * nruns + 1) * sizeof *fr->contrib);
    norm = xmalloc((max_list + 1) * sizeof *norm);
    mm_strmap_init(&map, max_query_items);
    size_t at = 0;
    for (size_t q = 0; q < nq; q++) {
        fq *Q = &fr->queries[q];
        Q->qid = qids[q];
        Q->first = at;
        /* reset the map for this query */
        mm_strmap_clear(&map);
        for (size_t i = 0; i < nruns; i++) {
            long rq = trec_run_find_query(&runs[i], qids[q]);
            if (rq < 0) continue;
            const trec_run_query *RQ = &runs[i].queries[rq];
            size_t c = RQ->count;
            if (p->depth && c > p->depth) c = p->depth;
            for (size_t j = 0; j < c; j++)
                if (!isfinite(RQ->items[j].score)) {
                    mm_fail(err, MM_ERR_MALFORMED,
                            "%s: query '%s', document '%s': score %g is not finite", runs[i].name,
                            RQ->qid, RQ->items[j].docno, RQ->items[j].score);
                    goto fail;
                }
            normalise_scores(p, RQ->items, c, norm);
            /* NaN marks "not retrieved" below, so a normalisation that
             * overflows (max - min = inf for scores near +-1e308) must stop here */
            for (size_t j = 0; j < c; j++)
                if (!isfinite(norm[j])) {
                    mm_fail(err, MM_ERR_LIMIT,
                            "%s: query '%s': --norm %s of the scores overflows (scores from "
                            "%g to %g); try --norm rank or none",
                            runs[i].name, RQ->qid, fuse_snorm_name(p->norm),
                            RQ->items[c - 1].score, RQ->items[0].score);
                    goto fail;
                }
            for (size_t j = 0; j < c; j++) {
                const char *doc = RQ->items[j].docno;
                bool added;
                long d = mm_strmap_add(&map, doc, strlen(doc), &added);
                if (d < 0) {
                    mm_fail(err, MM_ERR_LIMIT, "query '%s': more than %u documents", Q->qid, UINT32_MAX - 2);
                    goto fail;
                }
                size_t row = Q->first + (size_t)d;
                if (added) {
                    fr->docs[row] = doc;
                    for (size_t k = 0; k < nruns; k++) fr->contrib[row * nruns + k] = NAN;
                }
                fr->contrib[row * nruns + i] = norm[j];
            }
        }
        Q->ndocs = map.count;
        at += map.count;
        if (Q->ndocs > fr->max_docs) fr->max_docs = Q->ndocs;
    }
    fr->query_count = nq;
    fr->total_docs = at;
    free(qids);
    free(norm);
    mm_strmap_free(&map);
    return fr;
fail:
    free(qids);
    free(norm);
    mm_strmap_free(&map);
    fuse_runs_free(fr);
    return NULL;
}

void fuse_result_free(fuse_result *res)
{
    free(res->queries);
    free(res->storage);
    memset(res, 0, sizeof *res);
}

int fuse_runs_apply(const fuse_runs *fr, const double *weights, fuse_result *res, mm_error *err)
{
    if (!res->queries) {
        res->queries = xcalloc(fr->query_count + 1, sizeof *res->queries);
        res->storage = xmalloc((fr->total_docs + 1) * sizeof *res->storage);
    }
    const size_t R = fr->nruns;
    const int method = fr->p.method;
    size_t out_q = 0;
    for (size_t q = 0; q < fr->query_count; q++) {
        const fq *Q = &fr->queries[q];
        trec_ranked *items = res->storage + Q->first;
        size_t n = 0;
        for (size_t d = 0; d < Q->ndocs; d++) {
            const double *c = fr->contrib + (Q->first + d) * R;
            double sum = 0.0, mx = -INFINITY;
            size_t cnt = 0;
            for (size_t i = 0; i < R; i++) {
                double wi = weight_of(weights, i);
                if (wi == 0.0 || isnan(c[i])) continue;
                double v = wi * c[i];
                sum += v;
                if (v > mx) mx = v;
                cnt++;
            }
            if (cnt == 0) continue; /* retrieved only by runs of weight 0 */
            double s = method == FUSE_COMBMNZ   ? (double)cnt * sum
                       : method == FUSE_COMBMAX ? mx
                                                : sum;
            s = fuse_round_score(s, fr->p.digits);
            if (!isfinite(s))
                return mm_fail(err, MM_ERR_LIMIT,
                               "query '%s', document '%s': the fused score overflows", Q->qid,
                               fr->docs[Q->first + d]);
            items[n++] = (trec_ranked){s, fr->docs[Q->first + d]};
        }
        if (n == 0) continue;
        trec_sort_ranked(items, n);
        if (fr->p.k && n > fr->p.k) n = fr->p.k;
        res->queries[out_q++] = (fuse_ranking){Q->qid, n, items};
    }
    res->query_count = out_q;
    return 0;
}

int fuse_result_write(FILE *fp, const char *name, const fuse_result *res, const char *tag,
                      int digits, mm_error *err)
{
    char score[64];
    for (size_t q = 0; q < res->query_count; q++) {
        const fuse_ranking *Q = &res->queries[q];
        for (size_t j = 0; j < Q->count; j++) {
            fuse_format_score(score, sizeof score, Q->items[j].score, digits);
            if (fprintf(fp, "%s Q0 %s %zu %s %s\n", Q->qid, Q->items[j].docno, j + 1, score,
                        tag) < 0)
                return mm_fail(err, MM_ERR_IO, "%s: write error: %s", name, strerror(errno));
        }
    }
    return 0;
}

char *fuse_result_format(const fuse_result *res, const char *tag, int digits, size_t *len,
                         mm_error *err)
{
    (void)err; /* memory comes from xalloc: nothing left that fails */
    mm_buf b = {0};
    mm_buf_reserve(&b, 1 << 16);
    size_t tag_len = strlen(tag);
    char score[64];
    for (size_t q = 0; q < res->query_count; q++) {
        const fuse_ranking *Q = &res->queries[q];
        size_t qlen = strlen(Q->qid);
        for (size_t j = 0; j < Q->count; j++) {
            size_t dlen = strlen(Q->items[j].docno);
            int slen = fuse_format_score(score, sizeof score, Q->items[j].score, digits);
            mm_buf_reserve(&b, qlen + dlen + tag_len + (size_t)slen + 32);
            b.len += (size_t)sprintf(b.data + b.len, "%s Q0 %s %zu %s %s\n", Q->qid, Q->items[j].docno,
                                     j + 1, score, tag);
        }
    }
    return mm_buf_detach(&b, len);
}
