/* zscore.c — trec_eval's -Z z-score conversion. See zscore.h. */
#include "eval/zscore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static int cmp_entry(const void *a, const void *b)
{
    const mm_zscore_entry *x = a, *y = b;
    int c = strcmp(x->qid, y->qid);
    return c ? c : strcmp(x->meas, y->meas);
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Splits one line (NUL-terminated, no '\n') into at most 5 fields. */
static int split(char *s, char **f)
{
    int n = 0;
    while (*s) {
        while (is_blank(*s)) s++;
        if (!*s) break;
        if (n == 5) return 6;
        f[n++] = s;
        while (*s && !is_blank(*s)) s++;
        if (*s) *s++ = '\0';
    }
    return n;
}

static bool parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0;
}

int mm_zscores_load(mm_zscores *z, const char *path, mm_error *err)
{
    memset(z, 0, sizeof *z);
    FILE *fp = fopen(path, "rb");
    if (!fp) return mm_fail(err, MM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 2 > cap) {
            cap = cap ? cap * 2 : 65536;
            z->buf = xrealloc(z->buf, cap); /* grows with what is read */
        }
        size_t got = fread(z->buf + len, 1, cap - len - 2, fp);
        len += got;
        if (got == 0) break;
    }
    bool bad = ferror(fp);
    fclose(fp);
    if (bad) {
        mm_zscores_free(z);
        return mm_fail(err, MM_ERR_IO, "%s: read error", path);
    }
    if (len == 0) {
        mm_zscores_free(z);
        return mm_fail(err, MM_ERR_MALFORMED, "%s: empty z-score file", path);
    }
    if (z->buf[len - 1] != '\n') z->buf[len++] = '\n';
    z->buf[len] = '\0';
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += z->buf[i] == '\n';
    z->e = xcalloc(lines, sizeof *z->e);
    char *p = z->buf, *end = z->buf + len;
    for (size_t ln = 1; ln <= lines; ln++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (memchr(p, '\0', (size_t)(nl - p))) { /* trec_eval: "may contain no NUL" */
            mm_zscores_free(z);
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: NUL byte", path, ln);
        }
        *nl = '\0';
        char *f[5];
        int nf = split(p, f);
        mm_zscore_entry *e = &z->e[z->n];
        if (nf != 4) {
            mm_zscores_free(z);
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s:%zu: expected 4 fields (qid measure mean stddev), got %d%s", path,
                           ln, nf > 5 ? 5 : nf, nf > 5 ? " or more" : "");
        }
        if (!parse_double(f[2], &e->mean) || !parse_double(f[3], &e->stddev)) {
            mm_zscores_free(z);
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: mean and stddev must be numbers",
                           path, ln);
        }
        e->qid = f[0];
        e->meas = f[1];
        z->n++;
        p = nl + 1;
    }
    qsort(z->e, z->n, sizeof *z->e, cmp_entry);
    for (size_t i = 1; i < z->n; i++)
        if (cmp_entry(&z->e[i - 1], &z->e[i]) == 0) {
            mm_error e2 = {0};
            mm_fail(&e2, MM_ERR_MALFORMED, "%s: query '%s', measure '%s' given twice", path,
                    z->e[i].qid, z->e[i].meas);
            mm_zscores_free(z);
            if (err) *err = e2;
            return -1;
        }
    return 0;
}

static const mm_zscore_entry *find(const mm_zscores *z, const char *qid, const char *meas)
{
    mm_zscore_entry key = {qid, meas, 0, 0};
    return bsearch(&key, z->e, z->n, sizeof *z->e, cmp_entry);
}

void mm_zscores_apply(const mm_zscores *z, const mm_measure_set *set, mm_eval_result *res)
{
    for (size_t q = 0; q < res->query_count; q++)
        for (size_t k = 0; k < set->count; k++) {
            const mm_measure *m = &set->m[k];
            mm_aggregate a = m->def->aggregate;
            if (m->def->kind == MM_VALUE_STRING || a == MM_AGG_NUM_Q || a == MM_AGG_RUNID)
                continue;
            for (size_t r = 0; r < m->nvalues; r++) {
                double *v = &res->values[q * set->nvalues + m->offset + r];
                const mm_zscore_entry *e = find(z, res->qid[q], m->names[r]);
                if (!e)
                    *v = MM_ZSCORE_MISSING;
                else if (e->stddev != 0.0)
                    *v = (*v - e->mean) / e->stddev;
                else
                    *v = *v == e->mean ? 0.0 : MM_ZSCORE_MISSING;
            }
        }
}

void mm_zscores_free(mm_zscores *z)
{
    if (!z) return;
    free(z->buf);
    free(z->e);
    memset(z, 0, sizeof *z);
}
