/* bench-image-drift.c — how far two sets of pixel_values move CLIP image
 * embeddings (used by scripts/bench/bench-image to measure --fast-jpeg).
 *
 *   bench-image-drift MODEL_DIR DIR_A DIR_B
 *
 * For every NAME.npy in DIR_A (float32 [3,S,S]) and DIR_B/NAME.npy, encodes
 * both with the model's vision tower (lib/nn/clip.h) and prints the max and mean
 * |delta| of the projected embeddings (not normalised, as the reference's
 * image_embeds), and the min cosine of the normalised embeddings.
 * Built by bench-image against lib/libmm.a; not part of make. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "nn/clip.h"
#include "io/npy.h"

static float *load(const char *dir, const char *name, size_t want)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    npy_array a;
    mm_error err;
    if (npy_read(path, &a, &err) != 0) {
        fprintf(stderr, "bench-image-drift: %s\n", err.msg);
        exit(1);
    }
    if (a.dtype != NPY_F32 || a.count != want) {
        fprintf(stderr, "bench-image-drift: %s: expected %zu float32 values\n", path, want);
        exit(1);
    }
    return a.data;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-image-drift MODEL_DIR DIR_A DIR_B\n");
        return 2;
    }
    mm_error err;
    clip_model *m = clip_load_parts(argv[1], CLIP_VISION, &err);
    if (!m) {
        fprintf(stderr, "bench-image-drift: %s\n", err.msg);
        return 1;
    }
    const clip_config *c = clip_get_config(m);
    const int S = c->vision.image_size, P = c->projection_dim;
    const size_t n_px = (size_t)3 * S * S;
    DIR *d = opendir(argv[2]);
    if (!d) {
        perror(argv[2]);
        return 1;
    }
    double maxd = 0, sumd = 0, mincos = 1;
    size_t count = 0, values = 0;
    float *ea = malloc(sizeof(float) * P), *eb = malloc(sizeof(float) * P);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".npy") != 0) continue;
        float *a = load(argv[2], e->d_name, n_px), *b = load(argv[3], e->d_name, n_px);
        if (clip_encode_images(m, a, 1, ea, &err) != 0 || clip_encode_images(m, b, 1, eb, &err) != 0) {
            fprintf(stderr, "bench-image-drift: %s\n", err.msg);
            return 1;
        }
        for (int i = 0; i < P; i++) {
            double dd = fabs((double)ea[i] - eb[i]);
            if (dd > maxd) maxd = dd;
            sumd += dd;
            values++;
        }
        vec_l2_normalize(ea, (size_t)P);
        vec_l2_normalize(eb, (size_t)P);
        double dot = 0;
        for (int i = 0; i < P; i++) dot += (double)ea[i] * eb[i];
        if (dot < mincos) mincos = dot;
        count++;
        free(a);
        free(b);
    }
    closedir(d);
    printf("%zu images: image_embeds max |d| %.3g, mean |d| %.3g; min cosine %.8f\n", count, maxd,
           values ? sumd / values : 0.0, mincos);
    free(ea);
    free(eb);
    clip_free(m);
    return 0;
}
