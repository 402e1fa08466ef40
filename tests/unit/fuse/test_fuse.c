/* test_fuse.c — early and late fusion: hand-worked cases for every method and
 * normalisation, the properties of the issue (RRF of a run with itself keeps
 * its order; concat dim = sum of dims; one input with weight 1 = that input),
 * the id join and its errors, the aligned streaming path, and the weight search. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse/fuse.h"
#include "fuse/fuse_optimize.h"
#include "eval/measures.h"
#include "io/mmf.h"
#include "test.h"
#include "io/trec.h"

static char tmp_dir[] = "/tmp/test_fuse.XXXXXX";

/* ---- helpers ---------------------------------------------------------------------- */
typedef struct rec {
    const char *id;
    float v[8];
} rec;

/* Writes an MMF file tmp_dir/name with the records; returns its path (static buffer ring). */
static const char *write_mmf(const char *name, uint32_t dim, const rec *recs, size_t n,
                             const char *model, uint32_t flags)
{
    static char paths[16][300];
    static int at;
    char *path = paths[at++ % 16];
    snprintf(path, 300, "%s/%s", tmp_dir, name);
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    mmf_header h;
    mmf_header_init(&h, dim, MMF_F32, flags);
    if (model) mmf_header_set(&h, "model", model);
    mm_error err;
    mmf_writer *w = mmf_writer_open(fp, path, &h, &err);
    CHECK(w != NULL);
    for (size_t i = 0; i < n; i++) CHECK(mmf_write(w, recs[i].id, strlen(recs[i].id), recs[i].v, &err) == 0);
    CHECK(mmf_writer_close(w, &err) == 0);
    fclose(fp);
    mmf_header_free(&h);
    return path;
}

/* Fuses into memory and loads the result; returns the fuse_features status. */
static int fuse_to_matrix(const char *const *paths, size_t n, const fuse_params *p,
                          mmf_matrix *m, mm_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    uint64_t written = 0;
    int rc = fuse_features(paths, n, p, fp, "mem", &written, err);
    fclose(fp);
    memset(m, 0, sizeof *m);
    if (rc == 0) {
        FILE *in = fmemopen(buf, len, "rb");
        mm_error e2;
        mmf_reader *r = mmf_open_fp(in, "fused", &e2);
        CHECK(r != NULL);
        CHECK_MSG(mmf_load_reader(r, m, &e2) == 0, "%s", e2.msg);
        CHECK_EQ_INT(m->rows, written);
        mmf_close(r);
        fclose(in);
    } else {
        CHECK_EQ_INT(len, 0); /* join mode writes nothing on failure */
    }
    free(buf);
    return rc;
}

static fuse_params params(int method)
{
    fuse_params p = {0};
    p.method = method;
    return p;
}

static void check_row(const mmf_matrix *m, size_t row, const char *id, const double *want)
{
    CHECK(row < m->rows);
    if (row >= m->rows) return;
    CHECK_EQ_STR(m->ids[row], id);
    for (uint32_t j = 0; j < m->dim; j++) CHECK_NEAR(m->data[row * m->dim + j], want[j], 1e-6);
}

/* ---- early fusion: arithmetic ------------------------------------------------------ */
static void test_combine_methods(void)
{
    const float a[] = {1, -2, 3}, b[] = {4, 5, -6};
    const float *v[] = {a, b};
    const uint32_t dims[] = {3, 3};
    const double w[] = {2, 0.5};
    double out[6];

    fuse_combine(FUSE_CONCAT, NULL, v, dims, 2, out);
    const double concat[] = {1, -2, 3, 4, 5, -6};
    for (int j = 0; j < 6; j++) CHECK_NEAR(out[j], concat[j], 0);
    fuse_combine(FUSE_CONCAT, w, v, dims, 2, out);
    const double wconcat[] = {2, -4, 6, 2, 2.5, -3};
    for (int j = 0; j < 6; j++) CHECK_NEAR(out[j], wconcat[j], 0);

    fuse_combine(FUSE_SUM, NULL, v, dims, 2, out);
    const double sum[] = {5, 3, -3};
    for (int j = 0; j < 3; j++) CHECK_NEAR(out[j], sum[j], 0);
    fuse_combine(FUSE_WSUM, w, v, dims, 2, out);
    const double wsum[] = {4, -1.5, 3}; /* 2a + 0.5b */
    for (int j = 0; j < 3; j++) CHECK_NEAR(out[j], wsum[j], 0);

    fuse_combine(FUSE_MEAN, NULL, v, dims, 2, out);
    const double mean[] = {2.5, 1.5, -1.5};
    for (int j = 0; j < 3; j++) CHECK_NEAR(out[j], mean[j], 0);
    fuse_combine(FUSE_MEAN, w, v, dims, 2, out);
    const double wmean[] = {4 / 2.5, -1.5 / 2.5, 3 / 2.5}; /* (2a + 0.5b) / 2.5 */
    for (int j = 0; j < 3; j++) CHECK_NEAR(out[j], wmean[j], 1e-15);

    fuse_combine(FUSE_PRODUCT, NULL, v, dims, 2, out);
    const double prod[] = {4, -10, -18};
    for (int j = 0; j < 3; j++) CHECK_NEAR(out[j], prod[j], 0);

    fuse_combine(FUSE_MAX, NULL, v, dims, 2, out);
    const double mx[] = {4, 5, 3};
    for (int j = 0; j < 3; j++) CHECK_NEAR(out[j], mx[j], 0);
    fuse_combine(FUSE_MAX, w, v, dims, 2, out);
    const double wmx[] = {2, 2.5, 6}; /* max(2a, 0.5b) */
    for (int j = 0; j < 3; j++) CHECK_NEAR(out[j], wmx[j], 0);
}

static void test_output_dim(void)
{
    mm_error err;
    const uint32_t dims[] = {3, 5, 2};
    const char *names[] = {"a.mmf", "b.mmf", "c.mmf"};
    CHECK_EQ_INT(fuse_output_dim(FUSE_CONCAT, dims, names, 3, &err), 10);
    CHECK_EQ_INT(fuse_output_dim(FUSE_MEAN, dims, names, 3, &err), 0);
    CHECK(strstr(err.msg, "b.mmf: dimension 5 differs from a.mmf's 3") != NULL);
    CHECK(strstr(err.msg, "mean") != NULL);
    const uint32_t same[] = {4, 4};
    CHECK_EQ_INT(fuse_output_dim(FUSE_PRODUCT, same, names, 2, &err), 4);
    const uint32_t big[] = {MMF_MAX_DIM, 1};
    CHECK_EQ_INT(fuse_output_dim(FUSE_CONCAT, big, names, 2, &err), 0);
    CHECK_EQ_INT(err.kind, MM_ERR_LIMIT);
}

static void test_zscore_stats(void)
{
    /* rows (1, 2, 0), (3, 2, 4): means 2, 2, 2; population stds 1, 0, 2 */
    const float data[] = {1, 2, 0, 3, 2, 4};
    double mean[3], inv[3];
    fuse_zscore_stats(data, 2, 3, mean, inv);
    CHECK_NEAR(mean[0], 2, 0);
    CHECK_NEAR(mean[1], 2, 0);
    CHECK_NEAR(mean[2], 2, 0);
    CHECK_NEAR(inv[0], 1, 0);
    CHECK_NEAR(inv[1], 0, 0); /* constant dimension -> 0 */
    CHECK_NEAR(inv[2], 0.5, 0);
}

static void test_parse(void)
{
    mm_error err;
    double *w;
    CHECK_EQ_INT(fuse_parse_weights("1,2.5,-0.25", &w, &err), 3);
    CHECK_NEAR(w[0], 1, 0);
    CHECK_NEAR(w[1], 2.5, 0);
    CHECK_NEAR(w[2], -0.25, 0);
    free(w);
    CHECK_EQ_INT(fuse_parse_weights("1,,2", &w, &err), -1);
    CHECK(strstr(err.msg, "weight 2") != NULL);
    CHECK_EQ_INT(fuse_parse_weights("1,nan", &w, &err), -1);
    CHECK_EQ_INT(fuse_parse_weights("", &w, &err), -1);
    CHECK_EQ_INT(fuse_parse_weights("1,2x", &w, &err), -1);
    CHECK_EQ_INT(fuse_parse_weights("1e999", &w, &err), -1);

    CHECK_EQ_INT(fuse_method_parse("concat", false), FUSE_CONCAT);
    CHECK_EQ_INT(fuse_method_parse("rrf", false), FUSE_NONE);
    CHECK_EQ_INT(fuse_method_parse("rrf", true), FUSE_RRF);
    CHECK_EQ_INT(fuse_method_parse("wsum", true), FUSE_RUN_WSUM);
    CHECK_EQ_INT(fuse_method_parse("wsum", false), FUSE_WSUM);
    CHECK_EQ_INT(fuse_method_parse("Mean", false), FUSE_NONE);
    CHECK_EQ_INT(fuse_snorm_parse("minmax"), FUSE_SNORM_MINMAX);
    CHECK_EQ_INT(fuse_snorm_parse("l2"), -1);
    CHECK_EQ_INT(fuse_vnorm_parse("zscore"), FUSE_VNORM_ZSCORE);
    CHECK_EQ_INT(fuse_missing_parse("zero"), FUSE_MISSING_ZERO);
}

static void test_group_rules(void)
{
    mm_error err;
    fuse_group_rule g;
    CHECK(fuse_group_rule_parse("suffix:#", &g, &err) == 0);
    CHECK_EQ_INT(fuse_group_key_len(&g, "img12#3", 7), 5);
    CHECK_EQ_INT(fuse_group_key_len(&g, "a#b#c", 5), 3);   /* the LAST '#' */
    CHECK_EQ_INT(fuse_group_key_len(&g, "plain", 5), 5);   /* no separator: own key */
    CHECK_EQ_INT(fuse_group_key_len(&g, "#3", 2), 0);      /* empty key (an error upstream) */
    CHECK(fuse_group_rule_parse("suffix:__", &g, &err) == 0);
    CHECK_EQ_INT(fuse_group_key_len(&g, "x__y__z", 7), 4);
    CHECK_EQ_INT(fuse_group_key_len(&g, "_", 1), 1);
    CHECK(fuse_group_rule_parse("head:_", &g, &err) == 0);
    CHECK_EQ_INT(fuse_group_key_len(&g, "img12_3_a", 9), 5); /* the FIRST '_' */
    CHECK(fuse_group_rule_parse("prefix:2", &g, &err) == 0);
    CHECK_EQ_INT(fuse_group_key_len(&g, "h\xc3\xa9llo", 6), 3); /* 2 code points = 3 bytes */
    CHECK_EQ_INT(fuse_group_key_len(&g, "h", 1), 1);
    CHECK(fuse_group_rule_parse("id", &g, &err) == 0);
    CHECK_EQ_INT(g.kind, FUSE_GROUP_ID);
    CHECK_EQ_INT(fuse_group_key_len(&g, "a#1", 3), 3);

    CHECK(fuse_group_rule_parse("suffix:", &g, &err) == -1);
    CHECK(fuse_group_rule_parse("prefix:0", &g, &err) == -1);
    CHECK(fuse_group_rule_parse("prefix:x", &g, &err) == -1);
    CHECK(fuse_group_rule_parse("prefix:-1", &g, &err) == -1);
    CHECK(fuse_group_rule_parse("suffix", &g, &err) == -1);
    CHECK(fuse_group_rule_parse("regex:.*", &g, &err) == -1);
    CHECK(strstr(err.msg, "expected suffix:SEP, head:SEP, prefix:N or id") != NULL);
}

/* ---- early fusion: files ------------------------------------------------------------- */
static const rec A[] = {{"a", {1, 2}}, {"b", {3, 4}}, {"c", {5, 6}}};
static const rec B[] = {{"c", {1, 1}}, {"a", {0, 1}}, {"b", {2, 0}}}; /* other order */
static const rec C3[] = {{"a", {1, 0, 0}}, {"b", {0, 1, 0}}, {"c", {0, 0, 1}}};

static void test_join_concat_and_mean(void)
{
    const char *pa = write_mmf("A.mmf", 2, A, 3, "clip-a", 0);
    const char *pb = write_mmf("B.mmf", 2, B, 3, "clip-b", 0);
    const char *pc = write_mmf("C.mmf", 3, C3, 3, NULL, 0);
    mm_error err;
    mmf_matrix m;
    fuse_params p = params(FUSE_CONCAT);
    const char *in3[] = {pa, pb, pc};
    CHECK_MSG(fuse_to_matrix(in3, 3, &p, &m, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(m.dim, 2 + 2 + 3); /* concat dim = sum of dims */
    CHECK_EQ_INT(m.rows, 3);
    check_row(&m, 0, "a", (const double[]){1, 2, 0, 1, 1, 0, 0});
    check_row(&m, 1, "b", (const double[]){3, 4, 2, 0, 0, 1, 0});
    check_row(&m, 2, "c", (const double[]){5, 6, 1, 1, 0, 0, 1});
    CHECK_EQ_STR(mmf_header_get(&m.header, "fusion.method"), "concat");
    CHECK_EQ_STR(mmf_header_get(&m.header, "fusion.weights"), "1,1,1");
    CHECK_EQ_STR(mmf_header_get(&m.header, "fusion.input.1.model"), "clip-a");
    CHECK_EQ_STR(mmf_header_get(&m.header, "fusion.input.2.model"), "clip-b");
    CHECK_EQ_STR(mmf_header_get(&m.header, "model"), "clip-a+clip-b+?");
    CHECK_EQ_STR(mmf_header_get(&m.header, "modality"), "fused");
    CHECK_EQ_STR(mmf_header_get(&m.header, "fusion.inputs"), "3");
    CHECK(!(m.header.flags & MMF_FLAG_NORMALIZED));
    mmf_matrix_free(&m);

    p = params(FUSE_MEAN);
    const char *in2[] = {pa, pb};
    CHECK_MSG(fuse_to_matrix(in2, 2, &p, &m, &err) == 0, "%s", err.msg);
    check_row(&m, 0, "a", (const double[]){0.5, 1.5});
    check_row(&m, 1, "b", (const double[]){2.5, 2});
    check_row(&m, 2, "c", (const double[]){3, 3.5});
    mmf_matrix_free(&m);

    /* weighted mean and its metadata */
    const double w[] = {3, 1};
    p.weights = w;
    p.weight_count = 2;
    CHECK_MSG(fuse_to_matrix(in2, 2, &p, &m, &err) == 0, "%s", err.msg);
    check_row(&m, 0, "a", (const double[]){0.75, 1.75});
    CHECK_EQ_STR(mmf_header_get(&m.header, "fusion.weights"), "3,1");
    mmf_matrix_free(&m);

    /* dimension mismatch for mean */
    const char *bad[] = {pa, pc};
    p = params(FUSE_MEAN);
    CHECK(fuse_to_matrix(bad, 2, &p, &m, &err) == -1);
    CHECK_EQ_INT(err.kind, MM_ERR_MISMATCH);
    CHECK(strstr(err.msg, "C.mmf: dimension 3 differs from") != NULL);

    /* weight count mismatch, product with weights, wsum without weights */
    p = params(FUSE_SUM);
    p.weights = w;
    p.weight_count = 2;
    CHECK(fuse_to_matrix(in3, 3, &p, &m, &err) == -1);
    CHECK(strstr(err.msg, "2 weights for 3 inputs") != NULL);
    p = params(FUSE_WSUM);
    CHECK(fuse_to_matrix(in2, 2, &p, &m, &err) == -1);
    p = params(FUSE_PRODUCT);
    p.weights = w;
    p.weight_count = 2;
    CHECK(fuse_to_matrix(in2, 2, &p, &m, &err) == -1);
}

static void test_single_input_identity(void)
{
    /* fusing one input with weight 1 gives that input, bit for bit, for every method */
    rec r[] = {{"x1", {0.1f, -0.2f, 0.3f}}, {"x2", {1e-30f, 3e30f, -7}}, {"x3", {0, 0, 0}}};
    const char *pr = write_mmf("one.mmf", 3, r, 3, "m", 0);
    const double one[] = {1};
    for (int method = FUSE_CONCAT; method <= FUSE_MAX; method++) {
        fuse_params p = params(method);
        if (method != FUSE_PRODUCT) {
            p.weights = one;
            p.weight_count = 1;
        }
        mmf_matrix m;
        mm_error err;
        CHECK_MSG(fuse_to_matrix(&pr, 1, &p, &m, &err) == 0, "%s: %s", fuse_method_name(method),
                  err.msg);
        CHECK_EQ_INT(m.rows, 3);
        CHECK_EQ_INT(m.dim, 3);
        for (size_t i = 0; i < m.rows && i < 3; i++) {
            CHECK_EQ_STR(m.ids[i], r[i].id);
            CHECK_MSG(memcmp(m.data + i * 3, r[i].v, 3 * sizeof(float)) == 0, "method %s row %zu",
                      fuse_method_name(method), i);
        }
        CHECK_EQ_STR(mmf_header_get(&m.header, "model"), "m"); /* same model kept */
        mmf_matrix_free(&m);
    }
}

static void test_missing_policies(void)
{
    rec a[] = {{"a", {1}}, {"b", {2}}, {"c", {3}}};
    rec b[] = {{"c", {30}}, {"d", {40}}, {"a", {10}}};
    const char *pa = write_mmf("ma.mmf", 1, a, 3, NULL, 0);
    const char *pb = write_mmf("mb.mmf", 1, b, 3, NULL, 0);
    const char *in[] = {pa, pb};
    mm_error err;
    mmf_matrix m;
    fuse_params p = params(FUSE_SUM);
    CHECK(fuse_to_matrix(in, 2, &p, &m, &err) == -1);
    /* the first missing id in output order: b (of ma.mmf) missing from mb.mmf */
    CHECK_MSG(strstr(err.msg, "mb.mmf: id 'b' (present in") != NULL, "%s", err.msg);
    CHECK(strstr(err.msg, "ma.mmf") != NULL);

    /* ids only in a later input are reported against the first input */
    rec b2[] = {{"c", {30}}, {"b", {20}}, {"a", {10}}, {"z", {0}}};
    const char *pb2 = write_mmf("mb2.mmf", 1, b2, 4, NULL, 0);
    const char *in2[] = {pa, pb2};
    CHECK(fuse_to_matrix(in2, 2, &p, &m, &err) == -1);
    CHECK_MSG(strstr(err.msg, "ma.mmf: id 'z' (present in") != NULL, "%s", err.msg);

    p.missing = FUSE_MISSING_SKIP;
    CHECK_MSG(fuse_to_matrix(in, 2, &p, &m, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(m.rows, 2);
    check_row(&m, 0, "a", (const double[]){11});
    check_row(&m, 1, "c", (const double[]){33});
    mmf_matrix_free(&m);

    p.missing = FUSE_MISSING_ZERO; /* union: ma's order, then the new ids of mb */
    CHECK_MSG(fuse_to_matrix(in, 2, &p, &m, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(m.rows, 4);
    check_row(&m, 0, "a", (const double[]){11});
    check_row(&m, 1, "b", (const double[]){2});
    check_row(&m, 2, "c", (const double[]){33});
    check_row(&m, 3, "d", (const double[]){40});
    mmf_matrix_free(&m);

    /* an input without records */
    const char *pempty = write_mmf("none.mmf", 1, a, 0, NULL, 0);
    const char *in4[] = {pa, pempty};
    p.missing = FUSE_MISSING_ZERO;
    CHECK(fuse_to_matrix(in4, 2, &p, &m, &err) == -1);
    CHECK_MSG(strstr(err.msg, "none.mmf: no records") != NULL, "%s", err.msg);

    /* disjoint inputs with skip: nothing to write is an error */
    rec d[] = {{"q", {1}}};
    const char *pd = write_mmf("md.mmf", 1, d, 1, NULL, 0);
    const char *in3[] = {pa, pd};
    p.missing = FUSE_MISSING_SKIP;
    CHECK(fuse_to_matrix(in3, 2, &p, &m, &err) == -1);
}

static void test_group_by_and_duplicates(void)
{
    rec caps[] = {{"img1#0", {1, 0}}, {"img2#0", {2, 2}}, {"img1#1", {0, 1}},
                  {"img1#2", {0.5f, 0.5f}}, {"img3", {4, 0}}};
    const char *pc = write_mmf("caps.mmf", 2, caps, 5, "clip", MMF_FLAG_NORMALIZED);
    mm_error err;
    mmf_matrix m;
    fuse_params p = params(FUSE_MEAN);
    CHECK(fuse_group_rule_parse("suffix:#", &p.group, &err) == 0);
    CHECK_MSG(fuse_to_matrix(&pc, 1, &p, &m, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(m.rows, 3);
    check_row(&m, 0, "img1", (const double[]){0.5, 0.5}); /* (1+0+0.5)/3, (0+1+0.5)/3 */
    check_row(&m, 1, "img2", (const double[]){2, 2});
    check_row(&m, 2, "img3", (const double[]){4, 0});
    CHECK_EQ_STR(mmf_header_get(&m.header, "fusion.group_by"), "suffix:#");
    mmf_matrix_free(&m);

    /* with l2 on each caption first and on the mean after */
    p.input_norm = FUSE_VNORM_L2;
    p.output_norm = FUSE_VNORM_L2;
    CHECK_MSG(fuse_to_matrix(&pc, 1, &p, &m, &err) == 0, "%s", err.msg);
    double s = sqrt(0.5);
    /* img1: (1,0), (0,1), (s,s) -> mean ((1+s)/3, (1+s)/3) -> (s, s) */
    check_row(&m, 0, "img1", (const double[]){s, s});
    check_row(&m, 1, "img2", (const double[]){s, s});
    check_row(&m, 2, "img3", (const double[]){1, 0});
    CHECK(m.header.flags & MMF_FLAG_NORMALIZED);
    mmf_matrix_free(&m);

    /* grouped text joined with image features: group keys are the join keys */
    rec imgs[] = {{"img3", {9}}, {"img1", {7}}, {"img2", {8}}};
    const char *pi = write_mmf("imgs.mmf", 1, imgs, 3, "clip", 0);
    const char *in[] = {pi, pc};
    p = params(FUSE_CONCAT);
    CHECK(fuse_group_rule_parse("suffix:#", &p.group, &err) == 0);
    CHECK_MSG(fuse_to_matrix(in, 2, &p, &m, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(m.dim, 3);
    check_row(&m, 0, "img3", (const double[]){9, 4, 0});
    check_row(&m, 1, "img1", (const double[]){7, 0.5, 0.5});
    mmf_matrix_free(&m);

    /* duplicate ids without --group-by: an error naming both records */
    rec dup[] = {{"a", {1}}, {"b", {2}}, {"a", {3}}};
    const char *pd = write_mmf("dup.mmf", 1, dup, 3, NULL, 0);
    p = params(FUSE_SUM);
    CHECK(fuse_to_matrix(&pd, 1, &p, &m, &err) == -1);
    CHECK_MSG(strstr(err.msg, "dup.mmf: record 3: duplicate id 'a' (also record 1)") != NULL, "%s",
              err.msg);
    CHECK(fuse_group_rule_parse("id", &p.group, &err) == 0);
    CHECK_MSG(fuse_to_matrix(&pd, 1, &p, &m, &err) == 0, "%s", err.msg);
    check_row(&m, 0, "a", (const double[]){2});
    check_row(&m, 1, "b", (const double[]){2});
    mmf_matrix_free(&m);

    /* an id whose key is empty */
    rec empty[] = {{"#1", {1}}};
    const char *pe = write_mmf("empty.mmf", 1, empty, 1, NULL, 0);
    CHECK(fuse_group_rule_parse("suffix:#", &p.group, &err) == 0);
    CHECK(fuse_to_matrix(&pe, 1, &p, &m, &err) == -1);
    CHECK(strstr(err.msg, "empty.mmf: record 1: id '#1' gives an empty group key") != NULL);
}

static void test_normalisations(void)
{
    rec a[] = {{"a", {3, 4}}, {"b", {1, 0}}, {"c", {2, 2}}};
    const char *pa = write_mmf("na.mmf", 2, a, 3, NULL, 0);
    mm_error err;
    mmf_matrix m;
    fuse_params p = params(FUSE_SUM);
    p.input_norm = FUSE_VNORM_L2;
    CHECK(fuse_to_matrix(&pa, 1, &p, &m, &err) == 0);
    check_row(&m, 0, "a", (const double[]){0.6, 0.8});
    CHECK(!(m.header.flags & MMF_FLAG_NORMALIZED)); /* only the final l2 sets the flag */
    mmf_matrix_free(&m);

    /* zscore per dimension: dim 0 values 3,1,2 (mean 2, std sqrt(2/3)),
     * dim 1 values 4,0,2 (mean 2, std sqrt(8/3)) */
    p.input_norm = FUSE_VNORM_ZSCORE;
    CHECK(fuse_to_matrix(&pa, 1, &p, &m, &err) == 0);
    double s0 = sqrt(2.0 / 3.0), s1 = sqrt(8.0 / 3.0);
    check_row(&m, 0, "a", (const double[]){1 / s0, 2 / s1});
    check_row(&m, 1, "b", (const double[]){-1 / s0, -2 / s1});
    check_row(&m, 2, "c", (const double[]){0, 0});
    mmf_matrix_free(&m);
    p.input_norm = FUSE_VNORM_NONE;
    p.output_norm = FUSE_VNORM_ZSCORE;
    CHECK(fuse_to_matrix(&pa, 1, &p, &m, &err) == 0);
    check_row(&m, 0, "a", (const double[]){1 / s0, 2 / s1});
    mmf_matrix_free(&m);

    /* final l2 of a zero fused vector is an error naming the id */
    rec z[] = {{"ok", {1, 1}}, {"zero", {0, 0}}};
    const char *pz = write_mmf("z.mmf", 2, z, 2, NULL, 0);
    p.output_norm = FUSE_VNORM_L2;
    CHECK(fuse_to_matrix(&pz, 1, &p, &m, &err) == -1);
    CHECK(strstr(err.msg, "id 'zero': the fused vector is zero") != NULL);

    /* non-finite input values are refused */
    rec nf[] = {{"ok", {1, 1}}, {"bad", {NAN, 1}}};
    const char *pn = write_mmf("nf.mmf", 2, nf, 2, NULL, 0);
    p.output_norm = FUSE_VNORM_NONE;
    CHECK(fuse_to_matrix(&pn, 1, &p, &m, &err) == -1);
    CHECK_MSG(strstr(err.msg, "nf.mmf: record 2 (id 'bad'): element 1 is not finite") != NULL, "%s",
              err.msg);

    /* a product overflowing float32 is an error, not an infinity */
    rec big[] = {{"x", {3e38f, 1}}};
    const char *pbig = write_mmf("big.mmf", 2, big, 1, NULL, 0);
    rec big2[] = {{"x", {10, 1}}};
    const char *pbig2 = write_mmf("big2.mmf", 2, big2, 1, NULL, 0);
    const char *in[] = {pbig, pbig2};
    p = params(FUSE_PRODUCT);
    CHECK(fuse_to_matrix(in, 2, &p, &m, &err) == -1);
    CHECK(strstr(err.msg, "not representable as float32") != NULL);
}

static void test_aligned(void)
{
    rec a[] = {{"img1#0", {1, 0}}, {"img1#1", {0, 1}}, {"img2#0", {2, 2}}};
    rec b[] = {{"img1#0", {5, 5}}, {"img1#1", {1, 1}}, {"img2#0", {0, 4}}};
    const char *pa = write_mmf("al_a.mmf", 2, a, 3, NULL, 0);
    const char *pb = write_mmf("al_b.mmf", 2, b, 3, NULL, 0);
    const char *in[] = {pa, pb};
    mm_error err;
    for (int method = FUSE_CONCAT; method <= FUSE_MAX; method++) {
        if (method == FUSE_WSUM) continue;
        for (int grouped = 0; grouped < 2; grouped++) {
            /* streaming gives exactly what the join gives on aligned inputs */
            fuse_params p = params(method);
            p.input_norm = FUSE_VNORM_L2;
            p.output_norm = FUSE_VNORM_L2;
            if (grouped) CHECK(fuse_group_rule_parse("suffix:#", &p.group, &err) == 0);
            mmf_matrix j, s;
            CHECK_MSG(fuse_to_matrix(in, 2, &p, &j, &err) == 0, "%s", err.msg);
            p.aligned = true;
            CHECK_MSG(fuse_to_matrix(in, 2, &p, &s, &err) == 0, "%s", err.msg);
            CHECK_EQ_INT(j.rows, s.rows);
            CHECK_EQ_INT(j.rows, grouped ? 2 : 3);
            CHECK_EQ_INT(j.dim, s.dim);
            for (size_t i = 0; i < j.rows && i < s.rows; i++) CHECK_EQ_STR(j.ids[i], s.ids[i]);
            CHECK_MSG(memcmp(j.data, s.data, j.rows * j.dim * sizeof(float)) == 0, "%s grouped %d",
                      fuse_method_name(method), grouped);
            CHECK_EQ_STR(mmf_header_get(&s.header, "fusion.mode"), "aligned");
            mmf_matrix_free(&j);
            mmf_matrix_free(&s);
        }
    }
    /* not aligned: record 2 differs */
    rec c[] = {{"img1#0", {5, 5}}, {"img2#0", {0, 4}}, {"img1#1", {1, 1}}};
    const char *pc = write_mmf("al_c.mmf", 2, c, 3, NULL, 0);
    const char *bad[] = {pa, pc};
    fuse_params p = params(FUSE_SUM);
    p.aligned = true;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    uint64_t written;
    CHECK(fuse_features(bad, 2, &p, fp, "mem", &written, &err) == -1);
    fclose(fp);
    free(buf);
    CHECK_MSG(strstr(err.msg, "al_c.mmf: record 2: id 'img2#0' differs from") != NULL, "%s", err.msg);
    /* different lengths */
    const char *shorter = write_mmf("al_d.mmf", 2, b, 2, NULL, 0);
    const char *bad2[] = {pa, shorter};
    fp = open_memstream(&buf, &len);
    CHECK(fuse_features(bad2, 2, &p, fp, "mem", &written, &err) == -1);
    fclose(fp);
    free(buf);
    CHECK_MSG(strstr(err.msg, "al_d.mmf: ends after 2 records") != NULL, "%s", err.msg);
    /* zscore needs whole-input statistics */
    p.input_norm = FUSE_VNORM_ZSCORE;
    fp = open_memstream(&buf, &len);
    CHECK(fuse_features(in, 2, &p, fp, "mem", &written, &err) == -1);
    fclose(fp);
    free(buf);
    CHECK_EQ_INT(err.kind, MM_ERR_UNSUPPORTED);
}

/* ---- late fusion ------------------------------------------------------------------- */
static void load_run(trec_run *run, const char *text, const char *name)
{
    mm_error err;
    trec_reader *r = trec_reader_open_mem(text, strlen(text), name, &err);
    CHECK(r != NULL);
    CHECK_MSG(trec_run_load_reader(run, r, &err) == 0, "%s", err.msg);
    trec_reader_close(r);
}

static const char RUN1[] = "q1 Q0 d1 1 3.0 r1\n"
                           "q1 Q0 d2 2 2.0 r1\n"
                           "q1 Q0 d3 3 1.0 r1\n"
                           "q2 Q0 d1 1 5 r1\n";
static const char RUN2[] = "q1 Q0 d3 1 0.9 r2\n"
                           "q1 Q0 d1 2 0.5 r2\n"
                           "q1 Q0 d4 3 0.1 r2\n";

typedef struct expect {
    const char *qid, *doc;
    double score;
} expect;

static void check_fused(int method, int norm, const double *w, const expect *want, size_t n,
                        double tol)
{
    trec_run runs[2];
    load_run(&runs[0], RUN1, "r1");
    load_run(&runs[1], RUN2, "r2");
    fuse_run_params p = {.method = method, .norm = norm, .rrf_k = 60, .k = 0};
    mm_error err;
    fuse_runs *fr = fuse_runs_prepare(runs, 2, &p, &err);
    CHECK(fr != NULL);
    fuse_result res = {0};
    CHECK(fuse_runs_apply(fr, w, &res, &err) == 0);
    size_t at = 0;
    for (size_t q = 0; q < res.query_count; q++)
        for (size_t j = 0; j < res.queries[q].count; j++, at++) {
            if (at >= n) continue;
            CHECK_EQ_STR(res.queries[q].qid, want[at].qid);
            CHECK_MSG(strcmp(res.queries[q].items[j].docno, want[at].doc) == 0,
                      "%s/%s row %zu: got %s", fuse_method_name(method), fuse_snorm_name(norm), at,
                      res.queries[q].items[j].docno);
            CHECK_NEAR(res.queries[q].items[j].score, want[at].score, tol);
        }
    CHECK_EQ_INT(at, n);
    fuse_result_free(&res);
    fuse_runs_free(fr);
    trec_run_free(&runs[0]);
    trec_run_free(&runs[1]);
}

static void test_late_methods(void)
{
    /* rrf, k = 60: d1 ranks 1 and 2, d3 ranks 3 and 1, d2 rank 2, d4 rank 3 */
    expect rrf[] = {{"q1", "d1", 1.0 / 61 + 1.0 / 62}, {"q1", "d3", 1.0 / 63 + 1.0 / 61},
                    {"q1", "d2", 1.0 / 62},            {"q1", "d4", 1.0 / 63},
                    {"q2", "d1", 1.0 / 61}};
    check_fused(FUSE_RRF, FUSE_SNORM_NONE, NULL, rrf, 5, 0);
    /* weighted rrf */
    expect wrrf[] = {{"q1", "d3", 1.0 / 63 + 3.0 / 61}, {"q1", "d1", 1.0 / 61 + 3.0 / 62},
                     {"q1", "d4", 3.0 / 63},            {"q1", "d2", 1.0 / 62},
                     {"q2", "d1", 1.0 / 61}};
    check_fused(FUSE_RRF, FUSE_SNORM_NONE, (const double[]){1, 3}, wrrf, 5, 0);

    /* minmax: r1 q1 -> d1 1, d2 .5, d3 0; r2 q1 -> d3 1, d1 .5, d4 0; r2 q2 single -> 1 */
    expect sum[] = {{"q1", "d1", 1.5}, {"q1", "d3", 1}, {"q1", "d2", 0.5}, {"q1", "d4", 0},
                    {"q2", "d1", 1}};
    check_fused(FUSE_COMBSUM, FUSE_SNORM_MINMAX, NULL, sum, 5, 1e-15);
    expect mnz[] = {{"q1", "d1", 3}, {"q1", "d3", 2}, {"q1", "d2", 0.5}, {"q1", "d4", 0},
                    {"q2", "d1", 1}};
    check_fused(FUSE_COMBMNZ, FUSE_SNORM_MINMAX, NULL, mnz, 5, 1e-15);
    /* combmax: d1 and d3 tie at 1: docno strcmp DESCENDING puts d3 first */
    expect mx[] = {{"q1", "d3", 1}, {"q1", "d1", 1}, {"q1", "d2", 0.5}, {"q1", "d4", 0},
                   {"q2", "d1", 1}};
    check_fused(FUSE_COMBMAX, FUSE_SNORM_MINMAX, NULL, mx, 5, 1e-15);
    /* wsum 2,1 with minmax */
    expect ws[] = {{"q1", "d1", 2.5}, {"q1", "d2", 1}, {"q1", "d3", 1}, {"q1", "d4", 0},
                   {"q2", "d1", 2}};
    /* d2 and d3 tie at 1: d3 > d2 by strcmp, so d3 first */
    ws[1] = (expect){"q1", "d3", 1};
    ws[2] = (expect){"q1", "d2", 1};
    check_fused(FUSE_RUN_WSUM, FUSE_SNORM_MINMAX, (const double[]){2, 1}, ws, 5, 1e-15);

    /* none: raw scores; d1 3+0.5, d2 2, d3 1+0.9, d4 0.1 */
    expect none[] = {{"q1", "d1", 3.5}, {"q1", "d2", 2}, {"q1", "d3", 1.9}, {"q1", "d4", 0.1},
                     {"q2", "d1", 5}};
    check_fused(FUSE_COMBSUM, FUSE_SNORM_NONE, NULL, none, 5, 1e-15);

    /* zscore: r1 q1 (3,2,1): mean 2, sd sqrt(2/3); r2 q1 (.9,.5,.1): mean .5, sd sqrt(.32/3);
     * single-document lists have sd 0 -> 0 */
    double s1 = sqrt(2.0 / 3.0), s2 = sqrt(0.32 / 3.0);
    /* d1 1/s1 + 0; d3 -1/s1 + 0.4/s2 and d2 0 are both 0 in exact arithmetic (their
     * order then depends on the rounding of d3's sum), d4 -0.4/s2, q2 d1 0 */
    {
        trec_run runs[2];
        load_run(&runs[0], RUN1, "r1");
        load_run(&runs[1], RUN2, "r2");
        fuse_run_params p = {.method = FUSE_COMBSUM, .norm = FUSE_SNORM_ZSCORE, .k = 0};
        mm_error err;
        fuse_runs *fr = fuse_runs_prepare(runs, 2, &p, &err);
        fuse_result res = {0};
        CHECK(fuse_runs_apply(fr, NULL, &res, &err) == 0);
        CHECK_EQ_INT(res.query_count, 2);
        CHECK_EQ_STR(res.queries[0].items[0].docno, "d1");
        CHECK_NEAR(res.queries[0].items[0].score, 1 / s1, 1e-12);
        CHECK_NEAR(res.queries[0].items[1].score, 0, 1e-12);
        CHECK_NEAR(res.queries[0].items[2].score, 0, 1e-12);
        CHECK_EQ_STR(res.queries[0].items[3].docno, "d4");
        CHECK_NEAR(res.queries[0].items[3].score, -0.4 / s2, 1e-12);
        CHECK_NEAR(res.queries[1].items[0].score, 0, 0);
        fuse_result_free(&res);
        fuse_runs_free(fr);
        trec_run_free(&runs[0]);
        trec_run_free(&runs[1]);
    }

    /* sum: shift to min 0, divide by the sum: r1 q1 (2,1,0)/3; r2 q1 (.8,.4,0)/1.2;
     * single document: 1/n = 1 */
    expect sn[] = {{"q1", "d1", 2.0 / 3 + 0.4 / 1.2}, {"q1", "d3", 0 + 0.8 / 1.2},
                   {"q1", "d2", 1.0 / 3},             {"q1", "d4", 0},
                   {"q2", "d1", 1}};
    check_fused(FUSE_COMBSUM, FUSE_SNORM_SUM, NULL, sn, 5, 1e-12);

    /* rank: 1 - (r-1)/n: r1 q1 1, 2/3, 1/3; r2 q1 1, 2/3, 1/3 */
    expect rk[] = {{"q1", "d1", 1 + 2.0 / 3}, {"q1", "d3", 1.0 / 3 + 1},
                   {"q1", "d2", 2.0 / 3},     {"q1", "d4", 1.0 / 3},
                   {"q2", "d1", 1}};
    check_fused(FUSE_COMBSUM, FUSE_SNORM_RANK, NULL, rk, 5, 1e-15);

    /* a run of weight 0 is ignored: its documents and its queries vanish */
    expect only2[] = {{"q1", "d3", 1}, {"q1", "d1", 0.5}, {"q1", "d4", 0}};
    check_fused(FUSE_COMBSUM, FUSE_SNORM_MINMAX, (const double[]){0, 1}, only2, 3, 1e-15);
}

static void test_late_depth_k_digits(void)
{
    trec_run runs[2];
    load_run(&runs[0], RUN1, "r1");
    load_run(&runs[1], RUN2, "r2");
    mm_error err;
    /* depth 1: only d1 (r1) and d3 (r2) for q1 */
    fuse_run_params p = {.method = FUSE_RRF, .rrf_k = 60, .depth = 1, .k = 0};
    fuse_runs *fr = fuse_runs_prepare(runs, 2, &p, &err);
    fuse_result res = {0};
    CHECK(fuse_runs_apply(fr, NULL, &res, &err) == 0);
    CHECK_EQ_INT(res.queries[0].count, 2);
    /* equal scores 1/61: d3 before d1 (docno descending) */
    CHECK_EQ_STR(res.queries[0].items[0].docno, "d3");
    CHECK_EQ_STR(res.queries[0].items[1].docno, "d1");
    fuse_result_free(&res);
    fuse_runs_free(fr);

    /* k = 2 cuts the output */
    p = (fuse_run_params){.method = FUSE_RRF, .rrf_k = 60, .k = 2};
    fr = fuse_runs_prepare(runs, 2, &p, &err);
    CHECK(fuse_runs_apply(fr, NULL, &res, &err) == 0);
    CHECK_EQ_INT(res.queries[0].count, 2);
    CHECK_EQ_INT(res.queries[1].count, 1);
    /* the text as written, with the shortest exact scores */
    size_t len;
    char *text = fuse_result_format(&res, "tag", 0, &len, &err);
    CHECK_EQ_STR(text, "q1 Q0 d1 1 0.03252247488101534 tag\n"
                       "q1 Q0 d3 2 0.032266458495966696 tag\n"
                       "q2 Q0 d1 1 0.01639344262295082 tag\n");
    free(text);
    fuse_result_free(&res);
    fuse_runs_free(fr);

    /* digits 1: 1/61+1/62 = 0.0325 and 1/61+1/63 = 0.0323 both round to 0.03
     * and tie: d3 before d1, as trec_eval orders the written file */
    p = (fuse_run_params){.method = FUSE_RRF, .rrf_k = 60, .k = 0, .digits = 1};
    fr = fuse_runs_prepare(runs, 2, &p, &err);
    CHECK(fuse_runs_apply(fr, NULL, &res, &err) == 0);
    CHECK_EQ_STR(res.queries[0].items[0].docno, "d3");
    CHECK_EQ_STR(res.queries[0].items[1].docno, "d1");
    CHECK_NEAR(res.queries[0].items[0].score, 0.03, 0);
    text = fuse_result_format(&res, "t", 1, &len, &err);
    CHECK(strncmp(text, "q1 Q0 d3 1 0.03 t\nq1 Q0 d1 2 0.03 t\n", 36) == 0);
    free(text);
    fuse_result_free(&res);
    fuse_runs_free(fr);

    char buf[64];
    fuse_format_score(buf, sizeof buf, 0.1, 0);
    CHECK_EQ_STR(buf, "0.1");
    fuse_format_score(buf, sizeof buf, 1.0 / 3, 0);
    CHECK_EQ_STR(buf, "0.3333333333333333");
    fuse_format_score(buf, sizeof buf, 0.75f, 0);
    CHECK_EQ_STR(buf, "0.75");
    trec_run_free(&runs[0]);
    trec_run_free(&runs[1]);
}

/* A random run with ties: RRF of it with itself, and combsum of it alone with
 * weight 1 and no normalisation, give back its order (and, for the latter, its
 * scores). */
static void test_late_properties(void)
{
    unsigned long long seed = 42;
    char *text = malloc(1 << 16);
    size_t at = 0;
    for (int q = 0; q < 5; q++)
        for (int d = 0; d < 60; d++) {
            /* few distinct scores: many ties, broken by docno */
            double s = (double)(test_rand_u64(&seed) % 7) / 4.0;
            at += (size_t)sprintf(text + at, "q%d Q0 doc%llu 0 %.17g run\n", q,
                                  test_rand_u64(&seed) % 100000, s);
        }
    trec_run run;
    load_run(&run, text, "rand");
    free(text);
    trec_run two[2] = {run, run};
    mm_error err;
    fuse_run_params p = {.method = FUSE_RRF, .rrf_k = 60, .k = 0};
    fuse_runs *fr = fuse_runs_prepare(two, 2, &p, &err);
    fuse_result res = {0};
    CHECK(fuse_runs_apply(fr, NULL, &res, &err) == 0);
    CHECK_EQ_INT(res.query_count, run.query_count);
    for (size_t q = 0; q < res.query_count; q++) {
        CHECK_EQ_INT(res.queries[q].count, run.queries[q].count);
        for (size_t j = 0; j < res.queries[q].count; j++)
            CHECK(strcmp(res.queries[q].items[j].docno, run.queries[q].items[j].docno) == 0);
    }
    fuse_result_free(&res);
    fuse_runs_free(fr);

    for (int m = FUSE_RRF; m <= FUSE_RUN_WSUM; m++) {
        p = (fuse_run_params){.method = m, .norm = FUSE_SNORM_NONE, .rrf_k = 60, .k = 0};
        fr = fuse_runs_prepare(&run, 1, &p, &err);
        CHECK(fuse_runs_apply(fr, (const double[]){1}, &res, &err) == 0);
        for (size_t q = 0; q < res.query_count; q++)
            for (size_t j = 0; j < res.queries[q].count; j++) {
                CHECK(strcmp(res.queries[q].items[j].docno, run.queries[q].items[j].docno) == 0);
                if (m != FUSE_RRF)
                    CHECK_NEAR(res.queries[q].items[j].score, run.queries[q].items[j].score, 0);
            }
        fuse_result_free(&res);
        fuse_runs_free(fr);
    }
    trec_run_free(&run);

    /* a normalisation that overflows is an error, not a silently dropped document */
    trec_run huge;
    load_run(&huge, "q1 Q0 d1 1 1e308 r\nq1 Q0 d2 2 -1e308 r\n", "huge.trec");
    p = (fuse_run_params){.method = FUSE_COMBSUM, .norm = FUSE_SNORM_MINMAX, .k = 0};
    CHECK(fuse_runs_prepare(&huge, 1, &p, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "huge.trec: query 'q1': --norm minmax of the scores overflows") != NULL,
              "%s", err.msg);
    p.norm = FUSE_SNORM_RANK;
    fr = fuse_runs_prepare(&huge, 1, &p, &err);
    CHECK(fr != NULL);
    fuse_runs_free(fr);
    /* a sum that overflows is an error too */
    p.norm = FUSE_SNORM_NONE;
    trec_run h2[2] = {huge, huge};
    fr = fuse_runs_prepare(h2, 2, &p, &err);
    CHECK(fr != NULL);
    CHECK(fuse_runs_apply(fr, NULL, &res, &err) == -1);
    CHECK(strstr(err.msg, "overflows") != NULL);
    fuse_result_free(&res);
    fuse_runs_free(fr);
    trec_run_free(&huge);

    /* non-finite scores are refused */
    trec_run inf;
    load_run(&inf, "q1 Q0 d1 1 inf r\n", "inf.trec");
    p = (fuse_run_params){.method = FUSE_COMBSUM, .norm = FUSE_SNORM_MINMAX, .k = 0};
    CHECK(fuse_runs_prepare(&inf, 1, &p, &err) == NULL);
    CHECK(strstr(err.msg, "not finite") != NULL);
    trec_run_free(&inf);
}

/* ---- weight search ----------------------------------------------------------------- */
static double eval_text(const trec_qrels *qrels, mm_measure_set *set, const char *text)
{
    mm_error err;
    trec_reader *r = trec_reader_open_mem(text, strlen(text), "t", &err);
    mm_eval_opts o = MM_EVAL_OPTS_DEFAULT;
    mm_eval_result er;
    int st;
    double v = NAN;
    if (mm_evaluate_reader(qrels, r, &o, set, &er, &err, &st) == 0) v = mm_summary_value(set, &er, &o, 0, NULL, 0);
    mm_eval_result_free(&er, set); /* a failure may leave a partial result */
    trec_reader_close(r);
    return v;
}

static void test_optimize(void)
{
    trec_run runs[3];
    load_run(&runs[0], RUN1, "r1");
    load_run(&runs[1], RUN2, "r2");
    load_run(&runs[2], "q1 Q0 d2 1 9 r3\nq1 Q0 d4 2 8 r3\nq2 Q0 d5 1 1 r3\n", "r3");
    const char *qtext = "q1 0 d3 1\nq1 0 d4 1\nq2 0 d1 1\n";
    mm_error err;
    trec_reader *qr = trec_reader_open_mem(qtext, strlen(qtext), "qrels", &err);
    trec_qrels qrels;
    CHECK(trec_qrels_load_reader(&qrels, qr, &err) == 0);
    trec_reader_close(qr);

    fuse_run_params rp = {.method = FUSE_COMBSUM, .norm = FUSE_SNORM_MINMAX, .k = 0};
    fuse_runs *fr = fuse_runs_prepare(runs, 3, &rp, &err);
    fuse_optimize_params op = {.measure = "map", .qrels = &qrels, .eval = MM_EVAL_OPTS_DEFAULT,
                               .search = FUSE_SEARCH_GRID, .step = 0.5, .max_rounds = 10,
                               .tag = "t"};
    fuse_optimize_result best;
    int st;
    CHECK_MSG(fuse_optimize(fr, &op, &best, &err, &st) == 0, "%s", err.msg);
    /* uniform + C(2 + 2, 2) = 6 grid points, some skipped (zero weights drop q2 or d-lists) */
    CHECK_EQ_INT(best.evaluations + best.skipped, 7);
    CHECK_EQ_STR(best.row_name, "map");

    /* independent check: the best value is the max over the same candidates,
     * scored through the public path, and the returned weights reproduce it */
    mm_measure_set set = {0};
    CHECK(mm_measure_set_add(&set, "map", &err) == 0);
    CHECK(mm_measure_set_finalize(&set, &err) == 0);
    const double cand[7][3] = {{1.0 / 3, 1.0 / 3, 1.0 / 3}, {1, 0, 0}, {0.5, 0.5, 0},
                               {0.5, 0, 0.5}, {0, 1, 0}, {0, 0.5, 0.5}, {0, 0, 1}};
    double max = -1;
    fuse_result res = {0};
    for (int c = 0; c < 7; c++) {
        CHECK(fuse_runs_apply(fr, cand[c], &res, &err) == 0);
        size_t len;
        char *t = fuse_result_format(&res, "t", 0, &len, &err);
        double v = eval_text(&qrels, &set, t);
        free(t);
        if (!isnan(v) && v > max) max = v;
    }
    CHECK_NEAR(best.value, max, 0);
    CHECK(fuse_runs_apply(fr, best.weights, &res, &err) == 0);
    size_t len;
    char *t = fuse_result_format(&res, "t", 0, &len, &err);
    CHECK_NEAR(eval_text(&qrels, &set, t), best.value, 0);
    free(t);
    fuse_result_free(&res);
    fuse_optimize_result_free(&best);

    /* ascent reaches at least the uniform value and reproduces its value */
    op.search = FUSE_SEARCH_ASCENT;
    op.step = 0.25;
    CHECK_MSG(fuse_optimize(fr, &op, &best, &err, &st) == 0, "%s", err.msg);
    CHECK(fuse_runs_apply(fr, cand[0], &res, &err) == 0);
    t = fuse_result_format(&res, "t", 0, &len, &err);
    CHECK(best.value >= eval_text(&qrels, &set, t));
    free(t);
    CHECK(fuse_runs_apply(fr, best.weights, &res, &err) == 0);
    t = fuse_result_format(&res, "t", 0, &len, &err);
    CHECK_NEAR(eval_text(&qrels, &set, t), best.value, 0);
    free(t);
    fuse_result_free(&res);
    fuse_optimize_result_free(&best);

    /* bad requests */
    op.search = FUSE_SEARCH_GRID;
    op.measure = "P.5,10";
    CHECK(fuse_optimize(fr, &op, &best, &err, &st) == -1);
    CHECK(strstr(err.msg, "2 values") != NULL);
    op.measure = "nosuchmeasure";
    CHECK(fuse_optimize(fr, &op, &best, &err, &st) == -1);
    op.measure = "map";
    op.step = 0.3;
    CHECK(fuse_optimize(fr, &op, &best, &err, &st) == -1);

    mm_measure_set_free(&set);
    fuse_runs_free(fr);
    trec_qrels_free(&qrels);
    for (int i = 0; i < 3; i++) trec_run_free(&runs[i]);
}

static void cleanup(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_combine_methods);
    RUN(test_output_dim);
    RUN(test_zscore_stats);
    RUN(test_parse);
    RUN(test_group_rules);
    RUN(test_join_concat_and_mean);
    RUN(test_single_input_identity);
    RUN(test_missing_policies);
    RUN(test_group_by_and_duplicates);
    RUN(test_normalisations);
    RUN(test_aligned);
    RUN(test_late_methods);
    RUN(test_late_depth_k_digits);
    RUN(test_late_properties);
    RUN(test_optimize);
    cleanup();
    return test_summary();
}
