/* evaljson.c — see evaljson.h. */
#include "report/evaljson.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "report/html.h"

/* A number, or NaN for null; -1 for anything else. */
static int number_or_null(json_t *v, double *out)
{
    if (json_is_number(v)) *out = json_number_value(v);
    else if (!v || json_is_null(v)) *out = NAN;
    else return -1;
    return 0;
}

static report_eval_row *add_row(report_evaljson *e, const char *measure)
{
    e->rows = xrealloc(e->rows, (e->count + 1) * sizeof *e->rows);
    report_eval_row *r = &e->rows[e->count++];
    *r = (report_eval_row){xstrdup(measure), NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    return r;
}

static int load_run(report_evaljson *e, json_t *root, json_t *summary, const char *name,
                    mm_error *err)
{
    json_t *run = json_object_get(root, "run");
    e->run = xstrdup(json_is_string(run) ? json_string_value(run) : "");
    json_t *ci = json_object_get(root, "ci"), *iv = NULL;
    if (ci && !json_is_null(ci)) {
        if (!json_is_object(ci) || !json_is_number(json_object_get(ci, "level")) ||
            !json_is_object(iv = json_object_get(ci, "intervals")))
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s: ci: expected an object with \"level\" and \"intervals\"", name);
        e->ci_level = json_number_value(json_object_get(ci, "level"));
    }
    const char *key;
    json_t *v;
    json_object_foreach(summary, key, v)
    {
        if (json_is_string(v)) continue; /* runid */
        if (!json_is_number(v))
            return mm_fail(err, MM_ERR_MALFORMED, "%s: summary.%s: expected a number", name, key);
        report_eval_row *r = add_row(e, key);
        r->value = json_number_value(v);
        json_t *pair = iv ? json_object_get(iv, key) : NULL;
        if (pair) {
            if (!json_is_array(pair) || json_array_size(pair) != 2 ||
                number_or_null(json_array_get(pair, 0), &r->lo) < 0 ||
                number_or_null(json_array_get(pair, 1), &r->hi) < 0)
                return mm_fail(err, MM_ERR_MALFORMED,
                               "%s: ci.intervals.%s: expected [low, high]", name, key);
        }
    }
    return 0;
}

static int load_compare(report_evaljson *e, json_t *root, json_t *summary, const char *name,
                        mm_error *err)
{
    json_t *a = json_object_get(root, "run_a"), *b = json_object_get(root, "run_b");
    if (!json_is_string(a) || !json_is_string(b))
        return mm_fail(err, MM_ERR_MALFORMED, "%s: run_a, run_b: expected strings", name);
    e->compare = true;
    e->run = xstrdup(json_string_value(a));
    e->run_b = xstrdup(json_string_value(b));
    const char *key;
    json_t *o;
    json_object_foreach(summary, key, o)
    {
        if (!json_is_object(o))
            return mm_fail(err, MM_ERR_MALFORMED, "%s: summary.%s: expected an object", name, key);
        report_eval_row *r = add_row(e, key);
        static const char *const field[] = {"mean_a", "mean_b", "diff", "p_permutation",
                                            "p_ttest"};
        double *dst[] = {&r->mean_a, &r->mean_b, &r->diff, &r->p_perm, &r->p_t};
        for (size_t i = 0; i < 5; i++)
            if (number_or_null(json_object_get(o, field[i]), dst[i]) < 0)
                return mm_fail(err, MM_ERR_MALFORMED, "%s: summary.%s.%s: expected a number",
                               name, key, field[i]);
        json_t *pair = json_object_get(o, "diff_ci");
        if (pair &&
            (!json_is_array(pair) || json_array_size(pair) != 2 ||
             number_or_null(json_array_get(pair, 0), &r->lo) < 0 ||
             number_or_null(json_array_get(pair, 1), &r->hi) < 0))
            return mm_fail(err, MM_ERR_MALFORMED, "%s: summary.%s.diff_ci: expected [low, high]",
                           name, key);
    }
    return 0;
}

int report_evaljson_load_mem(report_evaljson *e, const char *data, size_t size, const char *name,
                             mm_error *err)
{
    memset(e, 0, sizeof *e);
    e->path = xstrdup(name);
    e->ci_level = NAN;
    json_error_t je;
    json_t *root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!root) {
        mm_fail(err, MM_ERR_MALFORMED, "%s:%d:%d: %s", name, je.line, je.column, je.text);
        goto out;
    }
    json_t *summary = json_object_get(root, "summary");
    if (!json_is_object(root) || !json_is_object(summary)) {
        mm_fail(err, MM_ERR_MALFORMED,
                "%s: expected mm-eval --format json output (an object with \"summary\")", name);
        goto out;
    }
    rc = json_object_get(root, "run_a") ? load_compare(e, root, summary, name, err)
                                        : load_run(e, root, summary, name, err);
out:
    json_decref(root);
    if (rc < 0) report_evaljson_free(e);
    return rc;
}

int report_evaljson_load(report_evaljson *e, const char *path, mm_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        memset(e, 0, sizeof *e);
        return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    }
    mm_buf b = {0};
    int bad = mm_buf_read(&b, fp) < 0;
    fclose(fp);
    int rc;
    if (bad) {
        memset(e, 0, sizeof *e);
        rc = mm_fail(err, MM_ERR_IO, "%s: read error", path);
    } else {
        rc = report_evaljson_load_mem(e, b.data ? b.data : "", b.len, path, err);
    }
    mm_buf_free(&b);
    return rc;
}

static void cell(FILE *fp, double v, const char *fmt)
{
    fputs("<td>", fp);
    if (!isfinite(v)) fputs("–", fp);
    else if (fmt[1] == '.' && v == floor(v) && fabs(v) < 1e15) fprintf(fp, "%.0f", v); /* counts */
    else fprintf(fp, fmt, v);
    fputs("</td>", fp);
}

void report_evaljson_write(FILE *fp, const report_evaljson *files, size_t n)
{
    if (n == 0) return;
    fputs("<h3 id=\"mm-eval\">From mm-eval --format json</h3>\n", fp);
    for (size_t i = 0; i < n; i++) {
        const report_evaljson *e = &files[i];
        fputs("<p class=\"note\">", fp);
        html_text(fp, e->path);
        if (e->compare) {
            fputs(": ", fp);
            html_text(fp, e->run_b);
            fputs(" against ", fp);
            html_text(fp, e->run);
            fputs("</p>\n<table class=\"evaljson\"><thead><tr><th class=\"t\">measure</th><th>mean (a)</th>"
                  "<th>mean (b)</th><th>b − a</th><th>interval</th><th>p (randomisation)</th>"
                  "<th>p (t-test)</th></tr></thead><tbody>\n",
                  fp);
        } else {
            fputs(": ", fp);
            html_text(fp, e->run);
            fputs("</p>\n<table class=\"evaljson\"><thead><tr><th class=\"t\">measure</th><th>value</th>", fp);
            if (isfinite(e->ci_level)) fprintf(fp, "<th>%.0f%% interval</th>", e->ci_level * 100);
            fputs("</tr></thead><tbody>\n", fp);
        }
        for (size_t r = 0; r < e->count; r++) {
            const report_eval_row *w = &e->rows[r];
            fputs("<tr><td class=\"t\">", fp);
            html_text(fp, w->measure);
            fputs("</td>", fp);
            if (e->compare) {
                cell(fp, w->mean_a, "%.4f");
                cell(fp, w->mean_b, "%.4f");
                cell(fp, w->diff, "%+.4f");
            } else {
                cell(fp, w->value, "%.4f");
            }
            if (e->compare || isfinite(e->ci_level)) {
                fputs("<td>", fp);
                if (isfinite(w->lo) && isfinite(w->hi)) fprintf(fp, "[%.4f, %.4f]", w->lo, w->hi);
                else fputs("–", fp);
                fputs("</td>", fp);
            }
            if (e->compare) {
                cell(fp, w->p_perm, "%.3g");
                cell(fp, w->p_t, "%.3g");
            }
            fputs("</tr>\n", fp);
        }
        fputs("</tbody></table>\n", fp);
    }
}

void report_evaljson_free(report_evaljson *e)
{
    for (size_t i = 0; i < e->count; i++) free(e->rows[i].measure);
    free(e->rows);
    free(e->path);
    free(e->run);
    free(e->run_b);
    memset(e, 0, sizeof *e);
}
