/* test_thumb.c — thumbnails: longer side scaled to the size (aspect kept,
 * small images untouched), each path made once, failures kept as reasons,
 * the JPEG decodes back to the colour it was made from, the same bytes on
 * one thread and on two, and the size budget's ladder. */
#include <stdint.h>

#include "image/image.h"
#include "report/thumb.h"
#include "report_test_util.h"
#include "test.h"

/* Writes a w x h JPEG: colour (r, g, b) plus a little texture. */
static const char *write_jpeg(const char *name, int w, int h, int r, int g, int b, int noise)
{
    uint8_t *px = malloc((size_t)w * h * 3);
    unsigned long long st = 12345;
    for (int i = 0; i < w * h; i++) {
        int d = noise ? (int)(test_rand_u64(&st) % (2 * noise + 1)) - noise : 0;
        int c[3] = {r + d, g + d, b + d};
        for (int k = 0; k < 3; k++) px[i * 3 + k] = (uint8_t)(c[k] < 0 ? 0 : c[k] > 255 ? 255 : c[k]);
    }
    uint8_t *jpeg;
    size_t len;
    mm_error err = {0};
    if (report_jpeg_encode(px, w, h, 90, &jpeg, &len, &err) < 0) abort();
    const char *path = tmp_file(name, "");
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(jpeg, 1, len, fp) != len || fclose(fp)) abort();
    free(jpeg);
    free(px);
    static char keep[16][256];
    static int next;
    char *k = keep[next++ % 16];
    snprintf(k, 256, "%s", path);
    return k;
}

static void test_sizes_and_dedupe(void)
{
    const char *wide = write_jpeg("wide.jpg", 640, 480, 200, 30, 30, 0);
    const char *tall = write_jpeg("tall.jpg", 100, 400, 30, 200, 30, 0);
    const char *small = write_jpeg("small.jpg", 40, 30, 30, 30, 200, 0);
    const char *bad = tmp_file("bad.jpg", "not an image");
    report_thumbs ts;
    report_thumbs_init(&ts, 96, 75, 0);
    report_thumbs_add(&ts, wide);
    report_thumbs_add(&ts, tall);
    report_thumbs_add(&ts, wide);
    report_thumbs_add(&ts, small);
    report_thumbs_add(&ts, bad);
    CHECK(report_thumbs_find(&ts, wide) == NULL); /* before build */
    CHECK_EQ_INT(report_thumbs_build(&ts, NULL), 0);
    CHECK_EQ_INT(ts.count, 4);
    const report_thumb *t = report_thumbs_find(&ts, wide);
    CHECK(t && t->jpeg && t->width == 96 && t->height == 72);
    t = report_thumbs_find(&ts, tall);
    CHECK(t && t->jpeg && t->width == 24 && t->height == 96);
    t = report_thumbs_find(&ts, small);
    CHECK(t && t->jpeg && t->width == 40 && t->height == 30);
    t = report_thumbs_find(&ts, bad);
    CHECK(t && !t->jpeg && t->why && strstr(t->why, "bad.jpg") != NULL);
    CHECK(report_thumbs_find(&ts, "/never/added.jpg") == NULL);
    /* decodes back (no JFIF marker) to the colour */
    t = report_thumbs_find(&ts, wide);
    mm_image img = {0};
    image_decode_opts o;
    image_decode_opts_init(&o);
    mm_error err = {0};
    CHECK_EQ_INT(image_decode_mem(t->jpeg, t->jpeg_len, "thumb", &o, &img, &err), 0);
    CHECK_EQ_INT(img.width, 96);
    CHECK_EQ_INT(img.height, 72);
    size_t mid = ((size_t)36 * 96 + 48) * 3;
    CHECK(abs(img.rgb[mid] - 200) <= 6 && abs(img.rgb[mid + 1] - 30) <= 6 &&
          abs(img.rgb[mid + 2] - 30) <= 6);
    CHECK(t->jpeg[0] == 0xFF && t->jpeg[1] == 0xD8 && !(t->jpeg[2] == 0xFF && t->jpeg[3] == 0xE0));
    image_free(&img);
    CHECK_EQ_INT(ts.used_size, 96);
    CHECK_EQ_INT(ts.used_quality, 75);
    report_thumbs_free(&ts);
    /* nothing added: fine */
    report_thumbs_init(&ts, 96, 75, 0);
    CHECK_EQ_INT(report_thumbs_build(&ts, NULL), 0);
    CHECK_EQ_INT(ts.count, 0);
    report_thumbs_free(&ts);
}

static void test_threads_same_bytes(void)
{
    char name[32];
    const char *paths[12];
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof name, "p%02d.jpg", i);
        paths[i] = write_jpeg(name, 320 + 8 * i, 240, 20 * i, 100, 255 - 20 * i, 20);
    }
    report_thumbs a, b;
    report_thumbs_init(&a, 64, 80, 0);
    report_thumbs_init(&b, 64, 80, 0);
    for (int i = 0; i < 12; i++) {
        report_thumbs_add(&a, paths[i]);
        report_thumbs_add(&b, paths[11 - i]);
    }
    mm_pool *pool = mm_pool_create(2);
    report_thumbs_build(&a, NULL);
    report_thumbs_build(&b, pool);
    mm_pool_free(pool);
    CHECK_EQ_INT(a.count, b.count);
    for (size_t i = 0; i < a.count && i < b.count; i++) {
        CHECK_EQ_STR(a.t[i].path, b.t[i].path);
        CHECK(a.t[i].jpeg && b.t[i].jpeg && a.t[i].jpeg_len == b.t[i].jpeg_len &&
              memcmp(a.t[i].jpeg, b.t[i].jpeg, a.t[i].jpeg_len) == 0);
    }
    report_thumbs_free(&a);
    report_thumbs_free(&b);
}

static size_t build_total(int size, int quality, size_t budget, int *used_size, int *used_q)
{
    report_thumbs ts;
    report_thumbs_init(&ts, size, quality, budget);
    char name[32];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "n%02d.jpg", i);
        report_thumbs_add(&ts, write_jpeg(name, 300, 200, 128, 128, 128, 60)); /* noisy */
    }
    report_thumbs_build(&ts, NULL);
    size_t total = ts.total_b64;
    *used_size = ts.used_size;
    *used_q = ts.used_quality;
    for (size_t i = 0; i < ts.count; i++) CHECK(ts.t[i].jpeg && ts.t[i].rgb == NULL);
    report_thumbs_free(&ts);
    return total;
}

static void test_budget_ladder(void)
{
    int s, q;
    size_t full = build_total(96, 75, 0, &s, &q);
    CHECK(s == 96 && q == 75);
    size_t same = build_total(96, 75, full, &s, &q); /* fits: untouched */
    CHECK(same == full && s == 96 && q == 75);
    size_t lower = build_total(96, 75, full - 1, &s, &q); /* one step: quality 60 */
    CHECK(lower < full && s == 96 && q == 60);
    size_t tiny = build_total(96, 75, 1, &s, &q); /* the end of the ladder */
    CHECK(tiny < lower && s == 48 && q == 30);
    size_t low_q = build_total(96, 40, 1, &s, &q); /* steps above the start are skipped */
    CHECK(low_q > 0 && s == 48 && q == 30);
}

int main(void)
{
    RUN(test_sizes_and_dedupe);
    RUN(test_threads_same_bytes);
    RUN(test_budget_ladder);
    tmp_cleanup();
    return test_summary();
}
