/* test_rank.c — the ranking engine end to end on small in-memory MMF streams. */
#include "core/vec.h"
#include "test.h"
#include "kernels/half.h"
#include "io/mmf.h"
#include "retrieval/rank.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

typedef struct blob {
    char *data;
    size_t len;
} blob;

typedef struct dataset {
    size_t n, dim;
    float *vec;
    char (*id)[24];
} dataset;

static dataset make_data(size_t n, size_t dim, const char *prefix, unsigned long long seed, int exact)
{
    dataset d = {n, dim, malloc(n * dim * sizeof(float) + 1), malloc(n * sizeof *d.id + 1)};
    for (size_t i = 0; i < n; i++) {
        snprintf(d.id[i], sizeof d.id[i], "%s%zu", prefix, i);
        for (size_t j = 0; j < dim; j++) {
            /* exact: multiples of 1/4 in [-1, 1], so every dot product is exact
             * in float and exact ties are common */
            d.vec[i * dim + j] = exact ? (float)((int)(test_rand_u64(&seed) % 9) - 4) / 4.0f
                                       : (float)(test_rand_unit(&seed) * 2 - 1);
        }
    }
    return d;
}

static void free_data(dataset *d)
{
    free(d->vec);
    free(d->id);
}

/* Rows [from, to) of d as one MMF segment. */
static blob write_mmf(const dataset *d, size_t from, size_t to, int dtype, uint32_t flags)
{
    blob b = {0};
    FILE *fp = open_memstream(&b.data, &b.len);
    mmf_header h;
    mmf_header_init(&h, (uint32_t)d->dim, dtype, flags);
    mm_error err;
    mmf_writer *w = mmf_writer_open(fp, "mem", &h, &err);
    for (size_t i = from; i < to; i++) mmf_write(w, d->id[i], strlen(d->id[i]), d->vec + i * d->dim, &err);
    mmf_writer_close(w, &err);
    fclose(fp);
    mmf_header_free(&h);
    return b;
}

typedef struct stream {
    FILE *fp;
    mmf_reader *r;
} stream;

static stream open_blob(const blob *b, const char *name)
{
    stream s;
    s.fp = fmemopen(b->data, b->len ? b->len : 1, "rb");
    if (b->len == 0) { /* fmemopen refuses size 0: read an empty stream from /dev/null */
        fclose(s.fp);
        s.fp = fopen("/dev/null", "rb");
    }
    mm_error err;
    s.r = mmf_open_fp(s.fp, name, &err);
    return s;
}

static void close_stream(stream *s)
{
    mmf_close(s->r);
    fclose(s->fp);
}

static void load_queries(const dataset *d, mmf_matrix *m, uint32_t flags)
{
    blob b = write_mmf(d, 0, d->n, MMF_F32, flags);
    stream s = open_blob(&b, "queries");
    mm_error err;
    CHECK(mmf_load_reader(s.r, m, &err) == 0);
    close_stream(&s);
    free(b.data);
}

/* Runs the engine and writes the run in `format`: the text, or NULL if
 * rank_run failed (err filled); *write_rc is rank_write's result. */
static char *run_and_write(const dataset *q, const blob *gallery, const rank_params *p, int format, int *write_rc,
                           mm_error *err)
{
    mmf_matrix m;
    load_queries(q, &m, 0);
    stream s = open_blob(gallery, "gallery");
    rank_result res;
    char *text = NULL;
    size_t len = 0;
    *write_rc = 0;
    if (rank_run(&m, "queries", s.r, p, &res, err) == 0) {
        FILE *fp = open_memstream(&text, &len);
        *write_rc = rank_write(fp, &m, &res, format, "t", err);
        fclose(fp);
        rank_result_free(&res);
    }
    close_stream(&s);
    mmf_matrix_free(&m);
    return text;
}

/* Runs the engine; returns the TREC text (NULL on error, err filled). */
static char *rank_text(const dataset *q, const blob *gallery, const rank_params *p, mm_error *err)
{
    int write_rc;
    char *text = run_and_write(q, gallery, p, RANK_TREC, &write_rc, err);
    CHECK(write_rc == 0);
    return text;
}

/* trec_eval's order written out independently of topk.h. */
static int ref_cmp(const void *a, const void *b)
{
    const topk_entry *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return -strcmp(x->id, y->id);
}

/* Brute force in double precision on exactly representable data. */
static char *brute_text(const dataset *q, const dataset *g, size_t k, bool exclude_self)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    topk_entry *all = malloc(g->n * sizeof *all);
    for (size_t i = 0; i < q->n; i++) {
        size_t n = 0;
        for (size_t j = 0; j < g->n; j++) {
            if (exclude_self && strcmp(q->id[i], g->id[j]) == 0) continue;
            double s = 0;
            for (size_t t = 0; t < q->dim; t++) s += (double)q->vec[i * q->dim + t] * g->vec[j * g->dim + t];
            all[n++] = (topk_entry){s, g->id[j]};
        }
        qsort(all, n, sizeof *all, ref_cmp);
        mm_error err;
        rank_write_query(fp, q->id[i], all, n < k ? n : k, RANK_TREC, "t", 9, &err);
    }
    free(all);
    fclose(fp);
    return text;
}

static void test_vs_brute_force_with_ties(void)
{
    /* 2100 queries: 3 chunks; workers (1-4) share the units of every chunk */
    static const size_t nqs[] = {1, 5, 70, 300, 2100}, blocks[] = {1, 3, 64, 4096}, ks[] = {1, 7, 500};
    dataset g = make_data(257, 8, "g", 7, 1);
    blob gb = write_mmf(&g, 0, g.n, MMF_F32, 0);
    for (size_t a = 0; a < 5; a++) {
        dataset q = make_data(nqs[a], 8, "q", 100 + a, 1);
        for (size_t b = 0; b < 4; b++)
            for (size_t c = 0; c < 3; c++) {
                rank_params p;
                rank_params_default(&p);
                p.k = ks[c];
                p.block = blocks[b];
                p.threads = 1 + (int)((a + b + c) % (a == 4 ? 4 : 3));
                mm_error err;
                char *got = rank_text(&q, &gb, &p, &err);
                char *want = brute_text(&q, &g, p.k, false);
                CHECK_MSG(got && strcmp(got, want) == 0, "nq %zu block %zu k %zu threads %d", nqs[a],
                          blocks[b], ks[c], p.threads);
                free(got);
                free(want);
            }
        free_data(&q);
    }
    free(gb.data);
    free_data(&g);
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/test_rank_XXXXXX");
    int fd = mkstemp(path);
    size_t len = strlen(text);
    CHECK(write(fd, text, len) == (ssize_t)len);
    close(fd);
    return path;
}

/* Ranking disjoint shards and merging gives the whole-gallery run byte for
 * byte, on real-valued data (scores are not exact: this checks that the GEMM
 * shape, not the position in the stream, decides a score's rounding). */
static void test_shard_merge_identity(void)
{
    dataset g = make_data(1000, 48, "img", 11, 0);
    dataset q = make_data(150, 48, "txt", 12, 0);
    static const size_t cut[][4] = {{0, 333, 734, 1000}, {0, 1, 999, 1000}, {0, 500, 500, 1000}};
    for (int k = 1; k <= 40; k += 39)
        for (size_t c = 0; c < 3; c++) {
            rank_params p;
            rank_params_default(&p);
            p.k = (size_t)k;
            p.block = 64;
            p.threads = 2;
            mm_error err;
            blob whole = write_mmf(&g, 0, g.n, MMF_F32, 0);
            char *want = rank_text(&q, &whole, &p, &err);
            char *paths[3];
            for (int s = 0; s < 3; s++) {
                blob part = write_mmf(&g, cut[c][s], cut[c][s + 1], MMF_F32, 0);
                p.threads = 1 + s % 2;
                char *text = rank_text(&q, &part, &p, &err);
                if (!text) { /* an empty shard is an error: give it an empty run */
                    CHECK(cut[c][s] == cut[c][s + 1]);
                    text = strdup("");
                }
                paths[s] = write_temp(text);
                free(text);
                free(part.data);
            }
            char *got = NULL;
            size_t len = 0;
            FILE *fp = open_memstream(&got, &len);
            CHECK(rank_merge((const char *const *)paths, 3, (size_t)k, fp, RANK_TREC, NULL, &err) == 0);
            fclose(fp);
            CHECK_MSG(want && got && strcmp(got, want) == 0, "k %d cut %zu", k, c);
            for (int s = 0; s < 3; s++) {
                unlink(paths[s]);
                free(paths[s]);
            }
            free(got);
            free(want);
            free(whole.data);
        }
    free_data(&g);
    free_data(&q);
}

static void test_exclude_self(void)
{
    dataset g = make_data(60, 6, "x", 5, 1);
    dataset q = make_data(20, 6, "x", 5, 1); /* the first 20 gallery items */
    blob gb = write_mmf(&g, 0, g.n, MMF_F32, 0);
    rank_params p;
    rank_params_default(&p);
    p.k = 5;
    p.block = 7;
    p.exclude_self = true;
    mm_error err;
    char *got = rank_text(&q, &gb, &p, &err);
    char *want = brute_text(&q, &g, 5, true);
    CHECK(got && strcmp(got, want) == 0);
    /* without it every query finds itself among equally scored items */
    CHECK(strstr(got, "x3 Q0 x3 ") == NULL);
    free(got);
    free(want);
    free(gb.data);
    free_data(&g);
    free_data(&q);
}

/* cos on raw vectors == ip on vectors normalised beforehand (bit for bit),
 * and the normalised flag makes cos skip the normalisation. */
static void test_cos_vs_ip(void)
{
    dataset g = make_data(90, 16, "g", 21, 0);
    dataset q = make_data(9, 16, "q", 22, 0);
    dataset gn = make_data(90, 16, "g", 21, 0), qn = make_data(9, 16, "q", 22, 0);
    for (size_t i = 0; i < gn.n; i++) vec_l2_normalize(gn.vec + i * 16, 16);
    for (size_t i = 0; i < qn.n; i++) vec_l2_normalize(qn.vec + i * 16, 16);
    blob gb = write_mmf(&g, 0, g.n, MMF_F32, 0), gnb = write_mmf(&gn, 0, gn.n, MMF_F32, 0);
    rank_params p;
    rank_params_default(&p);
    p.block = 16;
    mm_error err;
    p.metric = RANK_COS;
    char *cos = rank_text(&q, &gb, &p, &err);
    p.metric = RANK_IP;
    char *ip = rank_text(&q, &gb, &p, &err);
    char *ipn = rank_text(&qn, &gnb, &p, &err);
    CHECK(cos && ip && ipn);
    CHECK(strcmp(cos, ipn) == 0);
    CHECK(strcmp(cos, ip) != 0);
    /* A file that claims to be normalised is trusted: cos == ip on it. */
    blob flagged = write_mmf(&g, 0, g.n, MMF_F32, MMF_FLAG_NORMALIZED);
    p.metric = RANK_COS;
    mmf_matrix m;
    load_queries(&q, &m, MMF_FLAG_NORMALIZED);
    stream s = open_blob(&flagged, "gallery");
    rank_result res;
    CHECK(rank_run(&m, "queries", s.r, &p, &res, &err) == 0);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    rank_write(fp, &m, &res, RANK_TREC, "t", &err);
    fclose(fp);
    CHECK(strcmp(text, ip) == 0);
    free(text);
    rank_result_free(&res);
    close_stream(&s);
    mmf_matrix_free(&m);
    free(cos);
    free(ip);
    free(ipn);
    free(gb.data);
    free(gnb.data);
    free(flagged.data);
    free_data(&g);
    free_data(&q);
    free_data(&gn);
    free_data(&qn);
}

/* An f16 gallery ranks exactly like the f32 gallery of its rounded values. */
static void test_f16_gallery(void)
{
    dataset g = make_data(200, 32, "g", 31, 0);
    dataset q = make_data(12, 32, "q", 32, 0);
    dataset gr = make_data(200, 32, "g", 31, 0);
    for (size_t i = 0; i < gr.n * gr.dim; i++) gr.vec[i] = mm_f16_to_f32(mm_f32_to_f16(gr.vec[i]));
    blob h = write_mmf(&g, 0, g.n, MMF_F16, 0), f = write_mmf(&gr, 0, gr.n, MMF_F32, 0);
    CHECK(h.len < f.len);
    rank_params p;
    rank_params_default(&p);
    p.block = 50;
    mm_error err;
    char *a = rank_text(&q, &h, &p, &err), *b = rank_text(&q, &f, &p, &err);
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    free(h.data);
    free(f.data);
    free_data(&g);
    free_data(&q);
    free_data(&gr);
}

static void test_bad_input(void)
{
    rank_params p;
    rank_params_default(&p);
    p.block = 4;
    mm_error err;
    dataset q = make_data(3, 4, "q", 41, 1);
    /* NaN in the gallery names the id */
    dataset g = make_data(10, 4, "g", 42, 1);
    g.vec[7 * 4 + 2] = NAN;
    blob gb = write_mmf(&g, 0, g.n, MMF_F32, 0);
    CHECK(rank_text(&q, &gb, &p, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "'g7'") && strstr(err.msg, "non-finite"), "%s", err.msg);
    p.allow_nonfinite = true;
    char *t = rank_text(&q, &gb, &p, &err);
    CHECK(t && strstr(t, " g7 ") == NULL); /* NaN scores are never ranked */
    free(t);
    p.allow_nonfinite = false;
    free(gb.data);
    /* dimension mismatch */
    dataset g5 = make_data(10, 5, "g", 43, 1);
    gb = write_mmf(&g5, 0, g5.n, MMF_F32, 0);
    CHECK(rank_text(&q, &gb, &p, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "dimension 5") != NULL, "%s", err.msg);
    free(gb.data);
    /* empty gallery: a segment without records, and no segment at all */
    gb = write_mmf(&g5, 0, 0, MMF_F32, 0);
    dataset q5 = make_data(2, 5, "q", 44, 1);
    CHECK(rank_text(&q5, &gb, &p, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "no gallery vectors") != NULL, "%s", err.msg);
    free(gb.data);
    blob empty = {0};
    CHECK(rank_text(&q5, &empty, &p, &err) == NULL);
    /* truncated stream */
    dataset g4 = make_data(30, 4, "g", 45, 1);
    gb = write_mmf(&g4, 0, g4.n, MMF_F32, 0);
    gb.len -= 5;
    CHECK(rank_text(&q, &gb, &p, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "truncated") && strstr(err.msg, "gallery"), "%s", err.msg);
    gb.len += 5;
    /* corrupt: flip a bit inside a vector */
    gb.data[gb.len / 2] ^= 0x10;
    CHECK(rank_text(&q, &gb, &p, &err) == NULL);
    free(gb.data);
    /* duplicate ids: counted, first one named, ranking goes on */
    snprintf(g4.id[20], sizeof g4.id[20], "g3");
    snprintf(g4.id[25], sizeof g4.id[25], "g3");
    gb = write_mmf(&g4, 0, g4.n, MMF_F32, 0);
    mmf_matrix m;
    load_queries(&q, &m, 0);
    stream s = open_blob(&gb, "gallery");
    rank_result res;
    CHECK(rank_run(&m, "queries", s.r, &p, &res, &err) == 0);
    CHECK_EQ_INT(res.duplicate_count, 2);
    CHECK_EQ_STR(res.first_duplicate, "g3");
    CHECK_EQ_INT(res.gallery_count, 30);
    rank_result_free(&res);
    close_stream(&s);
    mmf_matrix_free(&m);
    free(gb.data);
    /* k = 0 */
    p.k = 0;
    gb = write_mmf(&g4, 0, g4.n, MMF_F32, 0);
    CHECK(rank_text(&q, &gb, &p, &err) == NULL);
    free(gb.data);
    /* ids a TREC run cannot carry */
    CHECK(rank_check_id("a b", RANK_TREC, "gallery id", &err) == -1);
    CHECK(rank_check_id("a b", RANK_TSV, "gallery id", &err) == 0);
    CHECK(rank_check_id("a\tb", RANK_TSV, "gallery id", &err) == -1);
    CHECK(rank_check_id("a\tb", RANK_JSONL, "gallery id", &err) == 0);
    free_data(&q);
    free_data(&q5);
    free_data(&g);
    free_data(&g5);
    free_data(&g4);
}

/* Runs the engine with or without in-worker emission; returns the run text
 * in `format` (NULL on error, err filled). */
static char *rank_text_fmt(const dataset *q, const blob *gallery, const rank_params *p0, int format,
                           bool emit, mm_error *err)
{
    rank_params p = *p0;
    if (emit) {
        p.emit_format = format;
        p.emit_tag = "t";
    }
    int write_rc;
    char *text = run_and_write(q, gallery, &p, format, &write_rc, err);
    if (write_rc) {
        free(text);
        text = NULL;
    }
    return text;
}

/* Workers writing each query chunk as it becomes final (emit_tag) give the
 * same bytes as writing after the run: several chunks (2500 queries), every
 * format, 1 and 3 threads, a gallery smaller and larger than a block. An id
 * the format cannot carry still fails in rank_write with the usual message. */
static void test_emit_in_workers(void)
{
    dataset q = make_data(2500, 8, "q", 41, 0);
    for (int gi = 0; gi < 2; gi++) {
        dataset g = make_data(gi ? 700 : 90, 8, "doc", 42 + (unsigned)gi, 1);
        blob gb = write_mmf(&g, 0, g.n, MMF_F32, 0);
        rank_params p;
        rank_params_default(&p);
        p.k = 7;
        p.block = 256;
        for (int threads = 1; threads <= 3; threads += 2) {
            p.threads = threads;
            for (int format = RANK_TREC; format <= RANK_JSONL; format++) {
                mm_error e1, e2;
                char *a = rank_text_fmt(&q, &gb, &p, format, false, &e1);
                char *b = rank_text_fmt(&q, &gb, &p, format, true, &e2);
                CHECK(a && b);
                if (a && b) CHECK_MSG(strcmp(a, b) == 0, "gallery %zu, %d threads, format %d", g.n, threads, format);
                free(a);
                free(b);
            }
        }
        free(gb.data);
        free_data(&g);
    }
    /* a gallery id with a space: TREC refuses it, from the fallback path */
    dataset g = make_data(50, 8, "doc", 43, 1);
    strcpy(g.id[17], "doc 17");
    blob gb = write_mmf(&g, 0, g.n, MMF_F32, 0);
    rank_params p;
    rank_params_default(&p);
    p.k = 50;
    p.threads = 2;
    mm_error err = {0};
    char *t = rank_text_fmt(&q, &gb, &p, RANK_TREC, true, &err);
    CHECK(t == NULL);
    CHECK(strstr(err.msg, "gallery id 'doc 17' contains a space") != NULL);
    free(t);
    t = rank_text_fmt(&q, &gb, &p, RANK_JSONL, true, &err);
    CHECK(t != NULL && strstr(t, "\"docid\":\"doc 17\"") != NULL);
    free(t);
    free(gb.data);
    free_data(&g);
    free_data(&q);
}

typedef struct loader_ctx {
    const dataset *q;
    int fail; /* 1: the loader reports an error */
} loader_ctx;

static int test_loader(void *ctx, mmf_matrix *m, mm_error *err)
{
    loader_ctx *c = ctx;
    if (c->fail) return mm_fail(err, MM_ERR_MALFORMED, "queries: the loader failed");
    load_queries(c->q, m, 0);
    return 0;
}

/* rank_run_loading on a mapped gallery file (its reader starts before the
 * queries load) gives rank_run's bytes; a failing loader, a bad gallery and
 * a dimension mismatch give the errors in the old order. */
static void test_run_loading(void)
{
    dataset q = make_data(300, 8, "q", 51, 0);
    dataset g = make_data(5000, 8, "doc", 52, 0);
    blob gb = write_mmf(&g, 0, g.n, MMF_F32, 0);
    char path[] = "/tmp/test_rank_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, gb.data, gb.len) == (ssize_t)gb.len);
    close(fd);
    rank_params p;
    rank_params_default(&p);
    p.k = 9;
    p.block = 512;
    p.threads = 2;
    mm_error err;
    char *want = rank_text(&q, &gb, &p, &err);
    CHECK(want != NULL);

    mmf_reader *r = mmf_open(path, &err);
    CHECK(r && mmf_is_mapped(r));
    loader_ctx lc = {&q, 0};
    mmf_matrix m;
    rank_result res;
    CHECK(rank_run_loading(test_loader, &lc, &m, "queries", r, &p, &res, &err) == 0);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    CHECK(rank_write(fp, &m, &res, RANK_TREC, "t", &err) == 0);
    fclose(fp);
    CHECK(want && text && strcmp(want, text) == 0);
    free(text);
    rank_result_free(&res);
    mmf_matrix_free(&m);
    mmf_close(r);

    /* the loader fails while the reader runs: its error, and nothing left */
    r = mmf_open(path, &err);
    lc.fail = 1;
    CHECK(rank_run_loading(test_loader, &lc, &m, "queries", r, &p, &res, &err) == -1);
    CHECK_EQ_STR(err.msg, "queries: the loader failed");
    mmf_matrix_free(&m);
    mmf_close(r);

    /* a gallery that is not MMF: the queries' error first, else the gallery's */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, "not an mmf file at all\n", 23) == 23);
    close(fd);
    r = mmf_open(path, &err);
    CHECK(rank_run_loading(test_loader, &lc, &m, "queries", r, &p, &res, &err) == -1);
    CHECK_EQ_STR(err.msg, "queries: the loader failed");
    mmf_matrix_free(&m);
    mmf_close(r);
    r = mmf_open(path, &err);
    lc.fail = 0;
    CHECK(rank_run_loading(test_loader, &lc, &m, "queries", r, &p, &res, &err) == -1);
    CHECK(strstr(err.msg, "not an MMF feature stream") != NULL);
    mmf_matrix_free(&m);
    mmf_close(r);

    /* dimension mismatch */
    dataset g4 = make_data(10, 4, "doc", 53, 0);
    blob g4b = write_mmf(&g4, 0, g4.n, MMF_F32, 0);
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, g4b.data, g4b.len) == (ssize_t)g4b.len);
    close(fd);
    r = mmf_open(path, &err);
    CHECK(rank_run_loading(test_loader, &lc, &m, "queries", r, &p, &res, &err) == -1);
    CHECK(strstr(err.msg, "dimension 4 does not match the queries' 8 (queries)") != NULL);
    mmf_matrix_free(&m);
    mmf_close(r);
    /* a block too large for the dimension: after the mismatch, as before */
    rank_params big = p;
    big.block = (size_t)1 << 27;
    r = mmf_open(path, &err);
    CHECK(rank_run_loading(test_loader, &lc, &m, "queries", r, &big, &res, &err) == -1);
    CHECK(strstr(err.msg, "dimension 4 does not match") != NULL);
    mmf_matrix_free(&m);
    mmf_close(r);
    dataset q4 = make_data(3, 4, "q", 54, 0);
    loader_ctx lc4 = {&q4, 0};
    r = mmf_open(path, &err);
    CHECK(rank_run_loading(test_loader, &lc4, &m, "queries", r, &big, &res, &err) == -1);
    CHECK(strstr(err.msg, "a block of 134217728 rows of dimension 4 exceeds the limit of 1 GiB") != NULL);
    mmf_matrix_free(&m);
    mmf_close(r);
    free_data(&q4);

    unlink(path);
    free(want);
    free(gb.data);
    free(g4b.data);
    free_data(&q);
    free_data(&g);
    free_data(&g4);
}

int main(void)
{
    RUN(test_vs_brute_force_with_ties);
    RUN(test_shard_merge_identity);
    RUN(test_exclude_self);
    RUN(test_cos_vs_ip);
    RUN(test_f16_gallery);
    RUN(test_bad_input);
    RUN(test_emit_in_workers);
    RUN(test_run_loading);
    return test_summary();
}
