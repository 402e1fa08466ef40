/* svg.h — the report's charts as inline SVG.
 *
 * Owns: a line chart (several series over shared axes, a legend) and a
 * grouped bar chart, with fixed geometry and a fixed palette, written as
 * SVG elements with presentation attributes only (no style attributes, no
 * scripts), so that the page's Content-Security-Policy can stay strict. All
 * labels go through html_text.
 */
#ifndef MM_REPORT_SVG_H
#define MM_REPORT_SVG_H

#include <stddef.h>
#include <stdio.h>

typedef struct svg_series {
    const char *name;
    const double *x, *y; /* n points; NaN y values are gaps */
    size_t n;
} svg_series;

/* Line chart; y from ymin to ymax (ymax <= ymin: from the data). */
void svg_line_chart(FILE *fp, const char *title, const char *xlabel, const char *ylabel,
                    const svg_series *s, size_t nseries, double ymin, double ymax);

/* Grouped bars: ngroups groups (labels[g]), one bar per series in each,
 * values[s * ngroups + g]. */
void svg_bar_chart(FILE *fp, const char *title, const char *ylabel, const char *const *labels,
                   size_t ngroups, const char *const *series_names, size_t nseries,
                   const double *values);

/* Colour of series i (#rrggbb). */
const char *svg_color(size_t i);

#endif
