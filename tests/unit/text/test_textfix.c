/* test_textfix.c — lib/text/textfix.c on its own: UTF-8, html.unescape's
 * entity table (scripts/gen-html-entities), and ftfy's fix_encoding
 * (scripts/gen-ftfy-tables): each single-byte codec ftfy tries, the badness
 * heuristic leaving good text alone, restore_byte_a0, lossy sequences, the
 * utf-8 variants, decode_inconsistent_utf8, per-line fixing and the C1
 * rules. The mojibake inputs are made with Python's codecs (UTF-8 bytes read
 * as the named encoding); the whole-caption reference is test_ftfy_cases. */
#include "test.h"

#include "text/textfix.h"

static char *utf8_of(const uint32_t *cp, size_t n)
{
    char *s = malloc(4 * n + 1);
    size_t p = 0;
    for (size_t i = 0; i < n; i++) p += (size_t)textfix_utf8_put(cp[i], (unsigned char *)s + p);
    s[p] = '\0';
    return s;
}

static void check_fix(const char *in, const char *want, int line)
{
    textfix_buf b = {0};
    mm_error err = {0};
    CHECK(textfix_decode_utf8(in, strlen(in), TEXTFIX_UTF8_STRICT, &b, &err) == 0);
    CHECK(textfix_fix_text(&b, &err) == 0);
    char *got = utf8_of(b.cp, b.len);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "  line %d: fix_text(\"%s\") = \"%s\", want \"%s\"\n", line, in, got, want);
        test_failures_in_current++;
    }
    free(got);
    textfix_buf_free(&b);
}
#define FIX(in, want) check_fix(in, want, __LINE__)
#define KEEP(in) check_fix(in, in, __LINE__)

static void test_codecs(void)
{
    FIX("\xD0\xA0\xD1\x9F\xD0\xA1\xD0\x82\xD0\xA0\xD1\x91\xD0\xA0\xD0\x86\xD0\xA0\xC2\xB5\xD0\xA1\xE2\x80\x9A, \xD0\xA0\xD1\x98\xD0\xA0\xD1\x91\xD0\xA1\xD0\x82", "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80"); /* windows-1251 */
    FIX("\xC4\xB9\xC2\x81\xC4\x82\xC5\x82" "d\xC4\xB9\xC5\x9F, Krak\xC4\x82\xC5\x82w", "\xC5\x81\xC3\xB3" "d\xC5\xBA, Krak\xC3\xB3w"); /* windows-1250 */
    FIX("\xCE\x9E\xE2\x80\xA2\xCE\x9E\xC2\xBB\xCE\x9E\xC2\xBB\xCE\x9E\xC2\xB7\xCE\x9E\xC2\xBD\xCE\x9E\xCE\x89\xCE\x9E\xCE\x8A\xCE\x9E\xC2\xAC", "\xCE\x95\xCE\xBB\xCE\xBB\xCE\xB7\xCE\xBD\xCE\xB9\xCE\xBA\xCE\xAC"); /* windows-1253 */
    FIX("\xC3\x84\xC2\xB0stanbul'da g\xC3\x83\xC2\xBCzel", "\xC4\xB0stanbul'da g\xC3\xBCzel"); /* windows-1254 */
    /* Å + NBSP (Š read as Latin-1 or windows-1257) matches no badness
     * pattern on its own, so ftfy leaves it; Å³ (ų) does */
    KEEP("\xC3\x85\xC2\xA0iauliai, Lietuva");
    FIX("\xC3\x85\xC2\xA0iauli\xC3\x85\xC2\xB3", "\xC5\xA0iauli\xC5\xB3");
    FIX("\xC3\x84\xC2\x8C" "e\xC4\xB9\xC4\x84tina je kr\xC4\x82\xC4\x84sn\xC4\x82\xC4\x84", "\xC4\x8C" "e\xC5\xA1tina je kr\xC3\xA1sn\xC3\xA1"); /* iso-8859-2 */
    FIX("caf\xE2\x88\x9A\xC2\xA9 d\xE2\x88\x9A\xC2\xA9j\xE2\x88\x9A\xE2\x80\xA0 vu", "caf\xC3\xA9 d\xC3\xA9j\xC3\xA0 vu"); /* macroman */
    FIX("S\xE2\x94\x9C\xC3\xBAo Paulo", "S\xC3\xA3o Paulo"); /* cp437 */
    FIX("na\xC3\x83\xC2\xAFve r\xC3\x83\xC2\xA9sum\xC3\x83\xC2\xA9", "na\xC3\xAFve r\xC3\xA9sum\xC3\xA9"); /* latin-1 */
    FIX("M\xC3\x83\xC6\x92\xC3\x82\xC2\xBCller", "M\xC3\xBCller"); /* twice */
    FIX("photo \xC3\xA6\xE2\x80\x94\xC2\xA5\xC3\xA6\xC5\x93\xC2\xAC\xC3\xA8\xC2\xAA\xC5\xBE \xF0\x9F\x98\x80", "photo \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80"); /* inside text that does not re-encode */
}

static void test_badness_keeps_good_text(void)
{
    KEEP("caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e");          /* café crème brûlée */
    KEEP("Z\xC3\xBCrich \xC3\xBC" "ber M\xC3\xBCnchen");               /* Zürich über München */
    KEEP("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88");
    KEEP("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xD0\xBC\xD0\xB8\xD1\x80");             /* Привет мир */
    KEEP("\xC2\xA9 2020 \xE2\x84\xA2 \xE2\x80\x94 \xC2\xBD cup");     /* © 2020 ™ — ½ cup */
    KEEP("3\xC3\x97\xC2\xBD");                                         /* 3×½ */
    KEEP("\xC3\x8F\xE2\x82\xAC r");                                    /* Ï€ at the start: no pattern */
    FIX("pi \xC3\x8F\xE2\x82\xAC r", "pi \xCF\x80 r");                 /* after a space: \s UA currency */
    KEEP("na\xC3\xAFve");
}

static void test_ftfy_steps(void)
{
    /* restore_byte_a0: UTF-8 whose 0xA0 byte became a space */
    FIX("voil\xC3\x83 le travail", "voil\xC3\xA0 le travail");
    FIX("s\xC3\x83\xC2\xB3", "s\xC3\xB3");                              /* ftfy's docstring: sÃ³ */
    /* lossy: U+FFFD where a sloppy codec lost a byte */
    FIX("\xC3\xA2\xE2\x82\xAC\xC5\x93 like this \xC3\xA2\xE2\x82\xAC\xEF\xBF\xBD",
        "\" like this \xEF\xBF\xBD");
    /* C1 controls read as Latin-1 meant Windows-1252 */
    FIX("\xC2\x93quoted\xC2\x94", "\"quoted\"");
    FIX("a\xC2\x81" "b", "a\xC2\x81" "b");                             /* 0x81: no 1252 char */
    /* per line: the second line is repaired, the first stays */
    FIX("3\xC3\x97\xC2\xBD\ncaf\xC3\x83\xC2\xA9", "3\xC3\x97\xC2\xBD\ncaf\xC3\xA9");
    /* utf-8-variants: CESU-8 of an emoji, read as Latin-1 */
    FIX("\xC3\xAD\xC2\xA0\xC2\xBD\xC3\xAD\xC2\xB8\xC2\x80 grin", "\xF0\x9F\x98\x80 grin");
    /* Bad input stays: no crash and valid code points for any text */
    KEEP("\xC3\x83");
    KEEP("");
}

static void test_entities(void)
{
    /* first, last and two-code-point entries of the generated table */
    static const struct { const char *in, *want; } c[] = {
        {"&AElig;", "\xC3\x86"}, {"&zwnj;", "\xE2\x80\x8C"}, {"&Aopf;", "\xF0\x9D\x94\xB8"},
        {"&NotEqualTilde;", "\xE2\x89\x82\xCC\xB8"}, {"&AElig", "\xC3\x86"}, {"&zwnj", "&zwnj"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        textfix_buf a = {0}, b = {0};
        mm_error err = {0};
        CHECK(textfix_decode_utf8(c[i].in, strlen(c[i].in), TEXTFIX_UTF8_STRICT, &a, &err) == 0);
        textfix_html_unescape(a.cp, a.len, &b);
        char *got = utf8_of(b.cp, b.len);
        CHECK_MSG(strcmp(got, c[i].want) == 0, "%s -> %s", c[i].in, got);
        free(got);
        textfix_buf_free(&a);
        textfix_buf_free(&b);
    }
}

static void test_utf8(void)
{
    textfix_buf b = {0};
    mm_error err = {0};
    CHECK(textfix_decode_utf8("a\xC3\xA9", 3, TEXTFIX_UTF8_STRICT, &b, &err) == 0);
    CHECK(b.len == 2 && b.cp[1] == 0xE9);
    CHECK(textfix_decode_utf8("a\xED\xA0\x80", 4, TEXTFIX_UTF8_STRICT, &b, &err) == -1);
    CHECK_EQ_INT(err.kind, MM_ERR_MALFORMED);
    CHECK(strstr(err.msg, "byte 1") != NULL);
    CHECK(textfix_decode_utf8("a\xED\xA0\x80", 4, TEXTFIX_UTF8_REPLACE, &b, &err) == 0);
    CHECK_EQ_INT((int)b.len, 4); /* a + three U+FFFD, as Python */
    textfix_buf_free(&b);
}

/* textfix_is_bad's fast scan (only near a "core" of the badness pattern)
 * against trying the pattern at every position, on random strings of the
 * characters the pattern is about: ASCII letters, spaces and punctuation,
 * U+0080..U+04FF and the punctuation, currency, maths and box-drawing
 * blocks where ftfy's classes lie, and a CJK letter. */
static void test_badness_fast_scan(void)
{
    static const uint32_t ascii[] = {'a', 'z', 'A', ' ', '\n', '.', ',', '?', '!', '0', '_', '-', 0x4E00};
    static const uint32_t blocks[][2] = {{0x80, 0x4FF}, {0x2010, 0x2044}, {0x2100, 0x2130},
                                         {0x2200, 0x2270}, {0x2500, 0x25CF}, {0xF8FF, 0xF8FF},
                                         {0xFB00, 0xFB06}, {0xFFFD, 0xFFFD}};
    uint64_t x = 0x9E3779B97F4A7C15u;
    uint32_t t[12];
    long disagree = 0, bad = 0, n_strings = 400000;
    for (long r = 0; r < n_strings; r++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = 1 + (size_t)(x % 12);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (x % 3 == 0) {
                t[i] = ascii[(x >> 8) % (sizeof ascii / sizeof ascii[0])];
            } else {
                size_t b = (size_t)((x >> 8) % (sizeof blocks / sizeof blocks[0]));
                t[i] = blocks[b][0] + (uint32_t)((x >> 16) % (blocks[b][1] - blocks[b][0] + 1));
            }
        }
        int fast = textfix_is_bad(t, n, 0), every = textfix_is_bad(t, n, 1);
        bad += every;
        if (fast != every && disagree++ < 5) {
            fprintf(stderr, "  # disagree (fast %d):", fast);
            for (size_t i = 0; i < n; i++) fprintf(stderr, " U+%04X", t[i]);
            fprintf(stderr, "\n");
        }
    }
    CHECK_MSG(disagree == 0, "%ld of %ld strings", disagree, n_strings);
    CHECK_MSG(bad > n_strings / 20, "only %ld bad strings: the test does not reach the pattern", bad);
}

int main(void)
{
    RUN(test_codecs);
    RUN(test_badness_keeps_good_text);
    RUN(test_badness_fast_scan);
    RUN(test_ftfy_steps);
    RUN(test_entities);
    RUN(test_utf8);
    return test_summary();
}
