/* image.c — see image.h. */
#include "image/image.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

void image_decode_opts_init(image_decode_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_pixels = IMAGE_DEFAULT_MAX_PIXELS;
}

void image_free(mm_image *img)
{
    free(img->rgb);
    free(img->file_buf);
    free(img->tmp);
    memset(img, 0, sizeof *img);
}

/* Grows *buf to at least n bytes (contents not kept). */
static int reserve(uint8_t **buf, size_t *cap, size_t n)
{
    if (*cap >= n && *buf) return 0;
    uint8_t *p = malloc(n ? n : 1);
    if (!p) return -1;
    free(*buf);
    *buf = p;
    *cap = n;
    return 0;
}

int image_sniff(const void *data, size_t size, const char **name)
{
    const uint8_t *b = data;
    const char *n = NULL;
    int fmt = IMAGE_FORMAT_UNKNOWN;
    if (size >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
        fmt = IMAGE_FORMAT_JPEG;
        n = "jpeg";
    } else if (size >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) {
        fmt = IMAGE_FORMAT_PNG;
        n = "png";
    } else if (size >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) {
        n = "gif";
    } else if (size >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) {
        n = "webp";
    } else if (size >= 2 && b[0] == 'B' && b[1] == 'M') {
        n = "bmp";
    } else if (size >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0)) {
        n = "tiff";
    } else if (size >= 12 && memcmp(b + 4, "ftyp", 4) == 0 &&
               (memcmp(b + 8, "avif", 4) == 0 || memcmp(b + 8, "heic", 4) == 0 ||
                memcmp(b + 8, "heix", 4) == 0 || memcmp(b + 8, "mif1", 4) == 0)) {
        n = memcmp(b + 8, "avif", 4) == 0 ? "avif" : "heif";
    } else if (size >= 12 && memcmp(b, "\0\0\0\x0cjP  \r\n\x87\n", 12) == 0) {
        n = "jpeg2000";
    } else if (size >= 2 && memcmp(b, "\xff\x0a", 2) == 0) {
        n = "jpeg-xl";
    } else if (size >= 4 && memcmp(b, "\0\0\1\0", 4) == 0) {
        n = "ico";
    } else if (size >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') {
        n = "pnm";
    }
    if (name) *name = n;
    return fmt;
}

/* ---- EXIF orientation ------------------------------------------------------ */

static unsigned rd16(const uint8_t *p, int be) { return be ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0]; }
static uint32_t rd32(const uint8_t *p, int be)
{
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int image_exif_orientation(const uint8_t *d, size_t n)
{
    if (n >= 6 && memcmp(d, "Exif\0\0", 6) == 0) {
        d += 6;
        n -= 6;
    }
    if (n < 8) return 1;
    int be;
    if (memcmp(d, "II*\0", 4) == 0) be = 0;
    else if (memcmp(d, "MM\0*", 4) == 0) be = 1;
    else return 1;
    uint32_t ifd = rd32(d + 4, be);
    if (ifd > n || n - ifd < 2) return 1;
    unsigned count = rd16(d + ifd, be);
    size_t pos = (size_t)ifd + 2;
    for (unsigned i = 0; i < count; i++, pos += 12) {
        if (pos > n || n - pos < 12) return 1;
        if (rd16(d + pos, be) != 0x0112) continue;
        unsigned type = rd16(d + pos + 2, be);
        uint32_t cnt = rd32(d + pos + 4, be);
        unsigned v;
        if (type == 3 && cnt >= 1) v = rd16(d + pos + 8, be);   /* SHORT */
        else if (type == 4 && cnt >= 1) v = rd32(d + pos + 8, be); /* LONG */
        else return 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

int image_apply_orientation(mm_image *img, int o, mm_error *err)
{
    if (o <= 1 || o > 8) return 0;
    const int w = img->width, h = img->height;
    const int swap = o >= 5;
    const int ow = swap ? h : w, oh = swap ? w : h;
    if (reserve(&img->tmp, &img->tmp_cap, (size_t)w * h * 3) != 0)
        return mm_fail(err, MM_ERR_NOMEM, "out of memory rotating a %dx%d image", w, h);
    const uint8_t *src = img->rgb;
    uint8_t *dst = img->tmp;
    for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            int x, y; /* source pixel of output (ox, oy), as PIL's transpose methods */
            switch (o) {
            case 2: x = w - 1 - ox; y = oy; break;          /* FLIP_LEFT_RIGHT */
            case 3: x = w - 1 - ox; y = h - 1 - oy; break;  /* ROTATE_180 */
            case 4: x = ox; y = h - 1 - oy; break;          /* FLIP_TOP_BOTTOM */
            case 5: x = oy; y = ox; break;                  /* TRANSPOSE */
            case 6: x = oy; y = h - 1 - ox; break;          /* ROTATE_270 */
            case 7: x = w - 1 - oy; y = h - 1 - ox; break;  /* TRANSVERSE */
            default: x = w - 1 - oy; y = ox; break;         /* 8: ROTATE_90 */
            }
            const uint8_t *s = src + ((size_t)y * w + x) * 3;
            uint8_t *t = dst + ((size_t)oy * ow + ox) * 3;
            t[0] = s[0];
            t[1] = s[1];
            t[2] = s[2];
        }
    }
    uint8_t *b = img->rgb;
    size_t c = img->rgb_cap;
    img->rgb = img->tmp;
    img->rgb_cap = img->tmp_cap;
    img->tmp = b;
    img->tmp_cap = c;
    img->width = ow;
    img->height = oh;
    return 0;
}

static int check_pixels(const char *name, uint64_t w, uint64_t h, const image_decode_opts *o,
                        mm_error *err)
{
    if (w == 0 || h == 0)
        return mm_fail(err, MM_ERR_MALFORMED, "%s: image has zero size (%llux%llu)", name,
                       (unsigned long long)w, (unsigned long long)h);
    if (w > INT_MAX / 4 || h > INT_MAX / 4)
        return mm_fail(err, MM_ERR_LIMIT, "%s: image dimensions %llux%llu are too large", name,
                       (unsigned long long)w, (unsigned long long)h);
    if (o->max_pixels && w * h > o->max_pixels)
        return mm_fail(err, MM_ERR_LIMIT,
                       "%s: image is %llux%llu = %llu pixels, above the limit of %llu "
                       "(--max-pixels)",
                       name, (unsigned long long)w, (unsigned long long)h,
                       (unsigned long long)(w * h), (unsigned long long)o->max_pixels);
    if (w * h > SIZE_MAX / 4)
        return mm_fail(err, MM_ERR_LIMIT, "%s: image too large for this machine", name);
    return 0;
}

/* ---- JPEG ------------------------------------------------------------------ */

struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    bool lenient;
    int kind;
    char msg[JMSG_LENGTH_MAX];
};

static void jpeg_on_error(j_common_ptr c)
{
    struct jpeg_err *e = (struct jpeg_err *)c->err;
    c->err->format_message(c, e->msg);
    e->kind = MM_ERR_MALFORMED;
    longjmp(e->jb, 1);
}

/* msg_level -1 is a warning: corrupt data that libjpeg chose to paper over
 * (premature end of data, extraneous bytes, bad Huffman code...). Pillow
 * refuses a truncated file by default; we refuse every warning unless lenient. */
static void jpeg_on_message(j_common_ptr c, int level)
{
    struct jpeg_err *e = (struct jpeg_err *)c->err;
    if (level == -1) {
        if (e->lenient) {
            c->err->num_warnings++;
            return;
        }
        c->err->format_message(c, e->msg);
        e->kind = c->err->msg_code == JWRN_JPEG_EOF ? MM_ERR_TRUNCATED : MM_ERR_MALFORMED;
        longjmp(e->jb, 1);
    }
}

struct jpeg_progress {
    struct jpeg_progress_mgr pub;
    struct jpeg_err *err;
};

static void jpeg_on_progress(j_common_ptr c)
{
    if (c->is_decompressor) {
        j_decompress_ptr d = (j_decompress_ptr)c;
        if (d->input_scan_number > IMAGE_MAX_JPEG_SCANS) {
            struct jpeg_err *e = (struct jpeg_err *)c->err;
            snprintf(e->msg, sizeof e->msg, "progressive JPEG with more than %d scans",
                     IMAGE_MAX_JPEG_SCANS);
            e->kind = MM_ERR_LIMIT;
            longjmp(e->jb, 1);
        }
    }
}

/* Pillow's MULDIV255: a*b/255 rounded, exactly as libImaging computes it. */
static inline int muldiv255(int a, int b)
{
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

static int decode_jpeg(const uint8_t *data, size_t size, const char *name,
                       const image_decode_opts *o, mm_image *img, mm_error *err)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_err jerr;
    struct jpeg_progress prog;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jpeg_on_error;
    jerr.pub.emit_message = jpeg_on_message;
    jerr.lenient = o->lenient;
    jerr.kind = MM_ERR_MALFORMED;
    jerr.msg[0] = 0;
    if (setjmp(jerr.jb)) {
        jpeg_destroy_decompress(&cinfo);
        return mm_fail(err, jerr.kind, "%s: JPEG: %s", name, jerr.msg);
    }
    jpeg_create_decompress(&cinfo);
    prog.pub.progress_monitor = jpeg_on_progress;
    prog.err = &jerr;
    cinfo.progress = &prog.pub;
    if (size > ULONG_MAX) size = ULONG_MAX;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    if (o->exif_rotate) jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    img->src_width = (int)cinfo.image_width;
    img->src_height = (int)cinfo.image_height;
    if (check_pixels(name, cinfo.image_width, cinfo.image_height, o, err) != 0) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    int nc = cinfo.num_components;
    if (nc == 1) {
        cinfo.out_color_space = JCS_GRAYSCALE;
    } else if (nc == 3) {
        cinfo.out_color_space = JCS_RGB;
    } else if (nc == 4) {
        cinfo.out_color_space = JCS_CMYK; /* libjpeg converts YCCK to CMYK */
    } else {
        jpeg_destroy_decompress(&cinfo);
        return mm_fail(err, MM_ERR_UNSUPPORTED, "%s: JPEG with %d colour components is not supported",
                       name, nc);
    }
    int orientation = 1;
    if (o->exif_rotate) {
        for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
            if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
                memcmp(m->data, "Exif\0\0", 6) == 0) {
                orientation = image_exif_orientation(m->data, m->data_length);
                break;
            }
        }
    }
    if (o->jpeg_scale_min_side > 0) {
        /* Largest power-of-two reduction that keeps both sides (or the
         * longer one) >= the target; libjpeg rounds the scaled size up. */
        unsigned w = cinfo.image_width, h = cinfo.image_height;
        unsigned side = o->jpeg_scale_long_side ? (w > h ? w : h) : (w < h ? w : h);
        unsigned denom = 1;
        while (denom < 8 && (side + denom * 2 - 1) / (denom * 2) >=
                                (unsigned)o->jpeg_scale_min_side)
            denom *= 2;
        cinfo.scale_num = 1;
        cinfo.scale_denom = denom;
    }
    cinfo.dct_method = JDCT_ISLOW;      /* libjpeg's default, as Pillow */
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    const int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    if (reserve(&img->rgb, &img->rgb_cap, (size_t)w * h * 3) != 0 ||
        (nc == 4 && reserve(&img->tmp, &img->tmp_cap, (size_t)w * 4 * 16) != 0)) {
        jpeg_destroy_decompress(&cinfo);
        return mm_fail(err, MM_ERR_NOMEM, "%s: out of memory for a %dx%d image", name, w, h);
    }
    uint8_t *rgb = img->rgb;
    const size_t stride = (size_t)w * 3;
    while (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION y0 = cinfo.output_scanline;
        JSAMPROW rows[16];
        int nrows = 0;
        if (nc == 4) {
            for (; nrows < 16 && y0 + nrows < (JDIMENSION)h; nrows++)
                rows[nrows] = img->tmp + (size_t)nrows * w * 4;
        } else {
            /* Grey rows are read into the start of their RGB row, then widened
             * in place from the right. */
            for (; nrows < 16 && y0 + nrows < (JDIMENSION)h; nrows++)
                rows[nrows] = rgb + (y0 + nrows) * stride;
        }
        JDIMENSION got = jpeg_read_scanlines(&cinfo, rows, (JDIMENSION)nrows);
        for (JDIMENSION r = 0; r < got; r++) {
            uint8_t *dst = rgb + (y0 + r) * stride;
            if (nc == 1) {
                for (int x = w - 1; x >= 0; x--) {
                    uint8_t v = dst[x];
                    dst[3 * x] = v;
                    dst[3 * x + 1] = v;
                    dst[3 * x + 2] = v;
                }
            } else if (nc == 4) {
                /* Pillow's "CMYK;I" unpacker inverts, then cmyk2rgb. */
                const uint8_t *s = rows[r];
                for (int x = 0; x < w; x++, s += 4) {
                    int nk = s[3]; /* 255 - (255 - K) */
                    for (int c = 0; c < 3; c++) {
                        int v = nk - muldiv255(255 - s[c], nk);
                        dst[3 * x + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                    }
                }
            }
        }
        if (got == 0) { /* suspension cannot happen with a memory source */
            jpeg_destroy_decompress(&cinfo);
            return mm_fail(err, MM_ERR_TRUNCATED, "%s: JPEG: no more scanlines", name);
        }
    }
    /* Not jpeg_finish_decompress: trailing garbage after the image is not an
     * error (Pillow stops at the last scanline as well). */
    jpeg_destroy_decompress(&cinfo);
    img->width = w;
    img->height = h;
    img->format = IMAGE_FORMAT_JPEG;
    img->orientation = orientation;
    return 0;
}

/* ---- PNG ------------------------------------------------------------------- */

struct png_ctx {
    const uint8_t *data;
    size_t size, pos;
    jmp_buf jb;
    int kind;
    char msg[256];
};

static void png_on_error(png_structp png, png_const_charp msg)
{
    struct png_ctx *c = png_get_error_ptr(png);
    if (c->kind == MM_ERR_NONE) {
        c->kind = MM_ERR_MALFORMED;
        snprintf(c->msg, sizeof c->msg, "%s", msg);
    }
    longjmp(c->jb, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* ancillary-chunk trouble: ignored, as Pillow does */
}

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
    struct png_ctx *c = png_get_io_ptr(png);
    if (n > c->size - c->pos) {
        c->kind = MM_ERR_TRUNCATED;
        snprintf(c->msg, sizeof c->msg, "file ends early (at byte %zu)", c->size);
        png_error(png, "truncated");
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static int decode_png(const uint8_t *data, size_t size, const char *name,
                      const image_decode_opts *o, mm_image *img, mm_error *err)
{
    struct png_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.data = data;
    ctx.size = size;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error,
                                             png_on_warning);
    if (!png) return mm_fail(err, MM_ERR_NOMEM, "%s: out of memory", name);
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return mm_fail(err, MM_ERR_NOMEM, "%s: out of memory", name);
    }
    png_bytep *volatile rows = NULL;
    if (setjmp(ctx.jb)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        if (ctx.kind == MM_ERR_LIMIT || ctx.kind == MM_ERR_NOMEM || ctx.kind == MM_ERR_UNSUPPORTED)
            return -1; /* err already filled */
        return mm_fail(err, ctx.kind, "%s: PNG: %s", name, ctx.msg);
    }
    png_set_read_fn(png, &ctx, png_read_mem);
    /* Our own pixel limit replaces libpng's 1e6x1e6 default. */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    img->src_width = (int)w;
    img->src_height = (int)h;
    if (check_pixels(name, w, h, o, err) != 0) {
        ctx.kind = MM_ERR_LIMIT;
        longjmp(ctx.jb, 1);
    }
    int orientation = 1;
    if (o->exif_rotate) {
        png_uint_32 n = 0;
        png_bytep exif = NULL;
        if (png_get_eXIf_1(png, info, &n, &exif) && exif) orientation = image_exif_orientation(exif, n);
    }
    int bit_depth = png_get_bit_depth(png, info);
    /* Everything to 8-bit RGB: palette/low-bit grey/tRNS expanded, 16-bit
     * scaled with rounding (v/257), alpha dropped, grey replicated. */
    png_set_expand(png);
    if (bit_depth == 16) png_set_scale_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3 || png_get_channels(png, info) != 3) {
        ctx.kind = MM_ERR_UNSUPPORTED;
        mm_fail(err, MM_ERR_UNSUPPORTED, "%s: PNG: colour type %d at %d bits not supported", name,
                png_get_color_type(png, info), bit_depth);
        longjmp(ctx.jb, 1);
    }
    if (reserve(&img->rgb, &img->rgb_cap, (size_t)w * h * 3) != 0 ||
        !(rows = malloc(sizeof(png_bytep) * h))) {
        ctx.kind = MM_ERR_NOMEM;
        mm_fail(err, MM_ERR_NOMEM, "%s: out of memory for a %ux%u image", name, (unsigned)w,
                (unsigned)h);
        longjmp(ctx.jb, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = img->rgb + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    img->width = (int)w;
    img->height = (int)h;
    img->format = IMAGE_FORMAT_PNG;
    img->orientation = orientation;
    return 0;
}

/* ---- entry points ---------------------------------------------------------- */

int image_decode_mem(const void *data, size_t size, const char *name,
                     const image_decode_opts *opts, mm_image *img, mm_error *err)
{
    image_decode_opts defaults;
    if (!opts) {
        image_decode_opts_init(&defaults);
        opts = &defaults;
    }
    img->width = img->height = 0;
    img->orientation = 1;
    if (size == 0) return mm_fail(err, MM_ERR_TRUNCATED, "%s: empty file", name);
    const char *fname = NULL;
    int fmt = image_sniff(data, size, &fname);
    int rc;
    if (fmt == IMAGE_FORMAT_JPEG) {
        rc = decode_jpeg(data, size, name, opts, img, err);
    } else if (fmt == IMAGE_FORMAT_PNG) {
        rc = decode_png(data, size, name, opts, img, err);
    } else if (fname) {
        return mm_fail(err, MM_ERR_UNSUPPORTED,
                       "%s: unsupported image format '%s'; supported: jpeg, png", name, fname);
    } else if (size < 8) {
        return mm_fail(err, MM_ERR_TRUNCATED,
                       "%s: file too short (%zu bytes) to be an image; supported: jpeg, png",
                       name, size);
    } else {
        return mm_fail(err, MM_ERR_UNSUPPORTED,
                       "%s: not an image (unrecognised leading bytes); supported: jpeg, png", name);
    }
    if (rc != 0) return rc;
    if (opts->exif_rotate && img->orientation > 1)
        return image_apply_orientation(img, img->orientation, err);
    return 0;
}

int image_decode_file(const char *path, const image_decode_opts *opts, mm_image *img,
                      mm_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        int e = errno;
        fclose(fp);
        return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(fp);
        return mm_fail(err, MM_ERR_IO, "%s: is a directory", path);
    }
    /* The leading bytes decide first, so that a large non-image file is
     * refused without being read. */
    uint8_t head[16];
    size_t len = fread(head, 1, sizeof head, fp);
    if (!ferror(fp) && image_sniff(head, len, NULL) == IMAGE_FORMAT_UNKNOWN) {
        fclose(fp);
        return image_decode_mem(head, len, path, opts, img, err);
    }
    /* Regular files are read in one go; pipes and devices grow the buffer. */
    size_t want = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
    if (want < sizeof head + 1) want = sizeof head + 1;
    bool copied_head = false;
    for (;;) {
        if (img->file_cap < want || !img->file_buf) {
            uint8_t *nb = realloc(img->file_buf, want);
            if (!nb) {
                fclose(fp);
                return mm_fail(err, MM_ERR_NOMEM, "%s: out of memory reading the file", path);
            }
            img->file_buf = nb;
            img->file_cap = want;
        }
        if (!copied_head) {
            memcpy(img->file_buf, head, len);
            copied_head = true;
        }
        if (len < sizeof head) break; /* short read: end of file (or error) */
        size_t got = fread(img->file_buf + len, 1, img->file_cap - len, fp);
        if (got == 0) break;
        len += got;
        if (len == img->file_cap) want = img->file_cap * 2;
    }
    if (ferror(fp)) {
        int e = errno;
        fclose(fp);
        return mm_fail(err, MM_ERR_IO, "%s: read error: %s", path, strerror(e));
    }
    fclose(fp);
    return image_decode_mem(img->file_buf, len, path, opts, img, err);
}
