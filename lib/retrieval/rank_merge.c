/* rank_merge.c — rank_merge of rank.h: partial runs computed against
 * disjoint gallery shards, merged into one run of the k best per query. */
#include "retrieval/rank_out.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "io/trec.h"

/* ---- merging partial runs ------------------------------------------------------ */
typedef struct merge_query {
    char *qid;
    topk_entry *e;
    size_t n, cap;
} merge_query;

typedef struct merge_state {
    merge_query *q;
    size_t nq, cap;
    mm_strmap index; /* qid -> query index (entries in the same order as q) */
    char **chunks; /* string storage */
    size_t nchunks;
    char *cur;
    size_t cur_left;
} merge_state;

static char *merge_strdup(merge_state *M, const char *s, size_t n)
{
    if (n + 1 > M->cur_left) {
        size_t size = n + 1 > 1u << 20 ? n + 1 : 1u << 20;
        char **c = realloc(M->chunks, (M->nchunks + 1) * sizeof *c);
        if (!c) return NULL;
        M->chunks = c;
        if (!(M->cur = malloc(size))) return NULL;
        M->chunks[M->nchunks++] = M->cur;
        M->cur_left = size;
    }
    char *d = M->cur;
    memcpy(d, s, n);
    d[n] = 0;
    M->cur += n + 1;
    M->cur_left -= n + 1;
    return d;
}

static merge_query *merge_find(merge_state *M, const char *qid, size_t len, mm_error *err)
{
    long i = mm_strmap_find(&M->index, qid, len);
    if (i >= 0) return &M->q[i];
    if (M->nq == M->cap) {
        size_t cap = M->cap ? 2 * M->cap : 256;
        merge_query *nqv = realloc(M->q, cap * sizeof *nqv);
        if (!nqv) return mm_fail(err, MM_ERR_NOMEM, "out of memory"), NULL;
        M->q = nqv;
        M->cap = cap;
    }
    merge_query *q = &M->q[M->nq];
    memset(q, 0, sizeof *q);
    if (!(q->qid = merge_strdup(M, qid, len))) return mm_fail(err, MM_ERR_NOMEM, "out of memory"), NULL;
    bool added;
    if (mm_strmap_add(&M->index, q->qid, len, &added) < 0)
        return mm_fail(err, MM_ERR_LIMIT, "more than %u queries", UINT32_MAX - 2), NULL;
    M->nq++;
    return q;
}

/* Keeps at most k entries per query while reading: the list is cut back to
 * its k best whenever it doubles, so memory stays O(queries × k). */
static int merge_trim(merge_query *q, size_t k)
{
    qsort(q->e, q->n, sizeof *q->e, topk_entry_cmp);
    if (q->n > k) q->n = k;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int rank_merge(const char *const *paths, size_t npaths, size_t k, FILE *out, int format,
               const char *tag, mm_error *err)
{
    merge_state M;
    memset(&M, 0, sizeof M);
    outbuf o = {0};
    char *first_tag = NULL;
    int rc = -1;
    if (k == 0) {
        mm_fail(err, MM_ERR_LIMIT, "k must be at least 1");
        goto done;
    }
    for (size_t f = 0; f < npaths; f++) {
        trec_reader *r = trec_reader_open(paths[f], err);
        if (!r) goto done;
        trec_run_line line;
        int lr;
        while ((lr = trec_read_run_line(r, &line, err)) == 1) {
            merge_query *q = merge_find(&M, line.qid, line.qid_len, err);
            if (!q) break;
            if (!first_tag && !tag && !(first_tag = strndup(line.tag, line.tag_len))) {
                mm_fail(err, MM_ERR_NOMEM, "out of memory");
                lr = -1;
                break;
            }
            if (q->n == q->cap) {
                if (q->n >= 2 * k) merge_trim(q, k);
                if (q->n == q->cap) {
                    size_t cap = q->cap ? 2 * q->cap : (k < 16 ? 2 * k : 32);
                    topk_entry *e = realloc(q->e, cap * sizeof *e);
                    if (!e) {
                        mm_fail(err, MM_ERR_NOMEM, "out of memory");
                        lr = -1;
                        break;
                    }
                    q->e = e;
                    q->cap = cap;
                }
            }
            char *doc = merge_strdup(&M, line.docno, line.docno_len);
            if (!doc) {
                mm_fail(err, MM_ERR_NOMEM, "out of memory");
                lr = -1;
                break;
            }
            q->e[q->n++] = (topk_entry){line.score, doc};
        }
        trec_reader_close(r);
        if (lr != 0) goto done;
    }
    if (M.nq == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "no run lines in the input%s", npaths > 1 ? "s" : "");
        goto done;
    }
    if (ob_init(&o, out, OUTBUF_SIZE)) {
        mm_fail(err, MM_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < M.nq; i++) {
        merge_query *q = &M.q[i];
        merge_trim(q, k);
        /* Disjoint shards cannot give a docid twice for one query, and
         * trec_eval refuses a run that does. */
        const char **ids = malloc((q->n ? q->n : 1) * sizeof *ids);
        if (!ids) {
            mm_fail(err, MM_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t a = 0; a < q->n; a++) ids[a] = q->e[a].id;
        qsort(ids, q->n, sizeof *ids, cmp_str);
        for (size_t a = 1; a < q->n; a++)
            if (strcmp(ids[a - 1], ids[a]) == 0) {
                mm_fail(err, MM_ERR_MISMATCH,
                        "query '%s': docid '%s' is in more than one run (are the shards "
                        "overlapping?)", q->qid, ids[a]);
                free(ids);
                goto done;
            }
        free(ids);
        if (write_query(&o, q->qid, q->e, q->n, format, tag ? tag : first_tag, 99, err)) goto done;
    }
    rc = 0;
done:
    if (o.p) {
        mm_error werr;
        if (ob_done(&o, &werr) && rc == 0) {
            *err = werr;
            rc = -1;
        }
    }
    for (size_t i = 0; i < M.nq; i++) free(M.q[i].e);
    free(M.q);
    mm_strmap_free(&M.index);
    for (size_t i = 0; i < M.nchunks; i++) free(M.chunks[i]);
    free(M.chunks);
    free(first_tag);
    return rc;
}
