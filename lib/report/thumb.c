/* thumb.c — see thumb.h. */
#include "report/thumb.h"

#include <setjmp.h>
#include <stdio.h>
/* after stdio.h: jpeglib.h uses FILE */
#include <jpeglib.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "report/html.h"
#include "image/image.h"
#include "image/resample.h"

void report_thumbs_init(report_thumbs *ts, int size, int quality, size_t budget)
{
    memset(ts, 0, sizeof *ts);
    ts->size = size;
    ts->quality = quality;
    ts->budget = budget;
}

void report_thumbs_add(report_thumbs *ts, const char *path)
{
    if (ts->count == ts->cap) {
        ts->cap = ts->cap ? 2 * ts->cap : 64;
        ts->t = xrealloc(ts->t, ts->cap * sizeof *ts->t);
    }
    memset(&ts->t[ts->count], 0, sizeof ts->t[0]);
    ts->t[ts->count++].path = xstrdup(path);
    ts->built = 0;
}

/* libjpeg reports errors through error_exit, which must not return: jump
 * back to the encoder with the message. */
typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jump, 1);
}

int report_jpeg_encode(const uint8_t *rgb, int w, int h, int quality, uint8_t **out,
                       size_t *out_len, mm_error *err)
{
    struct jpeg_compress_struct c;
    jerr e;
    unsigned char *buf = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    if (setjmp(e.jump)) {
        jpeg_destroy_compress(&c);
        free(buf);
        return mm_fail(err, MM_ERR_MALFORMED, "JPEG encoder: %s", e.msg);
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    /* Thumbnails are small: Huffman tables made for the image and no JFIF
     * marker save ~30% of each file (optional markers; every decoder reads
     * a 3-component baseline JPEG as YCbCr without them). */
    c.optimize_coding = TRUE;
    c.write_JFIF_header = FALSE;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *out = buf;
    *out_len = len;
    return 0;
}

static int cmp_thumb(const void *a, const void *b)
{
    return strcmp(((const report_thumb *)a)->path, ((const report_thumb *)b)->path);
}

/* One thread's share of the build: takes the next unmade thumbnail until
 * none are left (decoding times differ from file to file, so the files are
 * handed out one at a time rather than cut into equal ranges). */
typedef struct build_job {
    report_thumbs *ts;
    image_decode_opts opts;
    int step_size, step_quality; /* > 0: encode again from t->rgb (the ladder) */
    _Atomic size_t next;
} build_job;

/* One thread's buffers, kept from thumbnail to thumbnail: the decoded
 * image, the resized pixels and the resampler's weights and rows (the
 * gallery's images mostly share a size, so the weights are computed once). */
typedef struct thumb_work {
    mm_image img;
    uint8_t *small;
    size_t small_cap;
    preprocess_scratch resize;
} thumb_work;

/* Resizes rgb (w x h) into wk->small at tw x th. */
static int resize_into(thumb_work *wk, const uint8_t *rgb, int w, int h, int tw, int th,
                       mm_error *err)
{
    size_t need = (size_t)tw * (size_t)th * 3;
    if (need > wk->small_cap) {
        wk->small = xrealloc(wk->small, need);
        wk->small_cap = need;
    }
    return resample_bicubic_rgb(rgb, w, h, wk->small, tw, th, &wk->resize, err);
}

static void make_thumb(report_thumbs *ts, report_thumb *t, const image_decode_opts *o,
                       thumb_work *wk)
{
    mm_image *img = &wk->img;
    mm_error err = {0};
    if (image_decode_file(t->path, o, img, &err) < 0) {
        t->why = xstrdup(err.msg);
        return;
    }
    int w = img->width, h = img->height, tw = w, th = h;
    if (w > ts->size || h > ts->size) {
        if (w >= h) {
            tw = ts->size;
            th = (int)((long)h * ts->size / w);
        } else {
            th = ts->size;
            tw = (int)((long)w * ts->size / h);
        }
        if (tw < 1) tw = 1;
        if (th < 1) th = 1;
    }
    const uint8_t *px = img->rgb;
    if (tw != w || th != h) {
        if (resize_into(wk, img->rgb, w, h, tw, th, &err) < 0) {
            t->why = xstrdup(err.msg);
            return;
        }
        px = wk->small;
    }
    if (report_jpeg_encode(px, tw, th, ts->quality, &t->jpeg, &t->jpeg_len, &err) < 0) {
        t->why = xstrdup(err.msg);
        return;
    }
    t->width = tw;
    t->height = th;
    if (ts->budget) { /* kept for a step down the ladder */
        t->rgb = xmalloc((size_t)tw * (size_t)th * 3);
        memcpy(t->rgb, px, (size_t)tw * (size_t)th * 3);
        t->rgb_w = tw;
        t->rgb_h = th;
    }
}

/* Encodes t again from its first-step pixels, the longer side at most
 * `size`, at `quality`. */
static void step_thumb(report_thumb *t, int size, int quality, thumb_work *wk)
{
    int w = t->rgb_w, h = t->rgb_h, tw = w, th = h;
    if (w > size || h > size) {
        tw = w >= h ? size : (int)((long)w * size / h);
        th = w >= h ? (int)((long)h * size / w) : size;
        if (tw < 1) tw = 1;
        if (th < 1) th = 1;
    }
    const uint8_t *px = t->rgb;
    mm_error err = {0};
    if (tw != w || th != h) {
        if (resize_into(wk, t->rgb, w, h, tw, th, &err) < 0) return; /* keep the last */
        px = wk->small;
    }
    uint8_t *jpeg;
    size_t len;
    if (report_jpeg_encode(px, tw, th, quality, &jpeg, &len, &err) < 0) return;
    free(t->jpeg);
    t->jpeg = jpeg;
    t->jpeg_len = len;
    t->width = tw;
    t->height = th;
}

static void build_part(void *ctx, int thread, int begin, int end)
{
    (void)thread, (void)begin, (void)end;
    build_job *job = ctx;
    report_thumbs *ts = job->ts;
    thumb_work wk = {0};
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= ts->count) break;
        report_thumb *t = &ts->t[i];
        if (job->step_size > 0) {
            if (t->rgb) step_thumb(t, job->step_size, job->step_quality, &wk);
        } else if (!t->jpeg && !t->why) {
            make_thumb(ts, t, &job->opts, &wk);
        }
    }
    free(wk.small);
    preprocess_scratch_free(&wk.resize);
    image_free(&wk.img);
}

static size_t total_b64(const report_thumbs *ts)
{
    size_t n = 0;
    for (size_t i = 0; i < ts->count; i++)
        if (ts->t[i].jpeg) n += html_base64_len(ts->t[i].jpeg_len);
    return n;
}

int report_thumbs_build(report_thumbs *ts, mm_pool *pool)
{
    if (ts->count) qsort(ts->t, ts->count, sizeof *ts->t, cmp_thumb); /* t may be NULL when empty */
    size_t u = 0;
    for (size_t i = 0; i < ts->count; i++) {
        if (u > 0 && strcmp(ts->t[i].path, ts->t[u - 1].path) == 0) {
            free(ts->t[i].path);
            continue;
        }
        ts->t[u++] = ts->t[i];
    }
    ts->count = u;
    build_job job = {.ts = ts};
    atomic_init(&job.next, 0);
    image_decode_opts_init(&job.opts);
    job.opts.lenient = true;
    job.opts.exif_rotate = true;
    job.opts.jpeg_scale_min_side = ts->size;
    job.opts.jpeg_scale_long_side = true;
    if (ts->count > 1) mm_pool_team(pool, build_part, &job);
    else build_part(&job, 0, 0, 1);
    ts->used_size = ts->size;
    ts->used_quality = ts->quality;
    ts->total_b64 = total_b64(ts);
    /* the ladder (thumb.h): steps at or above the first one are skipped */
    const int q_lo = ts->quality < 45 ? ts->quality : 45;
    const struct { int size, quality; } ladder[] = {
        {ts->size, 60}, {ts->size, 45}, {ts->size * 5 / 6, q_lo}, {ts->size * 2 / 3, q_lo},
        {ts->size / 2, q_lo}, {ts->size / 2, ts->quality < 30 ? ts->quality : 30},
    };
    for (size_t k = 0; k < sizeof ladder / sizeof ladder[0]; k++) {
        if (!ts->budget || ts->total_b64 <= ts->budget) break;
        int sz = ladder[k].size < 8 ? 8 : ladder[k].size, q = ladder[k].quality;
        if (q > ts->used_quality || sz > ts->used_size ||
            (q == ts->used_quality && sz == ts->used_size))
            continue;
        job.step_size = sz;
        job.step_quality = q;
        atomic_store(&job.next, 0);
        if (ts->count > 1) mm_pool_team(pool, build_part, &job);
        else build_part(&job, 0, 0, 1);
        ts->used_size = sz;
        ts->used_quality = q;
        ts->total_b64 = total_b64(ts);
    }
    for (size_t i = 0; i < ts->count; i++) {
        free(ts->t[i].rgb);
        ts->t[i].rgb = NULL;
    }
    ts->built = 1;
    return 0;
}

const report_thumb *report_thumbs_find(const report_thumbs *ts, const char *path)
{
    if (!ts->built) return NULL;
    report_thumb key = {.path = (char *)path};
    return bsearch(&key, ts->t, ts->count, sizeof *ts->t, cmp_thumb);
}

void report_thumbs_free(report_thumbs *ts)
{
    for (size_t i = 0; i < ts->count; i++) {
        free(ts->t[i].path);
        free(ts->t[i].jpeg);
        free(ts->t[i].why);
        free(ts->t[i].rgb);
    }
    free(ts->t);
    memset(ts, 0, sizeof *ts);
}
