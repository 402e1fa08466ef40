/* hash.c — see hash.h. */
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* The hash and the lookup are inlined into the public calls below, so that
 * mm_strmap_find costs one call, as it did when the hash was its own. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE uint64_t hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    const uint64_t prime = 1099511628211ULL;
    uint64_t h = 1469598103934665603ULL;
    size_t i = 0;
    /* four bytes a round: the same steps in the same order (FNV-1a is
     * sequential), with a quarter of the loop overhead; docnos are short
     * and mm-eval hashes each one it reads */
    for (; i + 4 <= len; i += 4) {
        h = (h ^ p[i]) * prime;
        h = (h ^ p[i + 1]) * prime;
        h = (h ^ p[i + 2]) * prime;
        h = (h ^ p[i + 3]) * prime;
    }
    for (; i < len; i++) h = (h ^ p[i]) * prime;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

uint64_t mm_hash_bytes(const void *data, size_t len) { return hash_bytes(data, len); }

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
}

void mm_strmap_init(mm_strmap *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    size_t slots = pow2_at_least(expected * 2 + 1);
    m->mask = slots - 1;
    m->slot = xcalloc(slots, sizeof *m->slot);
    m->cap = expected ? expected : 1;
    m->key = xmalloc(m->cap * sizeof *m->key);
    m->len = xmalloc(m->cap * sizeof *m->len);
    m->hash = xmalloc(m->cap * sizeof *m->hash);
    m->value = xmalloc(m->cap * sizeof *m->value);
}

void mm_strmap_free(mm_strmap *m)
{
    free(m->slot);
    free(m->key);
    free(m->len);
    free(m->hash);
    free(m->value);
    memset(m, 0, sizeof *m);
}

void mm_strmap_clear(mm_strmap *m)
{
    if (m->slot) memset(m->slot, 0, (m->mask + 1) * sizeof *m->slot);
    m->count = 0;
}

static inline bool entry_is(const mm_strmap *m, uint32_t e, const char *key, size_t len,
                            uint64_t hash)
{
    return m->hash[e] == hash && m->len[e] == len && memcmp(m->key[e], key, len) == 0;
}

ALWAYS_INLINE long find(const mm_strmap *m, const char *key, size_t len, uint64_t hash)
{
    if (!m->slot) return -1;
    for (size_t h = (size_t)hash & m->mask;; h = (h + 1) & m->mask) {
        uint32_t s = m->slot[h];
        if (!s) return -1;
        if (entry_is(m, s - 1, key, len, hash)) return (long)s - 1;
    }
}

long mm_strmap_find_hashed(const mm_strmap *m, const char *key, size_t len, uint64_t hash)
{
    return find(m, key, len, hash);
}

long mm_strmap_find(const mm_strmap *m, const char *key, size_t len)
{
    return find(m, key, len, hash_bytes(key, len));
}

/* Doubles the slot array and re-inserts every entry (entry numbers stay). */
static void strmap_grow(mm_strmap *m)
{
    size_t slots = 2 * (m->mask + 1);
    uint32_t *slot = xcalloc(slots, sizeof *slot);
    for (size_t e = 0; e < m->count; e++) {
        size_t h = (size_t)m->hash[e] & (slots - 1);
        while (slot[h]) h = (h + 1) & (slots - 1);
        slot[h] = (uint32_t)(e + 1);
    }
    free(m->slot);
    m->slot = slot;
    m->mask = slots - 1;
}

long mm_strmap_add_slow(mm_strmap *m, mm_strstore *store, const char *key, size_t len,
                        uint64_t hash, bool *added)
{
    if (!m->slot) mm_strmap_init(m, 0);
    size_t h = (size_t)hash & m->mask;
    for (uint32_t s; (s = m->slot[h]) != 0; h = (h + 1) & m->mask)
        if (entry_is(m, s - 1, key, len, hash)) {
            *added = false;
            return (long)s - 1;
        }
    *added = false;
    if (m->count >= UINT32_MAX - 1) return -1;
    if (2 * (m->count + 1) > m->mask + 1) {
        strmap_grow(m);
        h = (size_t)hash & m->mask;
        while (m->slot[h]) h = (h + 1) & m->mask;
    }
    if (m->count == m->cap) {
        m->cap *= 2;
        m->key = xrealloc(m->key, m->cap * sizeof *m->key);
        m->len = xrealloc(m->len, m->cap * sizeof *m->len);
        m->hash = xrealloc(m->hash, m->cap * sizeof *m->hash);
        m->value = xrealloc(m->value, m->cap * sizeof *m->value);
    }
    size_t e = m->count++;
    m->key[e] = store ? mm_strstore_add(store, key, len) : key;
    m->len[e] = len;
    m->hash[e] = hash;
    m->value[e] = 0;
    m->slot[h] = (uint32_t)(e + 1);
    *added = true;
    return (long)e;
}

long mm_strmap_add(mm_strmap *m, const char *key, size_t len, bool *added)
{
    return mm_strmap_add_hashed(m, key, len, hash_bytes(key, len), added);
}

long mm_strmap_intern(mm_strmap *m, mm_strstore *store, const char *key, size_t len,
                      bool *added)
{
    return mm_strmap_add_slow(m, store, key, len, hash_bytes(key, len), added);
}

bool mm_hashset_add(mm_hashset *s, uint64_t h)
{
    if (!h) h = 1; /* 0 marks an empty slot */
    if (!s->slot || 2 * (s->count + 1) > s->mask + 1) {
        size_t cap = s->slot ? 2 * (s->mask + 1) : (size_t)1 << 16;
        uint64_t *slot = xcalloc(cap, sizeof *slot);
        if (s->slot) {
            for (size_t i = 0; i <= s->mask; i++) {
                if (!s->slot[i]) continue;
                size_t j = s->slot[i] & (cap - 1);
                while (slot[j]) j = (j + 1) & (cap - 1);
                slot[j] = s->slot[i];
            }
            free(s->slot);
        }
        s->slot = slot;
        s->mask = cap - 1;
    }
    size_t j = h & s->mask;
    while (s->slot[j]) {
        if (s->slot[j] == h) return false;
        j = (j + 1) & s->mask;
    }
    s->slot[j] = h;
    s->count++;
    return true;
}

void mm_hashset_free(mm_hashset *s)
{
    free(s->slot);
    memset(s, 0, sizeof *s);
}
