/* test_featio.c — format names/detection, the TSV reader/writer (with line
 * numbers in every error), ids files, and feat_load for MMF, .npy and TSV. */
#include "io/featio.h"
#include "kernels/half.h"
#include "io/npy.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/test_featio.XXXXXX";

static const char *tmp_path(const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, n, fp) != n || fclose(fp)) abort();
}

static void write_text(const char *path, const char *text) { write_file(path, text, strlen(text)); }

/* Reads all of a TSV text; returns the rc of the last tsv_feature_next. */
static int tsv_parse(const char *text, size_t *rows, mm_error *err)
{
    FILE *fp = fmemopen((void *)text, strlen(text) ? strlen(text) : 1, "r");
    if (!strlen(text)) fgetc(fp);
    tsv_feature_reader *r = tsv_feature_open(fp, "in.tsv", err);
    const char *id;
    const float *vec;
    size_t dim;
    int rc;
    *rows = 0;
    while ((rc = tsv_feature_next(r, &id, &vec, &dim, err)) == 1) (*rows)++;
    tsv_feature_close(r);
    fclose(fp);
    return rc;
}

static void test_format_names(void)
{
    CHECK_EQ_INT(feat_format_parse("mmf"), FEAT_MMF);
    CHECK_EQ_INT(feat_format_parse("npy"), FEAT_NPY);
    CHECK_EQ_INT(feat_format_parse("tsv"), FEAT_TSV);
    CHECK_EQ_INT(feat_format_parse("csv"), FEAT_UNKNOWN);
    CHECK_EQ_INT(feat_format_parse(""), FEAT_UNKNOWN);
    CHECK_EQ_STR(feat_format_name(FEAT_MMF), "mmf");
    CHECK_EQ_STR(feat_format_name(FEAT_NPY), "npy");
    CHECK_EQ_STR(feat_format_name(FEAT_TSV), "tsv");
    CHECK_EQ_INT(feat_format_from_path("a/b/x.mmf"), FEAT_MMF);
    CHECK_EQ_INT(feat_format_from_path("x.npy"), FEAT_NPY);
    CHECK_EQ_INT(feat_format_from_path("x.tsv"), FEAT_TSV);
    CHECK_EQ_INT(feat_format_from_path("x.txt"), FEAT_TSV);
    CHECK_EQ_INT(feat_format_from_path("x.npz"), FEAT_UNKNOWN);
    CHECK_EQ_INT(feat_format_from_path("dir.npy/x"), FEAT_UNKNOWN);
    CHECK_EQ_INT(feat_format_from_path("x.mmf.gz"), FEAT_UNKNOWN);
    CHECK_EQ_INT(feat_format_from_path("mmf"), FEAT_UNKNOWN);
    CHECK_EQ_INT(feat_format_from_path(NULL), FEAT_UNKNOWN);
}

static void test_tsv_valid(void)
{
    const char *text = "a\t1 2 3\n"
                       "\n"
                       "b c\t-1.5\t2e-3  4\r\n"  /* id with a space, tabs and spaces between values */
                       "\xc3\xa9t\xc3\xa9\t0 0 0"; /* UTF-8 id, no final newline */
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    mm_error err;
    tsv_feature_reader *r = tsv_feature_open(fp, "in.tsv", &err);
    const char *id;
    const float *vec;
    size_t dim;
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == 1);
    CHECK_EQ_STR(id, "a");
    CHECK(dim == 3 && vec[0] == 1 && vec[1] == 2 && vec[2] == 3);
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == 1);
    CHECK_EQ_STR(id, "b c");
    CHECK(dim == 3 && vec[0] == -1.5f && vec[1] == 2e-3f && vec[2] == 4);
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == 1);
    CHECK_EQ_STR(id, "\xc3\xa9t\xc3\xa9");
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == 0);
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == 0);
    tsv_feature_close(r);
    fclose(fp);
    size_t rows;
    CHECK(tsv_parse("", &rows, &err) == 0 && rows == 0);
    CHECK(tsv_parse("\n\n", &rows, &err) == 0 && rows == 0);
}

/* Every error names the file and the line (blank lines count). */
static void test_tsv_errors_with_line_numbers(void)
{
    static const struct {
        const char *text;
        int kind;
        const char *prefix;
        const char *needle;
    } cases[] = {
        {"a\t1 2\nb 1 2\n", MM_ERR_MALFORMED, "in.tsv:2: ", "no tab"},
        {"a\t1 2\n\n\t1 2\n", MM_ERR_MALFORMED, "in.tsv:3: ", "empty id"},
        {"a\t1 2\nb\t1 x\n", MM_ERR_MALFORMED, "in.tsv:2: ", "value 2 is not a number"},
        {"a\t1,2\n", MM_ERR_MALFORMED, "in.tsv:1: ", "value 1"},
        {"a\t1 2\nb\t1 2 3\n", MM_ERR_MISMATCH, "in.tsv:2: ", "3 values"},
        {"a\t1 2 3\nb\t1 2\n", MM_ERR_MISMATCH, "in.tsv:2: ", "2 values"},
        {"a\t\n", MM_ERR_MALFORMED, "in.tsv:1: ", "no values"},
        {"a\t   \n", MM_ERR_MALFORMED, "in.tsv:1: ", "no values"},
        {"a\t1\n\n\n\nb\t1\nc\t1 2\n", MM_ERR_MISMATCH, "in.tsv:6: ", NULL},
        {"x\t1.0.0\n", MM_ERR_MALFORMED, "in.tsv:1: ", NULL},
        {"x\t1e\n", MM_ERR_MALFORMED, "in.tsv:1: ", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t rows;
        mm_error err = {0};
        int rc = tsv_parse(cases[i].text, &rows, &err);
        CHECK_MSG(rc == -1, "case %zu accepted", i);
        if (rc != -1) continue;
        CHECK_MSG(err.kind == cases[i].kind, "case %zu: kind %s: %s", i, mm_error_kind_name(err.kind),
                  err.msg);
        CHECK_MSG(strncmp(err.msg, cases[i].prefix, strlen(cases[i].prefix)) == 0,
                  "case %zu: '%s' should start with '%s'", i, err.msg, cases[i].prefix);
        if (cases[i].needle)
            CHECK_MSG(strstr(err.msg, cases[i].needle) != NULL, "case %zu: '%s'", i, err.msg);
    }
    /* NUL byte inside a line */
    const char nul[] = "a\t1\nb\t1\0 2\n";
    FILE *fp = fmemopen((void *)nul, sizeof nul - 1, "r");
    mm_error err;
    tsv_feature_reader *r = tsv_feature_open(fp, "in.tsv", &err);
    const char *id;
    const float *vec;
    size_t dim;
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == 1);
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == -1);
    CHECK(strncmp(err.msg, "in.tsv:2: ", 10) == 0 && strstr(err.msg, "NUL"));
    tsv_feature_close(r);
    fclose(fp);
    /* more values than MMF_MAX_DIM */
    size_t big = (MMF_MAX_DIM + 1) * 2 + 8;
    char *line = malloc(big);
    char *p = line;
    *p++ = 'a';
    *p++ = '\t';
    for (unsigned i = 0; i <= MMF_MAX_DIM; i++) {
        *p++ = '1';
        *p++ = ' ';
    }
    *p++ = '\n';
    *p = 0;
    size_t rows;
    CHECK(tsv_parse(line, &rows, &err) == -1);
    CHECK(err.kind == MM_ERR_LIMIT && strncmp(err.msg, "in.tsv:1: ", 10) == 0);
    free(line);
}

/* Written with %.9g, every finite f32 reads back bit-exactly. */
static void test_tsv_write_roundtrip(void)
{
    enum { D = 1000 };
    float v[D];
    unsigned long long rng = 5;
    for (int i = 0; i < D; i++) {
        uint32_t u;
        do u = (uint32_t)test_rand_u64(&rng);
        while ((u & 0x7f800000u) == 0x7f800000u);
        memcpy(&v[i], &u, 4);
    }
    v[0] = 0.0f;
    v[1] = -0.0f;
    v[2] = 3.4028235e38f;
    v[3] = 1.4e-45f;
    v[4] = 0.1f;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    mm_error err;
    CHECK(tsv_feature_write(fp, "out.tsv", "id 1", v, D, &err) == 0);
    CHECK(tsv_feature_write(fp, "out.tsv", "id2", v, D, &err) == 0);
    fclose(fp);
    CHECK(strncmp(buf, "id 1\t0 -0 ", 10) == 0);
    fp = fmemopen(buf, len, "r");
    tsv_feature_reader *r = tsv_feature_open(fp, "out.tsv", &err);
    const char *id;
    const float *vec;
    size_t dim;
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == 1);
    CHECK_EQ_STR(id, "id 1");
    CHECK_EQ_INT(dim, D);
    CHECK(memcmp(vec, v, sizeof v) == 0);
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == 1);
    CHECK(tsv_feature_next(r, &id, &vec, &dim, &err) == 0);
    tsv_feature_close(r);
    fclose(fp);
    free(buf);
}

static void test_ids_file(void)
{
    const char *path = tmp_path("ids.txt");
    size_t n;
    mm_error err;
    write_text(path, "a\nb b\r\n\xe2\x82\xac\nlast");
    char **ids = feat_read_ids(path, &n, &err);
    CHECK(ids != NULL);
    if (ids) {
        CHECK_EQ_INT(n, 4);
        CHECK_EQ_STR(ids[0], "a");
        CHECK_EQ_STR(ids[1], "b b");
        CHECK_EQ_STR(ids[2], "\xe2\x82\xac");
        CHECK_EQ_STR(ids[3], "last");
        CHECK(ids[4] == NULL);
        for (size_t i = 0; i < n; i++) free(ids[i]);
        free(ids);
    }
    write_text(path, "");
    ids = feat_read_ids(path, &n, &err);
    CHECK(ids != NULL && n == 0 && ids[0] == NULL);
    free(ids);

    write_text(path, "a\nb\n\nc\n");
    CHECK(feat_read_ids(path, &n, &err) == NULL);
    char want[300];
    snprintf(want, sizeof want, "%s:3: ", path);
    CHECK_MSG(strncmp(err.msg, want, strlen(want)) == 0 && strstr(err.msg, "empty"), "%s", err.msg);

    write_file(path, "a\nb\0c\n", 6);
    CHECK(feat_read_ids(path, &n, &err) == NULL);
    snprintf(want, sizeof want, "%s:2: ", path);
    CHECK_MSG(strncmp(err.msg, want, strlen(want)) == 0 && strstr(err.msg, "NUL"), "%s", err.msg);

    char *longid = malloc(MMF_MAX_ID_LEN + 3);
    memset(longid, 'x', MMF_MAX_ID_LEN + 1);
    longid[MMF_MAX_ID_LEN + 1] = '\n';
    longid[MMF_MAX_ID_LEN + 2] = 0;
    write_text(path, longid);
    CHECK(feat_read_ids(path, &n, &err) == NULL);
    CHECK_MSG(strstr(err.msg, ":1: ") && strstr(err.msg, "too long"), "%s", err.msg);
    longid[MMF_MAX_ID_LEN] = '\n'; /* exactly the maximum is fine */
    longid[MMF_MAX_ID_LEN + 1] = 0;
    write_text(path, longid);
    ids = feat_read_ids(path, &n, &err);
    CHECK(ids != NULL && n == 1 && strlen(ids[0]) == MMF_MAX_ID_LEN);
    if (ids) {
        free(ids[0]);
        free(ids);
    }
    free(longid);

    CHECK(feat_read_ids(tmp_path("missing.txt"), &n, &err) == NULL);
    CHECK(err.kind == MM_ERR_IO && strstr(err.msg, "missing.txt"));

    /* many ids (growth of the array) */
    FILE *fp = fopen(path, "w");
    for (int i = 0; i < 5000; i++) fprintf(fp, "id%d\n", i);
    fclose(fp);
    ids = feat_read_ids(path, &n, &err);
    CHECK(ids != NULL && n == 5000);
    if (ids) {
        CHECK_EQ_STR(ids[4999], "id4999");
        CHECK(ids[5000] == NULL);
        for (size_t i = 0; i < n; i++) free(ids[i]);
        free(ids);
    }
}

/* ---- feat_load ------------------------------------------------------------------ */

static const float DATA[3][4] = {{1, 2, 3, 4}, {-1, 0.5f, 0.25f, -0.125f}, {1e-3f, 1e3f, 0, -0.0f}};
static const char *IDS[3] = {"first", "sec ond", "\xe6\x97\xa5"};

static void check_matrix(const mmf_matrix *m, int with_ids, const char *label)
{
    CHECK_MSG(m->rows == 3 && m->dim == 4, "%s: %zu x %u", label, m->rows, m->dim);
    if (m->rows != 3 || m->dim != 4) return;
    CHECK_MSG(memcmp(m->data, DATA, sizeof DATA) == 0, "%s: data differs", label);
    for (int i = 0; i < 3; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        CHECK_EQ_STR(m->ids[i], with_ids ? IDS[i] : num);
    }
    CHECK_EQ_INT(m->header.dim, 4);
}

static void write_mmf(const char *path, int dtype)
{
    FILE *fp = fopen(path, "wb");
    mmf_header h;
    mmf_header_init(&h, 4, dtype, 0);
    mmf_header_set(&h, "model", "test");
    mm_error err;
    mmf_writer *w = mmf_writer_open(fp, path, &h, &err);
    for (int i = 0; i < 3; i++) mmf_write(w, IDS[i], strlen(IDS[i]), DATA[i], &err);
    mmf_writer_close(w, &err);
    mmf_header_free(&h);
    fclose(fp);
}

static void test_load_mmf(void)
{
    mmf_matrix m;
    mm_error err;
    const char *p = tmp_path("a.mmf");
    write_mmf(p, MMF_F32);
    CHECK_MSG(feat_load(p, FEAT_UNKNOWN, NULL, &m, &err) == 0, "%s", err.msg);
    check_matrix(&m, 1, "mmf");
    CHECK_EQ_STR(mmf_header_get(&m.header, "model"), "test");
    mmf_matrix_free(&m);
    /* no extension: detected from the first byte */
    const char *q = tmp_path("a-mmf.bin");
    rename(p, q);
    CHECK_MSG(feat_load(q, FEAT_UNKNOWN, NULL, &m, &err) == 0, "%s", err.msg);
    check_matrix(&m, 1, "mmf sniffed");
    mmf_matrix_free(&m);
    /* f16 MMF: values representable in f16 come back exactly (1e-3 and 1e3 are not) */
    write_mmf(p, MMF_F16);
    CHECK_MSG(feat_load(p, FEAT_MMF, NULL, &m, &err) == 0, "%s", err.msg);
    CHECK(m.rows == 3 && m.header.dtype == MMF_F16);
    if (m.rows == 3) {
        CHECK(m.data[0] == 1 && m.data[7] == -0.125f);
        CHECK(m.data[8] == mm_f16_to_f32(mm_f32_to_f16(1e-3f)));
    }
    mmf_matrix_free(&m);
    /* a truncated MMF file is an error, not a short matrix */
    FILE *fp = fopen(p, "rb");
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    write_file(p, buf, n - 1);
    CHECK(feat_load(p, FEAT_UNKNOWN, NULL, &m, &err) == -1);
    CHECK_MSG(err.kind == MM_ERR_TRUNCATED && strstr(err.msg, p), "%s", err.msg);
}

static void test_load_npy(void)
{
    mmf_matrix m;
    mm_error err;
    const char *p = tmp_path("a.npy"), *ids = tmp_path("a.ids");
    size_t shape[2] = {3, 4};
    CHECK(npy_write(p, NPY_F32, 2, shape, DATA, &err) == 0);
    write_text(ids, "first\nsec ond\n\xe6\x97\xa5\n");
    CHECK_MSG(feat_load(p, FEAT_UNKNOWN, ids, &m, &err) == 0, "%s", err.msg);
    check_matrix(&m, 1, "npy+ids");
    CHECK(m.header.dtype == MMF_F32 && m.header.meta_count == 0);
    mmf_matrix_free(&m);
    CHECK_MSG(feat_load(p, FEAT_NPY, NULL, &m, &err) == 0, "%s", err.msg);
    check_matrix(&m, 0, "npy, row-number ids");
    mmf_matrix_free(&m);
    /* f64 and f16 inputs are converted */
    double d[12];
    uint16_t h[12];
    for (int i = 0; i < 12; i++) {
        d[i] = DATA[i / 4][i % 4];
        h[i] = mm_f32_to_f16(DATA[i / 4][i % 4]);
    }
    CHECK(npy_write(p, NPY_F64, 2, shape, d, &err) == 0);
    CHECK_MSG(feat_load(p, FEAT_NPY, ids, &m, &err) == 0, "%s", err.msg);
    check_matrix(&m, 1, "npy f64");
    mmf_matrix_free(&m);
    CHECK(npy_write(p, NPY_F16, 2, shape, h, &err) == 0);
    CHECK_MSG(feat_load(p, FEAT_NPY, ids, &m, &err) == 0, "%s", err.msg);
    CHECK(m.rows == 3 && m.data[4] == -1 && m.data[8] == mm_f16_to_f32(h[8]));
    mmf_matrix_free(&m);
    /* sniffed without extension */
    const char *q = tmp_path("npy-noext");
    CHECK(npy_write(q, NPY_F32, 2, shape, DATA, &err) == 0);
    CHECK_MSG(feat_load(q, FEAT_UNKNOWN, NULL, &m, &err) == 0, "%s", err.msg);
    check_matrix(&m, 0, "npy sniffed");
    mmf_matrix_free(&m);

    /* errors */
    write_text(ids, "a\nb\n");
    CHECK(npy_write(p, NPY_F32, 2, shape, DATA, &err) == 0);
    CHECK(feat_load(p, FEAT_NPY, ids, &m, &err) == -1);
    CHECK_MSG(err.kind == MM_ERR_MISMATCH && strstr(err.msg, "2 ids for 3 rows"), "%s", err.msg);
    size_t shape1[1] = {12};
    CHECK(npy_write(p, NPY_F32, 1, shape1, DATA, &err) == 0);
    CHECK(feat_load(p, FEAT_NPY, NULL, &m, &err) == -1);
    CHECK_MSG(strstr(err.msg, "2-D") && strstr(err.msg, p), "%s", err.msg);
    size_t shape3[3] = {1, 3, 4};
    CHECK(npy_write(p, NPY_F32, 3, shape3, DATA, &err) == 0);
    CHECK(feat_load(p, FEAT_NPY, NULL, &m, &err) == -1);
    int32_t iv[12] = {0};
    CHECK(npy_write(p, NPY_I32, 2, shape, iv, &err) == 0);
    CHECK(feat_load(p, FEAT_NPY, NULL, &m, &err) == -1);
    CHECK_MSG(err.kind == MM_ERR_UNSUPPORTED && strstr(err.msg, "<i4"), "%s", err.msg);
    size_t shape0[2] = {3, 0};
    CHECK(npy_write(p, NPY_F32, 2, shape0, DATA, &err) == 0);
    CHECK(feat_load(p, FEAT_NPY, NULL, &m, &err) == -1);
    /* zero rows is a valid (empty) matrix */
    size_t shape_e[2] = {0, 4};
    CHECK(npy_write(p, NPY_F32, 2, shape_e, DATA, &err) == 0);
    CHECK_MSG(feat_load(p, FEAT_NPY, NULL, &m, &err) == 0, "%s", err.msg);
    CHECK(m.rows == 0 && m.dim == 4);
    mmf_matrix_free(&m);
    CHECK(feat_load(tmp_path("nope.npy"), FEAT_UNKNOWN, NULL, &m, &err) == -1);
    CHECK(err.kind == MM_ERR_IO && strstr(err.msg, "nope.npy"));
}

static void test_load_tsv(void)
{
    mmf_matrix m;
    mm_error err;
    const char *p = tmp_path("a.tsv");
    FILE *fp = fopen(p, "w");
    for (int i = 0; i < 3; i++) tsv_feature_write(fp, p, IDS[i], DATA[i], 4, &err);
    fclose(fp);
    CHECK_MSG(feat_load(p, FEAT_UNKNOWN, NULL, &m, &err) == 0, "%s", err.msg);
    check_matrix(&m, 1, "tsv");
    mmf_matrix_free(&m);
    const char *q = tmp_path("tsv-noext");
    rename(p, q);
    CHECK_MSG(feat_load(q, FEAT_UNKNOWN, NULL, &m, &err) == 0, "%s", err.msg);
    check_matrix(&m, 1, "tsv sniffed");
    mmf_matrix_free(&m);
    /* more than the initial capacity of rows */
    fp = fopen(p, "w");
    for (int i = 0; i < 3000; i++) fprintf(fp, "r%d\t%d %d\n", i, i, -i);
    fclose(fp);
    CHECK_MSG(feat_load(p, FEAT_TSV, NULL, &m, &err) == 0, "%s", err.msg);
    CHECK(m.rows == 3000 && m.dim == 2);
    if (m.rows == 3000) {
        CHECK_EQ_STR(m.ids[2999], "r2999");
        CHECK(m.data[2 * 2999] == 2999 && m.data[2 * 2999 + 1] == -2999);
    }
    mmf_matrix_free(&m);
    /* errors carry file:line */
    write_text(p, "a\t1 2\nb\t1\n");
    CHECK(feat_load(p, FEAT_TSV, NULL, &m, &err) == -1);
    char want[300];
    snprintf(want, sizeof want, "%s:2: ", p);
    CHECK_MSG(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    write_text(p, "\n\n");
    CHECK(feat_load(p, FEAT_TSV, NULL, &m, &err) == -1);
    CHECK_MSG(strstr(err.msg, "no vectors"), "%s", err.msg);
    /* an empty file of unknown format: truncated */
    const char *e = tmp_path("empty");
    write_text(e, "");
    CHECK(feat_load(e, FEAT_UNKNOWN, NULL, &m, &err) == -1);
    CHECK_MSG(err.kind == MM_ERR_TRUNCATED && strstr(err.msg, "empty"), "%s", err.msg);
}

static void cleanup(void)
{
    const char *names[] = {"ids.txt", "a.mmf", "a-mmf.bin", "a.npy", "a.ids", "npy-noext",
                           "a.tsv", "tsv-noext", "empty"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) unlink(tmp_path(names[i]));
    rmdir(tmpdir);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) abort();
    RUN(test_format_names);
    RUN(test_tsv_valid);
    RUN(test_tsv_errors_with_line_numbers);
    RUN(test_tsv_write_roundtrip);
    RUN(test_ids_file);
    RUN(test_load_mmf);
    RUN(test_load_npy);
    RUN(test_load_tsv);
    cleanup();
    return test_summary();
}
