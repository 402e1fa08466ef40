/* buf.h — the one growable byte buffer.
 *
 * Owns: mm_buf, bytes appended at the end, capacity doubling (from 256 bytes,
 * or at once to what one append needs), memory from core/xalloc.h (dies on
 * out of memory, so appends cannot fail). The bytes are always followed by a
 * NUL once anything was reserved, so a text buffer is also a C string.
 * A zeroed mm_buf is empty and valid.
 */
#ifndef MM_BUF_H
#define MM_BUF_H

#include <stddef.h>
#include <stdio.h>

typedef struct mm_buf {
    char *data;
    size_t len, cap; /* cap counts the byte kept for the NUL */
} mm_buf;

/* Room for n more bytes (and the NUL) without moving data again. */
void mm_buf_reserve(mm_buf *b, size_t n);
void mm_buf_append(mm_buf *b, const void *p, size_t n);
void mm_buf_putc(mm_buf *b, char c);
void mm_buf_printf(mm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends everything f still has; -1 on a read error (ferror), 0 at end. */
int mm_buf_read(mm_buf *b, FILE *f);
/* The bytes (NUL-terminated, never NULL), now the caller's; b is empty again. */
char *mm_buf_detach(mm_buf *b, size_t *len);
void mm_buf_free(mm_buf *b);

#endif
