/* test_npy.c — .npy reader/writer: round trips, hand-made headers (v2, v3,
 * big-endian), and every kind of bad input. */
#include "io/npy.h"
#include "test.h"

#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------- */

/* Writes an array into a memory buffer (caller frees *buf). */
static int write_mem(int dtype, int ndim, const size_t *shape, const void *data, char **buf,
                     size_t *len, mm_error *err)
{
    FILE *fp = open_memstream(buf, len);
    if (!fp) abort();
    int rc = npy_write_fp(fp, "mem", dtype, ndim, shape, data, err);
    fclose(fp);
    return rc;
}

/* Reads an array from bytes. */
static int read_mem(const void *bytes, size_t len, npy_array *a, mm_error *err)
{
    FILE *fp = fmemopen((void *)bytes, len ? len : 1, "rb");
    if (!fp) abort();
    if (len == 0) fgetc(fp); /* fmemopen needs size > 0: consume the dummy byte */
    int rc = npy_read_fp(fp, "mem.npy", a, err);
    fclose(fp);
    return rc;
}

/* Builds a complete .npy file from a version, a dict text and raw data.
 * The dict is padded with spaces and '\n' to a 64-byte boundary. */
static size_t make_npy(unsigned char *out, int major, const char *dict, const void *data,
                       size_t data_len)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = pre + dl + 1, pad = (64 - total % 64) % 64, hlen = dl + pad + 1;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    if (major == 1) {
        out[8] = (unsigned char)hlen;
        out[9] = (unsigned char)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++) out[8 + i] = (unsigned char)(hlen >> (8 * i));
    }
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', pad);
    out[pre + dl + pad] = '\n';
    if (data_len) memcpy(out + pre + hlen, data, data_len);
    return pre + hlen + data_len;
}

static void fill_pattern(void *data, int dtype, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        switch (dtype) {
        case NPY_F32: ((float *)data)[i] = (float)i * 0.37f - 3.5f; break;
        case NPY_F16: ((uint16_t *)data)[i] = (uint16_t)(0x3c00 + i * 17); break;
        case NPY_F64: ((double *)data)[i] = (double)i * 1e-3 - 7.25; break;
        case NPY_U8: ((uint8_t *)data)[i] = (uint8_t)(i * 31); break;
        case NPY_I32: ((int32_t *)data)[i] = (int32_t)(i * 100003) - 50; break;
        case NPY_I64: ((int64_t *)data)[i] = (int64_t)i * 10000000007LL - 9; break;
        }
    }
}

/* ---- round trips -------------------------------------------------------------- */

static void test_roundtrip_dtypes_and_shapes(void)
{
    static const int dtypes[] = {NPY_F32, NPY_F16, NPY_F64, NPY_U8, NPY_I32, NPY_I64};
    static const struct {
        int ndim;
        size_t shape[4];
    } shapes[] = {
        {0, {0}},          /* 0-d scalar */
        {1, {5}},          /* 1-d */
        {1, {0}},          /* empty 1-d */
        {2, {3, 4}},       /* matrix */
        {2, {0, 512}},     /* no rows */
        {3, {2, 3, 5}},    /* 3-d */
        {4, {1, 1, 1, 7}}, /* 4-d */
    };
    for (size_t d = 0; d < sizeof dtypes / sizeof *dtypes; d++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            int dt = dtypes[d];
            size_t count = 1;
            for (int i = 0; i < shapes[s].ndim; i++) count *= shapes[s].shape[i];
            size_t esize = npy_dtype_size(dt);
            unsigned char *data = malloc(count * esize + 1);
            fill_pattern(data, dt, count);
            char *buf = NULL;
            size_t len = 0;
            mm_error err = {0};
            CHECK(write_mem(dt, shapes[s].ndim, shapes[s].shape, data, &buf, &len, &err) == 0);
            /* header + data, header padded to a multiple of 64 */
            CHECK_EQ_INT((len - count * esize) % 64, 0);
            CHECK(buf[len - count * esize - 1] == '\n');
            npy_array a;
            int rc = read_mem(buf, len, &a, &err);
            CHECK_MSG(rc == 0, "dtype %s ndim %d: %s", npy_dtype_descr(dt), shapes[s].ndim,
                      err.msg);
            if (rc == 0) {
                CHECK_EQ_INT(a.dtype, dt);
                CHECK_EQ_INT(a.ndim, shapes[s].ndim);
                for (int i = 0; i < a.ndim; i++) CHECK_EQ_INT(a.shape[i], shapes[s].shape[i]);
                CHECK_EQ_INT(a.count, count);
                CHECK(count == 0 || memcmp(a.data, data, count * esize) == 0);
                npy_free(&a);
            }
            free(buf);
            free(data);
        }
}

/* The exact header text NumPy itself writes for the common shapes. */
static void test_header_text(void)
{
    char *buf = NULL;
    size_t len = 0;
    mm_error err;
    float v[6] = {0};
    size_t shape2[2] = {2, 3}, shape1[1] = {6};
    CHECK(write_mem(NPY_F32, 2, shape2, v, &buf, &len, &err) == 0);
    CHECK(len == 128 + 24);
    CHECK(memcmp(buf, "\x93NUMPY\x01\x00\x76\x00", 10) == 0);
    const char *want2 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    CHECK(memcmp(buf + 10, want2, strlen(want2)) == 0);
    free(buf);
    CHECK(write_mem(NPY_F32, 1, shape1, v, &buf, &len, &err) == 0);
    const char *want1 = "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }";
    CHECK(memcmp(buf + 10, want1, strlen(want1)) == 0);
    free(buf);
    CHECK(write_mem(NPY_U8, 0, NULL, v, &buf, &len, &err) == 0);
    const char *want0 = "{'descr': '|u1', 'fortran_order': False, 'shape': (), }";
    CHECK(memcmp(buf + 10, want0, strlen(want0)) == 0);
    CHECK_EQ_INT(len, 128 + 1); /* 10 + 55 + '\n' > 64: padded to 128, as NumPy does */
    free(buf);
}

static void test_write_read_file(void)
{
    char dir[] = "/tmp/test_npy.XXXXXX";
    if (!mkdtemp(dir)) abort();
    char path[64];
    snprintf(path, sizeof path, "%s/a.npy", dir);
    double d[4] = {1.5, -2.25, 1e300, -0.0};
    size_t shape[2] = {2, 2};
    mm_error err;
    CHECK(npy_write(path, NPY_F64, 2, shape, d, &err) == 0);
    npy_array a;
    CHECK(npy_read(path, &a, &err) == 0);
    CHECK(a.dtype == NPY_F64 && a.ndim == 2 && a.count == 4);
    CHECK(a.data && memcmp(a.data, d, sizeof d) == 0);
    npy_free(&a);
    unlink(path);
    CHECK(npy_read(path, &a, &err) == -1);
    CHECK_EQ_INT(err.kind, MM_ERR_IO);
    CHECK(strstr(err.msg, path) != NULL);
    snprintf(path, sizeof path, "%s/no/such/dir.npy", dir);
    CHECK(npy_write(path, NPY_F64, 2, shape, d, &err) == -1);
    CHECK_EQ_INT(err.kind, MM_ERR_IO);
    rmdir(dir);
    /* unwritable dtype / ndim */
    char *buf = NULL;
    size_t len;
    CHECK(write_mem(0, 1, shape, d, &buf, &len, &err) == -1);
    free(buf);
    buf = NULL;
    CHECK(write_mem(NPY_F32, NPY_MAX_DIMS + 1, shape, d, &buf, &len, &err) == -1);
    free(buf);
}

/* ---- headers written by hand ------------------------------------------------------ */

static void test_v2_and_v3_headers(void)
{
    unsigned char file[256];
    float v[3] = {1.0f, -2.0f, 0.5f};
    for (int major = 2; major <= 3; major++) {
        size_t n = make_npy(file, major, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                            v, sizeof v);
        npy_array a;
        mm_error err;
        CHECK_MSG(read_mem(file, n, &a, &err) == 0, "v%d: %s", major, err.msg);
        CHECK(a.dtype == NPY_F32 && a.ndim == 1 && a.shape[0] == 3);
        CHECK(a.data && memcmp(a.data, v, sizeof v) == 0);
        npy_free(&a);
    }
}

/* Keys in another order, double quotes, no trailing comma, extra spaces. */
static void test_header_variants(void)
{
    unsigned char file[256];
    int32_t v[4] = {1, -2, 3, -4};
    const char *dicts[] = {
        "{'shape': (2, 2), 'fortran_order': False, 'descr': '<i4'}",
        "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2,2)}",
        "{ 'descr' : '<i4' , 'fortran_order' : False , 'shape' : ( 2 , 2 , ) , }",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }\t\r\n ",
        "{'descr': '<i4', 'fortran_order': False, 'shape': (4, ), }",
    };
    for (size_t i = 0; i < sizeof dicts / sizeof *dicts; i++) {
        size_t n = make_npy(file, 1, dicts[i], v, sizeof v);
        npy_array a;
        mm_error err;
        CHECK_MSG(read_mem(file, n, &a, &err) == 0, "%s: %s", dicts[i], err.msg);
        CHECK(a.dtype == NPY_I32 && a.ndim == (i == 4 ? 1 : 2) && a.count == 4);
        CHECK(a.data && memcmp(a.data, v, sizeof v) == 0);
        npy_free(&a);
    }
    /* '<u1' is accepted for '|u1' */
    unsigned char u[3] = {1, 2, 255};
    size_t n = make_npy(file, 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }", u, 3);
    npy_array a;
    mm_error err;
    CHECK(read_mem(file, n, &a, &err) == 0 && a.dtype == NPY_U8);
    npy_free(&a);
}

static void test_big_endian_swapped(void)
{
    unsigned char file[256];
    /* 1.0f, -2.5f, 3.0e-40f (subnormal) as big-endian bytes */
    float want[3] = {1.0f, -2.5f, 3.0e-40f};
    unsigned char be[12];
    for (int i = 0; i < 3; i++) {
        uint32_t u;
        memcpy(&u, &want[i], 4);
        for (int k = 0; k < 4; k++) be[4 * i + k] = (unsigned char)(u >> (24 - 8 * k));
    }
    size_t n = make_npy(file, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", be, 12);
    npy_array a;
    mm_error err;
    CHECK_MSG(read_mem(file, n, &a, &err) == 0, "%s", err.msg);
    CHECK(a.dtype == NPY_F32);
    CHECK(a.data && memcmp(a.data, want, sizeof want) == 0);
    npy_free(&a);

    /* >f8, >i4, >f2 and >i8 */
    unsigned char d8[8] = {0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}; /* pi */
    n = make_npy(file, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", d8, 8);
    CHECK(read_mem(file, n, &a, &err) == 0 && a.dtype == NPY_F64);
    CHECK(a.data && *(double *)a.data == 3.141592653589793);
    npy_free(&a);
    unsigned char i4[8] = {0xff, 0xff, 0xff, 0xfe, 0x00, 0x01, 0x00, 0x00};
    n = make_npy(file, 1, "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", i4, 8);
    CHECK(read_mem(file, n, &a, &err) == 0 && a.dtype == NPY_I32);
    CHECK(a.data && ((int32_t *)a.data)[0] == -2 && ((int32_t *)a.data)[1] == 65536);
    npy_free(&a);
    unsigned char f2[2] = {0x3c, 0x00};
    n = make_npy(file, 1, "{'descr': '>f2', 'fortran_order': False, 'shape': (), }", f2, 2);
    CHECK(read_mem(file, n, &a, &err) == 0 && a.dtype == NPY_F16 && a.ndim == 0);
    CHECK(a.data && *(uint16_t *)a.data == 0x3c00);
    npy_free(&a);
    unsigned char i8[8] = {0x80, 0, 0, 0, 0, 0, 0, 1};
    n = make_npy(file, 1, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", i8, 8);
    CHECK(read_mem(file, n, &a, &err) == 0 && a.dtype == NPY_I64);
    CHECK(a.data && *(int64_t *)a.data == INT64_MIN + 1);
    npy_free(&a);
}

/* ---- bad input ----------------------------------------------------------------------- */

static void expect_fail(const unsigned char *file, size_t n, int kind, const char *needle,
                        const char *label)
{
    npy_array a;
    mm_error err = {0};
    int rc = read_mem(file, n, &a, &err);
    CHECK_MSG(rc == -1, "%s: accepted", label);
    if (rc == 0) {
        npy_free(&a);
        return;
    }
    CHECK_MSG(a.data == NULL, "%s: data left allocated", label);
    if (kind) CHECK_MSG(err.kind == kind, "%s: kind %s (%s)", label, mm_error_kind_name(err.kind), err.msg);
    if (needle) CHECK_MSG(strstr(err.msg, needle) != NULL, "%s: message '%s'", label, err.msg);
    CHECK_MSG(strncmp(err.msg, "mem.npy: ", 9) == 0, "%s: message does not name the file: '%s'",
              label, err.msg);
}

static void test_bad_magic_and_version(void)
{
    unsigned char file[256];
    float v[2] = {1, 2};
    size_t n = make_npy(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", v, 8);
    file[1] = 'n';
    expect_fail(file, n, MM_ERR_MALFORMED, "magic", "bad magic");
    file[1] = 'N';
    file[6] = 4;
    expect_fail(file, n, MM_ERR_UNSUPPORTED, "version", "version 4");
    file[6] = 0;
    expect_fail(file, n, MM_ERR_UNSUPPORTED, "version", "version 0");
    /* an MMF file is not a .npy file */
    expect_fail((const unsigned char *)"\x89MMF\r\n\x1a\n\x01\x00\x01\x00", 12, MM_ERR_MALFORMED,
                "magic", "MMF bytes");
    expect_fail((const unsigned char *)"", 0, MM_ERR_TRUNCATED, NULL, "empty");
}

/* Every proper prefix of a valid file is rejected, never accepted. */
static void test_truncated_at_every_offset(void)
{
    unsigned char file[256];
    float v[5] = {1, 2, 3, 4, 5};
    size_t n = make_npy(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", v, 20);
    int accepted = 0;
    for (size_t cut = 0; cut < n; cut++) {
        npy_array a;
        mm_error err;
        if (read_mem(file, cut, &a, &err) == 0) {
            accepted++;
            npy_free(&a);
        } else if (cut >= 10 && err.kind != MM_ERR_TRUNCATED && err.kind != MM_ERR_MALFORMED) {
            accepted += 1000; /* some other, unexpected kind */
        }
    }
    CHECK_EQ_INT(accepted, 0);
    /* cut inside the data: says truncated and how many elements arrived */
    expect_fail(file, n - 6, MM_ERR_TRUNCATED, "3 of 5", "cut in data");
    /* one byte too many */
    unsigned char longer[257];
    memcpy(longer, file, n);
    longer[n] = 0;
    expect_fail(longer, n + 1, MM_ERR_MALFORMED, "trailing", "trailing byte");
    /* v2 header with its 4-byte length cut */
    unsigned char v2[256];
    size_t n2 = make_npy(v2, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", v, 20);
    for (size_t cut = 0; cut < n2; cut++) {
        npy_array a;
        mm_error err;
        if (read_mem(v2, cut, &a, &err) == 0) {
            accepted++;
            npy_free(&a);
        }
    }
    CHECK_EQ_INT(accepted, 0);
}

static void test_bad_headers(void)
{
    static const struct {
        const char *dict;
        int kind;
        const char *needle;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", MM_ERR_UNSUPPORTED, "Fortran"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", MM_ERR_UNSUPPORTED, "<c8"},
        {"{'descr': '<U10', 'fortran_order': False, 'shape': (1,), }", MM_ERR_UNSUPPORTED, NULL},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", MM_ERR_UNSUPPORTED, NULL},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", MM_ERR_MALFORMED, NULL},
        {"{'descr': '<f4', 'fortran_order': False}", MM_ERR_MALFORMED, "lacks"},
        {"{'fortran_order': False, 'shape': (2,)}", MM_ERR_MALFORMED, "lacks"},
        {"{'descr': '<f4', 'shape': (2,)}", MM_ERR_MALFORMED, "lacks"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", MM_ERR_MALFORMED, "extra"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", MM_ERR_MALFORMED, "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", MM_ERR_MALFORMED, "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", MM_ERR_MALFORMED, "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", MM_ERR_MALFORMED, "shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,", MM_ERR_MALFORMED, NULL},
        {"('descr', '<f4')", MM_ERR_MALFORMED, "dict"},
        {"{'descr' '<f4'}", MM_ERR_MALFORMED, NULL},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", MM_ERR_MALFORMED, NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", MM_ERR_LIMIT,
         "dimensions"},
        {"", MM_ERR_MALFORMED, NULL},
        /* Regressions (review of the fuzzer's surface): np.load refuses both. */
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", MM_ERR_MALFORMED,
         "(2) is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", MM_ERR_MALFORMED,
         "unexpected text after the dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }}", MM_ERR_MALFORMED,
         "unexpected text after the dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}, 'shape': (3,)}", MM_ERR_MALFORMED,
         "unexpected text after the dict"},
    };
    unsigned char file[512];
    float v[2] = {1, 2};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = make_npy(file, 1, cases[i].dict, v, sizeof v);
        expect_fail(file, n, cases[i].kind, cases[i].needle, cases[i].dict);
    }
    /* header length field far beyond the file (and beyond any sane header) */
    size_t n = make_npy(file, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", v, 8);
    file[8] = file[9] = file[10] = 0xff;
    file[11] = 0x7f;
    expect_fail(file, n, MM_ERR_LIMIT, NULL, "header length 2^31");
    n = make_npy(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", v, 8);
    file[8] = file[9] = 0xff; /* 65535-byte header in a 136-byte file */
    expect_fail(file, n, MM_ERR_TRUNCATED, NULL, "header length 65535");
}

/* Shapes whose product overflows or is absurd are refused before any
 * allocation is attempted. */
static void test_absurd_shapes(void)
{
    const char *dicts[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000, 1000000), }",
        "{'descr': '<i8', 'fortran_order': False, 'shape': (18446744073709551615,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536, 65536), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (8589934592,), }", /* 32 GiB */
    };
    unsigned char file[512];
    float v[2] = {1, 2};
    for (size_t i = 0; i < sizeof dicts / sizeof *dicts; i++) {
        size_t n = make_npy(file, 1, dicts[i], v, sizeof v);
        expect_fail(file, n, MM_ERR_LIMIT, NULL, dicts[i]);
    }
    /* a zero in the shape makes the product 0 even after huge factors */
    size_t n = make_npy(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }",
                        NULL, 0);
    npy_array a;
    mm_error err;
    int rc = read_mem(file, n, &a, &err);
    CHECK_MSG(rc == 0 || err.kind == MM_ERR_LIMIT, "%s", err.msg);
    if (rc == 0) {
        CHECK_EQ_INT(a.count, 0);
        npy_free(&a);
    }
}

/* A tiny file that *claims* a large-but-allowed shape (here 4 GiB of f32)
 * must be reported as truncated without first allocating what the header
 * claims: run under a 1 GiB address-space limit in a child process. */
static void test_short_file_claiming_big_shape(void)
{
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "  (skipped under AddressSanitizer: it needs the address space)\n");
#else
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {1u << 30, 1u << 30};
        setrlimit(RLIMIT_AS, &rl);
        unsigned char file[256];
        float v[2] = {1, 2};
        size_t n = make_npy(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824,), }",
                            v, sizeof v);
        npy_array a;
        mm_error err;
        int rc = read_mem(file, n, &a, &err);
        if (rc == 0) _exit(10);
        if (err.kind != MM_ERR_TRUNCATED) {
            fprintf(stderr, "  short file claiming 4 GiB: %s (%s), expected truncated\n",
                    mm_error_kind_name(err.kind), err.msg);
            _exit(11);
        }
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
#endif
}

/* Sizes the input declares are refused before anything is allocated, with
 * the file, the byte offset of what is wrong and the limit. */
static void test_limit_messages(void)
{
    unsigned char file[512];
    float v[2] = {1, 2};
    mm_error err = {0};
    npy_array a;
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    size_t n = make_npy(file, 2, dict, v, 8);
    file[8] = file[9] = file[10] = 0xff;
    file[11] = 0x7f;
    CHECK(read_mem(file, n, &a, &err) == -1 && err.kind == MM_ERR_LIMIT);
    CHECK_EQ_STR(err.msg, "mem.npy: byte 8: .npy header length 2147483647 exceeds the limit of "
                          "1048576 bytes");

    dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (8589934592,), }"; /* 32 GiB */
    n = make_npy(file, 1, dict, v, sizeof v);
    CHECK(read_mem(file, n, &a, &err) == -1 && err.kind == MM_ERR_LIMIT);
    CHECK_EQ_STR(err.msg, "mem.npy: byte 10: .npy shape (8589934592) of 4-byte elements exceeds "
                          "the limit of 17179869184 bytes");

    dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 99999999999999999999999), }";
    n = make_npy(file, 3, dict, v, sizeof v);
    CHECK(read_mem(file, n, &a, &err) == -1 && err.kind == MM_ERR_LIMIT);
    char want[160];
    snprintf(want, sizeof want,
             "mem.npy: byte %zu: npy shape: a dimension exceeds the limit of 17179869184",
             12 + (size_t)(strstr(dict, "9999") - dict));
    CHECK_EQ_STR(err.msg, want);
}

/* An array within the limit that does not fit in memory is reported
 * (MM_ERR_NOMEM, file and offset), not fatal: the size is the input's. A
 * sparse 1 GiB file read under a 256 MiB address-space limit, in a child. */
static void test_big_array_out_of_memory(void)
{
#if defined(__SANITIZE_ADDRESS__)
    fprintf(stderr, "  (skipped under AddressSanitizer: it needs the address space)\n");
#else
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/test_npy_big_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    unsigned char head[128];
    size_t hn = make_npy(head, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (268435456,), }",
                         NULL, 0);
    CHECK(write(fd, head, hn) == (ssize_t)hn && ftruncate(fd, (off_t)hn + ((off_t)1 << 30)) == 0);
    close(fd);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {256u << 20, 256u << 20};
        setrlimit(RLIMIT_AS, &rl);
        npy_array a;
        mm_error err = {0};
        int rc = npy_read(path, &a, &err);
        if (write(pipefd[1], err.msg, strlen(err.msg)) < 0) _exit(12);
        _exit(rc == 0 ? 10 : err.kind == MM_ERR_NOMEM ? 0 : 11);
    }
    close(pipefd[1]);
    char msg[MM_ERROR_MAX + 1];
    ssize_t got = read(pipefd[0], msg, MM_ERROR_MAX);
    msg[got > 0 ? got : 0] = '\0';
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    unlink(path);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d: %s", status, msg);
    char want[600];
    snprintf(want, sizeof want, "%s: byte %zu: out of memory for the 1073741824-byte .npy array",
             path, hn);
    CHECK_EQ_STR(msg, want);
#endif
}

static void test_dtype_helpers(void)
{
    CHECK_EQ_INT(npy_dtype_size(NPY_F32), 4);
    CHECK_EQ_INT(npy_dtype_size(NPY_F16), 2);
    CHECK_EQ_INT(npy_dtype_size(NPY_F64), 8);
    CHECK_EQ_INT(npy_dtype_size(NPY_U8), 1);
    CHECK_EQ_INT(npy_dtype_size(NPY_I32), 4);
    CHECK_EQ_INT(npy_dtype_size(NPY_I64), 8);
    CHECK_EQ_INT(npy_dtype_size(0), 0);
    CHECK_EQ_STR(npy_dtype_descr(NPY_F32), "<f4");
    CHECK_EQ_STR(npy_dtype_descr(NPY_U8), "|u1");
    CHECK_EQ_STR(npy_dtype_descr(NPY_I64), "<i8");
}

int main(void)
{
    RUN(test_roundtrip_dtypes_and_shapes);
    RUN(test_header_text);
    RUN(test_write_read_file);
    RUN(test_v2_and_v3_headers);
    RUN(test_header_variants);
    RUN(test_big_endian_swapped);
    RUN(test_bad_magic_and_version);
    RUN(test_truncated_at_every_offset);
    RUN(test_bad_headers);
    RUN(test_absurd_shapes);
    RUN(test_short_file_claiming_big_shape);
    RUN(test_limit_messages);
    RUN(test_big_array_out_of_memory);
    RUN(test_dtype_helpers);
    return test_summary();
}
