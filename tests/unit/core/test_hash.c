/* test_hash.c — lib/core/hash.c: the hash is FNV-1a plus the documented
 * avalanche; the map finds every key after growing many times, keeps entry
 * numbers in insertion order, and clears; the _hashed calls agree with the
 * plain ones; an interned key is a copy that outlives the buffer it came
 * from; the hash set reports repeats. */
#include <stdint.h>

#include "core/hash.h"
#include "test.h"

/* FNV-1a of "doc000123" and the avalanche, worked out by hand (Python) */
#define HASH_DOC000123 0xaf7bcaf10d2f221eULL

static void test_hash_value(void)
{
    /* FNV-1a of "" is the offset basis; then the avalanche */
    uint64_t h = 1469598103934665603ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    CHECK(mm_hash_bytes("", 0) == h);
    /* every length (the loop takes four bytes a round, then the rest) gives
     * plain byte-at-a-time FNV-1a followed by the avalanche */
    const char *text = "The quick brown fox jumps over the lazy dog";
    for (size_t n = 0; n <= strlen(text); n++) {
        uint64_t f = 1469598103934665603ULL;
        for (size_t i = 0; i < n; i++) f = (f ^ (unsigned char)text[i]) * 1099511628211ULL;
        f ^= f >> 32;
        f *= 0xd6e8feb86659fd93ULL;
        f ^= f >> 32;
        CHECK_MSG(mm_hash_bytes(text, n) == f, "length %zu", n);
    }
    /* a fixed value, so that a change of the hash itself is noticed */
    CHECK(mm_hash_bytes("doc000123", 9) == HASH_DOC000123);
    CHECK(mm_hash_bytes("abc", 3) == mm_hash_bytes("abcd", 3));
    CHECK(mm_hash_bytes("abc", 3) != mm_hash_bytes("abd", 3));
}

static void test_map_grows(void)
{
    enum { N = 20000 };
    static char keys[N][12];
    mm_strmap m;
    mm_strmap_init(&m, 0);
    for (int i = 0; i < N; i++) {
        int len = snprintf(keys[i], sizeof keys[i], "k%d", i);
        bool added;
        long e = mm_strmap_add(&m, keys[i], (size_t)len, &added);
        CHECK(added && e == i);
        m.value[e] = 3 * i;
        CHECK(2 * m.count <= m.mask + 1); /* load factor at most 1/2 */
    }
    CHECK_EQ_INT(m.count, N);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        long e = mm_strmap_find(&m, keys[i], strlen(keys[i]));
        bad += e != i || m.value[e] != 3 * i;
        bool added;
        bad += mm_strmap_add(&m, keys[i], strlen(keys[i]), &added) != i || added;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(mm_strmap_find(&m, "k", 1) == -1);
    CHECK(mm_strmap_find(&m, "k1", 1) == -1); /* a prefix is another key */
    mm_strmap_clear(&m);
    CHECK(mm_strmap_find(&m, "k1", 2) == -1 && m.count == 0);
    bool added;
    CHECK(mm_strmap_add(&m, "x", 1, &added) == 0 && added);
    mm_strmap_free(&m);
    mm_strmap z = {0}; /* a zeroed map is empty */
    CHECK(mm_strmap_find(&z, "x", 1) == -1);
    CHECK(mm_strmap_add(&z, "x", 1, &added) == 0 && added);
    mm_strmap_free(&z);
}

static void test_hashed_and_intern(void)
{
    mm_strmap m = {0};
    mm_strstore store = {0};
    char line[32];
    bool added;
    enum { N = 5000 };
    for (int i = 0; i < N; i++) {
        /* the same buffer holds every key in turn, as a line reader's does */
        int len = snprintf(line, sizeof line, "doc%06d", i);
        long e = mm_strmap_intern(&m, &store, line, (size_t)len, &added);
        CHECK(added && e == i);
        CHECK(m.key[e] != line && strcmp(m.key[e], line) == 0);
        CHECK(m.hash[e] == mm_hash_bytes(line, (size_t)len));
    }
    memset(line, 'x', sizeof line);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        char key[32];
        int len = snprintf(key, sizeof key, "doc%06d", i);
        uint64_t h = mm_hash_bytes(key, (size_t)len);
        bad += mm_strmap_find_hashed(&m, key, (size_t)len, h) != i;
        bad += mm_strmap_find(&m, key, (size_t)len) != i;
        bad += mm_strmap_add_hashed(&m, key, (size_t)len, h, &added) != i || added;
        bad += mm_strmap_intern(&m, &store, key, (size_t)len, &added) != i || added;
        bad += strcmp(m.key[i], key) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(m.count, N);
    /* a key whose hash is given differently is another key: the hash is
     * compared first */
    CHECK(mm_strmap_find_hashed(&m, "doc000001", 9, mm_hash_bytes("doc000002", 9)) != 1);
    CHECK(mm_strmap_add_hashed(&m, "new", 3, mm_hash_bytes("new", 3), &added) == N && added);
    CHECK(mm_strmap_find(&m, "new", 3) == N);
    mm_strmap_free(&m);
    mm_strstore_free(&store);
    CHECK(store.nchunks == 0 && m.count == 0);
}

static void test_hashset(void)
{
    mm_hashset s = {0};
    int fresh = 0;
    for (uint64_t i = 0; i < 200000; i++) fresh += mm_hashset_add(&s, i * 0x9e3779b97f4a7c15ull);
    CHECK_EQ_INT(fresh, 200000);
    CHECK(!mm_hashset_add(&s, 1)); /* 0 (i = 0 above) is stored as 1 */
    CHECK(!mm_hashset_add(&s, 12345 * 0x9e3779b97f4a7c15ull));
    CHECK(2 * s.count <= s.mask + 1);
    mm_hashset_free(&s);
    CHECK(s.slot == NULL);
}

int main(void)
{
    RUN(test_hash_value);
    RUN(test_map_grows);
    RUN(test_hashed_and_intern);
    RUN(test_hashset);
    return test_summary();
}
