/* evaluate.c — scoring a run against qrels, query by query, with trec_eval
 * 10.0's semantics (form_res_rels.c and the main loop of trec_eval.c):
 *  - each query's documents are ordered by score descending, then docno
 *    descending (trec_compare_ranked); file order and the rank column play no
 *    part;
 *  - -M keeps the top M of that order; duplicates are looked for only there;
 *  - a retrieved doc's value is its qrels rel (>= 0), MM_RELVALUE_NONPOOL if
 *    the query's qrels do not list it, MM_RELVALUE_UNJUDGED if they list it
 *    with a negative rel; -J drops both kinds;
 *  - queries are the qrels queries in qid strcmp order; run queries without
 *    qrels are ignored; a qrels query absent from the run is fatal (10.0),
 *    or with -c is scored against a one-document ranking of an unjudged doc
 *    with num_ret, utility, relstring, unj and rbp_resid then zeroed.
 *
 * Memory: the run is read as a stream. Lines of one query normally come
 * together; such a block is scored as soon as it ends and forgotten, so the
 * memory used is one query's documents plus the per-query values. If a query
 * comes back later in the file (its lines are split), its first score is
 * discarded and, for a regular file, a second pass collects all its lines;
 * input that cannot be re-read (a pipe) is kept in memory per query instead.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/xalloc.h"
#include "eval/measures.h"

/* ---- one query's documents as read ----------------------------------------- */

typedef struct doc_entry {
    double score;
    size_t off; /* docno offset in the list's arena */
    size_t len;
} doc_entry;

typedef struct doc_list {
    doc_entry *e;
    size_t n, cap;
    char *arena;
    size_t alen, acap;
} doc_list;

static void doc_list_add(doc_list *l, double score, const char *docno, size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->e = xrealloc(l->e, l->cap * sizeof *l->e);
    }
    if (l->alen + len + 1 > l->acap) {
        size_t ncap = l->acap ? l->acap : 4096;
        while (l->alen + len + 1 > ncap) ncap *= 2;
        l->arena = xrealloc(l->arena, ncap);
        l->acap = ncap;
    }
    memcpy(l->arena + l->alen, docno, len + 1);
    l->e[l->n++] = (doc_entry){score, l->alen, len};
    l->alen += len + 1;
}

static void doc_list_clear(doc_list *l) { l->n = l->alen = 0; }

static void doc_list_free(doc_list *l)
{
    if (!l) return;
    free(l->e);
    free(l->arena);
    memset(l, 0, sizeof *l);
}

/* ---- scratch space reused across queries ----------------------------------- */

typedef struct scratch {
    trec_ranked *items;
    uint64_t *hash;
    size_t *len;
    long *rel;
    const char **docno;
    size_t cap;
    mm_strmap seen; /* duplicate detection: the kept docnos of one query */
} scratch;

/* Room for a ranking of n documents (n is data already in memory). */
static void scratch_reserve(scratch *s, size_t n)
{
    if (n > s->cap) {
        s->items = xrealloc(s->items, n * sizeof *s->items);
        s->hash = xrealloc(s->hash, n * sizeof *s->hash);
        s->len = xrealloc(s->len, n * sizeof *s->len);
        s->rel = xrealloc(s->rel, n * sizeof *s->rel);
        s->docno = xrealloc(s->docno, n * sizeof *s->docno);
        s->cap = n;
    }
}

static void scratch_free(scratch *s)
{
    free(s->items);
    free(s->hash);
    free(s->len);
    free(s->rel);
    free(s->docno);
    mm_strmap_free(&s->seen);
}

/* ---- the evaluation of one ranking ------------------------------------------- */

/* R, the relevance levels and the class label of query qi. */
static void fill_judgments(const trec_qrels *qrels, size_t qi, const mm_eval_opts *opts,
                           mm_query_rels *q)
{
    const trec_qrels_query *qq = &qrels->queries[qi];
    q->qid = qq->qid;
    q->rel_levels = qq->rel_levels;
    q->num_rel_levels = qq->num_rel_levels;
    q->num_rel = 0;
    for (long lv = opts->relevance_level > 0 ? opts->relevance_level : 0; lv < qq->num_rel_levels;
         lv++)
        q->num_rel += qq->rel_levels[lv];
    /* the class of the query: its relevant doc with the highest rel, ties to
     * the smallest docno (judgments are sorted by docno) */
    long best = -1;
    for (size_t j = qq->first; j < qq->first + qq->count; j++)
        if (qrels->rel[j] >= opts->relevance_level && (best < 0 || qrels->rel[j] > qrels->rel[best]))
            best = (long)j;
    q->label = best >= 0 ? qrels->docno[best] : NULL;
}

/* -R qrels_jg: the ranking docnos[0..n) as judged by each judgment group of
 * query qi (trec_eval form_res_rels_jg.c: -J drops, per group, the documents
 * that group did not judge). Returns the groups (malloc'd, with their rel and
 * docno arrays in *bufs) or NULL when the qrels have no groups (then the
 * query is its own single group). */
static mm_query_rels *judgment_groups(const trec_qrels *qrels, size_t qi,
                                      const char *const *docnos, size_t n,
                                      const mm_eval_opts *opts, const mm_query_rels *base,
                                      void **bufs)
{
    const trec_qrels_query *qq = &qrels->queries[qi];
    *bufs = NULL;
    if (!qrels->judgment_groups || qq->num_groups == 0) return NULL;
    size_t ng = qq->num_groups, nn = n ? n : 1;
    mm_query_rels *g = xcalloc(ng, sizeof *g);
    char *buf = xmalloc(ng * nn * (sizeof(long) + sizeof(char *)));
    long *rels = (long *)buf;
    const char **docs = (const char **)(buf + ng * nn * sizeof(long));
    for (size_t k = 0; k < ng; k++) {
        const trec_qrels_group *gr = &qq->groups[k];
        mm_query_rels *jq = &g[k];
        *jq = *base;
        jq->rel = rels + k * nn;
        jq->docno = docs + k * nn;
        jq->num_ret = jq->num_rel_ret = jq->num_nonpool = jq->num_unjudged_in_pool = 0;
        long *rl = rels + k * nn;
        const char **dl = docs + k * nn;
        for (size_t i = 0; i < n; i++) {
            long j = trec_qrels_find_doc_in_group(qrels, qi, k, docnos[i]);
            long v = j < 0 ? MM_RELVALUE_NONPOOL
                           : qrels->rel[j] < 0 ? MM_RELVALUE_UNJUDGED : qrels->rel[j];
            if (opts->judged_docs_only && v < 0) continue;
            if (v == MM_RELVALUE_NONPOOL)
                jq->num_nonpool++;
            else if (v == MM_RELVALUE_UNJUDGED)
                jq->num_unjudged_in_pool++;
            else if (v >= opts->relevance_level)
                jq->num_rel_ret++;
            rl[jq->num_ret] = v;
            dl[jq->num_ret] = docnos[i];
            jq->num_ret++;
        }
        jq->rel_levels = gr->rel_levels;
        jq->num_rel_levels = gr->num_rel_levels;
        jq->num_rel = 0;
        for (long lv = opts->relevance_level > 0 ? opts->relevance_level : 0;
             lv < gr->num_rel_levels; lv++)
            jq->num_rel += gr->rel_levels[lv];
        jq->jgs = jq;
        jq->num_jgs = 1;
    }
    *bufs = buf;
    return g;
}

static void run_measures(const mm_measure_set *set, const mm_eval_opts *opts,
                         const mm_query_rels *q_in, double *values, char **strings, char **top1)
{
    mm_query_rels self = *q_in;
    const mm_query_rels *q = &self;
    if (!self.jgs) {
        self.jgs = &self;
        self.num_jgs = 1;
    }
    memset(values, 0, set->nvalues * sizeof *values);
    for (size_t k = 0; k < set->count; k++) {
        const mm_measure *m = &set->m[k];
        if (m->def->calc) m->def->calc(m, opts, q, values + m->offset);
        if (m->def->calc_string && strings) {
            free(strings[k]);
            strings[k] = m->def->calc_string(m, opts, q);
        }
        /* trec_eval's -c clean-up matches row names: exactly the measure's
         * name (so "utility_2,-1,0,0" keeps its placeholder value), or any
         * row of unj ("unj_5"...) */
        if (q->missing && m->def->zero_if_missing)
            for (size_t r = 0; r < m->nvalues; r++)
                if (m->def->params == MM_PARAM_CUTOFFS ||
                    strcmp(m->names[r], m->def->name) == 0)
                    values[m->offset + r] = 0.0;
    }
    if (top1) {
        free(*top1);
        *top1 = !q->missing && q->num_ret > 0 ? xstrdup(q->docno[0]) : NULL;
    }
}

/* hashes and lens: each docno's mm_hash_bytes and strlen, or NULL. */
static void evaluate_ranked(const trec_qrels *qrels, size_t qi, const char *const *docnos,
                            const uint64_t *hashes, const size_t *lens, size_t n,
                            const mm_eval_opts *opts,
                            const mm_measure_set *set, bool missing, double *values,
                            char **strings, char **top1, long *rel_buf, const char **doc_buf)
{
    const trec_qrels_query *qq = &qrels->queries[qi];
    mm_query_rels q = {0};
    q.qid = qq->qid;
    q.missing = missing;
    long num_ret = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(docnos[i]);
        long j = hashes ? trec_qrels_find_doc_hashed(qrels, qi, docnos[i], len, hashes[i])
                        : trec_qrels_find_doc(qrels, qi, docnos[i], len);
        long v = j < 0 ? MM_RELVALUE_NONPOOL : qrels->rel[j] < 0 ? MM_RELVALUE_UNJUDGED : qrels->rel[j];
        if (opts->judged_docs_only && v < 0) continue; /* -J: order of the rest is kept */
        rel_buf[num_ret] = v;
        doc_buf[num_ret] = docnos[i];
        num_ret++;
    }
    q.num_ret = num_ret;
    q.rel = rel_buf;
    q.docno = doc_buf;
    for (long i = 0; i < num_ret; i++) {
        if (rel_buf[i] == MM_RELVALUE_NONPOOL)
            q.num_nonpool++;
        else if (rel_buf[i] == MM_RELVALUE_UNJUDGED)
            q.num_unjudged_in_pool++;
        else if (rel_buf[i] >= opts->relevance_level)
            q.num_rel_ret++;
    }
    fill_judgments(qrels, qi, opts, &q);
    void *gbuf;
    mm_query_rels *groups = judgment_groups(qrels, qi, docnos, n, opts, &q, &gbuf);
    if (groups) {
        q.jgs = groups;
        q.num_jgs = qrels->queries[qi].num_groups;
    }
    run_measures(set, opts, &q, values, strings, top1);
    free(groups);
    free(gbuf);
}

void mm_evaluate_query(const trec_qrels *qrels, size_t qi, const char *const *docnos, size_t n,
                       const mm_eval_opts *opts, const mm_measure_set *set, bool missing,
                       double *values, char **strings, char **top1)
{
    long *rel = xmalloc((n ? n : 1) * sizeof *rel);
    const char **doc = xmalloc((n ? n : 1) * sizeof *doc);
    evaluate_ranked(qrels, qi, docnos, NULL, NULL, n, opts, set, missing, values, strings, top1, rel, doc);
    free(rel);
    free(doc);
}

/* ---- the run ---------------------------------------------------------------------- */

typedef struct evaluator {
    const trec_qrels *qrels;
    const mm_eval_opts *opts;
    const mm_measure_set *set;
    mm_eval_result *res;
    unsigned char *status; /* per qrels query: 0 unseen, 1 scored, 2 split */
    scratch s;
    long max_num_ret;
} evaluator;

enum { Q_UNSEEN = 0, Q_DONE = 1, Q_SPLIT = 2 };

/* Sorts, cuts at -M, checks duplicates and scores one query's documents. */
static int score_list(evaluator *ev, size_t qi, doc_list *l, const char *run_name, mm_error *err,
                      int *exit_status)
{
    scratch *s = &ev->s;
    scratch_reserve(s, l->n ? l->n : 1);
    for (size_t i = 0; i < l->n; i++)
        s->items[i] = (trec_ranked){l->e[i].score, l->arena + l->e[i].off};
    trec_sort_ranked(s->items, l->n);
    size_t n = l->n;
    if ((long)n > ev->opts->max_docs_per_topic) n = (size_t)ev->opts->max_docs_per_topic;

    /* duplicates among the kept documents; report the smallest, as trec_eval
     * (it sorts by docno and stops at the first adjacent pair) */
    mm_strmap_clear(&s->seen);
    const char *dup = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *d = s->items[i].docno;
        size_t len = strlen(d);
        uint64_t h = mm_hash_bytes(d, len); /* also the qrels lookup's */
        s->len[i] = len;
        s->hash[i] = h;
        s->docno[i] = d;
        bool added;
        if (mm_strmap_add_hashed(&s->seen, d, len, h, &added) < 0) {
            *exit_status = MM_EVAL_EXIT_INPUT;
            return mm_fail(err, MM_ERR_LIMIT, "%s: query '%s' has more than %u documents",
                           run_name, ev->qrels->queries[qi].qid, UINT32_MAX - 2);
        }
        if (!added && (!dup || strcmp(d, dup) < 0)) dup = d;
    }
    if (dup) {
        *exit_status = MM_EVAL_EXIT_MEASURE;
        return mm_fail(err, MM_ERR_MISMATCH, "%s: duplicate docs: query '%s' retrieves '%s' twice",
                       run_name, ev->qrels->queries[qi].qid, dup);
    }
    mm_eval_result *res = ev->res;
    const mm_measure_set *set = ev->set;
    /* evaluate_ranked filters (-J) s->docno in place: it writes entry k only
     * after reading entry i >= k */
    evaluate_ranked(ev->qrels, qi, s->docno, s->hash, s->len, n, ev->opts, set, false,
                    res->values + qi * set->nvalues,
                    res->strings ? res->strings + qi * set->count : NULL, &res->top1[qi], s->rel,
                    s->docno);
    long kept = (long)n; /* N after -M (before -J) */
    if (kept > ev->max_num_ret) ev->max_num_ret = kept;
    return 0;
}

void mm_eval_result_free(mm_eval_result *res, const mm_measure_set *set)
{
    if (!res) return;
    if (res->strings)
        for (size_t i = 0; i < res->query_count * set->count; i++) free(res->strings[i]);
    if (res->top1)
        for (size_t i = 0; i < res->query_count; i++) free(res->top1[i]);
    free(res->strings);
    free(res->top1);
    free(res->qid);
    free(res->values);
    free(res->missing);
    free(res->label);
    free(res->num_rel_any);
    free(res->runid);
    memset(res, 0, sizeof *res);
}

int mm_evaluate_run(const trec_qrels *qrels, const char *run_path, const mm_eval_opts *opts,
                    const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                    int *exit_status)
{
    memset(res, 0, sizeof *res);
    trec_reader *r = trec_reader_open(run_path, err);
    if (!r) {
        *exit_status = MM_EVAL_EXIT_INPUT;
        return -1;
    }
    int rc = mm_evaluate_reader(qrels, r, opts, set, res, err, exit_status);
    trec_reader_close(r);
    return rc;
}

static void set_tag(mm_eval_result *res, size_t *cap, const char *tag, size_t len)
{
    if (len + 1 > *cap) {
        *cap = len + 64;
        res->runid = xrealloc(res->runid, *cap);
    }
    memcpy(res->runid, tag, len + 1);
}

int mm_evaluate_reader(const trec_qrels *qrels, trec_reader *r, const mm_eval_opts *opts,
                       const mm_measure_set *set, mm_eval_result *res, mm_error *err,
                       int *exit_status)
{
    memset(res, 0, sizeof *res);
    const char *name = trec_reader_name(r);
    size_t nq = qrels->query_count;
    evaluator ev = {qrels, opts, set, res, NULL, {0}, 0};
    doc_list block = {0};
    doc_list *kept = NULL; /* per query, when lines must be kept (split queries) */
    char *cur_qid = NULL;
    size_t cur_qid_len = 0, cur_qid_cap = 0, tag_cap = 0;
    long cur_qi = -1;
    bool have_block = false;
    /* a pipe is copied to a temporary file so that split queries can be
     * re-read; only if that is impossible are all lines kept in memory */
    mm_error spool_err;
    bool retain = !trec_reader_can_rewind(r) && trec_reader_spool(r, &spool_err) < 0;
    bool any_split = false;
    bool deferred = false;
    mm_error deferred_err = {0};
    int deferred_status = 0;
    size_t lines = 0;
    int rc = -1;
    *exit_status = MM_EVAL_EXIT_INPUT;

    res->query_count = nq;
    res->qid = xmalloc((nq ? nq : 1) * sizeof *res->qid);
    res->values = xcalloc(nq * (set->nvalues ? set->nvalues : 1), sizeof *res->values);
    res->missing = xcalloc(nq, sizeof *res->missing);
    res->label = xcalloc(nq, sizeof *res->label);
    res->top1 = xcalloc(nq, sizeof *res->top1);
    res->num_rel_any = xcalloc(nq, sizeof *res->num_rel_any);
    ev.status = xcalloc(nq, 1);
    bool has_strings = false;
    for (size_t k = 0; k < set->count; k++) has_strings |= set->m[k].def->calc_string != NULL;
    if (has_strings) res->strings = xcalloc(nq * set->count, sizeof *res->strings);
    if (retain) kept = xcalloc(nq, sizeof *kept);
    for (size_t i = 0; i < nq; i++) {
        const trec_qrels_query *qq = &qrels->queries[i];
        res->qid[i] = qq->qid;
        for (size_t j = qq->first; j < qq->first + qq->count; j++)
            if (qrels->rel[j] > 0) res->num_rel_any[i]++;
        long best = -1;
        for (size_t j = qq->first; j < qq->first + qq->count; j++)
            if (qrels->rel[j] >= opts->relevance_level &&
                (best < 0 || qrels->rel[j] > qrels->rel[best]))
                best = (long)j;
        res->label[i] = best >= 0 ? qrels->docno[best] : NULL;
    }

    /* pass 1 */
    trec_run_line line;
    int got;
    for (;;) {
        got = trec_read_run_line(r, &line, err);
        if (got < 0) goto done;
        bool same = got == 1 && have_block && line.qid_len == cur_qid_len &&
                    memcmp(line.qid, cur_qid, cur_qid_len) == 0;
        if (!same && have_block && cur_qi >= 0) {
            /* the block of cur_qi ends */
            if (retain) {
                ev.status[cur_qi] = Q_DONE;
            } else if (ev.status[cur_qi] == Q_UNSEEN) {
                /* trec_eval reads the whole run before scoring: a syntax
                 * error further on wins over a duplicate found here, so
                 * keep reading and report it at the end */
                if (!deferred &&
                    score_list(&ev, (size_t)cur_qi, &block, name, &deferred_err, &deferred_status) < 0)
                    deferred = true;
                ev.status[cur_qi] = Q_DONE;
            } else {
                ev.status[cur_qi] = Q_SPLIT;
                any_split = true;
            }
        }
        if (got == 0) break;
        lines++;
        set_tag(res, &tag_cap, line.tag, line.tag_len);
        if (!same) {
            if (line.qid_len + 1 > cur_qid_cap) {
                cur_qid_cap = line.qid_len + 64;
                cur_qid = xrealloc(cur_qid, cur_qid_cap);
            }
            memcpy(cur_qid, line.qid, line.qid_len + 1);
            cur_qid_len = line.qid_len;
            cur_qi = trec_qrels_find_query(qrels, line.qid, line.qid_len);
            have_block = true;
            doc_list_clear(&block);
        }
        if (cur_qi < 0) continue; /* run query without judgments: ignored */
        doc_list *dst = retain ? &kept[cur_qi] : &block;
        doc_list_add(dst, line.score, line.docno, line.docno_len);
    }
    if (deferred) {
        *err = deferred_err;
        *exit_status = deferred_status;
        goto done;
    }
    res->saw_crlf = trec_reader_saw_crlf(r);
    res->saw_bom = trec_reader_saw_bom(r);
    res->crlf_line = trec_reader_crlf_line(r);
    if (lines == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: empty file: no results", name);
        goto done;
    }

    /* pass 2: the queries whose lines were not contiguous */
    if (any_split) {
        kept = xcalloc(nq, sizeof *kept);
        if (trec_reader_rewind(r, err) < 0) goto done;
        while ((got = trec_read_run_line(r, &line, err)) == 1) {
            long qi = trec_qrels_find_query(qrels, line.qid, line.qid_len);
            if (qi < 0 || ev.status[qi] != Q_SPLIT) continue;
            doc_list_add(&kept[qi], line.score, line.docno, line.docno_len);
        }
        if (got < 0) goto done;
    }
    if (kept)
        for (size_t i = 0; i < nq; i++)
            if (ev.status[i] != Q_UNSEEN && (retain || ev.status[i] == Q_SPLIT)) {
                if (score_list(&ev, i, &kept[i], name, err, exit_status) < 0) goto done;
                doc_list_free(&kept[i]);
                ev.status[i] = Q_DONE;
            }

    /* qrels queries the run does not have */
    for (size_t i = 0; i < nq; i++) {
        if (ev.status[i] != Q_UNSEEN) continue;
        if (!opts->complete_rel_info) {
            /* the queries before this one are scored: trec_eval has printed
             * their -q rows when it stops here */
            res->partial = true;
            res->partial_count = i;
            *exit_status = MM_EVAL_EXIT_MEASURE;
            mm_fail(err, MM_ERR_MISMATCH,
                    "%s: query '%s' is in the qrels but not in the run (use -c to score it as "
                    "an empty ranking)",
                    name, qrels->queries[i].qid);
            goto done;
        }
        /* trec_eval 10.0: a one-document ranking of a doc outside the pool;
         * the zero_if_missing measures are then zeroed */
        const char *dummy = "";
        long rel_dummy = MM_RELVALUE_NONPOOL;
        mm_query_rels q = {0};
        fill_judgments(qrels, i, opts, &q);
        q.missing = true;
        q.num_ret = 1;
        q.num_nonpool = 1;
        q.rel = &rel_dummy;
        q.docno = &dummy;
        void *gbuf;
        mm_query_rels *groups = judgment_groups(qrels, i, &dummy, 1, opts, &q, &gbuf);
        if (groups) {
            q.jgs = groups;
            q.num_jgs = qrels->queries[i].num_groups;
        }
        run_measures(set, opts, &q, res->values + i * set->nvalues,
                     res->strings ? res->strings + i * set->count : NULL, &res->top1[i]);
        free(groups);
        free(gbuf);
        res->missing[i] = true;
        ev.status[i] = Q_DONE;
    }
    if (nq == 0) {
        *exit_status = MM_EVAL_EXIT_NO_QUERIES;
        mm_fail(err, MM_ERR_MISMATCH, "%s: no queries with both results and relevance info", name);
        goto done;
    }

    /* first-relevant ranks not found: one past the deepest ranking */
    for (size_t k = 0; k < set->count; k++) {
        const mm_measure *m = &set->m[k];
        if (!m->def->first_rank) continue;
        for (size_t i = 0; i < nq; i++) {
            double *v = &res->values[i * set->nvalues + m->offset];
            if (*v < 0) *v = (double)(ev.max_num_ret + 1);
        }
    }
    rc = 0;
    *exit_status = 0;
done:
    if (kept)
        for (size_t i = 0; i < nq; i++) doc_list_free(&kept[i]);
    free(kept);
    doc_list_free(&block);
    free(cur_qid);
    free(ev.status);
    scratch_free(&ev.s);
    if (rc < 0 && !res->partial) mm_eval_result_free(res, set);
    return rc;
}

/* ---- summaries -------------------------------------------------------------------- */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_label_idx(const void *a, const void *b, void *ctx)
{
    const mm_eval_result *res = ctx;
    const char *x = res->label[*(const size_t *)a], *y = res->label[*(const size_t *)b];
    return strcmp(x, y);
}

double mm_summary_value(const mm_measure_set *set, const mm_eval_result *res,
                        const mm_eval_opts *opts, size_t row, const size_t *idx, size_t n)
{
    const mm_measure *m = mm_measure_of_row(set, row, NULL);
    if (!m) return NAN;
    if (!idx) n = res->query_count;
#define Q(i) (idx ? idx[i] : (i))
#define V(i) (res->values[Q(i) * set->nvalues + row])
    double sum = 0.0;
    switch (m->def->aggregate) {
    case MM_AGG_NUM_Q:
        return (double)n;
    case MM_AGG_SUM:
        if (opts->complete_rel_info && strcmp(m->def->name, "num_rel") == 0) {
            /* trec_eval 10.0 te_calc_avg_num_rel: with -c, all qrels entries
             * with rel > 0, whatever -l says */
            for (size_t i = 0; i < n; i++) sum += (double)res->num_rel_any[Q(i)];
            return sum;
        }
        for (size_t i = 0; i < n; i++) sum += V(i);
        return sum;
    case MM_AGG_MEAN:
        for (size_t i = 0; i < n; i++) sum += V(i);
        return n ? sum / (double)n : 0.0;
    case MM_AGG_GEOMEAN:
        for (size_t i = 0; i < n; i++) sum += log(V(i) > 0.00001 ? V(i) : 0.00001);
        return n ? exp(sum / (double)n) : 0.0;
    case MM_AGG_MEDIAN: {
        if (n == 0) return 0.0;
        double *tmp = xmalloc(n * sizeof *tmp);
        for (size_t i = 0; i < n; i++) tmp[i] = V(i);
        qsort(tmp, n, sizeof *tmp, cmp_dbl);
        double med = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2.0;
        free(tmp);
        return med;
    }
    case MM_AGG_BALANCED: {
        size_t *ix = xmalloc((n ? n : 1) * sizeof *ix);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (res->label[Q(i)]) ix[k++] = Q(i);
        qsort_r(ix, k, sizeof *ix, cmp_label_idx, (void *)res);
        double total = 0.0;
        size_t classes = 0;
        for (size_t a = 0; a < k;) {
            size_t b = a;
            double correct = 0.0;
            while (b < k && strcmp(res->label[ix[b]], res->label[ix[a]]) == 0)
                correct += res->values[ix[b++] * set->nvalues + row];
            total += correct / (double)(b - a);
            classes++;
            a = b;
        }
        free(ix);
        return classes ? total / (double)classes : 0.0;
    }
    case MM_AGG_NONE:
    case MM_AGG_RUNID:
        return NAN;
    }
#undef V
#undef Q
    return NAN;
}
