/* strstore.c — see strstore.h. */
#include "core/strstore.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

enum { FIRST_CHUNK = 64 << 10, MAX_CHUNK = 1 << 20 };

const char *mm_strstore_add(mm_strstore *st, const char *s, size_t n)
{
    if (n + 1 > st->left) {
        size_t size = st->next_size ? st->next_size : FIRST_CHUNK;
        if (size < MAX_CHUNK) st->next_size = 2 * size;
        if (size < n + 1) size = n + 1;
        if (st->nchunks == st->chunk_cap) {
            st->chunk_cap = st->chunk_cap ? 2 * st->chunk_cap : 16;
            st->chunk = xrealloc(st->chunk, st->chunk_cap * sizeof *st->chunk);
        }
        st->cur = st->chunk[st->nchunks++] = xmalloc(size);
        st->left = size;
    }
    char *d = st->cur;
    memcpy(d, s, n);
    d[n] = '\0';
    st->cur += n + 1;
    st->left -= n + 1;
    return d;
}

void mm_strstore_free(mm_strstore *st)
{
    for (size_t i = 0; i < st->nchunks; i++) free(st->chunk[i]);
    free(st->chunk);
    memset(st, 0, sizeof *st);
}
