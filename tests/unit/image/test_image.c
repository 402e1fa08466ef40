/* test_image.c — JPEG/PNG decoding: colour models, 16-bit rounding,
 * interlacing, restart markers, CMYK/YCCK, EXIF orientation, limits, and
 * every truncation of small files. Test files are written here with libpng
 * and libjpeg, so the test needs no data; the Pillow comparison over the
 * dev set is tests/pillow_compare.py (run from the bats tests). */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "image/image.h"
#include "image/image_pool.h"
#include "test.h"

/* ---- writers ------------------------------------------------------------------ */

typedef struct membuf {
    uint8_t *data;
    size_t size, cap;
} membuf;

static void mem_write(png_structp png, png_bytep d, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->size + n > m->cap) {
        m->cap = (m->size + n) * 2;
        m->data = realloc(m->data, m->cap);
    }
    memcpy(m->data + m->size, d, n);
    m->size += n;
}
static void mem_flush(png_structp png) { (void)png; }

/* rows: height rows of width*channels*(depth/8) bytes (16-bit big-endian),
 * or packed for depth < 8. */
static membuf write_png(int w, int h, int depth, int color_type, int interlace,
                        const uint8_t *pixels, size_t stride, const png_color *palette,
                        int npal, const uint8_t *trns, int ntrns)
{
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) abort();
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, w, h, depth, color_type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npal);
    if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)pixels + (size_t)y * stride;
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return m;
}

static membuf write_jpeg(int w, int h, int comps, J_COLOR_SPACE in_cs, J_COLOR_SPACE jpeg_cs,
                         const uint8_t *pixels, int quality, int restart_interval, int progressive)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long outsize = 0;
    jpeg_mem_dest(&c, &out, &outsize);
    c.image_width = w;
    c.image_height = h;
    c.input_components = comps;
    c.in_color_space = in_cs;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, jpeg_cs);
    jpeg_set_quality(&c, quality, TRUE);
    c.restart_interval = restart_interval;
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)pixels + (size_t)c.next_scanline * w * comps;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    membuf m = {out, outsize, outsize};
    return m;
}

static uint8_t *pattern_rgb(int w, int h, unsigned long long seed)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)(x * 255 / (w > 1 ? w - 1 : 1));
            q[1] = (uint8_t)(y * 255 / (h > 1 ? h - 1 : 1));
            q[2] = (uint8_t)(((x / 4 + y / 4) & 1) * 180 + (test_rand_u64(&seed) & 63));
        }
    return p;
}

static int decode(const membuf *m, mm_image *img, mm_error *err)
{
    image_decode_opts o;
    image_decode_opts_init(&o);
    return image_decode_mem(m->data, m->size, "mem", &o, img, err);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_sniff(void)
{
    const char *n;
    CHECK_EQ_INT(image_sniff("\xff\xd8\xff\xe0", 4, &n), IMAGE_FORMAT_JPEG);
    CHECK_EQ_INT(image_sniff("\x89PNG\r\n\x1a\n", 8, &n), IMAGE_FORMAT_PNG);
    CHECK_EQ_INT(image_sniff("GIF89a", 6, &n), IMAGE_FORMAT_UNKNOWN);
    CHECK_EQ_STR(n, "gif");
    CHECK_EQ_INT(image_sniff("RIFF\0\0\0\0WEBPVP8 ", 16, &n), IMAGE_FORMAT_UNKNOWN);
    CHECK_EQ_STR(n, "webp");
    CHECK_EQ_INT(image_sniff("\x89PNG", 4, &n), IMAGE_FORMAT_UNKNOWN);
    CHECK(n == NULL);
    mm_image img = {0};
    mm_error err = {0};
    CHECK(image_decode_mem("GIF89a\1\0\1\0", 10, "a.gif", NULL, &img, &err) != 0);
    CHECK_EQ_INT(err.kind, MM_ERR_UNSUPPORTED);
    CHECK_EQ_STR(err.msg, "a.gif: unsupported image format 'gif'; supported: jpeg, png");
    CHECK(image_decode_mem("", 0, "e.png", NULL, &img, &err) != 0);
    CHECK_EQ_STR(err.msg, "e.png: empty file");
    image_free(&img);
}

/* 16-bit samples become round(v/257), for every channel layout. */
static void test_png16_rounding(void)
{
    const int w = 64, h = 16;
    uint16_t *v = malloc(sizeof(uint16_t) * w * h * 4);
    uint8_t *be = malloc((size_t)w * h * 8);
    unsigned long long st = 99;
    for (int i = 0; i < w * h * 4; i++) {
        v[i] = i < 4 * 257 ? (uint16_t)(i * 64) : (uint16_t)(test_rand_u64(&st) >> 48);
        be[2 * i] = (uint8_t)(v[i] >> 8);
        be[2 * i + 1] = (uint8_t)v[i];
    }
    static const int types[] = {PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA, PNG_COLOR_TYPE_GRAY,
                                PNG_COLOR_TYPE_GRAY_ALPHA};
    static const int chans[] = {3, 4, 1, 2};
    for (int t = 0; t < 4; t++) {
        int ch = chans[t];
        membuf m = write_png(w, h, 16, types[t], PNG_INTERLACE_NONE, be, (size_t)w * ch * 2,
                             NULL, 0, NULL, 0);
        mm_image img = {0};
        mm_error err = {0};
        CHECK_MSG(decode(&m, &img, &err) == 0, "%s", err.msg);
        int bad = 0;
        for (int i = 0; i < w * h; i++)
            for (int c = 0; c < 3; c++) {
                int src = ch >= 3 ? c : 0;
                uint16_t s = v[i * ch + src];
                int want = (int)(((uint32_t)s * 255 + 32767) / 65535);
                if (img.rgb[i * 3 + c] != want) bad++;
            }
        CHECK_MSG(bad == 0, "colour type %d: %d samples not round(v/257)", types[t], bad);
        image_free(&img);
        free(m.data);
    }
    free(v);
    free(be);
}

/* Interlaced (Adam7) and plain PNGs of the same pixels decode identically;
 * RGBA keeps the colour under transparent pixels (no compositing). */
static void test_png_interlace_and_alpha(void)
{
    const int w = 37, h = 23;
    uint8_t *rgba = malloc((size_t)w * h * 4);
    unsigned long long st = 5;
    for (int i = 0; i < w * h * 4; i++) rgba[i] = (uint8_t)(test_rand_u64(&st) >> 56);
    for (int i = 0; i < w * h; i += 3) rgba[i * 4 + 3] = 0; /* fully transparent */
    membuf a = write_png(w, h, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE, rgba, (size_t)w * 4,
                         NULL, 0, NULL, 0);
    membuf b = write_png(w, h, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_ADAM7, rgba,
                         (size_t)w * 4, NULL, 0, NULL, 0);
    mm_image ia = {0}, ib = {0};
    mm_error err = {0};
    CHECK_MSG(decode(&a, &ia, &err) == 0, "%s", err.msg);
    CHECK_MSG(decode(&b, &ib, &err) == 0, "%s", err.msg);
    int bad = 0;
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++) {
            bad += ia.rgb[i * 3 + c] != rgba[i * 4 + c];
            bad += ib.rgb[i * 3 + c] != rgba[i * 4 + c];
        }
    CHECK_EQ_INT(bad, 0);
    /* grey + alpha */
    uint8_t ga[4 * 2 * 2] = {10, 0, 20, 255, 30, 128, 40, 7};
    membuf g = write_png(2, 2, 8, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_INTERLACE_NONE, ga, 4, NULL, 0,
                         NULL, 0);
    CHECK_MSG(decode(&g, &ia, &err) == 0, "%s", err.msg);
    CHECK(ia.rgb[0] == 10 && ia.rgb[1] == 10 && ia.rgb[2] == 10 && ia.rgb[9] == 40);
    free(g.data);
    image_free(&ia);
    image_free(&ib);
    free(a.data);
    free(b.data);
    free(rgba);
}

/* 4-bit palette with tRNS: expanded, transparency dropped; 1-bit grey 0/255. */
static void test_png_palette_lowbit(void)
{
    png_color pal[16];
    uint8_t trns[16];
    for (int i = 0; i < 16; i++) {
        pal[i].red = (png_byte)(i * 16);
        pal[i].green = (png_byte)(255 - i * 16);
        pal[i].blue = (png_byte)(i * 7);
        trns[i] = (uint8_t)(i == 3 ? 0 : 255);
    }
    /* 5x2, 4 bits per index, rows padded to whole bytes */
    uint8_t idx[2][3] = {{0x01, 0x23, 0x40}, {0xfe, 0xdc, 0xb0}};
    int want[2][5] = {{0, 1, 2, 3, 4}, {15, 14, 13, 12, 11}};
    membuf m = write_png(5, 2, 4, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, &idx[0][0], 3, pal,
                         16, trns, 16);
    mm_image img = {0};
    mm_error err = {0};
    CHECK_MSG(decode(&m, &img, &err) == 0, "%s", err.msg);
    int bad = 0;
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 5; x++) {
            const uint8_t *p = img.rgb + (y * 5 + x) * 3;
            const png_color *c = &pal[want[y][x]];
            bad += p[0] != c->red || p[1] != c->green || p[2] != c->blue;
        }
    CHECK_EQ_INT(bad, 0);
    free(m.data);
    uint8_t bits[1] = {0xA0}; /* 1,0,1,0 */
    m = write_png(4, 1, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, bits, 1, NULL, 0, NULL, 0);
    CHECK_MSG(decode(&m, &img, &err) == 0, "%s", err.msg);
    CHECK(img.rgb[0] == 255 && img.rgb[3] == 0 && img.rgb[6] == 255 && img.rgb[11] == 0);
    free(m.data);
    image_free(&img);
}

/* Restart markers and progressive coding do not change the pixels; grey
 * JPEGs are replicated; the decoded buffer is reused across sizes. */
static void test_jpeg_variants(void)
{
    const int w = 61, h = 45;
    uint8_t *rgb = pattern_rgb(w, h, 1);
    membuf plain = write_jpeg(w, h, 3, JCS_RGB, JCS_YCbCr, rgb, 90, 0, 0);
    membuf rst = write_jpeg(w, h, 3, JCS_RGB, JCS_YCbCr, rgb, 90, 1, 0);
    membuf prog = write_jpeg(w, h, 3, JCS_RGB, JCS_YCbCr, rgb, 90, 0, 1);
    mm_image a = {0}, b = {0};
    mm_error err = {0};
    CHECK_MSG(decode(&plain, &a, &err) == 0, "%s", err.msg);
    CHECK_MSG(decode(&rst, &b, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(b.width, w);
    CHECK_EQ_INT(b.height, h);
    CHECK(memcmp(a.rgb, b.rgb, (size_t)w * h * 3) == 0);
    CHECK_MSG(decode(&prog, &b, &err) == 0, "%s", err.msg);
    CHECK(memcmp(a.rgb, b.rgb, (size_t)w * h * 3) == 0);
    uint8_t grey[64 * 8];
    for (int i = 0; i < 64 * 8; i++) grey[i] = (uint8_t)(i * 3);
    membuf g = write_jpeg(64, 8, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, grey, 95, 0, 0);
    CHECK_MSG(decode(&g, &b, &err) == 0, "%s", err.msg);
    int bad = 0;
    for (int i = 0; i < 64 * 8; i++)
        bad += b.rgb[3 * i] != b.rgb[3 * i + 1] || b.rgb[3 * i] != b.rgb[3 * i + 2] ||
               abs((int)b.rgb[3 * i] - grey[i]) > 8;
    CHECK_EQ_INT(bad, 0);
    free(plain.data);
    free(rst.data);
    free(prog.data);
    free(g.data);
    free(rgb);
    image_free(&a);
    image_free(&b);
}

/* CMYK and YCCK (Adobe, inverted as Photoshop stores it) go through Pillow's
 * cmyk2rgb: R = K - round((255-C)*K/255) with the stored values. */
static void test_jpeg_cmyk_ycck(void)
{
    const int w = 32, h = 16;
    static const uint8_t stored[4] = {200, 150, 100, 220};
    uint8_t *px = malloc((size_t)w * h * 4);
    for (int i = 0; i < w * h; i++) memcpy(px + 4 * i, stored, 4);
    int want[3];
    for (int c = 0; c < 3; c++) {
        int t = (255 - stored[c]) * stored[3] + 128;
        want[c] = stored[3] - (((t >> 8) + t) >> 8);
    }
    J_COLOR_SPACE spaces[2] = {JCS_CMYK, JCS_YCCK};
    for (int s = 0; s < 2; s++) {
        membuf m = write_jpeg(w, h, 4, JCS_CMYK, spaces[s], px, 100, 0, 0);
        mm_image img = {0};
        mm_error err = {0};
        CHECK_MSG(decode(&m, &img, &err) == 0, "%s", err.msg);
        int maxd = 0;
        for (int i = 0; i < w * h; i++)
            for (int c = 0; c < 3; c++) {
                int d = abs((int)img.rgb[3 * i + c] - want[c]);
                if (d > maxd) maxd = d;
            }
        CHECK_MSG(maxd <= 2, "%s: max |d| %d from (%d,%d,%d)", s ? "YCCK" : "CMYK", maxd, want[0],
                  want[1], want[2]);
        image_free(&img);
        free(m.data);
    }
    free(px);
}

/* Every proper prefix of a valid file is an error (strict), never a crash;
 * --lenient decodes truncated JPEGs past the header. */
static void test_truncations(void)
{
    const int w = 40, h = 24;
    uint8_t *rgb = pattern_rgb(w, h, 3);
    membuf files[3] = {
        write_jpeg(w, h, 3, JCS_RGB, JCS_YCbCr, rgb, 85, 0, 0),
        write_jpeg(w, h, 3, JCS_RGB, JCS_YCbCr, rgb, 85, 0, 1),
        write_png(w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, rgb, (size_t)w * 3, NULL, 0,
                  NULL, 0),
    };
    mm_image img = {0};
    mm_error err = {0};
    image_decode_opts strict, lenient;
    image_decode_opts_init(&strict);
    image_decode_opts_init(&lenient);
    lenient.lenient = true;
    for (int f = 0; f < 3; f++) {
        int accepted = 0, lenient_ok = 0;
        /* A baseline JPEG may lose its EOI marker and a PNG its IEND chunk and
         * nothing else: decoding stops after the last row, as Pillow's does. */
        size_t allowed_tail = f == 0 ? 2 : f == 2 ? 12 : 0;
        for (size_t n = 0; n + allowed_tail < files[f].size; n++) {
            if (image_decode_mem(files[f].data, n, "t", &strict, &img, &err) == 0) accepted++;
            if (f < 2 && image_decode_mem(files[f].data, n, "t", &lenient, &img, &err) == 0)
                lenient_ok++;
        }
        CHECK_MSG(accepted == 0, "file %d: %d truncated prefixes accepted", f, accepted);
        if (f < 2) CHECK(lenient_ok > 0);
        CHECK(image_decode_mem(files[f].data, files[f].size, "t", &strict, &img, &err) == 0);
        free(files[f].data);
    }
    image_free(&img);
    free(rgb);
}

static void test_limits_and_fast_path(void)
{
    const int w = 1000, h = 600;
    uint8_t *rgb = pattern_rgb(w, h, 4);
    membuf m = write_jpeg(w, h, 3, JCS_RGB, JCS_YCbCr, rgb, 80, 0, 0);
    mm_image img = {0};
    mm_error err = {0};
    image_decode_opts o;
    image_decode_opts_init(&o);
    o.max_pixels = (uint64_t)w * h - 1;
    CHECK(image_decode_mem(m.data, m.size, "big.jpg", &o, &img, &err) != 0);
    CHECK_EQ_INT(err.kind, MM_ERR_LIMIT);
    CHECK(strstr(err.msg, "big.jpg: image is 1000x600 = 600000 pixels, above the limit of 599999") != NULL);
    CHECK(img.rgb == NULL); /* refused before allocating */
    o.max_pixels = (uint64_t)w * h;
    CHECK(image_decode_mem(m.data, m.size, "big.jpg", &o, &img, &err) == 0);
    o.jpeg_scale_min_side = 224; /* 600/2 = 300 >= 224, 600/4 = 150 < 224 */
    CHECK(image_decode_mem(m.data, m.size, "big.jpg", &o, &img, &err) == 0);
    CHECK_EQ_INT(img.width, 500);
    CHECK_EQ_INT(img.height, 300);
    CHECK_EQ_INT(img.src_width, 1000);
    o.jpeg_scale_min_side = 60; /* 1/8: 75 >= 60 */
    CHECK(image_decode_mem(m.data, m.size, "big.jpg", &o, &img, &err) == 0);
    CHECK_EQ_INT(img.width, 125);
    CHECK_EQ_INT(img.height, 75);
    free(m.data);
    membuf p = write_png(w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rgb, (size_t)w * 3, NULL,
                         0, NULL, 0);
    mm_image img2 = {0};
    o.max_pixels = 1000;
    CHECK(image_decode_mem(p.data, p.size, "big.png", &o, &img2, &err) != 0);
    CHECK_EQ_INT(err.kind, MM_ERR_LIMIT);
    CHECK(img2.rgb == NULL);
    free(p.data);
    free(rgb);
    image_free(&img);
}

/* EXIF parsing (both byte orders) and the eight orientations on a 3x2 image. */
static void test_exif(void)
{
    static const uint8_t le[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0,
                                 0x0f, 0x01, 2, 0, 4, 0, 0, 0, 'a', 'b', 'c', 0,
                                 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0};
    CHECK_EQ_INT(image_exif_orientation(le, sizeof le), 6);
    CHECK_EQ_INT(image_exif_orientation(le, sizeof le - 6), 1); /* cut inside the entry */
    static const uint8_t be[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1,
                                 0, 8, 0, 0};
    CHECK_EQ_INT(image_exif_orientation(be, sizeof be), 8);
    static const uint8_t bad[] = {'M', 'M', 0, 42, 0xff, 0xff, 0xff, 0xf0};
    CHECK_EQ_INT(image_exif_orientation(bad, sizeof bad), 1);

    /* 3x2 image, pixel value = 10*y + x (R channel) */
    static const char *want[9] = {
        NULL, "0 1 2/10 11 12", "2 1 0/12 11 10", "12 11 10/2 1 0", "10 11 12/0 1 2",
        "0 10/1 11/2 12", "10 0/11 1/12 2", "12 2/11 1/10 0", "2 12/1 11/0 10",
    };
    for (int o = 1; o <= 8; o++) {
        mm_image img = {0};
        img.width = 3;
        img.height = 2;
        img.rgb = calloc(18, 1);
        img.rgb_cap = 18;
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++) img.rgb[(y * 3 + x) * 3] = (uint8_t)(10 * y + x);
        mm_error err = {0};
        CHECK(image_apply_orientation(&img, o, &err) == 0);
        char got[64] = "", *p = got;
        for (int y = 0; y < img.height; y++) {
            for (int x = 0; x < img.width; x++)
                p += sprintf(p, "%s%d", x ? " " : (y ? "/" : ""), img.rgb[(y * img.width + x) * 3]);
        }
        CHECK_MSG(strcmp(got, want[o]) == 0, "orientation %d: %s, want %s", o, got, want[o]);
        image_free(&img);
    }
}

/* The pool delivers every item in input order, with the same tensors as the
 * synchronous path, errors in place, for several thread counts and windows;
 * stopping early is clean. */
static void test_pool_in_order(void)
{
    char dir[] = "/tmp/test_image_pool.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    enum { N = 23 };
    char *paths[N];
    for (int i = 0; i < N; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/img%02d.%s", dir, i, i % 3 ? "png" : "jpg");
        paths[i] = strdup(p);
        int w = 20 + 7 * i, h = 15 + (i * 13) % 40;
        uint8_t *rgb = pattern_rgb(w, h, (unsigned long long)i + 1);
        membuf m = i % 3 ? write_png(w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, rgb,
                                     (size_t)w * 3, NULL, 0, NULL, 0)
                         : write_jpeg(w, h, 3, JCS_RGB, JCS_YCbCr, rgb, 90, 0, 0);
        FILE *f = fopen(p, "wb");
        fwrite(m.data, 1, i == 7 ? m.size / 2 : m.size, f); /* item 7 is truncated */
        fclose(f);
        free(m.data);
        free(rgb);
    }
    image_pool_config cfg;
    memset(&cfg, 0, sizeof cfg);
    image_decode_opts_init(&cfg.decode);
    preprocess_params_default(&cfg.prep, 32);
    cfg.want_pixel_values = cfg.want_crop_uint8 = true;
    image_worker_state ws;
    memset(&ws, 0, sizeof ws);
    static float want[N][3 * 32 * 32];
    int want_ok[N];
    for (int i = 0; i < N; i++) {
        mm_error err = {0};
        want_ok[i] = image_process_file(paths[i], &cfg.decode, &cfg.prep, &ws, NULL, want[i], &err) == 0;
    }
    CHECK(!want_ok[7]);
    CHECK_EQ_INT(want_ok[0] + want_ok[1] + want_ok[8], 3);
    static const int threads[] = {1, 2, 3, 8}, windows[] = {0, 1, 2, 5};
    for (int t = 0; t < 4; t++) {
        mm_pool *threads_pool = threads[t] > 1 ? mm_pool_create(threads[t]) : NULL;
        cfg.pool = threads_pool;
        cfg.window = windows[t];
        mm_error err = {0};
        image_pool *pool = image_pool_start((const char *const *)paths, N, &cfg, &err);
        CHECK(pool != NULL);
        const image_pool_item *it;
        size_t k = 0;
        int bad = 0;
        while ((it = image_pool_next(pool))) {
            bad += it->index != k || it->path != paths[k] || it->ok != want_ok[k];
            if (it->ok)
                bad += it->width != 32 || it->height != 32 ||
                       memcmp(it->pixel_values, want[k], sizeof want[k]) != 0;
            else
                bad += strstr(it->err.msg, paths[k]) != it->err.msg;
            k++;
        }
        CHECK_EQ_INT(k, N);
        CHECK_MSG(bad == 0, "%d threads: %d mismatches", threads[t], bad);
        image_pool_stop(pool);
        /* stop after two items, with work in flight */
        pool = image_pool_start((const char *const *)paths, N, &cfg, &err);
        CHECK(image_pool_next(pool) != NULL);
        CHECK(image_pool_next(pool) != NULL);
        image_pool_stop(pool);
        mm_pool_free(threads_pool);
    }
    image_worker_state_free(&ws);
    for (int i = 0; i < N; i++) {
        unlink(paths[i]);
        free(paths[i]);
    }
    rmdir(dir);
}

int main(void)
{
    RUN(test_sniff);
    RUN(test_png16_rounding);
    RUN(test_png_interlace_and_alpha);
    RUN(test_png_palette_lowbit);
    RUN(test_jpeg_variants);
    RUN(test_jpeg_cmyk_ycck);
    RUN(test_truncations);
    RUN(test_limits_and_fast_path);
    RUN(test_exif);
    RUN(test_pool_in_order);
    return test_summary();
}
