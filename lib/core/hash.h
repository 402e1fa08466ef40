/* hash.h — the one string hash and the one open-addressing map.
 *
 * Owns: mm_hash_bytes (64-bit FNV-1a followed by a final avalanche, because
 * ids and docnos are short and the map takes the low bits), mm_strmap (string
 * -> dense entry index + a value, for keys the caller keeps alive) and
 * mm_hashset (a set of nonzero 64-bit hashes, when keeping the keys would
 * cost too much memory). A map keeps each entry's hash, so that a probe
 * compares hashes before bytes and growing does not hash again; a caller
 * that needs the hash anyway (mm-eval looks docnos up in the qrels with it)
 * passes it to the _hashed calls instead of hashing twice.
 *
 * Both tables use linear probing in a power-of-two slot array whose load
 * factor stays at most 1/2: a table doubles before an insertion would take
 * it past half full. Entries of an mm_strmap are numbered in insertion order,
 * and that numbering (not the slot order) is what a caller iterates, so an
 * output never depends on the hash. Internal memory comes from core/xalloc.h
 * (dies on out of memory).
 */
#ifndef MM_HASH_H
#define MM_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/strstore.h"

/* FNV-1a over 64 bits, then a final avalanche (ids and docnos are short).
 * Also the hash of io/trec's tables and mm-eval's docno table. */
uint64_t mm_hash_bytes(const void *data, size_t len);

typedef struct mm_strmap {
    uint32_t *slot;    /* entry index + 1; 0 = empty */
    size_t mask;       /* slot count - 1 */
    const char **key;  /* per entry, in insertion order; owned by the caller */
    size_t *len;       /* per entry */
    uint64_t *hash;    /* per entry: mm_hash_bytes of the key */
    int64_t *value;    /* per entry, 0 when added; the caller's to set */
    size_t count, cap; /* entries used / allocated */
} mm_strmap;

/* A map sized for `expected` keys without growing (0 is fine). */
void mm_strmap_init(mm_strmap *m, size_t expected);
void mm_strmap_free(mm_strmap *m);
/* Forgets every entry, keeping the memory (for a map reused per query). */
void mm_strmap_clear(mm_strmap *m);
/* Entry index of key, or -1. */
long mm_strmap_find(const mm_strmap *m, const char *key, size_t len);
/* Entry index of key, adding it (value 0) if absent; *added says which.
 * -1 only past UINT32_MAX - 1 entries. */
long mm_strmap_add(mm_strmap *m, const char *key, size_t len, bool *added);
/* The same with hash = mm_hash_bytes(key, len) already computed. */
long mm_strmap_find_hashed(const mm_strmap *m, const char *key, size_t len, uint64_t hash);
static inline long mm_strmap_add_hashed(mm_strmap *m, const char *key, size_t len,
                                        uint64_t hash, bool *added);
/* Like mm_strmap_add, but a key that is added is first copied into store, so
 * key may point into a buffer that is about to change (a line being read);
 * the entry's key is then the copy, valid until mm_strstore_free(store). */
long mm_strmap_intern(mm_strmap *m, mm_strstore *store, const char *key, size_t len,
                      bool *added);

/* mm_strmap_add_hashed is inline: mm-eval adds every retrieved document to
 * a map (its duplicate check), and a call per document cost more than the
 * table it replaced. The common case (no growing, no new entry arrays) is
 * here; everything else is mm_strmap_add_slow (hash.c), the one general
 * insertion (store NULL: the caller's key is kept, else a copy in store). */
long mm_strmap_add_slow(mm_strmap *m, mm_strstore *store, const char *key, size_t len,
                        uint64_t hash, bool *added);

static inline long mm_strmap_add_hashed(mm_strmap *m, const char *key, size_t len,
                                        uint64_t hash, bool *added)
{
    if (!m->slot || 2 * (m->count + 1) > m->mask + 1 || m->count == m->cap)
        return mm_strmap_add_slow(m, NULL, key, len, hash, added);
    size_t h = (size_t)hash & m->mask;
    for (uint32_t s; (s = m->slot[h]) != 0; h = (h + 1) & m->mask)
        if (m->hash[s - 1] == hash && m->len[s - 1] == len && memcmp(m->key[s - 1], key, len) == 0) {
            *added = false;
            return (long)s - 1;
        }
    /* slots hold entry + 1 in 32 bits: the slow path refuses (-1) */
    if (m->count >= UINT32_MAX - 1) return mm_strmap_add_slow(m, NULL, key, len, hash, added);
    size_t e = m->count++;
    m->key[e] = key;
    m->len[e] = len;
    m->hash[e] = hash;
    m->value[e] = 0;
    m->slot[h] = (uint32_t)(e + 1);
    *added = true;
    return (long)e;
}

typedef struct mm_hashset {
    uint64_t *slot; /* 0 = empty */
    size_t mask, count;
} mm_hashset;

/* Starts empty (the first insertion allocates 2^16 slots); free with
 * mm_hashset_free. Adds h (0 is stored as 1): true if it was new. */
bool mm_hashset_add(mm_hashset *s, uint64_t h);
void mm_hashset_free(mm_hashset *s);

#endif
