/* test_resample.c — Pillow-exact resize, crop and normalise, checked against
 * ../shared/ref/clip/preprocessed (Pillow 9.4 + HF CLIPImageProcessor), plus
 * properties that need no reference data. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "io/npy.h"
#include "image/preprocess_config.h"
#include "image/resample.h"
#include "test.h"

static int have_ref(void)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/ref/clip/preprocessed", test_shared_dir());
    return stat(p, &st) == 0;
}

/* Decodes images/<file>, preprocesses with CLIP defaults (224) and compares
 * with <stem>_crop_uint8.npy (identical) and <stem>.npy (max |d| <= 1e-6,
 * and counts exact matches). */
static void check_ref_image(const char *file, const char *stem, int *bit_exact)
{
    char path[4096];
    const char *sh = test_shared_dir();
    mm_error err = {0};
    mm_image img;
    memset(&img, 0, sizeof img);
    snprintf(path, sizeof path, "%s/ref/clip/images/%s", sh, file);
    int rc = image_decode_file(path, NULL, &img, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc != 0) return;

    preprocess_params p;
    preprocess_params_default(&p, 224);
    preprocess_scratch s;
    memset(&s, 0, sizeof s);
    uint8_t *crop = malloc(224 * 224 * 3);
    float *pv = malloc(sizeof(float) * 3 * 224 * 224);
    rc = preprocess_image(&p, img.rgb, img.width, img.height, &s, crop, pv, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);

    npy_array ref;
    snprintf(path, sizeof path, "%s/ref/clip/preprocessed/%s_crop_uint8.npy", sh, stem);
    struct stat st;
    if (stat(path, &st) == 0) {
        CHECK_MSG(npy_read(path, &ref, &err) == 0, "%s", err.msg);
        CHECK_EQ_INT(ref.dtype, NPY_U8);
        CHECK_EQ_INT(ref.count, 224 * 224 * 3);
        if (ref.dtype == NPY_U8 && ref.count == 224 * 224 * 3) {
            size_t ndiff = 0, maxd = 0;
            for (size_t i = 0; i < ref.count; i++) {
                int d = abs((int)crop[i] - (int)((uint8_t *)ref.data)[i]);
                if (d) ndiff++;
                if ((size_t)d > maxd) maxd = d;
            }
            CHECK_MSG(ndiff == 0, "%s crop_uint8: %zu values differ (max %zu)", stem, ndiff, maxd);
        }
        npy_free(&ref);
    }
    snprintf(path, sizeof path, "%s/ref/clip/preprocessed/%s.npy", sh, stem);
    CHECK_MSG(npy_read(path, &ref, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(ref.dtype, NPY_F32);
    CHECK_EQ_INT(ref.count, 3 * 224 * 224);
    if (ref.dtype == NPY_F32 && ref.count == 3 * 224 * 224) {
        double maxd = 0;
        size_t exact = 0;
        for (size_t i = 0; i < ref.count; i++) {
            float r = ((float *)ref.data)[i];
            double d = fabs((double)pv[i] - r);
            if (d > maxd) maxd = d;
            if (memcmp(&pv[i], &r, 4) == 0) exact++;
        }
        CHECK_MSG(maxd <= 1e-6, "%s pixel_values: max |d| = %g", stem, maxd);
        if (exact == ref.count) (*bit_exact)++;
        else fprintf(stderr, "  # %s: %zu of %zu pixel_values bit-identical\n", stem, exact, ref.count);
    }
    npy_free(&ref);
    free(crop);
    free(pv);
    preprocess_scratch_free(&s);
    image_free(&img);
}

static void test_reference_pngs_and_jpeg(void)
{
    if (!have_ref()) {
        printf("# skip: ../shared/ref absent\n");
        return;
    }
    static const char *files[][2] = {
        {"checkerboard.png", "checkerboard"}, {"gradient.png", "gradient"},
        {"rgba_300x200.png", "rgba_300x200"}, {"tall_200x500.png", "tall_200x500"},
        {"china.jpg", "china"},
    };
    int bit_exact = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        check_ref_image(files[i][0], files[i][1], &bit_exact);
    CHECK_EQ_INT(bit_exact, 5); /* the README says bit-exact is reachable */
}

/* The JPEG decodes to exactly what Pillow/libjpeg-turbo gave. */
static void test_jpeg_decoded_uint8(void)
{
    if (!have_ref()) return;
    char path[4096];
    mm_error err = {0};
    mm_image img;
    memset(&img, 0, sizeof img);
    snprintf(path, sizeof path, "%s/ref/clip/images/china.jpg", test_shared_dir());
    CHECK_MSG(image_decode_file(path, NULL, &img, &err) == 0, "%s", err.msg);
    npy_array ref;
    snprintf(path, sizeof path, "%s/ref/clip/preprocessed/china_decoded_uint8.npy",
             test_shared_dir());
    CHECK_MSG(npy_read(path, &ref, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(ref.ndim, 3);
    CHECK_EQ_INT(ref.shape[0], img.height);
    CHECK_EQ_INT(ref.shape[1], img.width);
    CHECK_EQ_INT(ref.shape[2], 3);
    if (ref.count == (size_t)img.width * img.height * 3)
        CHECK(memcmp(ref.data, img.rgb, ref.count) == 0);
    npy_free(&ref);
    image_free(&img);
}

/* HF get_resize_output_image_size: truncation of the long side. */
static void test_resize_size(void)
{
    preprocess_params p;
    preprocess_params_default(&p, 224);
    int w, h;
    preprocess_resize_size(&p, 640, 427, &w, &h);
    CHECK_EQ_INT(w, 335);
    CHECK_EQ_INT(h, 224);
    preprocess_resize_size(&p, 200, 500, &w, &h);
    CHECK_EQ_INT(w, 224);
    CHECK_EQ_INT(h, 560);
    preprocess_resize_size(&p, 300, 300, &w, &h);
    CHECK_EQ_INT(w, 224);
    CHECK_EQ_INT(h, 224);
    preprocess_resize_size(&p, 1, 1000, &w, &h);
    CHECK_EQ_INT(w, 224);
    CHECK_EQ_INT(h, 224000);
    /* int(224*481/333) = int(323.5435...) */
    preprocess_resize_size(&p, 481, 333, &w, &h);
    CHECK_EQ_INT(w, 323);
    p.shortest_edge = 0;
    p.resize_width = 10;
    p.resize_height = 20;
    preprocess_resize_size(&p, 481, 333, &w, &h);
    CHECK_EQ_INT(w, 10);
    CHECK_EQ_INT(h, 20);
}

/* A direct transcription of libImaging/Resample.c (whole image, horizontal
 * pass over all rows, then vertical), as the oracle for the optimised code
 * (crop windows, transposed horizontal pass, skipped passes). */
static double naive_bicubic(double x)
{
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((-0.5 + 2.0) * x - (-0.5 + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * -0.5;
    return 0.0;
}

static int naive_coeffs(int in, int out, int **bounds, int32_t **kk)
{
    double scale = (double)in / out, fs = scale < 1.0 ? 1.0 : scale, support = 2.0 * fs;
    int ksize = (int)ceil(support) * 2 + 1;
    *bounds = malloc(sizeof(int) * 2 * out);
    *kk = calloc((size_t)out * ksize, sizeof(int32_t));
    double *k = malloc(sizeof(double) * ksize);
    for (int xx = 0; xx < out; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / fs;
        int xmin = (int)(center - support + 0.5), xmax;
        if (xmin < 0) xmin = 0;
        xmax = (int)(center + support + 0.5);
        if (xmax > in) xmax = in;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) ww += k[x] = naive_bicubic((x + xmin - center + 0.5) * ss);
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? k[x] / ww : k[x];
            (*kk)[xx * ksize + x] = v < 0 ? (int32_t)(-0.5 + v * (1 << 22)) : (int32_t)(0.5 + v * (1 << 22));
        }
        (*bounds)[2 * xx] = xmin;
        (*bounds)[2 * xx + 1] = xmax;
    }
    free(k);
    return ksize;
}

static uint8_t naive_clip(int32_t v) { return v >= (1 << 30) ? 255 : v <= 0 ? 0 : (uint8_t)(v >> 22); }

static void naive_resize(const uint8_t *in, int w, int h, uint8_t *out, int ow, int oh)
{
    int *bx, *by;
    int32_t *kx, *ky;
    int ksx = naive_coeffs(w, ow, &bx, &kx), ksy = naive_coeffs(h, oh, &by, &ky);
    uint8_t *tmp = malloc((size_t)ow * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++) {
                int32_t ss = 1 << 21;
                for (int t = 0; t < bx[2 * x + 1]; t++)
                    ss += in[((size_t)y * w + bx[2 * x] + t) * 3 + c] * kx[x * ksx + t];
                tmp[((size_t)y * ow + x) * 3 + c] = ow == w ? in[((size_t)y * w + x) * 3 + c] : naive_clip(ss);
            }
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < 3; c++) {
                int32_t ss = 1 << 21;
                for (int t = 0; t < by[2 * y + 1]; t++)
                    ss += tmp[((size_t)(by[2 * y] + t) * ow + x) * 3 + c] * ky[y * ksy + t];
                out[((size_t)y * ow + x) * 3 + c] = oh == h ? tmp[((size_t)y * ow + x) * 3 + c] : naive_clip(ss);
            }
    free(tmp);
    free(bx);
    free(by);
    free(kx);
    free(ky);
}

/* Resizing only the crop window equals resizing everything, then cropping
 * with floor offsets (random images and sizes). */
static void test_crop_window_equals_full_resize(void)
{
    unsigned long long st = 12345;
    preprocess_scratch s;
    memset(&s, 0, sizeof s);
    for (int iter = 0; iter < 80; iter++) {
        int w = 1 + (int)(test_rand_u64(&st) % 300), h = 1 + (int)(test_rand_u64(&st) % 300);

        uint8_t *img = malloc((size_t)w * h * 3);
        for (size_t i = 0; i < (size_t)w * h * 3; i++) img[i] = (uint8_t)(test_rand_u64(&st) >> 56);
        preprocess_params p;
        preprocess_params_default(&p, 8 + (int)(test_rand_u64(&st) % 120));
        /* short side already the size: one pass is skipped, as Pillow does */
        if (iter % 8 == 1) h = p.shortest_edge, w = h + (int)(test_rand_u64(&st) % 200);
        if (iter % 8 == 2) w = p.shortest_edge, h = w + (int)(test_rand_u64(&st) % 200);
        img = realloc(img, (size_t)w * h * 3);
        for (size_t i = 0; i < (size_t)w * h * 3; i++) img[i] = (uint8_t)(test_rand_u64(&st) >> 56);
        p.crop_width = 1 + (int)(test_rand_u64(&st) % 140);
        p.crop_height = 1 + (int)(test_rand_u64(&st) % 140);
        int rw, rh;
        preprocess_resize_size(&p, w, h, &rw, &rh);
        if ((size_t)rw * rh > 4000000) {
            free(img);
            continue;
        }
        uint8_t *full = malloc((size_t)rw * rh * 3), *full2 = malloc((size_t)rw * rh * 3);
        mm_error err = {0};
        CHECK_MSG(resample_bicubic_rgb(img, w, h, full, rw, rh, NULL, &err) == 0, "%s", err.msg);
        naive_resize(img, w, h, full2, rw, rh);
        CHECK_MSG(memcmp(full, full2, (size_t)rw * rh * 3) == 0, "%dx%d -> %dx%d differs from the oracle",
                  w, h, rw, rh);
        free(full2);
        uint8_t *crop = malloc((size_t)p.crop_width * p.crop_height * 3);
        CHECK_MSG(preprocess_resize_crop(&p, img, w, h, &s, crop, &err) == 0, "%s", err.msg);
        int top = (int)floor((rh - p.crop_height) / 2.0), left = (int)floor((rw - p.crop_width) / 2.0);
        int bad = 0;
        for (int y = 0; y < p.crop_height; y++)
            for (int x = 0; x < p.crop_width; x++)
                for (int c = 0; c < 3; c++) {
                    int sy = y + top, sx = x + left;
                    int want = sy >= 0 && sy < rh && sx >= 0 && sx < rw
                                   ? full[((size_t)sy * rw + sx) * 3 + c]
                                   : 0;
                    if (crop[((size_t)y * p.crop_width + x) * 3 + c] != want) bad++;
                }
        CHECK_MSG(bad == 0, "%dx%d -> %dx%d crop %dx%d: %d values differ", w, h, rw, rh,
                  p.crop_width, p.crop_height, bad);
        free(full);
        free(crop);
        free(img);
    }
    preprocess_scratch_free(&s);
}

/* A constant image stays constant (coefficients sum to 1 in fixed point),
 * and the identity resize is the identity. */
static void test_constant_and_identity(void)
{
    uint8_t img[37 * 23 * 3], out[224 * 224 * 3];
    memset(img, 200, sizeof img);
    mm_error err = {0};
    CHECK(resample_bicubic_rgb(img, 37, 23, out, 224, 224, NULL, &err) == 0);
    int bad = 0;
    for (size_t i = 0; i < sizeof out; i++) bad += out[i] != 200;
    CHECK_EQ_INT(bad, 0);
    unsigned long long st = 7;
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)test_rand_u64(&st);
    uint8_t same[37 * 23 * 3];
    CHECK(resample_bicubic_rgb(img, 37, 23, same, 37, 23, NULL, &err) == 0);
    CHECK(memcmp(img, same, sizeof img) == 0);
}

/* Rescale/normalise in HF's order, value by value. */
static void test_normalize_order(void)
{
    preprocess_params p;
    preprocess_params_default(&p, 224);
    preprocess_scratch s;
    memset(&s, 0, sizeof s);
    uint8_t px[256 * 3];
    for (int v = 0; v < 256; v++) px[3 * v] = px[3 * v + 1] = px[3 * v + 2] = (uint8_t)v;
    float out[3 * 256];
    preprocess_normalize(&p, px, 256, 1, &s, out);
    int bad = 0;
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) {
            float x = (float)((double)v * (1.0 / 255.0));
            float want = (x - p.mean[c]) / p.std[c];
            if (memcmp(&want, &out[c * 256 + v], 4) != 0) bad++;
            /* README: float32(v)/255f gives the same rescaled float */
            if ((float)v / 255.0f != x) bad++;
        }
    CHECK_EQ_INT(bad, 0);
    p.do_normalize = false;
    preprocess_normalize(&p, px, 256, 1, &s, out); /* LUT must be rebuilt */
    CHECK(out[255] == 1.0f);
    preprocess_scratch_free(&s);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_config(void)
{
    char dir[] = "/tmp/test_resample.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char pc[256], cj[256];
    snprintf(pc, sizeof pc, "%s/preprocessor_config.json", dir);
    snprintf(cj, sizeof cj, "%s/config.json", dir);
    preprocess_params p;
    mm_error err = {0};
    int found = -1;
    /* No files at all: CLIP defaults at 224. */
    CHECK(preprocess_config_for_model(dir, &p, &found, &err) == 0);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(p.shortest_edge, 224);
    CHECK_EQ_INT(p.crop_width, 224);
    write_file(cj, "{\"vision_config\": {\"image_size\": 336}}");
    CHECK(preprocess_config_for_model(dir, &p, &found, &err) == 0);
    CHECK_EQ_INT(p.shortest_edge, 336);
    CHECK_EQ_INT(p.crop_height, 336);
    /* HF's openai/clip-vit-base-patch32 style (old int form). */
    write_file(pc, "{\"crop_size\": 224, \"do_center_crop\": true, \"do_normalize\": true,"
                   "\"do_resize\": true, \"feature_extractor_type\": \"CLIPFeatureExtractor\","
                   "\"image_mean\": [0.5, 0.25, 0.125], \"image_std\": [0.5, 0.5, 2],"
                   "\"resample\": 3, \"size\": 200}");
    CHECK_MSG(preprocess_config_for_model(dir, &p, &found, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(p.shortest_edge, 200);
    CHECK_EQ_INT(p.crop_width, 224);
    CHECK(p.mean[2] == 0.125f && p.std[2] == 2.0f);
    /* New dict form. */
    write_file(pc, "{\"size\": {\"shortest_edge\": 256}, \"crop_size\": {\"height\": 240, "
                   "\"width\": 250}, \"do_rescale\": true, \"rescale_factor\": 0.00392156862745098}");
    CHECK_MSG(preprocess_config_for_model(dir, &p, &found, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(p.shortest_edge, 256);
    CHECK_EQ_INT(p.crop_height, 240);
    CHECK_EQ_INT(p.crop_width, 250);
    /* Errors name the file and the key. */
    write_file(pc, "{\"resample\": 2}");
    CHECK(preprocess_config_for_model(dir, &p, &found, &err) != 0);
    CHECK(strstr(err.msg, "preprocessor_config.json: \"resample\"") != NULL);
    write_file(pc, "{\"image_std\": [1, 0, 1]}");
    CHECK(preprocess_config_for_model(dir, &p, &found, &err) != 0);
    CHECK(strstr(err.msg, "\"image_std\"[1]") != NULL);
    write_file(pc, "{\"size\": \"big\"}");
    CHECK(preprocess_config_for_model(dir, &p, &found, &err) != 0);
    CHECK(strstr(err.msg, "\"size\"") != NULL);
    write_file(pc, "{\"size\": 224,");
    CHECK(preprocess_config_for_model(dir, &p, &found, &err) != 0);
    CHECK(strstr(err.msg, "preprocessor_config.json:1:") != NULL);
    unlink(pc);
    unlink(cj);
    rmdir(dir);
}

int main(void)
{
    RUN(test_reference_pngs_and_jpeg);
    RUN(test_jpeg_decoded_uint8);
    RUN(test_resize_size);
    RUN(test_crop_window_equals_full_resize);
    RUN(test_constant_and_identity);
    RUN(test_normalize_order);
    RUN(test_config);
    return test_summary();
}
