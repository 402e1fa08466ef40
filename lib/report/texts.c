/* texts.c — see texts.h. */
#include "report/texts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

struct report_text_entry {
    const char *id, *text;
    size_t line;
};

static int cmp_entry(const void *a, const void *b)
{
    const struct report_text_entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c) return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

int report_texts_load(report_texts *t, const char *path, mm_error *err)
{
    memset(t, 0, sizeof *t);
    FILE *fp = fopen(path, "rb");
    if (!fp) return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *d = xmalloc(cap);
    size_t got;
    while ((got = fread(d + len, 1, cap - len - 1, fp)) > 0) {
        len += got;
        if (cap - len - 1 == 0) d = xrealloc(d, cap *= 2);
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(d);
        return mm_fail(err, MM_ERR_IO, "%s: read error", path);
    }
    d[len] = '\0';
    if (memchr(d, '\0', len)) {
        free(d);
        return mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: NUL byte (not a text file)", path,
                       (size_t)1);
    }
    t->data = d;
    size_t ecap = 256, line = 0;
    t->e = xmalloc(ecap * sizeof *t->e);
    char *p = d;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    while (*p) {
        line++;
        char *nl = strchr(p, '\n');
        char *next = nl ? nl + 1 : p + strlen(p);
        if (nl) *nl = '\0';
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[--l] = '\0';
        char *tab = strchr(p, '\t');
        if (!tab || tab == p) {
            report_texts_free(t);
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: expected id<TAB>text", path, line);
        }
        *tab = '\0';
        if (t->count == ecap) t->e = xrealloc(t->e, (ecap *= 2) * sizeof *t->e);
        t->e[t->count++] = (struct report_text_entry){p, tab + 1, line};
        p = next;
    }
    qsort(t->e, t->count, sizeof *t->e, cmp_entry);
    size_t u = 0;
    for (size_t i = 0; i < t->count; i++)
        if (u == 0 || strcmp(t->e[i].id, t->e[u - 1].id) != 0) t->e[u++] = t->e[i];
    t->count = u;
    return 0;
}

static int cmp_key(const void *k, const void *e)
{
    return strcmp(k, ((const struct report_text_entry *)e)->id);
}

const char *report_texts_find(const report_texts *t, const char *id)
{
    if (!t || !t->count) return NULL;
    const struct report_text_entry *e = bsearch(id, t->e, t->count, sizeof *t->e, cmp_key);
    return e ? e->text : NULL;
}

void report_texts_free(report_texts *t)
{
    free(t->e);
    free(t->data);
    memset(t, 0, sizeof *t);
}
