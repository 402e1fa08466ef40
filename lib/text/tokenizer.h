/* tokenizer.h — the CLIP byte-level BPE tokenizer, as OpenAI's
 * clip.tokenize(text, context_length, truncate=True).
 *
 * Owns: loading vocab.json + merges.txt (Hugging Face CLIPTokenizer files) and
 * turning one UTF-8 text into token ids. The pipeline, step by step as
 * clip/simple_tokenizer.py does it:
 *   1. UTF-8 decoding (invalid input: see CLIP_TOKENIZE_REPLACE_INVALID);
 *   2. ftfy.fix_text (the subset in textfix.h; CLIP_TOKENIZE_NO_FIX_TEXT
 *      skips it);
 *   3. html.unescape twice ("&amp;lt;" -> "<"), with Python's exact rules;
 *   4. strip (Python str.isspace), every run of Unicode White_Space -> one
 *      ' ' (NBSP, U+3000, U+2028, U+0085 ... but not U+200B or U+1C..U+1F),
 *      strip;
 *   5. Python str.lower(): full lowercase, "İ" -> "i" U+0307, Greek capital
 *      sigma -> final "ς" by the Final_Sigma context rule, else "σ";
 *   6. the pre-tokenisation regex (matched after lowercasing, IGNORECASE)
 *        <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|
 *        [\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 *      (categories from utf8proc; IGNORECASE makes "ſ" match "s" in the
 *      literals; U+0345 matches no alternative, so it is dropped and splits
 *      a word, as clip.tokenize does: "a\u0345b" -> "a", "b"; only
 *      ASCII "'" forms contractions; a special token inside the text
 *      becomes its id, 49406/49407);
 *   7. each piece as UTF-8 bytes through the byte->unicode map, BPE with the
 *      merge ranks of merges.txt, the last symbol carrying "</w>";
 *   8. [<|startoftext|>] + ids + [<|endoftext|>]; if that is longer than
 *      context_len, the first context_len ids are kept and the last one is
 *      set to <|endoftext|>.
 * Ids are the vocab.json ids; the tokenizer does not pad (the caller knows
 * the length; note that id 0, "!", can occur inside a sequence).
 *
 * Threads: a clip_tokenizer holds a BPE cache and scratch buffers, so one
 * object must be used by one thread at a time. Load one per thread (an
 * object takes ~5 MB and ~15 ms to load) or serialise the calls.
 */
#ifndef MM_TOKENIZER_H
#define MM_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "text/textfix.h"

typedef struct clip_tokenizer clip_tokenizer;

/* The context length of every released CLIP text tower; models state their
 * own (config.json text_config.max_position_embeddings) and callers should
 * pass that. */
#define CLIP_CONTEXT_LENGTH 77

/* Reads model_dir/vocab.json and model_dir/merges.txt. Errors name the file
 * and line (or JSON position). */
clip_tokenizer *clip_tokenizer_load(const char *model_dir, mm_error *err);
/* The same from explicit paths. */
clip_tokenizer *clip_tokenizer_load_files(const char *vocab_json, const char *merges_txt, mm_error *err);
void clip_tokenizer_free(clip_tokenizer *t);

/* Flags (default 0 = exact clip.tokenize behaviour, invalid UTF-8 rejected). */
enum {
    /* Invalid UTF-8 becomes U+FFFD (one per maximal ill-formed subpart, as
     * Python's bytes.decode('utf-8', errors='replace')). Without this flag
     * clip_tokenize fails with MM_ERR_MALFORMED "byte N: invalid UTF-8 ...",
     * N counted from 0 in the text passed in. */
    CLIP_TOKENIZE_REPLACE_INVALID = 1u << 0,
    /* Skip step 2 (ftfy): what clip.tokenize gives when ftfy.fix_text is the
     * identity. For comparisons; not what the released models saw. */
    CLIP_TOKENIZE_NO_FIX_TEXT = 1u << 1,
};
void clip_tokenizer_set_flags(clip_tokenizer *t, unsigned flags);

/* Tokenizes text[0..len) (UTF-8, need not be NUL-terminated; NUL bytes are
 * characters) into ids[0..*n_ids), ids having room for context_len entries.
 * 2 <= context_len <= 65536. Returns 0, or 1 when the text was truncated to
 * context_len ids, or -1 on error (invalid UTF-8 in strict mode, bad
 * context_len, out of memory). Time is O(len log len) at worst (one huge
 * word); pieces after the first context_len ids are not run through BPE. */
int clip_tokenize(clip_tokenizer *t, const char *text, size_t len, int32_t *ids, int context_len, int *n_ids,
                  mm_error *err);

int clip_tokenizer_vocab_size(const clip_tokenizer *t);
int32_t clip_tokenizer_sot(const clip_tokenizer *t); /* <|startoftext|> */
int32_t clip_tokenizer_eot(const clip_tokenizer *t); /* <|endoftext|> */
/* The vocab.json key of id (byte-level form, "</w>" included), or NULL. */
const char *clip_tokenizer_token(const clip_tokenizer *t, int32_t id);

/* Steps 1-5 alone: the text exactly as the pre-tokeniser sees it, as code
 * points in out (flags as above). For tests and debugging. */
int clip_text_normalize(const char *text, size_t len, unsigned flags, textfix_buf *out, mm_error *err);

#endif
