/* test_tokenizer.c — the CLIP tokenizer (lib/text/tokenizer.c) and the text
 * repair it uses (lib/text/textfix.c).
 *
 * The reference cases are ../shared/ref/clip/tokenizer_cases.jsonl
 * (clip.tokenize(text, 77, truncate=True) from OpenAI's code): every case
 * with ftfy_sensitive == false must match exactly; of the ftfy-sensitive
 * ones at least FTFY_SENSITIVE_MIN must match (the count measured when the
 * ftfy subset was written, so that it cannot silently regress). */
#include "test.h"

#include <jansson.h>
#include <time.h>
#include <unistd.h>

#include "text/textfix.h"
#include "text/tokenizer.h"

/* The shared file holds 178 cases, 12 of them ftfy-sensitive; all 12 match
 * (NFC, curly quotes, fullwidth digits and punctuation, VT removal, U+206F,
 * Latin-1 and cp1252 mojibake). */
#define FTFY_SENSITIVE_MIN 12

static clip_tokenizer *tok;
static char tok_dir[4096];

static int have_shared(void)
{
    if (tok) return 1;
    snprintf(tok_dir, sizeof tok_dir, "%s/ref/clip/tokenizer", test_shared_dir());
    mm_error err = {0};
    tok = clip_tokenizer_load(tok_dir, &err);
    if (!tok) fprintf(stderr, "  # cannot load %s (%s): reference tests skipped\n", tok_dir, err.msg);
    return tok != NULL;
}

/* UTF-8 of a code-point array, for messages and comparisons. */
static char *utf8_of(const uint32_t *cp, size_t n)
{
    char *s = malloc(4 * n + 1);
    size_t p = 0;
    for (size_t i = 0; i < n; i++) p += (size_t)textfix_utf8_put(cp[i], (unsigned char *)s + p);
    s[p] = '\0';
    return s;
}

/* clip_text_normalize(in) as UTF-8 */
static char *norm(const char *in, size_t len, unsigned flags)
{
    textfix_buf b = {0};
    mm_error err = {0};
    if (clip_text_normalize(in, len, flags, &b, &err)) {
        textfix_buf_free(&b);
        char *e = malloc(strlen(err.msg) + 8);
        sprintf(e, "ERROR %s", err.msg);
        return e;
    }
    char *s = utf8_of(b.cp, b.len);
    textfix_buf_free(&b);
    return s;
}

static void check_norm(const char *in, unsigned flags, const char *want, int line)
{
    char *got = norm(in, strlen(in), flags);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "  line %d: normalize(\"%s\") = \"%s\", want \"%s\"\n", line, in, got, want);
        test_failures_in_current++;
    }
    free(got);
}
#define NORM(in, want) check_norm(in, 0, want, __LINE__)
#define NORM_RAW(in, want) check_norm(in, CLIP_TOKENIZE_NO_FIX_TEXT, want, __LINE__)

/* ---- the reference cases ------------------------------------------------- */

struct case_stats {
    int total, insensitive, insensitive_ok, sensitive, sensitive_ok, alt_checked, alt_ok;
};

static int ids_equal(const int32_t *got, int n_got, json_t *want)
{
    if (!json_is_array(want) || (int)json_array_size(want) != n_got) return 0;
    for (int i = 0; i < n_got; i++)
        if (json_integer_value(json_array_get(want, (size_t)i)) != got[i]) return 0;
    return 1;
}

static void print_ids(const char *label, const int32_t *ids, int n)
{
    fprintf(stderr, "    %s:", label);
    for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

static void run_cases(unsigned flags, struct case_stats *st)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/ref/clip/tokenizer_cases.jsonl", test_shared_dir());
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "%s", path);
    if (!f) return;
    clip_tokenizer_set_flags(tok, flags);
    char *line = NULL;
    size_t cap = 0;
    ssize_t r;
    long lineno = 0;
    while ((r = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t je;
        json_t *c = json_loads(line, 0, &je);
        CHECK_MSG(c != NULL, "%s:%ld: %s", path, lineno, je.text);
        if (!c) continue;
        const char *text = json_string_value(json_object_get(c, "text"));
        size_t text_len = json_string_length(json_object_get(c, "text"));
        int sensitive = json_is_true(json_object_get(c, "ftfy_sensitive"));
        int truncated_want = json_is_true(json_object_get(c, "truncated"));
        int32_t ids[77];
        int n = 0;
        mm_error err = {0};
        int rc = clip_tokenize(tok, text, text_len, ids, 77, &n, &err);
        CHECK_MSG(rc >= 0, "case %lld: %s", json_integer_value(json_object_get(c, "id")), err.msg);
        int ok = rc >= 0 && ids_equal(ids, n, json_object_get(c, "ids")) &&
                 n == json_integer_value(json_object_get(c, "length")) && rc == truncated_want;
        st->total++;
        /* Without ftfy, a sensitive case must give ids_without_ftfy where
         * the file has it. */
        json_t *alt = (flags & CLIP_TOKENIZE_NO_FIX_TEXT) ? json_object_get(c, "ids_without_ftfy") : NULL;
        if (sensitive && alt) {
            st->alt_checked++;
            if (rc >= 0 && ids_equal(ids, n, alt)) st->alt_ok++;
            else {
                fprintf(stderr, "  case %lld (no ftfy) differs from ids_without_ftfy\n",
                        json_integer_value(json_object_get(c, "id")));
                print_ids("got", ids, n);
            }
        }
        if (sensitive) {
            st->sensitive++;
            st->sensitive_ok += ok;
        } else {
            st->insensitive++;
            st->insensitive_ok += ok;
        }
        if (!ok && (!sensitive || !(flags & CLIP_TOKENIZE_NO_FIX_TEXT))) {
            fprintf(stderr, "  case %lld (%s%s) mismatch\n", json_integer_value(json_object_get(c, "id")),
                    json_string_value(json_object_get(c, "category")), sensitive ? ", ftfy-sensitive" : "");
            print_ids("got ", ids, n);
            json_t *w = json_object_get(c, "ids");
            fprintf(stderr, "    want:");
            for (size_t i = 0; i < json_array_size(w); i++)
                fprintf(stderr, " %lld", json_integer_value(json_array_get(w, i)));
            fputc('\n', stderr);
        }
        json_decref(c);
    }
    free(line);
    fclose(f);
    clip_tokenizer_set_flags(tok, 0);
}

static void test_reference_cases(void)
{
    if (!have_shared()) return;
    struct case_stats st = {0};
    run_cases(0, &st);
    printf("# reference cases: %d; ftfy-insensitive %d/%d exact; ftfy-sensitive %d/%d exact\n", st.total,
           st.insensitive_ok, st.insensitive, st.sensitive_ok, st.sensitive);
    CHECK(st.total > 0);
    CHECK_EQ_INT(st.insensitive_ok, st.insensitive);
    CHECK_MSG(st.sensitive_ok >= FTFY_SENSITIVE_MIN, "ftfy-sensitive matches %d < %d", st.sensitive_ok,
              FTFY_SENSITIVE_MIN);
}

static void test_reference_cases_without_ftfy(void)
{
    if (!have_shared()) return;
    struct case_stats st = {0};
    run_cases(CLIP_TOKENIZE_NO_FIX_TEXT, &st);
    printf("# without fix_text: ftfy-insensitive %d/%d; ids_without_ftfy %d/%d\n", st.insensitive_ok,
           st.insensitive, st.alt_ok, st.alt_checked);
    CHECK_EQ_INT(st.insensitive_ok, st.insensitive);
    CHECK_EQ_INT(st.alt_ok, st.alt_checked);
}

/* ---- pieces ----------------------------------------------------------------- */

static void test_lowercase_specials(void)
{
    NORM("\xC4\xB0stanbul", "i\xCC\x87stanbul");          /* İ -> i + U+0307 */
    NORM("D\xC4\xB0YARBAKIR", "di\xCC\x87yarbakir");
    NORM("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3", "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82"); /* ΟΔΟΣ -> οδος */
    NORM("\xCE\xA3", "\xCF\x83");                           /* lone Σ -> σ */
    NORM("\xCE\xA3\xCE\x91", "\xCF\x83\xCE\xB1");           /* ΣΑ: not final */
    NORM("\xCE\x91\xCE\xA3 \xCE\xA3", "\xCE\xB1\xCF\x82 \xCF\x83");
    NORM("\xCE\x91\xCE\xA3'", "\xCE\xB1\xCF\x82'");         /* ' is case-ignorable */
    NORM("\xCE\x91\xCE\xA3'\xCE\x91", "\xCE\xB1\xCF\x83'\xCE\xB1");
    NORM("\xCE\x91\xCC\x81\xCE\xA3", "\xCE\xAC\xCF\x82");   /* after NFC: ά + final */
    NORM_RAW("\xCE\x91\xCC\x81\xCE\xA3", "\xCE\xB1\xCC\x81\xCF\x82"); /* Mn skipped */
    NORM("\xE1\xBA\x9E", "\xC3\x9F");                       /* ẞ -> ß */
    NORM("\xE2\x84\xAA", "k");                              /* Kelvin sign */
    NORM("\xE2\x85\xAB", "\xE2\x85\xBB");                   /* Ⅻ -> ⅻ */
    NORM_RAW("\xC7\x85", "\xC7\x86");                       /* ǅ -> ǆ (titlecase digraph) */
    NORM("\xC7\x85", "d\xC5\xBE");                          /* ftfy splits it first: "Dž" */
}

static void check_unescape(const char *in, const char *want, int line)
{
    textfix_buf a = {0}, b = {0};
    mm_error err = {0};
    CHECK(textfix_decode_utf8(in, strlen(in), TEXTFIX_UTF8_STRICT, &a, &err) == 0);
    textfix_html_unescape(a.cp, a.len, &b);
    char *got = utf8_of(b.cp, b.len);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "  line %d: unescape(\"%s\") = \"%s\", want \"%s\"\n", line, in, got, want);
        test_failures_in_current++;
    }
    free(got);
    textfix_buf_free(&a);
    textfix_buf_free(&b);
}
#define UNESC(in, want) check_unescape(in, want, __LINE__)

static void test_html_unescape(void)
{
    UNESC("&amp;lt;", "&lt;");                  /* one level per call */
    UNESC("&lt;b&gt;", "<b>");
    UNESC("&amp", "&");                         /* legacy name without ';' */
    UNESC("&ampx", "&x");                       /* longest legacy prefix */
    UNESC("&notit;", "\xC2\xACit;");
    UNESC("&notin;", "\xE2\x88\x89");
    UNESC("&unknownentity;", "&unknownentity;");
    UNESC("&hellip", "&hellip");                /* not legacy: needs ';' */
    UNESC("&hellip;", "\xE2\x80\xA6");
    UNESC("&NotEqualTilde;", "\xE2\x89\x82\xCC\xB8"); /* two code points */
    UNESC("&#39;&#x27;&#X27", "'''");
    UNESC("&#0;", "\xEF\xBF\xBD");
    UNESC("&#128;&#x9d;", "\xE2\x82\xAC\xC2\x9D");   /* Windows-1252 rule */
    UNESC("&#1;&#x7f;&#xFDD0;&#x1FFFF;", "");         /* dropped */
    UNESC("&#13;", "\r");
    UNESC("&#xD800;&#x110000;&#99999999999999999999;", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    UNESC("&#;&#x;&#xg;& &;", "&#;&#x;&#xg;& &;");
    UNESC("&#128512 x", "\xF0\x9F\x98\x80 x");
    UNESC("&copy2024", "\xC2\xA9" "2024");
    UNESC("&amp;amp;", "&amp;");
    UNESC("&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaamp;", "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaamp;");
    UNESC("&ampamp;", "&amp;");                 /* prefix 'amp' then text 'amp;' */
    /* a NUL inside a would-be name (fuzzer find: it ended the name early in
     * the table lookup and read past a table string) */
    {
        textfix_buf a = {0}, b = {0};
        mm_error err = {0};
        CHECK(textfix_decode_utf8("&a\0b;&A\0", 8, TEXTFIX_UTF8_STRICT, &a, &err) == 0);
        textfix_html_unescape(a.cp, a.len, &b);
        CHECK_EQ_INT(b.len, 8);
        CHECK(b.len == 8 && memcmp(a.cp, b.cp, 8 * sizeof *a.cp) == 0);
        textfix_buf_free(&a);
        textfix_buf_free(&b);
    }
    /* twice, without ftfy: */
    NORM_RAW("&amp;amp;amp;", "&amp;");
    NORM_RAW("&amp;lt;b&amp;gt;", "<b>");
    NORM_RAW("&nbsp;x&nbsp;", "x");             /* NBSP then stripped */
}

static void test_whitespace(void)
{
    NORM_RAW("  a \t\n b  ", "a b");
    NORM_RAW("\xC2\xA0" "a\xE3\x80\x80" "b\xE2\x80\xA8" "c\xC2\x85" "d\xE1\x9A\x80" "e", "a b c d e");
    NORM_RAW("a\xE2\x80\x8B" "b", "a\xE2\x80\x8B" "b");     /* ZWSP is not White_Space */
    NORM_RAW("a\x1c" "b", "a\x1c" "b");                     /* U+001C: not \s ... */
    NORM_RAW("\x1f" "a b\x1c", "a b");                      /* ... but str.strip() removes it */
    NORM_RAW("", "");
    NORM_RAW(" \t ", "");
}

static void test_fix_text(void)
{
    NORM("Caf\xC3\x83\xC2\xA9", "caf\xC3\xA9");                      /* CafÃ© -> café */
    NORM("\xC3\xA2\xE2\x82\xAC\xC5\x93quoted\xC3\xA2\xE2\x82\xAC\xC2\x9D", "\"quoted\"");
    NORM("Bront\xC3\xAB\xE2\x80\xA6\xE2\x80\x9D", "bront\xC3\xAB\xE2\x80\xA6\"");  /* legit, kept */
    NORM("CAF\xC3\x89\xE2\x80\x9D", "caf\xC3\xA9\"");                       /* CAFÉ”: kept */
    NORM("3\xC3\x97\xC2\xBD", "3\xC3\x97\xC2\xBD");                         /* 3×½: kept */
    NORM("\xC3\x84\xE2\x80\xA1", "\xC4\x87");                               /* Ä‡ -> ć */
    /* Ï€ (π read as Windows-1252) matches none of ftfy's badness patterns,
     * so ftfy 6.3.1 leaves it; after a space it is "\s [upper_accented]
     * [currency]" and is repaired */
    NORM("\xC3\x8F\xE2\x82\xAC r", "\xC3\xAF\xE2\x82\xAC r");
    NORM("pi \xC3\x8F\xE2\x82\xAC r", "pi \xCF\x80 r");
    NORM("\xEF\xAC\x81" "sh \xC4\xB2" "s", "fish ijs");                  /* ligatures */
    NORM("\xEF\xBC\xA6\xEF\xBC\xB5\xEF\xBC\xAC\xEF\xBC\xAC\xEF\xBC\x91", "full1"); /* fullwidth */
    NORM("\xEF\xBD\xB6\xEF\xBE\x9E", "\xE3\x82\xAC");                 /* ｶﾞ -> ガ (NFKC + NFC) */
    NORM("it\xE2\x80\x99s \xE2\x80\x9Cx\xE2\x80\x9D", "it's \"x\"");
    NORM("a\xC2\x85" "b", "a\xE2\x80\xA6" "b");                          /* U+0085 -> … */
    NORM("\x1b[31mred\x1b[0m", "red");
    NORM("\xEF\xBB\xBF" "bom\x07\x7f", "bom");
    NORM("a\xE2\x81\xAF" "b", "ab");
    NORM("e\xCC\x81", "\xC3\xA9");                                       /* NFC */
    NORM("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81");         /* Hangul jamo -> 각 */
    NORM("\xC3\xA2\xE2\x82\xAC\xE2\x84\xA2", "'");                      /* â€™ -> ’ -> ' */
    NORM("\xC3\x83\xC6\x92\xC3\x82\xC2\xA9t\xC3\x83\xC6\x92\xC3\x82\xC2\xA9", "\xC3\xA9t\xC3\xA9"); /* ÃƒÂ©: twice */
    NORM("&EACUTE;", "\xC3\xA9");                                        /* ftfy's upper-case entity */
    NORM("&amp;amp;amp;amp;lt;", "<");                                  /* ftfy loops, then 2x */
    NORM("<b>&amp;amp;amp;lt;</b>", "<b>&amp;lt;</b>");                  /* '<': ftfy leaves entities */
    NORM("vertical\x0btab\x0c" "ff", "verticaltab ff");
}

static void test_truncation(void)
{
    if (!have_shared()) return;
    int32_t ids[200];
    int n;
    mm_error err = {0};
    char text[1000] = "";
    for (int k = 0; k < 75; k++) strcat(text, "a ");
    CHECK_EQ_INT(clip_tokenize(tok, text, strlen(text), ids, 77, &n, &err), 0);
    CHECK_EQ_INT(n, 77);
    CHECK_EQ_INT(ids[76], 49407);
    CHECK_EQ_INT(ids[75], 320);
    strcat(text, "b");
    CHECK_EQ_INT(clip_tokenize(tok, text, strlen(text), ids, 77, &n, &err), 1);
    CHECK_EQ_INT(n, 77);
    CHECK_EQ_INT(ids[0], 49406);
    CHECK_EQ_INT(ids[75], 320);
    CHECK_EQ_INT(ids[76], 49407);
    CHECK_EQ_INT(clip_tokenize(tok, text, strlen(text), ids, 2, &n, &err), 1);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(ids[1], 49407);
    CHECK_EQ_INT(clip_tokenize(tok, "", 0, ids, 2, &n, &err), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(clip_tokenize(tok, "x", 1, ids, 1, &n, &err), -1);
    CHECK_EQ_INT(err.kind, MM_ERR_LIMIT);
    /* a longer context keeps everything */
    CHECK_EQ_INT(clip_tokenize(tok, text, strlen(text), ids, 200, &n, &err), 0);
    CHECK_EQ_INT(n, 78);
    /* U+0345 matches no alternative of CLIP's pattern: it is dropped and
     * splits the word, so "a" U+0345 "b" gives "a</w>" (320) "b</w>" (321) */
    clip_tokenizer_set_flags(tok, CLIP_TOKENIZE_NO_FIX_TEXT);
    CHECK_EQ_INT(clip_tokenize(tok, "a\xCD\x85" "b", 4, ids, 77, &n, &err), 0);
    CHECK(n == 4 && ids[1] == 320 && ids[2] == 321);
    CHECK_EQ_INT(clip_tokenize(tok, "\xCD\x85", 2, ids, 77, &n, &err), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(clip_tokenize(tok, "!\xCD\x85?", 4, ids, 77, &n, &err), 0); /* splits a symbol run */
    CHECK(n == 4 && ids[1] == 256 && ids[2] == 286);
    CHECK_EQ_INT(clip_tokenize(tok, "a\xCC\x81", 3, ids, 77, &n, &err), 0); /* U+0301: not */
    CHECK(n >= 3 && ids[1] == 320);
    clip_tokenizer_set_flags(tok, 0);
    /* the special tokens in the middle of the text */
    const char *s = "a <|EndOfText|> b<|startoftext|>";
    CHECK_EQ_INT(clip_tokenize(tok, s, strlen(s), ids, 77, &n, &err), 0);
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_INT(ids[2], 49407);
    CHECK_EQ_INT(ids[4], 49406);
}

static void test_invalid_utf8(void)
{
    if (!have_shared()) return;
    int32_t ids[77], ids2[77];
    int n, n2;
    mm_error err = {0};
    CHECK_EQ_INT(clip_tokenize(tok, "abc\xff" "d", 5, ids, 77, &n, &err), -1);
    CHECK_EQ_INT(err.kind, MM_ERR_MALFORMED);
    CHECK_MSG(strstr(err.msg, "byte 3") != NULL, "%s", err.msg);
    CHECK_EQ_INT(clip_tokenize(tok, "ab\xe2\x82", 4, ids, 77, &n, &err), -1);
    CHECK_MSG(strstr(err.msg, "byte 2") && strstr(err.msg, "cut short"), "%s", err.msg);
    CHECK_EQ_INT(clip_tokenize(tok, "\xed\xa0\x80", 3, ids, 77, &n, &err), -1); /* surrogate */
    CHECK_EQ_INT(clip_tokenize(tok, "\xc0\xaf", 2, ids, 77, &n, &err), -1);     /* overlong */
    /* replacement: one U+FFFD per maximal subpart, as Python */
    textfix_buf b = {0};
    CHECK_EQ_INT(textfix_decode_utf8("a\xe0\x80z\xe2\x82y\xf0\x9f\x98\xff", 11, TEXTFIX_UTF8_REPLACE, &b, &err), 0);
    static const uint32_t want[] = {'a', 0xFFFD, 0xFFFD, 'z', 0xFFFD, 'y', 0xFFFD, 0xFFFD};
    CHECK_EQ_INT(b.len, 8);
    for (size_t i = 0; i < 8 && i < b.len; i++) CHECK_EQ_INT(b.cp[i], want[i]);
    textfix_buf_free(&b);
    clip_tokenizer_set_flags(tok, CLIP_TOKENIZE_REPLACE_INVALID);
    CHECK_EQ_INT(clip_tokenize(tok, "ab\xff" "c", 4, ids, 77, &n, &err), 0);
    CHECK_EQ_INT(clip_tokenize(tok, "ab\xEF\xBF\xBD" "c", 6, ids2, 77, &n2, &err), 0);
    CHECK_EQ_INT(n, n2);
    CHECK(memcmp(ids, ids2, (size_t)n * sizeof *ids) == 0);
    clip_tokenizer_set_flags(tok, 0);
    /* NUL is a character (removed by ftfy, a symbol without it) */
    CHECK_EQ_INT(clip_tokenize(tok, "a\0b", 3, ids, 77, &n, &err), 0);
    CHECK_EQ_INT(n, 3); /* "ab" */
}

static void test_bad_model_files(void)
{
    char dir[] = "/tmp/mm_tok_test_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); return; }
    char v[256], m[256];
    snprintf(v, sizeof v, "%s/vocab.json", dir);
    snprintf(m, sizeof m, "%s/merges.txt", dir);
    mm_error err = {0};
    CHECK(clip_tokenizer_load(dir, &err) == NULL);
    CHECK_EQ_INT(err.kind, MM_ERR_IO);
    FILE *f = fopen(v, "w");
    fputs("{\"a\": 0,", f);
    fclose(f);
    CHECK(clip_tokenizer_load(dir, &err) == NULL);
    CHECK_EQ_INT(err.kind, MM_ERR_MALFORMED);
    CHECK_MSG(strstr(err.msg, "vocab.json:1:") != NULL, "%s", err.msg);
    f = fopen(v, "w");
    fputs("{\"a\": 0, \"b\": 0}", f);
    fclose(f);
    CHECK(clip_tokenizer_load(dir, &err) == NULL);
    CHECK_EQ_INT(err.kind, MM_ERR_MALFORMED);
    if (have_shared()) {
        /* the real vocab with broken merges */
        char src[4200];
        snprintf(src, sizeof src, "%s/vocab.json", tok_dir);
        f = fopen(m, "w");
        fputs("#version: 0.2\ni n\nt h\nzzzz qqqq\n", f);
        fclose(f);
        CHECK(clip_tokenizer_load_files(src, m, &err) == NULL);
        CHECK_MSG(strstr(err.msg, "merges.txt:4:") && strstr(err.msg, "not in the vocabulary"), "%s", err.msg);
        f = fopen(m, "w");
        fputs("#version: 0.2\ni n\ni  n\n", f);
        fclose(f);
        CHECK(clip_tokenizer_load_files(src, m, &err) == NULL);
        CHECK_MSG(strstr(err.msg, "merges.txt:3:") != NULL, "%s", err.msg);
        f = fopen(m, "w");
        fputs("#version: 0.2\ni n\ni n\n", f);
        fclose(f);
        CHECK(clip_tokenizer_load_files(src, m, &err) == NULL);
        CHECK_MSG(strstr(err.msg, "repeats line 2") != NULL, "%s", err.msg);
        f = fopen(m, "w");
        fputs("i n\n", f);
        fclose(f);
        CHECK(clip_tokenizer_load_files(src, m, &err) == NULL);
        CHECK_MSG(strstr(err.msg, "merges.txt:1:") != NULL, "%s", err.msg);
        f = fopen(m, "w");
        fputs("#version: 0.2\r\ni n\r\n\r\n", f); /* CRLF and a trailing blank line are fine */
        fclose(f);
        clip_tokenizer *t2 = clip_tokenizer_load_files(src, m, &err);
        CHECK_MSG(t2 != NULL, "%s", err.msg);
        if (t2) {
            int32_t ids[77];
            int n;
            CHECK_EQ_INT(clip_tokenize(t2, "in", 2, ids, 77, &n, &err), 0);
            CHECK_EQ_INT(n, 4); /* "i" "n</w>": the only merge needs "n" not "n</w>" */
            clip_tokenizer_free(t2);
        }
    }
    remove(v);
    remove(m);
    rmdir(dir);
}

/* vocab.json through our parser == through jansson, every entry */
static void test_vocab_matches_jansson(void)
{
    if (!have_shared()) return;
    char path[4200];
    snprintf(path, sizeof path, "%s/vocab.json", tok_dir);
    json_error_t je;
    json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    CHECK(v != NULL);
    if (!v) return;
    CHECK_EQ_INT(clip_tokenizer_vocab_size(tok), (long long)json_object_size(v));
    const char *key;
    json_t *val;
    int bad = 0;
    json_object_foreach(v, key, val) {
        const char *got = clip_tokenizer_token(tok, (int32_t)json_integer_value(val));
        if (!got || strcmp(got, key) != 0) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(clip_tokenizer_sot(tok), 49406);
    CHECK_EQ_INT(clip_tokenizer_eot(tok), 49407);
    CHECK(clip_tokenizer_token(tok, -1) == NULL);
    CHECK(clip_tokenizer_token(tok, 49408) == NULL);
    json_decref(v);
}

/* Bad vocab.json files: each is the real vocab with one defect, so that the
 * parser gets past the first entries. */
static void test_bad_vocab_json(void)
{
    if (!have_shared()) return;
    char src[4200];
    snprintf(src, sizeof src, "%s/vocab.json", tok_dir);
    FILE *f = fopen(src, "rb");
    CHECK(f != NULL);
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *real = malloc((size_t)size + 1);
    CHECK(fread(real, 1, (size_t)size, f) == (size_t)size);
    real[size] = 0;
    fclose(f);
    char merges[4200];
    snprintf(merges, sizeof merges, "%s/merges.txt", tok_dir);
    static const struct { const char *find, *replace, *msg; } defects[] = {
        {"\"!\": 0,", "\"!\": 0.5,", "integer id"},
        {"\"!\": 0,", "\"!\": -1,", "integer id"},
        {"\"!\": 0,", "\"!\": 00,", "integer id"},
        {"\"!\": 0,", "\"!\": 0 ,, ", "expected a string"},
        {"\"!\": 0,", "\"!\" 0,", "expected ':'"},
        {"\"!\": 0,", "\"!\": 0, \"\\x\": 5,", "bad escape"},
        {"\"!\": 0,", "\"!\": 0, \"\\ud800\": 5,", "surrogate"},
        {"\"!\": 0,", "\"!\": 0, \"\xff\": 5,", "invalid UTF-8"},
        {"\"\\\"\": 1,", "\"\\u0021\": 1,", "appears twice"}, /* "!" twice, via an escape */
        {"\"!\": 0,", "\"!\": 1,", "is used by"},
        {"\"!\": 0,", "\"!\": 49408,", "outside"},
        {"\"\\\"\": 1,", "\"!</w>\": 1,", "appears twice"},
    };
    char dir[] = "/tmp/mm_tok_vocab_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0); free(real); return; }
    char path[256];
    snprintf(path, sizeof path, "%s/vocab.json", dir);
    for (size_t d = 0; d < sizeof defects / sizeof defects[0]; d++) {
        char *at = strstr(real, defects[d].find);
        CHECK_MSG(at != NULL, "defect %zu: '%s' not in vocab.json", d, defects[d].find);
        if (!at) continue;
        f = fopen(path, "wb");
        fwrite(real, 1, (size_t)(at - real), f);
        fputs(defects[d].replace, f);
        fputs(at + strlen(defects[d].find), f);
        fclose(f);
        mm_error err = {0};
        clip_tokenizer *t = clip_tokenizer_load_files(path, merges, &err);
        CHECK_MSG(t == NULL && err.kind == MM_ERR_MALFORMED && strstr(err.msg, defects[d].msg) &&
                      strstr(err.msg, "vocab.json"),
                  "defect %zu: %s", d, t ? "loaded" : err.msg);
        clip_tokenizer_free(t);
    }
    /* cut short, and trailing text */
    for (int k = 0; k < 2; k++) {
        f = fopen(path, "wb");
        fwrite(real, 1, k == 0 ? (size_t)size / 2 : (size_t)size, f);
        if (k == 1) fputs("x", f);
        fclose(f);
        mm_error err = {0};
        clip_tokenizer *t = clip_tokenizer_load_files(path, merges, &err);
        CHECK_MSG(t == NULL && err.kind == MM_ERR_MALFORMED, "%s", err.msg);
        clip_tokenizer_free(t);
    }
    remove(path);
    rmdir(dir);
    free(real);
}

static void test_long_and_speed(void)
{
    if (!have_shared()) return;
    /* a 1 MB word: BPE is O(n log n), and only 77 ids are kept */
    size_t n = 1 << 20;
    char *big = malloc(n);
    unsigned long long seed = 42;
    for (size_t i = 0; i < n; i++) big[i] = (char)('a' + test_rand_u64(&seed) % 26);
    int32_t ids[77];
    int k;
    mm_error err = {0};
    clock_t c0 = clock();
    CHECK_EQ_INT(clip_tokenize(tok, big, n, ids, 77, &k, &err), 1);
    double dt = (double)(clock() - c0) / CLOCKS_PER_SEC;
    CHECK_EQ_INT(k, 77);
    printf("# 1 MB single word: %.3f s\n", dt);
    CHECK(dt < 5.0);
    free(big);

    /* load time and throughput, reported (asserted loosely: sanitizers) */
    c0 = clock();
    clip_tokenizer *t2 = clip_tokenizer_load(tok_dir, &err);
    double load = (double)(clock() - c0) / CLOCKS_PER_SEC;
    CHECK(t2 != NULL);
    clip_tokenizer_free(t2);
    static const char *caps[] = {
        "a photo of a dog", "A bowl of soup that looks like a monster, knitted out of wool.",
        "two people riding bicycles down a city street at dusk", "Crème brûlée on a white plate",
        "the quick brown fox jumps over the lazy dog", "an astronaut riding a horse in photorealistic style",
    };
    int reps = 20000;
    c0 = clock();
    for (int r = 0; r < reps; r++) {
        const char *s = caps[r % 6];
        clip_tokenize(tok, s, strlen(s), ids, 77, &k, &err);
    }
    double per = (double)(clock() - c0) / CLOCKS_PER_SEC / reps;
    printf("# load %.1f ms; %.0f captions/s\n", load * 1e3, 1.0 / per);
    CHECK(load < 2.0);
}

int main(void)
{
    RUN(test_reference_cases);
    RUN(test_reference_cases_without_ftfy);
    RUN(test_lowercase_specials);
    RUN(test_html_unescape);
    RUN(test_whitespace);
    RUN(test_fix_text);
    RUN(test_truncation);
    RUN(test_invalid_utf8);
    RUN(test_bad_model_files);
    RUN(test_vocab_matches_jansson);
    RUN(test_bad_vocab_json);
    RUN(test_long_and_speed);
    clip_tokenizer_free(tok);
    return test_summary();
}
