/* traindata.c — joining feature files and labels (see traindata.h). */
#include "nn/traindata.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "io/mmf.h"

/* Rows sorted by id, for joining by binary search (no hash table needed:
 * each file is sorted once). */
typedef struct { const char *id; size_t row; } idx_ent;

static int cmp_ent(const void *a, const void *b) { return strcmp(((const idx_ent *)a)->id, ((const idx_ent *)b)->id); }

static idx_ent *index_ids(char **ids, size_t n)
{
    idx_ent *e = malloc((n ? n : 1) * sizeof *e);
    if (!e) return NULL;
    for (size_t i = 0; i < n; i++) e[i].id = ids[i], e[i].row = i;
    qsort(e, n, sizeof *e, cmp_ent);
    return e;
}

static long find_id(const idx_ent *e, size_t n, const char *id)
{
    idx_ent key = {id, 0};
    const idx_ent *f = bsearch(&key, e, n, sizeof *e, cmp_ent);
    return f ? (long)f->row : -1;
}

int traindata_load(traindata *td, const char *const *paths, int n, int missing_skip, int normalize,
                   size_t *skipped, mm_error *err)
{
    memset(td, 0, sizeof *td);
    *skipped = 0;
    if (n < 1 || n > TD_MAX_INPUTS) return mm_fail(err, MM_ERR_LIMIT, "%d feature files (1 to %d)", n, TD_MAX_INPUTS);
    mmf_matrix m[TD_MAX_INPUTS];
    idx_ent *ix[TD_MAX_INPUTS] = {0};
    int loaded = 0, rc = -1;
    memset(m, 0, sizeof m);
    for (int i = 0; i < n; i++) {
        if (mmf_load(paths[i], &m[i], err) < 0) goto out;
        loaded++;
        for (size_t r = 0; r < m[i].rows; r++)
            for (uint32_t k = 0; k < m[i].dim; k++)
                if (!isfinite(m[i].data[r * m[i].dim + k])) {
                    mm_fail(err, MM_ERR_MALFORMED, "%s: record %zu (id %s): value %u is %s", paths[i], r + 1,
                            m[i].ids[r], k, isnan(m[i].data[r * m[i].dim + k]) ? "NaN" : "infinite");
                    goto out;
                }
        if (i > 0 && !(ix[i] = index_ids(m[i].ids, m[i].rows))) {
            mm_fail(err, MM_ERR_NOMEM, "out of memory");
            goto out;
        }
        td->dims[i] = (int)m[i].dim;
        const char *model = mmf_header_get(&m[i].header, "model");
        td->sources[i] = strdup(model ? model : "");
        td->D += (int)m[i].dim;
    }
    td->ninputs = n;
    /* One input: its loaded matrix becomes the rows, compacted in place (a
     * row only moves towards the start), so the features are in memory
     * once, not twice (mm-train's peak RSS). */
    if (n == 1 && m[0].data) {
        td->x = m[0].data;
        m[0].data = NULL;
    } else
        td->x = malloc((m[0].rows ? m[0].rows : 1) * (size_t)td->D * sizeof(float));
    td->ids = calloc(m[0].rows ? m[0].rows : 1, sizeof *td->ids);
    if (!td->x || !td->ids) {
        mm_fail(err, MM_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t r = 0; r < m[0].rows; r++) {
        float *dst = td->x + td->rows * (size_t)td->D;
        int ok = 1;
        for (int i = 0, off = 0; i < n; off += td->dims[i], i++) {
            long row = i == 0 ? (long)r : find_id(ix[i], m[i].rows, m[0].ids[r]);
            if (row < 0) {
                if (!missing_skip) {
                    mm_fail(err, MM_ERR_MISMATCH, "%s: record %zu: id %s has no features in %s (--missing skip drops it)",
                            paths[0], r + 1, m[0].ids[r], paths[i]);
                    goto out;
                }
                ok = 0;
                break;
            }
            const float *src = n == 1 ? td->x + r * (size_t)td->D : m[i].data + (size_t)row * m[i].dim;
            if (src != dst + off) memmove(dst + off, src, m[i].dim * sizeof(float));
            if (normalize) vec_l2_normalize(dst + off, m[i].dim);
        }
        if (!ok) {
            ++*skipped;
            continue;
        }
        td->ids[td->rows++] = strdup(m[0].ids[r]);
    }
    rc = 0;
out:
    for (int i = 0; i < loaded; i++) mmf_matrix_free(&m[i]);
    for (int i = 0; i < n; i++) free(ix[i]);
    if (rc < 0) traindata_free(td);
    return rc;
}

void traindata_free(traindata *td)
{
    for (size_t r = 0; r < td->rows; r++) free(td->ids[r]);
    for (int i = 0; i < TD_MAX_INPUTS; i++) free(td->sources[i]);
    free(td->ids);
    free(td->x);
    memset(td, 0, sizeof *td);
}

int labels_load(labelset *ls, const char *path, mm_error *err)
{
    memset(ls, 0, sizeof *ls);
    ls->path = path;
    FILE *fp = fopen(path, "r");
    if (!fp) return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0, alloc = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0 || line[0] == '#') continue;
        char *f[5];
        int nf = 0;
        const char *id, *label;
        if (strchr(line, '\t') && !strchr(strchr(line, '\t') + 1, '\t') && !strchr(line, ' ')) {
            /* id<TAB>label */
            char *tab = strchr(line, '\t');
            *tab = 0;
            id = line, label = tab + 1;
        } else {
            /* qrels: id 0 label rel (rel > 0 counts) */
            for (char *t = strtok(line, " \t"); t && nf < 5; t = strtok(NULL, " \t")) f[nf++] = t;
            if (nf != 4) {
                rc = mm_fail(err, MM_ERR_MALFORMED,
                             "%s:%zu: expected \"id<TAB>label\" or qrels \"id 0 label rel\", found %d field%s", path,
                             lineno, nf, nf == 1 ? "" : "s");
                break;
            }
            char *end;
            long rel = strtol(f[3], &end, 10);
            if (*end) {
                rc = mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: relevance \"%s\" is not an integer", path, lineno, f[3]);
                break;
            }
            if (rel <= 0) continue;
            id = f[0], label = f[2];
        }
        if (!*id || !*label) {
            rc = mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: empty %s", path, lineno, *id ? "label" : "id");
            break;
        }
        if (ls->n == alloc) {
            alloc = alloc ? 2 * alloc : 1024;
            ls->ids = realloc(ls->ids, alloc * sizeof *ls->ids);
            ls->labels = realloc(ls->labels, alloc * sizeof *ls->labels);
            ls->lines = realloc(ls->lines, alloc * sizeof *ls->lines);
            if (!ls->ids || !ls->labels || !ls->lines) {
                rc = mm_fail(err, MM_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
        }
        ls->ids[ls->n] = strdup(id);
        ls->labels[ls->n] = strdup(label);
        ls->lines[ls->n++] = lineno;
    }
    free(line);
    if (!rc && ferror(fp)) rc = mm_fail(err, MM_ERR_IO, "%s: read failed", path);
    fclose(fp);
    if (!rc && ls->n == 0) rc = mm_fail(err, MM_ERR_MALFORMED, "%s: no labels", path);
    if (rc) labels_free(ls);
    return rc;
}

void labels_free(labelset *ls)
{
    for (size_t i = 0; i < ls->n; i++) free(ls->ids[i]), free(ls->labels[i]);
    free(ls->ids);
    free(ls->labels);
    free(ls->lines);
    memset(ls, 0, sizeof *ls);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int labels_match(const labelset *ls, const traindata *td, const char *feature_name, int missing_skip, int **yout,
                 char ***classes_out, int *nclasses, size_t *unmatched_labels, size_t *unlabelled_rows, mm_error *err)
{
    *unmatched_labels = *unlabelled_rows = 0;
    idx_ent *ix = index_ids(td->ids, td->rows);
    int *y = malloc((td->rows ? td->rows : 1) * sizeof *y);
    char **sorted = malloc(ls->n * sizeof *sorted);
    if (!ix || !y || !sorted) {
        free(ix), free(y), free(sorted);
        return mm_fail(err, MM_ERR_NOMEM, "out of memory");
    }
    for (size_t r = 0; r < td->rows; r++) y[r] = -1;
    /* the classes: the distinct labels of matched ids, sorted */
    size_t ns = 0;
    for (size_t i = 0; i < ls->n; i++) {
        long row = find_id(ix, td->rows, ls->ids[i]);
        if (row < 0) {
            if (!missing_skip) {
                mm_fail(err, MM_ERR_MISMATCH, "%s:%zu: id %s has no features in %s (--missing skip ignores it)",
                        ls->path, ls->lines[i], ls->ids[i], feature_name);
                goto fail;
            }
            ++*unmatched_labels;
            continue;
        }
        if (y[row] == -2) {
            mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: id %s has a second label (use --multilabel)", ls->path,
                    ls->lines[i], ls->ids[i]);
            goto fail;
        }
        y[row] = -2;
        sorted[ns++] = ls->labels[i];
    }
    qsort(sorted, ns, sizeof *sorted, cmp_str);
    size_t nc = 0;
    for (size_t i = 0; i < ns; i++)
        if (nc == 0 || strcmp(sorted[nc - 1], sorted[i])) sorted[nc++] = sorted[i];
    for (size_t r = 0; r < td->rows; r++) y[r] = -1;
    for (size_t i = 0; i < ls->n; i++) {
        long row = find_id(ix, td->rows, ls->ids[i]);
        if (row < 0) continue;
        char **c = bsearch(&ls->labels[i], sorted, nc, sizeof *sorted, cmp_str);
        y[row] = (int)(c - sorted);
    }
    for (size_t r = 0; r < td->rows; r++)
        if (y[r] < 0) {
            if (!missing_skip) {
                mm_fail(err, MM_ERR_MISMATCH, "%s: id %s has no label in %s (--missing skip ignores it)",
                        feature_name, td->ids[r], ls->path);
                goto fail;
            }
            ++*unlabelled_rows;
        }
    char **classes = malloc((nc ? nc : 1) * sizeof *classes);
    for (size_t k = 0; k < nc; k++) classes[k] = strdup(sorted[k]);
    free(sorted);
    free(ix);
    *yout = y;
    *classes_out = classes;
    *nclasses = (int)nc;
    return 0;
fail:
    free(ix), free(y), free(sorted);
    return -1;
}
