/* test_ftfy_cases.c — textfix_fix_text() against ftfy 6.3.1 as clip.tokenize
 * runs it: ../shared/ref/clip/ftfy_cases.jsonl (captions with mojibake in
 * context, U+0345 cases), each with the ids clip.tokenize gives.
 *
 * A case matches when the tokenizer's ids equal the reference ids. The count
 * of matching cases may not drop below FTFY_CASES_MIN (raised as repairs
 * land; all cases is the goal). Every text and clean text, and every window
 * of up to 8 characters of them, also checks textfix_is_bad's fast scan
 * against trying the pattern at every position. MM_FTFY_VERBOSE=1 prints every mismatch with
 * the normalized text and the reference "clean" text. */
#include "test.h"

#include <jansson.h>

#include "text/textfix.h"
#include "text/tokenizer.h"

/* Matching cases measured when the bound was last raised. */
#define FTFY_CASES_MIN 2005

static char *utf8_of(const uint32_t *cp, size_t n)
{
    char *s = malloc(4 * n + 1);
    size_t p = 0;
    for (size_t i = 0; i < n; i++) p += (size_t)textfix_utf8_put(cp[i], (unsigned char *)s + p);
    s[p] = '\0';
    return s;
}

static void test_ftfy_cases(void)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/ref/clip/tokenizer", test_shared_dir());
    snprintf(path, sizeof path, "%s/ref/clip/ftfy_cases.jsonl", test_shared_dir());
    mm_error err = {0};
    clip_tokenizer *tok = clip_tokenizer_load(dir, &err);
    FILE *f = fopen(path, "r");
    if (!tok || !f) {
        fprintf(stderr, "  # %s or %s missing: skipped\n", dir, path);
        if (tok) clip_tokenizer_free(tok);
        if (f) fclose(f);
        return;
    }
    const char *v = getenv("MM_FTFY_VERBOSE");
    int verbose = v && *v == '1';
    int total = 0, ok_ids = 0, ok_clean = 0, bad_checked = 0;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        json_error_t je;
        json_t *c = json_loads(line, 0, &je);
        CHECK_MSG(c != NULL, "%s:%ld: %s", path, lineno, je.text);
        if (!c) continue;
        json_t *jt = json_object_get(c, "text"), *want = json_object_get(c, "ids");
        const char *text = json_string_value(jt), *clean = json_string_value(json_object_get(c, "clean"));
        size_t len = json_string_length(jt);
        int32_t ids[77];
        int n = 0;
        int rc = clip_tokenize(tok, text, len, ids, 77, &n, &err);
        CHECK_MSG(rc >= 0, "%s:%ld: %s", path, lineno, err.msg);
        int ok = rc >= 0 && json_is_array(want) && (int)json_array_size(want) == n;
        for (int i = 0; ok && i < n; i++) ok = json_integer_value(json_array_get(want, (size_t)i)) == ids[i];
        textfix_buf b = {0};
        char *got = NULL;
        if (clip_text_normalize(text, len, 0, &b, &err) == 0) got = utf8_of(b.cp, b.len);
        textfix_buf_free(&b);
        int ok_c = got && clean && strcmp(got, clean) == 0;
        total++;
        ok_ids += ok;
        ok_clean += ok_c;
        if (verbose && !ok)
            fprintf(stderr, "MISMATCH %s\n  text : %s\n  got  : %s\n  clean: %s\n",
                    json_string_value(json_object_get(c, "id")), text, got ? got : "(error)", clean);
        free(got);
        /* the fast badness scan agrees with every position, on the whole
         * text and on each window (is_bad sees segments and runs) */
        const char *both[2] = {text, clean};
        for (int w = 0; w < 2 && both[w]; w++) {
            if (textfix_decode_utf8(both[w], strlen(both[w]), TEXTFIX_UTF8_REPLACE, &b, &err)) continue;
            int agree = textfix_is_bad(b.cp, b.len, 0) == textfix_is_bad(b.cp, b.len, 1);
            for (size_t i = 0; i < b.len && agree; i++)
                for (size_t k = 1; k <= 8 && i + k <= b.len && agree; k++)
                    agree = textfix_is_bad(b.cp + i, k, 0) == textfix_is_bad(b.cp + i, k, 1);
            CHECK_MSG(agree, "%s:%ld: fast badness scan disagrees (%s)", path, lineno, w ? "clean" : "text");
            bad_checked++;
        }
        textfix_buf_free(&b);
        json_decref(c);
    }
    free(line);
    fclose(f);
    clip_tokenizer_free(tok);
    printf("# ftfy cases: %d/%d ids match (bound %d); normalized text equals 'clean' in %d\n", ok_ids, total,
           FTFY_CASES_MIN, ok_clean);
    CHECK(total == 2005);
    CHECK(bad_checked == 2 * 2005);
    CHECK_MSG(ok_ids >= FTFY_CASES_MIN, "ftfy cases matching %d < %d", ok_ids, FTFY_CASES_MIN);
}

int main(void)
{
    RUN(test_ftfy_cases);
    return test_summary();
}
