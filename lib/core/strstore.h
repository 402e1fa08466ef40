/* strstore.h — strings copied into storage that never moves.
 *
 * Owns: mm_strstore, NUL-terminated copies of byte strings kept in chunks
 * (64 KiB first, doubling to 1 MiB; a longer string gets a chunk of its own)
 * that are never reallocated, so a pointer returned stays valid until
 * mm_strstore_free. For keys of an mm_strmap (core/hash.h) read from a
 * buffer that is about to be overwritten, and for the strings of a whole
 * file kept in memory (runs, merged runs). Memory from core/xalloc.h (dies
 * on out of memory). A zeroed mm_strstore is empty and valid.
 */
#ifndef MM_STRSTORE_H
#define MM_STRSTORE_H

#include <stddef.h>

typedef struct mm_strstore {
    char **chunk;
    size_t nchunks, chunk_cap;
    char *cur;        /* next free byte of the last chunk */
    size_t left;      /* bytes free there */
    size_t next_size; /* size of the next chunk */
} mm_strstore;

/* A copy of the n bytes at s followed by a NUL. */
const char *mm_strstore_add(mm_strstore *st, const char *s, size_t n);
void mm_strstore_free(mm_strstore *st);

#endif
