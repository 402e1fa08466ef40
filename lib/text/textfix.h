/* textfix.h — Unicode text repair and HTML unescaping on code-point buffers.
 *
 * Owns the text clean-up that OpenAI's clip.tokenize applies before BPE and
 * that is not tokenizer-specific:
 *   - UTF-8 decoding (strict, or with U+FFFD replacement exactly as Python's
 *     bytes.decode('utf-8', errors='replace'): one U+FFFD per maximal
 *     ill-formed subpart) and encoding;
 *   - textfix_html_unescape(): Python's html.unescape() (numeric references
 *     with Python's invalid-codepoint rules, the complete HTML5 named entity
 *     table of html.entities.html5, the legacy names that need no ';', and the
 *     longest-legacy-prefix rule, e.g. "&notit;" -> "¬it;");
 *   - textfix_fix_text(): the part of ftfy.fix_text() (ftfy 6, default config)
 *     that matters for real captions, using utf8proc for normalisation.
 *
 * What textfix_fix_text() does, in ftfy's order, per '\n'-terminated segment
 * and repeated until nothing changes (as ftfy's fix_and_explain loop):
 *   1. ftfy's unescape_html: "&name;" (HTML5 table, plus all-uppercase
 *      spellings of lower-case entity names, "&EACUTE;" -> "É") and "&#...;"
 *      references that end in ';'. Like ftfy's "auto" mode it is switched
 *      off for a segment containing '<' and for every later segment.
 *   2. fix_encoding, restricted (see LEFT OUT): text that re-encodes as
 *      Latin-1 or as ftfy's "sloppy" Windows-1252 to valid UTF-8 and shows a
 *      typical mojibake marker ("Ã©", "â€œ", "Ã±", "Ð¿", "ðŸ˜€", ...) is
 *      replaced by its UTF-8 decoding, repeatedly (double mojibake).
 *   3. fix_c1_controls: U+0080..U+009F -> their Windows-1252 characters
 *      (U+0085 -> "…"; 0x81 0x8D 0x8F 0x90 0x9D stay, as in ftfy).
 *   4. fix_latin_ligatures: ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ Ĳ ĳ ŉ Ǳ ǲ ǳ Ǆ ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ.
 *   5. fix_character_width: U+3000 -> ' ', U+FF01..U+FFEF -> their NFKC form.
 *   6. uncurl_quotes: U+02BC U+2018..U+201B -> ', U+201C..U+201F -> ".
 *   7. fix_line_breaks: CRLF, CR, U+2028, U+2029, U+0085 -> '\n'.
 *   8. remove_terminal_escapes: ESC '[' (digits | ';')* letter.
 *   9. remove_control_chars: U+0000..U+0008, U+000B, U+000E..U+001F, U+007F,
 *      U+206A..U+206F, U+FEFF, U+FFF9..U+FFFC.
 *  10. NFC (utf8proc).
 * fix_surrogates has nothing to do: decoded UTF-8 never holds surrogates.
 *
 * LEFT OUT of ftfy (documented, deliberate):
 *   - ftfy's statistical "badness" heuristic is not reproduced; step 2 uses
 *     the marker rule described in textfix.c instead. Text ftfy would leave
 *     alone may be repaired here only if it is a whole-string
 *     Latin-1/cp1252 re-decode that yields valid UTF-8 with such a marker.
 *   - mojibake through other single-byte encodings (windows-1250/1251/1253/
 *     1254/1257, iso-8859-2, macroman, cp437);
 *   - decode_inconsistent_utf8 (repairing mojibake fragments inside text
 *     that as a whole does not re-encode), restore_byte_a0 (0xA0 turned into
 *     a space), replace_lossy_sequences (U+FFFD inside mojibake), and the
 *     CESU-8 / Java "utf-8-variants" decoding; text holding U+FFFD is
 *     never re-decoded;
 *   - ftfy's fix-point loop is bounded (16 rounds per segment, 8 re-decodes);
 *     ftfy's max_decode_length segment bound (1,000,000 chars) is kept.
 *
 * All functions work on textfix_buf (a growable array of code points) and
 * return 0 on success, -1 on allocation failure (error kind MM_ERR_NOMEM)
 * or, for strict UTF-8 decoding, on invalid input (MM_ERR_MALFORMED).
 * They are reentrant; they keep no global state.
 */
#ifndef MM_TEXTFIX_H
#define MM_TEXTFIX_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct textfix_buf {
    uint32_t *cp;
    size_t len;
    size_t cap;
} textfix_buf;

/* Makes room for at least n code points. */
int textfix_reserve(textfix_buf *b, size_t n, mm_error *err);
void textfix_buf_free(textfix_buf *b);

/* How invalid UTF-8 is handled by textfix_decode_utf8. */
enum textfix_utf8_policy {
    TEXTFIX_UTF8_STRICT = 0,  /* fail: MM_ERR_MALFORMED "byte N: invalid UTF-8 ..." */
    TEXTFIX_UTF8_REPLACE = 1, /* U+FFFD per maximal ill-formed subpart (Python) */
};

/* Decodes len bytes of s into out (replacing its contents). Overlong forms,
 * surrogates (ED A0..BF) and code points above U+10FFFF are invalid. NUL
 * bytes are ordinary characters. In strict mode the message names the byte
 * offset of the first bad byte, counted from 0. */
int textfix_decode_utf8(const char *s, size_t len, int policy, textfix_buf *out, mm_error *err);

/* Decodes the UTF-8 sequence at s[i] (i < len): returns its length and sets
 * *cp, or returns 0 for an ill-formed sequence and sets *bad to the length
 * of its maximal subpart (what Python replaces by one U+FFFD). */
size_t textfix_utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp, size_t *bad);

/* Appends the UTF-8 encoding of cp (<= 0x10FFFF) to dst; returns its length (1..4). */
int textfix_utf8_put(uint32_t cp, unsigned char *dst);

/* Python html.unescape(in) into out (out is replaced; in and out must differ). */
int textfix_html_unescape(const uint32_t *in, size_t n, textfix_buf *out, mm_error *err);

/* ftfy.fix_text() subset (see above), in place. */
int textfix_fix_text(textfix_buf *text, mm_error *err);

/* Unicode NFC of text, in place. */
int textfix_nfc(textfix_buf *text, mm_error *err);

#endif
