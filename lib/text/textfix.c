/* textfix.c — see textfix.h. */
#include "text/textfix.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- buffers ------------------------------------------------------------ */

int textfix_reserve(textfix_buf *b, size_t n, mm_error *err)
{
    if (n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < n) {
        if (cap > ((size_t)-1) / 2 / sizeof(uint32_t)) return mm_fail(err, MM_ERR_NOMEM, "text too long");
        cap *= 2;
    }
    uint32_t *p = realloc(b->cp, cap * sizeof *p);
    if (!p) return mm_fail(err, MM_ERR_NOMEM, "out of memory (text of %zu characters)", n);
    b->cp = p;
    b->cap = cap;
    return 0;
}

void textfix_buf_free(textfix_buf *b)
{
    free(b->cp);
    b->cp = NULL;
    b->len = b->cap = 0;
}

static inline int put(textfix_buf *b, uint32_t c, mm_error *err)
{
    if (b->len == b->cap && textfix_reserve(b, b->len + 1, err)) return -1;
    b->cp[b->len++] = c;
    return 0;
}

static int put_n(textfix_buf *b, const uint32_t *c, size_t n, mm_error *err)
{
    if (textfix_reserve(b, b->len + n, err)) return -1;
    memcpy(b->cp + b->len, c, n * sizeof *c);
    b->len += n;
    return 0;
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
    if (textfix_reserve(out, len + 1, err)) return -1; /* never more code points than bytes */
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
 * The complete WHATWG table as Python 3.11's html.entities.html5 has it: the
 * name without its ';', the one or two code points it stands for, and
 * whether the name is also recognised without ';' (the 106 legacy names; for
 * all of them the value is the same). Sorted by strcmp. Generated with
 *   import html.entities as h
 *   for k in sorted(k[:-1] for k in h.html5 if k.endswith(';')):
 *       v = [ord(c) for c in h.html5[k + ';']] + [0]
 *       print('{"%s",0x%X,0x%X,%d},' % (k, v[0], v[1], k in h.html5))
 */
struct html_entity {
    const char *name;
    uint32_t cp0, cp1;
    int legacy;
};

static const struct html_entity html_entities[] = {
    {"AElig",0xC6,0x0,1}, {"AMP",0x26,0x0,1}, {"Aacute",0xC1,0x0,1}, {"Abreve",0x102,0x0,0},
    {"Acirc",0xC2,0x0,1}, {"Acy",0x410,0x0,0}, {"Afr",0x1D504,0x0,0}, {"Agrave",0xC0,0x0,1},
    {"Alpha",0x391,0x0,0}, {"Amacr",0x100,0x0,0}, {"And",0x2A53,0x0,0}, {"Aogon",0x104,0x0,0},
    {"Aopf",0x1D538,0x0,0}, {"ApplyFunction",0x2061,0x0,0}, {"Aring",0xC5,0x0,1},
    {"Ascr",0x1D49C,0x0,0}, {"Assign",0x2254,0x0,0}, {"Atilde",0xC3,0x0,1}, {"Auml",0xC4,0x0,1},
    {"Backslash",0x2216,0x0,0}, {"Barv",0x2AE7,0x0,0}, {"Barwed",0x2306,0x0,0}, {"Bcy",0x411,0x0,0},
    {"Because",0x2235,0x0,0}, {"Bernoullis",0x212C,0x0,0}, {"Beta",0x392,0x0,0},
    {"Bfr",0x1D505,0x0,0}, {"Bopf",0x1D539,0x0,0}, {"Breve",0x2D8,0x0,0}, {"Bscr",0x212C,0x0,0},
    {"Bumpeq",0x224E,0x0,0}, {"CHcy",0x427,0x0,0}, {"COPY",0xA9,0x0,1}, {"Cacute",0x106,0x0,0},
    {"Cap",0x22D2,0x0,0}, {"CapitalDifferentialD",0x2145,0x0,0}, {"Cayleys",0x212D,0x0,0},
    {"Ccaron",0x10C,0x0,0}, {"Ccedil",0xC7,0x0,1}, {"Ccirc",0x108,0x0,0}, {"Cconint",0x2230,0x0,0},
    {"Cdot",0x10A,0x0,0}, {"Cedilla",0xB8,0x0,0}, {"CenterDot",0xB7,0x0,0}, {"Cfr",0x212D,0x0,0},
    {"Chi",0x3A7,0x0,0}, {"CircleDot",0x2299,0x0,0}, {"CircleMinus",0x2296,0x0,0},
    {"CirclePlus",0x2295,0x0,0}, {"CircleTimes",0x2297,0x0,0},
    {"ClockwiseContourIntegral",0x2232,0x0,0}, {"CloseCurlyDoubleQuote",0x201D,0x0,0},
    {"CloseCurlyQuote",0x2019,0x0,0}, {"Colon",0x2237,0x0,0}, {"Colone",0x2A74,0x0,0},
    {"Congruent",0x2261,0x0,0}, {"Conint",0x222F,0x0,0}, {"ContourIntegral",0x222E,0x0,0},
    {"Copf",0x2102,0x0,0}, {"Coproduct",0x2210,0x0,0},
    {"CounterClockwiseContourIntegral",0x2233,0x0,0}, {"Cross",0x2A2F,0x0,0},
    {"Cscr",0x1D49E,0x0,0}, {"Cup",0x22D3,0x0,0}, {"CupCap",0x224D,0x0,0}, {"DD",0x2145,0x0,0},
    {"DDotrahd",0x2911,0x0,0}, {"DJcy",0x402,0x0,0}, {"DScy",0x405,0x0,0}, {"DZcy",0x40F,0x0,0},
    {"Dagger",0x2021,0x0,0}, {"Darr",0x21A1,0x0,0}, {"Dashv",0x2AE4,0x0,0}, {"Dcaron",0x10E,0x0,0},
    {"Dcy",0x414,0x0,0}, {"Del",0x2207,0x0,0}, {"Delta",0x394,0x0,0}, {"Dfr",0x1D507,0x0,0},
    {"DiacriticalAcute",0xB4,0x0,0}, {"DiacriticalDot",0x2D9,0x0,0},
    {"DiacriticalDoubleAcute",0x2DD,0x0,0}, {"DiacriticalGrave",0x60,0x0,0},
    {"DiacriticalTilde",0x2DC,0x0,0}, {"Diamond",0x22C4,0x0,0}, {"DifferentialD",0x2146,0x0,0},
    {"Dopf",0x1D53B,0x0,0}, {"Dot",0xA8,0x0,0}, {"DotDot",0x20DC,0x0,0}, {"DotEqual",0x2250,0x0,0},
    {"DoubleContourIntegral",0x222F,0x0,0}, {"DoubleDot",0xA8,0x0,0},
    {"DoubleDownArrow",0x21D3,0x0,0}, {"DoubleLeftArrow",0x21D0,0x0,0},
    {"DoubleLeftRightArrow",0x21D4,0x0,0}, {"DoubleLeftTee",0x2AE4,0x0,0},
    {"DoubleLongLeftArrow",0x27F8,0x0,0}, {"DoubleLongLeftRightArrow",0x27FA,0x0,0},
    {"DoubleLongRightArrow",0x27F9,0x0,0}, {"DoubleRightArrow",0x21D2,0x0,0},
    {"DoubleRightTee",0x22A8,0x0,0}, {"DoubleUpArrow",0x21D1,0x0,0},
    {"DoubleUpDownArrow",0x21D5,0x0,0}, {"DoubleVerticalBar",0x2225,0x0,0},
    {"DownArrow",0x2193,0x0,0}, {"DownArrowBar",0x2913,0x0,0}, {"DownArrowUpArrow",0x21F5,0x0,0},
    {"DownBreve",0x311,0x0,0}, {"DownLeftRightVector",0x2950,0x0,0},
    {"DownLeftTeeVector",0x295E,0x0,0}, {"DownLeftVector",0x21BD,0x0,0},
    {"DownLeftVectorBar",0x2956,0x0,0}, {"DownRightTeeVector",0x295F,0x0,0},
    {"DownRightVector",0x21C1,0x0,0}, {"DownRightVectorBar",0x2957,0x0,0}, {"DownTee",0x22A4,0x0,0},
    {"DownTeeArrow",0x21A7,0x0,0}, {"Downarrow",0x21D3,0x0,0}, {"Dscr",0x1D49F,0x0,0},
    {"Dstrok",0x110,0x0,0}, {"ENG",0x14A,0x0,0}, {"ETH",0xD0,0x0,1}, {"Eacute",0xC9,0x0,1},
    {"Ecaron",0x11A,0x0,0}, {"Ecirc",0xCA,0x0,1}, {"Ecy",0x42D,0x0,0}, {"Edot",0x116,0x0,0},
    {"Efr",0x1D508,0x0,0}, {"Egrave",0xC8,0x0,1}, {"Element",0x2208,0x0,0}, {"Emacr",0x112,0x0,0},
    {"EmptySmallSquare",0x25FB,0x0,0}, {"EmptyVerySmallSquare",0x25AB,0x0,0}, {"Eogon",0x118,0x0,0},
    {"Eopf",0x1D53C,0x0,0}, {"Epsilon",0x395,0x0,0}, {"Equal",0x2A75,0x0,0},
    {"EqualTilde",0x2242,0x0,0}, {"Equilibrium",0x21CC,0x0,0}, {"Escr",0x2130,0x0,0},
    {"Esim",0x2A73,0x0,0}, {"Eta",0x397,0x0,0}, {"Euml",0xCB,0x0,1}, {"Exists",0x2203,0x0,0},
    {"ExponentialE",0x2147,0x0,0}, {"Fcy",0x424,0x0,0}, {"Ffr",0x1D509,0x0,0},
    {"FilledSmallSquare",0x25FC,0x0,0}, {"FilledVerySmallSquare",0x25AA,0x0,0},
    {"Fopf",0x1D53D,0x0,0}, {"ForAll",0x2200,0x0,0}, {"Fouriertrf",0x2131,0x0,0},
    {"Fscr",0x2131,0x0,0}, {"GJcy",0x403,0x0,0}, {"GT",0x3E,0x0,1}, {"Gamma",0x393,0x0,0},
    {"Gammad",0x3DC,0x0,0}, {"Gbreve",0x11E,0x0,0}, {"Gcedil",0x122,0x0,0}, {"Gcirc",0x11C,0x0,0},
    {"Gcy",0x413,0x0,0}, {"Gdot",0x120,0x0,0}, {"Gfr",0x1D50A,0x0,0}, {"Gg",0x22D9,0x0,0},
    {"Gopf",0x1D53E,0x0,0}, {"GreaterEqual",0x2265,0x0,0}, {"GreaterEqualLess",0x22DB,0x0,0},
    {"GreaterFullEqual",0x2267,0x0,0}, {"GreaterGreater",0x2AA2,0x0,0},
    {"GreaterLess",0x2277,0x0,0}, {"GreaterSlantEqual",0x2A7E,0x0,0}, {"GreaterTilde",0x2273,0x0,0},
    {"Gscr",0x1D4A2,0x0,0}, {"Gt",0x226B,0x0,0}, {"HARDcy",0x42A,0x0,0}, {"Hacek",0x2C7,0x0,0},
    {"Hat",0x5E,0x0,0}, {"Hcirc",0x124,0x0,0}, {"Hfr",0x210C,0x0,0}, {"HilbertSpace",0x210B,0x0,0},
    {"Hopf",0x210D,0x0,0}, {"HorizontalLine",0x2500,0x0,0}, {"Hscr",0x210B,0x0,0},
    {"Hstrok",0x126,0x0,0}, {"HumpDownHump",0x224E,0x0,0}, {"HumpEqual",0x224F,0x0,0},
    {"IEcy",0x415,0x0,0}, {"IJlig",0x132,0x0,0}, {"IOcy",0x401,0x0,0}, {"Iacute",0xCD,0x0,1},
    {"Icirc",0xCE,0x0,1}, {"Icy",0x418,0x0,0}, {"Idot",0x130,0x0,0}, {"Ifr",0x2111,0x0,0},
    {"Igrave",0xCC,0x0,1}, {"Im",0x2111,0x0,0}, {"Imacr",0x12A,0x0,0}, {"ImaginaryI",0x2148,0x0,0},
    {"Implies",0x21D2,0x0,0}, {"Int",0x222C,0x0,0}, {"Integral",0x222B,0x0,0},
    {"Intersection",0x22C2,0x0,0}, {"InvisibleComma",0x2063,0x0,0}, {"InvisibleTimes",0x2062,0x0,0},
    {"Iogon",0x12E,0x0,0}, {"Iopf",0x1D540,0x0,0}, {"Iota",0x399,0x0,0}, {"Iscr",0x2110,0x0,0},
    {"Itilde",0x128,0x0,0}, {"Iukcy",0x406,0x0,0}, {"Iuml",0xCF,0x0,1}, {"Jcirc",0x134,0x0,0},
    {"Jcy",0x419,0x0,0}, {"Jfr",0x1D50D,0x0,0}, {"Jopf",0x1D541,0x0,0}, {"Jscr",0x1D4A5,0x0,0},
    {"Jsercy",0x408,0x0,0}, {"Jukcy",0x404,0x0,0}, {"KHcy",0x425,0x0,0}, {"KJcy",0x40C,0x0,0},
    {"Kappa",0x39A,0x0,0}, {"Kcedil",0x136,0x0,0}, {"Kcy",0x41A,0x0,0}, {"Kfr",0x1D50E,0x0,0},
    {"Kopf",0x1D542,0x0,0}, {"Kscr",0x1D4A6,0x0,0}, {"LJcy",0x409,0x0,0}, {"LT",0x3C,0x0,1},
    {"Lacute",0x139,0x0,0}, {"Lambda",0x39B,0x0,0}, {"Lang",0x27EA,0x0,0},
    {"Laplacetrf",0x2112,0x0,0}, {"Larr",0x219E,0x0,0}, {"Lcaron",0x13D,0x0,0},
    {"Lcedil",0x13B,0x0,0}, {"Lcy",0x41B,0x0,0}, {"LeftAngleBracket",0x27E8,0x0,0},
    {"LeftArrow",0x2190,0x0,0}, {"LeftArrowBar",0x21E4,0x0,0}, {"LeftArrowRightArrow",0x21C6,0x0,0},
    {"LeftCeiling",0x2308,0x0,0}, {"LeftDoubleBracket",0x27E6,0x0,0},
    {"LeftDownTeeVector",0x2961,0x0,0}, {"LeftDownVector",0x21C3,0x0,0},
    {"LeftDownVectorBar",0x2959,0x0,0}, {"LeftFloor",0x230A,0x0,0}, {"LeftRightArrow",0x2194,0x0,0},
    {"LeftRightVector",0x294E,0x0,0}, {"LeftTee",0x22A3,0x0,0}, {"LeftTeeArrow",0x21A4,0x0,0},
    {"LeftTeeVector",0x295A,0x0,0}, {"LeftTriangle",0x22B2,0x0,0}, {"LeftTriangleBar",0x29CF,0x0,0},
    {"LeftTriangleEqual",0x22B4,0x0,0}, {"LeftUpDownVector",0x2951,0x0,0},
    {"LeftUpTeeVector",0x2960,0x0,0}, {"LeftUpVector",0x21BF,0x0,0},
    {"LeftUpVectorBar",0x2958,0x0,0}, {"LeftVector",0x21BC,0x0,0}, {"LeftVectorBar",0x2952,0x0,0},
    {"Leftarrow",0x21D0,0x0,0}, {"Leftrightarrow",0x21D4,0x0,0}, {"LessEqualGreater",0x22DA,0x0,0},
    {"LessFullEqual",0x2266,0x0,0}, {"LessGreater",0x2276,0x0,0}, {"LessLess",0x2AA1,0x0,0},
    {"LessSlantEqual",0x2A7D,0x0,0}, {"LessTilde",0x2272,0x0,0}, {"Lfr",0x1D50F,0x0,0},
    {"Ll",0x22D8,0x0,0}, {"Lleftarrow",0x21DA,0x0,0}, {"Lmidot",0x13F,0x0,0},
    {"LongLeftArrow",0x27F5,0x0,0}, {"LongLeftRightArrow",0x27F7,0x0,0},
    {"LongRightArrow",0x27F6,0x0,0}, {"Longleftarrow",0x27F8,0x0,0},
    {"Longleftrightarrow",0x27FA,0x0,0}, {"Longrightarrow",0x27F9,0x0,0}, {"Lopf",0x1D543,0x0,0},
    {"LowerLeftArrow",0x2199,0x0,0}, {"LowerRightArrow",0x2198,0x0,0}, {"Lscr",0x2112,0x0,0},
    {"Lsh",0x21B0,0x0,0}, {"Lstrok",0x141,0x0,0}, {"Lt",0x226A,0x0,0}, {"Map",0x2905,0x0,0},
    {"Mcy",0x41C,0x0,0}, {"MediumSpace",0x205F,0x0,0}, {"Mellintrf",0x2133,0x0,0},
    {"Mfr",0x1D510,0x0,0}, {"MinusPlus",0x2213,0x0,0}, {"Mopf",0x1D544,0x0,0},
    {"Mscr",0x2133,0x0,0}, {"Mu",0x39C,0x0,0}, {"NJcy",0x40A,0x0,0}, {"Nacute",0x143,0x0,0},
    {"Ncaron",0x147,0x0,0}, {"Ncedil",0x145,0x0,0}, {"Ncy",0x41D,0x0,0},
    {"NegativeMediumSpace",0x200B,0x0,0}, {"NegativeThickSpace",0x200B,0x0,0},
    {"NegativeThinSpace",0x200B,0x0,0}, {"NegativeVeryThinSpace",0x200B,0x0,0},
    {"NestedGreaterGreater",0x226B,0x0,0}, {"NestedLessLess",0x226A,0x0,0}, {"NewLine",0xA,0x0,0},
    {"Nfr",0x1D511,0x0,0}, {"NoBreak",0x2060,0x0,0}, {"NonBreakingSpace",0xA0,0x0,0},
    {"Nopf",0x2115,0x0,0}, {"Not",0x2AEC,0x0,0}, {"NotCongruent",0x2262,0x0,0},
    {"NotCupCap",0x226D,0x0,0}, {"NotDoubleVerticalBar",0x2226,0x0,0}, {"NotElement",0x2209,0x0,0},
    {"NotEqual",0x2260,0x0,0}, {"NotEqualTilde",0x2242,0x338,0}, {"NotExists",0x2204,0x0,0},
    {"NotGreater",0x226F,0x0,0}, {"NotGreaterEqual",0x2271,0x0,0},
    {"NotGreaterFullEqual",0x2267,0x338,0}, {"NotGreaterGreater",0x226B,0x338,0},
    {"NotGreaterLess",0x2279,0x0,0}, {"NotGreaterSlantEqual",0x2A7E,0x338,0},
    {"NotGreaterTilde",0x2275,0x0,0}, {"NotHumpDownHump",0x224E,0x338,0},
    {"NotHumpEqual",0x224F,0x338,0}, {"NotLeftTriangle",0x22EA,0x0,0},
    {"NotLeftTriangleBar",0x29CF,0x338,0}, {"NotLeftTriangleEqual",0x22EC,0x0,0},
    {"NotLess",0x226E,0x0,0}, {"NotLessEqual",0x2270,0x0,0}, {"NotLessGreater",0x2278,0x0,0},
    {"NotLessLess",0x226A,0x338,0}, {"NotLessSlantEqual",0x2A7D,0x338,0},
    {"NotLessTilde",0x2274,0x0,0}, {"NotNestedGreaterGreater",0x2AA2,0x338,0},
    {"NotNestedLessLess",0x2AA1,0x338,0}, {"NotPrecedes",0x2280,0x0,0},
    {"NotPrecedesEqual",0x2AAF,0x338,0}, {"NotPrecedesSlantEqual",0x22E0,0x0,0},
    {"NotReverseElement",0x220C,0x0,0}, {"NotRightTriangle",0x22EB,0x0,0},
    {"NotRightTriangleBar",0x29D0,0x338,0}, {"NotRightTriangleEqual",0x22ED,0x0,0},
    {"NotSquareSubset",0x228F,0x338,0}, {"NotSquareSubsetEqual",0x22E2,0x0,0},
    {"NotSquareSuperset",0x2290,0x338,0}, {"NotSquareSupersetEqual",0x22E3,0x0,0},
    {"NotSubset",0x2282,0x20D2,0}, {"NotSubsetEqual",0x2288,0x0,0}, {"NotSucceeds",0x2281,0x0,0},
    {"NotSucceedsEqual",0x2AB0,0x338,0}, {"NotSucceedsSlantEqual",0x22E1,0x0,0},
    {"NotSucceedsTilde",0x227F,0x338,0}, {"NotSuperset",0x2283,0x20D2,0},
    {"NotSupersetEqual",0x2289,0x0,0}, {"NotTilde",0x2241,0x0,0}, {"NotTildeEqual",0x2244,0x0,0},
    {"NotTildeFullEqual",0x2247,0x0,0}, {"NotTildeTilde",0x2249,0x0,0},
    {"NotVerticalBar",0x2224,0x0,0}, {"Nscr",0x1D4A9,0x0,0}, {"Ntilde",0xD1,0x0,1},
    {"Nu",0x39D,0x0,0}, {"OElig",0x152,0x0,0}, {"Oacute",0xD3,0x0,1}, {"Ocirc",0xD4,0x0,1},
    {"Ocy",0x41E,0x0,0}, {"Odblac",0x150,0x0,0}, {"Ofr",0x1D512,0x0,0}, {"Ograve",0xD2,0x0,1},
    {"Omacr",0x14C,0x0,0}, {"Omega",0x3A9,0x0,0}, {"Omicron",0x39F,0x0,0}, {"Oopf",0x1D546,0x0,0},
    {"OpenCurlyDoubleQuote",0x201C,0x0,0}, {"OpenCurlyQuote",0x2018,0x0,0}, {"Or",0x2A54,0x0,0},
    {"Oscr",0x1D4AA,0x0,0}, {"Oslash",0xD8,0x0,1}, {"Otilde",0xD5,0x0,1}, {"Otimes",0x2A37,0x0,0},
    {"Ouml",0xD6,0x0,1}, {"OverBar",0x203E,0x0,0}, {"OverBrace",0x23DE,0x0,0},
    {"OverBracket",0x23B4,0x0,0}, {"OverParenthesis",0x23DC,0x0,0}, {"PartialD",0x2202,0x0,0},
    {"Pcy",0x41F,0x0,0}, {"Pfr",0x1D513,0x0,0}, {"Phi",0x3A6,0x0,0}, {"Pi",0x3A0,0x0,0},
    {"PlusMinus",0xB1,0x0,0}, {"Poincareplane",0x210C,0x0,0}, {"Popf",0x2119,0x0,0},
    {"Pr",0x2ABB,0x0,0}, {"Precedes",0x227A,0x0,0}, {"PrecedesEqual",0x2AAF,0x0,0},
    {"PrecedesSlantEqual",0x227C,0x0,0}, {"PrecedesTilde",0x227E,0x0,0}, {"Prime",0x2033,0x0,0},
    {"Product",0x220F,0x0,0}, {"Proportion",0x2237,0x0,0}, {"Proportional",0x221D,0x0,0},
    {"Pscr",0x1D4AB,0x0,0}, {"Psi",0x3A8,0x0,0}, {"QUOT",0x22,0x0,1}, {"Qfr",0x1D514,0x0,0},
    {"Qopf",0x211A,0x0,0}, {"Qscr",0x1D4AC,0x0,0}, {"RBarr",0x2910,0x0,0}, {"REG",0xAE,0x0,1},
    {"Racute",0x154,0x0,0}, {"Rang",0x27EB,0x0,0}, {"Rarr",0x21A0,0x0,0}, {"Rarrtl",0x2916,0x0,0},
    {"Rcaron",0x158,0x0,0}, {"Rcedil",0x156,0x0,0}, {"Rcy",0x420,0x0,0}, {"Re",0x211C,0x0,0},
    {"ReverseElement",0x220B,0x0,0}, {"ReverseEquilibrium",0x21CB,0x0,0},
    {"ReverseUpEquilibrium",0x296F,0x0,0}, {"Rfr",0x211C,0x0,0}, {"Rho",0x3A1,0x0,0},
    {"RightAngleBracket",0x27E9,0x0,0}, {"RightArrow",0x2192,0x0,0}, {"RightArrowBar",0x21E5,0x0,0},
    {"RightArrowLeftArrow",0x21C4,0x0,0}, {"RightCeiling",0x2309,0x0,0},
    {"RightDoubleBracket",0x27E7,0x0,0}, {"RightDownTeeVector",0x295D,0x0,0},
    {"RightDownVector",0x21C2,0x0,0}, {"RightDownVectorBar",0x2955,0x0,0},
    {"RightFloor",0x230B,0x0,0}, {"RightTee",0x22A2,0x0,0}, {"RightTeeArrow",0x21A6,0x0,0},
    {"RightTeeVector",0x295B,0x0,0}, {"RightTriangle",0x22B3,0x0,0},
    {"RightTriangleBar",0x29D0,0x0,0}, {"RightTriangleEqual",0x22B5,0x0,0},
    {"RightUpDownVector",0x294F,0x0,0}, {"RightUpTeeVector",0x295C,0x0,0},
    {"RightUpVector",0x21BE,0x0,0}, {"RightUpVectorBar",0x2954,0x0,0}, {"RightVector",0x21C0,0x0,0},
    {"RightVectorBar",0x2953,0x0,0}, {"Rightarrow",0x21D2,0x0,0}, {"Ropf",0x211D,0x0,0},
    {"RoundImplies",0x2970,0x0,0}, {"Rrightarrow",0x21DB,0x0,0}, {"Rscr",0x211B,0x0,0},
    {"Rsh",0x21B1,0x0,0}, {"RuleDelayed",0x29F4,0x0,0}, {"SHCHcy",0x429,0x0,0},
    {"SHcy",0x428,0x0,0}, {"SOFTcy",0x42C,0x0,0}, {"Sacute",0x15A,0x0,0}, {"Sc",0x2ABC,0x0,0},
    {"Scaron",0x160,0x0,0}, {"Scedil",0x15E,0x0,0}, {"Scirc",0x15C,0x0,0}, {"Scy",0x421,0x0,0},
    {"Sfr",0x1D516,0x0,0}, {"ShortDownArrow",0x2193,0x0,0}, {"ShortLeftArrow",0x2190,0x0,0},
    {"ShortRightArrow",0x2192,0x0,0}, {"ShortUpArrow",0x2191,0x0,0}, {"Sigma",0x3A3,0x0,0},
    {"SmallCircle",0x2218,0x0,0}, {"Sopf",0x1D54A,0x0,0}, {"Sqrt",0x221A,0x0,0},
    {"Square",0x25A1,0x0,0}, {"SquareIntersection",0x2293,0x0,0}, {"SquareSubset",0x228F,0x0,0},
    {"SquareSubsetEqual",0x2291,0x0,0}, {"SquareSuperset",0x2290,0x0,0},
    {"SquareSupersetEqual",0x2292,0x0,0}, {"SquareUnion",0x2294,0x0,0}, {"Sscr",0x1D4AE,0x0,0},
    {"Star",0x22C6,0x0,0}, {"Sub",0x22D0,0x0,0}, {"Subset",0x22D0,0x0,0},
    {"SubsetEqual",0x2286,0x0,0}, {"Succeeds",0x227B,0x0,0}, {"SucceedsEqual",0x2AB0,0x0,0},
    {"SucceedsSlantEqual",0x227D,0x0,0}, {"SucceedsTilde",0x227F,0x0,0}, {"SuchThat",0x220B,0x0,0},
    {"Sum",0x2211,0x0,0}, {"Sup",0x22D1,0x0,0}, {"Superset",0x2283,0x0,0},
    {"SupersetEqual",0x2287,0x0,0}, {"Supset",0x22D1,0x0,0}, {"THORN",0xDE,0x0,1},
    {"TRADE",0x2122,0x0,0}, {"TSHcy",0x40B,0x0,0}, {"TScy",0x426,0x0,0}, {"Tab",0x9,0x0,0},
    {"Tau",0x3A4,0x0,0}, {"Tcaron",0x164,0x0,0}, {"Tcedil",0x162,0x0,0}, {"Tcy",0x422,0x0,0},
    {"Tfr",0x1D517,0x0,0}, {"Therefore",0x2234,0x0,0}, {"Theta",0x398,0x0,0},
    {"ThickSpace",0x205F,0x200A,0}, {"ThinSpace",0x2009,0x0,0}, {"Tilde",0x223C,0x0,0},
    {"TildeEqual",0x2243,0x0,0}, {"TildeFullEqual",0x2245,0x0,0}, {"TildeTilde",0x2248,0x0,0},
    {"Topf",0x1D54B,0x0,0}, {"TripleDot",0x20DB,0x0,0}, {"Tscr",0x1D4AF,0x0,0},
    {"Tstrok",0x166,0x0,0}, {"Uacute",0xDA,0x0,1}, {"Uarr",0x219F,0x0,0}, {"Uarrocir",0x2949,0x0,0},
    {"Ubrcy",0x40E,0x0,0}, {"Ubreve",0x16C,0x0,0}, {"Ucirc",0xDB,0x0,1}, {"Ucy",0x423,0x0,0},
    {"Udblac",0x170,0x0,0}, {"Ufr",0x1D518,0x0,0}, {"Ugrave",0xD9,0x0,1}, {"Umacr",0x16A,0x0,0},
    {"UnderBar",0x5F,0x0,0}, {"UnderBrace",0x23DF,0x0,0}, {"UnderBracket",0x23B5,0x0,0},
    {"UnderParenthesis",0x23DD,0x0,0}, {"Union",0x22C3,0x0,0}, {"UnionPlus",0x228E,0x0,0},
    {"Uogon",0x172,0x0,0}, {"Uopf",0x1D54C,0x0,0}, {"UpArrow",0x2191,0x0,0},
    {"UpArrowBar",0x2912,0x0,0}, {"UpArrowDownArrow",0x21C5,0x0,0}, {"UpDownArrow",0x2195,0x0,0},
    {"UpEquilibrium",0x296E,0x0,0}, {"UpTee",0x22A5,0x0,0}, {"UpTeeArrow",0x21A5,0x0,0},
    {"Uparrow",0x21D1,0x0,0}, {"Updownarrow",0x21D5,0x0,0}, {"UpperLeftArrow",0x2196,0x0,0},
    {"UpperRightArrow",0x2197,0x0,0}, {"Upsi",0x3D2,0x0,0}, {"Upsilon",0x3A5,0x0,0},
    {"Uring",0x16E,0x0,0}, {"Uscr",0x1D4B0,0x0,0}, {"Utilde",0x168,0x0,0}, {"Uuml",0xDC,0x0,1},
    {"VDash",0x22AB,0x0,0}, {"Vbar",0x2AEB,0x0,0}, {"Vcy",0x412,0x0,0}, {"Vdash",0x22A9,0x0,0},
    {"Vdashl",0x2AE6,0x0,0}, {"Vee",0x22C1,0x0,0}, {"Verbar",0x2016,0x0,0}, {"Vert",0x2016,0x0,0},
    {"VerticalBar",0x2223,0x0,0}, {"VerticalLine",0x7C,0x0,0}, {"VerticalSeparator",0x2758,0x0,0},
    {"VerticalTilde",0x2240,0x0,0}, {"VeryThinSpace",0x200A,0x0,0}, {"Vfr",0x1D519,0x0,0},
    {"Vopf",0x1D54D,0x0,0}, {"Vscr",0x1D4B1,0x0,0}, {"Vvdash",0x22AA,0x0,0}, {"Wcirc",0x174,0x0,0},
    {"Wedge",0x22C0,0x0,0}, {"Wfr",0x1D51A,0x0,0}, {"Wopf",0x1D54E,0x0,0}, {"Wscr",0x1D4B2,0x0,0},
    {"Xfr",0x1D51B,0x0,0}, {"Xi",0x39E,0x0,0}, {"Xopf",0x1D54F,0x0,0}, {"Xscr",0x1D4B3,0x0,0},
    {"YAcy",0x42F,0x0,0}, {"YIcy",0x407,0x0,0}, {"YUcy",0x42E,0x0,0}, {"Yacute",0xDD,0x0,1},
    {"Ycirc",0x176,0x0,0}, {"Ycy",0x42B,0x0,0}, {"Yfr",0x1D51C,0x0,0}, {"Yopf",0x1D550,0x0,0},
    {"Yscr",0x1D4B4,0x0,0}, {"Yuml",0x178,0x0,0}, {"ZHcy",0x416,0x0,0}, {"Zacute",0x179,0x0,0},
    {"Zcaron",0x17D,0x0,0}, {"Zcy",0x417,0x0,0}, {"Zdot",0x17B,0x0,0},
    {"ZeroWidthSpace",0x200B,0x0,0}, {"Zeta",0x396,0x0,0}, {"Zfr",0x2128,0x0,0},
    {"Zopf",0x2124,0x0,0}, {"Zscr",0x1D4B5,0x0,0}, {"aacute",0xE1,0x0,1}, {"abreve",0x103,0x0,0},
    {"ac",0x223E,0x0,0}, {"acE",0x223E,0x333,0}, {"acd",0x223F,0x0,0}, {"acirc",0xE2,0x0,1},
    {"acute",0xB4,0x0,1}, {"acy",0x430,0x0,0}, {"aelig",0xE6,0x0,1}, {"af",0x2061,0x0,0},
    {"afr",0x1D51E,0x0,0}, {"agrave",0xE0,0x0,1}, {"alefsym",0x2135,0x0,0}, {"aleph",0x2135,0x0,0},
    {"alpha",0x3B1,0x0,0}, {"amacr",0x101,0x0,0}, {"amalg",0x2A3F,0x0,0}, {"amp",0x26,0x0,1},
    {"and",0x2227,0x0,0}, {"andand",0x2A55,0x0,0}, {"andd",0x2A5C,0x0,0}, {"andslope",0x2A58,0x0,0},
    {"andv",0x2A5A,0x0,0}, {"ang",0x2220,0x0,0}, {"ange",0x29A4,0x0,0}, {"angle",0x2220,0x0,0},
    {"angmsd",0x2221,0x0,0}, {"angmsdaa",0x29A8,0x0,0}, {"angmsdab",0x29A9,0x0,0},
    {"angmsdac",0x29AA,0x0,0}, {"angmsdad",0x29AB,0x0,0}, {"angmsdae",0x29AC,0x0,0},
    {"angmsdaf",0x29AD,0x0,0}, {"angmsdag",0x29AE,0x0,0}, {"angmsdah",0x29AF,0x0,0},
    {"angrt",0x221F,0x0,0}, {"angrtvb",0x22BE,0x0,0}, {"angrtvbd",0x299D,0x0,0},
    {"angsph",0x2222,0x0,0}, {"angst",0xC5,0x0,0}, {"angzarr",0x237C,0x0,0}, {"aogon",0x105,0x0,0},
    {"aopf",0x1D552,0x0,0}, {"ap",0x2248,0x0,0}, {"apE",0x2A70,0x0,0}, {"apacir",0x2A6F,0x0,0},
    {"ape",0x224A,0x0,0}, {"apid",0x224B,0x0,0}, {"apos",0x27,0x0,0}, {"approx",0x2248,0x0,0},
    {"approxeq",0x224A,0x0,0}, {"aring",0xE5,0x0,1}, {"ascr",0x1D4B6,0x0,0}, {"ast",0x2A,0x0,0},
    {"asymp",0x2248,0x0,0}, {"asympeq",0x224D,0x0,0}, {"atilde",0xE3,0x0,1}, {"auml",0xE4,0x0,1},
    {"awconint",0x2233,0x0,0}, {"awint",0x2A11,0x0,0}, {"bNot",0x2AED,0x0,0},
    {"backcong",0x224C,0x0,0}, {"backepsilon",0x3F6,0x0,0}, {"backprime",0x2035,0x0,0},
    {"backsim",0x223D,0x0,0}, {"backsimeq",0x22CD,0x0,0}, {"barvee",0x22BD,0x0,0},
    {"barwed",0x2305,0x0,0}, {"barwedge",0x2305,0x0,0}, {"bbrk",0x23B5,0x0,0},
    {"bbrktbrk",0x23B6,0x0,0}, {"bcong",0x224C,0x0,0}, {"bcy",0x431,0x0,0}, {"bdquo",0x201E,0x0,0},
    {"becaus",0x2235,0x0,0}, {"because",0x2235,0x0,0}, {"bemptyv",0x29B0,0x0,0},
    {"bepsi",0x3F6,0x0,0}, {"bernou",0x212C,0x0,0}, {"beta",0x3B2,0x0,0}, {"beth",0x2136,0x0,0},
    {"between",0x226C,0x0,0}, {"bfr",0x1D51F,0x0,0}, {"bigcap",0x22C2,0x0,0},
    {"bigcirc",0x25EF,0x0,0}, {"bigcup",0x22C3,0x0,0}, {"bigodot",0x2A00,0x0,0},
    {"bigoplus",0x2A01,0x0,0}, {"bigotimes",0x2A02,0x0,0}, {"bigsqcup",0x2A06,0x0,0},
    {"bigstar",0x2605,0x0,0}, {"bigtriangledown",0x25BD,0x0,0}, {"bigtriangleup",0x25B3,0x0,0},
    {"biguplus",0x2A04,0x0,0}, {"bigvee",0x22C1,0x0,0}, {"bigwedge",0x22C0,0x0,0},
    {"bkarow",0x290D,0x0,0}, {"blacklozenge",0x29EB,0x0,0}, {"blacksquare",0x25AA,0x0,0},
    {"blacktriangle",0x25B4,0x0,0}, {"blacktriangledown",0x25BE,0x0,0},
    {"blacktriangleleft",0x25C2,0x0,0}, {"blacktriangleright",0x25B8,0x0,0}, {"blank",0x2423,0x0,0},
    {"blk12",0x2592,0x0,0}, {"blk14",0x2591,0x0,0}, {"blk34",0x2593,0x0,0}, {"block",0x2588,0x0,0},
    {"bne",0x3D,0x20E5,0}, {"bnequiv",0x2261,0x20E5,0}, {"bnot",0x2310,0x0,0},
    {"bopf",0x1D553,0x0,0}, {"bot",0x22A5,0x0,0}, {"bottom",0x22A5,0x0,0}, {"bowtie",0x22C8,0x0,0},
    {"boxDL",0x2557,0x0,0}, {"boxDR",0x2554,0x0,0}, {"boxDl",0x2556,0x0,0}, {"boxDr",0x2553,0x0,0},
    {"boxH",0x2550,0x0,0}, {"boxHD",0x2566,0x0,0}, {"boxHU",0x2569,0x0,0}, {"boxHd",0x2564,0x0,0},
    {"boxHu",0x2567,0x0,0}, {"boxUL",0x255D,0x0,0}, {"boxUR",0x255A,0x0,0}, {"boxUl",0x255C,0x0,0},
    {"boxUr",0x2559,0x0,0}, {"boxV",0x2551,0x0,0}, {"boxVH",0x256C,0x0,0}, {"boxVL",0x2563,0x0,0},
    {"boxVR",0x2560,0x0,0}, {"boxVh",0x256B,0x0,0}, {"boxVl",0x2562,0x0,0}, {"boxVr",0x255F,0x0,0},
    {"boxbox",0x29C9,0x0,0}, {"boxdL",0x2555,0x0,0}, {"boxdR",0x2552,0x0,0}, {"boxdl",0x2510,0x0,0},
    {"boxdr",0x250C,0x0,0}, {"boxh",0x2500,0x0,0}, {"boxhD",0x2565,0x0,0}, {"boxhU",0x2568,0x0,0},
    {"boxhd",0x252C,0x0,0}, {"boxhu",0x2534,0x0,0}, {"boxminus",0x229F,0x0,0},
    {"boxplus",0x229E,0x0,0}, {"boxtimes",0x22A0,0x0,0}, {"boxuL",0x255B,0x0,0},
    {"boxuR",0x2558,0x0,0}, {"boxul",0x2518,0x0,0}, {"boxur",0x2514,0x0,0}, {"boxv",0x2502,0x0,0},
    {"boxvH",0x256A,0x0,0}, {"boxvL",0x2561,0x0,0}, {"boxvR",0x255E,0x0,0}, {"boxvh",0x253C,0x0,0},
    {"boxvl",0x2524,0x0,0}, {"boxvr",0x251C,0x0,0}, {"bprime",0x2035,0x0,0}, {"breve",0x2D8,0x0,0},
    {"brvbar",0xA6,0x0,1}, {"bscr",0x1D4B7,0x0,0}, {"bsemi",0x204F,0x0,0}, {"bsim",0x223D,0x0,0},
    {"bsime",0x22CD,0x0,0}, {"bsol",0x5C,0x0,0}, {"bsolb",0x29C5,0x0,0}, {"bsolhsub",0x27C8,0x0,0},
    {"bull",0x2022,0x0,0}, {"bullet",0x2022,0x0,0}, {"bump",0x224E,0x0,0}, {"bumpE",0x2AAE,0x0,0},
    {"bumpe",0x224F,0x0,0}, {"bumpeq",0x224F,0x0,0}, {"cacute",0x107,0x0,0}, {"cap",0x2229,0x0,0},
    {"capand",0x2A44,0x0,0}, {"capbrcup",0x2A49,0x0,0}, {"capcap",0x2A4B,0x0,0},
    {"capcup",0x2A47,0x0,0}, {"capdot",0x2A40,0x0,0}, {"caps",0x2229,0xFE00,0},
    {"caret",0x2041,0x0,0}, {"caron",0x2C7,0x0,0}, {"ccaps",0x2A4D,0x0,0}, {"ccaron",0x10D,0x0,0},
    {"ccedil",0xE7,0x0,1}, {"ccirc",0x109,0x0,0}, {"ccups",0x2A4C,0x0,0}, {"ccupssm",0x2A50,0x0,0},
    {"cdot",0x10B,0x0,0}, {"cedil",0xB8,0x0,1}, {"cemptyv",0x29B2,0x0,0}, {"cent",0xA2,0x0,1},
    {"centerdot",0xB7,0x0,0}, {"cfr",0x1D520,0x0,0}, {"chcy",0x447,0x0,0}, {"check",0x2713,0x0,0},
    {"checkmark",0x2713,0x0,0}, {"chi",0x3C7,0x0,0}, {"cir",0x25CB,0x0,0}, {"cirE",0x29C3,0x0,0},
    {"circ",0x2C6,0x0,0}, {"circeq",0x2257,0x0,0}, {"circlearrowleft",0x21BA,0x0,0},
    {"circlearrowright",0x21BB,0x0,0}, {"circledR",0xAE,0x0,0}, {"circledS",0x24C8,0x0,0},
    {"circledast",0x229B,0x0,0}, {"circledcirc",0x229A,0x0,0}, {"circleddash",0x229D,0x0,0},
    {"cire",0x2257,0x0,0}, {"cirfnint",0x2A10,0x0,0}, {"cirmid",0x2AEF,0x0,0},
    {"cirscir",0x29C2,0x0,0}, {"clubs",0x2663,0x0,0}, {"clubsuit",0x2663,0x0,0},
    {"colon",0x3A,0x0,0}, {"colone",0x2254,0x0,0}, {"coloneq",0x2254,0x0,0}, {"comma",0x2C,0x0,0},
    {"commat",0x40,0x0,0}, {"comp",0x2201,0x0,0}, {"compfn",0x2218,0x0,0},
    {"complement",0x2201,0x0,0}, {"complexes",0x2102,0x0,0}, {"cong",0x2245,0x0,0},
    {"congdot",0x2A6D,0x0,0}, {"conint",0x222E,0x0,0}, {"copf",0x1D554,0x0,0},
    {"coprod",0x2210,0x0,0}, {"copy",0xA9,0x0,1}, {"copysr",0x2117,0x0,0}, {"crarr",0x21B5,0x0,0},
    {"cross",0x2717,0x0,0}, {"cscr",0x1D4B8,0x0,0}, {"csub",0x2ACF,0x0,0}, {"csube",0x2AD1,0x0,0},
    {"csup",0x2AD0,0x0,0}, {"csupe",0x2AD2,0x0,0}, {"ctdot",0x22EF,0x0,0}, {"cudarrl",0x2938,0x0,0},
    {"cudarrr",0x2935,0x0,0}, {"cuepr",0x22DE,0x0,0}, {"cuesc",0x22DF,0x0,0},
    {"cularr",0x21B6,0x0,0}, {"cularrp",0x293D,0x0,0}, {"cup",0x222A,0x0,0},
    {"cupbrcap",0x2A48,0x0,0}, {"cupcap",0x2A46,0x0,0}, {"cupcup",0x2A4A,0x0,0},
    {"cupdot",0x228D,0x0,0}, {"cupor",0x2A45,0x0,0}, {"cups",0x222A,0xFE00,0},
    {"curarr",0x21B7,0x0,0}, {"curarrm",0x293C,0x0,0}, {"curlyeqprec",0x22DE,0x0,0},
    {"curlyeqsucc",0x22DF,0x0,0}, {"curlyvee",0x22CE,0x0,0}, {"curlywedge",0x22CF,0x0,0},
    {"curren",0xA4,0x0,1}, {"curvearrowleft",0x21B6,0x0,0}, {"curvearrowright",0x21B7,0x0,0},
    {"cuvee",0x22CE,0x0,0}, {"cuwed",0x22CF,0x0,0}, {"cwconint",0x2232,0x0,0},
    {"cwint",0x2231,0x0,0}, {"cylcty",0x232D,0x0,0}, {"dArr",0x21D3,0x0,0}, {"dHar",0x2965,0x0,0},
    {"dagger",0x2020,0x0,0}, {"daleth",0x2138,0x0,0}, {"darr",0x2193,0x0,0}, {"dash",0x2010,0x0,0},
    {"dashv",0x22A3,0x0,0}, {"dbkarow",0x290F,0x0,0}, {"dblac",0x2DD,0x0,0}, {"dcaron",0x10F,0x0,0},
    {"dcy",0x434,0x0,0}, {"dd",0x2146,0x0,0}, {"ddagger",0x2021,0x0,0}, {"ddarr",0x21CA,0x0,0},
    {"ddotseq",0x2A77,0x0,0}, {"deg",0xB0,0x0,1}, {"delta",0x3B4,0x0,0}, {"demptyv",0x29B1,0x0,0},
    {"dfisht",0x297F,0x0,0}, {"dfr",0x1D521,0x0,0}, {"dharl",0x21C3,0x0,0}, {"dharr",0x21C2,0x0,0},
    {"diam",0x22C4,0x0,0}, {"diamond",0x22C4,0x0,0}, {"diamondsuit",0x2666,0x0,0},
    {"diams",0x2666,0x0,0}, {"die",0xA8,0x0,0}, {"digamma",0x3DD,0x0,0}, {"disin",0x22F2,0x0,0},
    {"div",0xF7,0x0,0}, {"divide",0xF7,0x0,1}, {"divideontimes",0x22C7,0x0,0},
    {"divonx",0x22C7,0x0,0}, {"djcy",0x452,0x0,0}, {"dlcorn",0x231E,0x0,0}, {"dlcrop",0x230D,0x0,0},
    {"dollar",0x24,0x0,0}, {"dopf",0x1D555,0x0,0}, {"dot",0x2D9,0x0,0}, {"doteq",0x2250,0x0,0},
    {"doteqdot",0x2251,0x0,0}, {"dotminus",0x2238,0x0,0}, {"dotplus",0x2214,0x0,0},
    {"dotsquare",0x22A1,0x0,0}, {"doublebarwedge",0x2306,0x0,0}, {"downarrow",0x2193,0x0,0},
    {"downdownarrows",0x21CA,0x0,0}, {"downharpoonleft",0x21C3,0x0,0},
    {"downharpoonright",0x21C2,0x0,0}, {"drbkarow",0x2910,0x0,0}, {"drcorn",0x231F,0x0,0},
    {"drcrop",0x230C,0x0,0}, {"dscr",0x1D4B9,0x0,0}, {"dscy",0x455,0x0,0}, {"dsol",0x29F6,0x0,0},
    {"dstrok",0x111,0x0,0}, {"dtdot",0x22F1,0x0,0}, {"dtri",0x25BF,0x0,0}, {"dtrif",0x25BE,0x0,0},
    {"duarr",0x21F5,0x0,0}, {"duhar",0x296F,0x0,0}, {"dwangle",0x29A6,0x0,0}, {"dzcy",0x45F,0x0,0},
    {"dzigrarr",0x27FF,0x0,0}, {"eDDot",0x2A77,0x0,0}, {"eDot",0x2251,0x0,0}, {"eacute",0xE9,0x0,1},
    {"easter",0x2A6E,0x0,0}, {"ecaron",0x11B,0x0,0}, {"ecir",0x2256,0x0,0}, {"ecirc",0xEA,0x0,1},
    {"ecolon",0x2255,0x0,0}, {"ecy",0x44D,0x0,0}, {"edot",0x117,0x0,0}, {"ee",0x2147,0x0,0},
    {"efDot",0x2252,0x0,0}, {"efr",0x1D522,0x0,0}, {"eg",0x2A9A,0x0,0}, {"egrave",0xE8,0x0,1},
    {"egs",0x2A96,0x0,0}, {"egsdot",0x2A98,0x0,0}, {"el",0x2A99,0x0,0}, {"elinters",0x23E7,0x0,0},
    {"ell",0x2113,0x0,0}, {"els",0x2A95,0x0,0}, {"elsdot",0x2A97,0x0,0}, {"emacr",0x113,0x0,0},
    {"empty",0x2205,0x0,0}, {"emptyset",0x2205,0x0,0}, {"emptyv",0x2205,0x0,0},
    {"emsp",0x2003,0x0,0}, {"emsp13",0x2004,0x0,0}, {"emsp14",0x2005,0x0,0}, {"eng",0x14B,0x0,0},
    {"ensp",0x2002,0x0,0}, {"eogon",0x119,0x0,0}, {"eopf",0x1D556,0x0,0}, {"epar",0x22D5,0x0,0},
    {"eparsl",0x29E3,0x0,0}, {"eplus",0x2A71,0x0,0}, {"epsi",0x3B5,0x0,0}, {"epsilon",0x3B5,0x0,0},
    {"epsiv",0x3F5,0x0,0}, {"eqcirc",0x2256,0x0,0}, {"eqcolon",0x2255,0x0,0},
    {"eqsim",0x2242,0x0,0}, {"eqslantgtr",0x2A96,0x0,0}, {"eqslantless",0x2A95,0x0,0},
    {"equals",0x3D,0x0,0}, {"equest",0x225F,0x0,0}, {"equiv",0x2261,0x0,0},
    {"equivDD",0x2A78,0x0,0}, {"eqvparsl",0x29E5,0x0,0}, {"erDot",0x2253,0x0,0},
    {"erarr",0x2971,0x0,0}, {"escr",0x212F,0x0,0}, {"esdot",0x2250,0x0,0}, {"esim",0x2242,0x0,0},
    {"eta",0x3B7,0x0,0}, {"eth",0xF0,0x0,1}, {"euml",0xEB,0x0,1}, {"euro",0x20AC,0x0,0},
    {"excl",0x21,0x0,0}, {"exist",0x2203,0x0,0}, {"expectation",0x2130,0x0,0},
    {"exponentiale",0x2147,0x0,0}, {"fallingdotseq",0x2252,0x0,0}, {"fcy",0x444,0x0,0},
    {"female",0x2640,0x0,0}, {"ffilig",0xFB03,0x0,0}, {"fflig",0xFB00,0x0,0},
    {"ffllig",0xFB04,0x0,0}, {"ffr",0x1D523,0x0,0}, {"filig",0xFB01,0x0,0}, {"fjlig",0x66,0x6A,0},
    {"flat",0x266D,0x0,0}, {"fllig",0xFB02,0x0,0}, {"fltns",0x25B1,0x0,0}, {"fnof",0x192,0x0,0},
    {"fopf",0x1D557,0x0,0}, {"forall",0x2200,0x0,0}, {"fork",0x22D4,0x0,0}, {"forkv",0x2AD9,0x0,0},
    {"fpartint",0x2A0D,0x0,0}, {"frac12",0xBD,0x0,1}, {"frac13",0x2153,0x0,0},
    {"frac14",0xBC,0x0,1}, {"frac15",0x2155,0x0,0}, {"frac16",0x2159,0x0,0},
    {"frac18",0x215B,0x0,0}, {"frac23",0x2154,0x0,0}, {"frac25",0x2156,0x0,0},
    {"frac34",0xBE,0x0,1}, {"frac35",0x2157,0x0,0}, {"frac38",0x215C,0x0,0},
    {"frac45",0x2158,0x0,0}, {"frac56",0x215A,0x0,0}, {"frac58",0x215D,0x0,0},
    {"frac78",0x215E,0x0,0}, {"frasl",0x2044,0x0,0}, {"frown",0x2322,0x0,0}, {"fscr",0x1D4BB,0x0,0},
    {"gE",0x2267,0x0,0}, {"gEl",0x2A8C,0x0,0}, {"gacute",0x1F5,0x0,0}, {"gamma",0x3B3,0x0,0},
    {"gammad",0x3DD,0x0,0}, {"gap",0x2A86,0x0,0}, {"gbreve",0x11F,0x0,0}, {"gcirc",0x11D,0x0,0},
    {"gcy",0x433,0x0,0}, {"gdot",0x121,0x0,0}, {"ge",0x2265,0x0,0}, {"gel",0x22DB,0x0,0},
    {"geq",0x2265,0x0,0}, {"geqq",0x2267,0x0,0}, {"geqslant",0x2A7E,0x0,0}, {"ges",0x2A7E,0x0,0},
    {"gescc",0x2AA9,0x0,0}, {"gesdot",0x2A80,0x0,0}, {"gesdoto",0x2A82,0x0,0},
    {"gesdotol",0x2A84,0x0,0}, {"gesl",0x22DB,0xFE00,0}, {"gesles",0x2A94,0x0,0},
    {"gfr",0x1D524,0x0,0}, {"gg",0x226B,0x0,0}, {"ggg",0x22D9,0x0,0}, {"gimel",0x2137,0x0,0},
    {"gjcy",0x453,0x0,0}, {"gl",0x2277,0x0,0}, {"glE",0x2A92,0x0,0}, {"gla",0x2AA5,0x0,0},
    {"glj",0x2AA4,0x0,0}, {"gnE",0x2269,0x0,0}, {"gnap",0x2A8A,0x0,0}, {"gnapprox",0x2A8A,0x0,0},
    {"gne",0x2A88,0x0,0}, {"gneq",0x2A88,0x0,0}, {"gneqq",0x2269,0x0,0}, {"gnsim",0x22E7,0x0,0},
    {"gopf",0x1D558,0x0,0}, {"grave",0x60,0x0,0}, {"gscr",0x210A,0x0,0}, {"gsim",0x2273,0x0,0},
    {"gsime",0x2A8E,0x0,0}, {"gsiml",0x2A90,0x0,0}, {"gt",0x3E,0x0,1}, {"gtcc",0x2AA7,0x0,0},
    {"gtcir",0x2A7A,0x0,0}, {"gtdot",0x22D7,0x0,0}, {"gtlPar",0x2995,0x0,0},
    {"gtquest",0x2A7C,0x0,0}, {"gtrapprox",0x2A86,0x0,0}, {"gtrarr",0x2978,0x0,0},
    {"gtrdot",0x22D7,0x0,0}, {"gtreqless",0x22DB,0x0,0}, {"gtreqqless",0x2A8C,0x0,0},
    {"gtrless",0x2277,0x0,0}, {"gtrsim",0x2273,0x0,0}, {"gvertneqq",0x2269,0xFE00,0},
    {"gvnE",0x2269,0xFE00,0}, {"hArr",0x21D4,0x0,0}, {"hairsp",0x200A,0x0,0}, {"half",0xBD,0x0,0},
    {"hamilt",0x210B,0x0,0}, {"hardcy",0x44A,0x0,0}, {"harr",0x2194,0x0,0},
    {"harrcir",0x2948,0x0,0}, {"harrw",0x21AD,0x0,0}, {"hbar",0x210F,0x0,0}, {"hcirc",0x125,0x0,0},
    {"hearts",0x2665,0x0,0}, {"heartsuit",0x2665,0x0,0}, {"hellip",0x2026,0x0,0},
    {"hercon",0x22B9,0x0,0}, {"hfr",0x1D525,0x0,0}, {"hksearow",0x2925,0x0,0},
    {"hkswarow",0x2926,0x0,0}, {"hoarr",0x21FF,0x0,0}, {"homtht",0x223B,0x0,0},
    {"hookleftarrow",0x21A9,0x0,0}, {"hookrightarrow",0x21AA,0x0,0}, {"hopf",0x1D559,0x0,0},
    {"horbar",0x2015,0x0,0}, {"hscr",0x1D4BD,0x0,0}, {"hslash",0x210F,0x0,0},
    {"hstrok",0x127,0x0,0}, {"hybull",0x2043,0x0,0}, {"hyphen",0x2010,0x0,0}, {"iacute",0xED,0x0,1},
    {"ic",0x2063,0x0,0}, {"icirc",0xEE,0x0,1}, {"icy",0x438,0x0,0}, {"iecy",0x435,0x0,0},
    {"iexcl",0xA1,0x0,1}, {"iff",0x21D4,0x0,0}, {"ifr",0x1D526,0x0,0}, {"igrave",0xEC,0x0,1},
    {"ii",0x2148,0x0,0}, {"iiiint",0x2A0C,0x0,0}, {"iiint",0x222D,0x0,0}, {"iinfin",0x29DC,0x0,0},
    {"iiota",0x2129,0x0,0}, {"ijlig",0x133,0x0,0}, {"imacr",0x12B,0x0,0}, {"image",0x2111,0x0,0},
    {"imagline",0x2110,0x0,0}, {"imagpart",0x2111,0x0,0}, {"imath",0x131,0x0,0},
    {"imof",0x22B7,0x0,0}, {"imped",0x1B5,0x0,0}, {"in",0x2208,0x0,0}, {"incare",0x2105,0x0,0},
    {"infin",0x221E,0x0,0}, {"infintie",0x29DD,0x0,0}, {"inodot",0x131,0x0,0}, {"int",0x222B,0x0,0},
    {"intcal",0x22BA,0x0,0}, {"integers",0x2124,0x0,0}, {"intercal",0x22BA,0x0,0},
    {"intlarhk",0x2A17,0x0,0}, {"intprod",0x2A3C,0x0,0}, {"iocy",0x451,0x0,0},
    {"iogon",0x12F,0x0,0}, {"iopf",0x1D55A,0x0,0}, {"iota",0x3B9,0x0,0}, {"iprod",0x2A3C,0x0,0},
    {"iquest",0xBF,0x0,1}, {"iscr",0x1D4BE,0x0,0}, {"isin",0x2208,0x0,0}, {"isinE",0x22F9,0x0,0},
    {"isindot",0x22F5,0x0,0}, {"isins",0x22F4,0x0,0}, {"isinsv",0x22F3,0x0,0},
    {"isinv",0x2208,0x0,0}, {"it",0x2062,0x0,0}, {"itilde",0x129,0x0,0}, {"iukcy",0x456,0x0,0},
    {"iuml",0xEF,0x0,1}, {"jcirc",0x135,0x0,0}, {"jcy",0x439,0x0,0}, {"jfr",0x1D527,0x0,0},
    {"jmath",0x237,0x0,0}, {"jopf",0x1D55B,0x0,0}, {"jscr",0x1D4BF,0x0,0}, {"jsercy",0x458,0x0,0},
    {"jukcy",0x454,0x0,0}, {"kappa",0x3BA,0x0,0}, {"kappav",0x3F0,0x0,0}, {"kcedil",0x137,0x0,0},
    {"kcy",0x43A,0x0,0}, {"kfr",0x1D528,0x0,0}, {"kgreen",0x138,0x0,0}, {"khcy",0x445,0x0,0},
    {"kjcy",0x45C,0x0,0}, {"kopf",0x1D55C,0x0,0}, {"kscr",0x1D4C0,0x0,0}, {"lAarr",0x21DA,0x0,0},
    {"lArr",0x21D0,0x0,0}, {"lAtail",0x291B,0x0,0}, {"lBarr",0x290E,0x0,0}, {"lE",0x2266,0x0,0},
    {"lEg",0x2A8B,0x0,0}, {"lHar",0x2962,0x0,0}, {"lacute",0x13A,0x0,0}, {"laemptyv",0x29B4,0x0,0},
    {"lagran",0x2112,0x0,0}, {"lambda",0x3BB,0x0,0}, {"lang",0x27E8,0x0,0}, {"langd",0x2991,0x0,0},
    {"langle",0x27E8,0x0,0}, {"lap",0x2A85,0x0,0}, {"laquo",0xAB,0x0,1}, {"larr",0x2190,0x0,0},
    {"larrb",0x21E4,0x0,0}, {"larrbfs",0x291F,0x0,0}, {"larrfs",0x291D,0x0,0},
    {"larrhk",0x21A9,0x0,0}, {"larrlp",0x21AB,0x0,0}, {"larrpl",0x2939,0x0,0},
    {"larrsim",0x2973,0x0,0}, {"larrtl",0x21A2,0x0,0}, {"lat",0x2AAB,0x0,0},
    {"latail",0x2919,0x0,0}, {"late",0x2AAD,0x0,0}, {"lates",0x2AAD,0xFE00,0},
    {"lbarr",0x290C,0x0,0}, {"lbbrk",0x2772,0x0,0}, {"lbrace",0x7B,0x0,0}, {"lbrack",0x5B,0x0,0},
    {"lbrke",0x298B,0x0,0}, {"lbrksld",0x298F,0x0,0}, {"lbrkslu",0x298D,0x0,0},
    {"lcaron",0x13E,0x0,0}, {"lcedil",0x13C,0x0,0}, {"lceil",0x2308,0x0,0}, {"lcub",0x7B,0x0,0},
    {"lcy",0x43B,0x0,0}, {"ldca",0x2936,0x0,0}, {"ldquo",0x201C,0x0,0}, {"ldquor",0x201E,0x0,0},
    {"ldrdhar",0x2967,0x0,0}, {"ldrushar",0x294B,0x0,0}, {"ldsh",0x21B2,0x0,0}, {"le",0x2264,0x0,0},
    {"leftarrow",0x2190,0x0,0}, {"leftarrowtail",0x21A2,0x0,0}, {"leftharpoondown",0x21BD,0x0,0},
    {"leftharpoonup",0x21BC,0x0,0}, {"leftleftarrows",0x21C7,0x0,0},
    {"leftrightarrow",0x2194,0x0,0}, {"leftrightarrows",0x21C6,0x0,0},
    {"leftrightharpoons",0x21CB,0x0,0}, {"leftrightsquigarrow",0x21AD,0x0,0},
    {"leftthreetimes",0x22CB,0x0,0}, {"leg",0x22DA,0x0,0}, {"leq",0x2264,0x0,0},
    {"leqq",0x2266,0x0,0}, {"leqslant",0x2A7D,0x0,0}, {"les",0x2A7D,0x0,0}, {"lescc",0x2AA8,0x0,0},
    {"lesdot",0x2A7F,0x0,0}, {"lesdoto",0x2A81,0x0,0}, {"lesdotor",0x2A83,0x0,0},
    {"lesg",0x22DA,0xFE00,0}, {"lesges",0x2A93,0x0,0}, {"lessapprox",0x2A85,0x0,0},
    {"lessdot",0x22D6,0x0,0}, {"lesseqgtr",0x22DA,0x0,0}, {"lesseqqgtr",0x2A8B,0x0,0},
    {"lessgtr",0x2276,0x0,0}, {"lesssim",0x2272,0x0,0}, {"lfisht",0x297C,0x0,0},
    {"lfloor",0x230A,0x0,0}, {"lfr",0x1D529,0x0,0}, {"lg",0x2276,0x0,0}, {"lgE",0x2A91,0x0,0},
    {"lhard",0x21BD,0x0,0}, {"lharu",0x21BC,0x0,0}, {"lharul",0x296A,0x0,0}, {"lhblk",0x2584,0x0,0},
    {"ljcy",0x459,0x0,0}, {"ll",0x226A,0x0,0}, {"llarr",0x21C7,0x0,0}, {"llcorner",0x231E,0x0,0},
    {"llhard",0x296B,0x0,0}, {"lltri",0x25FA,0x0,0}, {"lmidot",0x140,0x0,0},
    {"lmoust",0x23B0,0x0,0}, {"lmoustache",0x23B0,0x0,0}, {"lnE",0x2268,0x0,0},
    {"lnap",0x2A89,0x0,0}, {"lnapprox",0x2A89,0x0,0}, {"lne",0x2A87,0x0,0}, {"lneq",0x2A87,0x0,0},
    {"lneqq",0x2268,0x0,0}, {"lnsim",0x22E6,0x0,0}, {"loang",0x27EC,0x0,0}, {"loarr",0x21FD,0x0,0},
    {"lobrk",0x27E6,0x0,0}, {"longleftarrow",0x27F5,0x0,0}, {"longleftrightarrow",0x27F7,0x0,0},
    {"longmapsto",0x27FC,0x0,0}, {"longrightarrow",0x27F6,0x0,0}, {"looparrowleft",0x21AB,0x0,0},
    {"looparrowright",0x21AC,0x0,0}, {"lopar",0x2985,0x0,0}, {"lopf",0x1D55D,0x0,0},
    {"loplus",0x2A2D,0x0,0}, {"lotimes",0x2A34,0x0,0}, {"lowast",0x2217,0x0,0},
    {"lowbar",0x5F,0x0,0}, {"loz",0x25CA,0x0,0}, {"lozenge",0x25CA,0x0,0}, {"lozf",0x29EB,0x0,0},
    {"lpar",0x28,0x0,0}, {"lparlt",0x2993,0x0,0}, {"lrarr",0x21C6,0x0,0}, {"lrcorner",0x231F,0x0,0},
    {"lrhar",0x21CB,0x0,0}, {"lrhard",0x296D,0x0,0}, {"lrm",0x200E,0x0,0}, {"lrtri",0x22BF,0x0,0},
    {"lsaquo",0x2039,0x0,0}, {"lscr",0x1D4C1,0x0,0}, {"lsh",0x21B0,0x0,0}, {"lsim",0x2272,0x0,0},
    {"lsime",0x2A8D,0x0,0}, {"lsimg",0x2A8F,0x0,0}, {"lsqb",0x5B,0x0,0}, {"lsquo",0x2018,0x0,0},
    {"lsquor",0x201A,0x0,0}, {"lstrok",0x142,0x0,0}, {"lt",0x3C,0x0,1}, {"ltcc",0x2AA6,0x0,0},
    {"ltcir",0x2A79,0x0,0}, {"ltdot",0x22D6,0x0,0}, {"lthree",0x22CB,0x0,0},
    {"ltimes",0x22C9,0x0,0}, {"ltlarr",0x2976,0x0,0}, {"ltquest",0x2A7B,0x0,0},
    {"ltrPar",0x2996,0x0,0}, {"ltri",0x25C3,0x0,0}, {"ltrie",0x22B4,0x0,0}, {"ltrif",0x25C2,0x0,0},
    {"lurdshar",0x294A,0x0,0}, {"luruhar",0x2966,0x0,0}, {"lvertneqq",0x2268,0xFE00,0},
    {"lvnE",0x2268,0xFE00,0}, {"mDDot",0x223A,0x0,0}, {"macr",0xAF,0x0,1}, {"male",0x2642,0x0,0},
    {"malt",0x2720,0x0,0}, {"maltese",0x2720,0x0,0}, {"map",0x21A6,0x0,0}, {"mapsto",0x21A6,0x0,0},
    {"mapstodown",0x21A7,0x0,0}, {"mapstoleft",0x21A4,0x0,0}, {"mapstoup",0x21A5,0x0,0},
    {"marker",0x25AE,0x0,0}, {"mcomma",0x2A29,0x0,0}, {"mcy",0x43C,0x0,0}, {"mdash",0x2014,0x0,0},
    {"measuredangle",0x2221,0x0,0}, {"mfr",0x1D52A,0x0,0}, {"mho",0x2127,0x0,0},
    {"micro",0xB5,0x0,1}, {"mid",0x2223,0x0,0}, {"midast",0x2A,0x0,0}, {"midcir",0x2AF0,0x0,0},
    {"middot",0xB7,0x0,1}, {"minus",0x2212,0x0,0}, {"minusb",0x229F,0x0,0}, {"minusd",0x2238,0x0,0},
    {"minusdu",0x2A2A,0x0,0}, {"mlcp",0x2ADB,0x0,0}, {"mldr",0x2026,0x0,0}, {"mnplus",0x2213,0x0,0},
    {"models",0x22A7,0x0,0}, {"mopf",0x1D55E,0x0,0}, {"mp",0x2213,0x0,0}, {"mscr",0x1D4C2,0x0,0},
    {"mstpos",0x223E,0x0,0}, {"mu",0x3BC,0x0,0}, {"multimap",0x22B8,0x0,0}, {"mumap",0x22B8,0x0,0},
    {"nGg",0x22D9,0x338,0}, {"nGt",0x226B,0x20D2,0}, {"nGtv",0x226B,0x338,0},
    {"nLeftarrow",0x21CD,0x0,0}, {"nLeftrightarrow",0x21CE,0x0,0}, {"nLl",0x22D8,0x338,0},
    {"nLt",0x226A,0x20D2,0}, {"nLtv",0x226A,0x338,0}, {"nRightarrow",0x21CF,0x0,0},
    {"nVDash",0x22AF,0x0,0}, {"nVdash",0x22AE,0x0,0}, {"nabla",0x2207,0x0,0},
    {"nacute",0x144,0x0,0}, {"nang",0x2220,0x20D2,0}, {"nap",0x2249,0x0,0}, {"napE",0x2A70,0x338,0},
    {"napid",0x224B,0x338,0}, {"napos",0x149,0x0,0}, {"napprox",0x2249,0x0,0},
    {"natur",0x266E,0x0,0}, {"natural",0x266E,0x0,0}, {"naturals",0x2115,0x0,0},
    {"nbsp",0xA0,0x0,1}, {"nbump",0x224E,0x338,0}, {"nbumpe",0x224F,0x338,0}, {"ncap",0x2A43,0x0,0},
    {"ncaron",0x148,0x0,0}, {"ncedil",0x146,0x0,0}, {"ncong",0x2247,0x0,0},
    {"ncongdot",0x2A6D,0x338,0}, {"ncup",0x2A42,0x0,0}, {"ncy",0x43D,0x0,0}, {"ndash",0x2013,0x0,0},
    {"ne",0x2260,0x0,0}, {"neArr",0x21D7,0x0,0}, {"nearhk",0x2924,0x0,0}, {"nearr",0x2197,0x0,0},
    {"nearrow",0x2197,0x0,0}, {"nedot",0x2250,0x338,0}, {"nequiv",0x2262,0x0,0},
    {"nesear",0x2928,0x0,0}, {"nesim",0x2242,0x338,0}, {"nexist",0x2204,0x0,0},
    {"nexists",0x2204,0x0,0}, {"nfr",0x1D52B,0x0,0}, {"ngE",0x2267,0x338,0}, {"nge",0x2271,0x0,0},
    {"ngeq",0x2271,0x0,0}, {"ngeqq",0x2267,0x338,0}, {"ngeqslant",0x2A7E,0x338,0},
    {"nges",0x2A7E,0x338,0}, {"ngsim",0x2275,0x0,0}, {"ngt",0x226F,0x0,0}, {"ngtr",0x226F,0x0,0},
    {"nhArr",0x21CE,0x0,0}, {"nharr",0x21AE,0x0,0}, {"nhpar",0x2AF2,0x0,0}, {"ni",0x220B,0x0,0},
    {"nis",0x22FC,0x0,0}, {"nisd",0x22FA,0x0,0}, {"niv",0x220B,0x0,0}, {"njcy",0x45A,0x0,0},
    {"nlArr",0x21CD,0x0,0}, {"nlE",0x2266,0x338,0}, {"nlarr",0x219A,0x0,0}, {"nldr",0x2025,0x0,0},
    {"nle",0x2270,0x0,0}, {"nleftarrow",0x219A,0x0,0}, {"nleftrightarrow",0x21AE,0x0,0},
    {"nleq",0x2270,0x0,0}, {"nleqq",0x2266,0x338,0}, {"nleqslant",0x2A7D,0x338,0},
    {"nles",0x2A7D,0x338,0}, {"nless",0x226E,0x0,0}, {"nlsim",0x2274,0x0,0}, {"nlt",0x226E,0x0,0},
    {"nltri",0x22EA,0x0,0}, {"nltrie",0x22EC,0x0,0}, {"nmid",0x2224,0x0,0}, {"nopf",0x1D55F,0x0,0},
    {"not",0xAC,0x0,1}, {"notin",0x2209,0x0,0}, {"notinE",0x22F9,0x338,0},
    {"notindot",0x22F5,0x338,0}, {"notinva",0x2209,0x0,0}, {"notinvb",0x22F7,0x0,0},
    {"notinvc",0x22F6,0x0,0}, {"notni",0x220C,0x0,0}, {"notniva",0x220C,0x0,0},
    {"notnivb",0x22FE,0x0,0}, {"notnivc",0x22FD,0x0,0}, {"npar",0x2226,0x0,0},
    {"nparallel",0x2226,0x0,0}, {"nparsl",0x2AFD,0x20E5,0}, {"npart",0x2202,0x338,0},
    {"npolint",0x2A14,0x0,0}, {"npr",0x2280,0x0,0}, {"nprcue",0x22E0,0x0,0},
    {"npre",0x2AAF,0x338,0}, {"nprec",0x2280,0x0,0}, {"npreceq",0x2AAF,0x338,0},
    {"nrArr",0x21CF,0x0,0}, {"nrarr",0x219B,0x0,0}, {"nrarrc",0x2933,0x338,0},
    {"nrarrw",0x219D,0x338,0}, {"nrightarrow",0x219B,0x0,0}, {"nrtri",0x22EB,0x0,0},
    {"nrtrie",0x22ED,0x0,0}, {"nsc",0x2281,0x0,0}, {"nsccue",0x22E1,0x0,0}, {"nsce",0x2AB0,0x338,0},
    {"nscr",0x1D4C3,0x0,0}, {"nshortmid",0x2224,0x0,0}, {"nshortparallel",0x2226,0x0,0},
    {"nsim",0x2241,0x0,0}, {"nsime",0x2244,0x0,0}, {"nsimeq",0x2244,0x0,0}, {"nsmid",0x2224,0x0,0},
    {"nspar",0x2226,0x0,0}, {"nsqsube",0x22E2,0x0,0}, {"nsqsupe",0x22E3,0x0,0},
    {"nsub",0x2284,0x0,0}, {"nsubE",0x2AC5,0x338,0}, {"nsube",0x2288,0x0,0},
    {"nsubset",0x2282,0x20D2,0}, {"nsubseteq",0x2288,0x0,0}, {"nsubseteqq",0x2AC5,0x338,0},
    {"nsucc",0x2281,0x0,0}, {"nsucceq",0x2AB0,0x338,0}, {"nsup",0x2285,0x0,0},
    {"nsupE",0x2AC6,0x338,0}, {"nsupe",0x2289,0x0,0}, {"nsupset",0x2283,0x20D2,0},
    {"nsupseteq",0x2289,0x0,0}, {"nsupseteqq",0x2AC6,0x338,0}, {"ntgl",0x2279,0x0,0},
    {"ntilde",0xF1,0x0,1}, {"ntlg",0x2278,0x0,0}, {"ntriangleleft",0x22EA,0x0,0},
    {"ntrianglelefteq",0x22EC,0x0,0}, {"ntriangleright",0x22EB,0x0,0},
    {"ntrianglerighteq",0x22ED,0x0,0}, {"nu",0x3BD,0x0,0}, {"num",0x23,0x0,0},
    {"numero",0x2116,0x0,0}, {"numsp",0x2007,0x0,0}, {"nvDash",0x22AD,0x0,0},
    {"nvHarr",0x2904,0x0,0}, {"nvap",0x224D,0x20D2,0}, {"nvdash",0x22AC,0x0,0},
    {"nvge",0x2265,0x20D2,0}, {"nvgt",0x3E,0x20D2,0}, {"nvinfin",0x29DE,0x0,0},
    {"nvlArr",0x2902,0x0,0}, {"nvle",0x2264,0x20D2,0}, {"nvlt",0x3C,0x20D2,0},
    {"nvltrie",0x22B4,0x20D2,0}, {"nvrArr",0x2903,0x0,0}, {"nvrtrie",0x22B5,0x20D2,0},
    {"nvsim",0x223C,0x20D2,0}, {"nwArr",0x21D6,0x0,0}, {"nwarhk",0x2923,0x0,0},
    {"nwarr",0x2196,0x0,0}, {"nwarrow",0x2196,0x0,0}, {"nwnear",0x2927,0x0,0}, {"oS",0x24C8,0x0,0},
    {"oacute",0xF3,0x0,1}, {"oast",0x229B,0x0,0}, {"ocir",0x229A,0x0,0}, {"ocirc",0xF4,0x0,1},
    {"ocy",0x43E,0x0,0}, {"odash",0x229D,0x0,0}, {"odblac",0x151,0x0,0}, {"odiv",0x2A38,0x0,0},
    {"odot",0x2299,0x0,0}, {"odsold",0x29BC,0x0,0}, {"oelig",0x153,0x0,0}, {"ofcir",0x29BF,0x0,0},
    {"ofr",0x1D52C,0x0,0}, {"ogon",0x2DB,0x0,0}, {"ograve",0xF2,0x0,1}, {"ogt",0x29C1,0x0,0},
    {"ohbar",0x29B5,0x0,0}, {"ohm",0x3A9,0x0,0}, {"oint",0x222E,0x0,0}, {"olarr",0x21BA,0x0,0},
    {"olcir",0x29BE,0x0,0}, {"olcross",0x29BB,0x0,0}, {"oline",0x203E,0x0,0}, {"olt",0x29C0,0x0,0},
    {"omacr",0x14D,0x0,0}, {"omega",0x3C9,0x0,0}, {"omicron",0x3BF,0x0,0}, {"omid",0x29B6,0x0,0},
    {"ominus",0x2296,0x0,0}, {"oopf",0x1D560,0x0,0}, {"opar",0x29B7,0x0,0}, {"operp",0x29B9,0x0,0},
    {"oplus",0x2295,0x0,0}, {"or",0x2228,0x0,0}, {"orarr",0x21BB,0x0,0}, {"ord",0x2A5D,0x0,0},
    {"order",0x2134,0x0,0}, {"orderof",0x2134,0x0,0}, {"ordf",0xAA,0x0,1}, {"ordm",0xBA,0x0,1},
    {"origof",0x22B6,0x0,0}, {"oror",0x2A56,0x0,0}, {"orslope",0x2A57,0x0,0}, {"orv",0x2A5B,0x0,0},
    {"oscr",0x2134,0x0,0}, {"oslash",0xF8,0x0,1}, {"osol",0x2298,0x0,0}, {"otilde",0xF5,0x0,1},
    {"otimes",0x2297,0x0,0}, {"otimesas",0x2A36,0x0,0}, {"ouml",0xF6,0x0,1}, {"ovbar",0x233D,0x0,0},
    {"par",0x2225,0x0,0}, {"para",0xB6,0x0,1}, {"parallel",0x2225,0x0,0}, {"parsim",0x2AF3,0x0,0},
    {"parsl",0x2AFD,0x0,0}, {"part",0x2202,0x0,0}, {"pcy",0x43F,0x0,0}, {"percnt",0x25,0x0,0},
    {"period",0x2E,0x0,0}, {"permil",0x2030,0x0,0}, {"perp",0x22A5,0x0,0}, {"pertenk",0x2031,0x0,0},
    {"pfr",0x1D52D,0x0,0}, {"phi",0x3C6,0x0,0}, {"phiv",0x3D5,0x0,0}, {"phmmat",0x2133,0x0,0},
    {"phone",0x260E,0x0,0}, {"pi",0x3C0,0x0,0}, {"pitchfork",0x22D4,0x0,0}, {"piv",0x3D6,0x0,0},
    {"planck",0x210F,0x0,0}, {"planckh",0x210E,0x0,0}, {"plankv",0x210F,0x0,0}, {"plus",0x2B,0x0,0},
    {"plusacir",0x2A23,0x0,0}, {"plusb",0x229E,0x0,0}, {"pluscir",0x2A22,0x0,0},
    {"plusdo",0x2214,0x0,0}, {"plusdu",0x2A25,0x0,0}, {"pluse",0x2A72,0x0,0}, {"plusmn",0xB1,0x0,1},
    {"plussim",0x2A26,0x0,0}, {"plustwo",0x2A27,0x0,0}, {"pm",0xB1,0x0,0},
    {"pointint",0x2A15,0x0,0}, {"popf",0x1D561,0x0,0}, {"pound",0xA3,0x0,1}, {"pr",0x227A,0x0,0},
    {"prE",0x2AB3,0x0,0}, {"prap",0x2AB7,0x0,0}, {"prcue",0x227C,0x0,0}, {"pre",0x2AAF,0x0,0},
    {"prec",0x227A,0x0,0}, {"precapprox",0x2AB7,0x0,0}, {"preccurlyeq",0x227C,0x0,0},
    {"preceq",0x2AAF,0x0,0}, {"precnapprox",0x2AB9,0x0,0}, {"precneqq",0x2AB5,0x0,0},
    {"precnsim",0x22E8,0x0,0}, {"precsim",0x227E,0x0,0}, {"prime",0x2032,0x0,0},
    {"primes",0x2119,0x0,0}, {"prnE",0x2AB5,0x0,0}, {"prnap",0x2AB9,0x0,0}, {"prnsim",0x22E8,0x0,0},
    {"prod",0x220F,0x0,0}, {"profalar",0x232E,0x0,0}, {"profline",0x2312,0x0,0},
    {"profsurf",0x2313,0x0,0}, {"prop",0x221D,0x0,0}, {"propto",0x221D,0x0,0},
    {"prsim",0x227E,0x0,0}, {"prurel",0x22B0,0x0,0}, {"pscr",0x1D4C5,0x0,0}, {"psi",0x3C8,0x0,0},
    {"puncsp",0x2008,0x0,0}, {"qfr",0x1D52E,0x0,0}, {"qint",0x2A0C,0x0,0}, {"qopf",0x1D562,0x0,0},
    {"qprime",0x2057,0x0,0}, {"qscr",0x1D4C6,0x0,0}, {"quaternions",0x210D,0x0,0},
    {"quatint",0x2A16,0x0,0}, {"quest",0x3F,0x0,0}, {"questeq",0x225F,0x0,0}, {"quot",0x22,0x0,1},
    {"rAarr",0x21DB,0x0,0}, {"rArr",0x21D2,0x0,0}, {"rAtail",0x291C,0x0,0}, {"rBarr",0x290F,0x0,0},
    {"rHar",0x2964,0x0,0}, {"race",0x223D,0x331,0}, {"racute",0x155,0x0,0}, {"radic",0x221A,0x0,0},
    {"raemptyv",0x29B3,0x0,0}, {"rang",0x27E9,0x0,0}, {"rangd",0x2992,0x0,0},
    {"range",0x29A5,0x0,0}, {"rangle",0x27E9,0x0,0}, {"raquo",0xBB,0x0,1}, {"rarr",0x2192,0x0,0},
    {"rarrap",0x2975,0x0,0}, {"rarrb",0x21E5,0x0,0}, {"rarrbfs",0x2920,0x0,0},
    {"rarrc",0x2933,0x0,0}, {"rarrfs",0x291E,0x0,0}, {"rarrhk",0x21AA,0x0,0},
    {"rarrlp",0x21AC,0x0,0}, {"rarrpl",0x2945,0x0,0}, {"rarrsim",0x2974,0x0,0},
    {"rarrtl",0x21A3,0x0,0}, {"rarrw",0x219D,0x0,0}, {"ratail",0x291A,0x0,0},
    {"ratio",0x2236,0x0,0}, {"rationals",0x211A,0x0,0}, {"rbarr",0x290D,0x0,0},
    {"rbbrk",0x2773,0x0,0}, {"rbrace",0x7D,0x0,0}, {"rbrack",0x5D,0x0,0}, {"rbrke",0x298C,0x0,0},
    {"rbrksld",0x298E,0x0,0}, {"rbrkslu",0x2990,0x0,0}, {"rcaron",0x159,0x0,0},
    {"rcedil",0x157,0x0,0}, {"rceil",0x2309,0x0,0}, {"rcub",0x7D,0x0,0}, {"rcy",0x440,0x0,0},
    {"rdca",0x2937,0x0,0}, {"rdldhar",0x2969,0x0,0}, {"rdquo",0x201D,0x0,0},
    {"rdquor",0x201D,0x0,0}, {"rdsh",0x21B3,0x0,0}, {"real",0x211C,0x0,0}, {"realine",0x211B,0x0,0},
    {"realpart",0x211C,0x0,0}, {"reals",0x211D,0x0,0}, {"rect",0x25AD,0x0,0}, {"reg",0xAE,0x0,1},
    {"rfisht",0x297D,0x0,0}, {"rfloor",0x230B,0x0,0}, {"rfr",0x1D52F,0x0,0}, {"rhard",0x21C1,0x0,0},
    {"rharu",0x21C0,0x0,0}, {"rharul",0x296C,0x0,0}, {"rho",0x3C1,0x0,0}, {"rhov",0x3F1,0x0,0},
    {"rightarrow",0x2192,0x0,0}, {"rightarrowtail",0x21A3,0x0,0}, {"rightharpoondown",0x21C1,0x0,0},
    {"rightharpoonup",0x21C0,0x0,0}, {"rightleftarrows",0x21C4,0x0,0},
    {"rightleftharpoons",0x21CC,0x0,0}, {"rightrightarrows",0x21C9,0x0,0},
    {"rightsquigarrow",0x219D,0x0,0}, {"rightthreetimes",0x22CC,0x0,0}, {"ring",0x2DA,0x0,0},
    {"risingdotseq",0x2253,0x0,0}, {"rlarr",0x21C4,0x0,0}, {"rlhar",0x21CC,0x0,0},
    {"rlm",0x200F,0x0,0}, {"rmoust",0x23B1,0x0,0}, {"rmoustache",0x23B1,0x0,0},
    {"rnmid",0x2AEE,0x0,0}, {"roang",0x27ED,0x0,0}, {"roarr",0x21FE,0x0,0}, {"robrk",0x27E7,0x0,0},
    {"ropar",0x2986,0x0,0}, {"ropf",0x1D563,0x0,0}, {"roplus",0x2A2E,0x0,0},
    {"rotimes",0x2A35,0x0,0}, {"rpar",0x29,0x0,0}, {"rpargt",0x2994,0x0,0},
    {"rppolint",0x2A12,0x0,0}, {"rrarr",0x21C9,0x0,0}, {"rsaquo",0x203A,0x0,0},
    {"rscr",0x1D4C7,0x0,0}, {"rsh",0x21B1,0x0,0}, {"rsqb",0x5D,0x0,0}, {"rsquo",0x2019,0x0,0},
    {"rsquor",0x2019,0x0,0}, {"rthree",0x22CC,0x0,0}, {"rtimes",0x22CA,0x0,0},
    {"rtri",0x25B9,0x0,0}, {"rtrie",0x22B5,0x0,0}, {"rtrif",0x25B8,0x0,0},
    {"rtriltri",0x29CE,0x0,0}, {"ruluhar",0x2968,0x0,0}, {"rx",0x211E,0x0,0},
    {"sacute",0x15B,0x0,0}, {"sbquo",0x201A,0x0,0}, {"sc",0x227B,0x0,0}, {"scE",0x2AB4,0x0,0},
    {"scap",0x2AB8,0x0,0}, {"scaron",0x161,0x0,0}, {"sccue",0x227D,0x0,0}, {"sce",0x2AB0,0x0,0},
    {"scedil",0x15F,0x0,0}, {"scirc",0x15D,0x0,0}, {"scnE",0x2AB6,0x0,0}, {"scnap",0x2ABA,0x0,0},
    {"scnsim",0x22E9,0x0,0}, {"scpolint",0x2A13,0x0,0}, {"scsim",0x227F,0x0,0}, {"scy",0x441,0x0,0},
    {"sdot",0x22C5,0x0,0}, {"sdotb",0x22A1,0x0,0}, {"sdote",0x2A66,0x0,0}, {"seArr",0x21D8,0x0,0},
    {"searhk",0x2925,0x0,0}, {"searr",0x2198,0x0,0}, {"searrow",0x2198,0x0,0}, {"sect",0xA7,0x0,1},
    {"semi",0x3B,0x0,0}, {"seswar",0x2929,0x0,0}, {"setminus",0x2216,0x0,0}, {"setmn",0x2216,0x0,0},
    {"sext",0x2736,0x0,0}, {"sfr",0x1D530,0x0,0}, {"sfrown",0x2322,0x0,0}, {"sharp",0x266F,0x0,0},
    {"shchcy",0x449,0x0,0}, {"shcy",0x448,0x0,0}, {"shortmid",0x2223,0x0,0},
    {"shortparallel",0x2225,0x0,0}, {"shy",0xAD,0x0,1}, {"sigma",0x3C3,0x0,0},
    {"sigmaf",0x3C2,0x0,0}, {"sigmav",0x3C2,0x0,0}, {"sim",0x223C,0x0,0}, {"simdot",0x2A6A,0x0,0},
    {"sime",0x2243,0x0,0}, {"simeq",0x2243,0x0,0}, {"simg",0x2A9E,0x0,0}, {"simgE",0x2AA0,0x0,0},
    {"siml",0x2A9D,0x0,0}, {"simlE",0x2A9F,0x0,0}, {"simne",0x2246,0x0,0}, {"simplus",0x2A24,0x0,0},
    {"simrarr",0x2972,0x0,0}, {"slarr",0x2190,0x0,0}, {"smallsetminus",0x2216,0x0,0},
    {"smashp",0x2A33,0x0,0}, {"smeparsl",0x29E4,0x0,0}, {"smid",0x2223,0x0,0},
    {"smile",0x2323,0x0,0}, {"smt",0x2AAA,0x0,0}, {"smte",0x2AAC,0x0,0}, {"smtes",0x2AAC,0xFE00,0},
    {"softcy",0x44C,0x0,0}, {"sol",0x2F,0x0,0}, {"solb",0x29C4,0x0,0}, {"solbar",0x233F,0x0,0},
    {"sopf",0x1D564,0x0,0}, {"spades",0x2660,0x0,0}, {"spadesuit",0x2660,0x0,0},
    {"spar",0x2225,0x0,0}, {"sqcap",0x2293,0x0,0}, {"sqcaps",0x2293,0xFE00,0},
    {"sqcup",0x2294,0x0,0}, {"sqcups",0x2294,0xFE00,0}, {"sqsub",0x228F,0x0,0},
    {"sqsube",0x2291,0x0,0}, {"sqsubset",0x228F,0x0,0}, {"sqsubseteq",0x2291,0x0,0},
    {"sqsup",0x2290,0x0,0}, {"sqsupe",0x2292,0x0,0}, {"sqsupset",0x2290,0x0,0},
    {"sqsupseteq",0x2292,0x0,0}, {"squ",0x25A1,0x0,0}, {"square",0x25A1,0x0,0},
    {"squarf",0x25AA,0x0,0}, {"squf",0x25AA,0x0,0}, {"srarr",0x2192,0x0,0}, {"sscr",0x1D4C8,0x0,0},
    {"ssetmn",0x2216,0x0,0}, {"ssmile",0x2323,0x0,0}, {"sstarf",0x22C6,0x0,0},
    {"star",0x2606,0x0,0}, {"starf",0x2605,0x0,0}, {"straightepsilon",0x3F5,0x0,0},
    {"straightphi",0x3D5,0x0,0}, {"strns",0xAF,0x0,0}, {"sub",0x2282,0x0,0}, {"subE",0x2AC5,0x0,0},
    {"subdot",0x2ABD,0x0,0}, {"sube",0x2286,0x0,0}, {"subedot",0x2AC3,0x0,0},
    {"submult",0x2AC1,0x0,0}, {"subnE",0x2ACB,0x0,0}, {"subne",0x228A,0x0,0},
    {"subplus",0x2ABF,0x0,0}, {"subrarr",0x2979,0x0,0}, {"subset",0x2282,0x0,0},
    {"subseteq",0x2286,0x0,0}, {"subseteqq",0x2AC5,0x0,0}, {"subsetneq",0x228A,0x0,0},
    {"subsetneqq",0x2ACB,0x0,0}, {"subsim",0x2AC7,0x0,0}, {"subsub",0x2AD5,0x0,0},
    {"subsup",0x2AD3,0x0,0}, {"succ",0x227B,0x0,0}, {"succapprox",0x2AB8,0x0,0},
    {"succcurlyeq",0x227D,0x0,0}, {"succeq",0x2AB0,0x0,0}, {"succnapprox",0x2ABA,0x0,0},
    {"succneqq",0x2AB6,0x0,0}, {"succnsim",0x22E9,0x0,0}, {"succsim",0x227F,0x0,0},
    {"sum",0x2211,0x0,0}, {"sung",0x266A,0x0,0}, {"sup",0x2283,0x0,0}, {"sup1",0xB9,0x0,1},
    {"sup2",0xB2,0x0,1}, {"sup3",0xB3,0x0,1}, {"supE",0x2AC6,0x0,0}, {"supdot",0x2ABE,0x0,0},
    {"supdsub",0x2AD8,0x0,0}, {"supe",0x2287,0x0,0}, {"supedot",0x2AC4,0x0,0},
    {"suphsol",0x27C9,0x0,0}, {"suphsub",0x2AD7,0x0,0}, {"suplarr",0x297B,0x0,0},
    {"supmult",0x2AC2,0x0,0}, {"supnE",0x2ACC,0x0,0}, {"supne",0x228B,0x0,0},
    {"supplus",0x2AC0,0x0,0}, {"supset",0x2283,0x0,0}, {"supseteq",0x2287,0x0,0},
    {"supseteqq",0x2AC6,0x0,0}, {"supsetneq",0x228B,0x0,0}, {"supsetneqq",0x2ACC,0x0,0},
    {"supsim",0x2AC8,0x0,0}, {"supsub",0x2AD4,0x0,0}, {"supsup",0x2AD6,0x0,0},
    {"swArr",0x21D9,0x0,0}, {"swarhk",0x2926,0x0,0}, {"swarr",0x2199,0x0,0},
    {"swarrow",0x2199,0x0,0}, {"swnwar",0x292A,0x0,0}, {"szlig",0xDF,0x0,1},
    {"target",0x2316,0x0,0}, {"tau",0x3C4,0x0,0}, {"tbrk",0x23B4,0x0,0}, {"tcaron",0x165,0x0,0},
    {"tcedil",0x163,0x0,0}, {"tcy",0x442,0x0,0}, {"tdot",0x20DB,0x0,0}, {"telrec",0x2315,0x0,0},
    {"tfr",0x1D531,0x0,0}, {"there4",0x2234,0x0,0}, {"therefore",0x2234,0x0,0},
    {"theta",0x3B8,0x0,0}, {"thetasym",0x3D1,0x0,0}, {"thetav",0x3D1,0x0,0},
    {"thickapprox",0x2248,0x0,0}, {"thicksim",0x223C,0x0,0}, {"thinsp",0x2009,0x0,0},
    {"thkap",0x2248,0x0,0}, {"thksim",0x223C,0x0,0}, {"thorn",0xFE,0x0,1}, {"tilde",0x2DC,0x0,0},
    {"times",0xD7,0x0,1}, {"timesb",0x22A0,0x0,0}, {"timesbar",0x2A31,0x0,0},
    {"timesd",0x2A30,0x0,0}, {"tint",0x222D,0x0,0}, {"toea",0x2928,0x0,0}, {"top",0x22A4,0x0,0},
    {"topbot",0x2336,0x0,0}, {"topcir",0x2AF1,0x0,0}, {"topf",0x1D565,0x0,0},
    {"topfork",0x2ADA,0x0,0}, {"tosa",0x2929,0x0,0}, {"tprime",0x2034,0x0,0},
    {"trade",0x2122,0x0,0}, {"triangle",0x25B5,0x0,0}, {"triangledown",0x25BF,0x0,0},
    {"triangleleft",0x25C3,0x0,0}, {"trianglelefteq",0x22B4,0x0,0}, {"triangleq",0x225C,0x0,0},
    {"triangleright",0x25B9,0x0,0}, {"trianglerighteq",0x22B5,0x0,0}, {"tridot",0x25EC,0x0,0},
    {"trie",0x225C,0x0,0}, {"triminus",0x2A3A,0x0,0}, {"triplus",0x2A39,0x0,0},
    {"trisb",0x29CD,0x0,0}, {"tritime",0x2A3B,0x0,0}, {"trpezium",0x23E2,0x0,0},
    {"tscr",0x1D4C9,0x0,0}, {"tscy",0x446,0x0,0}, {"tshcy",0x45B,0x0,0}, {"tstrok",0x167,0x0,0},
    {"twixt",0x226C,0x0,0}, {"twoheadleftarrow",0x219E,0x0,0}, {"twoheadrightarrow",0x21A0,0x0,0},
    {"uArr",0x21D1,0x0,0}, {"uHar",0x2963,0x0,0}, {"uacute",0xFA,0x0,1}, {"uarr",0x2191,0x0,0},
    {"ubrcy",0x45E,0x0,0}, {"ubreve",0x16D,0x0,0}, {"ucirc",0xFB,0x0,1}, {"ucy",0x443,0x0,0},
    {"udarr",0x21C5,0x0,0}, {"udblac",0x171,0x0,0}, {"udhar",0x296E,0x0,0}, {"ufisht",0x297E,0x0,0},
    {"ufr",0x1D532,0x0,0}, {"ugrave",0xF9,0x0,1}, {"uharl",0x21BF,0x0,0}, {"uharr",0x21BE,0x0,0},
    {"uhblk",0x2580,0x0,0}, {"ulcorn",0x231C,0x0,0}, {"ulcorner",0x231C,0x0,0},
    {"ulcrop",0x230F,0x0,0}, {"ultri",0x25F8,0x0,0}, {"umacr",0x16B,0x0,0}, {"uml",0xA8,0x0,1},
    {"uogon",0x173,0x0,0}, {"uopf",0x1D566,0x0,0}, {"uparrow",0x2191,0x0,0},
    {"updownarrow",0x2195,0x0,0}, {"upharpoonleft",0x21BF,0x0,0}, {"upharpoonright",0x21BE,0x0,0},
    {"uplus",0x228E,0x0,0}, {"upsi",0x3C5,0x0,0}, {"upsih",0x3D2,0x0,0}, {"upsilon",0x3C5,0x0,0},
    {"upuparrows",0x21C8,0x0,0}, {"urcorn",0x231D,0x0,0}, {"urcorner",0x231D,0x0,0},
    {"urcrop",0x230E,0x0,0}, {"uring",0x16F,0x0,0}, {"urtri",0x25F9,0x0,0}, {"uscr",0x1D4CA,0x0,0},
    {"utdot",0x22F0,0x0,0}, {"utilde",0x169,0x0,0}, {"utri",0x25B5,0x0,0}, {"utrif",0x25B4,0x0,0},
    {"uuarr",0x21C8,0x0,0}, {"uuml",0xFC,0x0,1}, {"uwangle",0x29A7,0x0,0}, {"vArr",0x21D5,0x0,0},
    {"vBar",0x2AE8,0x0,0}, {"vBarv",0x2AE9,0x0,0}, {"vDash",0x22A8,0x0,0}, {"vangrt",0x299C,0x0,0},
    {"varepsilon",0x3F5,0x0,0}, {"varkappa",0x3F0,0x0,0}, {"varnothing",0x2205,0x0,0},
    {"varphi",0x3D5,0x0,0}, {"varpi",0x3D6,0x0,0}, {"varpropto",0x221D,0x0,0},
    {"varr",0x2195,0x0,0}, {"varrho",0x3F1,0x0,0}, {"varsigma",0x3C2,0x0,0},
    {"varsubsetneq",0x228A,0xFE00,0}, {"varsubsetneqq",0x2ACB,0xFE00,0},
    {"varsupsetneq",0x228B,0xFE00,0}, {"varsupsetneqq",0x2ACC,0xFE00,0}, {"vartheta",0x3D1,0x0,0},
    {"vartriangleleft",0x22B2,0x0,0}, {"vartriangleright",0x22B3,0x0,0}, {"vcy",0x432,0x0,0},
    {"vdash",0x22A2,0x0,0}, {"vee",0x2228,0x0,0}, {"veebar",0x22BB,0x0,0}, {"veeeq",0x225A,0x0,0},
    {"vellip",0x22EE,0x0,0}, {"verbar",0x7C,0x0,0}, {"vert",0x7C,0x0,0}, {"vfr",0x1D533,0x0,0},
    {"vltri",0x22B2,0x0,0}, {"vnsub",0x2282,0x20D2,0}, {"vnsup",0x2283,0x20D2,0},
    {"vopf",0x1D567,0x0,0}, {"vprop",0x221D,0x0,0}, {"vrtri",0x22B3,0x0,0}, {"vscr",0x1D4CB,0x0,0},
    {"vsubnE",0x2ACB,0xFE00,0}, {"vsubne",0x228A,0xFE00,0}, {"vsupnE",0x2ACC,0xFE00,0},
    {"vsupne",0x228B,0xFE00,0}, {"vzigzag",0x299A,0x0,0}, {"wcirc",0x175,0x0,0},
    {"wedbar",0x2A5F,0x0,0}, {"wedge",0x2227,0x0,0}, {"wedgeq",0x2259,0x0,0},
    {"weierp",0x2118,0x0,0}, {"wfr",0x1D534,0x0,0}, {"wopf",0x1D568,0x0,0}, {"wp",0x2118,0x0,0},
    {"wr",0x2240,0x0,0}, {"wreath",0x2240,0x0,0}, {"wscr",0x1D4CC,0x0,0}, {"xcap",0x22C2,0x0,0},
    {"xcirc",0x25EF,0x0,0}, {"xcup",0x22C3,0x0,0}, {"xdtri",0x25BD,0x0,0}, {"xfr",0x1D535,0x0,0},
    {"xhArr",0x27FA,0x0,0}, {"xharr",0x27F7,0x0,0}, {"xi",0x3BE,0x0,0}, {"xlArr",0x27F8,0x0,0},
    {"xlarr",0x27F5,0x0,0}, {"xmap",0x27FC,0x0,0}, {"xnis",0x22FB,0x0,0}, {"xodot",0x2A00,0x0,0},
    {"xopf",0x1D569,0x0,0}, {"xoplus",0x2A01,0x0,0}, {"xotime",0x2A02,0x0,0},
    {"xrArr",0x27F9,0x0,0}, {"xrarr",0x27F6,0x0,0}, {"xscr",0x1D4CD,0x0,0}, {"xsqcup",0x2A06,0x0,0},
    {"xuplus",0x2A04,0x0,0}, {"xutri",0x25B3,0x0,0}, {"xvee",0x22C1,0x0,0}, {"xwedge",0x22C0,0x0,0},
    {"yacute",0xFD,0x0,1}, {"yacy",0x44F,0x0,0}, {"ycirc",0x177,0x0,0}, {"ycy",0x44B,0x0,0},
    {"yen",0xA5,0x0,1}, {"yfr",0x1D536,0x0,0}, {"yicy",0x457,0x0,0}, {"yopf",0x1D56A,0x0,0},
    {"yscr",0x1D4CE,0x0,0}, {"yucy",0x44E,0x0,0}, {"yuml",0xFF,0x0,1}, {"zacute",0x17A,0x0,0},
    {"zcaron",0x17E,0x0,0}, {"zcy",0x437,0x0,0}, {"zdot",0x17C,0x0,0}, {"zeetrf",0x2128,0x0,0},
    {"zeta",0x3B6,0x0,0}, {"zfr",0x1D537,0x0,0}, {"zhcy",0x436,0x0,0}, {"zigrarr",0x21DD,0x0,0},
    {"zopf",0x1D56B,0x0,0}, {"zscr",0x1D4CF,0x0,0}, {"zwj",0x200D,0x0,0}, {"zwnj",0x200C,0x0,0},
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
static int numeric_ref(uint32_t num, textfix_buf *out, mm_error *err)
{
    if (num == 0) return put(out, 0xFFFD, err);
    if (num == 0x0D) return put(out, 0x0D, err);
    if (num >= 0x80 && num <= 0x9F) return put(out, cp1252_c1[num - 0x80], err);
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return put(out, 0xFFFD, err);
    if ((num >= 0x01 && num <= 0x08) || (num >= 0x0E && num <= 0x1F) || num == 0x0B || num == 0x7F ||
        (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE)
        return 0; /* dropped */
    return put(out, num, err);
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

int textfix_html_unescape(const uint32_t *in, size_t n, textfix_buf *out, mm_error *err)
{
    out->len = 0;
    if (textfix_reserve(out, n, err)) return -1;
    size_t i = 0;
    while (i < n) {
        if (in[i] != '&') {
            if (put(out, in[i++], err)) return -1;
            continue;
        }
        size_t j = i + 1;
        if (j < n && in[j] == '#') {
            uint32_t num;
            size_t k = parse_numeric(in, n, j, &num);
            if (!k) { /* '&' '#' match nothing: both are copied as text */
                if (put(out, in[i++], err)) return -1;
                continue;
            }
            if (numeric_ref(num, out, err)) return -1;
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
            if (put(out, in[i++], err)) return -1;
            continue;
        }
        int semi = j + len < n && in[j + len] == ';';
        size_t end = j + len + (size_t)semi; /* the match is in[i..end) */
        const struct html_entity *e = entity_find(name, len);
        if (e && (semi || e->legacy)) {
            if (put(out, e->cp0, err) || (e->cp1 && put(out, e->cp1, err))) return -1;
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
            if (put(out, e->cp0, err) || (e->cp1 && put(out, e->cp1, err))) return -1;
            if (put_n(out, in + j + x, end - (j + x), err)) return -1;
        } else {
            if (put_n(out, in + i, end - i, err)) return -1;
        }
        i = end;
    }
    return 0;
}

/* ---- ftfy's unescape_html ------------------------------------------------ */

/* Full uppercase (Python str.upper) of an entity's character: the simple
 * mapping plus the special cases that occur among lower-case entity names. */
static int upper_full(uint32_t c, textfix_buf *out, mm_error *err)
{
    static const struct { uint32_t c; uint32_t up[3]; } special[] = {
        {0x00DF, {'S', 'S', 0}},   {0x0149, {0x02BC, 'N', 0}}, {0xFB00, {'F', 'F', 0}},
        {0xFB01, {'F', 'I', 0}},   {0xFB02, {'F', 'L', 0}},    {0xFB03, {'F', 'F', 'I'}},
        {0xFB04, {'F', 'F', 'L'}},
    };
    for (size_t k = 0; k < sizeof special / sizeof special[0]; k++)
        if (special[k].c == c) {
            for (int m = 0; m < 3 && special[k].up[m]; m++)
                if (put(out, special[k].up[m], err)) return -1;
            return 0;
        }
    return put(out, (uint32_t)utf8proc_toupper((utf8proc_int32_t)c), err);
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
static int ftfy_unescape_html(const uint32_t *in, size_t n, textfix_buf *out, mm_error *err)
{
    out->len = 0;
    if (textfix_reserve(out, n, err)) return -1;
    size_t i = 0;
    while (i < n) {
        if (in[i] != '&') {
            if (put(out, in[i++], err)) return -1;
            continue;
        }
        size_t j = i + 1;
        int hash = j < n && in[j] == '#';
        if (hash) j++;
        size_t len = 0;
        while (j + len < n && len <= 24 && is_ascii_alnum(in[j + len])) len++;
        if (len == 0 || len > 24 || j + len >= n || in[j + len] != ';') {
            if (put(out, in[i++], err)) return -1;
            continue;
        }
        size_t end = j + len + 1;
        char name[32];
        for (size_t k = 0; k < len; k++) name[k] = (char)in[j + k];
        if (!hash) {
            const struct html_entity *e = entity_find(name, len);
            if (e) {
                if (put(out, e->cp0, err) || (e->cp1 && put(out, e->cp1, err))) return -1;
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
                if (upper_full(e->cp0, out, err) || (e->cp1 && upper_full(e->cp1, out, err))) return -1;
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
                if (numeric_ref(num, out, err)) return -1;
                if (!(out->len > before && out->cp[before] == ';')) {
                    i = end;
                    continue;
                }
                out->len = before;
            }
        }
        if (put_n(out, in + i, end - i, err)) return -1;
        i = end;
    }
    return 0;
}

/* ---- fix_encoding: ftfy's fix_encoding_and_explain ------------------------ */

#include "text/textfix_ftfy.inc"

/* ftfy's character classes of c (FC_* bits; 0 for ASCII and most text). */
static uint32_t fclass(uint32_t c)
{
    if (c < 0x80 || (c > FTFY_CLASS_GAP_LO && c < FTFY_CLASS_GAP_HI)) return 0; /* CJK, emoji, ... */
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
static int bad_at(const uint32_t *t, size_t n, size_t i)
{
    uint32_t c[7] = {0}, m[7] = {0};
    c[0] = t[i];
    m[0] = fclass(c[0]);
    /* every alternative starts with a classed character, an ASCII letter,
     * one of . , ? ! or a space */
    if (!m[0] && !ascii_letter(c[0]) && c[0] != '.' && c[0] != ',' && c[0] != '?' && c[0] != '!' &&
        !py_space(c[0]))
        return 0;
    size_t k = n - i < 7 ? n - i : 7;
    for (size_t j = 1; j < k; j++) {
        c[j] = t[i + j];
        m[j] = fclass(c[j]);
    }
    /* a character beyond the end is 0: in no class, not a space, not a letter */
    uint32_t m0 = m[0], m1 = m[1], m2 = m[2];
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
        const uint32_t arab = FC_COMMON | FC_CUR | FC_BAD | FC_NUM | FC_SP;
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

static int is_bad(const uint32_t *t, size_t n)
{
    /* every alternative has a non-ASCII character among its first three */
    for (size_t i = 0; i < n; i++)
        if ((t[i] >= 0x80 || (i + 1 < n && t[i + 1] >= 0x80) || (i + 2 < n && t[i + 2] >= 0x80)) &&
            bad_at(t, n, i))
            return 1;
    return 0;
}

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

/* A growable byte array (held in a textfix_buf's storage). */
typedef struct { unsigned char *b; size_t len, cap; } bytebuf;

static int bb_reserve(bytebuf *bb, size_t n, mm_error *err)
{
    if (n <= bb->cap) return 0;
    size_t cap = bb->cap ? bb->cap : 64;
    while (cap < n) cap *= 2;
    unsigned char *p = realloc(bb->b, cap);
    if (!p) return mm_fail(err, MM_ERR_NOMEM, "out of memory (text of %zu bytes)", n);
    bb->b = p;
    bb->cap = cap;
    return 0;
}

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
static int restore_byte_a0(const bytebuf *in, bytebuf *out, mm_error *err)
{
    static const char *const keep[] = {" ", "quele", "quela", "quilo", "s "};
    bytebuf t = {0};
    int rc = -1;
    if (bb_reserve(&t, in->len * 3 / 2 + 2, err)) goto done;
    for (size_t i = 0; i < in->len; i++) {
        t.b[t.len++] = in->b[i];
        if (in->b[i] == 0xC3 && i + 1 < in->len && in->b[i + 1] == ' ') {
            int skip = 0;
            for (int k = 0; k < 5 && !skip; k++) {
                size_t l = strlen(keep[k]);
                skip = in->len - (i + 2) >= l && memcmp(in->b + i + 2, keep[k], l) == 0;
            }
            if (!skip) {
                if (bb_reserve(&t, t.len + in->len - i + 2, err)) goto done;
                t.b[t.len++] = 0xA0;
            }
        }
    }
    out->len = 0;
    if (bb_reserve(out, t.len + 1, err)) goto done;
    for (size_t i = 0; i < t.len;) {
        size_t k = altered_at(t.b, t.len, i);
        if (!k) { out->b[out->len++] = t.b[i++]; continue; }
        for (size_t j = 0; j < k; j++) out->b[out->len++] = t.b[i + j] == ' ' ? 0xA0 : t.b[i + j];
        i += k;
    }
    rc = 0;
done:
    free(t.b);
    return rc;
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

static int replace_lossy(const bytebuf *in, bytebuf *out, mm_error *err)
{
    out->len = 0;
    if (bb_reserve(out, in->len * 3 + 1, err)) return -1;
    for (size_t i = 0; i < in->len;) {
        size_t k = lossy_at(in->b, in->len, i);
        if (!k) { out->b[out->len++] = in->b[i++]; continue; }
        out->b[out->len++] = 0xEF;
        out->b[out->len++] = 0xBF;
        out->b[out->len++] = 0xBD;
        i += k;
    }
    return 0;
}

/* Decodes bytes as UTF-8 or, when they hold 0xED or 0xC0, as ftfy's
 * "utf-8-variants" (CESU-8 surrogate pairs, C0 80 for U+0000). Returns 1 and
 * fills out, 0 when the bytes are not (variant) UTF-8, -1 on failure. */
static int decode_utf8_variants(const bytebuf *in, textfix_buf *out, mm_error *err)
{
    int variants = memchr(in->b, 0xED, in->len) || memchr(in->b, 0xC0, in->len);
    out->len = 0;
    if (textfix_reserve(out, in->len + 1, err)) return -1;
    const unsigned char *s = in->b;
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
    bytebuf a, b;
};

static int fix_encoding_full(textfix_buf *t, int depth, mm_error *err);
static int fix_c1_controls(const textfix_buf *in, textfix_buf *out, mm_error *err);

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
static int decode_inconsistent(const textfix_buf *t, textfix_buf *out, int depth, mm_error *err)
{
    out->len = 0;
    textfix_buf sub = {0};
    int rc = -1;
    const uint32_t *s = t->cp;
    size_t n = t->len;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        if (i == 0 || !(fclass(s[i - 1]) & FC_CONTS)) {
            /* ([F2] CONT | [F3] CONT{2} | [F4] CONT{3})+, alternatives in order */
            for (;;) {
                uint32_t m = fclass(s[j]);
                size_t got = 0;
                for (size_t want = 1; want <= 3 && !got; want++) {
                    uint32_t bit = want == 1 ? FC_F2 : want == 2 ? FC_F3 : FC_F4;
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
            if (put(out, s[i], err)) goto done;
            i++;
            continue;
        }
        sub.len = 0;
        if (put_n(&sub, s + i, j - i, err)) goto done;
        if (j - i < n && is_bad(sub.cp, sub.len) && fix_encoding_full(&sub, depth + 1, err)) goto done;
        if (put_n(out, sub.cp, sub.len, err)) goto done;
        i = j;
    }
    rc = 0;
done:
    textfix_buf_free(&sub);
    return rc;
}

/* One step of ftfy's _fix_encoding_one_step_and_explain: t -> out. Returns
 * 1 when out holds a changed text, 0 when t stays, -1 on failure. */
static int fix_encoding_step(const textfix_buf *t, textfix_buf *out, struct fixenc_work *w, int depth, mm_error *err)
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
        if (bb_reserve(&w->a, n + 1, err)) return -1;
        for (size_t i = 0; i < n; i++) w->a.b[w->a.len++] = (unsigned char)enc_byte(e, s[i]);
        if (e != FTFY_MACROMAN) {
            int altered = 0;
            for (size_t i = 0; i < w->a.len && !altered; i++) altered = altered_at(w->a.b, w->a.len, i) != 0;
            if (altered) {
                if (restore_byte_a0(&w->a, &w->b, err)) return -1;
                bytebuf x = w->a;
                w->a = w->b;
                w->b = x;
            }
        }
        if (ftfy_encoding_sloppy[e]) {
            if (replace_lossy(&w->a, &w->b, err)) return -1;
            bytebuf x = w->a;
            w->a = w->b;
            w->b = x;
        }
        int r = decode_utf8_variants(&w->a, out, err);
        if (r) return r < 0 ? -1 : !same(t, out);
    }
    /* UTF8_DETECTOR_RE finds mojibake runs inside otherwise good text */
    if (depth < 8) {
        if (decode_inconsistent(t, out, depth, err)) return -1;
        if (!same(t, out)) return 1;
    }
    if (possible & (1u << FTFY_LATIN1)) {
        /* Latin-1 meant as Windows-1252: only C1 controls can change, and
         * ftfy's strict windows-1252 refuses 81 8D 8F 90 9D */
        out->len = 0;
        if (textfix_reserve(out, n, err)) return -1;
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
        if (fix_c1_controls(t, out, err)) return -1;
        return !same(t, out);
    }
    return 0;
}

#define FTFY_MAX_ENCODING_STEPS 64 /* ftfy loops to a fixed point; we bound it */

static int fix_encoding_full(textfix_buf *t, int depth, mm_error *err)
{
    struct fixenc_work w = {{0}, {0}};
    textfix_buf out = {0};
    int rc = 0;
    for (int step = 0; step < FTFY_MAX_ENCODING_STEPS; step++) {
        int r = fix_encoding_step(t, &out, &w, depth, err);
        if (r < 0) { rc = -1; break; }
        if (r == 0) break;
        swap_buf(t, &out);
    }
    free(w.a.b);
    free(w.b.b);
    textfix_buf_free(&out);
    return rc;
}

/* ---- the simple ftfy fixers (one pass each, in -> out) ------------------- */

static int fix_c1_controls(const textfix_buf *in, textfix_buf *out, mm_error *err)
{
    out->len = 0;
    if (textfix_reserve(out, in->len, err)) return -1;
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i];
        out->cp[out->len++] = (c >= 0x80 && c <= 0x9F) ? cp1252_c1[c - 0x80] : c;
    }
    return 0;
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
static int nfkc_char(uint32_t c, textfix_buf *out, mm_error *err)
{
    unsigned char u[4];
    int k = textfix_utf8_put(c, u);
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t r =
        utf8proc_map(u, k, &m, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
    if (r < 0) { free(m); return put(out, c, err); }
    utf8proc_ssize_t p = 0;
    while (p < r) {
        utf8proc_int32_t d;
        utf8proc_ssize_t step = utf8proc_iterate(m + p, r - p, &d);
        if (step <= 0) break;
        if (put(out, (uint32_t)d, err)) { free(m); return -1; }
        p += step;
    }
    free(m);
    return 0;
}

/* fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks
 * in ftfy's order: each is a per-character map except CRLF, and none of the
 * later ones undoes an earlier one, so they run in one pass. */
static int fix_chars(const textfix_buf *in, textfix_buf *out, mm_error *err)
{
    out->len = 0;
    if (textfix_reserve(out, in->len, err)) return -1;
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i];
        if (c < 0x80 && c != '\r') {
            if (put(out, c, err)) return -1;
            continue;
        }
        size_t start = out->len;
        int done = 0;
        if ((c >= 0x0132 && c <= 0x01F3) || (c >= 0xFB00 && c <= 0xFB06)) {
            for (size_t k = 0; k < sizeof ligatures / sizeof ligatures[0]; k++)
                if (ligatures[k].c == c) {
                    for (int m = 0; m < 3 && ligatures[k].to[m]; m++)
                        if (put(out, ligatures[k].to[m], err)) return -1;
                    done = 1;
                    break;
                }
        }
        if (!done && c == 0x3000) {
            if (put(out, ' ', err)) return -1;
            done = 1;
        } else if (!done && c >= 0xFF01 && c <= 0xFFEF) {
            if (nfkc_char(c, out, err)) return -1;
            done = 1;
        }
        if (!done && put(out, c, err)) return -1;
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
    return 0;
}

/* remove_terminal_escapes (ESC '[' (\d|;)* [A-Za-z], \d being any Unicode
 * decimal digit as in Python's re) and remove_control_chars. */
static int is_removed_control(uint32_t c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

static int remove_escapes_and_controls(const textfix_buf *in, textfix_buf *out, mm_error *err)
{
    /* first the escapes (a whole pass, as ftfy), then the controls */
    textfix_buf mid = {0};
    if (textfix_reserve(&mid, in->len + 1, err)) return -1;
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
    if (textfix_reserve(out, mid.len, err)) { textfix_buf_free(&mid); return -1; }
    for (size_t i = 0; i < mid.len; i++)
        if (!is_removed_control(mid.cp[i])) out->cp[out->len++] = mid.cp[i];
    textfix_buf_free(&mid);
    return 0;
}

int textfix_nfc(textfix_buf *t, mm_error *err)
{
    int simple = 1;
    for (size_t i = 0; i < t->len && simple; i++) simple = t->cp[i] < 0x300;
    if (simple) return 0; /* nothing below U+0300 composes or decomposes under NFC */
    size_t nbytes = 0;
    for (size_t i = 0; i < t->len; i++) nbytes += t->cp[i] < 0x80 ? 1 : t->cp[i] < 0x800 ? 2 : t->cp[i] < 0x10000 ? 3 : 4;
    unsigned char *u = malloc(nbytes + 1);
    if (!u) return mm_fail(err, MM_ERR_NOMEM, "out of memory (NFC of %zu characters)", t->len);
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
        if (put_n(a, seg->cp, seg->len, err)) return -1; /* a = this round's input */
        if (unescape) {
            if (ftfy_unescape_html(seg->cp, seg->len, b, err)) return -1;
            swap_buf(seg, b);
        }
        if (fix_encoding_full(seg, 0, err)) return -1;
        if (fix_c1_controls(seg, b, err)) return -1;
        swap_buf(seg, b);
        if (fix_chars(seg, b, err)) return -1;
        swap_buf(seg, b);
        if (remove_escapes_and_controls(seg, b, err)) return -1;
        swap_buf(seg, b);
        if (textfix_nfc(seg, err)) return -1;
        if (same(seg, a)) return 0;
    }
    return 0;
}

/* The common caption: ASCII without '&', CR or removable controls. ftfy
 * changes nothing in it. */
static int fix_text_is_noop(const textfix_buf *t)
{
    for (size_t i = 0; i < t->len; i++) {
        uint32_t c = t->cp[i];
        if (c >= 0x80 || c == '&' || c == '\r' || is_removed_control(c)) return 0;
    }
    return 1;
}

int textfix_fix_text(textfix_buf *text, mm_error *err)
{
    if (fix_text_is_noop(text)) return 0;
    textfix_buf out = {0}, seg = {0}, work[3] = {{0}};
    int rc = -1, unescape = 1;
    size_t pos = 0;
    if (textfix_reserve(&out, text->len + 1, err)) goto done;
    while (pos < text->len) {
        size_t brk = pos;
        while (brk < text->len && text->cp[brk] != '\n') brk++;
        brk = brk < text->len ? brk + 1 : text->len;
        if (brk - pos > FTFY_MAX_DECODE_LENGTH) brk = pos + FTFY_MAX_DECODE_LENGTH;
        seg.len = 0;
        if (put_n(&seg, text->cp + pos, brk - pos, err)) goto done;
        for (size_t i = 0; i < seg.len && unescape; i++)
            if (seg.cp[i] == '<') unescape = 0; /* ftfy "auto": off from here on */
        if (fix_segment(&seg, unescape, &work[0], &work[1], err)) goto done;
        if (put_n(&out, seg.cp, seg.len, err)) goto done;
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
