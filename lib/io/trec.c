/* trec.c — see trec.h. */
#include "io/trec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/strstore.h"
#include "core/xalloc.h"

/* Qrels relevance values beyond this are rejected: trec_eval allocates one
 * counter per level up to the maximum, so a stray "1000000000" would ask for
 * gigabytes. Real judgments use a handful of levels. */
#define TREC_MAX_REL 1000000L

#define TREC_CHUNK (4u << 20) /* read(2) size */

/* ---- ordering --------------------------------------------------------------- */

int trec_compare_ranked(double score_a, const char *docno_a, double score_b,
                        const char *docno_b)
{
    if (score_a > score_b) return -1;
    if (score_a < score_b) return 1;
    /* equal scores: the greater docno ranks first (trec_eval comp_sim_docno) */
    return strcmp(docno_b, docno_a);
}

static int cmp_ranked(const void *pa, const void *pb)
{
    const trec_ranked *a = pa, *b = pb;
    return trec_compare_ranked(a->score, a->docno, b->score, b->docno);
}

static int cmp_docno_desc(const void *pa, const void *pb)
{
    const trec_ranked *a = pa, *b = pb;
    return strcmp(b->docno, a->docno);
}

void trec_sort_ranked(trec_ranked *items, size_t n)
{
    if (n < 2) return;
    /* Runs are usually written in score order already, with ties in whatever
     * order the producer chose: then only the runs of equal scores need
     * sorting (by docno, descending). */
    size_t i = 1;
    while (i < n && items[i].score <= items[i - 1].score) i++;
    if (i < n) {
        qsort(items, n, sizeof *items, cmp_ranked);
        return;
    }
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && items[b].score == items[a].score) b++;
        if (b - a == 2) {
            if (strcmp(items[a].docno, items[a + 1].docno) < 0) {
                trec_ranked t = items[a];
                items[a] = items[a + 1];
                items[a + 1] = t;
            }
        } else if (b - a > 2) {
            qsort(items + a, b - a, sizeof *items, cmp_docno_desc);
        }
        a = b;
    }
}

bool trec_is_sorted_ranked(const trec_ranked *items, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (cmp_ranked(&items[i - 1], &items[i]) > 0) return false;
    return true;
}

/* ---- numbers ------------------------------------------------------------------ */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool parse_score_slow(const char *s, size_t len, double *out)
{
    if (len == 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\v' ||
        s[0] == '\f' || s[0] == '\r')
        return false; /* strtod would skip leading white space */
    char small[256];
    char *buf = len < sizeof small ? small : xmalloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    bool ok = len > 0 && end == buf + len && !isnan(v);
    if (buf != small) free(buf);
    if (ok) *out = v;
    return ok;
}

bool trec_parse_score(const char *s, size_t len, double *out)
{
    /* Fast path (Clinger): a decimal with at most 19 significant digits whose
     * value is mantissa * 10^e with mantissa < 2^53 and |e| <= 22 is computed
     * exactly by one IEEE multiplication or division, hence equals strtod. */
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    uint64_t mant = 0;
    int sig = 0, exp10 = 0, ndigits = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (mant || s[i] != '0') {
            if (sig == 19) return parse_score_slow(s, len, out);
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            sig++;
        }
        i++, ndigits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (mant || s[i] != '0') {
                if (sig == 19) return parse_score_slow(s, len, out);
                mant = mant * 10 + (uint64_t)(s[i] - '0');
                sig++;
            }
            exp10--;
            i++, ndigits++;
        }
    }
    if (ndigits == 0) return parse_score_slow(s, len, out); /* inf, nan, hex, junk */
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i == len || s[i] < '0' || s[i] > '9') return false;
        int e = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (e < 100000) e = e * 10 + (s[i] - '0');
            i++;
        }
        exp10 += eneg ? -e : e;
    }
    if (i != len) return parse_score_slow(s, len, out);
    double v;
    if (mant == 0) {
        v = 0.0;
    } else if (mant <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        v = (double)mant;
        if (exp10 < 0)
            v /= pow10_exact[-exp10];
        else
            v *= pow10_exact[exp10];
    } else {
        return parse_score_slow(s, len, out);
    }
    *out = neg ? -v : v;
    return true;
}

bool trec_parse_long(const char *s, size_t len, long *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i == len) return false;
    unsigned long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > ((unsigned long)LONG_MAX + 1 - d) / 10) return false;
        v = v * 10 + d;
    }
    if (!neg && v > (unsigned long)LONG_MAX) return false;
    *out = neg ? (long)(0 - v) : (long)v;
    return true;
}

/* ---- reader --------------------------------------------------------------------- */

struct trec_reader {
    char *name;
    int fd;
    bool own_fd;
    bool is_mem;
    bool can_rewind;
    char *buf;
    size_t cap, start, end;
    bool eof;
    long lineno;
    bool saw_crlf, saw_bom;
    long crlf_line;
    int spool_fd; /* -1, or the temporary copy of what was read */
    char *mem; /* memory mode: the whole input (buf aliases it) */
    size_t mem_len;
};

static trec_reader *reader_new(const char *name)
{
    trec_reader *r = xcalloc(1, sizeof *r);
    r->name = xstrdup(name ? name : "(stdin)");
    r->fd = -1;
    r->spool_fd = -1;
    return r;
}

trec_reader *trec_reader_open_fd(int fd, const char *display_name, mm_error *err)
{
    (void)err; /* cannot fail: kept for the callers' one convention */
    trec_reader *r = reader_new(display_name);
    r->fd = fd;
    struct stat st;
    r->can_rewind = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) == 0;
    r->cap = TREC_CHUNK + 1;
    r->buf = xmalloc(r->cap);
    return r;
}

trec_reader *trec_reader_open(const char *path, mm_error *err)
{
    if (!path || strcmp(path, "-") == 0) return trec_reader_open_fd(0, "(stdin)", err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mm_fail(err, MM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        mm_fail(err, MM_ERR_IO, "%s: is a directory", path);
        return NULL;
    }
    trec_reader *r = trec_reader_open_fd(fd, path, err);
    r->own_fd = true;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return r;
}

trec_reader *trec_reader_open_mem(const void *data, size_t len, const char *display_name,
                                  mm_error *err)
{
    (void)err;
    trec_reader *r = reader_new(display_name);
    r->is_mem = true;
    r->can_rewind = true;
    r->mem = xmalloc(len + 1);
    r->buf = xmalloc(len + 1);
    if (len) memcpy(r->mem, data, len);
    r->mem_len = len;
    memcpy(r->buf, r->mem, len);
    r->cap = len + 1;
    r->end = len;
    r->eof = true;
    return r;
}

void trec_reader_close(trec_reader *r)
{
    if (!r) return;
    if (r->own_fd && r->fd >= 0) close(r->fd);
    if (r->spool_fd >= 0) close(r->spool_fd);
    free(r->buf);
    free(r->mem);
    free(r->name);
    free(r);
}

const char *trec_reader_name(const trec_reader *r) { return r->name; }
bool trec_reader_can_rewind(const trec_reader *r) { return r->can_rewind; }
bool trec_reader_saw_crlf(const trec_reader *r) { return r->saw_crlf; }
bool trec_reader_saw_bom(const trec_reader *r) { return r->saw_bom; }
long trec_reader_crlf_line(const trec_reader *r) { return r->crlf_line; }

int trec_reader_spool(trec_reader *r, mm_error *err)
{
    if (r->can_rewind) return 0;
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t n = strlen(dir) + 32;
    char *path = xmalloc(n);
    snprintf(path, n, "%s/mm-trec-spool-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        mm_fail(err, MM_ERR_IO, "%s: cannot create a temporary file in %s: %s", r->name, dir,
                strerror(errno));
        free(path);
        return -1;
    }
    unlink(path); /* gone when closed, whatever happens */
    free(path);
    r->spool_fd = fd;
    r->can_rewind = true;
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int trec_reader_rewind(trec_reader *r, mm_error *err)
{
    if (!r->can_rewind) return mm_fail(err, MM_ERR_IO, "%s: input cannot be re-read", r->name);
    if (r->spool_fd >= 0) {
        /* from now on read the copy */
        if (r->own_fd && r->fd >= 0) close(r->fd);
        r->fd = r->spool_fd;
        r->own_fd = true;
        r->spool_fd = -1;
    }
    r->lineno = 0;
    r->start = 0;
    if (r->is_mem) {
        memcpy(r->buf, r->mem, r->mem_len);
        r->end = r->mem_len;
        r->eof = true;
        return 0;
    }
    if (lseek(r->fd, 0, SEEK_SET) != 0)
        return mm_fail(err, MM_ERR_IO, "%s: cannot rewind: %s", r->name, strerror(errno));
    r->end = 0;
    r->eof = false;
    return 0;
}

/* Next line (without its newline, CR dropped, NUL-terminated, writable).
 * Returns 1, 0 at EOF, -1 on error. */
static int next_line(trec_reader *r, char **line, size_t *len, mm_error *err)
{
    for (;;) {
        char *p = r->buf + r->start;
        size_t avail = r->end - r->start;
        char *nl = avail ? memchr(p, '\n', avail) : NULL;
        if (nl) {
            *line = p;
            *len = (size_t)(nl - p);
            *nl = '\0';
            r->start += *len + 1;
            break;
        }
        if (r->eof) {
            if (avail == 0) return 0;
            *line = p;
            *len = avail;
            p[avail] = '\0'; /* cap always leaves one spare byte */
            r->start = r->end;
            break;
        }
        if (avail > TREC_MAX_LINE)
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: line longer than %d bytes", r->name,
                           r->lineno + 1, TREC_MAX_LINE);
        if (r->start > 0) {
            memmove(r->buf, p, avail);
            r->start = 0;
            r->end = avail;
        }
        if (r->cap - 1 - r->end < TREC_CHUNK / 2) {
            r->cap += TREC_CHUNK; /* at most TREC_MAX_LINE + 2 chunks */
            r->buf = xrealloc(r->buf, r->cap);
        }
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - 1 - r->end);
        if (n < 0) {
            if (errno == EINTR) continue;
            return mm_fail(err, MM_ERR_IO, "%s: read error: %s", r->name, strerror(errno));
        }
        if (n == 0) {
            r->eof = true;
        } else {
            if (r->spool_fd >= 0 && write_all(r->spool_fd, r->buf + r->end, (size_t)n) < 0)
                return mm_fail(err, MM_ERR_IO, "%s: cannot write the temporary copy: %s",
                               r->name, strerror(errno));
            r->end += (size_t)n;
        }
    }
    r->lineno++;
    if (r->lineno == 1 && *len >= 3 && memcmp(*line, "\xEF\xBB\xBF", 3) == 0) {
        r->saw_bom = true;
        *line += 3;
        *len -= 3;
    }
    if (*len > 0 && (*line)[*len - 1] == '\r') {
        if (!r->saw_crlf) r->crlf_line = r->lineno;
        r->saw_crlf = true;
        (*line)[--*len] = '\0';
    }
    if (*len > TREC_MAX_LINE)
        return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: line longer than %d bytes", r->name,
                       r->lineno, TREC_MAX_LINE);
    return 1;
}

/* Byte classes: 0 field byte, 1 separator, 2 forbidden control byte. */
static const unsigned char byte_class[256] = {
    2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, /* 0x00-0x0f, TAB = 1 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x10-0x1f */
    1,                                              /* space */
    [0x7f] = 2,
};

#define MAX_FIELDS 8

/* Splits line into fields (NUL-terminating each). Records up to MAX_FIELDS,
 * counts all. Returns -1 (with err) on a control byte. */
static int split_fields(trec_reader *r, char *line, size_t len, char **f, size_t *flen,
                        int *nfields, mm_error *err)
{
    int nf = 0;
    size_t i = 0;
    for (;;) {
        while (i < len && byte_class[(unsigned char)line[i]] == 1) i++;
        if (i >= len) break;
        size_t s = i;
        while (i < len && byte_class[(unsigned char)line[i]] == 0) i++;
        if (i < len && byte_class[(unsigned char)line[i]] == 2)
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s:%ld: binary data: control byte 0x%02x in column %zu", r->name,
                           r->lineno, (unsigned char)line[i], i + 1);
        if (nf < MAX_FIELDS) {
            f[nf] = line + s;
            flen[nf] = i - s;
        }
        nf++;
        if (i < len) line[i++] = '\0';
    }
    *nfields = nf;
    return 0;
}

int trec_read_run_line(trec_reader *r, trec_run_line *out, mm_error *err)
{
    char *line;
    size_t len;
    for (;;) {
        int rc = next_line(r, &line, &len, err);
        if (rc <= 0) return rc;
        if (len > 0 && line[0] == '#') continue; /* trec_eval 10.0 comment */
        char *f[MAX_FIELDS];
        size_t fl[MAX_FIELDS];
        int nf;
        if (split_fields(r, line, len, f, fl, &nf, err) < 0) return -1;
        if (nf == 0) continue; /* blank line */
        if (nf < 6)
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s:%ld: expected at least 6 fields (qid iter docno rank score tag), "
                           "found %d",
                           r->name, r->lineno, nf);
        if (!trec_parse_score(f[4], fl[4], &out->score))
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: score '%.40s' is not a number",
                           r->name, r->lineno, f[4]);
        out->qid = f[0];
        out->qid_len = fl[0];
        out->iter = f[1];
        out->docno = f[2];
        out->docno_len = fl[2];
        out->rank = f[3];
        out->tag = f[5];
        out->tag_len = fl[5];
        out->lineno = r->lineno;
        return 1;
    }
}

int trec_read_pref_line(trec_reader *r, bool from_qrels, trec_pref_line *out, mm_error *err)
{
    char *line;
    size_t len;
    for (;;) {
        int rc = next_line(r, &line, &len, err);
        if (rc <= 0) return rc;
        if (len > 0 && line[0] == '#') continue;
        char *f[MAX_FIELDS];
        size_t fl[MAX_FIELDS];
        int nf, want = from_qrels ? 4 : 5;
        if (split_fields(r, line, len, f, fl, &nf, err) < 0) return -1;
        if (nf != want)
            return mm_fail(err, MM_ERR_MALFORMED,
                           from_qrels ? "%s:%ld: expected 4 fields (qid jg docno rel), found %d"
                                      : "%s:%ld: expected 5 fields (qid jg jsg docno rel_level), "
                                        "found %d",
                           r->name, r->lineno, nf);
        /* trec_eval reads rel_level with atof; a number is required here */
        const char *rl = f[want - 1];
        if (!trec_parse_score(rl, fl[want - 1], &out->rel_level))
            return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: rel_level '%.40s' is not a number",
                           r->name, r->lineno, rl);
        out->qid = f[0];
        out->jg = f[1];
        out->jsg = from_qrels ? "0" : f[2];
        out->docno = f[want - 2];
        out->lineno = r->lineno;
        return 1;
    }
}

int trec_read_qrel_line(trec_reader *r, trec_qrel_line *out, mm_error *err)
{
    char *line;
    size_t len;
    for (;;) {
        int rc = next_line(r, &line, &len, err);
        if (rc <= 0) return rc;
        if (len > 0 && line[0] == '#') continue;
        char *f[MAX_FIELDS];
        size_t fl[MAX_FIELDS];
        int nf;
        if (split_fields(r, line, len, f, fl, &nf, err) < 0) return -1;
        if (nf == 0)
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s:%ld: blank line (qrels lines are 'qid iter docno rel')", r->name,
                           r->lineno);
        if (nf != 4)
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s:%ld: expected 4 fields (qid iter docno rel), found %d", r->name,
                           r->lineno, nf);
        if (!trec_parse_long(f[3], fl[3], &out->rel))
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s:%ld: relevance '%.40s' is not an integer", r->name, r->lineno,
                           f[3]);
        if (out->rel > TREC_MAX_REL || out->rel < -TREC_MAX_REL)
            return mm_fail(err, MM_ERR_LIMIT, "%s:%ld: relevance %ld outside [-%ld, %ld]",
                           r->name, r->lineno, out->rel, TREC_MAX_REL, TREC_MAX_REL);
        out->qid = f[0];
        out->qid_len = fl[0];
        out->iter = f[1];
        out->docno = f[2];
        out->docno_len = fl[2];
        out->lineno = r->lineno;
        return 1;
    }
}

/* ---- a growable byte arena addressed by offsets ------------------------------- */

typedef struct arena {
    char *data;
    size_t len, cap;
} arena;

static int64_t arena_add(arena *a, const char *s, size_t n)
{
    if (a->len + n + 1 > a->cap) {
        size_t ncap = a->cap ? a->cap : 4096;
        while (a->len + n + 1 > ncap) ncap *= 2;
        a->data = xrealloc(a->data, ncap);
        a->cap = ncap;
    }
    int64_t off = (int64_t)a->len;
    memcpy(a->data + a->len, s, n);
    a->data[a->len + n] = '\0';
    a->len += n + 1;
    return off;
}

/* ---- qrels ------------------------------------------------------------------------ */

typedef struct qrel_tmp {
    int64_t qid_off, doc_off;
    int64_t jg_off; /* -R qrels_jg: the group name; -1 for plain qrels */
    long rel;
    long lineno;
} qrel_tmp;

static int cmp_qrel_tmp(const void *pa, const void *pb, void *ctx)
{
    const char *qsort_arena = ctx;
    const qrel_tmp *a = pa, *b = pb;
    int c = a->qid_off == b->qid_off ? 0 : strcmp(qsort_arena + a->qid_off, qsort_arena + b->qid_off);
    if (c) return c;
    if (a->jg_off >= 0 && a->jg_off != b->jg_off) {
        c = strcmp(qsort_arena + a->jg_off, qsort_arena + b->jg_off);
        if (c) return c;
    }
    c = strcmp(qsort_arena + a->doc_off, qsort_arena + b->doc_off);
    if (c) return c;
    return a->lineno < b->lineno ? -1 : a->lineno > b->lineno;
}

typedef struct hash_pair {
    uint64_t hash;
    uint32_t index;
} hash_pair;

static int cmp_hash_pair(const void *pa, const void *pb)
{
    const hash_pair *a = pa, *b = pb;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

void trec_qrels_free(trec_qrels *q)
{
    if (!q) return;
    if (q->queries)
        for (size_t i = 0; i < q->query_count; i++) {
            free(q->queries[i].rel_levels);
            for (size_t g = 0; q->queries[i].groups && g < q->queries[i].num_groups; g++)
                free(q->queries[i].groups[g].rel_levels);
            free(q->queries[i].groups);
        }
    free(q->queries);
    free(q->docno);
    free(q->rel);
    free(q->arena);
    free(q->doc_hash);
    free(q->doc_order);
    mm_strmap_free(&q->qid_map);
    free(q->name);
    memset(q, 0, sizeof *q);
}

int trec_qrels_load(trec_qrels *q, const char *path, mm_error *err)
{
    trec_reader *r = trec_reader_open(path, err);
    if (!r) {
        memset(q, 0, sizeof *q);
        return -1;
    }
    int rc = trec_qrels_load_reader(q, r, err);
    trec_reader_close(r);
    return rc;
}

static int load_qrels(trec_qrels *q, trec_reader *r, bool jg, mm_error *err);

int trec_qrels_load_reader(trec_qrels *q, trec_reader *r, mm_error *err)
{
    return load_qrels(q, r, false, err);
}

int trec_qrels_load_jg_reader(trec_qrels *q, trec_reader *r, mm_error *err)
{
    return load_qrels(q, r, true, err);
}

int trec_qrels_load_jg(trec_qrels *q, const char *path, mm_error *err)
{
    trec_reader *r = trec_reader_open(path, err);
    if (!r) {
        memset(q, 0, sizeof *q);
        return -1;
    }
    int rc = load_qrels(q, r, true, err);
    trec_reader_close(r);
    return rc;
}

long trec_qrels_find_doc_in_group(const trec_qrels *q, size_t qi, size_t g, const char *docno)
{
    const trec_qrels_group *gr = &q->queries[qi].groups[g];
    size_t lo = gr->first, hi = gr->first + gr->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(q->docno[mid], docno);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int load_qrels(trec_qrels *q, trec_reader *r, bool jg, mm_error *err)
{
    memset(q, 0, sizeof *q);
    q->judgment_groups = jg;
    int64_t last_jg = -1;
    size_t last_jg_len = 0;
    arena a = {0};
    qrel_tmp *tmp = NULL;
    size_t n = 0, cap = 0;
    int64_t last_qid = -1;
    size_t last_qid_len = 0;
    trec_qrel_line line;
    int rc;
    q->name = xstrdup(trec_reader_name(r));
    while ((rc = trec_read_qrel_line(r, &line, err)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            tmp = xrealloc(tmp, cap * sizeof *tmp);
        }
        /* qids usually come in runs: share the string with the previous line */
        if (last_qid < 0 || last_qid_len != line.qid_len ||
            memcmp(a.data + last_qid, line.qid, line.qid_len) != 0) {
            last_qid = arena_add(&a, line.qid, line.qid_len);
            last_qid_len = line.qid_len;
        }
        int64_t jo = -1;
        if (jg) {
            size_t jl = strlen(line.iter);
            if (last_jg < 0 || last_jg_len != jl || memcmp(a.data + last_jg, line.iter, jl) != 0) {
                last_jg = arena_add(&a, line.iter, jl);
                last_jg_len = jl;
            }
            jo = last_jg;
        }
        int64_t d = arena_add(&a, line.docno, line.docno_len);
        if (n >= UINT32_MAX - 1) {
            mm_fail(err, MM_ERR_LIMIT, "%s:%ld: more than %u judgments", q->name, line.lineno,
                    UINT32_MAX - 2);
            goto fail;
        }
        tmp[n++] = (qrel_tmp){last_qid, d, jo, line.rel, line.lineno};
    }
    if (rc < 0) goto fail;
    q->saw_crlf = trec_reader_saw_crlf(r);
    q->saw_bom = trec_reader_saw_bom(r);
    q->crlf_line = trec_reader_crlf_line(r);
    if (n == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: empty file: no judgments", q->name);
        goto fail;
    }
    qsort_r(tmp, n, sizeof *tmp, cmp_qrel_tmp, a.data); /* GNU qsort_r: reentrant */

    size_t nq = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(a.data + tmp[i].qid_off, a.data + tmp[i - 1].qid_off) != 0) nq++;
    /* duplicates first, so that a failure frees only the temporaries */
    for (size_t i = 1; i < n; i++) {
        const qrel_tmp *t = &tmp[i], *p = &tmp[i - 1];
        if (strcmp(a.data + t->qid_off, a.data + p->qid_off) != 0 ||
            (jg && strcmp(a.data + t->jg_off, a.data + p->jg_off) != 0) ||
            strcmp(a.data + t->doc_off, a.data + p->doc_off) != 0)
            continue;
        if (jg)
            mm_fail(err, MM_ERR_MISMATCH,
                    "%s:%ld: duplicate docs: query '%s' group '%s' judges '%s' again (first "
                    "at line %ld)",
                    q->name, t->lineno, a.data + t->qid_off, a.data + t->jg_off,
                    a.data + t->doc_off, p->lineno);
        else
            mm_fail(err, MM_ERR_MISMATCH,
                    "%s:%ld: duplicate docs: query '%s' judges '%s' again (first at line %ld)",
                    q->name, t->lineno, a.data + t->qid_off, a.data + t->doc_off, p->lineno);
        goto fail;
    }

    /* the arena no longer grows: strings are addressed by pointer from here */
    q->arena = a.data;
    q->arena_len = a.len;
    a.data = NULL;
    const char *A = q->arena;
    q->judgment_count = n;
    q->docno = xmalloc(n * sizeof *q->docno);
    q->rel = xmalloc(n * sizeof *q->rel);
    q->queries = xcalloc(nq, sizeof *q->queries);
    q->query_count = nq;
    size_t qi = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        bool new_query = i == 0 || strcmp(A + tmp[i].qid_off, A + tmp[i - 1].qid_off) != 0;
        if (new_query) {
            qi++;
            q->queries[qi].qid = A + tmp[i].qid_off;
            q->queries[qi].first = i;
            q->queries[qi].max_rel = tmp[i].rel;
        }
        trec_qrels_query *qq = &q->queries[qi];
        if (jg && (new_query || strcmp(A + tmp[i].jg_off, A + tmp[i - 1].jg_off) != 0))
            qq->num_groups++;
        qq->count++;
        if (tmp[i].rel > qq->max_rel) qq->max_rel = tmp[i].rel;
        q->rel[i] = tmp[i].rel;
        q->docno[i] = A + tmp[i].doc_off;
    }
    for (size_t k = 0; k < nq; k++) {
        trec_qrels_query *qq = &q->queries[k];
        qq->num_rel_levels = qq->max_rel >= 0 ? qq->max_rel + 1 : 0; /* <= TREC_MAX_REL + 1 */
        qq->rel_levels = xcalloc((size_t)(qq->num_rel_levels ? qq->num_rel_levels : 1), sizeof(long));
        for (size_t j = qq->first; j < qq->first + qq->count; j++)
            if (q->rel[j] >= 0) qq->rel_levels[q->rel[j]]++;
        if (!jg) continue;
        qq->groups = xcalloc(qq->num_groups, sizeof *qq->groups);
        size_t g = (size_t)-1;
        for (size_t j = qq->first; j < qq->first + qq->count; j++) {
            if (j == qq->first || strcmp(A + tmp[j].jg_off, A + tmp[j - 1].jg_off)) {
                g++;
                qq->groups[g].name = A + tmp[j].jg_off;
                qq->groups[g].first = j;
            }
            trec_qrels_group *gr = &qq->groups[g];
            gr->count++;
            if (q->rel[j] >= gr->num_rel_levels) gr->num_rel_levels = q->rel[j] + 1;
        }
        for (g = 0; g < qq->num_groups; g++) {
            trec_qrels_group *gr = &qq->groups[g];
            gr->rel_levels = xcalloc((size_t)(gr->num_rel_levels ? gr->num_rel_levels : 1),
                                     sizeof(long));
            for (size_t j = gr->first; j < gr->first + gr->count; j++)
                if (q->rel[j] >= 0) gr->rel_levels[q->rel[j]]++;
        }
    }
    free(tmp);

    /* hash indexes */
    mm_strmap_init(&q->qid_map, nq);
    for (size_t k = 0; k < nq; k++) {
        bool added;
        const char *s = q->queries[k].qid;
        mm_strmap_add(&q->qid_map, s, strlen(s), &added); /* entry k: qids are distinct */
    }
    /* Lookups of a query's documents binary-search its own small sorted hash
     * array: it stays in cache while the query's ranking is scored, unlike
     * one big table. */
    q->doc_hash = xmalloc(n * sizeof *q->doc_hash);
    q->doc_order = xmalloc(n * sizeof *q->doc_order);
    hash_pair *pairs = xmalloc(n * sizeof *pairs);
    for (size_t j = 0; j < n; j++)
        pairs[j] = (hash_pair){mm_hash_bytes(q->docno[j], strlen(q->docno[j])), (uint32_t)j};
    for (size_t k = 0; k < nq; k++)
        qsort(pairs + q->queries[k].first, q->queries[k].count, sizeof *pairs, cmp_hash_pair);
    for (size_t j = 0; j < n; j++) {
        q->doc_hash[j] = pairs[j].hash;
        q->doc_order[j] = pairs[j].index;
    }
    free(pairs);
    return 0;

fail:
    free(tmp);
    free(a.data);
    trec_qrels_free(q);
    return -1;
}

long trec_qrels_find_query(const trec_qrels *q, const char *qid, size_t qid_len)
{
    return mm_strmap_find(&q->qid_map, qid, qid_len);
}

long trec_qrels_find_doc_hashed(const trec_qrels *q, size_t qi, const char *docno,
                                size_t docno_len, uint64_t docno_hash)
{
    const trec_qrels_query *qq = &q->queries[qi];
    const uint64_t *h = q->doc_hash + qq->first;
    size_t lo = 0, hi = qq->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h[mid] < docno_hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < qq->count && h[lo] == docno_hash; lo++) {
        size_t j = q->doc_order[qq->first + lo];
        const char *s = q->docno[j];
        if (memcmp(s, docno, docno_len) == 0 && s[docno_len] == '\0') return (long)j;
    }
    return -1;
}

long trec_qrels_find_doc(const trec_qrels *q, size_t qi, const char *docno, size_t docno_len)
{
    return trec_qrels_find_doc_hashed(q, qi, docno, docno_len,
                                      mm_hash_bytes(docno, docno_len));
}

/* ---- whole runs ------------------------------------------------------------------ */

typedef struct run_item_tmp {
    double score;
    uint32_t doc;
} run_item_tmp;

typedef struct run_query_tmp {
    run_item_tmp *items;
    size_t count, cap;
} run_query_tmp;

typedef struct run_impl {
    mm_strstore strings; /* qids and docnos, each once */
    trec_ranked *items;
} run_impl;

static int cmp_run_query(const void *pa, const void *pb)
{
    const trec_run_query *a = pa, *b = pb;
    return strcmp(a->qid, b->qid);
}

void trec_run_free(trec_run *run)
{
    if (!run) return;
    run_impl *im = run->impl;
    if (im) {
        mm_strstore_free(&im->strings);
        free(im->items);
        free(im);
    }
    free(run->queries);
    free(run->name);
    free(run->tag);
    memset(run, 0, sizeof *run);
}

int trec_run_load(trec_run *run, const char *path, mm_error *err)
{
    trec_reader *r = trec_reader_open(path, err);
    if (!r) {
        memset(run, 0, sizeof *run);
        return -1;
    }
    int rc = trec_run_load_reader(run, r, err);
    trec_reader_close(r);
    return rc;
}

int trec_run_load_reader(trec_run *run, trec_reader *r, mm_error *err)
{
    memset(run, 0, sizeof *run);
    run_impl *im = xcalloc(1, sizeof *im);
    run->impl = im;
    run->name = xstrdup(trec_reader_name(r));
    mm_strmap docs = {0}, qids = {0}; /* interned into im->strings */
    run_query_tmp *qs = NULL;
    size_t qcap = 0, tag_cap = 0;
    uint32_t *stamp = NULL;
    long cur_q = -1;
    const char *cur_qid = NULL; /* last qid seen (interned), for a fast same-query check */
    size_t cur_qid_len = 0;
    trec_run_line line;
    int rc;

    while ((rc = trec_read_run_line(r, &line, err)) == 1) {
        bool added;
        if (!cur_qid || cur_qid_len != line.qid_len || memcmp(cur_qid, line.qid, line.qid_len)) {
            long id = mm_strmap_intern(&qids, &im->strings, line.qid, line.qid_len, &added);
            if (id < 0) goto too_many;
            if (added) {
                if ((size_t)id >= qcap) {
                    qcap = qcap ? qcap * 2 : 64;
                    qs = xrealloc(qs, qcap * sizeof *qs);
                }
                qs[id] = (run_query_tmp){0};
            }
            cur_q = id;
            cur_qid = qids.key[id];
            cur_qid_len = line.qid_len;
        }
        long d = mm_strmap_intern(&docs, &im->strings, line.docno, line.docno_len, &added);
        if (d < 0) goto too_many;
        run_query_tmp *qq = &qs[cur_q];
        if (qq->count == qq->cap) {
            qq->cap = qq->cap ? qq->cap * 2 : 16;
            qq->items = xrealloc(qq->items, qq->cap * sizeof *qq->items);
        }
        qq->items[qq->count++] = (run_item_tmp){line.score, (uint32_t)d};
        if (line.tag_len + 1 > tag_cap) {
            tag_cap = line.tag_len + 1;
            run->tag = xrealloc(run->tag, tag_cap);
        }
        memcpy(run->tag, line.tag, line.tag_len + 1);
        run->line_count++;
    }
    if (rc < 0) goto fail;

    size_t nq = qids.count, nd = docs.count;
    im->items = xmalloc((run->line_count ? run->line_count : 1) * sizeof *im->items);
    run->queries = xcalloc(nq ? nq : 1, sizeof *run->queries);
    stamp = xcalloc(nd ? nd : 1, sizeof *stamp);
    size_t at = 0;
    for (size_t k = 0; k < nq; k++) {
        run_query_tmp *qq = &qs[k];
        trec_run_query *rq = &run->queries[k];
        rq->qid = qids.key[k];
        rq->items = im->items + at;
        rq->count = qq->count;
        for (size_t j = 0; j < qq->count; j++) {
            uint32_t dj = qq->items[j].doc;
            if (stamp[dj] == k + 1) {
                mm_fail(err, MM_ERR_MISMATCH, "%s: duplicate docs: query '%s' lists '%s' twice",
                        run->name, rq->qid, docs.key[dj]);
                goto fail;
            }
            stamp[dj] = (uint32_t)(k + 1);
            rq->items[j] = (trec_ranked){qq->items[j].score, docs.key[dj]};
        }
        at += qq->count;
        trec_sort_ranked(rq->items, rq->count);
    }
    run->query_count = nq;
    qsort(run->queries, nq, sizeof *run->queries, cmp_run_query);
    rc = 0;
    goto done;

too_many:
    mm_fail(err, MM_ERR_LIMIT, "%s:%ld: more than %u distinct qids or docnos", run->name,
            line.lineno, UINT32_MAX - 2);
fail:
    rc = -1;
done:
    for (size_t k = 0; k < qids.count; k++) free(qs[k].items);
    free(qs);
    free(stamp);
    mm_strmap_free(&docs);
    mm_strmap_free(&qids);
    if (rc < 0) trec_run_free(run);
    return rc;
}

long trec_run_find_query(const trec_run *run, const char *qid)
{
    size_t lo = 0, hi = run->query_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(run->queries[mid].qid, qid);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- writing -------------------------------------------------------------------- */

int trec_write_run_line(FILE *fp, const char *qid, const char *docno, long rank, double score,
                        const char *tag, int score_digits)
{
    if (score_digits <= 0) score_digits = 9;
    return fprintf(fp, "%s Q0 %s %ld %.*g %s\n", qid, docno, rank, score_digits, score, tag) < 0
               ? -1
               : 0;
}
