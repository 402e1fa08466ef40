/* traindata.c — joining feature files and labels (see traindata.h). */
#include "nn/traindata.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "core/xalloc.h"
#include "io/mmf.h"
#include "io/trec.h"

/* Rows sorted by id, for joining by binary search (no hash table needed:
 * each file is sorted once). */
typedef struct { const char *id; size_t row; } idx_ent;

static int cmp_ent(const void *a, const void *b) { return strcmp(((const idx_ent *)a)->id, ((const idx_ent *)b)->id); }

static idx_ent *index_ids(char **ids, size_t n)
{
    idx_ent *e = xmalloc((n ? n : 1) * sizeof *e);
    for (size_t i = 0; i < n; i++) e[i].id = ids[i], e[i].row = i;
    qsort(e, n, sizeof *e, cmp_ent);
    return e;
}

static long find_id(const idx_ent *e, size_t n, const char *id)
{
    idx_ent key = {id, 0};
    const idx_ent *f = bsearch(&key, e, n, sizeof *e, cmp_ent);
    return f ? (long)f->row : -1;
}

int traindata_load(traindata *td, const char *const *paths, int n, int missing_skip, int normalize,
                   size_t *skipped, mm_error *err)
{
    memset(td, 0, sizeof *td);
    *skipped = 0;
    if (n < 1 || n > TD_MAX_INPUTS) return mm_fail(err, MM_ERR_LIMIT, "%d feature files (1 to %d)", n, TD_MAX_INPUTS);
    mmf_matrix m[TD_MAX_INPUTS];
    idx_ent *ix[TD_MAX_INPUTS] = {0};
    int loaded = 0, rc = -1;
    memset(m, 0, sizeof m);
    for (int i = 0; i < n; i++) {
        if (mmf_load(paths[i], &m[i], err) < 0) goto out;
        loaded++;
        for (size_t r = 0; r < m[i].rows; r++)
            for (uint32_t k = 0; k < m[i].dim; k++)
                if (!isfinite(m[i].data[r * m[i].dim + k])) {
                    mm_fail(err, MM_ERR_MALFORMED, "%s: record %zu (id %s): value %u is %s", paths[i], r + 1,
                            m[i].ids[r], k, isnan(m[i].data[r * m[i].dim + k]) ? "NaN" : "infinite");
                    goto out;
                }
        if (i > 0) ix[i] = index_ids(m[i].ids, m[i].rows);
        td->dims[i] = (int)m[i].dim;
        const char *model = mmf_header_get(&m[i].header, "model");
        td->sources[i] = xstrdup(model ? model : "");
        td->D += (int)m[i].dim;
    }
    td->ninputs = n;
    /* One input: its loaded matrix becomes the rows, compacted in place (a
     * row only moves towards the start), so the features are in memory
     * once, not twice (mm-train's peak RSS). */
    if (n == 1 && m[0].data) {
        td->x = m[0].data;
        m[0].data = NULL;
    } else
        td->x = xmalloc((m[0].rows ? m[0].rows : 1) * (size_t)td->D * sizeof(float));
    td->ids = xcalloc(m[0].rows ? m[0].rows : 1, sizeof *td->ids);
    for (size_t r = 0; r < m[0].rows; r++) {
        float *dst = td->x + td->rows * (size_t)td->D;
        int ok = 1;
        for (int i = 0, off = 0; i < n; off += td->dims[i], i++) {
            long row = i == 0 ? (long)r : find_id(ix[i], m[i].rows, m[0].ids[r]);
            if (row < 0) {
                if (!missing_skip) {
                    mm_fail(err, MM_ERR_MISMATCH, "%s: record %zu: id %s has no features in %s (--missing skip drops it)",
                            paths[0], r + 1, m[0].ids[r], paths[i]);
                    goto out;
                }
                ok = 0;
                break;
            }
            const float *src = n == 1 ? td->x + r * (size_t)td->D : m[i].data + (size_t)row * m[i].dim;
            if (src != dst + off) memmove(dst + off, src, m[i].dim * sizeof(float));
            if (normalize) vec_l2_normalize(dst + off, m[i].dim);
        }
        if (!ok) {
            ++*skipped;
            continue;
        }
        td->ids[td->rows++] = xstrdup(m[0].ids[r]);
    }
    rc = 0;
out:
    for (int i = 0; i < loaded; i++) mmf_matrix_free(&m[i]);
    for (int i = 0; i < n; i++) free(ix[i]);
    if (rc < 0) traindata_free(td);
    return rc;
}

void traindata_free(traindata *td)
{
    for (size_t r = 0; r < td->rows; r++) free(td->ids[r]);
    for (int i = 0; i < TD_MAX_INPUTS; i++) free(td->sources[i]);
    free(td->ids);
    free(td->x);
    memset(td, 0, sizeof *td);
}

int labels_load(labelset *ls, const char *path, mm_error *err)
{
    memset(ls, 0, sizeof *ls);
    ls->path = path;
    FILE *fp = fopen(path, "r");
    if (!fp) return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0, alloc = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0 || line[0] == '#') continue;
        char *f[5];
        int nf = 0;
        const char *id, *label;
        if (strchr(line, '\t') && !strchr(strchr(line, '\t') + 1, '\t') && !strchr(line, ' ')) {
            /* id<TAB>label */
            char *tab = strchr(line, '\t');
            *tab = 0;
            id = line, label = tab + 1;
        } else {
            /* qrels: id 0 label rel (rel > 0 counts) */
            for (char *t = strtok(line, " \t"); t && nf < 5; t = strtok(NULL, " \t")) f[nf++] = t;
            if (nf != 4) {
                rc = mm_fail(err, MM_ERR_MALFORMED,
                             "%s:%zu: expected \"id<TAB>label\" or qrels \"id 0 label rel\", found %d field%s", path,
                             lineno, nf, nf == 1 ? "" : "s");
                break;
            }
            char *end;
            long rel = strtol(f[3], &end, 10);
            if (*end) {
                rc = mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: relevance \"%s\" is not an integer", path, lineno, f[3]);
                break;
            }
            if (rel <= 0) continue;
            id = f[0], label = f[2];
        }
        if (!*id || !*label) {
            rc = mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: empty %s", path, lineno, *id ? "label" : "id");
            break;
        }
        if (ls->n == alloc) {
            alloc = alloc ? 2 * alloc : 1024;
            ls->ids = xrealloc(ls->ids, alloc * sizeof *ls->ids);
            ls->labels = xrealloc(ls->labels, alloc * sizeof *ls->labels);
            ls->lines = xrealloc(ls->lines, alloc * sizeof *ls->lines);
        }
        ls->ids[ls->n] = xstrdup(id);
        ls->labels[ls->n] = xstrdup(label);
        ls->lines[ls->n++] = lineno;
    }
    free(line);
    if (!rc && ferror(fp)) rc = mm_fail(err, MM_ERR_IO, "%s: read failed", path);
    fclose(fp);
    if (!rc && ls->n == 0) rc = mm_fail(err, MM_ERR_MALFORMED, "%s: no labels", path);
    if (rc) labels_free(ls);
    return rc;
}

void labels_free(labelset *ls)
{
    for (size_t i = 0; i < ls->n; i++) free(ls->ids[i]), free(ls->labels[i]);
    free(ls->ids);
    free(ls->labels);
    free(ls->lines);
    memset(ls, 0, sizeof *ls);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int labels_match(const labelset *ls, const traindata *td, const char *feature_name, int missing_skip, int **yout,
                 char ***classes_out, int *nclasses, size_t *unmatched_labels, size_t *unlabelled_rows, mm_error *err)
{
    *unmatched_labels = *unlabelled_rows = 0;
    idx_ent *ix = index_ids(td->ids, td->rows);
    int *y = xmalloc((td->rows ? td->rows : 1) * sizeof *y);
    char **sorted = xmalloc((ls->n ? ls->n : 1) * sizeof *sorted);
    for (size_t r = 0; r < td->rows; r++) y[r] = -1;
    /* the classes: the distinct labels of matched ids, sorted */
    size_t ns = 0;
    for (size_t i = 0; i < ls->n; i++) {
        long row = find_id(ix, td->rows, ls->ids[i]);
        if (row < 0) {
            if (!missing_skip) {
                mm_fail(err, MM_ERR_MISMATCH, "%s:%zu: id %s has no features in %s (--missing skip ignores it)",
                        ls->path, ls->lines[i], ls->ids[i], feature_name);
                goto fail;
            }
            ++*unmatched_labels;
            continue;
        }
        if (y[row] == -2) {
            mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: id %s has a second label (use --multilabel)", ls->path,
                    ls->lines[i], ls->ids[i]);
            goto fail;
        }
        y[row] = -2;
        sorted[ns++] = ls->labels[i];
    }
    qsort(sorted, ns, sizeof *sorted, cmp_str);
    size_t nc = 0;
    for (size_t i = 0; i < ns; i++)
        if (nc == 0 || strcmp(sorted[nc - 1], sorted[i])) sorted[nc++] = sorted[i];
    for (size_t r = 0; r < td->rows; r++) y[r] = -1;
    for (size_t i = 0; i < ls->n; i++) {
        long row = find_id(ix, td->rows, ls->ids[i]);
        if (row < 0) continue;
        char **c = bsearch(&ls->labels[i], sorted, nc, sizeof *sorted, cmp_str);
        y[row] = (int)(c - sorted);
    }
    for (size_t r = 0; r < td->rows; r++)
        if (y[r] < 0) {
            if (!missing_skip) {
                mm_fail(err, MM_ERR_MISMATCH, "%s: id %s has no label in %s (--missing skip ignores it)",
                        feature_name, td->ids[r], ls->path);
                goto fail;
            }
            ++*unlabelled_rows;
        }
    char **classes = xmalloc((nc ? nc : 1) * sizeof *classes);
    for (size_t k = 0; k < nc; k++) classes[k] = xstrdup(sorted[k]);
    free(sorted);
    free(ix);
    *yout = y;
    *classes_out = classes;
    *nclasses = (int)nc;
    return 0;
fail:
    free(ix), free(y), free(sorted);
    return -1;
}

/* The distinct labels of matched ids, sorted, and for each label line its
 * row (-1: the id has no features); the error and count rules of
 * labels_match. */
static int match_rows(const labelset *ls, const traindata *td, const idx_ent *ix, const char *feature_name,
                      int missing_skip, long *row_of, size_t *unmatched_labels, mm_error *err)
{
    for (size_t i = 0; i < ls->n; i++) {
        row_of[i] = find_id(ix, td->rows, ls->ids[i]);
        if (row_of[i] < 0) {
            if (!missing_skip)
                return mm_fail(err, MM_ERR_MISMATCH, "%s:%zu: id %s has no features in %s (--missing skip ignores it)",
                               ls->path, ls->lines[i], ls->ids[i], feature_name);
            ++*unmatched_labels;
        }
    }
    return 0;
}

static int check_unlabelled(const labelset *ls, const traindata *td, const char *feature_name, int missing_skip,
                            const unsigned char *has, size_t *unlabelled_rows, mm_error *err)
{
    for (size_t r = 0; r < td->rows; r++)
        if (!has[r]) {
            if (!missing_skip)
                return mm_fail(err, MM_ERR_MISMATCH, "%s: id %s has no label in %s (--missing skip ignores it)",
                               feature_name, td->ids[r], ls->path);
            ++*unlabelled_rows;
        }
    return 0;
}

int labels_match_multi(const labelset *ls, const traindata *td, const char *feature_name, int missing_skip,
                       float **tout, unsigned char **hasout, char ***classes_out, int *nclasses,
                       size_t *unmatched_labels, size_t *unlabelled_rows, mm_error *err)
{
    *unmatched_labels = *unlabelled_rows = 0;
    idx_ent *ix = index_ids(td->ids, td->rows);
    long *row_of = xmalloc((ls->n ? ls->n : 1) * sizeof *row_of);
    char **sorted = xmalloc((ls->n ? ls->n : 1) * sizeof *sorted);
    unsigned char *has = xcalloc(td->rows ? td->rows : 1, 1);
    float *t = NULL;
    if (match_rows(ls, td, ix, feature_name, missing_skip, row_of, unmatched_labels, err) < 0) goto fail;
    size_t ns = 0;
    for (size_t i = 0; i < ls->n; i++)
        if (row_of[i] >= 0) sorted[ns++] = ls->labels[i];
    qsort(sorted, ns, sizeof *sorted, cmp_str);
    size_t nc = 0;
    for (size_t i = 0; i < ns; i++)
        if (nc == 0 || strcmp(sorted[nc - 1], sorted[i])) sorted[nc++] = sorted[i];
    t = xcalloc((td->rows ? td->rows : 1) * (nc ? nc : 1), sizeof *t);
    for (size_t i = 0; i < ls->n; i++) {
        if (row_of[i] < 0) continue;
        char **c = bsearch(&ls->labels[i], sorted, nc, sizeof *sorted, cmp_str);
        t[(size_t)row_of[i] * nc + (size_t)(c - sorted)] = 1;
        has[row_of[i]] = 1;
    }
    if (check_unlabelled(ls, td, feature_name, missing_skip, has, unlabelled_rows, err) < 0) goto fail;
    char **classes = xmalloc((nc ? nc : 1) * sizeof *classes);
    for (size_t k = 0; k < nc; k++) classes[k] = xstrdup(sorted[k]);
    free(sorted), free(ix), free(row_of);
    *tout = t;
    *hasout = has;
    *classes_out = classes;
    *nclasses = (int)nc;
    return 0;
fail:
    free(ix), free(row_of), free(sorted), free(has), free(t);
    return -1;
}

int values_match(const labelset *ls, const traindata *td, const char *feature_name, int missing_skip, float **tout,
                 unsigned char **hasout, size_t *unmatched_labels, size_t *unlabelled_rows, mm_error *err)
{
    *unmatched_labels = *unlabelled_rows = 0;
    idx_ent *ix = index_ids(td->ids, td->rows);
    long *row_of = xmalloc((ls->n ? ls->n : 1) * sizeof *row_of);
    unsigned char *has = xcalloc(td->rows ? td->rows : 1, 1);
    float *t = xcalloc(td->rows ? td->rows : 1, sizeof *t);
    if (match_rows(ls, td, ix, feature_name, missing_skip, row_of, unmatched_labels, err) < 0) goto fail;
    for (size_t i = 0; i < ls->n; i++) {
        char *end;
        errno = 0;
        double v = strtod(ls->labels[i], &end);
        if (*end || end == ls->labels[i] || !isfinite(v) || fabs(v) > 3e38) {
            mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: value \"%s\" is not a finite number", ls->path, ls->lines[i],
                    ls->labels[i]);
            goto fail;
        }
        if (row_of[i] < 0) continue;
        if (has[row_of[i]]) {
            mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: id %s has a second value", ls->path, ls->lines[i], ls->ids[i]);
            goto fail;
        }
        has[row_of[i]] = 1;
        t[row_of[i]] = (float)v;
    }
    if (check_unlabelled(ls, td, feature_name, missing_skip, has, unlabelled_rows, err) < 0) goto fail;
    free(ix), free(row_of);
    *tout = t;
    *hasout = has;
    return 0;
fail:
    free(ix), free(row_of), free(has), free(t);
    return -1;
}

/* ---- pairs ------------------------------------------------------------------- */
int pairdata_load(pairdata *p, const char *q_path, const char *g_path, const char *run_path, const char *qrels_path,
                  int product, int k, int normalize, int add_missing, mm_error *err)
{
    memset(p, 0, sizeof *p);
    size_t skipped;
    trec_run run = {0};
    trec_qrels qrels = {0};
    int have_qrels = 0, rc = -1;
    idx_ent *qix = NULL, *gix = NULL;
    if (traindata_load(&p->q, &q_path, 1, 0, normalize, &skipped, err) < 0) return -1;
    if (traindata_load(&p->g, &g_path, 1, 0, normalize, &skipped, err) < 0) goto out;
    p->qdim = p->q.dims[0], p->gdim = p->g.dims[0];
    if (product && p->qdim != p->gdim) {
        mm_fail(err, MM_ERR_MISMATCH, "%s: dim %d, %s: dim %d: the product q*d needs one dim (--no-product)", q_path,
                p->qdim, g_path, p->gdim);
        goto out;
    }
    p->product = product;
    p->D = p->qdim + p->gdim + (product ? p->qdim : 0);
    if (trec_run_load(&run, run_path, err) < 0) goto out;
    if (qrels_path) {
        if (trec_qrels_load(&qrels, qrels_path, err) < 0) goto out;
        have_qrels = 1;
    }
    qix = index_ids(p->q.ids, p->q.rows);
    gix = index_ids(p->g.ids, p->g.rows);
    size_t cap = run.line_count + 16;
    p->first = xmalloc((run.query_count + 1) * sizeof *p->first);
    p->qrow = xmalloc((run.query_count ? run.query_count : 1) * sizeof *p->qrow);
    p->doc = xmalloc(cap * sizeof *p->doc);
    p->target = xmalloc(cap * sizeof *p->target);
    size_t nc = 0;
    for (size_t qi = 0; qi < run.query_count; qi++) {
        const trec_run_query *rq = &run.queries[qi];
        long qrow = find_id(qix, p->q.rows, rq->qid);
        if (qrow < 0) {
            mm_fail(err, MM_ERR_MISMATCH, "%s: query %s has no features in %s", run_path, rq->qid, q_path);
            goto out;
        }
        long jq = have_qrels ? trec_qrels_find_query(&qrels, rq->qid, strlen(rq->qid)) : -1;
        size_t c0 = nc, npos = 0;
        size_t take = k > 0 && (size_t)k < rq->count ? (size_t)k : rq->count;
        size_t extra = jq >= 0 ? qrels.queries[jq].count : 0;
        if (nc + take + extra > cap) {
            cap = 2 * (nc + take + extra);
            p->doc = xrealloc(p->doc, cap * sizeof *p->doc);
            p->target = xrealloc(p->target, cap * sizeof *p->target);
        }
        for (size_t j = 0; j < take; j++) {
            const char *d = rq->items[j].docno;
            long grow = find_id(gix, p->g.rows, d);
            if (grow < 0) {
                mm_fail(err, MM_ERR_MISMATCH, "%s: query %s: document %s has no features in %s", run_path, rq->qid, d,
                        g_path);
                goto out;
            }
            long ji = jq >= 0 ? trec_qrels_find_doc(&qrels, (size_t)jq, d, strlen(d)) : -1;
            int rel = ji >= 0 && qrels.rel[ji] > 0;
            p->doc[nc] = (uint32_t)grow;
            p->target[nc++] = (float)rel;
            npos += (size_t)rel;
        }
        /* relevant documents the run did not retrieve (within k) */
        for (size_t e = 0; add_missing && jq >= 0 && e < qrels.queries[jq].count; e++) {
            size_t ji = qrels.queries[jq].first + e;
            if (qrels.rel[ji] <= 0) continue;
            long grow = find_id(gix, p->g.rows, qrels.docno[ji]);
            if (grow < 0) {
                p->missing_docs++;
                continue;
            }
            int seen = 0;
            for (size_t c = c0; c < nc && !seen; c++) seen = p->doc[c] == (uint32_t)grow;
            if (seen) continue;
            p->doc[nc] = (uint32_t)grow;
            p->target[nc++] = 1;
            npos++;
        }
        if (have_qrels && npos == 0) {
            nc = c0;
            p->skipped_queries++;
            continue;
        }
        for (size_t c = c0; c < nc; c++) p->target[c] = npos ? p->target[c] / (float)npos : 0;
        if ((int)(nc - c0) > p->maxc) p->maxc = (int)(nc - c0);
        p->first[p->nq] = c0;
        p->qrow[p->nq++] = (uint32_t)qrow;
    }
    p->first[p->nq] = nc;
    if (p->nq == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: no query with features%s", run_path,
                have_qrels ? " and a relevant document with features in the qrels" : "");
        goto out;
    }
    rc = 0;
out:
    free(qix), free(gix);
    trec_run_free(&run);
    if (have_qrels) trec_qrels_free(&qrels);
    if (rc < 0) pairdata_free(p);
    return rc;
}

void pairdata_free(pairdata *p)
{
    traindata_free(&p->q);
    traindata_free(&p->g);
    free(p->first), free(p->qrow), free(p->doc), free(p->target);
    memset(p, 0, sizeof *p);
}

void pair_fill(const pairdata *p, size_t i, size_t c, float *dst)
{
    const float *q = p->q.x + (size_t)p->qrow[i] * (size_t)p->qdim, *d = p->g.x + (size_t)p->doc[c] * (size_t)p->gdim;
    memcpy(dst, q, (size_t)p->qdim * sizeof(float));
    memcpy(dst + p->qdim, d, (size_t)p->gdim * sizeof(float));
    if (p->product)
        for (int k = 0; k < p->qdim; k++) dst[(size_t)p->qdim + (size_t)p->gdim + (size_t)k] = q[k] * d[k];
}

int labels_check_ids(const labelset *ls, const traindata *td, const char *feature_name, size_t *unmatched,
                     int missing_skip, mm_error *err)
{
    idx_ent *ix = index_ids(td->ids, td->rows);
    long *row_of = xmalloc((ls->n ? ls->n : 1) * sizeof *row_of);
    *unmatched = 0;
    int rc = match_rows(ls, td, ix, feature_name, missing_skip, row_of, unmatched, err);
    free(ix), free(row_of);
    return rc;
}
