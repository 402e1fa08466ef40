/* fuzz_npy.c — libFuzzer harness for the .npy reader (lib/io/npy.c) and the
 * feature loader's .npy path (lib/io/featio.c, feat_load with and without
 * an ids file).
 *
 * The same bytes are read twice: as a stream (fmemopen: no size to check
 * the header against, the buffer grows as data arrives) and as a regular
 * file (a memfd, opened by name: the header's size is compared with the
 * file's first). Both must agree — accept the same arrays with the same
 * bytes, or both fail with a message naming the input. An accepted array
 * must be consistent (count = product of shape) and survive a write and
 * re-read unchanged. Never a crash, leak or sanitizer report.
 *   make fuzz && build-fuzz/fuzz_npy -max_total_time=300 tests/fuzz/corpus/npy
 * Seed corpus: tests/fuzz/corpus/npy, small files written by NumPy 1.24's
 * np.lib.format.write_array: every dtype, big-endian, header versions 1-3,
 * 0-d, empty, Fortran order (refused), 8 dimensions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/featio.h"
#include "io/mmf.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failure(const mm_error *err, const char *name)
{
    if (err->kind == MM_ERR_NONE || strncmp(err->msg, name, strlen(name)) != 0) __builtin_trap();
}

static void check_array(const npy_array *a)
{
    if (a->ndim < 0 || a->ndim > NPY_MAX_DIMS || !a->data) __builtin_trap();
    size_t esize = npy_dtype_size(a->dtype), count = 1;
    if (!esize) __builtin_trap();
    for (int i = 0; i < a->ndim; i++) count *= a->shape[i];
    if (count != a->count) __builtin_trap();
}

static int same_array(const npy_array *a, const npy_array *b)
{
    return a->dtype == b->dtype && a->ndim == b->ndim && a->count == b->count &&
           memcmp(a->shape, b->shape, sizeof a->shape) == 0 &&
           memcmp(a->data, b->data, a->count * npy_dtype_size(a->dtype)) == 0;
}

/* Writes what was read and reads it back: the writer must produce a file
 * the reader accepts, holding the same array. */
static void check_rewrite(const npy_array *a)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&buf, &len);
    if (!w) return;
    mm_error err;
    int rc = npy_write_fp(w, "rewrite", a->dtype, a->ndim, a->shape, a->data, &err);
    fclose(w);
    if (rc != 0) __builtin_trap();
    FILE *r = fmemopen(buf, len, "rb");
    npy_array b;
    if (!r || npy_read_fp(r, "rewrite", &b, &err) != 0 || !same_array(a, &b)) __builtin_trap();
    fclose(r);
    npy_free(&b);
    free(buf);
}

/* A memfd holding `n` bytes, named by its /proc path; -1 when unavailable. */
static int memfd_with(const void *bytes, size_t n, char *path, size_t cap)
{
    int fd = memfd_create("fuzz_npy", 0);
    if (fd < 0) return -1;
    if (n && write(fd, bytes, n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

/* feat_load on the file: it accepts exactly the 2-D float arrays with
 * 1 <= dim <= MMF_MAX_DIM the reader accepts, with the same values. */
static void check_featio(const char *path, int read_ok, const npy_array *a)
{
    int want_ok = read_ok && a->ndim == 2 && a->shape[1] >= 1 && a->shape[1] <= MMF_MAX_DIM &&
                  (a->dtype == NPY_F32 || a->dtype == NPY_F16 || a->dtype == NPY_F64);
    mmf_matrix m;
    mm_error err;
    int rc = feat_load(path, FEAT_NPY, NULL, &m, &err);
    if ((rc == 0) != want_ok) __builtin_trap();
    if (rc != 0) {
        check_failure(&err, path);
        return;
    }
    if (m.rows != a->shape[0] || m.dim != a->shape[1]) __builtin_trap();
    if (a->dtype == NPY_F32 && a->count &&
        memcmp(m.data, a->data, a->count * sizeof(float)) != 0)
        __builtin_trap();
    for (size_t i = 0; i < m.rows && i < 3; i++) {
        char want[32];
        snprintf(want, sizeof want, "%zu", i);
        if (strcmp(m.ids[i], want) != 0) __builtin_trap();
    }
    mmf_matrix_free(&m);

    /* With an ids file: one id per row loads; one id too many is a mismatch. */
    if (a->shape[0] > 256) return;
    for (int extra = 0; extra <= 1; extra++) {
        size_t rows = a->shape[0] + (size_t)extra;
        char ids[256 * 8 + 16];
        size_t n = 0;
        for (size_t i = 0; i < rows; i++) n += (size_t)snprintf(ids + n, sizeof ids - n, "r%zu\n", i);
        char ids_path[64];
        int fd = memfd_with(ids, n, ids_path, sizeof ids_path);
        if (fd < 0) return;
        rc = feat_load(path, FEAT_NPY, ids_path, &m, &err);
        if (extra == 0) {
            if (rc != 0 || m.rows != a->shape[0] || (m.rows && strcmp(m.ids[0], "r0") != 0))
                __builtin_trap();
            mmf_matrix_free(&m);
        } else if (rc == 0 || err.kind != MM_ERR_MISMATCH) {
            __builtin_trap();
        }
        close(fd);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* As a stream. fmemopen refuses a size of 0: give it one byte and
     * consume it, so that the reader sees an empty stream. */
    static const uint8_t zero = 0;
    FILE *fp = fmemopen((void *)(size ? data : &zero), size ? size : 1, "rb");
    if (!fp) return 0;
    if (!size) fgetc(fp);
    npy_array a;
    mm_error err;
    int stream_ok = npy_read_fp(fp, "fuzz.npy", &a, &err) == 0;
    fclose(fp);
    if (stream_ok) {
        check_array(&a);
        check_rewrite(&a);
    } else {
        check_failure(&err, "fuzz.npy");
    }

    /* As a regular file, by name: the same verdict and the same array. */
    char path[64];
    int fd = memfd_with(data, size, path, sizeof path);
    if (fd >= 0) {
        npy_array b;
        int file_ok = npy_read(path, &b, &err) == 0;
        if (file_ok != stream_ok) __builtin_trap();
        if (file_ok) {
            if (!same_array(&a, &b)) __builtin_trap();
            npy_free(&b);
        } else {
            check_failure(&err, path);
        }
        check_featio(path, stream_ok, &a);
        close(fd);
    }
    if (stream_ok) npy_free(&a);
    return 0;
}
