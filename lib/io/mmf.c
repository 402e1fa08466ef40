/* mmf.c — the MMF feature-file format (see mmf.h and man/man5/mmf.5).
 *
 * Why the small per-record header check: without it a single corrupted byte
 * in an id length would make the reader consume the wrong number of bytes
 * and usually run off the end of the stream, which it would then report as
 * *truncated*. With it, every single-byte corruption is reported as corrupt
 * or malformed, and "truncated" keeps meaning what the user needs to hear:
 * the producer died before finishing.
 */
#include "io/mmf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/crc32c.h"
#include "core/hugealloc.h"
#include "core/mapguard.h"
#include "core/xalloc.h"
#include "kernels/half.h"

/* f32 payloads are copied as they are: the on-disk order is little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "mmkit assumes a little-endian host");

static const unsigned char MMF_MAGIC[8] = {0x89, 'M', 'M', 'F', '\r', '\n', 0x1a, '\n'};
enum { MMF_VERSION = 1, TAG_RECORD = 'V', TAG_END = 'E' };
enum { FIXED_HEADER_LEN = 20 };
/* The read buffer must hold the largest unit the reader ever needs whole:
 * a header with the largest legal metadata, or the largest record. */
#define LARGEST_HEADER (FIXED_HEADER_LEN + 4 + MMF_MAX_META_LEN + 4)
#define LARGEST_RECORD (5 + MMF_MAX_ID_LEN + MMF_MAX_DIM * 4)
#define READ_BUFFER ((LARGEST_HEADER > LARGEST_RECORD ? LARGEST_HEADER : LARGEST_RECORD) + 65536)

/* ---- little-endian helpers -------------------------------------------------- */
static uint16_t get_u16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}
static void put_u16(unsigned char *p, uint16_t v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t record_check(const unsigned char *tag_and_len)
{
    return (uint16_t)(mm_crc32c(0, tag_and_len, 3) & 0xffffu);
}

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), no NUL. */
static int valid_utf8_id(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0) return 0;
        if (c < 0x80) { i++; continue; }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += len;
    }
    return 1;
}

bool mmf_valid_id(const char *id, size_t len)
{
    return len > 0 && len <= MMF_MAX_ID_LEN && valid_utf8_id((const unsigned char *)id, len);
}

/* ---- dtype & header ---------------------------------------------------------- */
size_t mmf_dtype_size(int dtype)
{
    return dtype == MMF_F32 ? 4 : dtype == MMF_F16 ? 2 : 0;
}

const char *mmf_dtype_name(int dtype)
{
    return dtype == MMF_F32 ? "f32" : dtype == MMF_F16 ? "f16" : "?";
}

int mmf_dtype_parse(const char *name)
{
    if (!strcmp(name, "f32") || !strcmp(name, "float32")) return MMF_F32;
    if (!strcmp(name, "f16") || !strcmp(name, "float16")) return MMF_F16;
    return 0;
}

void mmf_header_init(mmf_header *h, uint32_t dim, int dtype, uint32_t flags)
{
    memset(h, 0, sizeof *h);
    h->dim = dim;
    h->dtype = dtype;
    h->flags = flags;
}

void mmf_header_set(mmf_header *h, const char *key, const char *value)
{
    for (size_t i = 0; i < h->meta_count; i++)
        if (!strcmp(h->meta[i].key, key)) {
            free(h->meta[i].value);
            h->meta[i].value = xstrdup(value);
            return;
        }
    h->meta = xrealloc(h->meta, (h->meta_count + 1) * sizeof *h->meta);
    h->meta[h->meta_count].key = xstrdup(key);
    h->meta[h->meta_count].value = xstrdup(value);
    h->meta_count++;
}

const char *mmf_header_get(const mmf_header *h, const char *key)
{
    for (size_t i = 0; i < h->meta_count; i++)
        if (!strcmp(h->meta[i].key, key)) return h->meta[i].value;
    return NULL;
}

void mmf_header_copy(mmf_header *dst, const mmf_header *src)
{
    mmf_header_init(dst, src->dim, src->dtype, src->flags);
    for (size_t i = 0; i < src->meta_count; i++)
        mmf_header_set(dst, src->meta[i].key, src->meta[i].value);
}

void mmf_header_free(mmf_header *h)
{
    for (size_t i = 0; i < h->meta_count; i++) {
        free(h->meta[i].key);
        free(h->meta[i].value);
    }
    free(h->meta);
    memset(h, 0, sizeof *h);
}

static int valid_meta_key(const char *k, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* ---- reader -------------------------------------------------------------------- */
enum reader_state { NEED_HEADER, IN_SEGMENT, AT_END, FAILED };

struct mmf_reader {
    FILE *fp;
    int owns_fp;
    char *name;
    unsigned char *buf;
    size_t buf_start, buf_end; /* valid bytes are buf[buf_start, buf_end) */
    int eof;
    int mapped;     /* buf is the whole file, mapped (length buf_end) */
    int guard;      /* its lib/mapguard slot */
    pthread_t prefault;      /* maps the file's pages ahead of the reader, unmaps behind */
    int prefault_started;
    atomic_int prefault_stop;
    atomic_size_t done_upto; /* mapped: the reader never looks below this offset again */
    uint32_t *win_crc;       /* helper: crc of each PREFAULT_WINDOW of the file ... */
    atomic_size_t win_done;  /* ... for windows [0, win_done) */
    uint32_t win_op[32];     /* mm_crc32c "append a window of zeros" operator */
    size_t seg_start;        /* offset of the current segment's first record */
    uint64_t offset; /* stream offset of buf[buf_start] */

    enum reader_state state;
    mm_error saved_err; /* returned again after a failure */
    mmf_header header;
    int have_header;
    uint32_t first_dim;
    int require_same_dim;
    size_t segments;
    uint64_t seg_count;    /* records in the current segment */
    uint32_t seg_crc;      /* running crc of the current segment's records ... */
    size_t crc_from;       /* ... up to buf[crc_from] (records consumed since are pending) */
    uint64_t total;        /* records so far in the stream */
    float *vec;            /* dim floats: the current record */
    size_t vec_cap;
    char id[MMF_MAX_ID_LEN + 1];
    void (*on_end)(const mmf_segment_info *, void *);
    void *on_end_ctx;
};

const char *mmf_name(const mmf_reader *r) { return r->name; }
bool mmf_is_mapped(const mmf_reader *r) { return r->mapped != 0; }
uint64_t mmf_mapped_size(const mmf_reader *r) { return r->mapped ? (uint64_t)r->buf_end : 0; }
const mmf_header *mmf_header_of(const mmf_reader *r) { return &r->header; }
size_t mmf_segment_count(const mmf_reader *r) { return r->segments; }
void mmf_require_same_dim(mmf_reader *r, bool require) { r->require_same_dim = require; }

void mmf_on_segment_end(mmf_reader *r, void (*fn)(const mmf_segment_info *, void *), void *ctx)
{
    r->on_end = fn;
    r->on_end_ctx = ctx;
}

/* A regular file is mapped rather than read: no copy through the kernel, and
 * records are decoded straight from the page cache. */
static unsigned char *map_file(FILE *fp, size_t *len)
{
    struct stat st;
    int fd = fileno(fp);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > SIZE_MAX / 2)
        return NULL;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) return NULL;
    *len = (size_t)st.st_size;
    return m;
}

/* Mapping page-cache pages into the address space costs about a fifth of
 * reading a large mapped file when done by page faults in the reader (the
 * kernel maps 16 pages per fault), and unmapping 2 GB at close takes 80 ms.
 * For files of PREFAULT_MIN bytes or more a helper thread, window by window
 * up to PREFAULT_AHEAD bytes ahead of the reader,
 *  - maps the window with MADV_POPULATE_READ (and so reads uncached pages
 *    from disk ahead),
 *  - computes the window's CRC-32C (win_crc); the reader joins the windows a
 *    segment covers at its end marker (mm_crc32c_combine_op) instead of
 *    checksumming the records itself,
 *  - drops the page-table entries of windows the reader has finished with
 *    (MADV_DONTNEED: the page cache keeps the data).
 * The reader only ever waits for a window's checksum, at an end marker. */
enum { PREFAULT_MIN = 64 << 20, PREFAULT_WINDOW = 4 << 20, PREFAULT_AHEAD = 256 << 20 };

static void *prefault_main(void *arg)
{
    mmf_reader *r = arg;
    size_t len = r->buf_end, mapped = 0, released = 0;
    int can_populate = 1;
    while (!atomic_load(&r->prefault_stop)) {
        int progressed = 0;
        size_t done = atomic_load(&r->done_upto);
        if (mapped < len && mapped < done + PREFAULT_AHEAD) {
            size_t n = len - mapped < PREFAULT_WINDOW ? len - mapped : PREFAULT_WINDOW;
#ifdef MADV_POPULATE_READ
            if (can_populate && madvise(r->buf + mapped, n, MADV_POPULATE_READ) != 0) can_populate = 0;
#else
            (void)can_populate;
#endif
            if (r->win_crc) {
                r->win_crc[mapped / PREFAULT_WINDOW] = mm_crc32c(0, r->buf + mapped, n);
                atomic_store(&r->win_done, mapped / PREFAULT_WINDOW + 1);
            }
            mapped += n;
            progressed = 1;
        }
        size_t upto = (done < mapped ? done : mapped) / PREFAULT_WINDOW * PREFAULT_WINDOW;
        if (upto > released) {
            madvise(r->buf + released, upto - released, MADV_DONTNEED);
            released = upto;
            progressed = 1;
        }
        if (mapped >= len && released + PREFAULT_WINDOW > len) break;
        if (!progressed) {
            struct timespec ts = {0, 1000000}; /* 1 ms */
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* The CRC-32C of buf[a, e) from the helper's window checksums (waiting for
 * them if needed) and the partial windows at both ends. */
static uint32_t range_crc(mmf_reader *r, size_t a, size_t e)
{
    size_t W = PREFAULT_WINDOW, wa = (a + W - 1) / W * W, we = e / W * W;
    if (wa >= we) return mm_crc32c(0, r->buf + a, e - a);
    uint32_t c = mm_crc32c(0, r->buf + a, wa - a);
    for (size_t w = wa / W; w < we / W; w++) {
        while (atomic_load(&r->win_done) <= w) {
            struct timespec ts = {0, 100000}; /* 0.1 ms */
            nanosleep(&ts, NULL);
        }
        c = mm_crc32c_combine_op(r->win_op, c, r->win_crc[w]);
    }
    return mm_crc32c(c, r->buf + we, e - we);
}

static mmf_reader *reader_new(FILE *fp, const char *name, int try_map)
{
    mmf_reader *r = xcalloc(1, sizeof *r);
    r->fp = fp;
    r->name = xstrdup(name ? name : "(stdin)");
    size_t len = 0;
    if (try_map && (r->buf = map_file(fp, &len)) != NULL) {
        r->mapped = 1;
        r->guard = mapguard_add(r->buf, len, r->name);
        r->buf_end = len;
        r->eof = 1;
        if (len >= PREFAULT_MIN) {
            r->win_crc = xmalloc((len / PREFAULT_WINDOW + 1) * sizeof *r->win_crc);
            mm_crc32c_zeros_op(r->win_op, PREFAULT_WINDOW);
            r->prefault_started = pthread_create(&r->prefault, NULL, prefault_main, r) == 0;
            if (!r->prefault_started) {
                free(r->win_crc);
                r->win_crc = NULL;
            }
        }
    } else {
        r->buf = xmalloc(READ_BUFFER);
    }
    r->require_same_dim = 1;
    return r;
}

mmf_reader *mmf_open_fp(FILE *fp, const char *name, mm_error *err)
{
    (void)err; /* nothing left that fails: memory comes from xalloc */
    return reader_new(fp, name, 0);
}

mmf_reader *mmf_open(const char *path, mm_error *err)
{
    if (path == NULL || strcmp(path, "-") == 0) return mmf_open_fp(stdin, "(stdin)", err);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    /* fopen accepts a directory on Linux; its first read fails with EISDIR,
     * which would read as "read error". Say what is wrong, as cli_open_input does. */
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        mm_fail(err, MM_ERR_IO, "%s: is a directory", path);
        return NULL;
    }
    mmf_reader *r = reader_new(fp, path, 1);
    r->owns_fp = 1;
    return r;
}

void mmf_close(mmf_reader *r)
{
    if (!r) return;
    if (r->prefault_started) {
        atomic_store(&r->prefault_stop, 1);
        pthread_join(r->prefault, NULL);
    }
    free(r->win_crc);
    if (r->owns_fp) fclose(r->fp);
    mmf_header_free(&r->header);
    free(r->vec);
    if (r->mapped) {
        mapguard_remove(r->guard);
        munmap(r->buf, r->buf_end);
    } else {
        free(r->buf);
    }
    free(r->name);
    free(r);
}

/* Adds the records consumed since the last call to the segment checksum.
 * Checksumming in large spans rather than record by record lets the CRC run
 * its three interleaved lanes; records are only verified at the end marker
 * anyway. */
static void crc_catch_up(mmf_reader *r)
{
    if (r->win_crc) { /* the helper checksums the file; see range_crc */
        r->crc_from = r->buf_start;
        atomic_store(&r->done_upto, r->crc_from);
        return;
    }
    if (r->buf_start > r->crc_from)
        r->seg_crc = mm_crc32c(r->seg_crc, r->buf + r->crc_from, r->buf_start - r->crc_from);
    r->crc_from = r->buf_start;
    if (r->prefault_started) atomic_store(&r->done_upto, r->crc_from);
}

/* Makes at least n bytes available at buf+buf_start unless the stream ends
 * first; returns the number available (may be < n only at end of stream). */
static size_t reader_fill(mmf_reader *r, size_t n, mm_error *err, int *io_failed)
{
    size_t have = r->buf_end - r->buf_start;
    if (have >= n || r->eof) return have;
    if (r->buf_start > 0) {
        if (r->state == IN_SEGMENT) crc_catch_up(r); /* before the bytes move */
        memmove(r->buf, r->buf + r->buf_start, have);
        r->buf_start = 0;
        r->buf_end = have;
        r->crc_from = 0;
    }
    while (r->buf_end < n && !r->eof) {
        size_t got = fread(r->buf + r->buf_end, 1, READ_BUFFER - r->buf_end, r->fp);
        r->buf_end += got;
        if (got == 0) {
            if (ferror(r->fp)) {
                *io_failed = 1;
                mm_fail(err, MM_ERR_IO, "%s: read error: %s", r->name, strerror(errno));
                return r->buf_end;
            }
            r->eof = 1;
        }
    }
    return r->buf_end - r->buf_start;
}

static void consume(mmf_reader *r, size_t n)
{
    r->buf_start += n;
    r->offset += n;
}

static int reader_fail(mmf_reader *r, mm_error *err, int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int reader_fail(mmf_reader *r, mm_error *err, int kind, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    r->state = FAILED;
    mm_fail(&r->saved_err, kind, "%s: byte %" PRIu64 ": %s: %s", r->name, r->offset,
            mm_error_kind_name(kind), what);
    if (err) *err = r->saved_err;
    return -1;
}

/* Requires n bytes; reports truncation (with `what` being read) otherwise. */
static int require(mmf_reader *r, size_t n, const char *what, mm_error *err)
{
    int io_failed = 0;
    size_t have = reader_fill(r, n, err, &io_failed);
    if (io_failed) {
        r->state = FAILED;
        r->saved_err = *err;
        return -1;
    }
    if (have < n) {
        if (r->segments == 0 && r->offset == 0 && have == 0)
            return reader_fail(r, err, MM_ERR_TRUNCATED, "empty input (no MMF header)");
        return reader_fail(r, err, MM_ERR_TRUNCATED,
                           "stream ends inside %s (segment %zu, after %" PRIu64
                           " records); the producer probably stopped early",
                           what, r->segments ? r->segments : 1, r->seg_count);
    }
    return 0;
}

static int read_header(mmf_reader *r, mm_error *err)
{
    /* Look at the magic before insisting on a whole header, so that a short
     * text file is called "not an MMF stream" rather than "truncated". */
    int io_failed = 0;
    size_t have = reader_fill(r, FIXED_HEADER_LEN + 4, err, &io_failed);
    if (io_failed) {
        r->state = FAILED;
        r->saved_err = *err;
        return -1;
    }
    size_t magic_have = have < 8 ? have : 8;
    if (memcmp(r->buf + r->buf_start, MMF_MAGIC, magic_have) == 0 &&
        require(r, FIXED_HEADER_LEN + 4, "a segment header", err))
        return -1;
    const unsigned char *p = r->buf + r->buf_start;
    if (memcmp(p, MMF_MAGIC, magic_have) != 0) {
        if (r->segments == 0)
            return reader_fail(r, err, MM_ERR_MALFORMED, "not an MMF feature stream (bad magic)");
        return reader_fail(r, err, MM_ERR_MALFORMED,
                           "bad magic where segment %zu should start (garbage after an end marker?)",
                           r->segments + 1);
    }
    if (mm_crc32c(0, p, FIXED_HEADER_LEN) != get_u32(p + FIXED_HEADER_LEN))
        return reader_fail(r, err, MM_ERR_CORRUPT, "segment header checksum mismatch");
    uint16_t version = get_u16(p + 8);
    int dtype = p[10];
    unsigned flags = p[11];
    uint32_t dim = get_u32(p + 12);
    uint32_t meta_len = get_u32(p + 16);
    if (version != MMF_VERSION)
        return reader_fail(r, err, MM_ERR_UNSUPPORTED, "format version %u (this reader knows %d)",
                           version, MMF_VERSION);
    if (dtype != MMF_F32 && dtype != MMF_F16)
        return reader_fail(r, err, MM_ERR_MALFORMED, "unknown element type code %d", dtype);
    if (flags & ~MMF_FLAG_NORMALIZED)
        return reader_fail(r, err, MM_ERR_MALFORMED, "unknown flag bits 0x%02x", flags);
    if (dim == 0) return reader_fail(r, err, MM_ERR_MALFORMED, "dimension 0");
    if (dim > MMF_MAX_DIM)
        return reader_fail(r, err, MM_ERR_LIMIT, "dimension %" PRIu32 " exceeds the limit of %u",
                           dim, MMF_MAX_DIM);
    if (meta_len > MMF_MAX_META_LEN)
        return reader_fail(r, err, MM_ERR_LIMIT,
                           "metadata length %" PRIu32 " exceeds the limit of %u bytes", meta_len,
                           MMF_MAX_META_LEN);
    consume(r, FIXED_HEADER_LEN + 4);
    if (require(r, (size_t)meta_len + 4, "the segment metadata", err)) return -1;
    p = r->buf + r->buf_start;
    if (mm_crc32c(0, p, meta_len) != get_u32(p + meta_len))
        return reader_fail(r, err, MM_ERR_CORRUPT, "metadata checksum mismatch");

    mmf_header_free(&r->header);
    mmf_header_init(&r->header, dim, dtype, flags);
    const char *m = (const char *)p, *end = m + meta_len;
    if (!valid_utf8_id(p, meta_len))
        return reader_fail(r, err, MM_ERR_MALFORMED, "metadata is not valid UTF-8");
    while (m < end) {
        const char *nl = memchr(m, '\n', (size_t)(end - m));
        if (!nl) return reader_fail(r, err, MM_ERR_MALFORMED, "metadata line without newline");
        const char *eq = memchr(m, '=', (size_t)(nl - m));
        if (!eq || !valid_meta_key(m, (size_t)(eq - m)))
            return reader_fail(r, err, MM_ERR_MALFORMED, "metadata line is not key=value");
        if (r->header.meta_count >= MMF_MAX_META_ITEMS)
            return reader_fail(r, err, MM_ERR_LIMIT, "more than %u metadata items",
                               MMF_MAX_META_ITEMS);
        char *key = xstrndup(m, (size_t)(eq - m));
        char *value = xstrndup(eq + 1, (size_t)(nl - eq - 1));
        mmf_header_set(&r->header, key, value);
        free(key);
        free(value);
        m = nl + 1;
    }
    consume(r, (size_t)meta_len + 4);

    if (r->segments == 0) r->first_dim = dim;
    else if (r->require_same_dim && dim != r->first_dim)
        return reader_fail(r, err, MM_ERR_MISMATCH,
                           "segment %zu has dimension %" PRIu32 " but segment 1 has %" PRIu32,
                           r->segments + 1, dim, r->first_dim);
    if (r->vec_cap < dim) {
        free(r->vec);
        r->vec = xmalloc((size_t)dim * sizeof(float)); /* dim <= MMF_MAX_DIM */
        r->vec_cap = dim;
    }
    r->segments++;
    r->have_header = 1;
    r->seg_count = 0;
    r->seg_crc = 0;
    r->crc_from = r->buf_start;
    r->seg_start = r->buf_start;
    r->state = IN_SEGMENT;
    return 0;
}

/* At a segment boundary: EOF means the stream ended cleanly. */
static int at_clean_eof(mmf_reader *r, mm_error *err, int *is_eof)
{
    int io_failed = 0;
    size_t have = reader_fill(r, 1, err, &io_failed);
    if (io_failed) {
        r->state = FAILED;
        r->saved_err = *err;
        return -1;
    }
    *is_eof = have == 0;
    return 0;
}

int mmf_peek_header(mmf_reader *r, mm_error *err)
{
    if (r->state == FAILED) {
        if (err) *err = r->saved_err;
        return -1;
    }
    if (r->have_header) return 1;
    return read_header(r, err) == 0 ? 1 : -1;
}

static int read_end_marker(mmf_reader *r, mm_error *err)
{
    if (require(r, 1 + 8 + 4, "the end marker", err)) return -1;
    crc_catch_up(r);
    if (r->win_crc) r->seg_crc = range_crc(r, r->seg_start, r->buf_start);
    const unsigned char *p = r->buf + r->buf_start;
    uint64_t count = get_u64(p + 1);
    uint32_t stored = get_u32(p + 9);
    uint32_t crc = mm_crc32c(r->seg_crc, p, 9);
    if (crc != stored)
        return reader_fail(r, err, MM_ERR_CORRUPT,
                           "segment %zu checksum mismatch (stored %08" PRIx32 ", computed %08" PRIx32
                           "): the data was altered",
                           r->segments, stored, crc);
    if (count != r->seg_count)
        return reader_fail(r, err, MM_ERR_CORRUPT,
                           "segment %zu end marker says %" PRIu64 " records, found %" PRIu64,
                           r->segments, count, r->seg_count);
    consume(r, 13);
    if (r->on_end) {
        mmf_segment_info info = {r->header, r->seg_count, stored};
        r->on_end(&info, r->on_end_ctx);
    }
    r->state = NEED_HEADER;
    return 0;
}

enum { CRC_SPAN = 1 << 16 }; /* bytes of records checksummed at a time */

int mmf_next_into(mmf_reader *r, mmf_record *rec, float *dst, mm_error *err)
{
    for (;;) {
        switch (r->state) {
        case FAILED:
            if (err) *err = r->saved_err;
            return -1;
        case AT_END:
            return 0;
        case NEED_HEADER:
            if (r->segments > 0) {
                int eof;
                if (at_clean_eof(r, err, &eof)) return -1;
                if (eof) {
                    r->state = AT_END;
                    return 0;
                }
            }
            if (read_header(r, err)) return -1;
            continue;
        case IN_SEGMENT:
            break;
        }
        if (require(r, 1, "a record", err)) return -1;
        unsigned char tag = r->buf[r->buf_start];
        if (tag == TAG_END) {
            if (read_end_marker(r, err)) return -1;
            continue;
        }
        if (tag != TAG_RECORD)
            return reader_fail(r, err, MM_ERR_MALFORMED,
                               "byte 0x%02x where a record ('V') or end marker ('E') should be",
                               tag);
        size_t esize = mmf_dtype_size(r->header.dtype);
        size_t vec_bytes = (size_t)r->header.dim * esize;
        if (require(r, 5, "a record header", err)) return -1;
        const unsigned char *p = r->buf + r->buf_start;
        uint16_t id_len = get_u16(p + 1);
        if (record_check(p) != get_u16(p + 3))
            return reader_fail(r, err, MM_ERR_CORRUPT, "record %" PRIu64 " header check mismatch",
                               r->seg_count + 1);
        if (id_len == 0 || id_len > MMF_MAX_ID_LEN)
            return reader_fail(r, err, MM_ERR_MALFORMED, "record %" PRIu64 " id length %u outside 1..%u",
                               r->seg_count + 1, id_len, MMF_MAX_ID_LEN);
        size_t rec_len = 5 + (size_t)id_len + vec_bytes;
        if (require(r, rec_len, "a record", err)) return -1;
        p = r->buf + r->buf_start;
        if (!valid_utf8_id(p + 5, id_len))
            return reader_fail(r, err, MM_ERR_MALFORMED,
                               "record %" PRIu64 " id is not valid UTF-8 (or contains NUL)",
                               r->seg_count + 1);
        memcpy(r->id, p + 5, id_len);
        r->id[id_len] = 0;
        const unsigned char *data = p + 5 + id_len;
        float *vec = dst ? dst : r->vec;
        if (r->header.dtype == MMF_F32) {
            memcpy(vec, data, vec_bytes); /* the host is little-endian (asserted above) */
        } else {
            uint16_t tmp[256];
            for (size_t done = 0; done < r->header.dim; done += 256) {
                size_t n = r->header.dim - done < 256 ? r->header.dim - done : 256;
                memcpy(tmp, data + done * 2, n * 2);
                mm_f16_to_f32_n(tmp, vec + done, n);
            }
        }
        consume(r, rec_len);
        if (r->buf_start - r->crc_from >= CRC_SPAN) crc_catch_up(r);
        rec->id = r->id;
        rec->id_len = id_len;
        rec->vec = vec;
        rec->segment = r->segments - 1;
        rec->index = r->total;
        r->seg_count++;
        r->total++;
        return 1;
    }
}

int mmf_next(mmf_reader *r, mmf_record *rec, mm_error *err)
{
    return mmf_next_into(r, rec, NULL, err);
}

/* ---- whole-stream loading ------------------------------------------------------ */
/* A larger row array, on huge pages when large (core/hugealloc.h: faulting
 * 4 KiB pages in one by one took half of the loading time of a 51 MB query
 * file), the old rows copied over. NULL if out of memory (old is then
 * untouched). */
static float *grow_rows(float *old, size_t old_rows, size_t new_rows, size_t dim)
{
    void *p = mm_huge_alloc(new_rows * dim * sizeof(float));
    if (!p) return NULL;
    if (old_rows) memcpy(p, old, old_rows * dim * sizeof(float));
    free(old);
    return p;
}

int mmf_load_reader(mmf_reader *r, mmf_matrix *m, mm_error *err)
{
    memset(m, 0, sizeof *m);
    if (mmf_peek_header(r, err) < 0) return -1;
    mmf_header_copy(&m->header, mmf_header_of(r));
    m->dim = m->header.dim;
    m->all_normalized = true;
    size_t cap_rows = 0, arena_len = 0, arena_cap = 0;
    size_t *id_offsets = NULL;
    mmf_record rec;
    int rc;
    for (;;) {
        if (m->rows == cap_rows) {
            size_t nc = cap_rows ? cap_rows * 2 : 1024;
            if (!cap_rows && r->mapped) {
                /* the most records the rest of the file can hold (f16, 1-byte
                 * ids): only touched pages cost memory */
                size_t most = (r->buf_end - r->buf_start) / (6 + (size_t)m->dim * 2) + 1;
                if (most > nc) nc = most;
            }
            /* the row array: sized by the file (a mapped one) or doubling
             * with what is read; the one input-sized allocation here, so
             * running out is reported */
            float *nd = grow_rows(m->data, m->rows, nc, m->dim);
            size_t *no = nd ? realloc(id_offsets, nc * sizeof *no) : NULL;
            if (nd) m->data = nd;
            if (!nd || !no) {
                free(m->data);
                free(id_offsets);
                m->data = NULL;
                free(m->id_arena);
                mmf_header_free(&m->header);
                return mm_fail(err, MM_ERR_NOMEM, "%s: out of memory loading %zu vectors",
                               mmf_name(r), m->rows);
            }
            id_offsets = no;
            cap_rows = nc;
        }
        /* decoded straight into its row */
        if ((rc = mmf_next_into(r, &rec, m->data + m->rows * m->dim, err)) != 1) break;
        if (!(mmf_header_of(r)->flags & MMF_FLAG_NORMALIZED)) m->all_normalized = false;
        if (arena_len + rec.id_len + 1 > arena_cap) {
            size_t nc = arena_cap ? arena_cap * 2 : 65536;
            while (nc < arena_len + rec.id_len + 1) nc *= 2;
            m->id_arena = xrealloc(m->id_arena, nc); /* grows with the ids read */
            arena_cap = nc;
        }
        memcpy(m->id_arena + arena_len, rec.id, rec.id_len + 1);
        id_offsets[m->rows] = arena_len;
        arena_len += rec.id_len + 1;
        m->rows++;
    }
    if (rc < 0) {
        free(m->data);
        free(id_offsets);
        free(m->id_arena);
        mmf_header_free(&m->header);
        memset(m, 0, sizeof *m);
        return -1;
    }
    m->ids = xmalloc((m->rows ? m->rows : 1) * sizeof *m->ids);
    for (size_t i = 0; i < m->rows; i++) m->ids[i] = m->id_arena + id_offsets[i];
    free(id_offsets);
    return 0;
}

int mmf_load(const char *path, mmf_matrix *m, mm_error *err)
{
    mmf_reader *r = mmf_open(path, err);
    if (!r) return -1;
    int rc = mmf_load_reader(r, m, err);
    mmf_close(r);
    return rc;
}

void mmf_matrix_free(mmf_matrix *m)
{
    free(m->data);
    free(m->ids);
    free(m->id_arena);
    mmf_header_free(&m->header);
    memset(m, 0, sizeof *m);
}

/* ---- writer ----------------------------------------------------------------------- */
struct mmf_writer {
    FILE *fp;
    char *name;
    mmf_header header;
    uint64_t count;
    uint32_t crc;
    unsigned char *rec; /* one encoded record */
    size_t rec_cap;
    int failed;
};

uint64_t mmf_writer_count(const mmf_writer *w) { return w->count; }

static int write_bytes(mmf_writer *w, const void *p, size_t n, mm_error *err)
{
    if (fwrite(p, 1, n, w->fp) != n) {
        w->failed = 1;
        return mm_fail(err, MM_ERR_IO, "%s: write error: %s", w->name, strerror(errno));
    }
    return 0;
}

mmf_writer *mmf_writer_open(FILE *fp, const char *name, const mmf_header *h, mm_error *err)
{
    if (h->dim == 0 || h->dim > MMF_MAX_DIM) {
        mm_fail(err, MM_ERR_LIMIT, "%s: dimension %" PRIu32 " outside 1..%u", name, h->dim, MMF_MAX_DIM);
        return NULL;
    }
    if (h->dtype != MMF_F32 && h->dtype != MMF_F16) {
        mm_fail(err, MM_ERR_UNSUPPORTED, "%s: unknown element type %d", name, h->dtype);
        return NULL;
    }
    /* Encode metadata, validating keys and values. */
    size_t meta_len = 0;
    for (size_t i = 0; i < h->meta_count; i++) {
        const char *k = h->meta[i].key, *v = h->meta[i].value;
        if (!valid_meta_key(k, strlen(k)) || strchr(v, '\n') ||
            !valid_utf8_id((const unsigned char *)v, strlen(v))) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: metadata item '%s' is not a valid key=value line",
                    name, k);
            return NULL;
        }
        meta_len += strlen(k) + strlen(v) + 2;
    }
    if (meta_len > MMF_MAX_META_LEN || h->meta_count > MMF_MAX_META_ITEMS) {
        mm_fail(err, MM_ERR_LIMIT, "%s: metadata too large", name);
        return NULL;
    }
    mmf_writer *w = xcalloc(1, sizeof *w);
    unsigned char *buf = xmalloc(FIXED_HEADER_LEN + 4 + meta_len + 4); /* meta_len checked above */
    w->fp = fp;
    w->name = xstrdup(name ? name : "(stdout)");
    mmf_header_copy(&w->header, h);
    memcpy(buf, MMF_MAGIC, 8);
    put_u16(buf + 8, MMF_VERSION);
    buf[10] = (unsigned char)h->dtype;
    buf[11] = (unsigned char)h->flags;
    put_u32(buf + 12, h->dim);
    put_u32(buf + 16, (uint32_t)meta_len);
    put_u32(buf + FIXED_HEADER_LEN, mm_crc32c(0, buf, FIXED_HEADER_LEN));
    unsigned char *m = buf + FIXED_HEADER_LEN + 4;
    for (size_t i = 0; i < h->meta_count; i++) {
        size_t kl = strlen(h->meta[i].key), vl = strlen(h->meta[i].value);
        memcpy(m, h->meta[i].key, kl);
        m[kl] = '=';
        memcpy(m + kl + 1, h->meta[i].value, vl);
        m[kl + 1 + vl] = '\n';
        m += kl + vl + 2;
    }
    put_u32(m, mm_crc32c(0, buf + FIXED_HEADER_LEN + 4, meta_len));
    int rc = write_bytes(w, buf, FIXED_HEADER_LEN + 4 + meta_len + 4, err);
    free(buf);
    if (rc) {
        mmf_header_free(&w->header);
        free(w->name);
        free(w);
        return NULL;
    }
    w->rec_cap = 5 + MMF_MAX_ID_LEN + (size_t)h->dim * mmf_dtype_size(h->dtype);
    w->rec = xmalloc(w->rec_cap); /* dim <= MMF_MAX_DIM */
    return w;
}

int mmf_write(mmf_writer *w, const char *id, size_t id_len, const float *vec, mm_error *err)
{
    if (w->failed) return mm_fail(err, MM_ERR_IO, "%s: earlier write failed", w->name);
    if (id_len == 0 || id_len > MMF_MAX_ID_LEN)
        return mm_fail(err, MM_ERR_LIMIT, "%s: id of %zu bytes outside 1..%u", w->name, id_len,
                       MMF_MAX_ID_LEN);
    if (!valid_utf8_id((const unsigned char *)id, id_len))
        return mm_fail(err, MM_ERR_MALFORMED, "%s: id '%.*s' is not valid UTF-8 (or contains NUL)",
                       w->name, (int)(id_len > 64 ? 64 : id_len), id);
    unsigned char *p = w->rec;
    p[0] = TAG_RECORD;
    put_u16(p + 1, (uint16_t)id_len);
    put_u16(p + 3, record_check(p));
    memcpy(p + 5, id, id_len);
    unsigned char *data = p + 5 + id_len;
    size_t dim = w->header.dim;
    if (w->header.dtype == MMF_F32) {
        memcpy(data, vec, dim * 4);
    } else {
        uint16_t tmp[256];
        for (size_t done = 0; done < dim; done += 256) {
            size_t n = dim - done < 256 ? dim - done : 256;
            mm_f32_to_f16_n(vec + done, tmp, n);
            memcpy(data + done * 2, tmp, n * 2);
        }
    }
    size_t len = 5 + id_len + dim * mmf_dtype_size(w->header.dtype);
    w->crc = mm_crc32c(w->crc, p, len);
    if (write_bytes(w, p, len, err)) return -1;
    w->count++;
    return 0;
}

int mmf_writer_close(mmf_writer *w, mm_error *err)
{
    int rc = 0;
    if (w->failed) {
        rc = mm_fail(err, MM_ERR_IO, "%s: earlier write failed", w->name);
    } else {
        unsigned char end[13];
        end[0] = TAG_END;
        put_u64(end + 1, w->count);
        put_u32(end + 9, mm_crc32c(w->crc, end, 9));
        rc = write_bytes(w, end, sizeof end, err);
        if (rc == 0 && fflush(w->fp) != 0)
            rc = mm_fail(err, MM_ERR_IO, "%s: write error: %s", w->name, strerror(errno));
    }
    mmf_header_free(&w->header);
    free(w->rec);
    free(w->name);
    free(w);
    return rc;
}
