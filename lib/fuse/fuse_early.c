/* fuse_early.c — early fusion of feature files (see fuse.h): the vector
 * arithmetic, the output header, the id join of MMF inputs and the aligned
 * (streaming) path. */
#include "fuse/fuse.h"
#include "fuse/fuse_internal.h"

#include "core/hash.h"
#include "core/vec.h"
#include "core/xalloc.h"
#include "io/featio.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- vector arithmetic ------------------------------------------------------------ */

uint32_t fuse_output_dim(int method, const uint32_t *dims, const char *const *names, size_t n,
                         mm_error *err)
{
    if (n == 0) {
        mm_fail(err, MM_ERR_MALFORMED, "no inputs");
        return 0;
    }
    if (method == FUSE_CONCAT) {
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) total += dims[i];
        if (total > MMF_MAX_DIM) {
            mm_fail(err, MM_ERR_LIMIT, "concat: dimension %llu exceeds the MMF limit %u",
                    (unsigned long long)total, MMF_MAX_DIM);
            return 0;
        }
        return (uint32_t)total;
    }
    for (size_t i = 1; i < n; i++)
        if (dims[i] != dims[0]) {
            mm_fail(err, MM_ERR_MISMATCH,
                    "%s: dimension %u differs from %s's %u (method %s needs equal dimensions; "
                    "concat accepts different ones)",
                    names[i], dims[i], names[0], dims[0], fuse_method_name(method));
            return 0;
        }
    return dims[0];
}

void fuse_combine(int method, const double *w, const float *const *vecs, const uint32_t *dims,
                  size_t n, double *out)
{
    if (method == FUSE_CONCAT) {
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            double wi = weight_of(w, i);
            for (uint32_t j = 0; j < dims[i]; j++) out[at + j] = wi * (double)vecs[i][j];
            at += dims[i];
        }
        return;
    }
    uint32_t d = dims[0];
    switch (method) {
    case FUSE_MEAN:
    case FUSE_SUM:
    case FUSE_WSUM: {
        for (uint32_t j = 0; j < d; j++) out[j] = 0.0;
        double wsum = 0.0;
        for (size_t i = 0; i < n; i++) {
            double wi = weight_of(w, i);
            wsum += wi;
            for (uint32_t j = 0; j < d; j++) out[j] += wi * (double)vecs[i][j];
        }
        if (method == FUSE_MEAN)
            for (uint32_t j = 0; j < d; j++) out[j] /= wsum;
        break;
    }
    case FUSE_PRODUCT:
        for (uint32_t j = 0; j < d; j++) out[j] = 1.0;
        for (size_t i = 0; i < n; i++)
            for (uint32_t j = 0; j < d; j++) out[j] *= (double)vecs[i][j];
        break;
    case FUSE_MAX:
        for (uint32_t j = 0; j < d; j++) out[j] = weight_of(w, 0) * (double)vecs[0][j];
        for (size_t i = 1; i < n; i++) {
            double wi = weight_of(w, i);
            for (uint32_t j = 0; j < d; j++) {
                double v = wi * (double)vecs[i][j];
                if (v > out[j]) out[j] = v;
            }
        }
        break;
    default:
        for (uint32_t j = 0; j < d; j++) out[j] = 0.0;
    }
}

void fuse_zscore_stats(const float *data, size_t rows, uint32_t dim, double *mean,
                       double *inv_std)
{
    for (uint32_t j = 0; j < dim; j++) mean[j] = inv_std[j] = 0.0;
    if (rows == 0) return;
    for (size_t r = 0; r < rows; r++)
        for (uint32_t j = 0; j < dim; j++) mean[j] += data[r * dim + j];
    for (uint32_t j = 0; j < dim; j++) mean[j] /= (double)rows;
    /* two-pass variance: exact enough and free of the cancellation of E[x^2]-E[x]^2 */
    for (size_t r = 0; r < rows; r++)
        for (uint32_t j = 0; j < dim; j++) {
            double c = data[r * dim + j] - mean[j];
            inv_std[j] += c * c;
        }
    for (uint32_t j = 0; j < dim; j++) {
        double var = inv_std[j] / (double)rows;
        inv_std[j] = var > 0.0 ? 1.0 / sqrt(var) : 0.0;
    }
}

static void zscore_apply(float *data, size_t rows, uint32_t dim, const double *mean,
                         const double *inv_std)
{
    for (size_t r = 0; r < rows; r++)
        for (uint32_t j = 0; j < dim; j++)
            data[r * dim + j] = (float)((data[r * dim + j] - mean[j]) * inv_std[j]);
}

/* Rounds the fused doubles to float, failing on overflow (finite double, infinite float). */
static int to_float(const double *in, float *out, size_t n, const char *id, mm_error *err)
{
    for (size_t j = 0; j < n; j++) {
        if (!(fabs(in[j]) <= FLT_MAX))
            return mm_fail(err, MM_ERR_LIMIT,
                           "id '%s': fused element %zu is %g, not representable as float32", id,
                           j + 1, in[j]);
        out[j] = (float)in[j];
    }
    return 0;
}

static int check_finite(const float *v, uint32_t dim, const char *name, uint64_t record,
                        const char *id, mm_error *err)
{
    for (uint32_t j = 0; j < dim; j++)
        if (!isfinite(v[j]))
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s: record %llu (id '%s'): element %u is not finite (%g)", name,
                           (unsigned long long)record, id, j + 1, (double)v[j]);
    return 0;
}

/* Per-input metadata items are written for the first FUSE_META_INPUTS inputs:
 * four items each keep the header within MMF_MAX_META_ITEMS. */
#define FUSE_META_INPUTS 48

/* ---- output header ------------------------------------------------------------------- */
static void format_weight(char *buf, size_t size, double w)
{
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, size, "%.*g", p, w);
        if (strtod(buf, NULL) == w) return;
    }
}

static void build_header(mmf_header *h, const fuse_params *p, uint32_t dim,
                         const char *const *names, const mmf_header *const *in, size_t n,
                         const char *group_spec)
{
    mmf_header_init(h, dim, p->dtype ? p->dtype : MMF_F32,
                    p->output_norm == FUSE_VNORM_L2 ? MMF_FLAG_NORMALIZED : 0);
    char buf[256];
    if (p->producer) mmf_header_set(h, "producer", p->producer);
    mmf_header_set(h, "modality", "fused");
    /* model: kept when every input has the same one, else "m1+m2+..." ("?" for
     * an input without one); absent when no input names its model */
    size_t mlen = 1, with_model = 0;
    bool same = true;
    const char *m0 = mmf_header_get(in[0], "model");
    for (size_t i = 0; i < n; i++) {
        const char *m = mmf_header_get(in[i], "model");
        mlen += (m ? strlen(m) : 1) + 1;
        with_model += m != NULL;
        if (!m || !m0 || strcmp(m, m0) != 0) same = false;
    }
    if (same) {
        mmf_header_set(h, "model", m0);
    } else if (with_model) {
        char *model = xmalloc(mlen);
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            const char *m = mmf_header_get(in[i], "model");
            at += (size_t)sprintf(model + at, "%s%s", i ? "+" : "", m ? m : "?");
        }
        mmf_header_set(h, "model", model);
        free(model);
    }
    mmf_header_set(h, "fusion.method", fuse_method_name(p->method));
    size_t wlen;
    char *weights = xmalloc(n * 32 + 1);
    weights[0] = 0;
    wlen = 0;
    for (size_t i = 0; i < n; i++) {
        format_weight(buf, sizeof buf, weight_of(p->weights, i));
        wlen += (size_t)sprintf(weights + wlen, "%s%s", i ? "," : "", buf);
    }
    mmf_header_set(h, "fusion.weights", weights);
    free(weights);
    mmf_header_set(h, "fusion.input_norm", fuse_vnorm_name(p->input_norm));
    mmf_header_set(h, "fusion.normalize", fuse_vnorm_name(p->output_norm));
    mmf_header_set(h, "fusion.mode", p->aligned ? "aligned" : "join");
    if (!p->aligned) mmf_header_set(h, "fusion.missing", fuse_missing_name(p->missing));
    if (group_spec) mmf_header_set(h, "fusion.group_by", group_spec);
    snprintf(buf, sizeof buf, "%zu", n);
    mmf_header_set(h, "fusion.inputs", buf);
    for (size_t i = 0; i < n && i < FUSE_META_INPUTS; i++) {
        char key[64];
        snprintf(key, sizeof key, "fusion.input.%zu", i + 1);
        mmf_header_set(h, key, names[i]);
        const char *m = mmf_header_get(in[i], "model");
        if (m) {
            snprintf(key, sizeof key, "fusion.input.%zu.model", i + 1);
            mmf_header_set(h, key, m);
        }
        const char *mod = mmf_header_get(in[i], "modality");
        if (mod) {
            snprintf(key, sizeof key, "fusion.input.%zu.modality", i + 1);
            mmf_header_set(h, key, mod);
        }
        snprintf(key, sizeof key, "fusion.input.%zu.dim", i + 1);
        snprintf(buf, sizeof buf, "%u", in[i]->dim);
        mmf_header_set(h, key, buf);
    }
}

static void group_spec_text(const fuse_group_rule *g, char *buf, size_t size)
{
    switch (g->kind) {
    case FUSE_GROUP_SUFFIX: snprintf(buf, size, "suffix:%s", g->sep); break;
    case FUSE_GROUP_HEAD: snprintf(buf, size, "head:%s", g->sep); break;
    case FUSE_GROUP_PREFIX: snprintf(buf, size, "prefix:%zu", g->n); break;
    case FUSE_GROUP_ID: snprintf(buf, size, "id"); break;
    default: buf[0] = 0;
    }
}

static int check_params(const fuse_params *p, size_t n, mm_error *err)
{
    if (p->method < FUSE_CONCAT || p->method > FUSE_MAX)
        return mm_fail(err, MM_ERR_MALFORMED, "unknown early-fusion method");
    if (p->weights && p->weight_count != n)
        return mm_fail(err, MM_ERR_MISMATCH, "%zu weights for %zu inputs", p->weight_count, n);
    if (p->weights && p->method == FUSE_PRODUCT)
        return mm_fail(err, MM_ERR_MALFORMED, "product takes no weights");
    if (!p->weights && p->method == FUSE_WSUM)
        return mm_fail(err, MM_ERR_MALFORMED, "wsum needs weights (--weights w1,w2,...)");
    if (p->method == FUSE_MEAN) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) s += weight_of(p->weights, i);
        if (s == 0.0)
            return mm_fail(err, MM_ERR_MALFORMED, "mean: the weights sum to 0");
    }
    if (p->aligned && (p->input_norm == FUSE_VNORM_ZSCORE || p->output_norm == FUSE_VNORM_ZSCORE))
        return mm_fail(err, MM_ERR_UNSUPPORTED,
                       "zscore needs statistics over the whole input: not available with "
                       "--aligned streaming");
    return 0;
}

/* ---- join mode --------------------------------------------------------------------- */
typedef struct joined_input {
    const char *name;
    mmf_matrix m;
    size_t groups;     /* distinct keys */
    float *vec;        /* groups × dim (m.data itself when no grouping) */
    bool own_vec;
    mm_strmap map;     /* key -> group */
} joined_input;

static void joined_free(joined_input *in)
{
    if (in->own_vec) free(in->vec);
    mm_strmap_free(&in->map);
    mmf_matrix_free(&in->m);
}

/* Loads, checks, normalises and groups one input. */
static int joined_load(joined_input *in, const char *path, const fuse_params *p, mm_error *err)
{
    memset(in, 0, sizeof *in);
    in->name = (path && strcmp(path, "-") != 0) ? path : "(stdin)";
    /* MMF, or any format featio reads (TSV id<TAB>values, .npy with row
     * numbers as ids), by extension or by the first byte */
    if (feat_load(path, FEAT_UNKNOWN, NULL, &in->m, err)) return -1;
    mmf_matrix *m = &in->m;
    uint32_t d = m->dim;
    for (size_t i = 0; i < m->rows; i++)
        if (check_finite(m->data + i * d, d, in->name, i + 1, m->ids[i], err)) return -1;
    if (p->input_norm == FUSE_VNORM_L2) {
        for (size_t i = 0; i < m->rows; i++) vec_l2_normalize(m->data + i * d, d);
    } else if (p->input_norm == FUSE_VNORM_ZSCORE) {
        double *mean = xmalloc(((size_t)d * 2 + 1) * sizeof *mean);
        fuse_zscore_stats(m->data, m->rows, d, mean, mean + d);
        zscore_apply(m->data, m->rows, d, mean, mean + d);
        free(mean);
    }
    mm_strmap_init(&in->map, m->rows);
    char rule[96];
    group_spec_text(&p->group, rule, sizeof rule);
    if (p->group.kind == FUSE_GROUP_NONE) {
        for (size_t i = 0; i < m->rows; i++) {
            bool added;
            long g = mm_strmap_add(&in->map, m->ids[i], strlen(m->ids[i]), &added);
            if (g < 0) return mm_fail(err, MM_ERR_LIMIT, "%s: more than %u ids", in->name, UINT32_MAX - 2);
            if (!added)
                return mm_fail(err, MM_ERR_MISMATCH,
                               "%s: record %zu: duplicate id '%s' (also record %ld); "
                               "--group-by id averages records that share an id",
                               in->name, i + 1, m->ids[i], g + 1);
        }
        in->groups = m->rows;
        in->vec = m->data;
        return 0;
    }
    /* grouping: mean of the records of each key, accumulated in double */
    /* sized by the matrix already in memory, so xalloc */
    size_t *group_of = xmalloc((m->rows ? m->rows : 1) * sizeof *group_of);
    for (size_t i = 0; i < m->rows; i++) {
        size_t len = strlen(m->ids[i]);
        size_t klen = fuse_group_key_len(&p->group, m->ids[i], len);
        if (klen == 0) {
            free(group_of);
            return mm_fail(err, MM_ERR_MALFORMED,
                           "%s: record %zu: id '%s' gives an empty group key under --group-by %s",
                           in->name, i + 1, m->ids[i], rule);
        }
        bool added;
        long g = mm_strmap_add(&in->map, m->ids[i], klen, &added);
        if (g < 0) {
            free(group_of);
            return mm_fail(err, MM_ERR_LIMIT, "%s: more than %u ids", in->name, UINT32_MAX - 2);
        }
        group_of[i] = (size_t)g;
    }
    in->groups = in->map.count;
    double *sum = xcalloc(in->groups * d + 1, sizeof *sum);
    size_t *count = xcalloc(in->groups + 1, sizeof *count);
    in->vec = xmalloc((in->groups * d + 1) * sizeof *in->vec);
    in->own_vec = true;
    for (size_t i = 0; i < m->rows; i++) {
        double *s = sum + group_of[i] * d;
        const float *x = m->data + i * d;
        for (uint32_t j = 0; j < d; j++) s[j] += x[j];
        count[group_of[i]]++;
    }
    for (size_t g = 0; g < in->groups; g++)
        for (uint32_t j = 0; j < d; j++)
            in->vec[g * d + j] = (float)(sum[g * d + j] / (double)count[g]);
    free(sum);
    free(count);
    free(group_of);
    return 0;
}

/* One output row: the key and, per input, its group index or -1 (missing). */
typedef struct join_row {
    const char *key;
    size_t key_len;
    long *group; /* n entries, in a shared array */
} join_row;

static char *key_string(const char *key, size_t len)
{
    char *s = xmalloc(len + 1);
    memcpy(s, key, len);
    s[len] = 0;
    return s;
}

static int fuse_join(const char *const *paths, size_t n, const fuse_params *p, FILE *out,
                     const char *out_name, uint64_t *written, mm_error *err)
{
    int rc = -1;
    joined_input *in = xcalloc(n, sizeof *in);
    uint32_t *dims = xcalloc(n, sizeof *dims);
    const char **names = xcalloc(n, sizeof *names);
    const mmf_header **headers = xcalloc(n, sizeof *headers);
    join_row *rows = NULL;
    long *groups = NULL;
    float **vecs = xcalloc(n, sizeof *vecs);
    float *zero = NULL, *fused = NULL, *outbuf = NULL;
    double *acc = NULL, *zstats = NULL;
    mmf_writer *w = NULL;
    mmf_header h = {0};
    size_t nrows = 0, cap = 0;

    for (size_t i = 0; i < n; i++) {
        if (joined_load(&in[i], paths[i], p, err)) goto done;
        if (in[i].groups == 0) {
            mm_fail(err, MM_ERR_MISMATCH, "%s: no records: nothing to fuse", in[i].name);
            goto done;
        }
        dims[i] = in[i].m.dim;
        names[i] = in[i].name;
        headers[i] = &in[i].m.header;
    }
    uint32_t od = fuse_output_dim(p->method, dims, names, n, err);
    if (!od) goto done;

    /* the output keys: input 1's keys in order, then (--missing zero) the keys
     * first seen in input 2, 3, ...; a key absent from some input is an error
     * (naming it and that input), dropped (skip) or a zero vector (zero) */
    for (size_t i = 0; i < n; i++) cap += in[i].groups;
    rows = xmalloc((cap + 1) * sizeof *rows);
    groups = xmalloc((cap * n + 1) * sizeof *groups);
    for (size_t src = 0; src < n; src++) {
        for (size_t g = 0; g < in[src].groups; g++) {
            const char *key = in[src].map.key[g];
            size_t klen = in[src].map.len[g];
            /* already emitted from an earlier input? */
            bool seen = false;
            for (size_t e = 0; e < src && !seen; e++) seen = mm_strmap_find(&in[e].map, key, klen) >= 0;
            if (seen) continue;
            long *gi = groups + nrows * n;
            bool complete = true;
            for (size_t i = 0; i < n; i++) {
                gi[i] = i == src ? (long)g : mm_strmap_find(&in[i].map, key, klen);
                if (gi[i] < 0) {
                    complete = false;
                    if (p->missing == FUSE_MISSING_ERROR) {
                        char *k = key_string(key, klen);
                        mm_fail(err, MM_ERR_MISMATCH,
                                "%s: id '%s' (present in %s) is missing; --missing skip drops "
                                "such ids, --missing zero uses zeros",
                                in[i].name, k ? k : "?", in[src].name);
                        free(k);
                        goto done;
                    }
                }
            }
            if (!complete && p->missing == FUSE_MISSING_SKIP) continue;
            rows[nrows].key = key;
            rows[nrows].key_len = klen;
            rows[nrows].group = gi;
            nrows++;
        }
        if (p->missing != FUSE_MISSING_ZERO) break; /* later inputs add no keys */
    }
    if (p->missing == FUSE_MISSING_ERROR)
        /* keys of later inputs absent from input 1 */
        for (size_t src = 1; src < n; src++)
            for (size_t g = 0; g < in[src].groups; g++)
                if (mm_strmap_find(&in[0].map, in[src].map.key[g], in[src].map.len[g]) < 0) {
                    char *k = key_string(in[src].map.key[g], in[src].map.len[g]);
                    mm_fail(err, MM_ERR_MISMATCH,
                            "%s: id '%s' (present in %s) is missing; --missing skip drops "
                            "such ids, --missing zero uses zeros",
                            in[0].name, k ? k : "?", in[src].name);
                    free(k);
                    goto done;
                }
    if (nrows == 0) {
        mm_fail(err, MM_ERR_MISMATCH, "no id is present in every input: nothing to write");
        goto done;
    }

    uint32_t maxd = od;
    zero = xcalloc(maxd, sizeof *zero);
    acc = xmalloc(od * sizeof *acc);
    fused = xmalloc(od * sizeof *fused);
    if (p->output_norm == FUSE_VNORM_ZSCORE) {
        outbuf = xmalloc(nrows * (size_t)od * sizeof *outbuf);
        zstats = xmalloc(2 * (size_t)od * sizeof *zstats);
    }
    char spec[96];
    group_spec_text(&p->group, spec, sizeof spec);
    build_header(&h, p, od, names, headers, n, p->group.kind ? spec : NULL);
    /* two passes over the rows: the first only checks (zero vector under l2,
     * float overflow), so that a failure leaves the output untouched; the
     * second writes. Combining twice costs less than holding the output. */
    char *key = NULL;
    for (int pass = outbuf ? 1 : 0; pass < 2; pass++)
        for (size_t r = 0; r < nrows; r++) {
            for (size_t i = 0; i < n; i++)
                vecs[i] = rows[r].group[i] >= 0 ? in[i].vec + (size_t)rows[r].group[i] * dims[i]
                                                : zero;
            fuse_combine(p->method, p->weights, (const float *const *)vecs, dims, n, acc);
            free(key);
            key = key_string(rows[r].key, rows[r].key_len);
            if (p->output_norm == FUSE_VNORM_L2 && !vec_l2_normalize_f64(acc, od)) {
                mm_fail(err, MM_ERR_MALFORMED,
                        "id '%s': the fused vector is zero and cannot be L2-normalised", key);
                free(key);
                goto done;
            }
            float *dst = outbuf ? outbuf + r * od : fused;
            if (to_float(acc, dst, od, key, err)) {
                free(key);
                goto done;
            }
            if (outbuf || pass == 0) continue;
            if (!w && !(w = mmf_writer_open(out, out_name, &h, err))) {
                free(key);
                goto done;
            }
            if (mmf_write(w, key, rows[r].key_len, dst, err)) {
                free(key);
                goto done;
            }
        }
    free(key);
    if (outbuf) {
        fuse_zscore_stats(outbuf, nrows, od, zstats, zstats + od);
        zscore_apply(outbuf, nrows, od, zstats, zstats + od);
        if (!(w = mmf_writer_open(out, out_name, &h, err))) goto done;
        for (size_t r = 0; r < nrows; r++) {
            char *k = key_string(rows[r].key, rows[r].key_len);
            int wr = mmf_write(w, k, rows[r].key_len, outbuf + r * od, err);
            free(k);
            if (wr) goto done;
        }
    }
    *written = mmf_writer_count(w);
    /* close owns the writer whatever it returns */
    rc = mmf_writer_close(w, err) ? -1 : 0;
    w = NULL;
done:
    if (w) {
        mm_error ignored;
        mmf_writer_close(w, &ignored);
    }
    mmf_header_free(&h);
    if (in)
        for (size_t i = 0; i < n; i++) joined_free(&in[i]);
    free(in);
    free(dims);
    free(names);
    free(headers);
    free(rows);
    free(groups);
    free(vecs);
    free(zero);
    free(fused);
    free(outbuf);
    free(acc);
    free(zstats);
    return rc;
}

/* ---- aligned (streaming) mode ---------------------------------------------------------
 * Records are fused row by row, like paste(1): the i-th record of every input
 * must carry the same id. Memory is O(sum of dims) whatever the input sizes.
 * With --group-by, consecutive rows whose keys (of the first input's ids) are
 * equal form a group; each input is averaged over the group, then combined. */
typedef struct aligned_state {
    size_t n;
    uint32_t *dims;
    double **sum;    /* per input, the group accumulator */
    float **vec;     /* per input, the group mean / the row after normalisation */
    double *acc;
    float *fused;
    uint32_t od;
    size_t group_rows;
    char *key;
    size_t key_len, key_cap;
} aligned_state;

static int aligned_flush(aligned_state *s, const fuse_params *p, mmf_writer *w, mm_error *err)
{
    for (size_t i = 0; i < s->n; i++)
        for (uint32_t j = 0; j < s->dims[i]; j++)
            s->vec[i][j] = (float)(s->sum[i][j] / (double)s->group_rows);
    fuse_combine(p->method, p->weights, (const float *const *)s->vec, s->dims, s->n, s->acc);
    if (p->output_norm == FUSE_VNORM_L2 && !vec_l2_normalize_f64(s->acc, s->od))
        return mm_fail(err, MM_ERR_MALFORMED,
                       "id '%s': the fused vector is zero and cannot be L2-normalised", s->key);
    if (to_float(s->acc, s->fused, s->od, s->key, err)) return -1;
    s->group_rows = 0;
    return mmf_write(w, s->key, s->key_len, s->fused, err);
}

static int fuse_aligned(const char *const *paths, size_t n, const fuse_params *p, FILE *out,
                        const char *out_name, uint64_t *written, mm_error *err)
{
    int rc = -1;
    mmf_reader **r = xcalloc(n, sizeof *r);
    const char **names = xcalloc(n, sizeof *names);
    const mmf_header **headers = xcalloc(n, sizeof *headers);
    mmf_record *rec = xcalloc(n, sizeof *rec);
    aligned_state s = {0};
    s.n = n;
    s.dims = xcalloc(n, sizeof *s.dims);
    s.sum = xcalloc(n, sizeof *s.sum);
    s.vec = xcalloc(n, sizeof *s.vec);
    mmf_header h = {0};
    mmf_writer *w = NULL;
    uint64_t row = 0;
    for (size_t i = 0; i < n; i++) {
        names[i] = (paths[i] && strcmp(paths[i], "-") != 0) ? paths[i] : "(stdin)";
        if (!(r[i] = mmf_open(paths[i], err))) goto done;
        if (mmf_peek_header(r[i], err) < 0) goto done;
        headers[i] = mmf_header_of(r[i]);
        s.dims[i] = headers[i]->dim;
    }
    if (!(s.od = fuse_output_dim(p->method, s.dims, names, n, err))) goto done;
    for (size_t i = 0; i < n; i++) {
        s.sum[i] = xcalloc(s.dims[i], sizeof **s.sum);
        s.vec[i] = xcalloc(s.dims[i], sizeof **s.vec);
    }
    s.acc = xmalloc(s.od * sizeof *s.acc);
    s.fused = xmalloc(s.od * sizeof *s.fused);
    {
        char spec[96];
        group_spec_text(&p->group, spec, sizeof spec);
        build_header(&h, p, s.od, names, headers, n, p->group.kind ? spec : NULL);
    }
    if (!(w = mmf_writer_open(out, out_name, &h, err))) goto done;
    for (;;) {
        int rc0 = mmf_next(r[0], &rec[0], err);
        if (rc0 < 0) goto done;
        for (size_t i = 1; i < n; i++) {
            int rci = mmf_next(r[i], &rec[i], err);
            if (rci < 0) goto done;
            if (rci != rc0) {
                mm_fail(err, MM_ERR_MISMATCH,
                        "%s: %s after %llu records, while %s %s (inputs are not aligned; "
                        "drop --aligned to join by id)",
                        names[i], rci ? "has more records" : "ends",
                        (unsigned long long)row, names[0], rc0 ? "has more" : "ends there");
                goto done;
            }
            if (rc0 && (rec[i].id_len != rec[0].id_len ||
                        memcmp(rec[i].id, rec[0].id, rec[0].id_len) != 0)) {
                mm_fail(err, MM_ERR_MISMATCH,
                        "%s: record %llu: id '%s' differs from %s's '%s' (inputs are not "
                        "aligned; drop --aligned to join by id)",
                        names[i], (unsigned long long)row + 1, rec[i].id, names[0], rec[0].id);
                goto done;
            }
        }
        if (rc0 == 0) break;
        row++;
        size_t klen = rec[0].id_len;
        if (p->group.kind != FUSE_GROUP_NONE) {
            klen = fuse_group_key_len(&p->group, rec[0].id, rec[0].id_len);
            if (klen == 0) {
                char spec[96];
                group_spec_text(&p->group, spec, sizeof spec);
                mm_fail(err, MM_ERR_MALFORMED,
                        "%s: record %llu: id '%s' gives an empty group key under --group-by %s",
                        names[0], (unsigned long long)row, rec[0].id, spec);
                goto done;
            }
        }
        bool same_group = s.group_rows > 0 && p->group.kind != FUSE_GROUP_NONE &&
                          klen == s.key_len && memcmp(rec[0].id, s.key, klen) == 0;
        if (s.group_rows > 0 && !same_group && aligned_flush(&s, p, w, err)) goto done;
        if (!same_group) {
            if (klen + 1 > s.key_cap) {
                s.key = xrealloc(s.key, klen + 1);
                s.key_cap = klen + 1;
            }
            memcpy(s.key, rec[0].id, klen);
            s.key[klen] = 0;
            s.key_len = klen;
            for (size_t i = 0; i < n; i++) memset(s.sum[i], 0, s.dims[i] * sizeof **s.sum);
        }
        for (size_t i = 0; i < n; i++) {
            if (check_finite(rec[i].vec, s.dims[i], names[i], row, rec[i].id, err)) goto done;
            memcpy(s.vec[i], rec[i].vec, s.dims[i] * sizeof(float));
            if (p->input_norm == FUSE_VNORM_L2) vec_l2_normalize(s.vec[i], s.dims[i]);
            for (uint32_t j = 0; j < s.dims[i]; j++) s.sum[i][j] += s.vec[i][j];
        }
        s.group_rows++;
    }
    if (s.group_rows > 0 && aligned_flush(&s, p, w, err)) goto done;
    if (row == 0) {
        mm_fail(err, MM_ERR_MISMATCH, "%s: no records: nothing to write", names[0]);
        goto done;
    }
    *written = mmf_writer_count(w);
    /* close owns the writer whatever it returns */
    rc = mmf_writer_close(w, err) ? -1 : 0;
    w = NULL;
done:
    if (w) {
        mm_error ignored;
        mmf_writer_close(w, &ignored);
    }
    mmf_header_free(&h);
    for (size_t i = 0; r && i < n; i++)
        if (r[i]) mmf_close(r[i]);
    for (size_t i = 0; i < n; i++) {
        if (s.sum) free(s.sum[i]);
        if (s.vec) free(s.vec[i]);
    }
    free(r);
    free(names);
    free(headers);
    free(rec);
    free(s.dims);
    free(s.sum);
    free(s.vec);
    free(s.acc);
    free(s.fused);
    free(s.key);
    return rc;
}

int fuse_features(const char *const *paths, size_t n, const fuse_params *p, FILE *out,
                  const char *out_name, uint64_t *written, mm_error *err)
{
    *written = 0;
    if (n == 0) return mm_fail(err, MM_ERR_MALFORMED, "no inputs");
    size_t from_stdin = 0;
    for (size_t i = 0; i < n; i++) from_stdin += !paths[i] || strcmp(paths[i], "-") == 0;
    if (from_stdin > 1)
        return mm_fail(err, MM_ERR_MALFORMED, "standard input (-) can be only one of the inputs");
    if (check_params(p, n, err)) return -1;
    return p->aligned ? fuse_aligned(paths, n, p, out, out_name, written, err)
                      : fuse_join(paths, n, p, out, out_name, written, err);
}
