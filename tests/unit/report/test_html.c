/* test_html.c — ids and captions never become markup: & < > " ' become
 * entities, control bytes and invalid UTF-8 become U+FFFD, truncation stops
 * at a character boundary; base64 against RFC 4648's vectors. */
#include "report/html.h"
#include "report_test_util.h"
#include "test.h"

static char *esc(const char *s)
{
    capture c;
    html_text(capture_begin(&c), s);
    return capture_end(&c);
}

#define CHECK_ESC(in, want)                                                              \
    do {                                                                                 \
        char *got_ = esc(in);                                                            \
        CHECK_EQ_STR(got_, want);                                                        \
        free(got_);                                                                      \
    } while (0)

static void test_markup_characters(void)
{
    CHECK_ESC("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
    CHECK_ESC("a & b", "a &amp; b");
    CHECK_ESC("\"q\" 'x'", "&quot;q&quot; &#39;x&#39;");
    CHECK_ESC("&amp;", "&amp;amp;"); /* an entity in the input stays text */
    CHECK_ESC("<img src=x onerror=alert(2)>", "&lt;img src=x onerror=alert(2)&gt;");
    CHECK_ESC("", "");
}

static void test_unicode_kept_controls_replaced(void)
{
    CHECK_ESC("שלום\xE2\x80\xAE" "evil", "שלום\xE2\x80\xAE" "evil"); /* RTL override is text */
    CHECK_ESC("emoji\xF0\x9F\x98\x80", "emoji\xF0\x9F\x98\x80");
    CHECK_ESC("tab\tand\nnewline", "tab\tand\nnewline");
    CHECK_ESC("bell\x07" "esc\x1b", "bell\xEF\xBF\xBD" "esc\xEF\xBF\xBD");
}

static void test_invalid_utf8(void)
{
    CHECK_ESC("\xC3", "\xEF\xBF\xBD");                 /* truncated sequence */
    CHECK_ESC("\xC0\xBC", "\xEF\xBF\xBD\xEF\xBF\xBD"); /* overlong '<' is not '<' */
    CHECK_ESC("\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* surrogate */
    CHECK_ESC("\xF5\x80\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK_ESC("\xE2\x82<", "\xEF\xBF\xBD\xEF\xBF\xBD&lt;"); /* a '<' after a broken lead */
}

static void test_truncation(void)
{
    capture c;
    html_text_max(capture_begin(&c), "h\xC3\xA9llo <world>", 3);
    char *s = capture_end(&c);
    CHECK_EQ_STR(s, "h\xC3\xA9l\xE2\x80\xA6");
    free(s);
    html_text_max(capture_begin(&c), "<<", 2);
    s = capture_end(&c);
    CHECK_EQ_STR(s, "&lt;&lt;"); /* exactly max characters: no ellipsis */
    free(s);
    html_text_max(capture_begin(&c), "\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 1);
    s = capture_end(&c);
    CHECK_EQ_STR(s, "\xF0\x9F\x98\x80\xE2\x80\xA6");
    free(s);
}

static void test_textf(void)
{
    capture c;
    html_textf(capture_begin(&c), "%s=%d", "<a>", 5);
    char *s = capture_end(&c);
    CHECK_EQ_STR(s, "&lt;a&gt;=5");
    free(s);
    char big[2000];
    memset(big, '&', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    html_textf(capture_begin(&c), "%s", big); /* past the 512-byte fast path */
    s = capture_end(&c);
    CHECK_EQ_INT(strlen(s), 5 * (sizeof big - 1));
    free(s);
}

static void test_base64(void)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                       "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        capture c;
        html_base64(capture_begin(&c), (const uint8_t *)in[i], strlen(in[i]));
        char *s = capture_end(&c);
        CHECK_EQ_STR(s, want[i]);
        CHECK_EQ_INT(strlen(s), html_base64_len(strlen(in[i])));
        free(s);
    }
    /* longer than the 4096-byte output block */
    size_t n = 10000;
    uint8_t *d = malloc(n);
    for (size_t i = 0; i < n; i++) d[i] = (uint8_t)(i * 7);
    capture c;
    html_base64(capture_begin(&c), d, n);
    char *s = capture_end(&c);
    CHECK_EQ_INT(strlen(s), html_base64_len(n));
    CHECK(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
          strlen(s));
    free(s);
    free(d);
}

int main(void)
{
    RUN(test_markup_characters);
    RUN(test_unicode_kept_controls_replaced);
    RUN(test_invalid_utf8);
    RUN(test_truncation);
    RUN(test_textf);
    RUN(test_base64);
    return test_summary();
}
