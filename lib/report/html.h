/* html.h — writing text into an HTML page so that it can never become markup.
 *
 * Owns: escaping of text and attribute values (& < > " ' become entities;
 * control characters other than TAB/LF become U+FFFD; bytes that are not
 * valid UTF-8 become U+FFFD, so a hostile id cannot smuggle a broken
 * sequence past the parser), truncation at a character boundary, and base64
 * for data URIs.
 */
#ifndef MM_REPORT_HTML_H
#define MM_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s escaped (for element content and quoted attribute values alike). */
void html_text(FILE *fp, const char *s);
/* At most max_chars characters of s, escaped, then "…" if s was longer. */
void html_text_max(FILE *fp, const char *s, size_t max_chars);
/* printf, then html_text of the result. */
void html_textf(FILE *fp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Standard base64 (RFC 4648) of data[0..n). */
void html_base64(FILE *fp, const uint8_t *data, size_t n);
/* Length in bytes of the base64 text of n bytes. */
size_t html_base64_len(size_t n);

#endif
