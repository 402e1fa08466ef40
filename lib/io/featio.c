/* featio.c — see featio.h. */
#include "io/featio.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/xalloc.h"
#include "kernels/half.h"
#include "io/npy.h"

int feat_format_parse(const char *name)
{
    if (!strcmp(name, "mmf")) return FEAT_MMF;
    if (!strcmp(name, "npy")) return FEAT_NPY;
    if (!strcmp(name, "tsv")) return FEAT_TSV;
    return FEAT_UNKNOWN;
}

const char *feat_format_name(int format)
{
    switch (format) {
    case FEAT_MMF: return "mmf";
    case FEAT_NPY: return "npy";
    case FEAT_TSV: return "tsv";
    }
    return "unknown";
}

int feat_format_from_path(const char *path)
{
    if (!path) return FEAT_UNKNOWN;
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return FEAT_UNKNOWN;
    if (!strcmp(dot, ".mmf")) return FEAT_MMF;
    if (!strcmp(dot, ".npy")) return FEAT_NPY;
    if (!strcmp(dot, ".tsv") || !strcmp(dot, ".txt")) return FEAT_TSV;
    return FEAT_UNKNOWN;
}

/* ---- TSV ------------------------------------------------------------------------ */
struct tsv_feature_reader {
    FILE *fp;
    char *name;
    char *line;
    size_t line_cap;
    long lineno;
    float *vec;
    size_t cap, dim; /* dim 0 until the first line fixes it */
};

tsv_feature_reader *tsv_feature_open(FILE *fp, const char *name, mm_error *err)
{
    (void)err; /* cannot fail; the parameter keeps the readers' one shape */
    tsv_feature_reader *r = xcalloc(1, sizeof *r);
    r->name = xstrdup(name);
    r->fp = fp;
    return r;
}

void tsv_feature_close(tsv_feature_reader *r)
{
    if (!r) return;
    free(r->line);
    free(r->vec);
    free(r->name);
    free(r);
}

int tsv_feature_next(tsv_feature_reader *r, const char **id, const float **vec, size_t *dim,
                     mm_error *err)
{
    for (;;) {
        errno = 0;
        ssize_t len = getline(&r->line, &r->line_cap, r->fp);
        if (len < 0) {
            if (ferror(r->fp))
                return mm_fail(err, MM_ERR_IO, "%s: read error: %s", r->name, strerror(errno));
            return 0;
        }
        r->lineno++;
        if (len > 0 && r->line[len - 1] == '\n') r->line[--len] = 0;
        if (len > 0 && r->line[len - 1] == '\r') r->line[--len] = 0;
        if (len == 0) continue;
        if ((size_t)len != strlen(r->line))
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: NUL byte in line", r->name, r->lineno);
        char *tab = strchr(r->line, '\t');
        if (!tab)
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: expected 'id<TAB>values', found no tab",
                           r->name, r->lineno);
        *tab = 0;
        if (tab == r->line)
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: empty id", r->name, r->lineno);
        if (!mmf_valid_id(r->line, (size_t)(tab - r->line)))
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: id is not valid UTF-8 or longer than %u bytes",
                           r->name, r->lineno, MMF_MAX_ID_LEN);
        size_t n = 0;
        char *p = tab + 1;
        for (;;) {
            while (*p == ' ' || *p == '\t') p++;
            if (!*p) break;
            char *end;
            errno = 0;
            float v = strtof(p, &end);
            if (end == p || (*end && *end != ' ' && *end != '\t'))
                return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: value %zu is not a number: '%.20s'",
                               r->name, r->lineno, n + 1, p);
            if (errno == ERANGE && isinf(v))
                return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: value %zu is out of float32 range: '%.*s'",
                               r->name, r->lineno, n + 1, (int)(end - p), p);
            if (n >= MMF_MAX_DIM)
                return mm_fail(err, MM_ERR_LIMIT, "%s:%ld: more than %u values", r->name,
                               r->lineno, MMF_MAX_DIM);
            if (n == r->cap) { /* n < MMF_MAX_DIM */
                r->cap = r->cap ? r->cap * 2 : 256;
                r->vec = xrealloc(r->vec, r->cap * sizeof *r->vec);
            }
            r->vec[n++] = v;
            p = end;
        }
        if (n == 0)
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: no values after the id", r->name,
                           r->lineno);
        if (r->dim == 0) r->dim = n;
        else if (n != r->dim)
            return mm_fail(err, MM_ERR_MISMATCH, "%s:%ld: %zu values, but earlier lines have %zu",
                           r->name, r->lineno, n, r->dim);
        *id = r->line;
        *vec = r->vec;
        *dim = n;
        return 1;
    }
}

int tsv_feature_write(FILE *fp, const char *name, const char *id, const float *vec, size_t dim,
                      mm_error *err)
{
    if (fputs(id, fp) == EOF) goto fail;
    for (size_t i = 0; i < dim; i++)
        if (fprintf(fp, i ? " %.9g" : "\t%.9g", (double)vec[i]) < 0) goto fail;
    if (fputc('\n', fp) == EOF) goto fail;
    return 0;
fail:
    return mm_fail(err, MM_ERR_IO, "%s: write error: %s", name, strerror(errno));
}

char **feat_read_ids(const char *path, size_t *count, mm_error *err)
{
    FILE *fp = (!strcmp(path, "-")) ? stdin : fopen(path, "rb");
    if (!fp) {
        mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0, n = 0, ncap = 0;
    char **ids = NULL;
    ssize_t len;
    long lineno = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
        if (len > 0 && line[len - 1] == '\r') line[--len] = 0;
        if (!mmf_valid_id(line, (size_t)len)) {
            mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: %s", path, lineno,
                    len == 0 ? "empty id" : (size_t)len > MMF_MAX_ID_LEN ? "id too long"
                                                                       : "id is not valid UTF-8 (or has a NUL byte)");
            goto fail;
        }
        if (n + 1 >= ncap) {
            ncap = ncap ? ncap * 2 : 1024;
            ids = xrealloc(ids, ncap * sizeof *ids);
        }
        ids[n++] = xstrdup(line);
        ids[n] = NULL;
    }
    if (ferror(fp)) {
        mm_fail(err, MM_ERR_IO, "%s: read error", path);
        goto fail;
    }
    free(line);
    if (fp != stdin) fclose(fp);
    if (!ids) ids = xcalloc(1, sizeof *ids);
    *count = n;
    return ids;
fail:
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    free(line);
    if (fp != stdin) fclose(fp);
    return NULL;
}

/* Builds a matrix from rows of floats (taken over) and ids (copied). */
static void matrix_from(mmf_matrix *m, size_t rows, uint32_t dim, float *data_owned, char **ids)
{
    memset(m, 0, sizeof *m);
    size_t arena = 0;
    for (size_t i = 0; i < rows; i++) arena += strlen(ids[i]) + 1;
    m->id_arena = xmalloc(arena ? arena : 1);
    m->ids = xmalloc((rows ? rows : 1) * sizeof *m->ids);
    size_t off = 0;
    for (size_t i = 0; i < rows; i++) {
        size_t l = strlen(ids[i]) + 1;
        memcpy(m->id_arena + off, ids[i], l);
        m->ids[i] = m->id_arena + off;
        off += l;
    }
    m->rows = rows;
    m->dim = dim;
    m->data = data_owned;
    mmf_header_init(&m->header, dim, MMF_F32, 0);
    m->all_normalized = false;
}

static void free_ids(char **ids)
{
    if (!ids) return;
    for (size_t i = 0; ids[i]; i++) free(ids[i]);
    free(ids);
}

static int load_npy(const char *path, const char *ids_path, mmf_matrix *m, mm_error *err)
{
    const char *name = path && strcmp(path, "-") ? path : "(stdin)";
    npy_array a;
    if (npy_read(path, &a, err)) return -1;
    if (a.ndim != 2 || a.shape[1] == 0 || a.shape[1] > MMF_MAX_DIM) {
        npy_free(&a);
        return mm_fail(err, MM_ERR_MALFORMED,
                       "%s: expected a 2-D array [rows, dim] with 1 <= dim <= %u", name, MMF_MAX_DIM);
    }
    if (a.dtype != NPY_F32 && a.dtype != NPY_F16 && a.dtype != NPY_F64) {
        int dtype = a.dtype;
        npy_free(&a);
        return mm_fail(err, MM_ERR_UNSUPPORTED, "%s: dtype %s; feature arrays must be float32, float16 or float64",
                       name, npy_dtype_descr(dtype));
    }
    size_t rows = a.shape[0], dim = a.shape[1];
    /* as many values as the array npy_read has already read (and limited) */
    float *data = xmalloc((rows ? rows * dim : 1) * sizeof(float));
    if (a.dtype == NPY_F32) memcpy(data, a.data, rows * dim * sizeof(float));
    else if (a.dtype == NPY_F16) mm_f16_to_f32_n(a.data, data, rows * dim);
    else
        for (size_t i = 0; i < rows * dim; i++) data[i] = (float)((double *)a.data)[i];
    npy_free(&a);

    char **ids = NULL;
    size_t nids = 0;
    if (ids_path) {
        ids = feat_read_ids(ids_path, &nids, err);
        if (!ids) {
            free(data);
            return -1;
        }
        if (nids != rows) {
            free_ids(ids);
            free(data);
            return mm_fail(err, MM_ERR_MISMATCH, "%s: %zu ids for %zu rows of %s", ids_path, nids,
                           rows, name);
        }
    } else {
        ids = xcalloc(rows + 1, sizeof *ids);
        for (size_t i = 0; i < rows; i++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%zu", i);
            ids[i] = xstrdup(buf);
        }
    }
    matrix_from(m, rows, (uint32_t)dim, data, ids);
    free_ids(ids);
    return 0;
}

static int load_tsv(FILE *fp, const char *name, mmf_matrix *m, mm_error *err)
{
    tsv_feature_reader *r = tsv_feature_open(fp, name, err);
    if (!r) return -1;
    size_t rows = 0, cap = 0, dim = 0, icap = 0;
    float *data = NULL;
    char **ids = NULL;
    const char *id;
    const float *vec;
    size_t d;
    int rc;
    while ((rc = tsv_feature_next(r, &id, &vec, &d, err)) == 1) {
        dim = d;
        if (rows == cap) {
            cap = cap ? cap * 2 : 1024;
            data = xrealloc(data, cap * dim * sizeof(float));
        }
        if (rows + 1 >= icap) {
            icap = icap ? icap * 2 : 1024;
            ids = xrealloc(ids, icap * sizeof *ids);
        }
        memcpy(data + rows * dim, vec, dim * sizeof(float));
        ids[rows] = xstrdup(id);
        ids[++rows] = NULL;
    }
    tsv_feature_close(r);
    if (rc < 0 || rows == 0) {
        free_ids(ids);
        free(data);
        if (rc < 0) return -1;
        return mm_fail(err, MM_ERR_MALFORMED, "%s: no vectors in TSV input", name);
    }
    matrix_from(m, rows, (uint32_t)dim, data, ids);
    free_ids(ids);
    return 0;
}

int feat_load(const char *path, int format, const char *ids_path, mmf_matrix *m, mm_error *err)
{
    int is_stdin = !path || !strcmp(path, "-");
    const char *name = is_stdin ? "(stdin)" : path;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp) return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    /* fopen accepts a directory; its reads fail, which would say "empty input". */
    struct stat st;
    if (!is_stdin && fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        return mm_fail(err, MM_ERR_IO, "%s: is a directory", path);
    }
    if (format == FEAT_UNKNOWN) format = feat_format_from_path(is_stdin ? NULL : path);
    if (format == FEAT_UNKNOWN) {
        int c = getc(fp);
        if (c == EOF) {
            if (!is_stdin) fclose(fp);
            return mm_fail(err, MM_ERR_TRUNCATED, "%s: empty input", name);
        }
        ungetc(c, fp);
        /* The first byte tells the three apart (0x89 MMF, 0x93 NumPy, text). */
        format = c == 0x89 ? FEAT_MMF : c == 0x93 ? FEAT_NPY : FEAT_TSV;
    }
    int rc;
    if (format == FEAT_MMF) {
        mmf_reader *r = mmf_open_fp(fp, name, err);
        rc = r ? mmf_load_reader(r, m, err) : -1;
        mmf_close(r);
    } else if (format == FEAT_NPY) {
        /* load_npy reads by path; on stdin any byte sniffed above was pushed back. */
        if (!is_stdin) fclose(fp);
        return load_npy(is_stdin ? "-" : path, ids_path, m, err);
    } else {
        rc = load_tsv(fp, name, m, err);
    }
    if (!is_stdin) fclose(fp);
    return rc;
}
