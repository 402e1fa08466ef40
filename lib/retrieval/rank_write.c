/* rank_write.c — the run writers (TREC, TSV, JSON lines) of rank.h: id
 * checks, the output buffer, one query's lines, a whole result. */
#include "retrieval/rank_out.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmtfloat.h"
#include "core/xalloc.h"

/* ---- writing ------------------------------------------------------------------- */
int rank_check_id(const char *id, int format, const char *what, mm_error *err)
{
    if (format == RANK_JSONL) return 0;
    for (const char *c = id; *c; c++) {
        bool bad = format == RANK_TREC ? (*c == ' ' || (*c >= '\t' && *c <= '\r'))
                                       : (*c == '\t' || *c == '\n' || *c == '\r');
        if (bad)
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s '%s' contains %s, which a %s file cannot carry (--format jsonl can)",
                           what, id, *c == ' ' ? "a space" : "a control character",
                           format == RANK_TREC ? "TREC run" : "TSV");
    }
    if (!*id) return mm_fail(err, MM_ERR_MALFORMED, "empty %s", what);
    return 0;
}


/* fp NULL: the buffer collects everything in memory, starting at cap bytes. */
void ob_init(outbuf *o, FILE *fp, size_t cap)
{
    o->fp = fp;
    o->len = 0;
    o->cap = cap;
    o->failed = false;
    o->p = xmalloc(o->cap);
}

void ob_flush(outbuf *o)
{
    if (o->len && !o->failed && fwrite_unlocked(o->p, 1, o->len, o->fp) != o->len) o->failed = true;
    o->len = 0;
}

/* Makes room for n more bytes. An outbuf without a FILE collects
 * everything in memory. */
void ob_reserve(outbuf *o, size_t n)
{
    if (o->len + n <= o->cap) return;
    if (o->fp) {
        ob_flush(o);
        if (n <= o->cap) return;
    }
    size_t cap = o->fp ? n : (o->len + n > 2 * o->cap ? o->len + n : 2 * o->cap);
    o->p = xrealloc(o->p, cap);
    o->cap = cap;
}

int ob_done(outbuf *o, mm_error *err)
{
    ob_flush(o);
    free(o->p);
    o->p = NULL;
    if (o->failed || ferror(o->fp)) return mm_fail(err, MM_ERR_IO, "write error");
    return 0;
}

static char *put_str(char *d, const char *s, size_t n)
{
    memcpy(d, s, n);
    return d + n;
}

/* JSON string with the escapes the run writer has always used; at most
 * 6 bytes per input byte plus the quotes. */
static char *put_json_string(char *d, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    *d++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *d++ = '\\';
            *d++ = (char)*c;
        } else if (*c == '\n') {
            d = put_str(d, "\\n", 2);
        } else if (*c == '\t') {
            d = put_str(d, "\\t", 2);
        } else if (*c == '\r') {
            d = put_str(d, "\\r", 2);
        } else if (*c < 0x20 || *c == 0x7f) {
            d = put_str(d, "\\u00", 4);
            *d++ = hex[*c >> 4];
            *d++ = hex[*c & 15];
        } else {
            *d++ = (char)*c;
        }
    }
    *d++ = '"';
    return d;
}

/* The score text: score_digits significant digits (%.*g); 0 means 9; above 17
 * the shortest precision from 9 up that reads back as the same double. A
 * score that is a float (all of mm-rank's) takes the exact fast formatter,
 * which prints what printf would. */
static size_t format_score(char *out, double s, int score_digits)
{
    if (score_digits <= 0) score_digits = 9;
    if (score_digits <= 9 && (double)(float)s == s) return mm_fmt_float_g(out, (float)s, score_digits);
    int n;
    if (score_digits > 17) {
        int digits = 9;
        for (; digits < 17; digits++) {
            snprintf(out, MM_FMT_FLOAT_MAX + 16, "%.*g", digits, s);
            if (strtod(out, NULL) == s) break;
        }
        n = snprintf(out, MM_FMT_FLOAT_MAX + 16, "%.*g", digits, s);
    } else {
        n = snprintf(out, MM_FMT_FLOAT_MAX + 16, "%.*g", score_digits, s);
    }
    return n < 0 ? 0 : (size_t)n;
}

int write_query(outbuf *o, const char *qid, const topk_entry *e, size_t n, int format,
                       const char *tag, int score_digits, mm_error *err)
{
    if (rank_check_id(qid, format, "query id", err)) return -1;
    size_t qlen = strlen(qid), tlen = strlen(tag);
    for (size_t i = 0; i < n; i++) {
        if (rank_check_id(e[i].id, format, "gallery id", err)) return -1;
        char score[MM_FMT_FLOAT_MAX + 16], rank[24];
        size_t slen = format_score(score, e[i].score, score_digits);
        size_t rlen = mm_fmt_u64(rank, (uint64_t)i + 1);
        size_t ilen = strlen(e[i].id);
        size_t need = format == RANK_JSONL ? 6 * (qlen + ilen) + slen + rlen + 64
                                           : qlen + ilen + tlen + slen + rlen + 16;
        ob_reserve(o, need);
        char *d = o->p + o->len;
        switch (format) {
        case RANK_TSV:
            d = put_str(d, qid, qlen);
            *d++ = '\t';
            d = put_str(d, e[i].id, ilen);
            *d++ = '\t';
            d = put_str(d, rank, rlen);
            *d++ = '\t';
            d = put_str(d, score, slen);
            *d++ = '\n';
            break;
        case RANK_JSONL:
            d = put_str(d, "{\"qid\":", 7);
            d = put_json_string(d, qid);
            d = put_str(d, ",\"docid\":", 9);
            d = put_json_string(d, e[i].id);
            d = put_str(d, ",\"rank\":", 8);
            d = put_str(d, rank, rlen);
            d = put_str(d, ",\"score\":", 9);
            /* JSON has no inf/nan literals */
            if (isfinite(e[i].score)) {
                d = put_str(d, score, slen);
            } else {
                *d++ = '"';
                d = put_str(d, score, slen);
                *d++ = '"';
            }
            d = put_str(d, "}\n", 2);
            break;
        default:
            d = put_str(d, qid, qlen);
            d = put_str(d, " Q0 ", 4);
            d = put_str(d, e[i].id, ilen);
            *d++ = ' ';
            d = put_str(d, rank, rlen);
            *d++ = ' ';
            d = put_str(d, score, slen);
            *d++ = ' ';
            d = put_str(d, tag, tlen);
            *d++ = '\n';
        }
        o->len = (size_t)(d - o->p);
    }
    return 0;
}

int rank_write_query(FILE *fp, const char *qid, const topk_entry *e, size_t n, int format,
                     const char *tag, int score_digits, mm_error *err)
{
    outbuf o;
    ob_init(&o, fp, OUTBUF_SIZE);
    if (write_query(&o, qid, e, n, format, tag, score_digits, err)) {
        mm_error ignored;
        ob_done(&o, &ignored);
        return -1;
    }
    return ob_done(&o, err);
}

int rank_write(FILE *fp, const mmf_matrix *queries, const rank_result *res, int format,
               const char *tag, mm_error *err)
{
    if (res->chunk_text && (format != res->emit_format || strcmp(tag, res->emit_tag) != 0))
        return mm_fail(err, MM_ERR_MISMATCH, "the run was prepared for another format or tag");
    outbuf o;
    ob_init(&o, fp, OUTBUF_SIZE);
    for (size_t q = 0; q < res->top.queries; q++) {
        size_t c = res->chunk_rows ? q / res->chunk_rows : 0;
        if (res->chunk_text && res->chunk_text[c]) {
            /* emitted by a worker: the chunk's lines as they are */
            ob_flush(&o);
            if (!o.failed && fwrite_unlocked(res->chunk_text[c], 1, res->chunk_len[c], fp) != res->chunk_len[c])
                o.failed = true;
            q = (c + 1) * res->chunk_rows - 1; /* next chunk */
            continue;
        }
        if (write_query(&o, queries->ids[q], res->top.heaps[q].e, res->top.heaps[q].count, format,
                        tag, 9, err)) {
            mm_error ignored;
            ob_done(&o, &ignored);
            return -1;
        }
    }
    return ob_done(&o, err);
}
