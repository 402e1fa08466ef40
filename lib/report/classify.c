/* classify.c — see classify.h. */
#include "report/classify.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "io/trec.h"
#include "report/html.h"
#include "report/svg.h"

/* Splits line at TABs in place; returns the field count (at most max). */
static size_t split_tabs(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line;;) {
        if (n < max) f[n] = p;
        n++;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = '\0';
        p = t + 1;
    }
    return n;
}

int report_classes_load(report_classes *c, const char *path, mm_error *err)
{
    memset(c, 0, sizeof *c);
    c->path = xstrdup(path);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
        report_classes_free(c);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, ln = 0, rows = 0;
    ssize_t len;
    char **f = NULL;
    int rc = -1;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        ln++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        f = xrealloc(f, (size_t)(len + 2) * sizeof *f);
        size_t nf = split_tabs(line, f, (size_t)len + 2);
        if (ln == 1) {
            if (strcmp(f[0], "true\\predicted") != 0 || nf < 2) {
                mm_fail(err, MM_ERR_MALFORMED,
                        "%s:1: expected the header 'true\\predicted<TAB>class...'", path);
                goto done;
            }
            c->n = nf - 1;
            c->name = xcalloc(c->n, sizeof *c->name);
            for (size_t j = 0; j < c->n; j++) c->name[j] = xstrdup(f[j + 1]);
            c->count = xcalloc(c->n * c->n, sizeof *c->count);
            continue;
        }
        if (nf != c->n + 1) {
            mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: expected %zu fields, found %zu", path, ln,
                    c->n + 1, nf);
            goto done;
        }
        if (rows >= c->n || strcmp(f[0], c->name[rows]) != 0) {
            mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: row class '%s' is not column %zu's", path,
                    ln, f[0], rows + 1);
            goto done;
        }
        for (size_t j = 0; j < c->n; j++) {
            long v;
            if (!trec_parse_long(f[j + 1], strlen(f[j + 1]), &v) || v < 0) {
                mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: field %zu: expected a count, found '%s'",
                        path, ln, j + 2, f[j + 1]);
                goto done;
            }
            c->count[rows * c->n + j] = v;
        }
        rows++;
    }
    if (ln == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "%s:1: empty confusion matrix", path);
        goto done;
    }
    if (rows != c->n) {
        mm_fail(err, MM_ERR_TRUNCATED, "%s:%zu: %zu rows for %zu classes", path, ln, rows, c->n);
        goto done;
    }
    rc = 0;
done:
    free(line);
    free(f);
    fclose(fp);
    if (rc < 0) report_classes_free(c);
    return rc;
}

double report_class_recall(const report_classes *c, size_t i)
{
    long s = 0;
    for (size_t j = 0; j < c->n; j++) s += c->count[i * c->n + j];
    return s ? (double)c->count[i * c->n + i] / (double)s : NAN;
}

void report_classes_write(FILE *fp, const report_classes *c)
{
    fputs("<h2 class=\"classify\">Classification: ", fp);
    html_text(fp, c->path);
    fputs("</h2>\n", fp);
    size_t n = c->n;
    if (n <= REPORT_HEATMAP_MAX) {
        int cell = n <= 20 ? 24 : 10, lab = 110;
        int w = lab + cell * (int)n + 10, h = lab + cell * (int)n + 10;
        fprintf(fp, "<svg class=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                    "height=\"%d\" viewBox=\"0 0 %d %d\"><title>confusion matrix (rows: true, "
                    "columns: predicted)</title>",
                w, h, w, h);
        for (size_t i = 0; i < n; i++) {
            long s = 0;
            for (size_t j = 0; j < n; j++) s += c->count[i * n + j];
            fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">", lab - 4,
                    lab + (int)i * cell + cell / 2 + 3);
            html_text_max(fp, c->name[i], 16);
            fprintf(fp, "</text><text x=\"%d\" y=\"%d\" font-size=\"10\" "
                        "transform=\"rotate(-60 %d %d)\">",
                    lab + (int)i * cell + cell / 2, lab - 4, lab + (int)i * cell + cell / 2,
                    lab - 4);
            html_text_max(fp, c->name[i], 16);
            fputs("</text>", fp);
            for (size_t j = 0; j < n; j++) {
                long v = c->count[i * n + j];
                double f = s ? (double)v / (double)s : 0;
                int shade = 255 - (int)lround(f * 200);
                fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                            "fill=\"rgb(%d,%d,255)\" stroke=\"#fff\"><title>",
                        lab + (int)j * cell, lab + (int)i * cell, cell, cell, shade, shade);
                html_text(fp, c->name[i]);
                fputs(" → ", fp);
                html_text(fp, c->name[j]);
                fprintf(fp, ": %ld</title></rect>", v);
            }
        }
        fputs("</svg>\n", fp);
    } else {
        fprintf(fp, "<p class=\"note\">%zu classes: heat map left out (more than %d).</p>\n", n,
                REPORT_HEATMAP_MAX);
    }
    double *r = xmalloc((n + 1) * sizeof *r);
    for (size_t i = 0; i < n; i++) r[i] = report_class_recall(c, i);
    const char *names[] = {"recall"};
    svg_bar_chart(fp, "Per-class recall", "recall", (const char *const *)c->name, n, names, 1, r);
    free(r);
}

void report_classes_free(report_classes *c)
{
    for (size_t i = 0; c->name && i < c->n; i++) free(c->name[i]);
    free(c->name);
    free(c->count);
    free(c->path);
    memset(c, 0, sizeof *c);
}
