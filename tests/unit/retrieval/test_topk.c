/* test_topk.c — the bounded heaps against a brute-force sort. */
#include "test.h"
#include "retrieval/topk.h"

#include <math.h>

/* Brute force: stable-free full sort with the same order, then the first k. */
static int ref_cmp(const void *a, const void *b)
{
    const topk_entry *x = a, *y = b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return -strcmp(x->id, y->id);
}

static void test_order_is_trec_eval(void)
{
    /* SEMANTICS.md §1.2: among equal scores docno descending by strcmp. */
    CHECK(topk_before(1.0, "a", 0.5, "z"));
    CHECK(topk_before(1.0, "d", 1.0, "c"));
    CHECK(topk_before(1.0, "9", 1.0, "10"));
    CHECK(topk_before(1.0, "doc2", 1.0, "doc10"));
    CHECK(topk_before(1.0, "a", 1.0, "_x"));
    CHECK(topk_before(1.0, "_x", 1.0, "A"));
    CHECK(!topk_before(1.0, "a", 1.0, "a"));
    CHECK(topk_before(-2.5, "a", -INFINITY, "z"));
    CHECK(topk_before(INFINITY, "a", 1e308, "z"));
    CHECK(!topk_before(-0.0, "a", 0.0, "a"));
    CHECK(topk_before(-0.0, "b", 0.0, "a")); /* -0 == 0: the docid decides */
}

/* Random trials: scores from a tiny set (many exact ties), k below, at and
 * above the number of candidates. */
static void test_random_vs_brute_force(void)
{
    unsigned long long rng = 12345;
    char idbuf[4096][12];
    for (int trial = 0; trial < 400; trial++) {
        size_t n = (size_t)(test_rand_u64(&rng) % 300);
        size_t k = 1 + (size_t)(test_rand_u64(&rng) % 40);
        if (trial % 7 == 0) k = n + 5; /* k > gallery */
        int levels = 1 + (int)(test_rand_u64(&rng) % 6);
        topk_entry *all = malloc((n + 1) * sizeof *all);
        topk_set s;
        mm_error err;
        CHECK(topk_set_init(&s, 2, k, &err) == 0);
        for (size_t i = 0; i < n; i++) {
            /* ids unique within a trial; numeric-looking so that strcmp and
             * numeric order differ ("10" < "9") */
            snprintf(idbuf[i], sizeof idbuf[i], "%zu", (size_t)(test_rand_u64(&rng) % 1000) * 1000 + i);
            double score = (double)(test_rand_u64(&rng) % (unsigned)levels) / 4.0 - 0.5;
            all[i] = (topk_entry){score, idbuf[i]};
            const char *ev = NULL;
            int kept = topk_offer(&s, 0, score, idbuf[i], &ev);
            CHECK(kept == 0 || kept == 1);
            if (ev) CHECK(kept == 1);
            /* query 1 sees the same candidates in reverse below */
        }
        for (size_t i = n; i-- > 0;) topk_offer(&s, 1, all[i].score, all[i].id, NULL);
        qsort(all, n, sizeof *all, ref_cmp);
        size_t want = n < k ? n : k;
        topk_finish_all(&s);
        for (int q = 0; q < 2; q++) {
            CHECK_EQ_INT(s.heaps[q].count, want);
            for (size_t i = 0; i < want && i < s.heaps[q].count; i++) {
                CHECK_MSG(s.heaps[q].e[i].id == all[i].id && s.heaps[q].e[i].score == all[i].score,
                          "trial %d q %d rank %zu: got %s %g want %s %g", trial, q, i + 1,
                          s.heaps[q].e[i].id, s.heaps[q].e[i].score, all[i].id, all[i].score);
            }
        }
        topk_set_free(&s);
        free(all);
    }
}

/* Offering the evicted entries back must never change the result, and the
 * evicted pointer must be exactly an entry that left. */
static void test_evicted_and_threshold(void)
{
    topk_set s;
    mm_error err;
    CHECK(topk_set_init(&s, 1, 3, &err) == 0);
    const char *ev;
    CHECK(isinf(topk_threshold(&s, 0)) && topk_threshold(&s, 0) < 0);
    CHECK(topk_offer(&s, 0, 1.0, "a", &ev) == 1 && ev == NULL);
    CHECK(topk_offer(&s, 0, 2.0, "b", &ev) == 1 && ev == NULL);
    CHECK(topk_offer(&s, 0, 3.0, "c", &ev) == 1 && ev == NULL);
    CHECK(topk_threshold(&s, 0) == 1.0);
    CHECK(topk_offer(&s, 0, 0.5, "z", &ev) == 0 && ev == NULL);
    CHECK(topk_offer(&s, 0, 1.0, "0", &ev) == 0); /* tie, "0" < "a": stays out */
    CHECK(topk_offer(&s, 0, 1.0, "b2", &ev) == 1); /* tie, "b2" > "a": enters */
    CHECK_EQ_STR(ev, "a");
    CHECK(topk_offer(&s, 0, NAN, "n", &ev) == 0);
    CHECK(topk_offer(&s, 0, INFINITY, "i", &ev) == 1);
    CHECK_EQ_STR(ev, "b2");
    topk_finish(&s, 0);
    CHECK_EQ_STR(s.heaps[0].e[0].id, "i");
    CHECK_EQ_STR(s.heaps[0].e[1].id, "c");
    CHECK_EQ_STR(s.heaps[0].e[2].id, "b");
    topk_set_free(&s);
    CHECK(topk_set_init(&s, 1, 0, &err) == -1);
    CHECK(err.kind == MM_ERR_LIMIT);
}

/* Merging the heaps of disjoint shards gives the heap of the union. */
static void test_shard_merge_identity(void)
{
    unsigned long long rng = 99;
    static char ids[2000][8];
    for (int trial = 0; trial < 50; trial++) {
        size_t n = 1 + (size_t)(test_rand_u64(&rng) % 2000), k = 1 + (size_t)(test_rand_u64(&rng) % 50);
        topk_set whole, a, b, merged;
        mm_error err;
        topk_set_init(&whole, 1, k, &err);
        topk_set_init(&a, 1, k, &err);
        topk_set_init(&b, 1, k, &err);
        topk_set_init(&merged, 1, k, &err);
        for (size_t i = 0; i < n; i++) {
            snprintf(ids[i], sizeof ids[i], "g%zu", i);
            double sc = (double)(test_rand_u64(&rng) % 20);
            topk_offer(&whole, 0, sc, ids[i], NULL);
            topk_offer(test_rand_u64(&rng) & 1 ? &a : &b, 0, sc, ids[i], NULL);
        }
        for (size_t i = 0; i < a.heaps[0].count; i++)
            topk_offer(&merged, 0, a.heaps[0].e[i].score, a.heaps[0].e[i].id, NULL);
        for (size_t i = 0; i < b.heaps[0].count; i++)
            topk_offer(&merged, 0, b.heaps[0].e[i].score, b.heaps[0].e[i].id, NULL);
        topk_finish(&whole, 0);
        topk_finish(&merged, 0);
        CHECK_EQ_INT(whole.heaps[0].count, merged.heaps[0].count);
        for (size_t i = 0; i < whole.heaps[0].count; i++)
            CHECK(whole.heaps[0].e[i].id == merged.heaps[0].e[i].id);
        topk_set_free(&whole);
        topk_set_free(&a);
        topk_set_free(&b);
        topk_set_free(&merged);
    }
}

int main(void)
{
    RUN(test_order_is_trec_eval);
    RUN(test_random_vs_brute_force);
    RUN(test_evicted_and_threshold);
    RUN(test_shard_merge_identity);
    return test_summary();
}
