/* prefs.c — preference judgments and their counts (trec_eval 10.0
 * get_prefs.c, get_qrels_prefs.c, form_prefs_counts.c). See prefs.h. */
#include "eval/prefs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "io/trec.h"

/* A query's preference matrices have (judged documents)^2 cells, one set
 * per judgment group: a count the input chooses, so it is bounded (2^30
 * cells: 2 GiB of counts) before anything is allocated. */
#define PREFS_MAX_CELLS ((size_t)1 << 30)

/* ---- loading ------------------------------------------------------------------ */

static const char *keep(mm_prefs *p, const char *s)
{
    return mm_strstore_add(&p->strings, s, strlen(s));
}

typedef struct pref_tmp {
    mm_pref pref;
    const char *qid;
} pref_tmp;

static int cmp_qid_docno(const void *pa, const void *pb)
{
    const pref_tmp *a = pa, *b = pb;
    int c = strcmp(a->qid, b->qid);
    return c ? c : strcmp(a->pref.docno, b->pref.docno);
}

void mm_prefs_free(mm_prefs *p)
{
    if (!p) return;
    mm_strstore_free(&p->strings);
    free(p->queries);
    free(p->prefs);
    free(p->name);
    memset(p, 0, sizeof *p);
}

int mm_prefs_load(mm_prefs *p, const char *path, bool from_qrels, mm_error *err)
{
    memset(p, 0, sizeof *p);
    trec_reader *r = trec_reader_open(path, err);
    if (!r) return -1;
    int rc = mm_prefs_load_reader(p, r, from_qrels, err);
    trec_reader_close(r);
    return rc;
}

int mm_prefs_load_reader(mm_prefs *p, trec_reader *r, bool from_qrels, mm_error *err)
{
    memset(p, 0, sizeof *p);
    p->name = xstrdup(trec_reader_name(r));
    pref_tmp *tmp = NULL;
    size_t n = 0, cap = 0;
    trec_pref_line line;
    int rc;
    const char *last_qid = NULL, *last_jg = NULL, *last_jsg = NULL;
    while ((rc = trec_read_pref_line(r, from_qrels, &line, err)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            tmp = xrealloc(tmp, cap * sizeof *tmp);
        }
        /* consecutive lines usually share qid, jg and jsg: keep one copy */
        if (!last_qid || strcmp(last_qid, line.qid)) last_qid = keep(p, line.qid);
        if (!last_jg || strcmp(last_jg, line.jg)) last_jg = keep(p, line.jg);
        if (!last_jsg || strcmp(last_jsg, line.jsg)) last_jsg = keep(p, line.jsg);
        const char *d = keep(p, line.docno);
        tmp[n++] = (pref_tmp){{last_jg, last_jsg, d, line.rel_level}, last_qid};
    }
    if (rc < 0) goto fail;
    if (n == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: empty file: no preferences", p->name);
        goto fail;
    }
    qsort(tmp, n, sizeof *tmp, cmp_qid_docno);
    size_t nq = 0;
    for (size_t i = 0; i < n; i++) nq += i == 0 || strcmp(tmp[i].qid, tmp[i - 1].qid) != 0;
    p->queries = xcalloc(nq, sizeof *p->queries);
    p->prefs = xmalloc(n * sizeof *p->prefs);
    size_t qi = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(tmp[i].qid, tmp[i - 1].qid) != 0) {
            qi++;
            p->queries[qi].qid = tmp[i].qid;
            p->queries[qi].first = i;
        }
        p->queries[qi].count++;
        p->prefs[i] = tmp[i].pref;
    }
    p->query_count = nq;
    p->count = n;
    free(tmp);
    return 0;
fail:
    free(tmp);
    mm_prefs_free(p);
    return -1;
}

/* ---- the counts of one ranking ----------------------------------------------- */

typedef struct ranked_pref {
    const mm_pref *p;
    long rank;
} ranked_pref;

static int cmp_jg_level_rank(const void *pa, const void *pb)
{
    const ranked_pref *a = pa, *b = pb;
    int c = strcmp(a->p->jg, b->p->jg);
    if (c) return c;
    c = strcmp(a->p->jsg, b->p->jsg);
    if (c) return c;
    if (a->p->rel_level > b->p->rel_level) return -1;
    if (a->p->rel_level < b->p->rel_level) return 1;
    return (a->rank > b->rank) - (a->rank < b->rank);
}

typedef struct counts_buf {
    mm_prefs_counts c;
    ranked_pref *rp;
    mm_prefs_ec *ecs;
    long *ranks;
    unsigned char *pa;
    double *rel;
} counts_buf;

static void counts_free(counts_buf *b)
{
    free(b->c.jgs);
    free(b->c.ca);
    free(b->rp);
    free(b->ecs);
    free(b->ranks);
    free(b->pa);
    free(b->rel);
}

/* One preference, the document at rank `better` over the one at rank `worse`
 * (ranks among the judged documents; the first num_judged_ret are retrieved):
 * the count array and the JG's fulfilled / possible / not-occurring counts. */
static void count_pref(mm_prefs_jg *jg, mm_prefs_counts *c, long better, long worse)
{
    long njr = c->num_judged_ret;
    c->ca[better * c->num_judged + worse]++;
    if (better < njr && worse < njr) {
        if (better < worse)
            jg->ful_ret++;
        else
            jg->poss_ret++;
    } else if (better < njr)
        jg->ful_imp++;
    else if (worse < njr)
        jg->poss_imp++;
    else
        jg->poss_notoccur++;
}

/* One JG given as equivalence classes (form_prefs_counts.c add_ec_pref_to_jg). */
static int ec_counts(mm_prefs_jg *jg, mm_prefs_counts *c, const char *qid, mm_error *err)
{
    long njr = c->num_judged_ret;
    for (size_t e1 = 0; e1 < jg->num_ecs; e1++) {
        const mm_prefs_ec *a = &jg->ecs[e1];
        long ret = 0;
        while (ret < a->n && a->ranks[ret] < njr) ret++;
        if (a->rel_level > 0.0) {
            jg->num_rel_ret += ret;
            jg->num_rel += a->n;
        } else {
            jg->num_nonrel_ret += ret;
            jg->num_nonrel += a->n;
        }
        for (size_t e2 = e1 + 1; e2 < jg->num_ecs; e2++) {
            const mm_prefs_ec *b = &jg->ecs[e2];
            for (long x = 0; x < a->n; x++)
                for (long y = 0; y < b->n; y++) {
                    long r1 = a->ranks[x], r2 = b->ranks[y];
                    if (r1 == r2)
                        return mm_fail(err, MM_ERR_MISMATCH,
                                       "query '%s': a document has two rel_levels in one "
                                       "judgment sub-group",
                                       qid);
                    count_pref(jg, c, r1, r2);
                }
        }
    }
    jg->poss_ret += jg->ful_ret;
    jg->poss_imp += jg->ful_imp;
    return 0;
}

/* One JG with several sub-groups: the preference array, closed under
 * transitivity (form_jg_pa, add_transitives, add_pa_pref_to_jg). */
static int pa_counts(mm_prefs_jg *jg, const ranked_pref *rp, size_t n, mm_prefs_counts *c,
                     const char *qid, mm_error *err)
{
    long nj = c->num_judged, njr = c->num_judged_ret;
    unsigned char *a = jg->pa;
    for (long i = 0; i < nj; i++) jg->rel_array[i] = -1.0;
    for (size_t i = 0; i < n; i++) {
        double cur = jg->rel_array[rp[i].rank], lv = rp[i].p->rel_level;
        if ((cur > 0.0 && lv == 0.0) || (cur == 0.0 && lv > 0.0))
            return mm_fail(err, MM_ERR_MISMATCH,
                           "query '%s': doc '%s' has both 0 and non-0 rel_level in judgment "
                           "group '%s'",
                           qid, rp[i].p->docno, rp[i].p->jg);
        jg->rel_array[rp[i].rank] = lv;
        size_t j = i + 1;
        while (j < n && strcmp(rp[i].p->jsg, rp[j].p->jsg) == 0 &&
               rp[i].p->rel_level == rp[j].p->rel_level)
            j++;
        for (; j < n && strcmp(rp[i].p->jsg, rp[j].p->jsg) == 0; j++)
            a[rp[i].rank * nj + rp[j].rank] = 1;
    }
    /* reflexive-transitive closure (Warshall; trec_eval squares the matrix
     * until it stops changing: the same relation), then no diagonal */
    for (long i = 0; i < nj; i++) a[i * nj + i] = 1;
    for (long k = 0; k < nj; k++)
        for (long i = 0; i < nj; i++)
            if (a[i * nj + k])
                for (long j = 0; j < nj; j++) a[i * nj + j] |= a[k * nj + j];
    for (long i = 0; i < nj; i++) a[i * nj + i] = 0;
    for (long i = 0; i < nj; i++)
        for (long j = i + 1; j < nj; j++)
            if (a[i * nj + j] && a[j * nj + i])
                return mm_fail(err, MM_ERR_MISMATCH,
                               "query '%s': inconsistent preferences in judgment group '%s' "
                               "(a cycle)",
                               qid, rp[0].p->jg);
    for (long i = 0; i < nj; i++) {
        double rl = jg->rel_array[i];
        if (rl > 0.0) {
            jg->num_rel++;
            if (i < njr) jg->num_rel_ret++;
        } else if (rl == 0.0) {
            jg->num_nonrel++;
            if (i < njr) jg->num_nonrel_ret++;
        }
    }
    for (long i = 0; i < nj; i++)
        for (long j = 0; j < nj; j++) {
            if (a[i * nj + j]) count_pref(jg, c, i, j);
        }
    jg->poss_ret += jg->ful_ret;
    jg->poss_imp += jg->ful_imp;
    return 0;
}

static int cmp_long(const void *pa, const void *pb)
{
    long a = *(const long *)pa, b = *(const long *)pb;
    return (a > b) - (a < b);
}

/* docnos: the ranking after -M, in order. */
static int form_counts(const mm_prefs *p, size_t qi, const char *const *docnos, long n,
                       counts_buf *b, mm_error *err)
{
    const mm_prefs_query *pq = &p->queries[qi];
    const mm_pref *pr = p->prefs + pq->first;
    size_t np = pq->count;
    memset(b, 0, sizeof *b);
    /* distinct judged docnos (prefs are sorted by docno) */
    long nd = 0;
    long *doc_of = xmalloc(np * sizeof *doc_of); /* pref -> distinct doc index */
    long *rank_of = xmalloc(np * sizeof *rank_of);
    b->rp = xmalloc(np * sizeof *b->rp);
    long *first_pref = xmalloc(np * sizeof *first_pref);
    for (size_t i = 0; i < np; i++) {
        if (i == 0 || strcmp(pr[i].docno, pr[i - 1].docno) != 0) first_pref[nd++] = (long)i;
        doc_of[i] = nd - 1;
    }
    for (long d = 0; d < nd; d++) rank_of[d] = -1;
    long njr = 0;
    for (long i = 0; i < n; i++) {
        long lo = 0, hi = nd;
        while (lo < hi) {
            long mid = lo + (hi - lo) / 2;
            int c = strcmp(pr[first_pref[mid]].docno, docnos[i]);
            if (c == 0) {
                lo = mid;
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < nd && strcmp(pr[first_pref[lo]].docno, docnos[i]) == 0 && rank_of[lo] < 0)
            rank_of[lo] = njr++;
    }
    long next = njr;
    for (long d = 0; d < nd; d++)
        if (rank_of[d] < 0) rank_of[d] = next++;
    free(first_pref);
    b->c.num_judged = nd;
    b->c.num_judged_ret = njr;
    for (size_t i = 0; i < np; i++) b->rp[i] = (ranked_pref){&pr[i], rank_of[doc_of[i]]};
    free(doc_of);
    free(rank_of);
    doc_of = rank_of = NULL;
    qsort(b->rp, np, sizeof *b->rp, cmp_jg_level_rank);

    size_t njg = 0;
    for (size_t i = 0; i < np; i++) njg += i == 0 || strcmp(b->rp[i].p->jg, b->rp[i - 1].p->jg);
    size_t nj = (size_t)nd; /* <= np: the squares below are input-sized */
    if (nj * nj > PREFS_MAX_CELLS) {
        mm_fail(err, MM_ERR_LIMIT,
                "%s: query '%s': %zu judged documents need %zu preference cells, above the "
                "limit of %zu",
                p->name, pq->qid, nj, nj * nj, PREFS_MAX_CELLS);
        goto fail;
    }
    b->c.jgs = xcalloc(njg, sizeof *b->c.jgs);
    b->ecs = xcalloc(np, sizeof *b->ecs);
    b->ranks = xmalloc(np * sizeof *b->ranks);
    b->c.ca = calloc(nj ? nj * nj : 1, sizeof *b->c.ca);
    if (!b->c.ca) goto nomem;
    b->c.num_jgs = njg;
    size_t start = 0, g = 0, ec_used = 0;
    while (start < np) {
        size_t end = start + 1;
        while (end < np && strcmp(b->rp[end].p->jg, b->rp[start].p->jg) == 0) end++;
        size_t nsub = 1;
        for (size_t i = start + 1; i < end; i++)
            nsub += strcmp(b->rp[i].p->jsg, b->rp[i - 1].p->jsg) != 0;
        mm_prefs_jg *jg = &b->c.jgs[g++];
        if (nsub > 1) {
            if (!b->pa) {
                if (nj * nj > PREFS_MAX_CELLS / njg) {
                    mm_fail(err, MM_ERR_LIMIT,
                            "%s: query '%s': %zu judgment groups of %zu judged documents need "
                            "more than %zu preference cells",
                            p->name, pq->qid, njg, nj, PREFS_MAX_CELLS);
                    goto fail;
                }
                b->pa = malloc(njg * nj * nj);
                if (!b->pa) goto nomem;
                b->rel = xmalloc(njg * nj * sizeof *b->rel);
            }
            jg->pa = b->pa + (g - 1) * nj * nj;
            jg->rel_array = b->rel + (g - 1) * nj;
            memset(jg->pa, 0, nj * nj);
            if (pa_counts(jg, b->rp + start, end - start, &b->c, pq->qid, err) < 0) goto fail;
        } else {
            jg->ecs = b->ecs + ec_used;
            for (size_t i = start; i < end; i++) {
                if (i == start || b->rp[i].p->rel_level != b->rp[i - 1].p->rel_level) {
                    mm_prefs_ec *e = &b->ecs[ec_used++];
                    e->rel_level = b->rp[i].p->rel_level;
                    e->ranks = b->ranks + i;
                    jg->num_ecs++;
                }
                mm_prefs_ec *e = &b->ecs[ec_used - 1];
                e->ranks[e->n++] = b->rp[i].rank;
            }
            for (size_t e = 0; e < jg->num_ecs; e++)
                qsort(jg->ecs[e].ranks, (size_t)jg->ecs[e].n, sizeof(long), cmp_long);
            if (ec_counts(jg, &b->c, pq->qid, err) < 0) goto fail;
        }
        start = end;
    }
    return 0;
nomem:
    mm_fail(err, MM_ERR_NOMEM, "%s: query '%s': out of memory for the preference matrices of %zu "
            "judged documents", p->name, pq->qid, (size_t)nd);
fail:
    free(doc_of);
    free(rank_of);
    counts_free(b);
    return -1;
}

/* ---- the run ------------------------------------------------------------------- */

/* trec_eval's order for preferences: score descending, docno ascending */
static int cmp_pref_ranked(const void *pa, const void *pb)
{
    const trec_ranked *a = pa, *b = pb;
    if (a->score > b->score) return -1;
    if (a->score < b->score) return 1;
    return strcmp(a->docno, b->docno);
}

static int evaluate_loaded(const mm_prefs *p, trec_run run, const mm_eval_opts *opts,
                           const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                           int *exit_status);

int mm_prefs_evaluate(const mm_prefs *p, const char *run_path, const mm_eval_opts *opts,
                      const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                      int *exit_status)
{
    memset(res, 0, sizeof *res);
    trec_run run;
    if (trec_run_load(&run, run_path, err) < 0) {
        *exit_status = err->kind == MM_ERR_MISMATCH ? MM_EVAL_EXIT_MEASURE : MM_EVAL_EXIT_INPUT;
        return -1;
    }
    return evaluate_loaded(p, run, opts, set, res, err, exit_status);
}

int mm_prefs_evaluate_reader(const mm_prefs *p, trec_reader *r, const mm_eval_opts *opts,
                             const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                             int *exit_status)
{
    memset(res, 0, sizeof *res);
    trec_run run;
    if (trec_run_load_reader(&run, r, err) < 0) {
        *exit_status = err->kind == MM_ERR_MISMATCH ? MM_EVAL_EXIT_MEASURE : MM_EVAL_EXIT_INPUT;
        return -1;
    }
    return evaluate_loaded(p, run, opts, set, res, err, exit_status);
}

/* takes ownership of run */
static int evaluate_loaded(const mm_prefs *p, trec_run run, const mm_eval_opts *opts,
                           const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                           int *exit_status)
{
    if (run.line_count == 0) { /* trec_eval: "Cannot read results file" */
        *exit_status = MM_EVAL_EXIT_INPUT;
        mm_fail(err, MM_ERR_MALFORMED, "%s: empty file: no results", run.name);
        trec_run_free(&run);
        return -1;
    }
    size_t nq = p->query_count;
    res->query_count = nq;
    res->qid = xcalloc(nq, sizeof *res->qid);
    res->values = xcalloc(nq * set->nvalues + 1, sizeof *res->values);
    res->missing = xcalloc(nq, sizeof *res->missing);
    res->label = xcalloc(nq, sizeof *res->label);
    res->top1 = xcalloc(nq, sizeof *res->top1);
    res->num_rel_any = xcalloc(nq, sizeof *res->num_rel_any);
    res->runid = run.tag ? xstrdup(run.tag) : NULL;
    const char **docs = xmalloc((run.line_count + 1) * sizeof *docs);
    trec_ranked *items = xmalloc((run.line_count + 1) * sizeof *items);
    int rc = -1;
    *exit_status = MM_EVAL_EXIT_INPUT;
    size_t scored = 0;
    for (size_t qi = 0; qi < nq; qi++) {
        res->qid[qi] = p->queries[qi].qid;
        long ri = trec_run_find_query(&run, p->queries[qi].qid);
        long n = 0;
        if (ri < 0) {
            if (!opts->complete_rel_info) {
                *exit_status = MM_EVAL_EXIT_MEASURE;
                res->partial = true;
                res->partial_count = qi;
                mm_fail(err, MM_ERR_MISMATCH,
                        "%s: query '%s' is in the preferences but not in the run (use -c to "
                        "score it as an empty ranking)",
                        run.name, p->queries[qi].qid);
                goto done;
            }
            res->missing[qi] = true;
        } else {
            const trec_run_query *rq = &run.queries[ri];
            memcpy(items, rq->items, rq->count * sizeof *items);
            qsort(items, rq->count, sizeof *items, cmp_pref_ranked);
            n = (long)rq->count;
            if (n > opts->max_docs_per_topic) n = opts->max_docs_per_topic;
            for (long i = 0; i < n; i++) docs[i] = items[i].docno;
        }
        counts_buf b;
        if (form_counts(p, qi, docs, n, &b, err) < 0) {
            *exit_status = MM_EVAL_EXIT_MEASURE;
            res->partial = true;
            res->partial_count = qi;
            goto done;
        }
        mm_query_rels q = {0};
        q.qid = p->queries[qi].qid;
        q.num_ret = n;
        q.missing = res->missing[qi];
        q.prefs = &b.c;
        q.jgs = &q;
        q.num_jgs = 1;
        double *v = res->values + qi * set->nvalues;
        for (size_t k = 0; k < set->count; k++) {
            const mm_measure *m = &set->m[k];
            if (m->def->calc) m->def->calc(m, opts, &q, v + m->offset);
        }
        counts_free(&b);
        scored++;
    }
    if (scored == 0) {
        *exit_status = MM_EVAL_EXIT_NO_QUERIES;
        mm_fail(err, MM_ERR_MISMATCH, "%s: no queries with both results and preferences",
                run.name);
        goto done;
    }
    rc = 0;
done:
    free(docs);
    free(items);
    trec_run_free(&run);
    if (rc < 0 && !res->partial) mm_eval_result_free(res, set);
    return rc;
}

/* ---- what the all_prefs measures add up (lib/eval/measures/m_prefs_*.c) -- */

static void prefs_ful_poss(const mm_prefs_jg *g, int which, long *ful, long *poss)
{
    *ful += g->ful_ret;
    *poss += g->poss_ret;
    if (which & MM_PREFS_IMP) {
        *ful += g->ful_imp;
        *poss += g->poss_imp;
    }
    if (which & MM_PREFS_NOTOCCUR) *poss += g->poss_notoccur;
}

/* prefs_simp*: fulfilled / possible, counts summed over the JGs */
void mm_prefs_simp(const mm_query_rels *q, int which, double *v)
{
    long ful = 0, poss = 0;
    for (size_t i = 0; q->prefs && i < q->prefs->num_jgs; i++) prefs_ful_poss(&q->prefs->jgs[i], which, &ful, &poss);
    if (poss) v[0] = (double)ful / (double)poss;
}

/* prefs_avgjg*: fulfilled / possible per JG, averaged over the JGs */
void mm_prefs_avgjg(const mm_query_rels *q, int which, double *v)
{
    double sum = 0.0;
    for (size_t i = 0; q->prefs && i < q->prefs->num_jgs; i++) {
        long ful = 0, poss = 0;
        prefs_ful_poss(&q->prefs->jgs[i], which, &ful, &poss);
        if (poss) sum += (double)ful / (double)poss;
    }
    if (sum > 0.0) v[0] = sum / (double)q->prefs->num_jgs;
}

/* prefs_pair*: per pair of docs with a preference in some JG, the share of
 * JGs preferring the higher-ranked one, averaged over pairs; pairs with
 * neither doc retrieved count 0 (prefs_pair) or are left out */
void mm_prefs_pair(const mm_query_rels *q, int which, double *v)
{
    const mm_prefs_counts *c = q->prefs;
    if (!c) return;
    long nj = c->num_judged, njr = c->num_judged_ret, num_pairs = 0;
    double sum = 0.0;
#define CA(i, j) ((double)c->ca[(i) * nj + (j)])
    for (long i = 0; i < njr; i++)
        for (long j = i + 1; j < njr; j++)
            if (CA(i, j) || CA(j, i)) {
                num_pairs++;
                sum += CA(i, j) / (CA(i, j) + CA(j, i));
            }
    if (which & MM_PREFS_IMP)
        for (long i = 0; i < njr; i++)
            for (long j = njr; j < nj; j++)
                if (CA(i, j) || CA(j, i)) {
                    num_pairs++;
                    sum += CA(i, j) / (CA(i, j) + CA(j, i));
                }
    if (which & MM_PREFS_NOTOCCUR)
        for (long i = njr; i < nj; i++)
            for (long j = i + 1; j < nj; j++)
                if (CA(i, j) || CA(j, i)) num_pairs++;
#undef CA
    if (num_pairs) v[0] = sum / (double)num_pairs;
}

/* prefs_avgjg_Rnonrel*: as prefs_avgjg, but as if each JG had exactly R
 * non-relevant docs (m_prefs_avgjg_Rnonrel.c and _ret.c, kept as written,
 * including which classes their recount visits). */
static void prefs_recount(const mm_prefs_jg *g, const mm_prefs_counts *c, bool ret_only, long *rf,
                    long *rp)
{
    long ful = 0, poss = 0, njr = c->num_judged_ret;
    if (g->num_ecs > 0) {
        /* trec_eval takes the first R (or R retrieved) docs of the last class as
         * the non-relevant ones; when negative rel_levels make that class
         * smaller than R it reads past it (undefined there): we stop at its end */
        long n_nonrel = ret_only ? g->num_rel_ret : g->num_rel;
        if (n_nonrel > g->ecs[g->num_ecs - 1].n) n_nonrel = g->ecs[g->num_ecs - 1].n;
        const long *nonrel = g->ecs[g->num_ecs - 1].ranks;
        for (size_t e1 = 0; e1 < g->num_ecs; e1++)
            for (size_t e2 = e1 + 1; e2 + 1 < g->num_ecs; e2++)
                for (long x = 0; x < g->ecs[e1].n; x++) {
                    long r1 = g->ecs[e1].ranks[x];
                    if (ret_only && r1 >= njr) break;
                    for (long y = 0; y < g->ecs[e2].n; y++) {
                        long r2 = g->ecs[e2].ranks[y];
                        if (ret_only && r2 >= njr) break;
                        if (r1 < r2 && (ret_only || r1 < njr))
                            ful++;
                        else
                            poss++;
                    }
                }
        for (size_t e1 = 0; e1 < g->num_ecs; e1++)
            for (long x = 0; x < g->ecs[e1].n; x++) {
                long r1 = g->ecs[e1].ranks[x];
                if (ret_only && r1 >= njr) break;
                for (long y = 0; y < n_nonrel; y++) {
                    long r2 = nonrel[y];
                    if (ret_only && r2 >= njr) break;
                    if (r1 < r2 && (ret_only || r1 < njr))
                        ful++;
                    else
                        poss++;
                }
            }
    } else {
        long nj = c->num_judged, seen = 0, i, j;
        const unsigned char *a = g->pa;
        long scan = ret_only ? njr : nj;
        for (i = 0; i < scan; i++)
            if (g->rel_array[i] == 0.0 && ++seen == g->num_rel + 1) break;
        long first_discarded = i;
#define SKIP(k) ((k) >= first_discarded && g->rel_array[k] == 0.0)
        for (i = 0; i < njr; i++) {
            if (SKIP(i)) continue;
            for (j = 0; j < i; j++)
                if (!SKIP(j) && a[i * nj + j]) poss++;
            for (j = i + 1; j < njr; j++)
                if (!SKIP(j) && a[i * nj + j]) ful++;
            if (!ret_only)
                for (j = njr; j < nj; j++)
                    if (!SKIP(j) && a[i * nj + j]) ful++;
        }
        if (!ret_only)
            for (i = njr; i < nj; i++) {
                if (SKIP(i)) continue;
                for (j = 0; j < nj; j++)
                    if (!SKIP(j) && a[i * nj + j]) poss++;
            }
#undef SKIP
    }
    *rf = ful;
    *rp = poss + ful;
}

void mm_prefs_avgjg_rnonrel(const mm_query_rels *q, bool ret_only, double *v)
{
    const mm_prefs_counts *c = q->prefs;
    if (!c) return;
    double sum = 0.0;
    for (size_t i = 0; i < c->num_jgs; i++) {
        const mm_prefs_jg *g = &c->jgs[i];
        long R = ret_only ? g->num_rel_ret : g->num_rel;
        long N = ret_only ? g->num_nonrel_ret : g->num_nonrel;
        long ful, poss;
        if (R >= N) {
            ful = g->ful_ret;
            poss = g->poss_ret;
            if (!ret_only) {
                ful += g->ful_imp;
                poss += g->poss_imp + g->poss_notoccur;
            }
            ful += g->num_rel_ret * (R - N);
            poss += g->num_rel * (R - N);
        } else
            prefs_recount(g, c, ret_only, &ful, &poss);
        sum += (double)ful / (double)poss;
    }
    if (sum > 0.0) v[0] = sum / (double)c->num_jgs;
}
