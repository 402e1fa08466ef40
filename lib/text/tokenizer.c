/* tokenizer.c — see tokenizer.h. */
#include "text/tokenizer.h"

#include "core/buf.h"
#include "core/hash.h"
#include "core/xalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- Unicode properties ---------------------------------------------------
 * Letters/numbers are the regex module's \p{L} / \p{N}: general categories
 * from utf8proc. \s is White_Space. Python's str.isspace() (used by strip())
 * adds U+001C..U+001F, which have bidi class B/S but are not White_Space. */

static int is_white_space(uint32_t c)
{
    if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
    if (c < 0x85) return 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

static int is_py_space(uint32_t c)
{
    return is_white_space(c) || (c >= 0x1C && c <= 0x1F);
}

/* [\p{L}] as CLIP's pattern matches it after lower-casing. U+0345
 * COMBINING GREEK YPOGEGRAMMENI (Mn) is the one code point that falls into
 * none of the pattern's alternatives: under IGNORECASE it is too much of a
 * letter (a case variant of U+0399/U+03B9) for [^\s\p{L}\p{N}] and not one
 * for \p{L}+. clip.tokenize therefore drops it, and it splits a word
 * ("a\u0345b" gives the tokens of "a" and "b"): see is_dropped(). No
 * non-number has a number among its variants, so [\p{N}] is plain. */
static int is_letter(uint32_t c)
{
    if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return 1;
    default:
        return 0;
    }
}

static int is_number(uint32_t c)
{
    if (c < 0x80) return c >= '0' && c <= '9';
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

/* Matched by no alternative of the pattern: skipped between pieces. */
static int is_dropped(uint32_t c)
{
    return c == 0x345 || is_white_space(c);
}

struct cp_range { uint32_t lo, hi; };

static int in_ranges(uint32_t c, const struct cp_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].lo && c <= r[i].hi) return 1;
    return 0;
}

/* Cased = Lu | Ll | Lt | Other_Lowercase | Other_Uppercase. The Other_* code
 * points (Unicode 14, as Python 3.11; from Perl's \p{Cased} minus the three
 * categories): */
static const struct cp_range other_cased[] = {
    {0x00AA, 0x00AA}, {0x00BA, 0x00BA}, {0x02B0, 0x02B8}, {0x02C0, 0x02C1}, {0x02E0, 0x02E4},
    {0x0345, 0x0345}, {0x037A, 0x037A}, {0x1D2C, 0x1D6A}, {0x1D78, 0x1D78}, {0x1D9B, 0x1DBF},
    {0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C}, {0x2160, 0x217F}, {0x24B6, 0x24E9},
    {0x2C7C, 0x2C7D}, {0xA69C, 0xA69D}, {0xA770, 0xA770}, {0xA7F8, 0xA7F9}, {0xAB5C, 0xAB5F},
    {0x10780, 0x10780}, {0x10783, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA},
    {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
};

/* Case_Ignorable = Mn | Me | Cf | Lm | Sk | Word_Break in {MidLetter,
 * MidNumLet, Single_Quote}; those Word_Break code points: */
static const struct cp_range word_break_ignorable[] = {
    {0x0027, 0x0027}, {0x002E, 0x002E}, {0x003A, 0x003A}, {0x00B7, 0x00B7}, {0x0387, 0x0387},
    {0x055F, 0x055F}, {0x05F4, 0x05F4}, {0x2018, 0x2019}, {0x2024, 0x2024}, {0x2027, 0x2027},
    {0xFE13, 0xFE13}, {0xFE52, 0xFE52}, {0xFE55, 0xFE55}, {0xFF07, 0xFF07}, {0xFF0E, 0xFF0E},
    {0xFF1A, 0xFF1A},
};

static int is_cased(uint32_t c)
{
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
        return 1;
    default:
        return in_ranges(c, other_cased, sizeof other_cased / sizeof other_cased[0]);
    }
}

static int is_case_ignorable(uint32_t c)
{
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_SK:
        return 1;
    default:
        return in_ranges(c, word_break_ignorable, sizeof word_break_ignorable / sizeof word_break_ignorable[0]);
    }
}

/* ---- normalisation (steps 1-5) ------------------------------------------- */

static void push(textfix_buf *b, uint32_t c)
{
    if (b->len == b->cap) textfix_reserve(b, b->len + 1);
    b->cp[b->len++] = c;
}

/* Python's handle_capital_sigma: U+03A3 at i lowercases to final sigma when
 * preceded by a cased letter (skipping case-ignorables) and not followed by
 * one (skipping case-ignorables). */
static int final_sigma(const uint32_t *s, size_t n, size_t i)
{
    size_t j = i;
    uint32_t c = 0;
    int found = 0;
    while (j > 0) {
        c = s[--j];
        if (!is_case_ignorable(c)) { found = 1; break; }
    }
    if (!found || !is_cased(c)) return 0;
    for (j = i + 1; j < n; j++) {
        c = s[j];
        if (!is_case_ignorable(c)) return !is_cased(c);
    }
    return 1;
}

/* Python str.lower(): the simple mappings of UnicodeData plus the only
 * unconditional multi-character lowercase of SpecialCasing (U+0130) and the
 * Final_Sigma rule. */
static void py_lower(const uint32_t *s, size_t n, textfix_buf *out)
{
    out->len = 0;
    textfix_reserve(out, n + 1);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        if (c < 0x80) {
            push(out, (c >= 'A' && c <= 'Z') ? c + 32 : c);
        } else if (c == 0x130) {
            push(out, 'i');
            push(out, 0x307);
        } else if (c == 0x3A3) {
            push(out, final_sigma(s, n, i) ? 0x3C2 : 0x3C3);
        } else {
            push(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)c));
        }
    }
}

/* strip (isspace), collapse White_Space runs to ' ', strip. */
static void clean_whitespace(const uint32_t *s, size_t n, textfix_buf *out)
{
    size_t a = 0, b = n;
    while (a < b && is_py_space(s[a])) a++;
    while (b > a && is_py_space(s[b - 1])) b--;
    out->len = 0;
    textfix_reserve(out, b - a + 1);
    for (size_t i = a; i < b;) {
        if (is_white_space(s[i])) {
            while (i < b && is_white_space(s[i])) i++;
            out->cp[out->len++] = ' ';
        } else {
            out->cp[out->len++] = s[i++];
        }
    }
    size_t x = 0, y = out->len;
    while (x < y && is_py_space(out->cp[x])) x++;
    while (y > x && is_py_space(out->cp[y - 1])) y--;
    if (x > 0) memmove(out->cp, out->cp + x, (y - x) * sizeof *out->cp);
    out->len = y - x;
}

static int contains(const uint32_t *s, size_t n, uint32_t c)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == c) return 1;
    return 0;
}

/* Steps 1-5 with caller-provided buffers; the result ends in *a. */
static int normalize(const char *text, size_t len, unsigned flags, textfix_buf *a, textfix_buf *b, mm_error *err)
{
    int policy = (flags & CLIP_TOKENIZE_REPLACE_INVALID) ? TEXTFIX_UTF8_REPLACE : TEXTFIX_UTF8_STRICT;
    if (textfix_decode_utf8(text, len, policy, a, err)) return -1;
    if (!(flags & CLIP_TOKENIZE_NO_FIX_TEXT) && textfix_fix_text(a, err)) return -1;
    for (int k = 0; k < 2; k++) { /* html.unescape(html.unescape(text)) */
        if (!contains(a->cp, a->len, '&')) break;
        textfix_html_unescape(a->cp, a->len, b);
        textfix_buf t = *a; *a = *b; *b = t;
    }
    clean_whitespace(a->cp, a->len, b);
    py_lower(b->cp, b->len, a);
    return 0;
}

int clip_text_normalize(const char *text, size_t len, unsigned flags, textfix_buf *out, mm_error *err)
{
    textfix_buf tmp = {0};
    int rc = normalize(text, len, flags, out, &tmp, err);
    textfix_buf_free(&tmp);
    return rc;
}

/* ---- the tokenizer object ------------------------------------------------ */

struct merge_slot {
    uint64_t key; /* left id << 32 | right id; MERGE_EMPTY when free */
    int32_t rank;
    int32_t result;
};
#define MERGE_EMPTY UINT64_MAX

/* BPE cache: piece bytes -> ids, cleared wholesale when full. */
#define CACHE_SLOTS 32768        /* power of two */
#define CACHE_MAX_ENTRIES 16384  /* half full at most */
#define CACHE_MAX_KEY 64         /* longer pieces are not cached */
#define CACHE_KEY_POOL (CACHE_MAX_ENTRIES * 16)
#define CACHE_ID_POOL (CACHE_MAX_ENTRIES * 8)
struct cache_slot {
    uint32_t hash;
    uint16_t key_len; /* 0 = free */
    uint16_t n_ids;
    uint32_t key_off, id_off;
};

struct heap_item {
    int32_t rank;
    int32_t pos;
};

struct clip_tokenizer {
    int n_vocab;
    char **token;        /* id -> vocab key */
    uint32_t *token_len;
    char *token_pool;
    mm_strmap vocab;      /* key -> id: entries are added in id order */
    int32_t byte_id[256];     /* symbol of a byte inside a piece */
    int32_t byte_end_id[256]; /* ... as the last symbol ("</w>") */
    int32_t sot, eot;
    struct merge_slot *merges;
    uint64_t merge_mask;
    int n_merges;
    unsigned flags;

    struct cache_slot *cache;
    int cache_entries;
    unsigned char *cache_keys;
    size_t cache_key_used;
    int32_t *cache_ids;
    size_t cache_id_used;

    /* scratch, reused across calls */
    textfix_buf text, tmp;
    unsigned char *piece;
    size_t piece_cap;
    int32_t *sym, *next, *prev;
    uint32_t *stamp;
    struct heap_item *heap;
    int32_t *merged;
    size_t work_cap;
    uint32_t stamp_now;
    int32_t *content;
    size_t content_cap;
};

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static const struct merge_slot *merge_find(const clip_tokenizer *t, int32_t left, int32_t right)
{
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    uint64_t i = mix64(key) & t->merge_mask;
    for (;;) {
        const struct merge_slot *s = &t->merges[i];
        if (s->key == key) return s;
        if (s->key == MERGE_EMPTY) return NULL;
        i = (i + 1) & t->merge_mask;
    }
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the
 * other 68 to U+0100.. in byte order. */
static uint32_t byte_to_unicode(unsigned b)
{
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return b;
    unsigned n = 0;
    for (unsigned x = 0; x < b; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) n++;
    return 256 + n;
}

void clip_tokenizer_free(clip_tokenizer *t)
{
    if (!t) return;
    free(t->token);
    free(t->token_pool);
    free(t->token_len);
    mm_strmap_free(&t->vocab);
    free(t->merges);
    free(t->cache);
    free(t->cache_keys);
    free(t->cache_ids);
    textfix_buf_free(&t->text);
    textfix_buf_free(&t->tmp);
    free(t->piece);
    free(t->sym);
    free(t->next);
    free(t->prev);
    free(t->stamp);
    free(t->heap);
    free(t->merged);
    free(t->content);
    free(t);
}

static int read_file(const char *path, char **data, size_t *size, mm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    mm_buf b = {0};
    int rc = mm_buf_read(&b, f);
    fclose(f);
    if (rc) {
        mm_buf_free(&b);
        return mm_fail(err, MM_ERR_IO, "%s: read error", path);
    }
    *data = mm_buf_detach(&b, size);
    return 0;
}

/* ---- vocab.json ----------------------------------------------------------
 * A flat JSON object {"token": id, ...}. Parsed here rather than with a
 * general JSON library: it is the one large file the tokenizer reads, and a
 * direct parse into the string pool and the hash table below takes a few ms
 * where building a jansson tree took ~50 ms. Full JSON string syntax is
 * accepted (all escapes, \u surrogate pairs); keys must be valid UTF-8 and
 * unique; values must be integers 0..n-1, each used once. */

static int32_t vocab_find(const clip_tokenizer *t, const char *key, size_t len)
{
    return (int32_t)mm_strmap_find(&t->vocab, key, len);
}

/* line:column (1-based, column in bytes) of offset off in data */
static void text_position(const char *data, size_t off, long *line, long *col)
{
    *line = 1;
    size_t ls = 0;
    for (size_t i = 0; i < off; i++)
        if (data[i] == '\n') { (*line)++; ls = i + 1; }
    *col = (long)(off - ls) + 1;
}

struct json_cursor {
    const char *data;
    size_t size, pos;
    const char *path;
};

static int json_fail(const struct json_cursor *c, mm_error *err, const char *what)
{
    long line, col;
    text_position(c->data, c->pos, &line, &col);
    return mm_fail(err, MM_ERR_MALFORMED, "%s:%ld:%ld: %s", c->path, line, col, what);
}

static void json_ws(struct json_cursor *c)
{
    while (c->pos < c->size &&
           (c->data[c->pos] == ' ' || c->data[c->pos] == '\t' || c->data[c->pos] == '\n' || c->data[c->pos] == '\r'))
        c->pos++;
}

static int hex4(const char *s, uint32_t *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char ch = s[k];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return -1;
        *v = *v * 16 + (uint32_t)d;
    }
    return 0;
}

/* Parses a JSON string at c->pos ('"') into out (UTF-8, NUL-terminated);
 * returns its length or -1. */
static long json_string(struct json_cursor *c, char *out, size_t cap, mm_error *err)
{
    c->pos++; /* '"' */
    size_t n = 0;
    for (;;) {
        if (c->pos >= c->size) return json_fail(c, err, "unterminated string");
        unsigned char ch = (unsigned char)c->data[c->pos];
        if (n + 4 >= cap) return json_fail(c, err, "token longer than 1000 bytes");
        if (ch == '"') { c->pos++; break; }
        if (ch < 0x20) return json_fail(c, err, "control character in string");
        if (ch == '\\') {
            if (c->pos + 1 >= c->size) return json_fail(c, err, "unterminated string");
            char e = c->data[c->pos + 1];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char map[] = "\"\\/\b\f\n\r\t";
                out[n++] = map[simple - "\"\\/bfnrt"];
                c->pos += 2;
                continue;
            }
            uint32_t u, lo;
            if (e != 'u' || c->pos + 6 > c->size || hex4(c->data + c->pos + 2, &u))
                return json_fail(c, err, "bad escape in string");
            c->pos += 6;
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (c->pos + 6 > c->size || c->data[c->pos] != '\\' || c->data[c->pos + 1] != 'u' ||
                    hex4(c->data + c->pos + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    return json_fail(c, err, "unpaired surrogate in \\u escape");
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                c->pos += 6;
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                return json_fail(c, err, "unpaired surrogate in \\u escape");
            }
            if (u == 0) return json_fail(c, err, "NUL in token");
            n += (size_t)textfix_utf8_put(u, (unsigned char *)out + n);
            continue;
        }
        if (ch < 0x80) {
            out[n++] = (char)ch;
            c->pos++;
            continue;
        }
        uint32_t cp;
        size_t bad, k = textfix_utf8_next((const unsigned char *)c->data, c->size, c->pos, &cp, &bad);
        if (!k) return json_fail(c, err, "invalid UTF-8 in string");
        memcpy(out + n, c->data + c->pos, k);
        n += k;
        c->pos += k;
    }
    out[n] = '\0';
    return (long)n;
}

static int load_vocab(clip_tokenizer *t, const char *path, mm_error *err)
{
    char *data = NULL;
    size_t size = 0;
    if (read_file(path, &data, &size, err)) return -1;
    struct json_cursor c = {data, size, 0, path};
    int rc = -1;
    size_t count = 0; /* upper bound of entries: the number of ':' */
    for (size_t i = 0; i < size; i++) count += data[i] == ':';
    /* sized by the file, already in memory */
    t->token = xcalloc(count + 1, sizeof *t->token);
    t->token_len = xcalloc(count + 1, sizeof *t->token_len);
    t->token_pool = xmalloc(size + 1); /* decoded keys are never longer than the file */
    int32_t *ids = xmalloc((count + 1) * sizeof *ids);
    size_t *offs = xmalloc((count + 1) * sizeof *offs);
    size_t pool = 0, n = 0;
    char key[1024];
    json_ws(&c);
    if (c.pos >= size || data[c.pos] != '{') {
        json_fail(&c, err, "expected a JSON object of token -> id");
        goto done;
    }
    c.pos++;
    json_ws(&c);
    if (c.pos < size && data[c.pos] == '}') {
        c.pos++;
    } else {
        for (;;) {
            json_ws(&c);
            if (c.pos >= size || data[c.pos] != '"') {
                json_fail(&c, err, "expected a string (token)");
                goto done;
            }
            long kl = json_string(&c, key, sizeof key, err);
            if (kl < 0) goto done;
            json_ws(&c);
            if (c.pos >= size || data[c.pos] != ':') {
                json_fail(&c, err, "expected ':'");
                goto done;
            }
            c.pos++;
            json_ws(&c);
            size_t num_pos = c.pos;
            long long v = 0;
            int digits = 0;
            while (c.pos < size && data[c.pos] >= '0' && data[c.pos] <= '9') {
                if (v < 100000000) v = v * 10 + (data[c.pos] - '0');
                digits++;
                c.pos++;
            }
            if (!digits || (digits > 1 && data[num_pos] == '0') ||
                (c.pos < size && (data[c.pos] == '.' || data[c.pos] == 'e' || data[c.pos] == 'E'))) {
                c.pos = num_pos;
                json_fail(&c, err, "expected a non-negative integer id");
                goto done;
            }
            if (n >= count) { /* cannot happen: one ':' per entry */
                json_fail(&c, err, "too many entries");
                goto done;
            }
            memcpy(t->token_pool + pool, key, (size_t)kl + 1);
            offs[n] = pool;
            t->token_len[n] = (uint32_t)kl;
            ids[n] = v > INT32_MAX ? INT32_MAX : (int32_t)v;
            pool += (size_t)kl + 1;
            n++;
            json_ws(&c);
            if (c.pos < size && data[c.pos] == ',') { c.pos++; continue; }
            if (c.pos < size && data[c.pos] == '}') { c.pos++; break; }
            json_fail(&c, err, "expected ',' or '}'");
            goto done;
        }
    }
    json_ws(&c);
    if (c.pos != size) {
        json_fail(&c, err, "text after the JSON object");
        goto done;
    }
    if (n < 512) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: %zu tokens; a byte-level BPE vocab has at least 512", path, n);
        goto done;
    }
    /* place every entry at its id; ids must be a permutation of 0..n-1 */
    uint32_t *lens = xmalloc(n * sizeof *lens);
    for (size_t i = 0; i < n; i++) t->token[i] = NULL;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= n) {
            free(lens);
            mm_fail(err, MM_ERR_MALFORMED, "%s: token \"%s\": id %d outside 0..%zu", path, t->token_pool + offs[i],
                    ids[i], n - 1);
            goto done;
        }
        if (t->token[ids[i]]) {
            free(lens);
            mm_fail(err, MM_ERR_MALFORMED, "%s: id %d is used by \"%s\" and \"%s\"", path, ids[i], t->token[ids[i]],
                    t->token_pool + offs[i]);
            goto done;
        }
        t->token[ids[i]] = t->token_pool + offs[i];
        lens[ids[i]] = t->token_len[i];
    }
    memcpy(t->token_len, lens, n * sizeof *lens);
    free(lens);
    t->n_vocab = (int)n;
    mm_strmap_init(&t->vocab, n);
    for (int32_t id = 0; id < (int32_t)n; id++) {
        const char *k = t->token[id];
        bool added;
        long o = mm_strmap_add(&t->vocab, k, t->token_len[id], &added);
        if (!added) {
            mm_fail(err, MM_ERR_MALFORMED, "%s: token \"%s\" appears twice (ids %ld and %d)", path, k, o, id);
            goto done;
        }
    }
    for (unsigned b = 0; b < 256; b++) {
        unsigned char u[8];
        int k = textfix_utf8_put(byte_to_unicode(b), u);
        char sym[16];
        memcpy(sym, u, (size_t)k);
        memcpy(sym + k, "</w>", 5);
        t->byte_id[b] = vocab_find(t, sym, (size_t)k);
        t->byte_end_id[b] = vocab_find(t, sym, (size_t)k + 4);
        if (t->byte_id[b] < 0 || t->byte_end_id[b] < 0) {
            if (t->byte_id[b] < 0) sym[k] = '\0';
            mm_fail(err, MM_ERR_MALFORMED, "%s: no token \"%s\" for byte 0x%02X", path, sym, b);
            goto done;
        }
    }
    t->sot = vocab_find(t, "<|startoftext|>", 15);
    t->eot = vocab_find(t, "<|endoftext|>", 13);
    if (t->sot < 0 || t->eot < 0) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: no \"%s\" token", path, t->sot < 0 ? "<|startoftext|>" : "<|endoftext|>");
        goto done;
    }
    rc = 0;
done:
    free(ids);
    free(offs);
    free(data);
    return rc;
}

static int load_merges(clip_tokenizer *t, const char *path, mm_error *err)
{
    char *data = NULL;
    size_t size = 0;
    if (read_file(path, &data, &size, err)) return -1;
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    size_t cap = 1;
    while (cap < 2 * lines) cap <<= 1;
    t->merges = xmalloc(cap * sizeof *t->merges); /* sized by the file, already in memory */
    for (size_t i = 0; i < cap; i++) t->merges[i].key = MERGE_EMPTY;
    t->merge_mask = cap - 1;

    int rc = -1;
    char *p = data, *end = data + size;
    long line = 0;
    int rank = 0, saw_blank = 0;
    char joined[1024];
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        line++;
        if (le > p && le[-1] == '\r') le--;
        *le = '\0';
        if (line == 1) {
            if (strncmp(p, "#version", 8) != 0) {
                mm_fail(err, MM_ERR_MALFORMED, "%s:1: expected a \"#version\" header line", path);
                goto done;
            }
        } else if (le == p) {
            saw_blank = 1;
        } else {
            if (saw_blank) {
                mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: blank line inside the merge list", path, line - 1);
                goto done;
            }
            if (memchr(p, '\0', (size_t)(le - p))) {
                mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: NUL byte in merge", path, line);
                goto done;
            }
            char *sp = strchr(p, ' ');
            if (!sp || sp == p || sp[1] == '\0' || strchr(sp + 1, ' ')) {
                mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: expected two tokens separated by one space", path, line);
                goto done;
            }
            *sp = '\0';
            const char *a = p, *b = sp + 1;
            size_t la = (size_t)(sp - p), lb = strlen(b);
            if (la + lb + 1 > sizeof joined) {
                mm_fail(err, MM_ERR_LIMIT, "%s:%ld: merge longer than %zu bytes", path, line, sizeof joined - 1);
                goto done;
            }
            memcpy(joined, a, la);
            memcpy(joined + la, b, lb + 1);
            int32_t ia = vocab_find(t, a, la), ib = vocab_find(t, b, lb), ij = vocab_find(t, joined, la + lb);
            if (ia < 0 || ib < 0 || ij < 0) {
                mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: \"%s\" is not in the vocabulary", path, line,
                        ia < 0 ? a : ib < 0 ? b : joined);
                goto done;
            }
            uint64_t key = ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib;
            uint64_t i = mix64(key) & t->merge_mask;
            while (t->merges[i].key != MERGE_EMPTY && t->merges[i].key != key) i = (i + 1) & t->merge_mask;
            if (t->merges[i].key == key) {
                mm_fail(err, MM_ERR_MALFORMED, "%s:%ld: merge \"%s %s\" repeats line %d", path, line, a, b,
                        t->merges[i].rank + 2);
                goto done;
            }
            t->merges[i].key = key;
            t->merges[i].rank = rank++;
            t->merges[i].result = ij;
        }
        if (!nl) break;
        p = nl + 1;
    }
    if (line == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "%s: empty file", path);
        goto done;
    }
    t->n_merges = rank;
    rc = 0;
done:
    free(data);
    return rc;
}

clip_tokenizer *clip_tokenizer_load_files(const char *vocab_json, const char *merges_txt, mm_error *err)
{
    clip_tokenizer *t = xcalloc(1, sizeof *t);
    if (load_vocab(t, vocab_json, err) || load_merges(t, merges_txt, err)) {
        clip_tokenizer_free(t);
        return NULL;
    }
    t->cache = xcalloc(CACHE_SLOTS, sizeof *t->cache);
    t->cache_keys = xmalloc(CACHE_KEY_POOL);
    t->cache_ids = xmalloc(CACHE_ID_POOL * sizeof *t->cache_ids);
    return t;
}

clip_tokenizer *clip_tokenizer_load(const char *model_dir, mm_error *err)
{
    size_t n = strlen(model_dir);
    char *v = xmalloc(n + 16), *m = xmalloc(n + 16);
    snprintf(v, n + 16, "%s/vocab.json", model_dir);
    snprintf(m, n + 16, "%s/merges.txt", model_dir);
    clip_tokenizer *t = clip_tokenizer_load_files(v, m, err);
    free(v);
    free(m);
    return t;
}

void clip_tokenizer_set_flags(clip_tokenizer *t, unsigned flags) { t->flags = flags; }
int clip_tokenizer_vocab_size(const clip_tokenizer *t) { return t->n_vocab; }
int32_t clip_tokenizer_sot(const clip_tokenizer *t) { return t->sot; }
int32_t clip_tokenizer_eot(const clip_tokenizer *t) { return t->eot; }
const char *clip_tokenizer_token(const clip_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_vocab ? t->token[id] : NULL;
}

/* ---- BPE ------------------------------------------------------------------ */

/* Work arrays for a word of n bytes (of a text already in memory). */
static void grow_work(clip_tokenizer *t, size_t n)
{
    if (n <= t->work_cap) return;
    size_t cap = t->work_cap ? t->work_cap : 64;
    while (cap < n) cap *= 2;
    t->sym = xrealloc(t->sym, cap * sizeof *t->sym);
    t->next = xrealloc(t->next, cap * sizeof *t->next);
    t->prev = xrealloc(t->prev, cap * sizeof *t->prev);
    t->stamp = xrealloc(t->stamp, cap * sizeof *t->stamp);
    t->merged = xrealloc(t->merged, cap * sizeof *t->merged);
    /* each merge adds at most two pairs; the heap never holds more than 3n */
    t->heap = xrealloc(t->heap, 3 * cap * sizeof *t->heap);
    memset(t->stamp, 0, cap * sizeof *t->stamp);
    t->stamp_now = 0;
    t->work_cap = cap;
}

static inline int heap_less(struct heap_item a, struct heap_item b)
{
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(struct heap_item *h, size_t *n, struct heap_item it)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(it, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = it;
}

static struct heap_item heap_pop(struct heap_item *h, size_t *n)
{
    struct heap_item top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(h[c + 1], h[c])) c++;
        if (!heap_less(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static void push_pair(clip_tokenizer *t, size_t *hn, int32_t pos)
{
    int32_t nx = t->next[pos];
    if (nx < 0) return;
    const struct merge_slot *m = merge_find(t, t->sym[pos], t->sym[nx]);
    if (m) heap_push(t->heap, hn, (struct heap_item){m->rank, pos});
}

/* BPE of piece[0..n) bytes into t->sym along the t->next chain from 0.
 * Same result as CLIP's bpe(): repeatedly take the lowest-ranked adjacent
 * pair and merge all its non-overlapping occurrences from left to right.
 * The heap pops a rank's occurrences in position order; the pairs the
 * merges create are pushed only after that rank's sweep, so a lower-ranked
 * new pair cannot cut into it. O(n log n). */
static void bpe(clip_tokenizer *t, const unsigned char *piece, size_t n)
{
    grow_work(t, n);
    for (size_t i = 0; i < n; i++) {
        t->sym[i] = i + 1 < n ? t->byte_id[piece[i]] : t->byte_end_id[piece[i]];
        t->next[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
        t->prev[i] = (int32_t)i - 1;
    }
    size_t hn = 0;
    for (size_t i = 0; i + 1 < n; i++) push_pair(t, &hn, (int32_t)i);
    while (hn > 0) {
        int32_t rank = t->heap[0].rank;
        size_t n_merged = 0;
        if (++t->stamp_now == 0) { /* wrapped: reset stamps */
            memset(t->stamp, 0, t->work_cap * sizeof *t->stamp);
            t->stamp_now = 1;
        }
        int32_t first = -1, second = -1, result = -1;
        while (hn > 0 && t->heap[0].rank == rank) {
            int32_t pos = heap_pop(t->heap, &hn).pos;
            int32_t nx = t->next[pos];
            if (t->sym[pos] < 0 || nx < 0) continue; /* consumed meanwhile */
            if (first < 0) {
                const struct merge_slot *m = merge_find(t, t->sym[pos], t->sym[nx]);
                if (!m || m->rank != rank) continue; /* stale */
                first = t->sym[pos];
                second = t->sym[nx];
                result = m->result;
            }
            if (t->sym[pos] != first || t->sym[nx] != second) continue; /* stale */
            t->sym[pos] = result;
            t->sym[nx] = -1;
            t->next[pos] = t->next[nx];
            if (t->next[nx] >= 0) t->prev[t->next[nx]] = pos;
            t->stamp[pos] = t->stamp_now;
            t->merged[n_merged++] = pos;
        }
        for (size_t k = 0; k < n_merged; k++) {
            int32_t pos = t->merged[k];
            int32_t pv = t->prev[pos];
            if (pv >= 0 && t->stamp[pv] != t->stamp_now) push_pair(t, &hn, pv);
            push_pair(t, &hn, pos);
        }
    }
}

/* ---- the BPE cache ------------------------------------------------------- */

static void cache_clear(clip_tokenizer *t)
{
    memset(t->cache, 0, CACHE_SLOTS * sizeof *t->cache);
    t->cache_entries = 0;
    t->cache_key_used = 0;
    t->cache_id_used = 0;
}

static const struct cache_slot *cache_get(const clip_tokenizer *t, const unsigned char *s, size_t n, uint32_t h)
{
    for (uint32_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        const struct cache_slot *c = &t->cache[i];
        if (c->key_len == 0) return NULL;
        if (c->hash == h && c->key_len == n && memcmp(t->cache_keys + c->key_off, s, n) == 0) return c;
    }
}

static void cache_put(clip_tokenizer *t, const unsigned char *s, size_t n, uint32_t h, const int32_t *ids,
                      size_t n_ids)
{
    if (n == 0 || n > CACHE_MAX_KEY || n_ids > 0xFFFF) return;
    if (t->cache_entries >= CACHE_MAX_ENTRIES || t->cache_key_used + n > CACHE_KEY_POOL ||
        t->cache_id_used + n_ids > CACHE_ID_POOL)
        cache_clear(t);
    uint32_t i = h & (CACHE_SLOTS - 1);
    while (t->cache[i].key_len != 0) i = (i + 1) & (CACHE_SLOTS - 1);
    struct cache_slot *c = &t->cache[i];
    c->hash = h;
    c->key_len = (uint16_t)n;
    c->n_ids = (uint16_t)n_ids;
    c->key_off = (uint32_t)t->cache_key_used;
    c->id_off = (uint32_t)t->cache_id_used;
    memcpy(t->cache_keys + t->cache_key_used, s, n);
    memcpy(t->cache_ids + t->cache_id_used, ids, n_ids * sizeof *ids);
    t->cache_key_used += n;
    t->cache_id_used += n_ids;
    t->cache_entries++;
}

/* ---- pre-tokenisation and the whole pipeline ----------------------------- */

/* Does s[i..) start with the ASCII literal lit, compared as the regex module
 * does under IGNORECASE after lowercasing? Only U+017F (long s) folds onto
 * one of the letters involved ("s"). */
static size_t match_literal(const uint32_t *s, size_t n, size_t i, const char *lit)
{
    size_t k = 0;
    for (; lit[k]; k++) {
        if (i + k >= n) return 0;
        uint32_t c = s[i + k];
        if (c == (unsigned char)lit[k]) continue;
        if (lit[k] == 's' && c == 0x17F) continue;
        return 0;
    }
    return k;
}

/* Appends the ids of piece s[a..b) to t->content (at most `room` more). */
static void emit_piece(clip_tokenizer *t, const uint32_t *s, size_t a, size_t b, size_t *n_content, size_t room)
{
    size_t need = (b - a) * 4;
    if (need > t->piece_cap) {
        size_t cap = t->piece_cap ? t->piece_cap : 256;
        while (cap < need) cap *= 2;
        t->piece = xrealloc(t->piece, cap);
        t->piece_cap = cap;
    }
    size_t n = 0;
    for (size_t i = a; i < b; i++) n += (size_t)textfix_utf8_put(s[i], t->piece + n);
    uint32_t h = (uint32_t)mm_hash_bytes(t->piece, n);
    const struct cache_slot *c = n <= CACHE_MAX_KEY ? cache_get(t, t->piece, n, h) : NULL;
    if (c) {
        for (size_t k = 0; k < c->n_ids && *n_content < room; k++) t->content[(*n_content)++] = t->cache_ids[c->id_off + k];
        return;
    }
    bpe(t, t->piece, n);
    size_t start = *n_content, total = 0;
    for (int32_t p = 0; p >= 0; p = t->next[p]) {
        total++;
        if (*n_content < room) t->content[(*n_content)++] = t->sym[p];
    }
    if (*n_content - start == total) cache_put(t, t->piece, n, h, t->content + start, total);
}

int clip_tokenize(clip_tokenizer *t, const char *text, size_t len, int32_t *ids, int context_len, int *n_ids,
                  mm_error *err)
{
    *n_ids = 0;
    if (context_len < 2 || context_len > 65536)
        return mm_fail(err, MM_ERR_LIMIT, "context length %d outside 2..65536", context_len);
    if (normalize(text, len, t->flags, &t->text, &t->tmp, err)) return -1;
    const uint32_t *s = t->text.cp;
    size_t n = t->text.len;

    /* content ids: one more than fit, to know whether we truncate */
    size_t room = (size_t)context_len - 1, n_content = 0;
    if (room > t->content_cap) {
        t->content = xrealloc(t->content, room * sizeof *t->content);
        t->content_cap = room;
    }
    static const char *const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    size_t i = 0;
    while (i < n && n_content < room) {
        uint32_t c = s[i];
        size_t k;
        if (c == '<' && ((k = match_literal(s, n, i, "<|startoftext|>")) || (k = match_literal(s, n, i, "<|endoftext|>")))) {
            int exact = 1;
            for (size_t q = 0; q < k; q++) exact &= s[i + q] < 0x80;
            if (exact) {
                t->content[n_content++] = k == 15 ? t->sot : t->eot;
            } else { /* "<|ſtartoftext|>": matched, but not the cached special */
                emit_piece(t, s, i, i + k, &n_content, room);
            }
            i += k;
            continue;
        }
        if (c == '\'') {
            k = 0;
            for (size_t q = 0; q < sizeof contractions / sizeof contractions[0] && !k; q++)
                k = match_literal(s, n, i, contractions[q]);
            if (k) {
                emit_piece(t, s, i, i + k, &n_content, room);
                i += k;
                continue;
            }
        }
        size_t j = i + 1;
        if (is_letter(c)) {
            while (j < n && is_letter(s[j])) j++;
        } else if (is_number(c)) {
            /* one character */
        } else if (is_dropped(c)) {
            i++;
            continue;
        } else {
            while (j < n && !is_dropped(s[j]) && !is_letter(s[j]) && !is_number(s[j])) j++;
        }
        emit_piece(t, s, i, j, &n_content, room);
        i = j;
    }

    int truncated = n_content > (size_t)context_len - 2;
    size_t keep = truncated ? (size_t)context_len - 2 : n_content;
    ids[0] = t->sot;
    memcpy(ids + 1, t->content, keep * sizeof *ids);
    ids[keep + 1] = t->eot;
    *n_ids = (int)keep + 2;
    return truncated;
}
