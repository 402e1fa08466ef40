/* task.c — the tasks' losses, predictions and measures (see task.h). */
#include "nn/task.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "nn/layers.h"

static const char *const task_names[TASK_COUNT] = {"classification", "multilabel", "regression", "pair"};

int task_parse(const char *name)
{
    for (int i = 0; i < TASK_COUNT; i++)
        if (!strcmp(name, task_names[i])) return i;
    return -1;
}

const char *task_name(int task) { return task >= 0 && task < TASK_COUNT ? task_names[task] : "?"; }

int task_min_outputs(int task) { return task == TASK_CLASSIFY ? 2 : 1; }

/* pair: per group, p = softmax(s) over its rows; loss = -Σ t log p
 * = logsumexp(s) - Σ t s (Σ t = 1); d loss / d s = p - t. Mean over groups. */
static double pair_loss(const float *s, const task_batch *b, float scale, float *ds, float *p)
{
    double total = 0;
    int counted = 0;
    for (int g = 0, r0 = 0; g < b->nb; r0 += b->group[g], g++) {
        int n = b->group[g];
        if (n == 0) continue;
        softmax_forward(p + r0, s + r0, 1, n);
        float mx = s[r0];
        for (int r = 1; r < n; r++)
            if (s[r0 + r] > mx) mx = s[r0 + r];
        double z = 0, ts = 0;
        for (int r = 0; r < n; r++) z += exp((double)(s[r0 + r] - mx)), ts += (double)b->t[r0 + r] * s[r0 + r];
        total += mx + log(z) - ts;
        counted++;
    }
    if (!counted) return 0;
    if (ds)
        for (int g = 0, r0 = 0; g < b->nb; r0 += b->group[g], g++)
            for (int r = 0; r < b->group[g]; r++)
                ds[r0 + r] += scale * (p[r0 + r] - b->t[r0 + r]) / (float)counted;
    return total / counted;
}

double task_loss(int task, const float *logits, int V, const task_batch *b, float scale, float *dlogits,
                 float *scratch)
{
    size_t n = (size_t)b->rows * (size_t)V;
    switch (task) {
    case TASK_CLASSIFY: {
        double loss = crossentropy_forward(scratch, logits, b->y, b->nb, V);
        if (dlogits) crossentropy_backward(dlogits, scratch, b->y, b->nb, V, scale);
        return loss;
    }
    case TASK_MULTILABEL: {
        double loss = bce_forward(logits, b->t, n);
        if (dlogits) bce_backward(dlogits, logits, b->t, n, scale);
        return loss;
    }
    case TASK_REGRESSION: {
        double loss = mse_forward(logits, b->t, n);
        if (dlogits) mse_backward(dlogits, logits, b->t, n, scale);
        return loss;
    }
    default: return pair_loss(logits, b, scale, dlogits, scratch);
    }
}

void task_activate(int task, float *out, size_t rows, int V)
{
    if (task == TASK_CLASSIFY) {
        for (size_t r = 0; r < rows; r++) softmax_forward(out + r * (size_t)V, out + r * (size_t)V, 1, V);
    } else if (task == TASK_MULTILABEL) {
        for (size_t i = 0; i < rows * (size_t)V; i++) {
            float x = out[i];
            out[i] = x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x));
        }
    }
}

/* ---- measures ---------------------------------------------------------------- */
static const char *const measure_names[TASK_COUNT][TASK_MAX_MEASURES] = {
    {"loss", "acc", "bacc"}, {"loss", "map", NULL}, {"loss", "mae", NULL}, {"loss", "mrr", "r1"}};

int task_measure_count(int task)
{
    int m = 0;
    while (m < TASK_MAX_MEASURES && measure_names[task][m]) m++;
    return m;
}

const char *task_measure_name(int task, int m) { return measure_names[task][m]; }

int task_measure_parse(int task, const char *name)
{
    for (int m = 0; m < task_measure_count(task); m++)
        if (!strcmp(name, measure_names[task][m])) return m;
    return -1;
}

int task_measure_higher_better(int task, int m) { return !(m == 0 || (task == TASK_REGRESSION && m == 1)); }

int task_default_measure(int task) { return task == TASK_REGRESSION ? 0 : 1; }

/* Rank of row `target` among v[0..n) by value, descending; ties go to the
 * earlier row (as mm-predict orders them). 0-based. */
static int rank_of(const float *v, int n, int target)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (v[i] > v[target] || (v[i] == v[target] && i < target)) k++;
    return k;
}

static void classify_measures(const float *logits, int V, const task_batch *b, double *values)
{
    int n = b->nb;
    size_t *tot = xcalloc((size_t)V, sizeof *tot), *hit = xcalloc((size_t)V, sizeof *hit), right = 0;
    for (int i = 0; i < n; i++) {
        const float *x = logits + (size_t)i * V;
        int y = b->y[i];
        tot[y]++;
        if (rank_of(x, V, y) == 0) hit[y]++, right++;
    }
    double s = 0;
    int present = 0;
    for (int v = 0; v < V; v++)
        if (tot[v]) s += (double)hit[v] / (double)tot[v], present++;
    values[1] = n ? (double)right / n : NAN;
    values[2] = present ? s / present : NAN;
    free(tot);
    free(hit);
}

/* Average precision of the labels of one item ranked by output. */
static double item_ap(const float *x, const float *t, int V)
{
    int nrel = 0;
    for (int v = 0; v < V; v++) nrel += t[v] > 0.5f;
    if (!nrel) return NAN;
    double ap = 0;
    for (int v = 0; v < V; v++) {
        if (!(t[v] > 0.5f)) continue;
        int k = rank_of(x, V, v), above = 0; /* relevant labels ranked at or above v */
        for (int u = 0; u < V; u++)
            if (t[u] > 0.5f && rank_of(x, V, u) <= k) above++;
        ap += (double)above / (k + 1);
    }
    return ap / nrel;
}

void task_evaluate(int task, const float *logits, int V, const task_batch *b, double *values)
{
    size_t rows = (size_t)b->rows;
    float *scratch = xmalloc((rows ? rows : 1) * (size_t)V * sizeof(float));
    values[0] = task_loss(task, logits, V, b, 0, NULL, scratch);
    free(scratch);
    if (task == TASK_CLASSIFY) {
        classify_measures(logits, V, b, values);
    } else if (task == TASK_MULTILABEL) {
        double s = 0;
        int counted = 0;
        for (int i = 0; i < b->nb; i++) {
            double ap = item_ap(logits + (size_t)i * V, b->t + (size_t)i * V, V);
            if (!isnan(ap)) s += ap, counted++;
        }
        values[1] = counted ? s / counted : NAN;
    } else if (task == TASK_REGRESSION) {
        double s = 0;
        for (size_t i = 0; i < rows * (size_t)V; i++) s += fabs((double)logits[i] - b->t[i]);
        values[1] = rows ? s / ((double)rows * V) : NAN;
    } else {
        double rr = 0, top = 0;
        int counted = 0;
        for (int g = 0, r0 = 0; g < b->nb; r0 += b->group[g], g++) {
            int n = b->group[g], first = n;
            for (int r = 0; r < n; r++)
                if (b->t[r0 + r] > 0) {
                    int k = rank_of(logits + r0, n, r);
                    if (k < first) first = k;
                }
            if (first == n) continue;
            rr += 1.0 / (first + 1), top += first == 0, counted++;
        }
        values[1] = counted ? rr / counted : NAN;
        values[2] = counted ? top / counted : NAN;
    }
}
