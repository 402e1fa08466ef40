/* fuzz_tokenizer.c — libFuzzer harness for clip_tokenize and the text repair
 * under it (lib/text/tokenizer.c, lib/text/textfix.c). Arbitrary bytes, invalid UTF-8
 * included, must give either ids or an error with a message; never a crash,
 * leak or sanitizer report.
 *   make fuzz && MM_SHARED=../shared build-fuzz/fuzz_tokenizer -max_total_time=600 \
 *       -max_len=4096 tests/fuzz/corpus/tokenizer
 * The vocab comes from $MM_SHARED/ref/clip/tokenizer (default ../shared).
 * Input: byte 0 chooses the mode, the rest is the data:
 *   0xFF: the data is a vocab.json (with a merges.txt without merges),
 *   0xFE: the data is a merges.txt (with a small valid vocab.json),
 *   else: the data is a text to tokenize; bit 0: replace invalid UTF-8,
 *         bit 1: no fix_text, bits 2-7: context length 2 + (b >> 2).
 * Checked for texts: the result's shape (start/end ids, ids in the
 * vocabulary, length within the context), that replace mode never fails,
 * that strict mode fails exactly on invalid UTF-8, and that a second call
 * (answered from the BPE cache) gives the same ids, and textfix_fix_text()
 * on its own (ftfy's fix_encoding: badness heuristic, the single-byte
 * codecs, restore_byte_a0, lossy sequences, decode_inconsistent_utf8) never
 * fails and gives only valid code points; textfix_is_bad's fast scan agrees
 * with trying the pattern at every position (whole text, short windows). The corpus seeds ftf* hold
 * mojibake from ../shared/ref/clip/ftfy_cases.jsonl. For model files: a
 * load either succeeds and tokenizes, or fails with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text/textfix.h"
#include "text/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static clip_tokenizer *tok;
static char tmpdir[] = "/tmp/fuzz_tokenizer_XXXXXX";
static char vocab_path[64], merges_path[64], small_vocab[64], empty_merges[64];

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "fuzz_tokenizer: cannot write %s\n", path);
        exit(2);
    }
}

/* The 512 byte symbols, the specials and a few merge results. */
static void write_small_vocab(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) exit(2);
    fputs("{", f);
    int id = 0;
    for (int end = 0; end < 2; end++)
        for (unsigned b = 0; b < 256; b++) {
            unsigned cp = b;
            if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))) {
                unsigned n = 0;
                for (unsigned x = 0; x < b; x++)
                    if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE))) n++;
                cp = 256 + n;
            }
            unsigned char u[8];
            int k = textfix_utf8_put(cp, u);
            fputs(id ? ", \"" : "\"", f);
            if (cp == '"' || cp == '\\') fputc('\\', f);
            fwrite(u, 1, (size_t)k, f);
            fprintf(f, "%s\": %d", end ? "</w>" : "", id++);
        }
    static const char *more[] = {"in", "th", "the</w>", "in</w>", "an", "and</w>", "<|startoftext|>",
                                 "<|endoftext|>"};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) fprintf(f, ", \"%s\": %d", more[i], id++);
    fputs("}\n", f);
    fclose(f);
}

static void cleanup(void)
{
    remove(vocab_path);
    remove(merges_path);
    remove(small_vocab);
    remove(empty_merges);
    rmdir(tmpdir);
    clip_tokenizer_free(tok);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *shared = getenv("MM_SHARED");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ref/clip/tokenizer", shared ? shared : "../shared");
    mm_error err = {0};
    tok = clip_tokenizer_load(dir, &err);
    if (!tok) {
        fprintf(stderr, "fuzz_tokenizer: %s (set MM_SHARED)\n", err.msg);
        exit(2);
    }
    if (!mkdtemp(tmpdir)) exit(2);
    atexit(cleanup);
    snprintf(vocab_path, sizeof vocab_path, "%s/v.json", tmpdir);
    snprintf(merges_path, sizeof merges_path, "%s/m.txt", tmpdir);
    snprintf(small_vocab, sizeof small_vocab, "%s/small.json", tmpdir);
    snprintf(empty_merges, sizeof empty_merges, "%s/empty.txt", tmpdir);
    write_small_vocab(small_vocab);
    write_file(empty_merges, "#version: 0.2\n", 14);
    clip_tokenizer *check = clip_tokenizer_load_files(small_vocab, empty_merges, &err);
    if (!check) {
        fprintf(stderr, "fuzz_tokenizer: small vocab: %s\n", err.msg);
        exit(2);
    }
    clip_tokenizer_free(check);
    return 0;
}

static void fuzz_model_file(int which, const uint8_t *data, size_t size)
{
    const char *v = which == 0xFF ? vocab_path : small_vocab;
    const char *m = which == 0xFF ? empty_merges : merges_path;
    write_file(which == 0xFF ? vocab_path : merges_path, data, size);
    mm_error err = {0};
    clip_tokenizer *t = clip_tokenizer_load_files(v, m, &err);
    if (!t) {
        if (err.msg[0] == 0) __builtin_trap();
        return;
    }
    int32_t ids[77];
    int n;
    if (clip_tokenize(t, "the thin band and in", 20, ids, 77, &n, &err) < 0) __builtin_trap();
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= clip_tokenizer_vocab_size(t)) __builtin_trap();
    clip_tokenizer_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    unsigned mode = data[0];
    if (mode >= 0xFE) {
        fuzz_model_file((int)mode, data + 1, size - 1);
        return 0;
    }
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    unsigned flags = (mode & 1 ? CLIP_TOKENIZE_REPLACE_INVALID : 0) | (mode & 2 ? CLIP_TOKENIZE_NO_FIX_TEXT : 0);
    int ctx = 2 + (int)(mode >> 2);
    clip_tokenizer_set_flags(tok, flags);

    int32_t ids[66], ids2[66];
    int n = -1, n2 = -1;
    mm_error err = {0};
    int rc = clip_tokenize(tok, text, len, ids, ctx, &n, &err);

    textfix_buf b = {0};
    mm_error err2 = {0};
    int valid = textfix_decode_utf8(text, len, TEXTFIX_UTF8_STRICT, &b, &err2) == 0;
    textfix_buf_free(&b);

    if (rc < 0) {
        if (err.msg[0] == 0) __builtin_trap();
        if ((flags & CLIP_TOKENIZE_REPLACE_INVALID) || valid) __builtin_trap();
        return 0;
    }
    if (!valid && !(flags & CLIP_TOKENIZE_REPLACE_INVALID)) __builtin_trap();
    if (n < 2 || n > ctx) __builtin_trap();
    if (rc == 1 && n != ctx) __builtin_trap();
    if (ids[0] != clip_tokenizer_sot(tok) || ids[n - 1] != clip_tokenizer_eot(tok)) __builtin_trap();
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= clip_tokenizer_vocab_size(tok)) __builtin_trap();

    int rc2 = clip_tokenize(tok, text, len, ids2, ctx, &n2, &err);
    if (rc2 != rc || n2 != n || memcmp(ids, ids2, (size_t)n * sizeof *ids) != 0) __builtin_trap();

    /* the HTML unescaper and fix_text on their own, on the decoded text */
    textfix_buf in = {0}, out = {0};
    if (textfix_decode_utf8(text, len, TEXTFIX_UTF8_REPLACE, &in, &err2) == 0) {
        textfix_html_unescape(in.cp, in.len, &out);
        for (size_t i = 0; i < out.len; i++)
            if (out.cp[i] > 0x10FFFF || (out.cp[i] >= 0xD800 && out.cp[i] <= 0xDFFF)) __builtin_trap();
        /* the fast badness scan agrees with trying every position */
        if (textfix_is_bad(in.cp, in.len, 0) != textfix_is_bad(in.cp, in.len, 1)) __builtin_trap();
        for (size_t i = 0; i + 1 < in.len && i < 64; i++)
            for (size_t k = 1; k <= 8 && i + k <= in.len; k++)
                if (textfix_is_bad(in.cp + i, k, 0) != textfix_is_bad(in.cp + i, k, 1)) __builtin_trap();
        if (textfix_fix_text(&in, &err2) != 0) __builtin_trap();
        for (size_t i = 0; i < in.len; i++)
            if (in.cp[i] > 0x10FFFF || (in.cp[i] >= 0xD800 && in.cp[i] <= 0xDFFF)) __builtin_trap();
    }
    textfix_buf_free(&in);
    textfix_buf_free(&out);
    return 0;
}
