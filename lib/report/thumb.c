/* thumb.c — see thumb.h. */
#include "report/thumb.h"

#include <setjmp.h>
#include <stdio.h>
/* after stdio.h: jpeglib.h uses FILE */
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "image/image.h"
#include "image/resample.h"

void report_thumbs_init(report_thumbs *ts, int size, int quality)
{
    memset(ts, 0, sizeof *ts);
    ts->size = size;
    ts->quality = quality;
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

int report_thumbs_build(report_thumbs *ts)
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
    image_decode_opts o;
    image_decode_opts_init(&o);
    o.lenient = true;
    o.exif_rotate = true;
    o.jpeg_scale_min_side = ts->size;
    mm_image img = {0};
    uint8_t *small = NULL;
    size_t small_cap = 0;
    for (size_t i = 0; i < ts->count; i++) {
        report_thumb *t = &ts->t[i];
        if (t->jpeg || t->why) continue;
        mm_error err = {0};
        if (image_decode_file(t->path, &o, &img, &err) < 0) {
            t->why = xstrdup(err.msg);
            continue;
        }
        int w = img.width, h = img.height, tw = w, th = h;
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
        const uint8_t *px = img.rgb;
        if (tw != w || th != h) {
            size_t need = (size_t)tw * (size_t)th * 3;
            if (need > small_cap) {
                small = xrealloc(small, need);
                small_cap = need;
            }
            if (resample_bicubic_rgb(img.rgb, w, h, small, tw, th, &err) < 0) {
                t->why = xstrdup(err.msg);
                continue;
            }
            px = small;
        }
        if (report_jpeg_encode(px, tw, th, ts->quality, &t->jpeg, &t->jpeg_len, &err) < 0) {
            t->why = xstrdup(err.msg);
            continue;
        }
        t->width = tw;
        t->height = th;
    }
    free(small);
    image_free(&img);
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
    }
    free(ts->t);
    memset(ts, 0, sizeof *ts);
}
