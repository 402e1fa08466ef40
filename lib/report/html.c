/* html.c — see html.h. */
#include "report/html.h"

#include <stdarg.h>
#include <stdlib.h>

#include "core/xalloc.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000;
    else return 0;
    unsigned cp = c & (0x3F >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static void text_n(FILE *fp, const char *str, size_t max_chars)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t chars = 0;
    while (*s) {
        if (chars == max_chars) {
            fputs("\xE2\x80\xA6", fp);
            return;
        }
        chars++;
        switch (*s) {
        case '&': fputs("&amp;", fp); s++; continue;
        case '<': fputs("&lt;", fp); s++; continue;
        case '>': fputs("&gt;", fp); s++; continue;
        case '"': fputs("&quot;", fp); s++; continue;
        case '\'': fputs("&#39;", fp); s++; continue;
        default: break;
        }
        if (*s < 0x20 && *s != '\t' && *s != '\n') {
            fputs("\xEF\xBF\xBD", fp);
            s++;
            continue;
        }
        size_t n = utf8_len(s);
        if (n == 0) {
            fputs("\xEF\xBF\xBD", fp);
            s++;
            continue;
        }
        fwrite(s, 1, n, fp);
        s += n;
    }
}

void html_text(FILE *fp, const char *s) { text_n(fp, s, (size_t)-1); }

void html_text_max(FILE *fp, const char *s, size_t max_chars) { text_n(fp, s, max_chars); }

void html_textf(FILE *fp, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < (int)sizeof buf) {
        html_text(fp, buf);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    html_text(fp, big);
    free(big);
}

size_t html_base64_len(size_t n) { return (n + 2) / 3 * 4; }

void html_base64(FILE *fp, const uint8_t *d, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4096];
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n) v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n) v |= d[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? a[v & 63] : '=';
        if (o == sizeof out) {
            fwrite(out, 1, o, fp);
            o = 0;
        }
    }
    fwrite(out, 1, o, fp);
}
