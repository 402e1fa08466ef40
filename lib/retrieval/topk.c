/* topk.c — see topk.h. */
#include "retrieval/topk.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/xalloc.h"

int topk_entry_cmp(const void *a, const void *b)
{
    const topk_entry *x = a, *y = b;
    if (topk_before(x->score, x->id, y->score, y->id)) return -1;
    if (topk_before(y->score, y->id, x->score, x->id)) return 1;
    return 0;
}

int topk_set_init(topk_set *s, size_t queries, size_t k, mm_error *err)
{
    s->queries = queries;
    s->k = k;
    s->heaps = NULL;
    if (k == 0) return mm_fail(err, MM_ERR_LIMIT, "top-k: k must be at least 1");
    if (queries > 0) s->heaps = xcalloc(queries, sizeof *s->heaps); /* queries are in memory */
    return 0;
}

void topk_set_free(topk_set *s)
{
    if (!s->heaps) return;
    for (size_t q = 0; q < s->queries; q++) free(s->heaps[q].e);
    free(s->heaps);
    s->heaps = NULL;
}

/* In the heap every parent ranks after (is worse than, or equal to) its
 * children, so the root is the entry the next better candidate replaces. */
static void sift_up(topk_entry *e, size_t i)
{
    topk_entry x = e[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!topk_before(e[p].score, e[p].id, x.score, x.id)) break;
        e[i] = e[p];
        i = p;
    }
    e[i] = x;
}

static void sift_down(topk_entry *e, size_t n, size_t i)
{
    topk_entry x = e[i];
    for (;;) {
        size_t l = 2 * i + 1, worst = i;
        const topk_entry *w = &x;
        if (l < n && topk_before(w->score, w->id, e[l].score, e[l].id)) worst = l, w = &e[l];
        if (l + 1 < n && topk_before(w->score, w->id, e[l + 1].score, e[l + 1].id))
            worst = l + 1, w = &e[l + 1];
        if (worst == i) break;
        e[i] = e[worst];
        i = worst;
    }
    e[i] = x;
}

int topk_offer(topk_set *s, size_t q, double score, const char *id, const char **evicted)
{
    topk_heap *h = &s->heaps[q];
    if (evicted) *evicted = NULL;
    if (score != score) return 0; /* NaN */
    if (h->count < s->k) {
        if (h->count == h->cap) {
            /* grows with the entries kept, not with k: a huge -k costs
             * only what is found */
            size_t cap = h->cap ? h->cap * 2 : 16;
            if (cap > s->k) cap = s->k;
            h->e = xrealloc(h->e, cap * sizeof *h->e);
            h->cap = cap;
        }
        h->e[h->count] = (topk_entry){score, id};
        sift_up(h->e, h->count);
        h->count++;
        return 1;
    }
    if (!topk_before(score, id, h->e[0].score, h->e[0].id)) return 0;
    if (evicted) *evicted = h->e[0].id;
    h->e[0] = (topk_entry){score, id};
    sift_down(h->e, h->count, 0);
    return 1;
}

void topk_finish(topk_set *s, size_t q)
{
    topk_heap *h = &s->heaps[q];
    if (h->count > 1) qsort(h->e, h->count, sizeof *h->e, topk_entry_cmp);
}

void topk_finish_all(topk_set *s)
{
    for (size_t q = 0; q < s->queries; q++) topk_finish(s, q);
}
