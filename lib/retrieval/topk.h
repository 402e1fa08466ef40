/* topk.h — bounded per-query top-k selection in trec_eval's order.
 *
 * Owns: the ranking order every mm-* program uses for (score, docid) pairs,
 * a set of bounded heaps (one per query) that keeps the k best pairs seen,
 * and the final sort of each heap into rank order.
 *
 * The order is the one trec_eval applies when it re-sorts a run
 * (form_res_rels.c, see ../shared/ref/treceval/SEMANTICS.md §1.2):
 *   score descending, then docid by byte-wise strcmp DESCENDING
 * (among equal scores "d" ranks above "c", "doc2" above "doc10"). Ranking
 * with this order makes the rank column mm-rank writes agree with the rank
 * trec_eval computes even when scores tie exactly.
 *
 * Scores are doubles: the engine's float scores convert exactly, and a run
 * read back from text compares as trec_eval's atof() values do. NaN has no
 * place in a total order, so topk_offer() refuses NaN scores (they are never
 * ranked); +Inf and -Inf are ordinary values.
 *
 * Heaps only store id pointers; who owns the strings is the caller's
 * business (topk_offer() hands back the pointer it evicts).
 */
#ifndef MM_TOPK_H
#define MM_TOPK_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/error.h"

typedef struct topk_entry {
    double score;
    const char *id;
} topk_entry;

/* True when (sa, ia) ranks strictly before (sb, ib). */
static inline bool topk_before(double sa, const char *ia, double sb, const char *ib)
{
    if (sa != sb) return sa > sb;
    return strcmp(ia, ib) > 0;
}

/* qsort comparator for topk_entry in rank order (best first). */
int topk_entry_cmp(const void *a, const void *b);

/* One bounded heap per query. The root of each heap is its worst entry. The
 * storage of a heap grows on demand up to k, so a huge k against a small
 * gallery costs only what is found. */
typedef struct topk_heap {
    topk_entry *e;
    size_t count;
    size_t cap;
} topk_heap;

typedef struct topk_set {
    size_t queries;
    size_t k;
    topk_heap *heaps;
} topk_set;

/* -1 (MM_ERR_LIMIT) only for k = 0. */
int topk_set_init(topk_set *s, size_t queries, size_t k, mm_error *err);
void topk_set_free(topk_set *s); /* frees the heaps, not the id strings */

/* Score a candidate must reach to be considered for query q: -INFINITY while
 * the heap is not full, else the worst kept score (a candidate equal to it
 * may still enter on the docid tie-break). */
static inline double topk_threshold(const topk_set *s, size_t q)
{
    const topk_heap *h = &s->heaps[q];
    return h->count < s->k ? -__builtin_inf() : h->e[0].score;
}

/* Offers (score, id) to query q. Returns 1 if it was kept, 0 if not (also for
 * NaN). When keeping it pushed an older entry out, *evicted receives that
 * entry's id (else NULL). Safe to call concurrently for different queries.
 * The heap's memory comes from core/xalloc.h (grows with what is kept). */
int topk_offer(topk_set *s, size_t q, double score, const char *id, const char **evicted);

/* Sorts query q's entries into rank order (best first). Afterwards the row is
 * no longer a heap: call it once, when no more offers will come. */
void topk_finish(topk_set *s, size_t q);

/* Convenience for a whole set. */
void topk_finish_all(topk_set *s);

#endif
