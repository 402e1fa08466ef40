/* test_svg.c — charts: one <svg class="chart"> each, a polyline per series
 * with NaN gaps left out, bars per series and group, labels escaped, no
 * style attributes or scripts (the page's CSP). */
#include <math.h>

#include "report/svg.h"
#include "report_test_util.h"
#include "test.h"

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

static void test_line_chart(void)
{
    double x[4] = {1, 2, 3, 4}, a[4] = {0.1, 0.5, NAN, 0.9}, b[4] = {0.2, 0.2, 0.3, 0.4};
    svg_series s[2] = {{"<run & 1>", x, a, 4}, {"run\"2", x, b, 4}};
    capture c;
    svg_line_chart(capture_begin(&c), "R@K <title>", "K", "y'", s, 2, 0, 1);
    char *out = capture_end(&c);
    CHECK_EQ_INT(count(out, "<svg class=\"chart\""), 1);
    CHECK_EQ_INT(count(out, "</svg>"), 1);
    CHECK_EQ_INT(count(out, "<polyline"), 2);
    CHECK(strstr(out, "&lt;run &amp; 1&gt;") != NULL);
    CHECK(strstr(out, "run&quot;2") != NULL);
    CHECK(strstr(out, "R@K &lt;title&gt;") != NULL);
    CHECK(strstr(out, "<title>R@K <") == NULL);
    CHECK(strstr(out, "style=") == NULL && strstr(out, "<script") == NULL);
    CHECK(strstr(out, "nan") == NULL && strstr(out, "inf") == NULL);
    CHECK(strstr(out, svg_color(0)) != NULL && strstr(out, svg_color(1)) != NULL);
    free(out);
    /* all-NaN data and ymax <= ymin: axes from defaults, still no NaN printed */
    double z[2] = {NAN, NAN};
    svg_series e = {"empty", x, z, 2};
    svg_line_chart(capture_begin(&c), "t", "x", "y", &e, 1, 0, 0);
    out = capture_end(&c);
    CHECK(strstr(out, "nan") == NULL);
    free(out);
}

static void test_bar_chart(void)
{
    const char *labels[3] = {"1", "2-5", "<none>"};
    const char *names[2] = {"a", "b"};
    double v[6] = {3, 1, 0, 2, NAN, 5};
    capture c;
    svg_bar_chart(capture_begin(&c), "first rank", "queries", labels, 3, names, 2, v);
    char *out = capture_end(&c);
    CHECK_EQ_INT(count(out, "<svg class=\"chart\""), 1);
    CHECK_EQ_INT(count(out, "class=\"bar\""), 6);
    CHECK(strstr(out, "&lt;none&gt;") != NULL);
    CHECK(strstr(out, "nan") == NULL);
    CHECK(strstr(out, "style=") == NULL);
    free(out);
}

static void test_palette(void)
{
    CHECK(strcmp(svg_color(0), svg_color(1)) != 0);
    CHECK_EQ_STR(svg_color(0), svg_color(8)); /* eight colours, then again */
    CHECK_EQ_INT(strlen(svg_color(3)), 7);
}

int main(void)
{
    RUN(test_line_chart);
    RUN(test_bar_chart);
    RUN(test_palette);
    return test_summary();
}
