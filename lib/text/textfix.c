/* textfix.c — see textfix.h. */
#include "text/textfix.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/buf.h"
#include "core/xalloc.h"

/* ---- buffers ------------------------------------------------------------ */

void textfix_reserve(textfix_buf *b, size_t n)
{
    if (n <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < n) cap = cap <= ((size_t)-1) / 2 / sizeof *b->cp ? cap * 2 : n; /* xrealloc dies on the rest */
    b->cp = xrealloc(b->cp, cap * sizeof *b->cp);
    b->cap = cap;
}

void textfix_buf_free(textfix_buf *b)
{
    free(b->cp);
    b->cp = NULL;
    b->len = b->cap = 0;
}

static inline void put(textfix_buf *b, uint32_t c)
{
    if (b->len == b->cap) textfix_reserve(b, b->len + 1);
    b->cp[b->len++] = c;
}

static void put_n(textfix_buf *b, const uint32_t *c, size_t n)
{
    textfix_reserve(b, b->len + n);
    memcpy(b->cp + b->len, c, n * sizeof *c);
    b->len += n;
}

static void swap_buf(textfix_buf *a, textfix_buf *b)
{
    textfix_buf t = *a;
    *a = *b;
    *b = t;
}

static int same(const textfix_buf *a, const textfix_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->cp, b->cp, a->len * sizeof *a->cp) == 0);
}

/* ---- UTF-8 -------------------------------------------------------------- */

int textfix_utf8_put(uint32_t c, unsigned char *d)
{
    if (c < 0x80) { d[0] = (unsigned char)c; return 1; }
    if (c < 0x800) { d[0] = (unsigned char)(0xC0 | (c >> 6)); d[1] = (unsigned char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        d[0] = (unsigned char)(0xE0 | (c >> 12));
        d[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        d[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    d[0] = (unsigned char)(0xF0 | (c >> 18));
    d[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    d[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    d[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

/* Decodes one UTF-8 sequence at s[i..len). Returns the number of bytes of a
 * valid sequence (and *cp), or 0 for an ill-formed one, with *bad set to the
 * length of its maximal subpart (>= 1): the lead byte plus the continuation
 * bytes that were still acceptable, which Python replaces by one U+FFFD. */
static size_t utf8_one(const unsigned char *s, size_t len, size_t i, uint32_t *cp, size_t *bad)
{
    unsigned b = s[i];
    if (b < 0x80) { *cp = b; return 1; }
    if (b < 0xC2 || b > 0xF4) { *bad = 1; return 0; }
    int need = b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
    unsigned lo = 0x80, hi = 0xBF;
    if (b == 0xE0) lo = 0xA0;
    else if (b == 0xED) hi = 0x9F; /* no surrogates */
    else if (b == 0xF0) lo = 0x90;
    else if (b == 0xF4) hi = 0x8F; /* <= U+10FFFF */
    uint32_t c = b & (need == 1 ? 0x1F : need == 2 ? 0x0F : 0x07);
    size_t j = i + 1;
    for (int k = 0; k < need; k++, j++) {
        unsigned lo_k = k == 0 ? lo : 0x80, hi_k = k == 0 ? hi : 0xBF;
        if (j >= len || s[j] < lo_k || s[j] > hi_k) { *bad = j - i; return 0; }
        c = (c << 6) | (s[j] & 0x3F);
    }
    *cp = c;
    return j - i;
}

size_t textfix_utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp, size_t *bad)
{
    return utf8_one(s, len, i, cp, bad);
}

int textfix_decode_utf8(const char *str, size_t len, int policy, textfix_buf *out, mm_error *err)
{
    const unsigned char *s = (const unsigned char *)str;
    out->len = 0;
    textfix_reserve(out, len + 1); /* never more code points than bytes */
    uint32_t *o = out->cp;
    size_t n = 0, i = 0;
    while (i < len) {
        if (s[i] < 0x80) { o[n++] = s[i++]; continue; }
        uint32_t c;
        size_t bad = 0, k = utf8_one(s, len, i, &c, &bad);
        if (k) { o[n++] = c; i += k; continue; }
        if (policy != TEXTFIX_UTF8_REPLACE) {
            out->len = n;
            if (i + bad >= len && bad > 1)
                return mm_fail(err, MM_ERR_MALFORMED,
                               "byte %zu: invalid UTF-8: sequence starting with 0x%02X is cut short by the end of the text",
                               i, s[i]);
            return mm_fail(err, MM_ERR_MALFORMED, "byte %zu: invalid UTF-8 sequence starting with 0x%02X", i, s[i]);
        }
        o[n++] = 0xFFFD;
        i += bad;
    }
    out->len = n;
    return 0;
}

/* ---- HTML5 named character references ------------------------------------
 * The complete WHATWG table as Python's html.entities.html5 has it, written
 * by scripts/gen-html-entities: the name without its ';', the one or two
 * code points it stands for, and whether the name is also recognised without
 * ';' (the 106 legacy names). Sorted by strcmp. */
struct html_entity {
    const char *name;
    uint32_t cp0, cp1;
    int legacy;
};

static const struct html_entity html_entities[] = {
#include "text/textfix_entities.inc"
};
#define N_HTML_ENTITIES (sizeof html_entities / sizeof html_entities[0])
#define HTML_NAME_MAX 32 /* longest name Python's html.unescape looks at */

/* name[0..len) (ASCII, no ';'), or NULL. */
static const struct html_entity *entity_find(const char *name, size_t len)
{
    size_t lo = 0, hi = N_HTML_ENTITIES;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *e = html_entities[mid].name;
        int c = strncmp(e, name, len);
        if (c == 0 && e[len] != '\0') c = 1;
        if (c == 0) return &html_entities[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static inline int is_ascii_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static inline int is_ascii_xdigit(uint32_t c)
{
    return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline int is_ascii_alnum(uint32_t c)
{
    return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Windows-1252 for bytes 0x80..0x9F; the five bytes it leaves undefined map
 * to the C1 control of the same value (Python's html module and ftfy's
 * "sloppy" codec agree on this). */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* Python html._replace_charref for a numeric reference with value num
 * (saturated at 0x110000). Appends 0 or 1 code point. */
static void numeric_ref(uint32_t num, textfix_buf *out)
{
    if (num == 0) put(out, 0xFFFD);
    else if (num == 0x0D) put(out, 0x0D);
    else if (num >= 0x80 && num <= 0x9F) put(out, cp1252_c1[num - 0x80]);
    else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) put(out, 0xFFFD);
    else if ((num >= 0x01 && num <= 0x08) || (num >= 0x0E && num <= 0x1F) || num == 0x0B || num == 0x7F ||
             (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE)
        return; /* dropped */
    else put(out, num);
}

/* Parses a numeric reference starting at in[i] == '#' (after the '&') the way
 * Python's regex '#[0-9]+;?|#[xX][0-9a-fA-F]+;?' does. Returns the number of
 * code points consumed (0: no match) and the value in *num. */
static size_t parse_numeric(const uint32_t *in, size_t n, size_t i, uint32_t *num)
{
    size_t j = i + 1;
    int base = 10;
    if (j < n && is_ascii_digit(in[j])) {
        base = 10;
    } else if (j + 1 < n && (in[j] == 'x' || in[j] == 'X') && is_ascii_xdigit(in[j + 1])) {
        base = 16;
        j++;
    } else {
        return 0;
    }
    uint32_t v = 0;
    while (j < n && (base == 10 ? is_ascii_digit(in[j]) : is_ascii_xdigit(in[j]))) {
        uint32_t c = in[j], d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        if (v <= 0x10FFFF) v = v * (uint32_t)base + d; /* saturates above 0x10FFFF */
        if (v > 0x10FFFF) v = 0x110000;
        j++;
    }
    if (j < n && in[j] == ';') j++;
    *num = v;
    return j - i;
}

void textfix_html_unescape(const uint32_t *in, size_t n, textfix_buf *out)
{
    out->len = 0;
    textfix_reserve(out, n);
    size_t i = 0;
    while (i < n) {
        if (in[i] != '&') {
            put(out, in[i++]);
            continue;
        }
        size_t j = i + 1;
        if (j < n && in[j] == '#') {
            uint32_t num;
            size_t k = parse_numeric(in, n, j, &num);
            if (!k) { /* '&' '#' match nothing: both are copied as text */
                put(out, in[i++]);
                continue;
            }
            numeric_ref(num, out);
            i = j + k;
            continue;
        }
        /* named: [^\t\n\f <&#;]{1,32};? */
        size_t len = 0;
        char name[HTML_NAME_MAX + 2];
        while (j + len < n && len < HTML_NAME_MAX) {
            uint32_t c = in[j + len];
            if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';')
                break;
            name[len] = is_ascii_alnum(c) ? (char)c : '\x01'; /* never in a name, never NUL */
            len++;
        }
        if (len == 0) {
            put(out, in[i++]);
            continue;
        }
        int semi = j + len < n && in[j + len] == ';';
        size_t end = j + len + (size_t)semi; /* the match is in[i..end) */
        const struct html_entity *e = entity_find(name, len);
        if (e && (semi || e->legacy)) {
            put(out, e->cp0);
            if (e->cp1) put(out, e->cp1);
            i = end;
            continue;
        }
        /* longest legacy name that is a proper prefix of name + ';' */
        size_t slen = len + (size_t)semi, x;
        e = NULL;
        for (x = slen - 1; x >= 2; x--) {
            if (x > len) continue;
            e = entity_find(name, x);
            if (e && e->legacy) break;
            e = NULL;
        }
        if (e) {
            put(out, e->cp0);
            if (e->cp1) put(out, e->cp1);
            put_n(out, in + j + x, end - (j + x));
        } else {
            put_n(out, in + i, end - i);
        }
        i = end;
    }
}

/* ---- ftfy's unescape_html ------------------------------------------------ */

/* Full uppercase (Python str.upper) of an entity's character: the simple
 * mapping plus the special cases that occur among lower-case entity names. */
static void upper_full(uint32_t c, textfix_buf *out)
{
    static const struct { uint32_t c; uint32_t up[3]; } special[] = {
        {0x00DF, {'S', 'S', 0}},   {0x0149, {0x02BC, 'N', 0}}, {0xFB00, {'F', 'F', 0}},
        {0xFB01, {'F', 'I', 0}},   {0xFB02, {'F', 'L', 0}},    {0xFB03, {'F', 'F', 'I'}},
        {0xFB04, {'F', 'F', 'L'}},
    };
    for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
        if (special[k].c == c) {
            for (int m = 0; m < 3 && special[k].up[m]; m++)
                put(out, special[k].up[m]);
            return;
        }
    put(out, (uint32_t)utf8proc_toupper((utf8proc_int32_t)c));
}

/* Would Python's html.unescape leave "&" name ";" unchanged? (name: ASCII) */
static int python_unescape_keeps(const char *name, size_t len)
{
    if (entity_find(name, len)) return 0; /* name + ';' is an entity */
    for (size_t x = len; x >= 2; x--) {
        const struct html_entity *e = entity_find(name, x);
        if (e && e->legacy) return 0;
    }
    return 1;
}

/* ftfy.fixes.unescape_html: re '&#?[0-9A-Za-z]{1,24};' with ftfy's table
 * (HTML5 names with ';', plus the all-uppercase spelling of an all-lowercase
 * name when Python's html.unescape would not decode that spelling). */
static void ftfy_unescape_html(const uint32_t *in, size_t n, textfix_buf *out)
{
    out->len = 0;
    textfix_reserve(out, n);
    size_t i = 0;
    while (i < n) {
        if (in[i] != '&') {
            put(out, in[i++]);
            continue;
        }
        size_t j = i + 1;
        int hash = j < n && in[j] == '#';
        if (hash) j++;
        size_t len = 0;
        while (j + len < n && len <= 24 && is_ascii_alnum(in[j + len])) len++;
        if (len == 0 || len > 24 || j + len >= n || in[j + len] != ';') {
            put(out, in[i++]);
            continue;
        }
        size_t end = j + len + 1;
        char name[32];
        for (size_t k = 0; k < len; k++) name[k] = (char)in[j + k];
        if (!hash) {
            const struct html_entity *e = entity_find(name, len);
            if (e) {
                put(out, e->cp0);
            if (e->cp1) put(out, e->cp1);
                i = end;
                continue;
            }
            char lower[32];
            int all_upper = 1;
            for (size_t k = 0; k < len; k++) {
                lower[k] = (name[k] >= 'A' && name[k] <= 'Z') ? (char)(name[k] + 32) : name[k];
                if (name[k] >= 'a' && name[k] <= 'z') all_upper = 0;
            }
            e = all_upper ? entity_find(lower, len) : NULL;
            if (e && python_unescape_keeps(name, len)) {
                upper_full(e->cp0, out);
                if (e->cp1) upper_full(e->cp1, out);
                i = end;
                continue;
            }
        } else {
            /* html.unescape of the whole reference; kept unless it consumed
             * everything up to and including the ';' */
            uint32_t num;
            size_t k = parse_numeric(in, n, i + 1, &num);
            if (k && i + 1 + k == end) {
                size_t before = out->len;
                numeric_ref(num, out);
                if (!(out->len > before && out->cp[before] == ';')) {
                    i = end;
                    continue;
                }
                out->len = before;
            }
        }
        put_n(out, in + i, end - i);
        i = end;
    }
}

/* ---- fix_encoding: ftfy's fix_encoding_and_explain ------------------------ */

#include "text/textfix_ftfy.inc"

/* ftfy's character classes of c (FC_* bits and the follow mask; 0 for ASCII
 * and most text). */
static uint64_t fclass(uint32_t c)
{
    if (c < 0x80 || (c > FTFY_CLASS_GAP_LO && c < FTFY_CLASS_GAP_HI)) return 0; /* CJK, emoji, ... */
    if (c < FTFY_DENSE_END) return ftfy_dense[c - 0x80];
    size_t lo = 0, hi = sizeof ftfy_classes / sizeof ftfy_classes[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ftfy_classes[mid].cp == c) return ftfy_classes[mid].mask;
        if (ftfy_classes[mid].cp < c) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* Python's str.isspace() (what \s matches in ftfy's str patterns). */
static int py_space(uint32_t c)
{
    return (c >= 9 && c <= 13) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* \w of Python's re on str: letters, numbers and '_'. */
static int py_word(uint32_t c)
{
    if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

static int in_list(uint32_t c, const uint32_t *list)
{
    for (; *list; list++)
        if (*list == c) return 1;
    return 0;
}

static int ascii_letter(uint32_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int ascii_lower(uint32_t c) { return c >= 'a' && c <= 'z'; }

/* The classes ftfy's badness pattern combines. */
#define FC_ANYP (FC_BAD | FC_LA | FC_UA | FC_BOX | FC_SP | FC_EP | FC_CUR | FC_NUM | FC_LAW)
#define FC_SEQ2 (FC_LA | FC_UA | FC_BOX | FC_SP | FC_EP | FC_CUR | FC_NUM | FC_LAW)

/* Does one of the alternatives of ftfy's BADNESS_RE match at t[i]? Every
 * alternative is a fixed-length sequence of classes, so each is a test of
 * the next few characters; is_bad() only asks whether any matches. */
static int bad_at(const uint32_t *t, const uint64_t *mk, size_t n, size_t i)
{
    uint32_t c[7] = {0};
    uint64_t m[7] = {0};
    c[0] = t[i];
    m[0] = mk[i];
    /* every alternative starts with a classed character, an ASCII letter,
     * one of . , ? ! or a space */
    if (!m[0] && !ascii_letter(c[0]) && c[0] != '.' && c[0] != ',' && c[0] != '?' && c[0] != '!' &&
        !py_space(c[0]))
        return 0;
    size_t k = n - i < 7 ? n - i : 7;
    for (size_t j = 1; j < k; j++) {
        c[j] = t[i + j];
        m[j] = mk[i + j];
    }
    /* a character beyond the end is 0: in no class, not a space, not a letter */
    uint64_t m0 = m[0], m1 = m[1], m2 = m[2];
    if (m0 & FC_C1) return 1;
    if (k < 2) return 0;
    if ((m0 & FC_ANYP) && (m1 & FC_BAD)) return 1;
    if ((m0 & FC_BAD) && (m1 & FC_SEQ2)) return 1;
    if ((m0 & (FC_LA | FC_LC | FC_BOX | FC_EP | FC_CUR | FC_NUM)) && (m1 & FC_UA)) return 1;
    if ((m0 & (FC_BOX | FC_EP | FC_CUR | FC_NUM)) && (m1 & FC_LA)) return 1;
    if ((m0 & (FC_LA | FC_BOX | FC_EP)) && (m1 & FC_CUR)) return 1;
    if ((m0 & (FC_UA | FC_BOX)) && (m1 & (FC_NUM | FC_LAW))) return 1;
    if ((m0 & (FC_CUR | FC_NUM | FC_BOX)) && (m1 & FC_SP)) return 1;
    if ((m0 & FC_BOX) && (m1 & (FC_KAO | FC_EP))) return 1;
    if ((m0 & (FC_LA | FC_UA | FC_CUR | FC_NUM | FC_SP | FC_EP | FC_LAW)) && (m1 & FC_BOX)) return 1;
    if ((c[0] == 0x152 || c[0] == 0x153) && !ascii_letter(c[1])) return 1; /* Œ œ */
    if ((m0 & FC_UA) && c[1] == 0xB0) return 1;                             /* capital + ° */
    if (c[0] == 0xC2 || c[0] == 0xC3 || c[0] == 0xCE || c[0] == 0xD0) {     /* Â Ã Î Ð + ... */
        static const uint32_t after[] = {0x20AC, 0x153, 0x160, 0x161, 0xA2, 0xA3, 0x178, 0x17E, 0xA0, 0xAD,
                                         0xAE, 0xA9, 0xB0, 0xB7, 0xBB, 0x2013, 0x2014, 0xB4, 0};
        if ((m1 & (FC_SP | FC_EP)) || in_list(c[1], after)) return 1;
    }
    if (c[0] == 0xD7 && (c[1] == 0xB2 || c[1] == 0xB3)) return 1; /* × ² */
    if (c[0] == 0xE0) {                                            /* à + ² µ ¹ ¼ ½ ¾ */
        static const uint32_t after[] = {0xB2, 0xB5, 0xB9, 0xBC, 0xBD, 0xBE, 0};
        if (in_list(c[1], after)) return 1;
    }
    if (c[0] == 0x221A) { /* √ (Mac Roman) */
        static const uint32_t after[] = {0xB1, 0x2202, 0x2020, 0x2260, 0xAE, 0x2122, 0xB4, 0x2264, 0x2265,
                                         0xA5, 0xB5, 0xF8, 0};
        if (in_list(c[1], after)) return 1;
    }
    if (c[0] == 0x2248 && (c[1] == 0xB0 || c[1] == 0xA2)) return 1; /* ≈° ≈¢ */
    if (c[0] == 0x432 && c[1] == 0x402) return 1;                   /* вЂ (windows-1251) */
    if (c[0] == 0x101 && c[1] == 0x20AC) return 1;                  /* ā€ (windows-1257) */
    if (c[0] == 0xC3 && (c[1] == 0xA0 || c[1] == 0xA1)) return 1;   /* Ã NBSP, Ã¡ */
    if (i == 0 && (c[0] == 0xC3 || c[0] == 0xC2) && c[1] == ' ') return 1;
    if (k < 3) return 0;
    if (ascii_letter(c[0]) && (m1 & (FC_LC | FC_UC)) && (m2 & FC_BAD)) return 1;
    if (py_space(c[0]) && (m1 & FC_UA) && (m2 & FC_CUR)) return 1;
    if ((m0 & (FC_LA | FC_UA | FC_BOX | FC_CUR | FC_EP)) && (m1 & FC_SP) && (m2 & FC_NUM)) return 1;
    if ((m0 & (FC_LA | FC_UA | FC_CUR | FC_NUM | FC_BOX | FC_LAW)) && (m1 & FC_EP) && (m2 & FC_SP)) return 1;
    if (ascii_lower(c[0]) && (m1 & FC_UA) && (m2 & (FC_SP | FC_CUR))) return 1;
    if ((m0 & (FC_LA | FC_UA)) && (m1 & (FC_SP | FC_EP)) && py_word(c[2])) return 1;
    if (c[0] == 0x201A && c[1] == 0xC4) { /* ‚Ä + ... (Mac Roman) */
        static const uint32_t after[] = {0xEC, 0xEE, 0xEF, 0xF2, 0xF4, 0xFA, 0xF9, 0xFB, 0x2020, 0xB0, 0xA2, 0x3C0, 0};
        if (in_list(c[2], after)) return 1;
    }
    if (c[0] == 0x201A && (c[1] == 0xE2 || c[1] == 0xF3) &&
        (c[2] == 0xE0 || c[2] == 0xE4 || c[2] == 0xB0 || c[2] == 0xEA))
        return 1;
    {
        static const uint32_t cyr[] = {0x412, 0x413, 0x420, 0x421, 0}; /* В Г Р С */
        if (in_list(c[0], cyr) && in_list(c[2], cyr) &&
            ((m1 & (FC_C1 | FC_BAD | FC_SP | FC_EP | FC_CUR)) || c[1] == 0xB0 || c[1] == 0xB5))
            return 1;
        static const uint32_t grk[] = {0x392, 0x393, 0x39E, 0x39F, 0}; /* Β Γ Ξ Ο */
        if (in_list(c[0], grk) && in_list(c[2], grk) &&
            ((m1 & (FC_C1 | FC_BAD | FC_SP | FC_EP | FC_CUR)) || c[1] == 0xB0))
            return 1;
    }
    if (ascii_lower(c[0])) { /* [a-z]\s?[ÃÂ][ ] */
        if ((c[1] == 0xC3 || c[1] == 0xC2) && c[2] == ' ') return 1;
        if (k >= 4 && py_space(c[1]) && (c[2] == 0xC3 || c[2] == 0xC2) && c[3] == ' ') return 1;
    }
    if ((ascii_lower(c[0]) || c[0] == '.' || c[0] == ',' || c[0] == '?' || c[0] == '!' || (m0 & FC_EP)) &&
        c[1] == 0xC2 && (c[2] == ' ' || (m2 & (FC_SP | FC_EP))))
        return 1;
    if (c[0] == 0x3B2 && c[1] == 0x20AC) { /* β€ (windows-1253) */
        static const uint32_t after[] = {0x2122, 0xA0, 0x386, 0xAD, 0xAE, 0xB0, 0};
        if (in_list(c[2], after)) return 1;
    }
    if (k < 4) return 0;
    {
        const uint64_t arab = FC_COMMON | FC_CUR | FC_BAD | FC_NUM | FC_SP;
        static const uint32_t extra[] = {0x178, 0x160, 0xAE, 0xB0, 0xB5, 0xBB, 0};
        if ((c[0] == 0xD8 || c[0] == 0xD9) && (c[2] == 0xD8 || c[2] == 0xD9) &&
            ((m1 & arab) || in_list(c[1], extra)) && ((m[3] & arab) || in_list(c[3], extra)))
            return 1;
    }
    if (k >= 7 && c[0] == 0x413 && c[1] == 0x45E && c[2] == 0x412 && c[3] == 0x402 && c[4] == 0x412 &&
        c[5] != '\n' && (ascii_letter(c[6]) || c[6] == ' '))
        return 1; /* ГўВЂВ.[A-Za-z ] */
    return 0;
}

/* Does ftfy's BADNESS_RE match anywhere in t[0..n)? bad_at() runs only where
 * it can succeed: every alternative has, at its start or one or two
 * characters later, a "core" (scripts/gen-ftfy-tables BAD_CORES): a
 * FC_SOLO character, or two adjacent characters the second of which is in
 * the follow mask of the first. Clean text with accented letters, Greek or
 * Cyrillic has few cores, so it pays one class lookup per character.
 * every_position: try bad_at at every position near a non-ASCII character
 * instead (the reference the fast scan is tested against). */
int textfix_is_bad(const uint32_t *t, size_t n, int every_position)
{
    /* the classes of every character, looked up once (the patterns look
     * at up to seven characters from each position) */
    uint64_t local[256], *mk = n <= 256 ? local : xmalloc(n * sizeof *mk);
    int classed = 0;
    for (size_t i = 0; i < n; i++) classed |= (mk[i] = fclass(t[i])) != 0;
    int bad = 0;
    if (every_position) {
        /* every alternative has a non-ASCII character among its first three */
        for (size_t i = 0; i < n && !bad; i++)
            if (t[i] >= 0x80 || (i + 1 < n && t[i + 1] >= 0x80) || (i + 2 < n && t[i + 2] >= 0x80))
                bad = bad_at(t, mk, n, i);
    } else if (classed) { /* every alternative has a classed character */
        size_t from = 0; /* positions below from were tried */
        for (size_t p = 0; p < n && !bad; p++) {
            uint64_t m = mk[p];
            if (!m) continue;
            if (!(m & FC_SOLO) && !(p + 1 < n && (mk[p + 1] & (m >> FTFY_FOLLOW_SHIFT) & FC_BADNESS_ALL)))
                continue;
            for (size_t i = p >= from + 2 ? p - 2 : from; i <= p && !bad; i++) bad = bad_at(t, mk, n, i);
            from = p + 1;
        }
    }
    if (mk != local) free(mk);
    return bad;
}

static int is_bad(const uint32_t *t, size_t n) { return textfix_is_bad(t, n, 0); }

/* Byte of c in encoding e, or -1. */
static int enc_byte(int e, uint32_t c)
{
    if (c < 0x80) return (c == 0x1A && ftfy_encoding_sloppy[e]) ? -1 : (int)c;
    if (e == FTFY_LATIN1) return c <= 0xFF ? (int)c : -1;
    size_t lo = ftfy_encode_start[e], hi = ftfy_encode_start[e + 1];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ftfy_encode[mid].cp == c) return ftfy_encode[mid].byte;
        if (ftfy_encode[mid].cp < c) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* The codecs' bytes live in core/buf.h's mm_buf. The loops below write them
 * in place after mm_buf_reserve (as unsigned char) and then restore the NUL
 * that mm_buf keeps after its bytes. */
static inline unsigned char *ubytes(const mm_buf *m) { return (unsigned char *)m->data; }
static inline void bytes_done(mm_buf *m) { m->data[m->len] = '\0'; }

static int is_cont(unsigned b) { return b >= 0x80 && b <= 0xBF; }
/* continuation bytes ALTERED_UTF8_RE accepts next to a space */
static int is_cont_x(unsigned b) { return is_cont(b) && b != 0x85 && b != 0xA0; }

/* Length of an ALTERED_UTF8_RE match at s[i] (UTF-8 with byte A0 turned
 * into a space), or 0. */
static size_t altered_at(const unsigned char *s, size_t n, size_t i)
{
    unsigned b0 = s[i], b1 = i + 1 < n ? s[i + 1] : 0, b2 = i + 2 < n ? s[i + 2] : 0, b3 = i + 3 < n ? s[i + 3] : 0;
    if ((b0 == 0xC2 || b0 == 0xC3 || b0 == 0xC5 || b0 == 0xCE || b0 == 0xD0 || b0 == 0xD9) && b1 == ' ') return 2;
    if ((b0 == 0xE2 || b0 == 0xE3) && b1 == ' ' && is_cont_x(b2)) return 3;
    if (b0 >= 0xE0 && b0 <= 0xE3 && is_cont_x(b1) && b2 == ' ') return 3;
    if (b0 == 0xF0 && i + 3 < n) {
        if (b1 == ' ' && is_cont(b2) && is_cont(b3)) return 4;
        if (is_cont(b1) && b2 == ' ' && is_cont(b3)) return 4;
        if (is_cont(b1) && is_cont(b2) && b3 == ' ') return 4;
    }
    return 0;
}

/* ftfy's restore_byte_a0 on in -> out: "Ã " that is not Portuguese "à"
 * followed by a space becomes "à ", then every ALTERED_UTF8_RE match gets its
 * spaces back as A0. */
static void restore_byte_a0(const mm_buf *in, mm_buf *out)
{
    static const char *const keep[] = {" ", "quele", "quela", "quilo", "s "};
    const unsigned char *s = ubytes(in);
    mm_buf t = {0};
    mm_buf_reserve(&t, in->len * 3 / 2 + 2);
    for (size_t i = 0; i < in->len; i++) {
        ubytes(&t)[t.len++] = s[i];
        if (s[i] == 0xC3 && i + 1 < in->len && s[i + 1] == ' ') {
            int skip = 0;
            for (int k = 0; k < 5 && !skip; k++) {
                size_t l = strlen(keep[k]);
                skip = in->len - (i + 2) >= l && memcmp(s + i + 2, keep[k], l) == 0;
            }
            if (!skip) {
                mm_buf_reserve(&t, in->len - i + 2);
                ubytes(&t)[t.len++] = 0xA0;
            }
        }
    }
    bytes_done(&t);
    out->len = 0;
    mm_buf_reserve(out, t.len + 1);
    const unsigned char *u = ubytes(&t);
    unsigned char *o = ubytes(out);
    for (size_t i = 0; i < t.len;) {
        size_t k = altered_at(u, t.len, i);
        if (!k) { o[out->len++] = u[i++]; continue; }
        for (size_t j = 0; j < k; j++) o[out->len++] = u[i + j] == ' ' ? 0xA0 : u[i + j];
        i += k;
    }
    bytes_done(out);
    mm_buf_free(&t);
}

/* Length of a LOSSY_UTF8_RE match at s[i] (a UTF-8 sequence that lost bytes
 * to 0x1A, ftfy's stand-in for U+FFFD, or to '?'), or 0. */
static size_t lossy_at(const unsigned char *s, size_t n, size_t i)
{
    unsigned b[6] = {0};
    for (size_t j = 0; j < 6 && i + j < n; j++) b[j] = s[i + j];
    size_t left = n - i;
#define SUBQ(x) ((x) == 0x1A || (x) == '?')
#define SUBC(x) ((x) == 0x1A || is_cont(x))
#define ANY(x) (SUBQ(x) || is_cont(x))
    if (left >= 2 && b[0] >= 0xC2 && b[0] <= 0xDF && b[1] == 0x1A) return 2;
    if (left >= 2 && (b[0] == 0xC2 || b[0] == 0xC3) && b[1] == '?') return 2;
    if (left >= 6 && b[0] == 0xED && b[1] >= 0xA0 && b[1] <= 0xAF && b[3] == 0xED && b[4] >= 0xB0 && b[4] <= 0xBF &&
        ((SUBQ(b[2]) && ANY(b[5])) || (ANY(b[2]) && SUBQ(b[5]))))
        return 6;
    if (left >= 3 && b[0] >= 0xE0 && b[0] <= 0xEF &&
        ((SUBQ(b[1]) && SUBC(b[2])) || (SUBC(b[1]) && SUBQ(b[2]))))
        return 3;
    if (left >= 4 && b[0] >= 0xF0 && b[0] <= 0xF4 &&
        ((SUBQ(b[1]) && SUBC(b[2]) && SUBC(b[3])) || (SUBC(b[1]) && SUBQ(b[2]) && SUBC(b[3])) ||
         (SUBC(b[1]) && SUBC(b[2]) && SUBQ(b[3]))))
        return 4;
#undef SUBQ
#undef SUBC
#undef ANY
    return b[0] == 0x1A ? 1 : 0;
}

static void replace_lossy(const mm_buf *in, mm_buf *out)
{
    const unsigned char *s = ubytes(in);
    out->len = 0;
    mm_buf_reserve(out, in->len * 3 + 1);
    unsigned char *o = ubytes(out);
    for (size_t i = 0; i < in->len;) {
        size_t k = lossy_at(s, in->len, i);
        if (!k) { o[out->len++] = s[i++]; continue; }
        o[out->len++] = 0xEF;
        o[out->len++] = 0xBF;
        o[out->len++] = 0xBD;
        i += k;
    }
    bytes_done(out);
}

/* Decodes bytes as UTF-8 or, when they hold 0xED or 0xC0, as ftfy's
 * "utf-8-variants" (CESU-8 surrogate pairs, C0 80 for U+0000). Returns 1 and
 * fills out, 0 when the bytes are not (variant) UTF-8. */
static int decode_utf8_variants(const mm_buf *in, textfix_buf *out)
{
    const unsigned char *s = ubytes(in);
    int variants = memchr(s, 0xED, in->len) || memchr(s, 0xC0, in->len);
    out->len = 0;
    textfix_reserve(out, in->len + 1);
    size_t n = in->len;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t bad, k = utf8_one(s, n, i, &c, &bad);
        if (k) { out->cp[out->len++] = c; i += k; continue; }
        if (!variants) return 0;
        if (s[i] == 0xC0 && i + 1 < n && s[i + 1] == 0x80) { out->cp[out->len++] = 0; i += 2; continue; }
        if (i + 5 < n && s[i] == 0xED && s[i + 1] >= 0xA0 && s[i + 1] <= 0xAF && is_cont(s[i + 2]) &&
            s[i + 3] == 0xED && s[i + 4] >= 0xB0 && s[i + 4] <= 0xBF && is_cont(s[i + 5])) {
            uint32_t hi = 0xD000 | ((uint32_t)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
            uint32_t lo = 0xD000 | ((uint32_t)(s[i + 4] & 0x3F) << 6) | (s[i + 5] & 0x3F);
            out->cp[out->len++] = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
            continue;
        }
        return 0;
    }
    return 1;
}

struct fixenc_work {
    mm_buf a, b;
};

static void fix_encoding_full(textfix_buf *t, int depth);
static void fix_c1_controls(const textfix_buf *in, textfix_buf *out);

/* Which encodings could t have been decoded from? (bit e = encoding e) */
static unsigned possible_encodings(const uint32_t *t, size_t n)
{
    unsigned ok = (1u << FTFY_N_ENCODINGS) - 1;
    for (size_t i = 0; i < n && ok; i++) {
        if (t[i] < 0x80 && t[i] != 0x1A) continue;
        for (int e = 0; e < FTFY_N_ENCODINGS; e++)
            if ((ok >> e & 1) && enc_byte(e, t[i]) < 0) ok &= ~(1u << e);
    }
    return ok;
}

/* decode_inconsistent_utf8: every UTF8_DETECTOR_RE run that is shorter than
 * the text and looks bad is replaced by its own fix_encoding. */
static void decode_inconsistent(const textfix_buf *t, textfix_buf *out, int depth)
{
    out->len = 0;
    textfix_buf sub = {0};
    const uint32_t *s = t->cp;
    size_t n = t->len;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        if (i == 0 || !(fclass(s[i - 1]) & FC_CONTS)) {
            /* ([F2] CONT | [F3] CONT{2} | [F4] CONT{3})+, alternatives in order */
            for (;;) {
                uint64_t m = fclass(s[j]);
                size_t got = 0;
                for (size_t want = 1; want <= 3 && !got; want++) {
                    uint64_t bit = want == 1 ? FC_F2 : want == 2 ? FC_F3 : FC_F4;
                    if (!(m & bit) || j + want >= n) continue;
                    size_t q = 1;
                    while (q <= want && (s[j + q] == ' ' || (fclass(s[j + q]) & FC_CONT))) q++;
                    if (q > want) got = want + 1;
                }
                if (!got) break;
                j += got;
                if (j >= n) break;
            }
        }
        if (j == i) {
            put(out, s[i]);
            i++;
            continue;
        }
        sub.len = 0;
        put_n(&sub, s + i, j - i);
        if (j - i < n && is_bad(sub.cp, sub.len)) fix_encoding_full(&sub, depth + 1);
        put_n(out, sub.cp, sub.len);
        i = j;
    }
    textfix_buf_free(&sub);
}

/* One step of ftfy's _fix_encoding_one_step_and_explain: t -> out. Returns
 * 1 when out holds a changed text, 0 when t stays. */
static int fix_encoding_step(const textfix_buf *t, textfix_buf *out, struct fixenc_work *w, int depth)
{
    const uint32_t *s = t->cp;
    size_t n = t->len;
    int ascii = 1;
    for (size_t i = 0; i < n && ascii; i++) ascii = s[i] < 0x80;
    if (ascii || !is_bad(s, n)) return 0;
    unsigned possible = possible_encodings(s, n);
    for (int e = 0; e < FTFY_N_ENCODINGS; e++) {
        if (!(possible >> e & 1)) continue;
        w->a.len = 0;
        mm_buf_reserve(&w->a, n + 1);
        unsigned char *a = ubytes(&w->a);
        for (size_t i = 0; i < n; i++) a[w->a.len++] = (unsigned char)enc_byte(e, s[i]);
        bytes_done(&w->a);
        if (e != FTFY_MACROMAN) {
            int altered = 0;
            for (size_t i = 0; i < w->a.len && !altered; i++) altered = altered_at(a, w->a.len, i) != 0;
            if (altered) {
                restore_byte_a0(&w->a, &w->b);
                mm_buf x = w->a;
                w->a = w->b;
                w->b = x;
            }
        }
        if (ftfy_encoding_sloppy[e]) {
            replace_lossy(&w->a, &w->b);
            mm_buf x = w->a;
            w->a = w->b;
            w->b = x;
        }
        if (decode_utf8_variants(&w->a, out)) return !same(t, out);
    }
    /* UTF8_DETECTOR_RE finds mojibake runs inside otherwise good text */
    if (depth < 8) {
        decode_inconsistent(t, out, depth);
        if (!same(t, out)) return 1;
    }
    if (possible & (1u << FTFY_LATIN1)) {
        /* Latin-1 meant as Windows-1252: only C1 controls can change, and
         * ftfy's strict windows-1252 refuses 81 8D 8F 90 9D */
        out->len = 0;
        textfix_reserve(out, n);
        int changed = 0, ok = 1;
        for (size_t i = 0; i < n && ok; i++) {
            uint32_t c = s[i];
            if (c >= 0x80 && c <= 0x9F) {
                ok = !(c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D);
                c = cp1252_c1[c - 0x80];
                changed = 1;
            }
            out->cp[out->len++] = c;
        }
        if (ok && changed) return 1;
    }
    int c1 = 0;
    for (size_t i = 0; i < n && !c1; i++) c1 = s[i] >= 0x80 && s[i] <= 0x9F;
    if (c1) {
        fix_c1_controls(t, out);
        return !same(t, out);
    }
    return 0;
}

#define FTFY_MAX_ENCODING_STEPS 64 /* ftfy loops to a fixed point; we bound it */

static void fix_encoding_full(textfix_buf *t, int depth)
{
    struct fixenc_work w = {{0}, {0}};
    textfix_buf out = {0};
    for (int step = 0; step < FTFY_MAX_ENCODING_STEPS && fix_encoding_step(t, &out, &w, depth); step++)
        swap_buf(t, &out);
    mm_buf_free(&w.a);
    mm_buf_free(&w.b);
    textfix_buf_free(&out);
}

/* ---- the simple ftfy fixers (one pass each, in -> out) ------------------- */

static void fix_c1_controls(const textfix_buf *in, textfix_buf *out)
{
    out->len = 0;
    textfix_reserve(out, in->len);
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i];
        out->cp[out->len++] = (c >= 0x80 && c <= 0x9F) ? cp1252_c1[c - 0x80] : c;
    }
}

static const struct { uint32_t c; uint32_t to[3]; } ligatures[] = {
    {0x0132, {'I', 'J', 0}},   {0x0133, {'i', 'j', 0}},   {0x0149, {0x02BC, 'n', 0}},
    {0x01F1, {'D', 'Z', 0}},   {0x01F2, {'D', 'z', 0}},   {0x01F3, {'d', 'z', 0}},
    {0x01C4, {'D', 0x017D, 0}}, {0x01C5, {'D', 0x017E, 0}}, {0x01C6, {'d', 0x017E, 0}},
    {0x01C7, {'L', 'J', 0}},   {0x01C8, {'L', 'j', 0}},   {0x01C9, {'l', 'j', 0}},
    {0x01CA, {'N', 'J', 0}},   {0x01CB, {'N', 'j', 0}},   {0x01CC, {'n', 'j', 0}},
    {0xFB00, {'f', 'f', 0}},   {0xFB01, {'f', 'i', 0}},   {0xFB02, {'f', 'l', 0}},
    {0xFB03, {'f', 'f', 'i'}}, {0xFB04, {'f', 'f', 'l'}}, {0xFB05, {0x017F, 't', 0}},
    {0xFB06, {'s', 't', 0}},
};

/* NFKC of one code point (used for U+FF01..U+FFEF). */
static void nfkc_char(uint32_t c, textfix_buf *out)
{
    unsigned char u[4];
    int k = textfix_utf8_put(c, u);
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t r =
        utf8proc_map(u, k, &m, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
    if (r < 0) { /* utf8proc's out of memory: the character stays */
        free(m);
        put(out, c);
        return;
    }
    utf8proc_ssize_t p = 0;
    while (p < r) {
        utf8proc_int32_t d;
        utf8proc_ssize_t step = utf8proc_iterate(m + p, r - p, &d);
        if (step <= 0) break;
        put(out, (uint32_t)d);
        p += step;
    }
    free(m);
}

/* fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks
 * in ftfy's order: each is a per-character map except CRLF, and none of the
 * later ones undoes an earlier one, so they run in one pass. */
static void fix_chars(const textfix_buf *in, textfix_buf *out)
{
    out->len = 0;
    textfix_reserve(out, in->len);
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i];
        if (c < 0x80 && c != '\r') {
            put(out, c);
            continue;
        }
        size_t start = out->len;
        int done = 0;
        if ((c >= 0x0132 && c <= 0x01F3) || (c >= 0xFB00 && c <= 0xFB06)) {
            for (size_t k = 0; k < sizeof ligatures / sizeof ligatures[0]; k++)
                if (ligatures[k].c == c) {
                    for (int m = 0; m < 3 && ligatures[k].to[m]; m++)
                        put(out, ligatures[k].to[m]);
                    done = 1;
                    break;
                }
        }
        if (!done && c == 0x3000) {
            put(out, ' ');
            done = 1;
        } else if (!done && c >= 0xFF01 && c <= 0xFFEF) {
            nfkc_char(c, out);
            done = 1;
        }
        if (!done) put(out, c);
        /* uncurl_quotes and fix_line_breaks on what was just written */
        for (size_t k = start; k < out->len; k++) {
            uint32_t d = out->cp[k];
            if (d == 0x02BC || (d >= 0x2018 && d <= 0x201B)) out->cp[k] = '\'';
            else if (d >= 0x201C && d <= 0x201F) out->cp[k] = '"';
            else if (d == 0x2028 || d == 0x2029 || d == 0x85) out->cp[k] = '\n';
            else if (d == '\r') {
                out->cp[k] = '\n';
                if (i + 1 < in->len && in->cp[i + 1] == '\n') i++; /* CRLF -> LF */
            }
        }
    }
}

/* remove_terminal_escapes (ESC '[' (\d|;)* [A-Za-z], \d being any Unicode
 * decimal digit as in Python's re) and remove_control_chars. */
static int is_removed_control(uint32_t c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

static void remove_escapes_and_controls(const textfix_buf *in, textfix_buf *out)
{
    /* first the escapes (a whole pass, as ftfy), then the controls */
    textfix_buf mid = {0};
    textfix_reserve(&mid, in->len + 1);
    for (size_t i = 0; i < in->len; i++) {
        if (in->cp[i] == 0x1B && i + 1 < in->len && in->cp[i + 1] == '[') {
            size_t j = i + 2;
            while (j < in->len && (in->cp[j] == ';' ||
                                   utf8proc_category((utf8proc_int32_t)in->cp[j]) == UTF8PROC_CATEGORY_ND))
                j++;
            if (j < in->len && in->cp[j] < 0x80 && ((in->cp[j] | 0x20) >= 'a' && (in->cp[j] | 0x20) <= 'z')) {
                i = j;
                continue;
            }
        }
        mid.cp[mid.len++] = in->cp[i];
    }
    out->len = 0;
    textfix_reserve(out, mid.len);
    for (size_t i = 0; i < mid.len; i++)
        if (!is_removed_control(mid.cp[i])) out->cp[out->len++] = mid.cp[i];
    textfix_buf_free(&mid);
}

int textfix_nfc(textfix_buf *t, mm_error *err)
{
    int simple = 1;
    for (size_t i = 0; i < t->len && simple; i++) simple = t->cp[i] < 0x300;
    if (simple) return 0; /* nothing below U+0300 composes or decomposes under NFC */
    size_t nbytes = 0;
    for (size_t i = 0; i < t->len; i++) nbytes += t->cp[i] < 0x80 ? 1 : t->cp[i] < 0x800 ? 2 : t->cp[i] < 0x10000 ? 3 : 4;
    unsigned char *u = xmalloc(nbytes + 1);
    size_t p = 0;
    for (size_t i = 0; i < t->len; i++) p += (size_t)textfix_utf8_put(t->cp[i], u + p);
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t r = utf8proc_map(u, (utf8proc_ssize_t)p, &m, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    free(u);
    if (r < 0) {
        free(m);
        if (r == UTF8PROC_ERROR_NOMEM) return mm_fail(err, MM_ERR_NOMEM, "out of memory (NFC)");
        return mm_fail(err, MM_ERR_MALFORMED, "NFC failed: %s", utf8proc_errmsg(r));
    }
    int rc = textfix_decode_utf8((const char *)m, (size_t)r, TEXTFIX_UTF8_STRICT, t, err);
    free(m);
    return rc;
}

/* ---- fix_text driver ----------------------------------------------------- */

#define FTFY_MAX_DECODE_LENGTH 1000000 /* ftfy's default segment bound */
#define FTFY_MAX_ROUNDS 16             /* ftfy loops to a fixed point; we bound it */

/* fix_and_explain on one segment (in place in seg). */
static int fix_segment(textfix_buf *seg, int unescape, textfix_buf *a, textfix_buf *b, mm_error *err)
{
    for (int round = 0; round < FTFY_MAX_ROUNDS; round++) {
        a->len = 0;
        put_n(a, seg->cp, seg->len); /* a = this round's input */
        if (unescape) {
            ftfy_unescape_html(seg->cp, seg->len, b);
            swap_buf(seg, b);
        }
        fix_encoding_full(seg, 0);
        fix_c1_controls(seg, b);
        swap_buf(seg, b);
        fix_chars(seg, b);
        swap_buf(seg, b);
        remove_escapes_and_controls(seg, b);
        swap_buf(seg, b);
        if (textfix_nfc(seg, err)) return -1;
        if (same(seg, a)) return 0;
    }
    return 0;
}

/* Can one of fix_segment's fixers other than fix_encoding and NFC change c?
 * ('&' for unescape_html, fix_c1_controls, fix_chars' maps and CRLF,
 * remove_terminal_escapes (ESC is a removed control) and
 * remove_control_chars.) */
static int fixer_char(uint32_t c)
{
    if (c < 0x80) return c == '&' || c == '\r' || is_removed_control(c);
    if (c <= 0x9F) return 1; /* C1 controls, U+0085 a line break */
    if (c < 0x0132) return 0;
    if (c <= 0x01F3) {
        for (size_t k = 0; k < sizeof ligatures / sizeof ligatures[0]; k++)
            if (ligatures[k].c == c) return 1;
        return 0;
    }
    return c == 0x02BC || (c >= 0x2018 && c <= 0x201F) || c == 0x2028 || c == 0x2029 || c == 0x3000 ||
           (c >= 0xFB00 && c <= 0xFB06) || (c >= 0xFF01 && c <= 0xFFEF) || is_removed_control(c);
}

/* The common caption: does fix_text change nothing in t but (maybe) its NFC?
 * True when no character makes a fixer fire and ftfy's badness heuristic
 * finds nothing in any segment (fix_encoding leaves text that is not bad).
 * ASCII text without '&', CR or removable controls needs no badness test. */
static int fixers_idle(const textfix_buf *t)
{
    int ascii = 1;
    for (size_t i = 0; i < t->len; i++) {
        uint32_t c = t->cp[i];
        if (fixer_char(c)) return 0;
        ascii &= c < 0x80;
    }
    if (ascii) return 1;
    if (t->len > FTFY_MAX_DECODE_LENGTH) return 0; /* segments cut at the bound: the general path */
    for (size_t pos = 0; pos < t->len;) {
        size_t brk = pos;
        while (brk < t->len && t->cp[brk] != '\n') brk++;
        brk = brk < t->len ? brk + 1 : t->len;
        if (is_bad(t->cp + pos, brk - pos)) return 0;
        pos = brk;
    }
    return 1;
}

int textfix_fix_text(textfix_buf *text, mm_error *err)
{
    if (fixers_idle(text)) {
        /* the first round of every segment changes at most its NFC; when it
         * changes nothing, fix_and_explain stops there */
        int simple = 1;
        for (size_t i = 0; i < text->len && simple; i++) simple = text->cp[i] < 0x300;
        if (simple) return 0; /* nothing below U+0300 composes or decomposes */
        textfix_buf orig = {0};
        put_n(&orig, text->cp, text->len);
        if (textfix_nfc(text, err)) { textfix_buf_free(&orig); return -1; }
        int unchanged = same(text, &orig);
        swap_buf(text, &orig); /* NFC changed it: run every fixer on the original */
        textfix_buf_free(&orig);
        if (unchanged) return 0;
    }
    textfix_buf out = {0}, seg = {0}, work[3] = {{0}};
    int rc = -1, unescape = 1;
    size_t pos = 0;
    textfix_reserve(&out, text->len + 1);
    while (pos < text->len) {
        size_t brk = pos;
        while (brk < text->len && text->cp[brk] != '\n') brk++;
        brk = brk < text->len ? brk + 1 : text->len;
        if (brk - pos > FTFY_MAX_DECODE_LENGTH) brk = pos + FTFY_MAX_DECODE_LENGTH;
        seg.len = 0;
        put_n(&seg, text->cp + pos, brk - pos);
        for (size_t i = 0; i < seg.len && unescape; i++)
            if (seg.cp[i] == '<') unescape = 0; /* ftfy "auto": off from here on */
        if (fix_segment(&seg, unescape, &work[0], &work[1], err)) goto done;
        put_n(&out, seg.cp, seg.len);
        pos = brk;
    }
    swap_buf(text, &out);
    rc = 0;
done:
    textfix_buf_free(&out);
    textfix_buf_free(&seg);
    for (int k = 0; k < 3; k++) textfix_buf_free(&work[k]);
    return rc;
}
