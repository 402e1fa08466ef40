/* fuzz_tokenizer.c — libFuzzer harness for clip_tokenize and the text repair
 * under it (lib/tokenizer.c, lib/textfix.c). Arbitrary bytes, invalid UTF-8
 * included, must give either ids or an error with a message; never a crash,
 * leak or sanitizer report.
 *   make fuzz && MM_SHARED=../shared build-fuzz/fuzz_tokenizer -max_total_time=600 -max_len=4096
 * The vocab comes from $MM_SHARED/ref/clip/tokenizer (default ../shared).
 * Input: byte 0 chooses the mode (bit 0: replace invalid UTF-8, bit 1: no
 * fix_text, bits 2-7: context length 2 + (b >> 2)), the rest is the text.
 * Checked: the result's shape (start/end ids, ids in the vocabulary, length
 * within the context), that replace mode never fails, that strict mode
 * fails exactly on invalid UTF-8, and that a second call (answered from the
 * BPE cache) gives the same ids. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfix.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static clip_tokenizer *tok;

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
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    unsigned mode = data[0];
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

    /* the HTML unescaper on its own, on the decoded text */
    textfix_buf in = {0}, out = {0};
    if (textfix_decode_utf8(text, len, TEXTFIX_UTF8_REPLACE, &in, &err2) == 0) {
        if (textfix_html_unescape(in.cp, in.len, &out, &err2) != 0) __builtin_trap();
        for (size_t i = 0; i < out.len; i++)
            if (out.cp[i] > 0x10FFFF || (out.cp[i] >= 0xD800 && out.cp[i] <= 0xDFFF)) __builtin_trap();
    }
    textfix_buf_free(&in);
    textfix_buf_free(&out);
    return 0;
}
