/* svg.c — see svg.h. */
#include "report/svg.h"

#include <math.h>

#include "report/html.h"

enum { W = 560, H = 300, L = 56, R = 150, T = 30, B = 44 };

const char *svg_color(size_t i)
{
    static const char *const pal[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    return pal[i % (sizeof pal / sizeof pal[0])];
}

static void frame(FILE *fp, const char *title, const char *xlabel, const char *ylabel)
{
    fprintf(fp, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>",
            W, H, W, H);
    html_text(fp, title);
    fprintf(fp, "</title><text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"bold\">", L);
    html_text(fp, title);
    fprintf(fp, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                "stroke=\"#888\"/>",
            L, T, W - L - R, H - T - B);
    fprintf(fp, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">",
            L + (W - L - R) / 2, H - 6);
    html_text(fp, xlabel);
    fprintf(fp, "</text><text x=\"12\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" "
                "transform=\"rotate(-90 12 %d)\">",
            T + (H - T - B) / 2, T + (H - T - B) / 2);
    html_text(fp, ylabel);
    fputs("</text>", fp);
}

static void legend(FILE *fp, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int y = T + 10 + (int)i * 18;
        fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                    "<text x=\"%d\" y=\"%d\" font-size=\"12\">",
                W - R + 10, y - 10, svg_color(i), W - R + 28, y);
        html_text_max(fp, names[i], 16);
        fputs("</text>", fp);
    }
}

static void yticks(FILE *fp, double ymin, double ymax)
{
    for (int k = 0; k <= 4; k++) {
        double v = ymin + (ymax - ymin) * k / 4.0;
        double py = H - B - (double)(H - T - B) * k / 4.0;
        fprintf(fp, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.3g</text>",
                L, W - R, py, py, L - 4, py + 4, v);
    }
}

void svg_line_chart(FILE *fp, const char *title, const char *xlabel, const char *ylabel,
                    const svg_series *s, size_t ns, double ymin, double ymax)
{
    double xmin = INFINITY, xmax = -INFINITY, dmin = INFINITY, dmax = -INFINITY;
    for (size_t i = 0; i < ns; i++)
        for (size_t j = 0; j < s[i].n; j++) {
            if (s[i].x[j] < xmin) xmin = s[i].x[j];
            if (s[i].x[j] > xmax) xmax = s[i].x[j];
            if (isfinite(s[i].y[j])) {
                if (s[i].y[j] < dmin) dmin = s[i].y[j];
                if (s[i].y[j] > dmax) dmax = s[i].y[j];
            }
        }
    if (!isfinite(xmin)) xmin = 0, xmax = 1;
    if (xmax <= xmin) xmax = xmin + 1;
    if (ymax <= ymin) {
        ymin = isfinite(dmin) ? dmin : 0;
        ymax = isfinite(dmax) ? dmax : 1;
        if (ymax <= ymin) ymax = ymin + 1;
    }
    frame(fp, title, xlabel, ylabel);
    yticks(fp, ymin, ymax);
    for (int k = 0; k <= 4; k++) {
        double v = xmin + (xmax - xmin) * k / 4.0;
        double px = L + (double)(W - L - R) * k / 4.0;
        fprintf(fp, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%.3g</text>",
                px, H - B + 14, v);
    }
    const char *names[64];
    for (size_t i = 0; i < ns; i++) {
        if (i < 64) names[i] = s[i].name;
        fprintf(fp, "<polyline class=\"series\" fill=\"none\" stroke-width=\"2\" stroke=\"%s\" "
                    "points=\"",
                svg_color(i));
        for (size_t j = 0; j < s[i].n; j++) {
            if (!isfinite(s[i].y[j])) continue;
            double px = L + (s[i].x[j] - xmin) / (xmax - xmin) * (W - L - R);
            double py = H - B - (s[i].y[j] - ymin) / (ymax - ymin) * (H - T - B);
            fprintf(fp, "%s%.1f,%.1f", j ? " " : "", px, py);
        }
        fputs("\"/>", fp);
    }
    legend(fp, names, ns < 64 ? ns : 64);
    fputs("</svg>\n", fp);
}

void svg_bar_chart(FILE *fp, const char *title, const char *ylabel, const char *const *labels,
                   size_t ng, const char *const *names, size_t ns, const double *v)
{
    double ymax = 0;
    for (size_t i = 0; i < ng * ns; i++)
        if (isfinite(v[i]) && v[i] > ymax) ymax = v[i];
    if (ymax <= 0) ymax = 1;
    frame(fp, title, "", ylabel);
    yticks(fp, 0, ymax);
    double gw = (double)(W - L - R) / (double)(ng ? ng : 1);
    double bw = gw * 0.8 / (double)(ns ? ns : 1);
    for (size_t g = 0; g < ng; g++) {
        for (size_t i = 0; i < ns; i++) {
            double val = isfinite(v[i * ng + g]) ? v[i * ng + g] : 0;
            double h = val / ymax * (H - T - B);
            fprintf(fp, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                        "fill=\"%s\"><title>",
                    L + g * gw + gw * 0.1 + i * bw, H - B - h, bw, h, svg_color(i));
            html_text(fp, labels[g]);
            fprintf(fp, ": %.4g</title></rect>", val);
        }
        if (ng <= 24 || g % ((ng + 23) / 24) == 0) {
            fprintf(fp, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">",
                    L + g * gw + gw / 2, H - B + 14);
            html_text_max(fp, labels[g], 8);
            fputs("</text>", fp);
        }
    }
    legend(fp, names, ns < 64 ? ns : 64);
    fputs("</svg>\n", fp);
}
