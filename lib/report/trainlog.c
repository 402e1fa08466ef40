/* trainlog.c — see trainlog.h. */
#include "report/trainlog.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "report/html.h"
#include "report/svg.h"

static void add(report_trainlog *t, const char *task, const char *key, double x, double y)
{
    if (t->count == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->pt = xrealloc(t->pt, t->cap * sizeof *t->pt);
    }
    t->pt[t->count++] = (report_train_point){xstrdup(task), xstrdup(key), x, y};
}

int report_trainlog_load(report_trainlog *t, const char *path, mm_error *err)
{
    memset(t, 0, sizeof *t);
    t->path = xstrdup(path);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
        report_trainlog_free(t);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, ln = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        ln++;
        if (strspn(line, " \t\r\n") == (size_t)len) continue;
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        if (!o || !json_is_object(o)) {
            mm_fail(err, MM_ERR_MALFORMED, "%s:%zu: %s", path, ln,
                    o ? "expected a JSON object" : je.text);
            json_decref(o);
            rc = -1;
            break;
        }
        json_t *e = json_object_get(o, "epoch"), *tk = json_object_get(o, "task");
        double x = json_is_number(e) ? json_number_value(e) : (double)ln;
        const char *task = json_is_string(tk) ? json_string_value(tk) : "train";
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v)
        {
            if (!json_is_number(v) || strcmp(key, "epoch") == 0 || strcmp(key, "step") == 0)
                continue;
            add(t, task, key, x, json_number_value(v));
        }
        json_decref(o);
    }
    free(line);
    fclose(fp);
    if (rc < 0) report_trainlog_free(t);
    return rc;
}

/* One chart for task: the keys for which is_loss(key) == loss. */
static void chart(FILE *fp, const report_trainlog *t, const char *task, bool loss)
{
    const char *keys[16];
    size_t nk = 0;
    for (size_t i = 0; i < t->count; i++) {
        const report_train_point *p = &t->pt[i];
        if (strcmp(p->task, task) != 0 || (strstr(p->key, "loss") != NULL) != loss) continue;
        size_t k = 0;
        while (k < nk && strcmp(keys[k], p->key) != 0) k++;
        if (k == nk && nk < 16) keys[nk++] = p->key;
    }
    if (!nk) return;
    svg_series s[16];
    double *xs = xmalloc((t->count + 1) * nk * sizeof *xs);
    double *ys = xmalloc((t->count + 1) * nk * sizeof *ys);
    for (size_t k = 0; k < nk; k++) {
        size_t n = 0;
        double *x = xs + k * t->count, *y = ys + k * t->count;
        for (size_t i = 0; i < t->count; i++)
            if (strcmp(t->pt[i].task, task) == 0 && strcmp(t->pt[i].key, keys[k]) == 0) {
                x[n] = t->pt[i].x;
                y[n++] = t->pt[i].y;
            }
        s[k] = (svg_series){keys[k], x, y, n};
    }
    char title[256];
    snprintf(title, sizeof title, "%s: %s", task, loss ? "loss" : "validation");
    svg_line_chart(fp, title, "epoch", loss ? "loss" : "value", s, nk, 0, 0);
    free(xs);
    free(ys);
}

void report_trainlog_write(FILE *fp, const report_trainlog *t)
{
    fputs("<h2 class=\"training\">Training: ", fp);
    html_text(fp, t->path);
    fputs("</h2>\n", fp);
    if (!t->count) fputs("<p class=\"note\">no numeric fields in the log.</p>\n", fp);
    for (size_t i = 0; i < t->count; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = strcmp(t->pt[j].task, t->pt[i].task) == 0;
        if (seen) continue;
        chart(fp, t, t->pt[i].task, true);
        chart(fp, t, t->pt[i].task, false);
    }
}

void report_trainlog_free(report_trainlog *t)
{
    for (size_t i = 0; i < t->count; i++) {
        free(t->pt[i].task);
        free(t->pt[i].key);
    }
    free(t->pt);
    free(t->path);
    memset(t, 0, sizeof *t);
}
