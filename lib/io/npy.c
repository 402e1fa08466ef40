/* npy.c — NumPy .npy read/write (see npy.h).
 *
 * The header is a Python dict literal, e.g.
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 224, 224), }
 * padded with spaces and a newline so that the data starts 64-byte aligned.
 * We parse exactly the three keys NumPy writes, in any order, and nothing
 * else: this is a data format, not a Python interpreter.
 */
#include "io/npy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/xalloc.h"

#define NPY_MAX_HEADER (1u << 20)
/* Refuse arrays above 16 GiB: a corrupt shape must not trigger a huge malloc. */
#define NPY_MAX_BYTES ((size_t)1 << 34)

static const struct {
    int dtype;
    const char *le;  /* little-endian or byte-order-free descr */
    const char *be;  /* big-endian descr, NULL when not applicable */
    const char *alt; /* other accepted spelling */
    size_t size;
} DTYPES[] = {
    {NPY_F32, "<f4", ">f4", NULL, 4}, {NPY_F16, "<f2", ">f2", NULL, 2},
    {NPY_F64, "<f8", ">f8", NULL, 8}, {NPY_U8, "|u1", NULL, "<u1", 1},
    {NPY_I32, "<i4", ">i4", NULL, 4}, {NPY_I64, "<i8", ">i8", NULL, 8},
};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

size_t npy_dtype_size(int dtype)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (DTYPES[i].dtype == dtype) return DTYPES[i].size;
    return 0;
}

const char *npy_dtype_descr(int dtype)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (DTYPES[i].dtype == dtype) return DTYPES[i].le;
    return "?";
}

/* ---- header dict parsing ------------------------------------------------------ */
typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int accept(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes (all NumPy writes here). */
static int parse_str(cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap) return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return -1;
    c->p++;
    out[n] = 0;
    return 0;
}

/* h is the header text, which starts at byte base of the file. */
static int parse_header(const char *name, const char *h, size_t len, size_t base, npy_array *a,
                        int *swap, int *fortran, mm_error *err)
{
    cursor c = {h, h + len};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!accept(&c, '{')) return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header is not a dict", name);
    while (!accept(&c, '}')) {
        char key[32];
        if (parse_str(&c, key, sizeof key) || !accept(&c, ':'))
            return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header: expected 'key':", name);
        if (!strcmp(key, "descr")) {
            char d[16];
            if (parse_str(&c, d, sizeof d))
                return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header: bad descr", name);
            a->dtype = 0;
            for (size_t i = 0; i < N_DTYPES; i++) {
                if (!strcmp(d, DTYPES[i].le) || (DTYPES[i].alt && !strcmp(d, DTYPES[i].alt))) {
                    a->dtype = DTYPES[i].dtype;
                    *swap = 0;
                } else if (DTYPES[i].be && !strcmp(d, DTYPES[i].be)) {
                    a->dtype = DTYPES[i].dtype;
                    *swap = 1;
                }
            }
            if (!a->dtype)
                return mm_fail(err, MM_ERR_UNSUPPORTED,
                               "%s: npy dtype '%s' not supported (supported: <f4 <f2 <f8 |u1 <i4 <i8)",
                               name, d);
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            skip_ws(&c);
            if ((size_t)(c.end - c.p) >= 4 && !memcmp(c.p, "True", 4)) {
                *fortran = 1;
                c.p += 4;
            } else if ((size_t)(c.end - c.p) >= 5 && !memcmp(c.p, "False", 5)) {
                *fortran = 0;
                c.p += 5;
            } else {
                return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header: bad fortran_order", name);
            }
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (!accept(&c, '('))
                return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header: bad shape", name);
            a->ndim = 0;
            int comma = 0; /* a ',' after the last number: "(3,)" is a tuple, "(3)" an int */
            while (!accept(&c, ')')) {
                skip_ws(&c);
                if (c.p >= c.end || *c.p < '0' || *c.p > '9')
                    return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header: bad shape", name);
                size_t v = 0, at = base + (size_t)(c.p - h);
                while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
                    if (v > NPY_MAX_BYTES)
                        return mm_fail(err, MM_ERR_LIMIT,
                                       "%s: byte %zu: npy shape: a dimension exceeds the limit of "
                                       "%zu",
                                       name, at, NPY_MAX_BYTES);
                    v = v * 10 + (size_t)(*c.p++ - '0');
                }
                if (a->ndim >= NPY_MAX_DIMS)
                    return mm_fail(err, MM_ERR_LIMIT,
                                   "%s: byte %zu: npy shape: more than %d dimensions exceeds the "
                                   "limit",
                                   name, at, NPY_MAX_DIMS);
                a->shape[a->ndim++] = v;
                comma = accept(&c, ',');
                if (!comma) {
                    if (!accept(&c, ')'))
                        return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header: bad shape", name);
                    break;
                }
            }
            if (a->ndim == 1 && !comma)
                return mm_fail(err, MM_ERR_MALFORMED,
                               "%s: npy header: bad shape: (%zu) is not a tuple (NumPy writes (%zu,))",
                               name, a->shape[0], a->shape[0]);
            have_shape = 1;
        } else {
            return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header: unknown key '%s'", name, key);
        }
        if (!accept(&c, ',')) {
            if (!accept(&c, '}'))
                return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header: expected ',' or '}'", name);
            break;
        }
    }
    /* After the dict only NumPy's padding (spaces, then '\n') may follow:
     * np.load evaluates the whole header, so it refuses anything else too. */
    skip_ws(&c);
    if (c.p != c.end)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header: unexpected text after the dict", name);
    if (!have_descr || !have_order || !have_shape)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: npy header lacks descr, fortran_order or shape",
                       name);
    return 0;
}

static void byteswap(void *data, size_t count, size_t size)
{
    unsigned char *p = data;
    for (size_t i = 0; i < count; i++, p += size)
        for (size_t k = 0; k < size / 2; k++) {
            unsigned char t = p[k];
            p[k] = p[size - 1 - k];
            p[size - 1 - k] = t;
        }
}

int npy_read_fp(FILE *fp, const char *name, npy_array *a, mm_error *err)
{
    memset(a, 0, sizeof *a);
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, fp);
    if (got < 10)
        return mm_fail(err, got == 0 && !ferror(fp) ? MM_ERR_TRUNCATED : MM_ERR_MALFORMED,
                       "%s: not a .npy file (too short)", name);
    if (memcmp(pre, "\x93NUMPY", 6) != 0)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: not a .npy file (bad magic)", name);
    int major = pre[6];
    size_t hlen;
    if (major == 1) {
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    } else if (major == 2 || major == 3) {
        if (fread(pre + 10, 1, 2, fp) != 2)
            return mm_fail(err, MM_ERR_TRUNCATED, "%s: truncated .npy header", name);
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8) | ((size_t)pre[10] << 16) |
               ((size_t)pre[11] << 24);
    } else {
        return mm_fail(err, MM_ERR_UNSUPPORTED, "%s: .npy format version %d not supported", name,
                       major);
    }
    if (hlen > NPY_MAX_HEADER)
        return mm_fail(err, MM_ERR_LIMIT,
                       "%s: byte 8: .npy header length %zu exceeds the limit of %u bytes", name,
                       hlen, NPY_MAX_HEADER);
    size_t base = major == 1 ? 10 : 12;
    char *h = xmalloc(hlen + 1); /* hlen <= NPY_MAX_HEADER */
    if (fread(h, 1, hlen, fp) != hlen) {
        free(h);
        return mm_fail(err, MM_ERR_TRUNCATED, "%s: truncated .npy header", name);
    }
    h[hlen] = 0;
    int swap = 0, fortran = 0;
    int rc = parse_header(name, h, hlen, base, a, &swap, &fortran, err);
    free(h);
    if (rc) return -1;
    if (fortran)
        return mm_fail(err, MM_ERR_UNSUPPORTED,
                       "%s: Fortran-order arrays are not supported (save with np.ascontiguousarray)",
                       name);
    size_t count = 1, esize = npy_dtype_size(a->dtype);
    bool too_big = false;
    for (int i = 0; i < a->ndim; i++) {
        if (a->shape[i] && count > NPY_MAX_BYTES / a->shape[i]) too_big = true;
        count *= a->shape[i];
    }
    if (too_big || count > NPY_MAX_BYTES / esize) {
        char shape[NPY_MAX_DIMS * 22 + 4];
        size_t sl = 0;
        for (int i = 0; i < a->ndim; i++)
            sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%s%zu", i ? ", " : "", a->shape[i]);
        return mm_fail(err, MM_ERR_LIMIT,
                       "%s: byte %zu: .npy shape (%s) of %zu-byte elements exceeds the limit of "
                       "%zu bytes",
                       name, base, shape, esize, NPY_MAX_BYTES);
    }
    a->count = count;
    /* Never trust the header's size for the allocation: for a regular file,
     * compare it with what is left of the file; for a pipe, grow the buffer
     * as data arrives. A 100-byte file claiming 4 GiB is "truncated", not
     * "out of memory". */
    struct stat st;
    long pos = ftell(fp);
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && pos >= 0 &&
        (uint64_t)(st.st_size - pos) < (uint64_t)count * esize)
        return mm_fail(err, MM_ERR_TRUNCATED,
                       "%s: truncated .npy data: the header promises %zu bytes, the file has %lld",
                       name, count * esize, (long long)(st.st_size - pos));
    size_t want = count * esize, have = 0, cap = 0;
    unsigned char *buf = NULL;
    while (have < want) {
        size_t step = want - have < ((size_t)64 << 20) ? want - have : ((size_t)64 << 20);
        if (have + step > cap) {
            size_t ncap = cap ? cap * 2 : step;
            if (ncap < have + step) ncap = have + step;
            if (ncap > want) ncap = want;
            /* the header's size, limited above (NPY_MAX_BYTES): the input's
             * to ask for, so running out of memory is reported, not fatal */
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return mm_fail(err, MM_ERR_NOMEM,
                               "%s: byte %zu: out of memory for the %zu-byte .npy array", name,
                               base + hlen, want);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + have, 1, step, fp);
        have += got;
        if (got < step) break;
    }
    if (have < want) {
        free(buf);
        return mm_fail(err, MM_ERR_TRUNCATED, "%s: truncated .npy data: %zu of %zu elements", name,
                       have / esize, count);
    }
    a->data = buf ? buf : xmalloc(1);
    if (fgetc(fp) != EOF) {
        npy_free(a);
        return mm_fail(err, MM_ERR_MALFORMED, "%s: trailing bytes after the .npy data", name);
    }
    if (swap) byteswap(a->data, count, esize);
    return 0;
}

int npy_read(const char *path, npy_array *a, mm_error *err)
{
    if (!path || !strcmp(path, "-")) return npy_read_fp(stdin, "(stdin)", a, err);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        memset(a, 0, sizeof *a);
        return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    }
    int rc = npy_read_fp(fp, path, a, err);
    fclose(fp);
    return rc;
}

void npy_free(npy_array *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

int npy_write_header(FILE *fp, const char *name, int dtype, int ndim, const size_t *shape,
                     mm_error *err)
{
    if (ndim < 0 || ndim > NPY_MAX_DIMS || !npy_dtype_size(dtype))
        return mm_fail(err, MM_ERR_UNSUPPORTED, "%s: cannot write this array as .npy", name);
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     npy_dtype_descr(dtype));
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu%s", shape[i],
                      (ndim == 1 || i + 1 < ndim) ? ", " : "");
    if (ndim == 1) n -= 1; /* "(5,)" rather than "(5, )" */
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* Pad with spaces so that magic+len+dict+'\n' is a multiple of 64. */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    size_t hlen = (size_t)n + pad + 1;
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);
    if (fwrite(pre, 1, 10, fp) != 10 || fwrite(dict, 1, (size_t)n, fp) != (size_t)n)
        return mm_fail(err, MM_ERR_IO, "%s: write error: %s", name, strerror(errno));
    for (size_t i = 0; i < pad; i++)
        if (fputc(' ', fp) == EOF)
            return mm_fail(err, MM_ERR_IO, "%s: write error: %s", name, strerror(errno));
    if (fputc('\n', fp) == EOF)
        return mm_fail(err, MM_ERR_IO, "%s: write error: %s", name, strerror(errno));
    return 0;
}

int npy_write_fp(FILE *fp, const char *name, int dtype, int ndim, const size_t *shape,
                 const void *data, mm_error *err)
{
    if (npy_write_header(fp, name, dtype, ndim, shape, err)) return -1;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= shape[i];
    if (count && fwrite(data, npy_dtype_size(dtype), count, fp) != count)
        return mm_fail(err, MM_ERR_IO, "%s: write error: %s", name, strerror(errno));
    return 0;
}

int npy_write(const char *path, int dtype, int ndim, const size_t *shape, const void *data,
              mm_error *err)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    int rc = npy_write_fp(fp, path, dtype, ndim, shape, data, err);
    if (fclose(fp) != 0 && rc == 0)
        rc = mm_fail(err, MM_ERR_IO, "%s: write error: %s", path, strerror(errno));
    return rc;
}
