/* rank_merge.c — rank_merge of rank.h: partial runs computed against
 * disjoint gallery shards, merged into one run of the k best per query. */
#include "retrieval/rank_out.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/strstore.h"
#include "core/xalloc.h"
#include "io/trec.h"

/* ---- merging partial runs ------------------------------------------------------ */
typedef struct merge_query {
    const char *qid;
    size_t qid_len;
    topk_entry *e;
    size_t n, cap;
} merge_query;

typedef struct merge_state {
    merge_query *q;
    size_t nq, cap;
    mm_strmap index;     /* qid -> query index (entries in the same order as q) */
    mm_strstore strings; /* qids and docnos */
    size_t last;         /* query of the previous line + 1 (0: none) */
} merge_state;

static merge_query *merge_find(merge_state *M, const trec_run_line *line, const char *path,
                               mm_error *err)
{
    /* a run's lines come query by query: most lines are the last one's */
    if (M->last) {
        merge_query *q = &M->q[M->last - 1];
        if (q->qid_len == line->qid_len && memcmp(q->qid, line->qid, line->qid_len) == 0) return q;
    }
    bool added;
    long i = mm_strmap_intern(&M->index, &M->strings, line->qid, line->qid_len, &added);
    if (i < 0)
        return mm_fail(err, MM_ERR_LIMIT, "%s:%ld: more than %u queries", path, line->lineno,
                       UINT32_MAX - 2),
               NULL;
    M->last = (size_t)i + 1;
    if (!added) return &M->q[i];
    if (M->nq == M->cap) {
        M->cap = M->cap ? 2 * M->cap : 256;
        M->q = xrealloc(M->q, M->cap * sizeof *M->q);
    }
    merge_query *q = &M->q[M->nq++];
    memset(q, 0, sizeof *q);
    q->qid = M->index.key[i];
    q->qid_len = line->qid_len;
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
            merge_query *q = merge_find(&M, &line, paths[f], err);
            if (!q) {
                lr = -1;
                break;
            }
            if (!first_tag && !tag) first_tag = xstrndup(line.tag, line.tag_len);
            if (q->n == q->cap) {
                if (q->n >= 2 * k) merge_trim(q, k);
                if (q->n == q->cap) {
                    q->cap = q->cap ? 2 * q->cap : (k < 16 ? 2 * k : 32);
                    q->e = xrealloc(q->e, q->cap * sizeof *q->e);
                }
            }
            const char *doc = mm_strstore_add(&M.strings, line.docno, line.docno_len);
            q->e[q->n++] = (topk_entry){line.score, doc};
        }
        trec_reader_close(r);
        if (lr != 0) goto done;
    }
    if (M.nq == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "no run lines in the input%s", npaths > 1 ? "s" : "");
        goto done;
    }
    ob_init(&o, out, OUTBUF_SIZE);
    for (size_t i = 0; i < M.nq; i++) {
        merge_query *q = &M.q[i];
        merge_trim(q, k);
        /* Disjoint shards cannot give a docid twice for one query, and
         * trec_eval refuses a run that does. */
        const char **ids = xmalloc((q->n ? q->n : 1) * sizeof *ids);
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
    mm_strstore_free(&M.strings);
    free(first_tag);
    return rc;
}
