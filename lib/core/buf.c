/* buf.c — see buf.h. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void mm_buf_reserve(mm_buf *b, size_t n)
{
    if (b->cap > b->len && n < b->cap - b->len) return;
    size_t need = b->len + n + 1, cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap * 2 > cap ? cap * 2 : need;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    b->data[b->len] = '\0';
}

void mm_buf_append(mm_buf *b, const void *p, size_t n)
{
    mm_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void mm_buf_putc(mm_buf *b, char c)
{
    mm_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void mm_buf_printf(mm_buf *b, const char *fmt, ...)
{
    va_list ap;
    mm_buf_reserve(b, 64);
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= b->cap - b->len) {
        mm_buf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

int mm_buf_read(mm_buf *b, FILE *f)
{
    for (;;) {
        mm_buf_reserve(b, b->len > 65536 ? b->len : 65536);
        size_t r = fread(b->data + b->len, 1, b->cap - b->len - 1, f);
        b->len += r;
        b->data[b->len] = '\0';
        if (r == 0) break;
    }
    return ferror(f) ? -1 : 0;
}

char *mm_buf_detach(mm_buf *b, size_t *len)
{
    mm_buf_reserve(b, 0);
    char *p = b->data;
    if (len) *len = b->len;
    memset(b, 0, sizeof *b);
    return p;
}

void mm_buf_free(mm_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
