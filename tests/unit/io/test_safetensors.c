/* test_safetensors.c — the safetensors reader: a valid file of every dtype,
 * then one corruption per rule (each error must name the file and, where
 * there is one, the tensor), files on disk, and sharded directories. The
 * files are written here, from C. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/half.h"
#include "io/safetensors.h"
#include "test.h"

/* A safetensors image: 8-byte length, header text, then `data_len` bytes of data. */
typedef struct blob {
    unsigned char *buf;
    size_t size;
} blob;

static blob make(const char *header, const void *data, size_t data_len)
{
    size_t h = strlen(header);
    blob b = {calloc(1, 8 + h + data_len + 1), 8 + h + data_len};
    for (int i = 0; i < 8; i++) b.buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b.buf + 8, header, h);
    if (data) memcpy(b.buf + 8 + h, data, data_len);
    return b;
}

/* Parses b and expects failure with all `want` substrings in the message. */
static void expect_error(blob b, int kind, const char *want1, const char *want2)
{
    mm_error err = {0};
    safetensors *st = st_parse(b.buf, b.size, "x.safetensors", &err);
    CHECK(st == NULL);
    st_close(st);
    CHECK_MSG(err.kind == kind, "kind %s, expected %s (%s)", mm_error_kind_name(err.kind), mm_error_kind_name(kind),
              err.msg);
    CHECK_MSG(strstr(err.msg, "x.safetensors") != NULL, "no file name in '%s'", err.msg);
    if (want1) CHECK_MSG(strstr(err.msg, want1) != NULL, "'%s' lacks '%s'", err.msg, want1);
    if (want2) CHECK_MSG(strstr(err.msg, want2) != NULL, "'%s' lacks '%s'", err.msg, want2);
    free(b.buf);
}

static unsigned char data_all[4 * 4 + 3 * 2 + 8 + 2 * 2];

static const char *valid_header =
    "{\"__metadata__\": {\"format\": \"pt\"},"
    " \"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 16]},"
    " \"h\": {\"dtype\": \"F16\", \"shape\": [3], \"data_offsets\": [16, 22]},"
    " \"ids\": {\"dtype\": \"I64\", \"shape\": [1, 1], \"data_offsets\": [22, 30]},"
    " \"b\": {\"dtype\": \"BF16\", \"shape\": [2], \"data_offsets\": [30, 34]},"
    " \"empty\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [34, 34]},"
    " \"scalar\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [34, 38]}}";

static blob valid_blob(void)
{
    unsigned char d[38];
    float w[4] = {1.0f, -2.5f, 3.25f, 1e-3f};
    memcpy(d, w, 16);
    uint16_t h[3] = {mm_f32_to_f16(0.5f), mm_f32_to_f16(-1.0f), mm_f32_to_f16(65504.0f)};
    memcpy(d + 16, h, 6);
    int64_t id = 42;
    memcpy(d + 22, &id, 8);
    uint16_t bf[2] = {0x3f80, 0xc040}; /* 1.0, -3.0 */
    memcpy(d + 30, bf, 4);
    float s = 4.6f;
    memcpy(d + 34, &s, 4);
    (void)data_all;
    return make(valid_header, d, sizeof d);
}

static void test_valid(void)
{
    blob b = valid_blob();
    mm_error err = {0};
    safetensors *st = st_parse(b.buf, b.size, "x.safetensors", &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    if (!st) {
        free(b.buf);
        return;
    }
    CHECK_EQ_INT(st_count(st), 6);
    CHECK_EQ_STR(st_at(st, 0)->name, "b"); /* sorted by name */
    CHECK_EQ_STR(st_metadata(st, "format"), "pt");
    CHECK(st_metadata(st, "nope") == NULL);
    CHECK(st_find(st, "nope") == NULL);
    const st_tensor *w = st_find(st, "w");
    CHECK(w && w->dtype == ST_F32 && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 2 && w->count == 4);
    float f[4];
    CHECK(st_to_f32(w, f, &err) == 0);
    CHECK(f[1] == -2.5f && f[3] == 1e-3f);
    const st_tensor *h = st_find(st, "h");
    CHECK(h && h->dtype == ST_F16 && h->nbytes == 6);
    /* h starts at an odd-aligned address (header 8 + len + 16): conversion copes */
    CHECK(st_to_f32(h, f, &err) == 0);
    CHECK(f[0] == 0.5f && f[1] == -1.0f && f[2] == 65504.0f);
    const st_tensor *bt = st_find(st, "b");
    CHECK(st_to_f32(bt, f, &err) == 0);
    CHECK(f[0] == 1.0f && f[1] == -3.0f);
    const st_tensor *ids = st_find(st, "ids");
    CHECK(ids && ids->dtype == ST_I64 && ids->count == 1);
    CHECK(st_to_f32(ids, f, &err) < 0 && strstr(err.msg, "'ids'"));
    int64_t v;
    memcpy(&v, ids->data, 8);
    CHECK_EQ_INT(v, 42);
    const st_tensor *e = st_find(st, "empty");
    CHECK(e && e->count == 0 && e->nbytes == 0);
    const st_tensor *s = st_find(st, "scalar");
    CHECK(s && s->ndim == 0 && s->count == 1);
    st_close(st);
    free(b.buf);
}

static void test_truncated_header(void)
{
    blob b = valid_blob();
    /* fewer than 8 bytes */
    mm_error err = {0};
    CHECK(st_parse(b.buf, 5, "x.safetensors", &err) == NULL);
    CHECK_EQ_INT(err.kind, MM_ERR_TRUNCATED);
    CHECK(st_parse(b.buf, 0, "x.safetensors", &err) == NULL);
    CHECK_EQ_INT(err.kind, MM_ERR_TRUNCATED);
    /* the header runs past the end of the file */
    blob c = {b.buf, 8 + 40};
    mm_error e2 = {0};
    CHECK(st_parse(c.buf, c.size, "x.safetensors", &e2) == NULL);
    CHECK_EQ_INT(e2.kind, MM_ERR_TRUNCATED);
    CHECK(strstr(e2.msg, "header length") != NULL);
    /* data cut short: the last tensor's range leaves the file */
    mm_error e3 = {0};
    CHECK(st_parse(b.buf, b.size - 1, "x.safetensors", &e3) == NULL);
    CHECK_EQ_INT(e3.kind, MM_ERR_TRUNCATED);
    CHECK(strstr(e3.msg, "'scalar'") != NULL);
    /* absurd header length */
    unsigned char big[16] = {0, 0, 0, 0, 0, 0, 0, 1};
    mm_error e4 = {0};
    CHECK(st_parse(big, sizeof big, "x.safetensors", &e4) == NULL);
    CHECK_EQ_INT(e4.kind, MM_ERR_LIMIT);
    char want[160];
    snprintf(want, sizeof want,
             "x.safetensors: byte 0: header length 72057594037927936 exceeds the %u-byte limit",
             (unsigned)ST_MAX_HEADER);
    CHECK_EQ_STR(e4.msg, want);
    free(b.buf);
}

static void test_bad_json(void)
{
    expect_error(make("{\"a\": {\"dtype\": \"F32\",", NULL, 0), MM_ERR_MALFORMED, "invalid JSON", NULL);
    expect_error(make("[1, 2]  ", NULL, 0), MM_ERR_MALFORMED, "not a JSON object", NULL);
    expect_error(make("{}  trailing", NULL, 0), MM_ERR_MALFORMED, "invalid JSON", NULL);
    expect_error(make("{\"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]},"
                      " \"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}}",
                      "abcd", 4),
                 MM_ERR_MALFORMED, "invalid JSON", "duplicate");
    expect_error(make("{\"a\": 3}", NULL, 0), MM_ERR_MALFORMED, "'a'", "not an object");
    expect_error(make("{\"__metadata__\": {\"k\": 1}}", NULL, 0), MM_ERR_MALFORMED, "__metadata__", NULL);
    expect_error(make("{\"__metadata__\": [1]}", NULL, 0), MM_ERR_MALFORMED, "__metadata__", NULL);
    /* trailing spaces after the object are allowed (writers pad the header) */
    blob b = make("{}        ", NULL, 0);
    mm_error err = {0};
    safetensors *st = st_parse(b.buf, b.size, "x.safetensors", &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    st_close(st);
    free(b.buf);
}

static void test_bad_dtype(void)
{
    expect_error(make("{\"t\": {\"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", "12345678", 8),
                 MM_ERR_UNSUPPORTED, "'t'", "F64");
    expect_error(make("{\"t\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 8]}}", "12345678", 8),
                 MM_ERR_UNSUPPORTED, "'t'", "Q4");
    expect_error(make("{\"t\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}", "1234", 4),
                 MM_ERR_MALFORMED, "'t'", "dtype");
    expect_error(make("{\"t\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", "1234", 4), MM_ERR_MALFORMED, "'t'",
                 "dtype");
}

static void test_bad_offsets(void)
{
    /* beyond the data region */
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", "1234", 4),
                 MM_ERR_TRUNCATED, "'t'", "beyond");
    /* end before begin */
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", "1234", 4),
                 MM_ERR_MALFORMED, "'t'", NULL);
    /* negative, non-integer, wrong arity */
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", "1234", 4),
                 MM_ERR_MALFORMED, "'t'", "data_offsets");
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4.0]}}", "1234", 4),
                 MM_ERR_MALFORMED, "'t'", "data_offsets");
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", "1234", 4),
                 MM_ERR_MALFORMED, "'t'", "data_offsets");
    /* overlapping: names both tensors */
    expect_error(make("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                      " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
                      "12345678", 8),
                 MM_ERR_MALFORMED, "'b'", "overlap tensor 'a'");
    /* a hole between tensors, and bytes after the last one */
    expect_error(make("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                      " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}",
                      "123456789012", 12),
                 MM_ERR_MALFORMED, "[4, 8)", "'b'");
    expect_error(make("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "12345678", 8),
                 MM_ERR_MALFORMED, "[4, 8)", "no tensor");
}

static void test_bad_shape(void)
{
    /* shape disagrees with the byte range */
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", "12345678", 8),
                 MM_ERR_MALFORMED, "'t'", "span 8 bytes");
    expect_error(make("{\"t\": {\"dtype\": \"F16\", \"shape\": [2, 2], \"data_offsets\": [0, 4]}}", "1234", 4),
                 MM_ERR_MALFORMED, "'t'", NULL);
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", "1234", 4),
                 MM_ERR_MALFORMED, "'t'", "shape[0]");
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": \"1\", \"data_offsets\": [0, 4]}}", "1234", 4),
                 MM_ERR_MALFORMED, "'t'", "shape");
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}",
                      "1234", 4),
                 MM_ERR_MALFORMED, "'t'", "shape");
    /* product overflows size_t */
    expect_error(make("{\"t\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 8], \"data_offsets\": [0, 4]}}",
                      "1234", 4),
                 MM_ERR_LIMIT, "'t'", NULL);
}

/* ---- files and directories ----------------------------------------------- */

static char tmpdir[64];

static void write_blob(const char *name, blob b)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (fp) {
        CHECK(fwrite(b.buf, 1, b.size, fp) == b.size);
        fclose(fp);
    }
}

static void write_text(const char *name, const char *text)
{
    blob b = {(unsigned char *)text, strlen(text)};
    write_blob(name, b);
}

static void test_files(void)
{
    blob b = valid_blob();
    write_blob("one.safetensors", b);
    char path[256];
    snprintf(path, sizeof path, "%s/one.safetensors", tmpdir);
    mm_error err = {0};
    safetensors *st = st_open(path, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    if (st) {
        const st_tensor *w = st_find(st, "w");
        CHECK(w && strcmp(w->file, path) == 0);
        float f[4];
        CHECK(w && st_to_f32(w, f, &err) == 0 && f[2] == 3.25f);
        if (w) st_release(w); /* harmless on a live mapping */
        st_close(st);
    }
    /* a truncated copy on disk: the message names the path and the tensor */
    blob t = {b.buf, b.size - 3};
    write_blob("cut.safetensors", t);
    snprintf(path, sizeof path, "%s/cut.safetensors", tmpdir);
    CHECK(st_open(path, &err) == NULL);
    CHECK(strstr(err.msg, path) != NULL && strstr(err.msg, "'scalar'") != NULL);
    blob z = {b.buf, 0};
    write_blob("empty.safetensors", z);
    snprintf(path, sizeof path, "%s/empty.safetensors", tmpdir);
    CHECK(st_open(path, &err) == NULL);
    CHECK_EQ_INT(err.kind, MM_ERR_TRUNCATED);
    snprintf(path, sizeof path, "%s/missing.safetensors", tmpdir);
    CHECK(st_open(path, &err) == NULL);
    CHECK_EQ_INT(err.kind, MM_ERR_IO);
    CHECK(st_open(tmpdir, &err) == NULL); /* a directory */
    /* no checkpoint in a directory */
    CHECK(st_open_dir(tmpdir, &err) == NULL);
    CHECK(strstr(err.msg, "model.safetensors") != NULL);
    free(b.buf);
}

static void test_sharded(void)
{
    blob s1 = make("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "\0\0\200?", 4);
    blob s2 = make("{\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                   " \"c\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
                   "\0\0\0@\0\0@@", 8);
    write_blob("model-1.safetensors", s1);
    write_blob("model-2.safetensors", s2);
    write_text("model.safetensors.index.json",
               "{\"metadata\": {\"total_size\": 12}, \"weight_map\": {\"a\": \"model-1.safetensors\","
               " \"b\": \"model-2.safetensors\", \"c\": \"model-2.safetensors\"}}");
    mm_error err = {0};
    safetensors *st = st_open_dir(tmpdir, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    if (st) {
        CHECK_EQ_INT(st_count(st), 3);
        float f;
        const st_tensor *a = st_find(st, "a"), *c = st_find(st, "c");
        CHECK(a && st_to_f32(a, &f, &err) == 0 && f == 1.0f);
        CHECK(c && st_to_f32(c, &f, &err) == 0 && f == 3.0f);
        CHECK(c && strstr(c->file, "model-2.safetensors"));
        st_close(st);
    }
    /* the index names the wrong shard */
    write_text("model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"model-2.safetensors\", \"b\": \"model-1.safetensors\"}}");
    CHECK(st_open_dir(tmpdir, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "tensor 'a'") || strstr(err.msg, "tensor 'b'"), "%s", err.msg);
    /* a tensor listed but absent */
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"zz\": \"model-1.safetensors\"}}");
    CHECK(st_open_dir(tmpdir, &err) == NULL);
    CHECK(strstr(err.msg, "'zz'") != NULL);
    /* a tensor in two shards */
    write_blob("model-3.safetensors", s1);
    write_text("model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"model-1.safetensors\", \"x\": \"model-3.safetensors\"}}");
    CHECK(st_open_dir(tmpdir, &err) == NULL);
    CHECK(strstr(err.msg, "'a'") != NULL);
    /* a shard outside the directory, a missing shard, broken JSON */
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"a\": \"../model-1.safetensors\"}}");
    CHECK(st_open_dir(tmpdir, &err) == NULL);
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"a\": \"model-9.safetensors\"}}");
    CHECK(st_open_dir(tmpdir, &err) == NULL);
    CHECK(strstr(err.msg, "model-9.safetensors") != NULL);
    write_text("model.safetensors.index.json", "{\"weight_map\": ");
    CHECK(st_open_dir(tmpdir, &err) == NULL);
    CHECK(strstr(err.msg, "index.json") != NULL);
    /* a corrupt shard names the shard and the tensor */
    blob bad = make("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", "1234", 4);
    write_blob("model-1.safetensors", bad);
    write_text("model.safetensors.index.json", "{\"weight_map\": {\"a\": \"model-1.safetensors\"}}");
    CHECK(st_open_dir(tmpdir, &err) == NULL);
    CHECK(strstr(err.msg, "model-1.safetensors") && strstr(err.msg, "'a'"));
    free(s1.buf);
    free(s2.buf);
    free(bad.buf);
}

static void cleanup(void)
{
    const char *names[] = {"one.safetensors", "cut.safetensors", "empty.safetensors", "model-1.safetensors",
                           "model-2.safetensors", "model-3.safetensors", "model.safetensors.index.json"};
    char path[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_safetensors.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_valid);
    RUN(test_truncated_header);
    RUN(test_bad_json);
    RUN(test_bad_dtype);
    RUN(test_bad_offsets);
    RUN(test_bad_shape);
    RUN(test_files);
    RUN(test_sharded);
    cleanup();
    return test_summary();
}
