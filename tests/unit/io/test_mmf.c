/* test_mmf.c — the MMF reader/writer: round trips, concatenation, and every
 * truncation and single-byte corruption of a small stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/crc32c.h"
#include "kernels/half.h"
#include "io/mmf.h"
#include "test.h"

/* Encodes a random stream into memory. ids carry multi-byte UTF-8. */
static unsigned char *make_stream(unsigned long long seed, uint32_t dim, int dtype, size_t n,
                                  size_t *len, float **vecs_out, char ***ids_out)
{
    char *buf = NULL;
    size_t sz = 0;
    FILE *fp = open_memstream(&buf, &sz);
    mmf_header h;
    mmf_header_init(&h, dim, dtype, 0);
    mmf_header_set(&h, "model", "test-model");
    mmf_header_set(&h, "modality", "image");
    mm_error err;
    mmf_writer *w = mmf_writer_open(fp, "mem", &h, &err);
    CHECK(w != NULL);
    float *vecs = malloc(n * dim * sizeof(float));
    char **ids = calloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        for (uint32_t d = 0; d < dim; d++)
            vecs[i * dim + d] = (float)(test_rand_unit(&seed) * 2 - 1);
        char id[64];
        snprintf(id, sizeof id, "img/%zu-\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xb1-%llu", i,
                 test_rand_u64(&seed) % 1000);
        ids[i] = strdup(id);
        CHECK(mmf_write(w, ids[i], strlen(ids[i]), vecs + i * dim, &err) == 0);
    }
    CHECK(mmf_writer_close(w, &err) == 0);
    fclose(fp);
    mmf_header_free(&h);
    *len = sz;
    *vecs_out = vecs;
    *ids_out = ids;
    return (unsigned char *)buf;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

/* Reads a whole in-memory stream; returns 0 on success with the count, else
 * the error kind. */
static int read_all(const unsigned char *data, size_t len, uint64_t *count, mm_error *err)
{
    FILE *fp = fmemopen((void *)data, len ? len : 1, "rb");
    if (len == 0) { /* fmemopen needs size > 0: read an empty stream from an empty file */
        fclose(fp);
        fp = tmpfile();
    }
    mmf_reader *r = mmf_open_fp(fp, "mem", err);
    mmf_record rec;
    int rc;
    *count = 0;
    while ((rc = mmf_next(r, &rec, err)) == 1) (*count)++;
    /* After the end (or an error) the reader keeps answering the same. */
    mm_error err2;
    int rc2 = mmf_next(r, &rec, &err2);
    CHECK(rc2 == rc);
    mmf_close(r);
    fclose(fp);
    return rc == 0 ? 0 : err->kind;
}

static void test_roundtrip_dims_and_dtypes(void)
{
    static const uint32_t dims[] = {1, 2, 3, 7, 8, 17, 64, 255, 256, 257, 512, 1000, 4096};
    unsigned long long seed = 42;
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
        for (int dtype = MMF_F32; dtype <= MMF_F16; dtype++) {
            uint32_t dim = dims[di];
            size_t n = 1 + (size_t)(test_rand_u64(&seed) % 20), len;
            float *vecs;
            char **ids;
            unsigned char *s = make_stream(seed++, dim, dtype, n, &len, &vecs, &ids);
            FILE *fp = fmemopen(s, len, "rb");
            mm_error err;
            mmf_reader *r = mmf_open_fp(fp, "mem", &err);
            mmf_record rec;
            size_t i = 0;
            int rc;
            while ((rc = mmf_next(r, &rec, &err)) == 1) {
                CHECK_EQ_STR(rec.id, ids[i]);
                CHECK_EQ_INT(rec.index, i);
                for (uint32_t d = 0; d < dim; d++) {
                    float want = vecs[i * dim + d];
                    if (dtype == MMF_F16) want = mm_f16_to_f32(mm_f32_to_f16(want));
                    if (memcmp(&want, &rec.vec[d], 4) != 0) {
                        CHECK_MSG(0, "dim %u dtype %d rec %zu elem %u", dim, dtype, i, d);
                        break;
                    }
                }
                i++;
            }
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(i, n);
            CHECK_EQ_INT(mmf_header_of(r)->dim, dim);
            CHECK_EQ_STR(mmf_header_get(mmf_header_of(r), "model"), "test-model");
            mmf_close(r);
            fclose(fp);
            free(s);
            free(vecs);
            free_ids(ids, n);
        }
}

/* The bytes of `cat a b`. */
static unsigned char *concat(const unsigned char *a, size_t la, const unsigned char *b, size_t lb)
{
    unsigned char *ab = malloc(la + lb);
    memcpy(ab, a, la);
    memcpy(ab + la, b, lb);
    return ab;
}

static void test_concatenation(void)
{
    size_t la, lb;
    float *va, *vb;
    char **ia, **ib;
    unsigned char *a = make_stream(1, 16, MMF_F32, 5, &la, &va, &ia);
    unsigned char *b = make_stream(2, 16, MMF_F16, 7, &lb, &vb, &ib);
    unsigned char *ab = concat(a, la, b, lb);
    uint64_t count;
    mm_error err;
    CHECK_EQ_INT(read_all(ab, la + lb, &count, &err), 0);
    CHECK_EQ_INT(count, 12);

    /* Whole-stream load: contiguous rows, ids in order, both segments. */
    FILE *fp = fmemopen(ab, la + lb, "rb");
    mmf_reader *r = mmf_open_fp(fp, "mem", &err);
    mmf_matrix m;
    CHECK(mmf_load_reader(r, &m, &err) == 0);
    CHECK_EQ_INT(m.rows, 12);
    CHECK_EQ_INT(m.dim, 16);
    CHECK_EQ_STR(m.ids[0], ia[0]);
    CHECK_EQ_STR(m.ids[5], ib[0]);
    CHECK(memcmp(m.data, va, 5 * 16 * sizeof(float)) == 0);
    CHECK_EQ_INT(mmf_segment_count(r), 2);
    mmf_matrix_free(&m);
    mmf_close(r);
    fclose(fp);

    /* Different dimensions: an error by default, accepted when allowed. */
    size_t lc;
    float *vc;
    char **ic;
    unsigned char *c = make_stream(3, 8, MMF_F32, 2, &lc, &vc, &ic);
    unsigned char *ac = malloc(la + lc);
    memcpy(ac, a, la);
    memcpy(ac + la, c, lc);
    CHECK_EQ_INT(read_all(ac, la + lc, &count, &err), MM_ERR_MISMATCH);
    CHECK(strstr(err.msg, "dimension") != NULL);
    fp = fmemopen(ac, la + lc, "rb");
    r = mmf_open_fp(fp, "mem", &err);
    mmf_require_same_dim(r, false);
    mmf_record rec;
    int rc;
    count = 0;
    while ((rc = mmf_next(r, &rec, &err)) == 1) count++;
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(count, 7);
    mmf_close(r);
    fclose(fp);

    free(a); free(b); free(c); free(ab); free(ac);
    free(va); free(vb); free(vc);
    free_ids(ia, 5); free_ids(ib, 7); free_ids(ic, 2);
}

static void test_truncation_at_every_offset(void)
{
    size_t len;
    float *v;
    char **ids;
    unsigned char *s = make_stream(7, 5, MMF_F32, 3, &len, &v, &ids);
    for (size_t cut = 0; cut < len; cut++) {
        uint64_t count;
        mm_error err = {0};
        int kind = read_all(s, cut, &count, &err);
        CHECK_MSG(kind == MM_ERR_TRUNCATED, "cut at %zu of %zu: kind %d (%s)", cut, len, kind, err.msg);
        CHECK(strstr(err.msg, "truncated") != NULL);
    }
    free(s);
    free(v);
    free_ids(ids, 3);
}

static void test_every_single_byte_corruption(void)
{
    size_t len;
    float *v;
    char **ids;
    unsigned char *s = make_stream(9, 4, MMF_F16, 3, &len, &v, &ids);
    unsigned char *c = malloc(len);
    size_t tried = 0;
    for (size_t off = 0; off < len; off++)
        for (int val = 0; val < 256; val++) {
            if (val == s[off]) continue;
            memcpy(c, s, len);
            c[off] = (unsigned char)val;
            uint64_t count;
            mm_error err = {0};
            int kind = read_all(c, len, &count, &err);
            tried++;
            CHECK_MSG(kind == MM_ERR_CORRUPT || kind == MM_ERR_MALFORMED ||
                          kind == MM_ERR_UNSUPPORTED || kind == MM_ERR_LIMIT,
                      "byte %zu := 0x%02x gave kind %d (%s)", off, val, kind, err.msg);
        }
    CHECK(tried == len * 255);
    free(c);
    free(s);
    free(v);
    free_ids(ids, 3);
}

static void test_absurd_lengths_rejected(void)
{
    /* A header claiming dim 2^31 or meta_len 2^31, with valid checksums, must be
     * rejected by its bounds before any allocation. */
    size_t len;
    float *v;
    char **ids;
    unsigned char *s = make_stream(11, 4, MMF_F32, 1, &len, &v, &ids);
    for (int field = 12; field <= 16; field += 4) {
        unsigned char *c = malloc(len);
        memcpy(c, s, len);
        c[field] = 0; c[field + 1] = 0; c[field + 2] = 0; c[field + 3] = 0x80;
        uint32_t crc = mm_crc32c(0, c, 20);
        for (int i = 0; i < 4; i++) c[20 + i] = (unsigned char)(crc >> (8 * i));
        uint64_t count;
        mm_error err;
        CHECK_EQ_INT(read_all(c, len, &count, &err), MM_ERR_LIMIT);
        /* the file, the offset of the header and the limit */
        char want[200];
        if (field == 12)
            snprintf(want, sizeof want, ": byte 0: limit exceeded: dimension 2147483648 exceeds the "
                                        "limit of %u", MMF_MAX_DIM);
        else
            snprintf(want, sizeof want, ": byte 0: limit exceeded: metadata length 2147483648 "
                                        "exceeds the limit of %u bytes", (unsigned)MMF_MAX_META_LEN);
        CHECK_MSG(strstr(err.msg, want) != NULL, "message '%s'", err.msg);
        free(c);
    }
    free(s);
    free(v);
    free_ids(ids, 1);
}

static void test_writer_rejects_bad_ids(void)
{
    char *buf = NULL;
    size_t sz = 0;
    FILE *fp = open_memstream(&buf, &sz);
    mmf_header h;
    mmf_header_init(&h, 2, MMF_F32, 0);
    mm_error err;
    mmf_writer *w = mmf_writer_open(fp, "mem", &h, &err);
    float vec[2] = {1, 2};
    CHECK(mmf_write(w, "", 0, vec, &err) < 0);
    CHECK(mmf_write(w, "a\0b", 3, vec, &err) < 0);
    CHECK(mmf_write(w, "\xff\xfe", 2, vec, &err) < 0);
    CHECK(mmf_write(w, "\xc0\xaf", 2, vec, &err) < 0); /* overlong */
    char *big = malloc(MMF_MAX_ID_LEN + 2);
    memset(big, 'x', MMF_MAX_ID_LEN + 1);
    CHECK(mmf_write(w, big, MMF_MAX_ID_LEN + 1, vec, &err) < 0);
    CHECK(mmf_write(w, big, MMF_MAX_ID_LEN, vec, &err) == 0);
    CHECK(mmf_writer_close(w, &err) == 0);
    fclose(fp);
    uint64_t count;
    CHECK_EQ_INT(read_all((unsigned char *)buf, sz, &count, &err), 0);
    CHECK_EQ_INT(count, 1);
    free(big);
    free(buf);
    mmf_header_free(&h);
}

static void test_garbage_inputs(void)
{
    uint64_t count;
    mm_error err;
    const char *text = "hello world\n";
    CHECK_EQ_INT(read_all((const unsigned char *)text, strlen(text), &count, &err), MM_ERR_MALFORMED);
    CHECK(strstr(err.msg, "not an MMF") != NULL);
    CHECK_EQ_INT(read_all((const unsigned char *)"", 0, &count, &err), MM_ERR_TRUNCATED);
    CHECK(strstr(err.msg, "empty") != NULL);
}

static void test_position_in_message(void)
{
    size_t len;
    float *v;
    char **ids;
    unsigned char *s = make_stream(13, 4, MMF_F32, 2, &len, &v, &ids);
    s[len - 1] ^= 0x40; /* last byte of the segment checksum */
    uint64_t count;
    mm_error err;
    CHECK_EQ_INT(read_all(s, len, &count, &err), MM_ERR_CORRUPT);
    CHECK(strstr(err.msg, "mem: byte ") == err.msg);
    CHECK(strstr(err.msg, "checksum") != NULL);
    free(s);
    free(v);
    free_ids(ids, 2);
}

/* Writes data to a fresh temporary file; returns its path (static buffer). */
static const char *temp_file(const unsigned char *data, size_t len)
{
    static char path[64];
    strcpy(path, "/tmp/test_mmf_XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *fp = fdopen(fd, "wb");
    CHECK(fwrite(data, 1, len, fp) == len);
    fclose(fp);
    return path;
}

static void on_end_sum(const mmf_segment_info *info, void *ctx)
{
    uint32_t *sums = ctx;
    sums[sums[0]++ + 1] = info->checksum;
}

/* A regular file is mapped and checksummed in spans; a stream is read through
 * a buffer that is refilled (memmove) many times. Both must give the same
 * records, the same segment checksums and accept the stream. Two segments
 * (f32 then f16) of ~2 MB each, so spans, refills and segment ends interleave;
 * mmf_next_into decodes into the caller's rows. */
static void test_mapped_file_and_stream_agree(void)
{
    size_t la, lb;
    float *va, *vb;
    char **ia, **ib;
    unsigned char *a = make_stream(21, 512, MMF_F32, 1000, &la, &va, &ia);
    unsigned char *b = make_stream(22, 512, MMF_F16, 1900, &lb, &vb, &ib);
    unsigned char *ab = concat(a, la, b, lb);
    const char *path = temp_file(ab, la + lb);
    mm_error err;
    for (int mode = 0; mode < 2; mode++) {
        FILE *fp = NULL;
        mmf_reader *r;
        if (mode == 0) {
            r = mmf_open(path, &err); /* mapped */
        } else {
            fp = fmemopen(ab, la + lb, "rb");
            r = mmf_open_fp(fp, "mem", &err);
        }
        CHECK(r != NULL);
        uint32_t sums[4] = {0};
        mmf_on_segment_end(r, on_end_sum, sums);
        float *row = malloc(512 * sizeof *row);
        mmf_record rec;
        size_t n = 0;
        int rc, bad = 0;
        while ((rc = mmf_next_into(r, &rec, row, &err)) == 1) {
            if (rec.vec != row) bad++;
            const float *want = n < 1000 ? va + n * 512 : vb + (n - 1000) * 512;
            const char *want_id = n < 1000 ? ia[n] : ib[n - 1000];
            for (int d = 0; d < 512; d++) {
                float w = n < 1000 ? want[d] : mm_f16_to_f32(mm_f32_to_f16(want[d]));
                if (memcmp(&row[d], &w, 4)) bad++;
            }
            if (strcmp(rec.id, want_id)) bad++;
            n++;
        }
        CHECK_MSG(rc == 0, "mode %d: %s", mode, err.msg);
        CHECK_EQ_INT(n, 2900);
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(sums[0], 2);
        /* the stored checksum of each segment: the last 4 bytes of each */
        CHECK_EQ_INT(sums[1], (uint32_t)a[la - 4] | (uint32_t)a[la - 3] << 8 |
                                  (uint32_t)a[la - 2] << 16 | (uint32_t)a[la - 1] << 24);
        CHECK_EQ_INT(sums[2], (uint32_t)b[lb - 4] | (uint32_t)b[lb - 3] << 8 |
                                  (uint32_t)b[lb - 2] << 16 | (uint32_t)b[lb - 1] << 24);
        free(row);
        mmf_close(r);
        if (fp) fclose(fp);
    }
    /* mmf_load (mapped, rows decoded in place) gives the same matrix */
    mmf_matrix m;
    CHECK(mmf_load(path, &m, &err) == 0);
    CHECK_EQ_INT(m.rows, 2900);
    CHECK(memcmp(m.data, va, 1000 * 512 * sizeof(float)) == 0);
    CHECK_EQ_STR(m.ids[2899], ib[1899]);
    mmf_matrix_free(&m);
    unlink(path);
    free(ab);
    free(a);
    free(b);
    free(va);
    free(vb);
    free_ids(ia, 1000);
    free_ids(ib, 1900);
}

/* One altered byte anywhere in a large stream is caught by the segment
 * checksum whether the records were checksummed in spans of a mapped file or
 * before a buffer refill moved them; a cut is reported as truncated. */
static void test_large_stream_corruption_and_truncation(void)
{
    size_t len;
    float *v;
    char **ids;
    unsigned char *s = make_stream(33, 384, MMF_F32, 3000, &len, &v, &ids);
    unsigned char *c = malloc(len);
    unsigned long long rng = 5;
    mm_error err;
    int missed = 0;
    for (int t = 0; t < 24; t++) {
        memcpy(c, s, len);
        /* one bit of some byte in the records */
        size_t off = 200 + (size_t)(test_rand_u64(&rng) % (len - 400));
        c[off] ^= (unsigned char)(1u << (t % 8));
        for (int mode = 0; mode < 2; mode++) {
            uint64_t count;
            int kind;
            if (mode == 0) {
                const char *path = temp_file(c, len);
                mmf_reader *r = mmf_open(path, &err);
                mmf_record rec;
                int rc;
                while ((rc = mmf_next(r, &rec, &err)) == 1) {}
                kind = rc == 0 ? 0 : err.kind;
                mmf_close(r);
                unlink(path);
            } else {
                kind = read_all(c, len, &count, &err);
            }
            if (kind == 0) missed++;
        }
    }
    CHECK_EQ_INT(missed, 0);
    /* truncation of a mapped file */
    const size_t cuts[] = {1, len / 3, len / 2 + 7, len - 13, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        const char *path = temp_file(s, cuts[i]);
        mmf_reader *r = mmf_open(path, &err);
        mmf_record rec;
        int rc;
        while ((rc = mmf_next(r, &rec, &err)) == 1) {}
        CHECK_EQ_INT(rc, -1);
        CHECK_MSG(err.kind == MM_ERR_TRUNCATED, "cut %zu: %s", cuts[i], err.msg);
        mmf_close(r);
        unlink(path);
    }
    /* an empty regular file is "empty input", as from a pipe */
    const char *path = temp_file(s, 0);
    mmf_reader *r = mmf_open(path, &err);
    CHECK(mmf_peek_header(r, &err) == -1);
    CHECK(strstr(err.msg, "empty input") != NULL);
    mmf_close(r);
    unlink(path);
    free(c);
    free(s);
    free(v);
    free_ids(ids, 3000);
}

/* Files of 64 MB and more are checksummed by the reader's helper thread in
 * 4 MB windows joined at each end marker: two segments whose boundary falls
 * inside a window verify, with the segment checksums the file stores; one
 * flipped bit in a full window, in a segment's partial first or last window,
 * or in the end marker is caught. */
static void test_helper_checksums_large_file(void)
{
    size_t la, lb;
    float *va, *vb;
    char **ia, **ib;
    unsigned char *a = make_stream(61, 512, MMF_F32, 17000, &la, &va, &ia);
    unsigned char *b = make_stream(62, 500, MMF_F32, 17500, &lb, &vb, &ib);
    size_t len = la + lb;
    CHECK(len > (64u << 20));
    unsigned char *ab = concat(a, la, b, lb);
    mm_error err;
    uint64_t count;
    uint32_t sums[4];
    const char *path = temp_file(ab, len);
    /* the segments have different dims: read with that check off */
    mmf_reader *r = mmf_open(path, &err);
    mmf_require_same_dim(r, false);
    sums[0] = 0;
    mmf_on_segment_end(r, on_end_sum, sums);
    mmf_record rec;
    int rc;
    count = 0;
    while ((rc = mmf_next(r, &rec, &err)) == 1) count++;
    mmf_close(r);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(count, 34500);
    CHECK_EQ_INT(sums[0], 2);
    CHECK_EQ_INT(sums[1], (uint32_t)a[la - 4] | (uint32_t)a[la - 3] << 8 | (uint32_t)a[la - 2] << 16 |
                              (uint32_t)a[la - 1] << 24);
    CHECK_EQ_INT(sums[2], (uint32_t)b[lb - 4] | (uint32_t)b[lb - 3] << 8 | (uint32_t)b[lb - 2] << 16 |
                              (uint32_t)b[lb - 1] << 24);
    unlink(path);
    /* one bit flipped: middle of a full window, first and last partial
     * windows of segment 1, start of segment 2, the last record, an end
     * marker's count */
    const size_t offs[] = {(size_t)20 << 20, 300, la - 20, la + 200, len - 40, la - 12};
    for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
        ab[offs[i]] ^= 0x10;
        path = temp_file(ab, len);
        r = mmf_open(path, &err);
        mmf_require_same_dim(r, false);
        while ((rc = mmf_next(r, &rec, &err)) == 1) {}
        mmf_close(r);
        CHECK_MSG(rc == -1 && (err.kind == MM_ERR_CORRUPT || err.kind == MM_ERR_MALFORMED),
                  "flip at %zu: rc %d kind %d %s", offs[i], rc, err.kind, err.msg);
        unlink(path);
        ab[offs[i]] ^= 0x10;
    }
    free(ab);
    free(a);
    free(b);
    free(va);
    free(vb);
    free_ids(ia, 17000);
    free_ids(ib, 17500);
}

int main(void)
{
    RUN(test_roundtrip_dims_and_dtypes);
    RUN(test_concatenation);
    RUN(test_truncation_at_every_offset);
    RUN(test_every_single_byte_corruption);
    RUN(test_absurd_lengths_rejected);
    RUN(test_writer_rejects_bad_ids);
    RUN(test_garbage_inputs);
    RUN(test_position_in_message);
    RUN(test_mapped_file_and_stream_agree);
    RUN(test_large_stream_corruption_and_truncation);
    RUN(test_helper_checksums_large_file);
    return test_summary();
}
