/* report.c — see report.h. */
#include "report/report.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "eval/bootstrap.h"
#include "eval/evalstats.h"
#include "eval/measures.h"
#include "io/trec.h"
#include "report/classify.h"
#include "report/evaljson.h"
#include "report/html.h"
#include "report/svg.h"
#include "report/texts.h"
#include "report/thumb.h"
#include "report/trainlog.h"

/* Sorting the tables: the only script, allowed by its hash alone. */
const char report_script[] =
    "document.querySelectorAll('table.sortable th').forEach(function(h){"
    "h.addEventListener('click',function(){var b=h.closest('table').tBodies[0],"
    "r=Array.prototype.slice.call(b.rows),d=h.dataset.d=h.dataset.d==='1'?'-1':'1',"
    "c=h.cellIndex;r.sort(function(x,y){var a=x.cells[c].textContent,"
    "e=y.cells[c].textContent,p=parseFloat(a),q=parseFloat(e);"
    "return (isNaN(p)||isNaN(q)?a.localeCompare(e):p-q)*d;});"
    "r.forEach(function(e){b.appendChild(e);});});});";
/* base64 sha256 of report_script; tests/cli/mm-report.bats recomputes it */
const char report_script_sha256[] = "SkNRYVx3jZlXy6BE3Gx0HqQezNFvte+w8GhBsNo2OEI=";

static const char page_style[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    "td.t,th.t{text-align:left;max-width:30em;overflow-wrap:anywhere}td.id{white-space:nowrap}"
    "th{background:#f0f0f0}table.sortable th{cursor:pointer}"
    ".q{border:1px solid #ddd;margin:0.6em 0;padding:0.4em;break-inside:avoid}"
    ".items{display:flex;flex-wrap:wrap;gap:4px}"
    ".it{width:104px;font-size:11px;border:3px solid #eee;padding:2px;overflow-wrap:anywhere}"
    ".it.rel{border-color:#2ca02c}"
    ".it svg.th,.q>svg.th{display:block}svg.defs{position:absolute}"
    ".ph{width:96px;height:72px;background:#eee;font-size:10px;overflow:hidden}"
    ".cap{font-size:11px;max-height:6em;overflow:hidden}"
    ".note{color:#666;font-size:12px}"
    "@media print{.q{page-break-inside:avoid}}";

void report_params_default(report_params *p)
{
    memset(p, 0, sizeof *p);
    p->measure = "MRR";
    p->gallery_mode = REPORT_GALLERY_WORST;
    p->gallery_n = 20;
    p->topk = 10;
    p->table_rows = 2000;
    p->ndiff = 10;
    p->seed = 1;
    p->bootstrap = 1000;
    p->ci = 0.95;
    p->permutations = 10000;
    p->thumb_size = 96;
    p->thumb_quality = 75;
    p->thumb_budget = 2400000;
    p->title = "mmkit report";
}

typedef struct run_data {
    const char *path;
    trec_run run;
    mm_eval_result sum, curve;
    double *lo, *hi;   /* bootstrap interval per summary row */
    long *first_rel;   /* per qrels query: 1-based rank of the first relevant item, 0 none */
    bool loaded, sum_ok, curve_ok;
} run_data;

typedef struct ctx {
    FILE *fp;
    const report_params *p;
    trec_qrels qrels;
    report_texts texts;
    report_thumbs thumbs;
    mm_measure_set sum, curve;
    mm_eval_opts opts;
    run_data *runs;
    size_t nruns, nq;
    long main_row; /* row of p->measure in sum, -1 if absent */
    size_t *gallery;
    size_t ngallery;
    report_evaljson *evaljson;
    size_t nevaljson;
} ctx;

/* ---- items: texts and images ------------------------------------------------ */

/* The image file for item id under the roots: DIR/ID.jpg, DIR/ID.png, DIR/ID.
 * Returns a malloc'd path of the first that exists, or NULL; *tried gets the
 * first candidate (for the placeholder). */
static char *resolve_image(const report_params *p, const char *id, char **tried)
{
    static const char *const ext[] = {".jpg", ".png", ""};
    *tried = NULL;
    for (size_t d = 0; d < p->nimages; d++)
        for (size_t e = 0; e < 3; e++) {
            size_t n = strlen(p->images[d]) + strlen(id) + 8;
            char *path = xmalloc(n);
            snprintf(path, n, "%s/%s%s", p->images[d], id, ext[e]);
            if (!*tried) *tried = xstrdup(path);
            /* ids with ".." cannot climb out of the root */
            if (strstr(id, "..") == NULL && access(path, R_OK) == 0) return path;
            free(path);
        }
    return NULL;
}

static void add_item_thumb(ctx *c, const char *id)
{
    if (report_texts_find(&c->texts, id) || c->p->nimages == 0) return;
    char *tried, *path = resolve_image(c->p, id, &tried);
    if (path) report_thumbs_add(&c->thumbs, path);
    free(path);
    free(tried);
}

/* An item as the page shows it: its text, its thumbnail, or a placeholder. */
static void write_item_body(ctx *c, const char *id)
{
    const char *text = report_texts_find(&c->texts, id);
    if (text) {
        fputs("<div class=\"cap\">", c->fp);
        html_text_max(c->fp, text, 300);
        fputs("</div>", c->fp);
        return;
    }
    if (c->p->nimages == 0) return;
    char *tried, *path = resolve_image(c->p, id, &tried);
    const report_thumb *t = path ? report_thumbs_find(&c->thumbs, path) : NULL;
    if (t && t->jpeg) {
        /* a reference to the one copy in the gallery's image block */
        fprintf(c->fp, "<svg class=\"th\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
                t->width, t->height);
        html_text(c->fp, id);
        fputs("\"><title>", c->fp);
        html_text(c->fp, id);
        fprintf(c->fp, "</title><use href=\"#t%zu\"/></svg>", (size_t)(t - c->thumbs.t));
    } else {
        fputs("<div class=\"ph\">", c->fp);
        if (t && t->why) {
            html_text(c->fp, t->why);
        } else {
            fputs("missing: ", c->fp);
            html_text(c->fp, tried ? tried : id);
        }
        fputs("</div>", c->fp);
    }
    free(path);
    free(tried);
}

/* ---- evaluation ------------------------------------------------------------------ */

static bool is_number_row(const mm_measure *m)
{
    mm_aggregate a = m->def->aggregate;
    return m->def->kind != MM_VALUE_STRING && a != MM_AGG_NONE && a != MM_AGG_RUNID;
}

static int build_sets(ctx *c, mm_error *err)
{
    const report_params *p = c->p;
    static const char *const defaults[] = {"R.1,5,10", "MRR", "map", "ndcg", "medr"};
    if (p->nmeasures == 0) {
        for (size_t i = 0; i < 5; i++)
            if (mm_measure_set_add(&c->sum, defaults[i], err) < 0) return -1;
    } else {
        for (size_t i = 0; i < p->nmeasures; i++)
            if (mm_measure_set_add(&c->sum, p->measures[i], err) < 0) return -1;
    }
    if (mm_measure_set_finalize(&c->sum, err) < 0) return -1;
    char spec[512] = "R.1";
    for (int k = 2; k <= 100; k++) snprintf(spec + strlen(spec), sizeof spec - strlen(spec), ",%d", k);
    if (mm_measure_set_add(&c->curve, spec, err) < 0 ||
        mm_measure_set_add(&c->curve, "iprec_at_recall", err) < 0 ||
        mm_measure_set_finalize(&c->curve, err) < 0)
        return -1;
    c->main_row = -1;
    for (size_t k = 0; k < c->sum.count; k++)
        for (size_t r = 0; r < c->sum.m[k].nvalues; r++)
            if (strcmp(c->sum.m[k].names[r], p->measure) == 0 && c->sum.m[k].def->per_query)
                c->main_row = (long)(c->sum.m[k].offset + r);
    return 0;
}

static int load_runs(ctx *c, mm_error *err, int *status)
{
    c->runs = xcalloc(c->nruns, sizeof *c->runs);
    for (size_t i = 0; i < c->nruns; i++) {
        run_data *r = &c->runs[i];
        r->path = c->p->runs[i];
        if (trec_run_load(&r->run, r->path, err) < 0) return -1;
        r->loaded = true;
        if (mm_evaluate_run(&c->qrels, r->path, &c->opts, &c->sum, &r->sum, err, status) < 0)
            return -1;
        r->sum_ok = true;
        if (mm_evaluate_run(&c->qrels, r->path, &c->opts, &c->curve, &r->curve, err, status) < 0)
            return -1;
        r->curve_ok = true;
        if (r->sum.query_count != c->qrels.query_count) {
            *status = 1;
            return mm_fail(err, MM_ERR_MISMATCH, "%s: %zu of %zu qrels queries evaluated",
                           r->path, r->sum.query_count, c->qrels.query_count);
        }
        r->lo = xmalloc((c->sum.nvalues + 1) * sizeof *r->lo);
        r->hi = xmalloc((c->sum.nvalues + 1) * sizeof *r->hi);
        mm_bootstrap_summary(&c->sum, &r->sum, &c->opts, c->p->bootstrap, c->p->seed, c->p->ci,
                             r->lo, r->hi);
        r->first_rel = xcalloc(c->nq + 1, sizeof *r->first_rel);
        for (size_t q = 0; q < c->nq; q++) {
            long rq = trec_run_find_query(&r->run, c->qrels.queries[q].qid);
            if (rq < 0) continue;
            const trec_run_query *Q = &r->run.queries[rq];
            for (size_t j = 0; j < Q->count; j++) {
                const char *d = Q->items[j].docno;
                long ji = trec_qrels_find_doc(&c->qrels, q, d, strlen(d));
                if (ji >= 0 && c->qrels.rel[ji] >= c->opts.relevance_level) {
                    r->first_rel[q] = (long)j + 1;
                    break;
                }
            }
        }
    }
    return 0;
}

/* A run's name in chart legends: the file name without its folders. */
static const char *short_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

static double qvalue(const ctx *c, size_t run, size_t q, size_t row)
{
    return c->runs[run].sum.values[q * c->sum.nvalues + row];
}

/* ---- page sections ------------------------------------------------------------ */

static void fmt_value(FILE *fp, const mm_measure *m, double v)
{
    if (!isfinite(v)) fputs("–", fp);
    else if (m->def->kind == MM_VALUE_COUNT || m->def->aggregate == MM_AGG_NUM_Q)
        fprintf(fp, "%ld", (long)v);
    else if (v == floor(v) && fabs(v) < 1e15) fprintf(fp, "%.0f", v); /* ranks, 0/1 */
    else fprintf(fp, "%.4f", v);
}

static void write_summary(ctx *c)
{
    FILE *fp = c->fp;
    const report_params *p = c->p;
    fputs("<h2 id=\"summary\">Summary</h2>\n", fp);
    fprintf(fp, "<p class=\"note\">%zu queries (qrels); %.0f%% percentile bootstrap intervals "
                "from %zu resamples (seed %llu)",
            c->nq, p->ci * 100, p->bootstrap, (unsigned long long)p->seed);
    if (c->nruns > 1)
        fprintf(fp, "; p: paired randomisation test against the first run (%llu permutations) "
                    "and paired t-test",
                (unsigned long long)p->permutations);
    fputs(". Queries missing from a run score 0.</p>\n", fp);
    fputs("<table id=\"summary-table\"><thead><tr><th class=\"t\">run</th>", fp);
    for (size_t k = 0; k < c->sum.count; k++) {
        const mm_measure *m = &c->sum.m[k];
        if (!is_number_row(m)) continue;
        for (size_t r = 0; r < m->nvalues; r++) {
            fputs("<th>", fp);
            html_text(fp, m->names[r]);
            fputs("</th>", fp);
        }
    }
    fputs("</tr></thead><tbody>\n", fp);
    size_t n = c->nq;
    double *a = xmalloc((n + 1) * sizeof *a), *b = xmalloc((n + 1) * sizeof *b);
    for (size_t i = 0; i < c->nruns; i++) {
        run_data *rd = &c->runs[i];
        fputs("<tr><td class=\"t\">", fp);
        html_text(fp, rd->path);
        fputs("</td>", fp);
        for (size_t k = 0; k < c->sum.count; k++) {
            const mm_measure *m = &c->sum.m[k];
            if (!is_number_row(m)) continue;
            for (size_t r = 0; r < m->nvalues; r++) {
                size_t row = m->offset + r;
                fputs("<td>", fp);
                fmt_value(fp, m, mm_summary_value(&c->sum, &rd->sum, &c->opts, row, NULL, 0));
                if (isfinite(rd->lo[row]))
                    fprintf(fp, "<br><span class=\"note\">[%.4f, %.4f]</span>", rd->lo[row],
                            rd->hi[row]);
                if (i > 0 && m->def->per_query && m->def->calc) {
                    for (size_t q = 0; q < n; q++) {
                        a[q] = qvalue(c, 0, q, row);
                        b[q] = qvalue(c, i, q, row);
                    }
                    bool exact;
                    double pp = mm_paired_permutation_test(b, a, n, p->permutations, p->seed,
                                                           &exact);
                    double t, pt = mm_paired_t_test(b, a, n, &t, NULL);
                    fprintf(fp, "<br><span class=\"note\">p=%.3g", pp);
                    if (isfinite(pt)) fprintf(fp, " t-test p=%.3g", pt);
                    fputs("</span>", fp);
                }
                fputs("</td>", fp);
            }
        }
        fputs("</tr>\n", fp);
    }
    free(a);
    free(b);
    fputs("</tbody></table>\n", fp);
    report_evaljson_write(fp, c->evaljson, c->nevaljson);
}

static void write_curves(ctx *c)
{
    FILE *fp = c->fp;
    fputs("<h2 id=\"curves\">Curves</h2>\n<div class=\"curves\">\n", fp);
    size_t ns = c->nruns;
    svg_series *s = xcalloc(ns, sizeof *s);
    double *xs = xmalloc(100 * sizeof *xs), *ys = xmalloc(ns * 100 * sizeof *ys);
    /* R@K, K = 1..100, and the 11 points: rows of the curve set */
    size_t r0 = mm_measure_set_find(&c->curve, "R")->offset;
    size_t p0 = mm_measure_set_find(&c->curve, "iprec_at_recall")->offset;
    for (size_t k = 0; k < 100; k++) xs[k] = (double)(k + 1);
    for (size_t i = 0; i < ns; i++) {
        for (size_t k = 0; k < 100; k++)
            ys[i * 100 + k] = mm_summary_value(&c->curve, &c->runs[i].curve, &c->opts, r0 + k, NULL, 0);
        s[i] = (svg_series){short_name(c->runs[i].path), xs, ys + i * 100, 100};
    }
    svg_line_chart(fp, "Recall@K", "K", "R@K (fraction of queries)", s, ns, 0, 1);
    double *xr = xmalloc(11 * sizeof *xr), *yr = xmalloc(ns * 11 * sizeof *yr);
    for (size_t k = 0; k < 11; k++) xr[k] = (double)k / 10.0;
    for (size_t i = 0; i < ns; i++) {
        for (size_t k = 0; k < 11; k++)
            yr[i * 11 + k] =
                mm_summary_value(&c->curve, &c->runs[i].curve, &c->opts, p0 + k, NULL, 0);
        s[i] = (svg_series){short_name(c->runs[i].path), xr, yr + i * 11, 11};
    }
    svg_line_chart(fp, "Interpolated precision-recall (iprec_at_recall)", "recall", "precision",
                   s, ns, 0, 1);
    /* first relevant rank: buckets */
    static const long edges[] = {1, 2, 3, 4, 5, 6, 11, 21, 51, 101};
    static const char *const labels[] = {"1", "2", "3", "4", "5", "6-10", "11-20", "21-50",
                                         "51-100", ">100", "none"};
    enum { NB = 11 };
    double *v = xcalloc(ns * NB, sizeof *v);
    const char **names = xmalloc(ns * sizeof *names);
    for (size_t i = 0; i < ns; i++) {
        names[i] = short_name(c->runs[i].path);
        for (size_t q = 0; q < c->nq; q++) {
            long r = c->runs[i].first_rel[q];
            size_t bkt = NB - 1;
            if (r > 0) {
                bkt = 9;
                for (size_t e = 0; e + 1 < 10; e++)
                    if (r >= edges[e] && r < edges[e + 1]) bkt = e;
            }
            v[i * NB + bkt] += 1;
        }
    }
    svg_bar_chart(fp, "Rank of the first relevant item", "queries", labels, NB, names, ns, v);
    fputs("</div>\n", fp);
    free(v);
    free(names);
    free(xr);
    free(yr);
    free(xs);
    free(ys);
    free(s);
}

static const char *query_text(const ctx *c, const char *qid)
{
    return report_texts_find(&c->texts, qid);
}

static size_t *main_order; /* qsort context: not reentrant, the page is one thread */
static const ctx *order_ctx;
static int cmp_worst(const void *x, const void *y)
{
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    double va = qvalue(order_ctx, 0, a, (size_t)order_ctx->main_row);
    double vb = qvalue(order_ctx, 0, b, (size_t)order_ctx->main_row);
    if (va != vb) return va < vb ? -1 : 1;
    return a < b ? -1 : a > b;
}

static void write_per_query(ctx *c)
{
    FILE *fp = c->fp;
    size_t n = c->nq, shown = n < c->p->table_rows ? n : c->p->table_rows;
    fputs("<h2 id=\"per-query\">Per query</h2>\n", fp);
    fprintf(fp, "<p class=\"note\">%zu of %zu queries", shown, n);
    if (shown < n && c->main_row >= 0) fputs(" (the lowest ", fp), html_text(fp, c->p->measure),
                                         fputs(" in the first run)", fp);
    fputs("; click a column to sort.</p>\n", fp);
    fputs("<table class=\"sortable\" id=\"per-query-table\"><thead><tr><th class=\"t\">query</th>"
          "<th class=\"t\">text</th>",
          fp);
    for (size_t i = 0; i < c->nruns; i++)
        for (size_t k = 0; k < c->sum.count; k++) {
            const mm_measure *m = &c->sum.m[k];
            if (!m->def->per_query || !is_number_row(m)) continue;
            for (size_t r = 0; r < m->nvalues; r++) {
                fputs("<th>", fp);
                html_text(fp, m->names[r]);
                if (c->nruns > 1) fprintf(fp, " (%zu)", i + 1);
                fputs("</th>", fp);
            }
        }
    fputs("</tr></thead><tbody>\n", fp);
    size_t *ord = xmalloc((n + 1) * sizeof *ord);
    for (size_t q = 0; q < n; q++) ord[q] = q;
    if (shown < n && c->main_row >= 0) {
        order_ctx = c;
        qsort(ord, n, sizeof *ord, cmp_worst);
    }
    for (size_t j = 0; j < shown; j++) {
        size_t q = ord[j];
        const char *qid = c->qrels.queries[q].qid;
        fputs("<tr><td class=\"t id\">", fp);
        html_text(fp, qid);
        fputs("</td><td class=\"t\">", fp);
        const char *t = query_text(c, qid);
        if (t) html_text_max(fp, t, 80);
        fputs("</td>", fp);
        for (size_t i = 0; i < c->nruns; i++)
            for (size_t k = 0; k < c->sum.count; k++) {
                const mm_measure *m = &c->sum.m[k];
                if (!m->def->per_query || !is_number_row(m)) continue;
                for (size_t r = 0; r < m->nvalues; r++) {
                    fputs("<td>", fp);
                    fmt_value(fp, m, qvalue(c, i, q, m->offset + r));
                    fputs("</td>", fp);
                }
            }
        fputs("</tr>\n", fp);
    }
    fputs("</tbody></table>\n", fp);
    free(ord);
}

typedef struct diff_item {
    size_t q;
    double d;
} diff_item;
static int cmp_diff(const void *x, const void *y)
{
    const diff_item *a = x, *b = y;
    double da = fabs(a->d), db = fabs(b->d);
    if (da != db) return da > db ? -1 : 1;
    return a->q < b->q ? -1 : a->q > b->q;
}

static void write_differences(ctx *c)
{
    if (c->nruns < 2 || c->main_row < 0) return;
    FILE *fp = c->fp;
    size_t n = c->nq, row = (size_t)c->main_row;
    fputs("<h2 id=\"differences\">Largest differences</h2>\n", fp);
    diff_item *d = xmalloc((n + 1) * sizeof *d);
    for (size_t i = 1; i < c->nruns; i++) {
        for (size_t q = 0; q < n; q++) d[q] = (diff_item){q, qvalue(c, i, q, row) - qvalue(c, 0, q, row)};
        qsort(d, n, sizeof *d, cmp_diff);
        fputs("<h3>", fp);
        html_text(fp, c->runs[i].path);
        fputs(" − ", fp);
        html_text(fp, c->runs[0].path);
        fputs(" (", fp);
        html_text(fp, c->p->measure);
        fputs(")</h3>\n<table class=\"sortable diff\"><thead><tr><th class=\"t\">query</th>"
              "<th class=\"t\">text</th><th>first</th><th>this</th><th>difference</th>"
              "<th>first rel. rank (first)</th><th>first rel. rank (this)</th></tr></thead><tbody>\n",
              fp);
        for (size_t j = 0; j < n && j < c->p->ndiff && d[j].d != 0; j++) {
            size_t q = d[j].q;
            const char *qid = c->qrels.queries[q].qid;
            fputs("<tr><td class=\"t\">", fp);
            html_text(fp, qid);
            fputs("</td><td class=\"t\">", fp);
            const char *t = query_text(c, qid);
            if (t) html_text_max(fp, t, 80);
            fprintf(fp, "</td><td>%.4f</td><td>%.4f</td><td>%+.4f</td><td>%ld</td><td>%ld</td></tr>\n",
                    qvalue(c, 0, q, row), qvalue(c, i, q, row), d[j].d, c->runs[0].first_rel[q],
                    c->runs[i].first_rel[q]);
        }
        fputs("</tbody></table>\n", fp);
    }
    free(d);
}

static int choose_gallery(ctx *c, mm_error *err)
{
    const report_params *p = c->p;
    size_t n = c->nq;
    c->gallery = xmalloc((n + 1) * sizeof *c->gallery);
    if (p->gallery_mode == REPORT_GALLERY_LIST) {
        report_texts dummy;
        (void)dummy;
        FILE *f = fopen(p->gallery_list, "r");
        if (!f) return mm_fail(err, MM_ERR_IO, "%s: cannot open", p->gallery_list);
        char line[4096];
        size_t ln = 0;
        while (fgets(line, sizeof line, f)) {
            ln++;
            line[strcspn(line, "\r\n")] = '\0';
            if (!line[0] || line[0] == '#') continue;
            long q = trec_qrels_find_query(&c->qrels, line, strlen(line));
            if (q < 0) {
                fclose(f);
                return mm_fail(err, MM_ERR_MISMATCH, "%s:%zu: query %s is not in the qrels",
                               p->gallery_list, ln, line);
            }
            if (c->ngallery < n) c->gallery[c->ngallery++] = (size_t)q;
        }
        fclose(f);
        return 0;
    }
    size_t want = p->gallery_n < n ? p->gallery_n : n;
    for (size_t q = 0; q < n; q++) c->gallery[q] = q;
    if (p->gallery_mode == REPORT_GALLERY_RANDOM) {
        mm_rng rng;
        mm_rng_seed(&rng, p->seed);
        for (size_t i = 0; i < want; i++) { /* partial Fisher-Yates */
            size_t j = i + (size_t)mm_rng_below(&rng, n - i), t = c->gallery[i];
            c->gallery[i] = c->gallery[j];
            c->gallery[j] = t;
        }
    } else if (c->main_row >= 0) {
        order_ctx = c;
        qsort(c->gallery, n, sizeof *c->gallery, cmp_worst);
    }
    c->ngallery = want;
    return 0;
}

static void collect_thumbs(ctx *c)
{
    for (size_t g = 0; g < c->ngallery; g++) {
        size_t q = c->gallery[g];
        add_item_thumb(c, c->qrels.queries[q].qid);
        for (size_t i = 0; i < c->nruns; i++) {
            long rq = trec_run_find_query(&c->runs[i].run, c->qrels.queries[q].qid);
            if (rq < 0) continue;
            const trec_run_query *Q = &c->runs[i].run.queries[rq];
            for (size_t j = 0; j < Q->count && j < c->p->topk; j++)
                add_item_thumb(c, Q->items[j].docno);
        }
    }
    report_thumbs_build(&c->thumbs, c->p->pool);
}

static bool is_relevant(const ctx *c, size_t q, const char *docno)
{
    long ji = trec_qrels_find_doc(&c->qrels, q, docno, strlen(docno));
    return ji >= 0 && c->qrels.rel[ji] >= c->opts.relevance_level;
}

/* Every thumbnail the gallery shows, once: an SVG <image> with a JPEG data
 * URI that each place the image appears references with <use> (in a
 * text->image gallery the same images come back for many queries). */
static void write_thumb_block(ctx *c)
{
    FILE *fp = c->fp;
    size_t n = 0;
    for (size_t i = 0; i < c->thumbs.count; i++) n += c->thumbs.t[i].jpeg != NULL;
    if (n == 0) return;
    fputs("<svg class=\"defs\" xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\" "
          "aria-hidden=\"true\"><defs>\n", fp);
    for (size_t i = 0; i < c->thumbs.count; i++) {
        const report_thumb *t = &c->thumbs.t[i];
        if (!t->jpeg) continue;
        fprintf(fp, "<image id=\"t%zu\" width=\"%d\" height=\"%d\" href=\"data:image/jpeg;base64,", i,
                t->width, t->height);
        html_base64(fp, t->jpeg, t->jpeg_len);
        fputs("\"/>\n", fp);
    }
    fputs("</defs></svg>\n", fp);
}

static void write_gallery(ctx *c)
{
    FILE *fp = c->fp;
    const report_params *p = c->p;
    write_thumb_block(c);
    fputs("<h2 id=\"gallery\">Gallery</h2>\n<p class=\"note\">", fp);
    if (p->gallery_mode == REPORT_GALLERY_LIST) fputs("queries from ", fp), html_text(fp, p->gallery_list);
    else if (p->gallery_mode == REPORT_GALLERY_RANDOM)
        fprintf(fp, "%zu random queries (seed %llu)", c->ngallery, (unsigned long long)p->seed);
    else fprintf(fp, "the %zu queries with the lowest ", c->ngallery), html_text(fp, p->measure),
         fputs(" in the first run", fp);
    fprintf(fp, "; top %zu per run, relevant items framed in green and marked ✓.", p->topk);
    const report_thumbs *ts = &c->thumbs;
    if (ts->total_b64 > 0) {
        fprintf(fp, " %zu distinct thumbnails, each embedded once (%.2f MB), longest side %d px, "
                    "JPEG quality %d",
                ts->count, (double)ts->total_b64 / 1e6, ts->used_size, ts->used_quality);
        if (ts->used_size != ts->size || ts->used_quality != ts->quality)
            fprintf(fp, " (stepped down from %d px, quality %d to fit --thumb-budget)", ts->size,
                    ts->quality);
        fputs(".", fp);
    }
    fputs("</p>\n", fp);
    for (size_t g = 0; g < c->ngallery; g++) {
        size_t q = c->gallery[g];
        const char *qid = c->qrels.queries[q].qid;
        fputs("<div class=\"q\"><div><b>query ", fp);
        html_text(fp, qid);
        fputs("</b></div>", fp);
        write_item_body(c, qid);
        for (size_t i = 0; i < c->nruns; i++) {
            run_data *rd = &c->runs[i];
            fputs("<div class=\"note\">", fp);
            html_text(fp, rd->path);
            long fr = rd->first_rel[q];
            if (fr == 0) fputs(": no relevant item retrieved", fp);
            else if ((size_t)fr > p->topk) {
                long rq = trec_run_find_query(&rd->run, qid);
                fprintf(fp, ": first relevant item at rank %ld (", fr);
                html_text(fp, rd->run.queries[rq].items[fr - 1].docno);
                fputs(")", fp);
            }
            fputs("</div><div class=\"items\">", fp);
            long rq = trec_run_find_query(&rd->run, qid);
            if (rq >= 0) {
                const trec_run_query *Q = &rd->run.queries[rq];
                for (size_t j = 0; j < Q->count && j < p->topk; j++) {
                    bool rel = is_relevant(c, q, Q->items[j].docno);
                    fprintf(fp, "<div class=\"it%s\">%s#%zu ", rel ? " rel" : "", rel ? "✓ " : "",
                            j + 1);
                    html_text_max(fp, Q->items[j].docno, 40);
                    fprintf(fp, "<br>%.4g", Q->items[j].score);
                    write_item_body(c, Q->items[j].docno);
                    fputs("</div>", fp);
                }
            }
            fputs("</div>", fp);
        }
        fputs("</div>\n", fp);
    }
}

static void write_head(ctx *c)
{
    FILE *fp = c->fp;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n", fp);
    fprintf(fp, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "img-src data:; style-src 'unsafe-inline'; script-src 'sha256-%s'; "
                "base-uri 'none'; form-action 'none'\">\n",
            report_script_sha256);
    fputs("<meta name=\"generator\" content=\"mm-report (mmkit) " MM_VERSION "\">\n<title>", fp);
    html_text(fp, c->p->title);
    fprintf(fp, "</title>\n<style>%s</style>\n</head><body>\n<h1>", page_style);
    html_text(fp, c->p->title);
    fputs("</h1>\n<p class=\"note\">qrels ", fp);
    html_text(fp, c->p->qrels);
    fprintf(fp, "; %zu run%s", c->nruns, c->nruns == 1 ? "" : "s");
    fputs(". <a href=\"#summary\">summary</a> · <a href=\"#curves\">curves</a> · "
          "<a href=\"#per-query\">per query</a> · <a href=\"#gallery\">gallery</a></p>\n",
          fp);
}

int report_write(FILE *fp, const report_params *p, mm_error *err, int *status)
{
    ctx c = {0};
    c.fp = fp;
    c.p = p;
    c.nruns = p->nruns;
    mm_eval_opts o = MM_EVAL_OPTS_DEFAULT;
    o.complete_rel_info = true;
    c.opts = o;
    report_thumbs_init(&c.thumbs, p->thumb_size, p->thumb_quality, p->thumb_budget);
    int rc = -1;
    *status = 1;
    if (trec_qrels_load(&c.qrels, p->qrels, err) < 0) goto out;
    c.nq = c.qrels.query_count;
    if (p->texts && report_texts_load(&c.texts, p->texts, err) < 0) goto out;
    if (build_sets(&c, err) < 0) {
        *status = 2;
        goto out;
    }
    if (load_runs(&c, err, status) < 0) {
        *status = 1; /* mm-eval's 2/4/7 are all bad input here */
        goto out;
    }
    if (p->nevaljson) {
        c.evaljson = xcalloc(p->nevaljson, sizeof *c.evaljson);
        for (; c.nevaljson < p->nevaljson; c.nevaljson++)
            if (report_evaljson_load(&c.evaljson[c.nevaljson], p->evaljson[c.nevaljson], err) < 0)
                goto out;
    }
    report_classes *cls = NULL;
    size_t ncls = p->nconfusion;
    if (ncls) {
        cls = xcalloc(ncls, sizeof *cls);
        for (size_t i = 0; i < ncls; i++)
            if (report_classes_load(&cls[i], p->confusion[i], err) < 0) {
                for (size_t j = 0; j < i; j++) report_classes_free(&cls[j]);
                free(cls);
                goto out;
            }
    }
    report_trainlog *logs = NULL;
    size_t nlogs = p->ntrainlogs;
    if (nlogs) {
        logs = xcalloc(nlogs, sizeof *logs);
        for (size_t i = 0; i < nlogs; i++)
            if (report_trainlog_load(&logs[i], p->trainlogs[i], err) < 0) {
                for (size_t j = 0; j < i; j++) report_trainlog_free(&logs[j]);
                free(logs);
                for (size_t j = 0; j < ncls; j++) report_classes_free(&cls[j]);
                free(cls);
                goto out;
            }
    }
    if (choose_gallery(&c, err) < 0) goto out;
    collect_thumbs(&c);
    write_head(&c);
    write_summary(&c);
    write_curves(&c);
    write_per_query(&c);
    write_differences(&c);
    write_gallery(&c);
    for (size_t i = 0; i < ncls; i++) {
        report_classes_write(fp, &cls[i]);
        report_classes_free(&cls[i]);
    }
    free(cls);
    for (size_t i = 0; i < nlogs; i++) {
        report_trainlog_write(fp, &logs[i]);
        report_trainlog_free(&logs[i]);
    }
    free(logs);
    fprintf(fp, "<script>%s</script>\n</body></html>\n", report_script);
    rc = 0;
    *status = 0;
out:
    for (size_t i = 0; c.runs && i < c.nruns; i++) {
        run_data *r = &c.runs[i];
        if (r->loaded) trec_run_free(&r->run);
        if (r->sum_ok) mm_eval_result_free(&r->sum, &c.sum);
        if (r->curve_ok) mm_eval_result_free(&r->curve, &c.curve);
        free(r->lo);
        free(r->hi);
        free(r->first_rel);
    }
    free(c.runs);
    free(c.gallery);
    for (size_t i = 0; i < c.nevaljson; i++) report_evaljson_free(&c.evaljson[i]);
    free(c.evaljson);
    mm_measure_set_free(&c.sum);
    mm_measure_set_free(&c.curve);
    report_thumbs_free(&c.thumbs);
    report_texts_free(&c.texts);
    if (c.qrels.name) trec_qrels_free(&c.qrels);
    (void)main_order;
    return rc;
}
