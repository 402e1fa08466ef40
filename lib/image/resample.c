/* resample.c — see resample.h. */
#include "image/resample.h"

#include "kernels/cpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __clang__
/* Coefficients must be computed exactly as Pillow's C code does: no FMA. */
#pragma STDC FP_CONTRACT OFF
#endif

#if defined(__GNUC__) && !defined(__clang__)
/* GCC's -O2 vectorises only loops without an epilogue; the row loops of the
 * vertical pass need the full vectoriser. (No effect on results: integer
 * arithmetic, and -std=c11 keeps FP contraction off.) */
#pragma GCC optimize("O3")
#endif

#define PRECISION_BITS (32 - 8 - 2) /* Pillow's value for 8-bit images */


void preprocess_params_default(preprocess_params *p, int image_size)
{
    static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    static const float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    memset(p, 0, sizeof *p);
    if (image_size <= 0) image_size = 224;
    p->do_resize = true;
    p->shortest_edge = image_size;
    p->resample = PREPROCESS_BICUBIC;
    p->do_center_crop = true;
    p->crop_height = p->crop_width = image_size;
    p->do_rescale = true;
    p->rescale_factor = 1.0 / 255.0;
    p->do_normalize = true;
    memcpy(p->mean, mean, sizeof mean);
    memcpy(p->std, std, sizeof std);
}

void preprocess_resize_size(const preprocess_params *p, int in_w, int in_h, int *out_w,
                            int *out_h)
{
    if (!p->do_resize) {
        *out_w = in_w;
        *out_h = in_h;
        return;
    }
    if (p->shortest_edge <= 0) {
        *out_w = p->resize_width;
        *out_h = p->resize_height;
        return;
    }
    /* transformers.image_transforms.get_resize_output_image_size with
     * default_to_square=False: new_long = int(size * long / short), a
     * correctly rounded double division then truncation, as in Python. */
    long s = p->shortest_edge;
    int shorter = in_w <= in_h ? in_w : in_h, longer = in_w <= in_h ? in_h : in_w;
    double q = (double)(s * (long)longer) / (double)shorter;
    long new_long = q >= (double)INT32_MAX ? INT32_MAX : (long)q;
    if (in_w <= in_h) {
        *out_w = (int)s;
        *out_h = (int)new_long;
    } else {
        *out_w = (int)new_long;
        *out_h = (int)s;
    }
}

void preprocess_output_size(const preprocess_params *p, int in_w, int in_h, int *out_w,
                            int *out_h)
{
    if (p->do_center_crop) {
        *out_w = p->crop_width;
        *out_h = p->crop_height;
    } else {
        preprocess_resize_size(p, in_w, in_h, out_w, out_h);
    }
}

/* ---- Pillow's coefficient tables ----------------------------------------- */

struct resample_axis {
    int in_size, out_size, lo, hi; /* outputs [lo, hi) of a resize in_size -> out_size */
    int ksize;
    int src_lo, src_hi; /* input indices the outputs [lo, hi) read */
    int *bounds;    /* per output: first input index, number of taps */
    int32_t *coeff; /* per output: ksize fixed-point coefficients */
};

static void axis_free(struct resample_axis *a)
{
    if (!a) return;
    free(a->bounds);
    free(a->coeff);
    free(a);
}

void preprocess_scratch_free(preprocess_scratch *s)
{
    axis_free(s->hcache);
    axis_free(s->vcache);
    free(s->tmp);
    free(s->cols);
    free(s->cols_out);
    free(s->crop);
    free(s->acc);
    memset(s, 0, sizeof *s);
}

/* Keys cubic convolution, a = -0.5, written as libImaging's bicubic_filter. */
static inline double bicubic_filter(double x)
{
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* precompute_coeffs + normalize_coeffs_8bpc of libImaging/Resample.c for the
 * box (0, in_size), restricted to outputs [lo, hi). */
static struct resample_axis *axis_compute(int in_size, int out_size, int lo, int hi)
{
    const double support_of_filter = 2.0; /* bicubic */
    double scale = (double)((float)in_size - 0.0f) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = support_of_filter * filterscale;
    double ksize_d = ceil(support) * 2 + 1;
    if (ksize_d > 1e7 || hi <= lo) return NULL;
    int ksize = (int)ksize_d;
    int n = hi - lo;
    struct resample_axis *a = calloc(1, sizeof *a);
    double *k = malloc(sizeof(double) * (size_t)ksize);
    if (!a || !k) goto fail;
    a->bounds = malloc(sizeof(int) * 2 * (size_t)n);
    a->coeff = malloc(sizeof(int32_t) * (size_t)ksize * (size_t)n);
    if (!a->bounds || !a->coeff) goto fail;
    a->in_size = in_size;
    a->out_size = out_size;
    a->lo = lo;
    a->hi = hi;
    a->ksize = ksize;
    for (int xx = lo; xx < hi; xx++) {
        double center = 0.0f + (xx + 0.5) * scale;
        double ww = 0.0;
        double ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5); /* truncation, as Pillow */
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        if (xmax > ksize) xmax = ksize; /* cannot happen; keeps the table in bounds */
        if (xmax < 0) xmax = 0;
        int x;
        for (x = 0; x < xmax; x++) {
            double w = bicubic_filter((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++) {
            if (ww != 0.0) k[x] /= ww;
        }
        int32_t *kk = a->coeff + (size_t)(xx - lo) * ksize;
        for (x = 0; x < xmax; x++) {
            if (k[x] < 0) kk[x] = (int32_t)(-0.5 + k[x] * (1 << PRECISION_BITS));
            else kk[x] = (int32_t)(0.5 + k[x] * (1 << PRECISION_BITS));
        }
        for (; x < ksize; x++) kk[x] = 0;
        a->bounds[2 * (xx - lo)] = xmin;
        a->bounds[2 * (xx - lo) + 1] = xmax;
    }
    a->src_lo = in_size;
    a->src_hi = 0;
    for (int i = 0; i < n; i++) {
        if (a->bounds[2 * i] < a->src_lo) a->src_lo = a->bounds[2 * i];
        if (a->bounds[2 * i] + a->bounds[2 * i + 1] > a->src_hi)
            a->src_hi = a->bounds[2 * i] + a->bounds[2 * i + 1];
    }
    if (a->src_hi < a->src_lo) a->src_hi = a->src_lo;
    free(k);
    return a;
fail:
    free(k);
    axis_free(a);
    return NULL;
}

static struct resample_axis *axis_get(struct resample_axis **cache, int in_size, int out_size,
                                      int lo, int hi)
{
    struct resample_axis *c = *cache;
    if (c && c->in_size == in_size && c->out_size == out_size && c->lo == lo && c->hi == hi)
        return c;
    struct resample_axis *a = axis_compute(in_size, out_size, lo, hi);
    if (!a) return NULL;
    axis_free(c);
    *cache = a;
    return a;
}

static inline uint8_t clip8(int32_t in)
{
    if (in >= (1 << PRECISION_BITS << 8)) return 255;
    if (in <= 0) return 0;
    return (uint8_t)(in >> PRECISION_BITS);
}

static int grow(void **buf, size_t *cap, size_t n)
{
    if (*cap >= n && *buf) return 0;
    void *p = malloc(n ? n : 1);
    if (!p) return -1;
    free(*buf);
    *buf = p;
    *cap = n;
    return 0;
}

/* Vertical pass: output rows v->lo..v->hi from rows of `src` (row r of the
 * source is src + (r - src_row0) * src_stride, nbytes used per row). */
KERNEL_CLONES static void pass_vertical(const uint8_t *src, size_t src_stride, int src_row0, size_t nbytes,
                          const struct resample_axis *v, int32_t *restrict acc,
                          uint8_t *restrict out, size_t out_stride)
{
    const int ksize = v->ksize;
    for (int yy = v->lo; yy < v->hi; yy++) {
        const int32_t *k = v->coeff + (size_t)(yy - v->lo) * ksize;
        const int ymin = v->bounds[2 * (yy - v->lo)], n = v->bounds[2 * (yy - v->lo) + 1];
        for (size_t i = 0; i < nbytes; i++) acc[i] = 1 << (PRECISION_BITS - 1);
        for (int t = 0; t < n; t++) {
            const uint8_t *restrict row = src + (size_t)(ymin + t - src_row0) * src_stride;
            const int32_t kt = k[t];
            for (size_t i = 0; i < nbytes; i++) acc[i] += row[i] * kt;
        }
        uint8_t *o = out + (size_t)(yy - v->lo) * out_stride;
        for (size_t i = 0; i < nbytes; i++) o[i] = clip8(acc[i]);
    }
}

/* Rows [y0,y1) x columns [x0,x1) of an RGB image, column-major:
 * dst[((x-x0)*(y1-y0) + (y-y0))*3 + c]. Blocked by 16 rows for the cache. */
static void transpose_to_columns(const uint8_t *rgb, int in_w, int x0, int x1, int y0, int y1,
                                 uint8_t *restrict dst)
{
    const size_t cstride = (size_t)(y1 - y0) * 3, rstride = (size_t)in_w * 3;
    for (int yb = y0; yb < y1; yb += 16) {
        const int ye = yb + 16 < y1 ? yb + 16 : y1;
        for (int x = x0; x < x1; x++) {
            uint8_t *d = dst + (size_t)(x - x0) * cstride + (size_t)(yb - y0) * 3;
            const uint8_t *p = rgb + (size_t)yb * rstride + (size_t)x * 3;
            for (int y = yb; y < ye; y++, p += rstride, d += 3) {
                d[0] = p[0];
                d[1] = p[1];
                d[2] = p[2];
            }
        }
    }
}

/* The inverse: nx columns of nrows pixels into rows of out (stride bytes). */
static void transpose_to_rows(const uint8_t *col, int nx, int nrows, uint8_t *restrict out,
                              size_t out_stride)
{
    const size_t cstride = (size_t)nrows * 3;
    for (int yb = 0; yb < nrows; yb += 16) {
        const int ye = yb + 16 < nrows ? yb + 16 : nrows;
        for (int i = 0; i < nx; i++) {
            const uint8_t *p = col + (size_t)i * cstride + (size_t)yb * 3;
            uint8_t *d = out + (size_t)yb * out_stride + (size_t)i * 3;
            for (int y = yb; y < ye; y++, p += 3, d += out_stride) {
                d[0] = p[0];
                d[1] = p[1];
                d[2] = p[2];
            }
        }
    }
}

/* Horizontal pass over source rows [y0, y1): outputs h->lo..h->hi into dst
 * (rows of (hi-lo)*3 bytes, stride dst_stride). The same integer sums as
 * Pillow's horizontal pass, computed column by column on a transposed copy so
 * that each tap is one long vectorisable multiply-add over a whole column
 * (the 3-byte gather of a direct horizontal pass does not vectorise). */
static int pass_horizontal(const uint8_t *rgb, int in_w, int y0, int y1,
                           const struct resample_axis *h, preprocess_scratch *s, uint8_t *dst,
                           size_t dst_stride)
{
    const int nx = h->hi - h->lo, nrows = y1 - y0;
    const int x0 = h->src_lo, x1 = h->src_hi;
    const size_t cstride = (size_t)nrows * 3;
    if (grow((void **)&s->cols, &s->cols_cap, (size_t)(x1 - x0) * cstride + 1) != 0 ||
        grow((void **)&s->cols_out, &s->cols_out_cap, (size_t)nx * cstride + 1) != 0 ||
        grow((void **)&s->acc, &s->acc_cap, cstride * sizeof(int32_t)) != 0)
        return -1;
    transpose_to_columns(rgb, in_w, x0, x1, y0, y1, s->cols);
    pass_vertical(s->cols, cstride, x0, cstride, h, s->acc, s->cols_out, cstride);
    transpose_to_rows(s->cols_out, nx, nrows, dst, dst_stride);
    return 0;
}

/* Resized image of rw x rh; computes its block [x_lo,x_hi) x [y_lo,y_hi)
 * into out (row stride out_stride bytes). */
static int resize_block(const uint8_t *rgb, int in_w, int in_h, int rw, int rh, int x_lo,
                        int x_hi, int y_lo, int y_hi, preprocess_scratch *s, uint8_t *out,
                        size_t out_stride, mm_error *err)
{
    const bool need_h = rw != in_w, need_v = rh != in_h;
    const int nx = x_hi - x_lo;
    const size_t nbytes = (size_t)nx * 3;
    struct resample_axis *h = NULL, *v = NULL;
    if (need_h && !(h = axis_get(&s->hcache, in_w, rw, x_lo, x_hi)))
        return mm_fail(err, MM_ERR_NOMEM, "resize %dx%d -> %dx%d: out of memory", in_w, in_h, rw, rh);
    if (need_v && !(v = axis_get(&s->vcache, in_h, rh, y_lo, y_hi)))
        return mm_fail(err, MM_ERR_NOMEM, "resize %dx%d -> %dx%d: out of memory", in_w, in_h, rw, rh);
    if (need_v && s->acc_cap < nbytes * sizeof(int32_t) &&
        grow((void **)&s->acc, &s->acc_cap, nbytes * sizeof(int32_t)) != 0)
        return mm_fail(err, MM_ERR_NOMEM, "resize: out of memory");

    if (need_h && need_v) {
        /* Source rows the vertical taps of the wanted output rows touch. */
        const int first = v->bounds[0];
        const int last = v->bounds[2 * (y_hi - y_lo - 1)] + v->bounds[2 * (y_hi - y_lo - 1) + 1];
        if (grow((void **)&s->tmp, &s->tmp_cap, (size_t)(last - first) * nbytes + 1) != 0)
            return mm_fail(err, MM_ERR_NOMEM, "resize: out of memory");
        if (pass_horizontal(rgb, in_w, first, last, h, s, s->tmp, nbytes) != 0)
            return mm_fail(err, MM_ERR_NOMEM, "resize: out of memory");
        if (s->acc_cap < nbytes * sizeof(int32_t) &&
            grow((void **)&s->acc, &s->acc_cap, nbytes * sizeof(int32_t)) != 0)
            return mm_fail(err, MM_ERR_NOMEM, "resize: out of memory");
        pass_vertical(s->tmp, nbytes, first, nbytes, v, s->acc, out, out_stride);
    } else if (need_h) {
        /* Rows map 1:1; the horizontal pass writes straight into the output. */
        if (pass_horizontal(rgb, in_w, y_lo, y_hi, h, s, out, out_stride) != 0)
            return mm_fail(err, MM_ERR_NOMEM, "resize: out of memory");
    } else if (need_v) {
        pass_vertical(rgb + (size_t)x_lo * 3, (size_t)in_w * 3, 0, nbytes, v, s->acc, out,
                      out_stride);
    } else {
        for (int y = y_lo; y < y_hi; y++)
            memcpy(out + (size_t)(y - y_lo) * out_stride, rgb + ((size_t)y * in_w + x_lo) * 3,
                   nbytes);
    }
    return 0;
}

static int floordiv2(long a) { return (int)(a >= 0 ? a / 2 : -((-a + 1) / 2)); }

int preprocess_resize_crop(const preprocess_params *p, const uint8_t *rgb, int in_w, int in_h,
                           preprocess_scratch *s, uint8_t *out, mm_error *err)
{
    if (p->do_resize && p->resample != PREPROCESS_BICUBIC)
        return mm_fail(err, MM_ERR_UNSUPPORTED,
                       "resample=%d is not supported (only 3, PIL BICUBIC)", p->resample);
    if (in_w <= 0 || in_h <= 0)
        return mm_fail(err, MM_ERR_MALFORMED, "image has zero size (%dx%d)", in_w, in_h);
    int rw, rh, ow, oh;
    preprocess_resize_size(p, in_w, in_h, &rw, &rh);
    if (rw <= 0 || rh <= 0)
        return mm_fail(err, MM_ERR_LIMIT,
                       "image of %dx%d cannot be resized to a shortest edge of %d", in_w, in_h,
                       p->shortest_edge);
    preprocess_output_size(p, in_w, in_h, &ow, &oh);
    /* HF center_crop: top = (H - h) // 2, left = (W - w) // 2 (floor, also
     * when negative: the image is then padded with zeros around it). */
    int top = 0, left = 0;
    if (p->do_center_crop) {
        top = floordiv2((long)rh - oh);
        left = floordiv2((long)rw - ow);
    }
    int y_lo = top < 0 ? 0 : top, y_hi = top + oh > rh ? rh : top + oh;
    int x_lo = left < 0 ? 0 : left, x_hi = left + ow > rw ? rw : left + ow;
    const size_t out_stride = (size_t)ow * 3;
    if (y_lo > top || x_lo > left || y_hi < top + oh || x_hi < left + ow)
        memset(out, 0, out_stride * oh);
    if (y_hi <= y_lo || x_hi <= x_lo) return 0;
    return resize_block(rgb, in_w, in_h, rw, rh, x_lo, x_hi, y_lo, y_hi, s,
                        out + (size_t)(y_lo - top) * out_stride + (size_t)(x_lo - left) * 3,
                        out_stride, err);
}

int resample_bicubic_rgb(const uint8_t *rgb, int in_w, int in_h, uint8_t *out, int out_w,
                         int out_h, preprocess_scratch *s, mm_error *err)
{
    preprocess_scratch own;
    if (!s) {
        memset(&own, 0, sizeof own);
        s = &own;
    }
    int rc = resize_block(rgb, in_w, in_h, out_w, out_h, 0, out_w, 0, out_h, s, out,
                          (size_t)out_w * 3, err);
    if (s == &own) preprocess_scratch_free(&own);
    return rc;
}

static bool lut_matches(const preprocess_params *a, const preprocess_params *b)
{
    return a->do_rescale == b->do_rescale && a->rescale_factor == b->rescale_factor &&
           a->do_normalize == b->do_normalize && memcmp(a->mean, b->mean, sizeof a->mean) == 0 &&
           memcmp(a->std, b->std, sizeof a->std) == 0;
}

void preprocess_normalize(const preprocess_params *p, const uint8_t *hwc, int w, int h,
                          preprocess_scratch *s, float *chw)
{
    if (!s->lut_valid || !lut_matches(&s->lut_params, p)) {
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                /* HF rescale: image.astype(float64) * scale, then .astype(float32);
                 * normalize: (image - mean) / std with float32 mean/std. */
                float x = p->do_rescale ? (float)((double)v * p->rescale_factor) : (float)v;
                if (p->do_normalize) x = (x - p->mean[c]) / p->std[c];
                s->lut[c][v] = x;
            }
        }
        s->lut_params = *p;
        s->lut_valid = true;
    }
    const size_t n = (size_t)w * h;
    float *r = chw, *g = chw + n, *b = chw + 2 * n;
    const float *l0 = s->lut[0], *l1 = s->lut[1], *l2 = s->lut[2];
    for (size_t i = 0; i < n; i++) {
        r[i] = l0[hwc[3 * i]];
        g[i] = l1[hwc[3 * i + 1]];
        b[i] = l2[hwc[3 * i + 2]];
    }
}

int preprocess_image(const preprocess_params *p, const uint8_t *rgb, int in_w, int in_h,
                     preprocess_scratch *s, uint8_t *crop_out, float *pixel_values,
                     mm_error *err)
{
    int ow, oh;
    preprocess_output_size(p, in_w, in_h, &ow, &oh);
    if (ow <= 0 || oh <= 0)
        return mm_fail(err, MM_ERR_MALFORMED, "output size %dx%d is empty", ow, oh);
    uint8_t *crop = crop_out;
    if (!crop) {
        if (grow((void **)&s->crop, &s->crop_cap, (size_t)ow * oh * 3) != 0)
            return mm_fail(err, MM_ERR_NOMEM, "out of memory");
        crop = s->crop;
    }
    if (preprocess_resize_crop(p, rgb, in_w, in_h, s, crop, err) != 0) return -1;
    if (pixel_values) preprocess_normalize(p, crop, ow, oh, s, pixel_values);
    return 0;
}
