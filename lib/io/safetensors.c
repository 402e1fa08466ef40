/* safetensors.c — see safetensors.h. */
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/half.h"
#include "core/mapguard.h"
#include "core/xalloc.h"

typedef struct st_file {
    char *path;
    void *map;      /* NULL when the buffer belongs to the caller */
    size_t map_size;
    int guard;      /* lib/mapguard slot of map */
} st_file;

typedef struct st_meta {
    char *key, *value;
} st_meta;

struct safetensors {
    st_file *files;
    size_t nfiles;
    st_tensor *tensors;
    size_t ntensors, cap;
    st_meta *meta; /* "__metadata__" of the first file */
    size_t nmeta;
};

static const struct {
    const char *name;
    int dtype;
    size_t size;
} dtype_table[] = {
    {"F32", ST_F32, 4},
    {"F16", ST_F16, 2},
    {"BF16", ST_BF16, 2},
    {"I64", ST_I64, 8},
};
#define NDTYPES (sizeof dtype_table / sizeof dtype_table[0])

const char *st_dtype_name(int dtype)
{
    for (size_t i = 0; i < NDTYPES; i++)
        if (dtype_table[i].dtype == dtype) return dtype_table[i].name;
    return "?";
}

size_t st_dtype_size(int dtype)
{
    for (size_t i = 0; i < NDTYPES; i++)
        if (dtype_table[i].dtype == dtype) return dtype_table[i].size;
    return 0;
}

size_t st_count(const safetensors *st) { return st->ntensors; }
const st_tensor *st_at(const safetensors *st, size_t i) { return i < st->ntensors ? &st->tensors[i] : NULL; }

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

const st_tensor *st_find(const safetensors *st, const char *name)
{
    if (st->ntensors == 0) return NULL;
    st_tensor key = {.name = name};
    return bsearch(&key, st->tensors, st->ntensors, sizeof key, cmp_name);
}

const char *st_metadata(const safetensors *st, const char *key)
{
    for (size_t i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta[i].key, key) == 0) return st->meta[i].value;
    return NULL;
}

void st_close(safetensors *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->ntensors; i++) free((char *)st->tensors[i].name);
    for (size_t i = 0; i < st->nfiles; i++) {
        if (st->files[i].map) {
            mapguard_remove(st->files[i].guard);
            munmap(st->files[i].map, st->files[i].map_size);
        }
        free(st->files[i].path);
    }
    for (size_t i = 0; i < st->nmeta; i++) {
        free(st->meta[i].key);
        free(st->meta[i].value);
    }
    free(st->meta);
    free(st->files);
    free(st->tensors);
    free(st);
}

/* Reads a non-negative JSON integer. */
static int get_uint(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static void add_file(safetensors *st, const char *path, void *map, size_t map_size)
{
    st_file *f = st->files = xrealloc(st->files, (st->nfiles + 1) * sizeof *f);
    f[st->nfiles].path = xstrdup(path);
    f[st->nfiles].map = map;
    f[st->nfiles].map_size = map_size;
    f[st->nfiles].guard = map ? mapguard_add(map, map_size, path) : -1;
    st->nfiles++;
}

static int cmp_offset(const void *a, const void *b)
{
    const st_tensor *x = a, *y = b;
    const char *xa = x->data, *ya = y->data;
    if (xa != ya) return xa < ya ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return 0;
}

static int parse_metadata(safetensors *st, json_t *m, const char *name, mm_error *err)
{
    if (!json_is_object(m))
        return mm_fail(err, MM_ERR_MALFORMED, "%s: header: \"__metadata__\" is not an object", name);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!json_is_string(v))
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s: header: \"__metadata__\" value of \"%s\" is not a string", name, k);
    }
    if (st->nfiles > 1) return 0; /* only the first file's metadata is kept */
    size_t n = json_object_size(m);
    st->meta = xcalloc(n ? n : 1, sizeof *st->meta); /* n: items of a header <= ST_MAX_HEADER */
    json_object_foreach(m, k, v) {
        st->meta[st->nmeta].key = xstrdup(k);
        st->meta[st->nmeta].value = xstrdup(json_string_value(v));
        st->nmeta++;
    }
    return 0;
}

/* Parses one file image and appends its tensors to st. The file must have
 * been added to st->files already (its path is what tensors refer to). */
static int parse_into(safetensors *st, const unsigned char *buf, size_t size, const char *name,
                      int mapped, mm_error *err)
{
    if (size < 8)
        return mm_fail(err, MM_ERR_TRUNCATED,
                       "%s: truncated: %zu bytes, a safetensors file starts with an 8-byte header length",
                       name, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen > ST_MAX_HEADER)
        return mm_fail(err, MM_ERR_LIMIT, "%s: byte 0: header length %llu exceeds the %u-byte limit",
                       name, (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > size - 8)
        return mm_fail(err, MM_ERR_TRUNCATED,
                       "%s: byte 0: header length %llu but only %zu bytes follow (truncated file?)",
                       name, (unsigned long long)hlen, size - 8);
    if (hlen < 2 || buf[8] != '{')
        return mm_fail(err, MM_ERR_MALFORMED, "%s: byte 8: header is not a JSON object", name);

    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: header byte %lld: invalid JSON: %s", name,
                       (long long)(8 + jerr.position), jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return mm_fail(err, MM_ERR_MALFORMED, "%s: byte 8: header is not a JSON object", name);
    }

    const unsigned char *data = buf + 8 + hlen;
    size_t data_size = size - 8 - (size_t)hlen;
    size_t first = st->ntensors;
    int rc = -1;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (parse_metadata(st, val, name, err) < 0) goto out;
            continue;
        }
        if (!json_is_object(val)) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: tensor '%s': header entry is not an object", name, key);
            goto out;
        }
        json_t *jd = json_object_get(val, "dtype");
        json_t *js = json_object_get(val, "shape");
        json_t *jo = json_object_get(val, "data_offsets");
        if (!json_is_string(jd)) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: tensor '%s': missing or non-string \"dtype\"", name, key);
            goto out;
        }
        int dtype = 0;
        size_t esize = 0;
        for (size_t i = 0; i < NDTYPES; i++)
            if (strcmp(json_string_value(jd), dtype_table[i].name) == 0) {
                dtype = dtype_table[i].dtype;
                esize = dtype_table[i].size;
            }
        if (!dtype) {
            mm_fail(err, MM_ERR_UNSUPPORTED,
                    "%s: tensor '%s': unsupported dtype '%s' (supported: F32, F16, BF16, I64)", name,
                    key, json_string_value(jd));
            goto out;
        }
        if (!json_is_array(js) || json_array_size(js) > ST_MAX_DIMS) {
            mm_fail(err, MM_ERR_MALFORMED,
                    "%s: tensor '%s': \"shape\" must be an array of at most %d integers", name, key,
                    ST_MAX_DIMS);
            goto out;
        }
        st_tensor t = {.dtype = dtype, .ndim = (int)json_array_size(js), .mapped = mapped};
        size_t count = 1;
        int overflow = 0;
        for (int d = 0; d < t.ndim; d++) {
            uint64_t dim;
            if (get_uint(json_array_get(js, (size_t)d), &dim) < 0) {
                mm_fail(err, MM_ERR_MALFORMED,
                        "%s: tensor '%s': shape[%d] is not a non-negative integer", name, key, d);
                goto out;
            }
            t.shape[d] = (int64_t)dim;
            if (dim && count > SIZE_MAX / dim) overflow = 1;
            count *= dim;
        }
        if (overflow || count > SIZE_MAX / esize) {
            mm_fail(err, MM_ERR_LIMIT, "%s: tensor '%s': shape too large", name, key);
            goto out;
        }
        uint64_t begin, end;
        if (!json_is_array(jo) || json_array_size(jo) != 2 ||
            get_uint(json_array_get(jo, 0), &begin) < 0 || get_uint(json_array_get(jo, 1), &end) < 0) {
            mm_fail(err, MM_ERR_MALFORMED,
                    "%s: tensor '%s': \"data_offsets\" must be [begin, end] with non-negative integers",
                    name, key);
            goto out;
        }
        if (begin > end) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: tensor '%s': data_offsets [%llu, %llu) end before they begin",
                    name, key, (unsigned long long)begin, (unsigned long long)end);
            goto out;
        }
        if (end > data_size) {
            mm_fail(err, MM_ERR_TRUNCATED,
                    "%s: tensor '%s': data_offsets [%llu, %llu) go beyond the %zu-byte data region "
                    "(truncated file?)",
                    name, key, (unsigned long long)begin, (unsigned long long)end, data_size);
            goto out;
        }
        if (count * esize != end - begin) {
            mm_fail(err, MM_ERR_MALFORMED,
                    "%s: tensor '%s': shape holds %zu %s elements (%zu bytes) but data_offsets span %llu bytes",
                    name, key, count, st_dtype_name(dtype), count * esize,
                    (unsigned long long)(end - begin));
            goto out;
        }
        t.count = count;
        t.nbytes = count * esize;
        t.data = data + begin;
        t.file = st->files[st->nfiles - 1].path;
        if (st->ntensors == st->cap) {
            st->cap = st->cap ? 2 * st->cap : 64;
            st->tensors = xrealloc(st->tensors, st->cap * sizeof *st->tensors);
        }
        t.name = xstrdup(key);
        st->tensors[st->ntensors++] = t;
    }

    /* Byte ranges: sorted by offset they must tile the data region exactly. */
    size_t n = st->ntensors - first;
    st_tensor *ts = n ? st->tensors + first : NULL;
    if (n) qsort(ts, n, sizeof *ts, cmp_offset);
    size_t expect = 0;
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)((const unsigned char *)ts[i].data - data);
        if (b < expect) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: tensor '%s': data_offsets [%zu, %zu) overlap tensor '%s'",
                    name, ts[i].name, b, b + ts[i].nbytes, ts[i - 1].name);
            goto out;
        }
        if (b > expect) {
            mm_fail(err, MM_ERR_MALFORMED,
                    "%s: data bytes [%zu, %zu) before tensor '%s' belong to no tensor", name, expect, b,
                    ts[i].name);
            goto out;
        }
        expect = b + ts[i].nbytes;
    }
    if (expect != data_size) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: data bytes [%zu, %zu) at the end belong to no tensor", name,
                expect, data_size);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int sort_and_check_unique(safetensors *st, mm_error *err)
{
    if (st->ntensors == 0) return 0;
    qsort(st->tensors, st->ntensors, sizeof *st->tensors, cmp_name);
    for (size_t i = 1; i < st->ntensors; i++)
        if (strcmp(st->tensors[i].name, st->tensors[i - 1].name) == 0)
            return mm_fail(err, MM_ERR_MALFORMED, "%s: tensor '%s' is also in %s", st->tensors[i].file,
                           st->tensors[i].name, st->tensors[i - 1].file);
    return 0;
}

safetensors *st_parse(const void *buf, size_t size, const char *name, mm_error *err)
{
    safetensors *st = xcalloc(1, sizeof *st);
    add_file(st, name, NULL, 0);
    if (parse_into(st, buf, size, name, 0, err) < 0 || sort_and_check_unique(st, err) < 0) {
        st_close(st);
        return NULL;
    }
    return st;
}

/* Maps `path` and parses it into st. */
static int open_into(safetensors *st, const char *path, mm_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        close(fd);
        return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return mm_fail(err, MM_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return mm_fail(err, MM_ERR_IO, "%s: mmap: %s", path, strerror(e));
        }
    }
    close(fd);
    add_file(st, path, map, size);
    static const unsigned char empty[1];
    return parse_into(st, map ? map : empty, size, path, map != NULL, err);
}

safetensors *st_open(const char *path, mm_error *err)
{
    safetensors *st = xcalloc(1, sizeof *st);
    if (open_into(st, path, err) < 0 || sort_and_check_unique(st, err) < 0) {
        st_close(st);
        return NULL;
    }
    return st;
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static safetensors *open_sharded(const char *dir, const char *index_path, mm_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(index_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line <= 0 && access(index_path, R_OK) != 0)
            mm_fail(err, MM_ERR_IO, "%s: %s", index_path, strerror(errno));
        else
            mm_fail(err, MM_ERR_MALFORMED, "%s:%d: invalid JSON: %s", index_path, jerr.line, jerr.text);
        return NULL;
    }
    safetensors *st = xcalloc(1, sizeof *st);
    json_t *map = json_object_get(root, "weight_map");
    const char *key;
    json_t *val;
    if (!json_is_object(map) || json_object_size(map) == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: no \"weight_map\" object", index_path);
        goto fail;
    }
    json_object_foreach(map, key, val) {
        const char *shard = json_string_value(val);
        if (!shard || !*shard || strchr(shard, '/')) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: weight_map: tensor '%s': shard must be a file name in %s",
                    index_path, key, dir);
            goto fail;
        }
        char *path = join_path(dir, shard);
        int seen = 0;
        for (size_t i = 0; i < st->nfiles; i++)
            if (strcmp(st->files[i].path, path) == 0) seen = 1;
        int rc = seen ? 0 : open_into(st, path, err);
        free(path);
        if (rc < 0) goto fail;
    }
    if (sort_and_check_unique(st, err) < 0) goto fail;
    json_object_foreach(map, key, val) {
        const st_tensor *t = st_find(st, key);
        const char *shard = json_string_value(val);
        if (!t) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: tensor '%s' is not in its shard %s", index_path, key, shard);
            goto fail;
        }
        const char *slash = strrchr(t->file, '/');
        if (strcmp(slash ? slash + 1 : t->file, shard) != 0) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: tensor '%s' is in %s, but the index names %s", index_path,
                    key, t->file, shard);
            goto fail;
        }
    }
    json_decref(root);
    return st;
fail:
    json_decref(root);
    st_close(st);
    return NULL;
}

safetensors *st_open_dir(const char *dir, mm_error *err)
{
    char *single = join_path(dir, "model.safetensors");
    char *index = join_path(dir, "model.safetensors.index.json");
    safetensors *st = NULL;
    struct stat sb;
    if (stat(single, &sb) == 0)
        st = st_open(single, err);
    else if (stat(index, &sb) == 0)
        st = open_sharded(dir, index, err);
    else if (stat(dir, &sb) != 0)
        mm_fail(err, MM_ERR_IO, "%s: %s", dir, strerror(errno));
    else
        mm_fail(err, MM_ERR_IO,
                "%s: no model.safetensors or model.safetensors.index.json (expected a Hugging Face "
                "model directory)",
                dir);
    free(single);
    free(index);
    return st;
}

int st_to_f32(const st_tensor *t, float *dst, mm_error *err)
{
    switch (t->dtype) {
    case ST_F32:
        memcpy(dst, t->data, t->nbytes);
        return 0;
    case ST_F16:
    case ST_BF16: {
        /* The data may be unaligned: convert through an aligned block. */
        uint16_t block[4096];
        const unsigned char *src = t->data;
        for (size_t done = 0; done < t->count;) {
            size_t k = t->count - done < 4096 ? t->count - done : 4096;
            memcpy(block, src + 2 * done, 2 * k);
            if (t->dtype == ST_F16)
                mm_f16_to_f32_n(block, dst + done, k);
            else
                mm_bf16_to_f32_n(block, dst + done, k);
            done += k;
        }
        return 0;
    }
    default:
        return mm_fail(err, MM_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s is not a floating-point type",
                       t->file, t->name, st_dtype_name(t->dtype));
    }
}

void st_release(const st_tensor *t)
{
    if (!t->mapped || t->nbytes == 0) return;
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t b = (uintptr_t)t->data, e = b + t->nbytes;
    /* Only whole pages inside the tensor: neighbours may still be needed. */
    uintptr_t pb = (b + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t pe = e & ~((uintptr_t)page - 1);
    if (pe > pb) madvise((void *)pb, pe - pb, MADV_DONTNEED);
}
