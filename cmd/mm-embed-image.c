/* mm-embed-image — images to CLIP image embeddings (MMF), or to pixel_values.
 *
 * The pipeline: inputs (files, directories, --list) -> image_pool (decode +
 * preprocess in worker threads, in input order) -> batches of equal-size
 * pixel_values with their ids -> process_batch(): the CLIP vision tower
 * (lib/nn/clip.h) and one MMF record per image, or the --dump-* writers.
 * --skip-existing OUT.mmf embeds only ids not yet in OUT.mmf and rewrites it
 * atomically as the old bytes plus one new segment.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vec.h"
#include "core/cli.h"
#include "core/pool.h"
#include "core/xalloc.h"
#include "nn/clip.h"
#include "image/image.h"
#include "image/image_pool.h"
#include "io/mmf.h"
#include "io/npy.h"
#include "image/preprocess_config.h"
#include "image/resample.h"

static const char USAGE[] =
    "Usage: mm-embed-image [OPTION]... IMAGE|DIR...\n"
    "       mm-embed-image [OPTION]... --list FILE [IMAGE|DIR]...\n"
    "Embed JPEG/PNG images with the vision tower of a CLIP model and write the\n"
    "embeddings as an MMF stream, in input order. Images are decoded in worker\n"
    "threads and preprocessed exactly as Pillow + Hugging Face CLIPImageProcessor\n"
    "do (resize of the short side with Pillow BICUBIC, centre crop, rescale,\n"
    "normalise). A DIR is searched recursively for *.jpg, *.jpeg, *.jpe,\n"
    "*.jfif and *.png (sorted by path, hidden entries skipped); a file named on the\n"
    "command line is decoded whatever its name. The format comes from the bytes.\n"
    "\n"
    "Model:\n"
    "  -m, --model DIR          Hugging Face CLIP directory (config.json, model.safetensors,\n"
    "                           preprocessor_config.json); default: $MM_MODEL. Its\n"
    "                           preprocessor_config.json (or config.json's vision\n"
    "                           image_size) sets the preprocessing (without a model,\n"
    "                           for --check and --dump-*: CLIP defaults at 224 px)\n"
    "Embeddings (the default output):\n"
    "  -o, --output FILE        write the MMF stream to FILE atomically (default: stdout)\n"
    "      --skip-existing FILE embed only the images whose id is not already in the\n"
    "                           MMF file FILE and append them to it as a new segment\n"
    "                           (atomically; FILE is created if missing)\n"
    "      --no-normalize       keep the projected embeddings (default: L2-normalised)\n"
    "      --dtype f32|f16      element type of the MMF output (default: f32)\n"
    "      --precision P        f32 (default) or bf16: the linear layers in bfloat16\n"
    "                           (AVX512_BF16 CPUs; about twice the matrix speed, the\n"
    "                           embeddings drift from f32's: see README \"bf16\")\n"
    "Other outputs (instead of embeddings):\n"
    "      --check              decode and preprocess every input, write nothing\n"
    "                           (validates a collection; timing)\n"
    "      --dump-pixels OUTDIR       write OUTDIR/NAME.npy, float32 [3,H,W] pixel_values\n"
    "      --dump-pixels-uint8 OUTDIR write OUTDIR/NAME.npy, uint8 [H,W,3] after resize\n"
    "                                 and crop, before rescaling\n"
    "                           NAME is the file name without extension, or the id\n"
    "                           of an 'id<TAB>path' --list line; two inputs with one\n"
    "                           NAME are an error.\n"
    "Inputs:\n"
    "      --list FILE          read 'id<TAB>path' lines (or 'path' lines) from FILE\n"
    "                           ('-' = stdin); relative paths are relative to FILE's\n"
    "                           directory when FILE is a regular file, and to the\n"
    "                           current directory for stdin, a pipe or <(find ...)\n"
    "      --id-stem            ids are file names without extension ('dir/img12.jpg'\n"
    "                           -> 'img12', as qrels usually name images)\n"
    "                           Record ids: an 'id<TAB>path' line's id is its id;\n"
    "                           any other input (a file, a file found in a DIR, a\n"
    "                           'path' line) has the path as given or found (for a\n"
    "                           list line: as written), or its stem with --id-stem\n"
    "      --max-pixels N       refuse images with more than N pixels, checked from\n"
    "                           the header before decoding (default: 100000000; 0 = no limit)\n"
    "      --lenient            accept JPEGs with recoverable damage (libjpeg warnings,\n"
    "                           e.g. a truncated file); default: such files are errors\n"
    "      --exif-rotate        apply the EXIF orientation (default: ignored, as in the\n"
    "                           Hugging Face pipeline)\n"
    "      --fast-jpeg          let libjpeg-turbo downscale large JPEGs by 1/2, 1/4 or 1/8\n"
    "                           in the DCT before the exact resize (faster; changes the\n"
    "                           pixels slightly; default: off)\n"
    "      --keep-going         report unreadable images as warnings, skip them and go\n"
    "                           on; if any was skipped the exit status is 3\n"
    "                           (default: the first one stops with status 1)\n"
    "      --skip-bad           the same, but the exit status stays 0\n"
    "Running:\n"
    "  -t, --threads N          threads in all, shared by decoding and the model\n"
    "                           (default: number of CPUs, at most 16)\n"
    "  -b, --batch-size N       images per batch handed to the model step (default: 32)\n"
    "  -q, --quiet              no progress line\n"
    "      --progress           progress line even when stderr is not a terminal\n"
    "  -h, --help               show this help and exit\n"
    "  -V, --version            show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 an image or the model directory could not be read\n"
    "(message 'mm-embed-image: PATH: reason', preceded by 'LIST:LINE: ' for an\n"
    "image named in --list), 2 usage error, 3 --keep-going\n"
    "skipped some images (the output holds the others).\n";

typedef struct params {
    const char *model_dir;       /* --model: NULL = CLIP defaults */
    const char *dump_pixels;     /* --dump-pixels OUTDIR */
    const char *dump_uint8;      /* --dump-pixels-uint8 OUTDIR */
    bool check;                  /* --check: no output */
    const char *list;            /* --list FILE */
    bool id_stem;                /* --id-stem: ids of file/dir inputs are stems */
    unsigned long long max_pixels; /* --max-pixels, IMAGE_DEFAULT_MAX_PIXELS */
    bool lenient;                /* --lenient */
    bool exif_rotate;            /* --exif-rotate */
    bool fast_jpeg;              /* --fast-jpeg */
    bool skip_bad;               /* --skip-bad, --keep-going */
    bool keep_going;             /* --keep-going: exit status 3 if any was skipped */
    const char *output;          /* -o: NULL = stdout */
    const char *skip_existing;   /* --skip-existing FILE */
    bool no_normalize;           /* --no-normalize */
    bool bf16;                   /* --precision bf16 */
    int dtype;                   /* --dtype: MMF_F32 */
    bool embed;                  /* no --check/--dump-*: the model step */
    int threads;                 /* -t: online CPUs, at most 16 */
    int batch_size;              /* -b: 32 */
} params;

/* ---- inputs ------------------------------------------------------------------ */

typedef struct input {
    char *path; /* what is opened */
    char *id;   /* the record id: the path, or the --list id */
    char *name; /* dump file name (no directory, no extension) */
    long line;  /* its --list line, 0 for a command-line input */
} input;

typedef struct input_list {
    input *items;
    size_t count, cap;
} input_list;

static void add_input(input_list *l, char *path, char *id, char *name)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->count++] = (input){path, id, name, 0};
}

static void input_list_free(input_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        if (l->items[i].id != l->items[i].path) free(l->items[i].id);
        free(l->items[i].path);
        free(l->items[i].name);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* "dir/photo.v2.jpg" -> "photo.v2" */
static char *stem_of(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = xstrdup(b);
    char *dot = strrchr(s, '.');
    if (dot && dot != s) *dot = 0;
    return s;
}

static bool has_image_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return false;
    static const char *ext[] = {".jpg", ".jpeg", ".jpe", ".jfif", ".png"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0) return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Recursive, entries sorted by name (byte order) at each level. */
static void walk_dir(input_list *l, const char *dir, int depth)
{
    if (depth > 64) cli_fatal("%s: directories nested too deeply (symlink loop?)", dir);
    DIR *d = opendir(dir);
    if (!d) cli_fatal("%s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    size_t dl = strlen(dir);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    for (size_t i = 0; i < n; i++) {
        size_t len = dl + 1 + strlen(names[i]) + 1;
        char *p = xmalloc(len);
        snprintf(p, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
        struct stat st;
        if (stat(p, &st) != 0) {
            /* a dangling symlink is not an image we were asked for */
            free(p);
        } else if (S_ISDIR(st.st_mode)) {
            walk_dir(l, p, depth + 1);
            free(p);
        } else if (S_ISREG(st.st_mode) && has_image_extension(names[i])) {
            add_input(l, p, p, stem_of(p));
        } else {
            free(p);
        }
        free(names[i]);
    }
    free(names);
}

static void read_list(input_list *l, const char *list, bool id_stem)
{
    FILE *fp = cli_open_input(list);
    const char *lname = cli_input_name(list);
    char *base = NULL; /* directory relative paths are resolved against */
    /* Only a list that is a regular file has a directory of its own. A pipe,
     * a process substitution (/dev/fd/63) or a terminal was written by the
     * user's shell in the current directory, so its paths are relative to it. */
    struct stat lst;
    bool regular = fstat(fileno(fp), &lst) == 0 && S_ISREG(lst.st_mode);
    if (list && strcmp(list, "-") != 0 && regular) {
        const char *slash = strrchr(list, '/');
        if (slash) base = xstrndup(list, (size_t)(slash - list) + 1);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    while ((len = getline(&line, &cap, fp)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        if (memchr(line, 0, (size_t)len))
            cli_fatal("%s:%ld: NUL byte in line", lname, lineno);
        char *tab = strchr(line, '\t');
        const char *id = line, *path = line;
        if (tab) {
            *tab = 0;
            path = tab + 1;
            if (strchr(path, '\t'))
                cli_fatal("%s:%ld: expected 'id<TAB>path', found more than 2 fields", lname, lineno);
            if (!*id) cli_fatal("%s:%ld: empty id", lname, lineno);
            if (!*path) cli_fatal("%s:%ld: empty path", lname, lineno);
        }
        char *full;
        if (path[0] != '/' && base) {
            size_t n = strlen(base) + strlen(path) + 1;
            full = xmalloc(n);
            snprintf(full, n, "%s%s", base, path);
        } else {
            full = xstrdup(path);
        }
        /* A path-only line gets its id as a path argument would: the path as
         * written, or its stem with --id-stem. */
        char *idc = tab || !id_stem ? xstrdup(id) : stem_of(path);
        /* With --list the id names the dump file, so it must be a plain name. */
        char *name = tab ? xstrdup(id) : stem_of(path);
        add_input(l, full, idc, name);
        l->items[l->count - 1].line = lineno;
    }
    if (ferror(fp)) cli_fatal("%s: read error: %s", lname, strerror(errno));
    if (fp != stdin) fclose(fp);
    free(line);
    free(base);
}

static int cmp_input_name(const void *a, const void *b)
{
    const input *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x < y ? -1 : x > y);
}

/* Dump names must be usable file names and distinct, checked before any work. */
static void check_dump_names(const input_list *l, const char *outdir)
{
    for (size_t i = 0; i < l->count; i++) {
        const char *n = l->items[i].name;
        if (!*n || strchr(n, '/') || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            cli_fatal("%s: '%s' cannot be used as a dump file name (ids used as names must "
                      "be non-empty and contain no '/')",
                      l->items[i].path, n);
    }
    input *sorted = xmalloc(l->count * sizeof *sorted + 1);
    memcpy(sorted, l->items, l->count * sizeof *sorted);
    qsort(sorted, l->count, sizeof *sorted, cmp_input_name);
    for (size_t i = 1; i < l->count; i++)
        if (strcmp(sorted[i - 1].name, sorted[i].name) == 0)
            cli_fatal("%s/%s.npy: two inputs would be written here: %s and %s", outdir,
                      sorted[i].name, sorted[i - 1].path, sorted[i].path);
    free(sorted);
}

/* mkdir -p */
static void ensure_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) cli_fatal("%s: not a directory", dir);
        return;
    }
    char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) cli_fatal("%s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) cli_fatal("%s: %s", p, strerror(errno));
    free(p);
}

/* ---- batches -------------------------------------------------------------------
 * A batch holds up to batch_size images of one size: pixel_values contiguous
 * [count, 3, height, width] float32 (what a vision transformer takes), the
 * uint8 crops when asked for, and each image's id and dump name. */
typedef struct image_batch {
    size_t count, capacity;
    int width, height;
    float *pixel_values;
    uint8_t *crop_uint8; /* NULL unless --dump-pixels-uint8 */
    const char **ids;
    const char **names;
} image_batch;

static void write_npy(const char *outdir, const char *name, int dtype, int ndim,
                      const size_t *shape, const void *data)
{
    size_t n = strlen(outdir) + strlen(name) + 6;
    char *path = xmalloc(n);
    snprintf(path, n, "%s/%s.npy", outdir, name);
    cli_output *out = cli_output_open(path);
    mm_error err = {0};
    if (npy_write_fp(cli_output_fp(out), path, dtype, ndim, shape, data, &err) != 0)
        cli_fatal("%s", err.msg);
    cli_output_commit(out);
    free(path);
}

static void dump_batch(const params *P, const image_batch *b)
{
    const size_t plane = (size_t)b->width * b->height;
    for (size_t i = 0; i < b->count; i++) {
        if (P->dump_pixels) {
            size_t shape[3] = {3, (size_t)b->height, (size_t)b->width};
            write_npy(P->dump_pixels, b->names[i], NPY_F32, 3, shape,
                      b->pixel_values + i * 3 * plane);
        }
        if (P->dump_uint8) {
            size_t shape[3] = {(size_t)b->height, (size_t)b->width, 3};
            write_npy(P->dump_uint8, b->names[i], NPY_U8, 3, shape, b->crop_uint8 + i * 3 * plane);
        }
    }
}

/* ---- the model step ------------------------------------------------------------
 * process_batch() receives every batch, in input order: b->count images of
 * b->width x b->height, b->pixel_values = [count,3,H,W] float32 exactly as HF
 * CLIPImageProcessor produces them, b->ids[i] the record ids. The vision
 * tower turns them into embeddings, written as one MMF record each. */
typedef struct embed_state {
    mm_pool *pool;     /* the -t threads: decoding and the model share them */
    clip_model *model;
    int dim, image_size;
    float *embeds;     /* [batch_size, dim] */
    cli_output *out;
    mmf_writer *writer;
    char **existing;   /* --skip-existing: sorted ids already in the file */
    size_t n_existing;
} embed_state;
static embed_state E;

static void embed_batch(const params *P, const image_batch *b)
{
    mm_error err = {0};
    if (b->width != E.image_size || b->height != E.image_size)
        cli_fatal("%s: preprocessing gives %dx%d pixel_values but the model takes %dx%d (check "
                  "preprocessor_config.json against config.json)",
                  b->ids[0], b->width, b->height, E.image_size, E.image_size);
    if (clip_encode_images(E.model, b->pixel_values, (int)b->count, E.embeds, &err) < 0)
        cli_fatal("%s: %s", b->ids[0], err.msg);
    if (!P->no_normalize) vec_l2_normalize_rows(E.embeds, (size_t)((int)b->count), (size_t)(E.dim));
    for (size_t i = 0; i < b->count; i++)
        if (mmf_write(E.writer, b->ids[i], strlen(b->ids[i]), E.embeds + i * (size_t)E.dim, &err) < 0)
            cli_fatal("%s", err.msg);
}

static void process_batch(const params *P, const image_batch *b)
{
    if (b->count == 0) return;
    if (P->dump_pixels || P->dump_uint8) dump_batch(P, b);
    if (P->embed) embed_batch(P, b);
}

/* --skip-existing: reads every id of an existing MMF file (verifying the
 * whole stream, so that a damaged file is not appended to), copies its bytes
 * to the output, and checks that it holds this model's embeddings. */
static void load_existing(const params *P, FILE *copy_to)
{
    mm_error err = {0};
    mmf_reader *r = mmf_open(P->skip_existing, &err);
    if (!r) cli_fatal("%s", err.msg);
    mmf_record rec;
    int rc;
    size_t cap = 0;
    while ((rc = mmf_next(r, &rec, &err)) == 1) {
        if (E.n_existing == cap) {
            cap = cap ? 2 * cap : 1024;
            E.existing = xrealloc(E.existing, cap * sizeof *E.existing);
        }
        E.existing[E.n_existing++] = xstrdup(rec.id);
    }
    if (rc < 0) cli_fatal("%s (not appending to a damaged file)", err.msg);
    const mmf_header *h = mmf_header_of(r);
    if (h) {
        const char *model = mmf_header_get(h, "model");
        if (h->dim != (uint32_t)E.dim)
            cli_fatal("%s: holds %u-dimensional vectors, the model gives %d", P->skip_existing, h->dim, E.dim);
        if (model && strcmp(model, clip_model_id(E.model)) != 0)
            cli_fatal("%s: holds embeddings of model '%s', not '%s'", P->skip_existing, model,
                      clip_model_id(E.model));
    }
    mmf_close(r);
    qsort(E.existing, E.n_existing, sizeof *E.existing, cmp_str);
    /* The old bytes, unchanged, come first in the new file. */
    FILE *fp = fopen(P->skip_existing, "rb");
    if (!fp) cli_fatal("%s: %s", P->skip_existing, strerror(errno));
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        if (fwrite(buf, 1, n, copy_to) != n) cli_fatal("%s: write error", P->skip_existing);
    if (ferror(fp)) cli_fatal("%s: read error", P->skip_existing);
    fclose(fp);
}

static bool is_existing(const char *id)
{
    return E.n_existing && bsearch(&id, E.existing, E.n_existing, sizeof *E.existing, cmp_str) != NULL;
}

static void batch_reserve(image_batch *b, size_t capacity, int w, int h, bool want_uint8)
{
    size_t plane = (size_t)w * h;
    free(b->pixel_values);
    free(b->crop_uint8);
    b->pixel_values = xmalloc(capacity * 3 * plane * sizeof(float));
    b->crop_uint8 = want_uint8 ? xmalloc(capacity * 3 * plane) : NULL;
    if (!b->ids) {
        b->ids = xcalloc(capacity, sizeof *b->ids);
        b->names = xcalloc(capacity, sizeof *b->names);
    }
    b->capacity = capacity;
    b->width = w;
    b->height = h;
}

static int run(const params *P, const preprocess_params *prep, const input_list *in)
{
    const char **paths = xmalloc((in->count + 1) * sizeof *paths);
    for (size_t i = 0; i < in->count; i++) paths[i] = in->items[i].path;

    image_pool_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.pool = E.pool;
    /* With other threads, a window of the next batch and a few more lets them
     * decode it while the model runs this one. With -t 1 nothing decodes
     * ahead (the one thread decodes each image when it is asked for), so a
     * larger window would only be memory: 34 slots of 750 KB at 224 px,
     * whose first touch alone cost ~6,000 page faults. */
    int threads = mm_pool_threads(E.pool);
    cfg.window = threads > 1 ? 2 * threads + P->batch_size : 1;
    image_decode_opts_init(&cfg.decode);
    cfg.decode.max_pixels = P->max_pixels;
    cfg.decode.lenient = P->lenient;
    cfg.decode.exif_rotate = P->exif_rotate;
    if (P->fast_jpeg) {
        /* Keep both sides >= the resize target so the exact resize still
         * downsamples (never upsamples) what libjpeg produced. */
        int target = prep->shortest_edge > 0 ? prep->shortest_edge
                     : prep->resize_height > prep->resize_width ? prep->resize_height
                                                                : prep->resize_width;
        cfg.decode.jpeg_scale_min_side = prep->do_resize && target > 0 ? target : 0;
    }
    cfg.prep = *prep;
    cfg.want_pixel_values = true;
    cfg.want_crop_uint8 = P->dump_uint8 != NULL;

    mm_error err = {0};
    image_pool *pool = image_pool_start(paths, in->count, &cfg, &err);
    if (!pool) cli_fatal("%s", err.msg);

    image_batch batch;
    memset(&batch, 0, sizeof batch);
    size_t done = 0, skipped = 0;
    const image_pool_item *it;
    while ((it = image_pool_next(pool))) {
        done++;
        if (!it->ok) {
            /* An image named by a --list line is reported with that line, so
             * that a bad entry can be found in the list. */
            char where[512] = "";
            long line = in->items[it->index].line;
            if (line > 0) snprintf(where, sizeof where, "%s:%ld: ", cli_input_name(P->list), line);
            if (!P->skip_bad) {
                mm_error e = it->err; /* the item dies with the pool */
                image_pool_stop(pool);
                cli_fatal("%s%s", where, e.msg);
            }
            cli_warn("%s%s (skipped)", where, it->err.msg);
            skipped++;
            continue;
        }
        if (batch.count > 0 && (it->width != batch.width || it->height != batch.height)) {
            process_batch(P, &batch);
            batch.count = 0;
        }
        if (batch.count == 0 && (it->width != batch.width || it->height != batch.height ||
                                 !batch.pixel_values))
            batch_reserve(&batch, (size_t)P->batch_size, it->width, it->height, cfg.want_crop_uint8);
        size_t plane = (size_t)it->width * it->height;
        memcpy(batch.pixel_values + batch.count * 3 * plane, it->pixel_values,
               3 * plane * sizeof(float));
        if (batch.crop_uint8)
            memcpy(batch.crop_uint8 + batch.count * 3 * plane, it->crop_uint8, 3 * plane);
        batch.ids[batch.count] = in->items[it->index].id;
        batch.names[batch.count] = in->items[it->index].name;
        batch.count++;
        if (batch.count == batch.capacity) {
            process_batch(P, &batch);
            batch.count = 0;
        }
        cli_progress("%zu/%zu images", done, in->count);
    }
    process_batch(P, &batch);
    image_pool_stop(pool);
    cli_progress_done("%zu/%zu images%s", done, in->count, skipped ? " (some skipped)" : "");
    if (skipped && P->keep_going) cli_warn("%zu of %zu images skipped", skipped, in->count);
    free(batch.pixel_values);
    free(batch.crop_uint8);
    free(batch.ids);
    free(batch.names);
    free(paths);
    return skipped && P->keep_going ? 3 : 0;
}

int main(int argc, char **argv)
{
    cli_init("mm-embed-image");
    params P = {
        .max_pixels = IMAGE_DEFAULT_MAX_PIXELS,
        .threads = cli_default_threads(16),
        .batch_size = 32,
    };
    enum { OPT_DUMP = 256, OPT_DUMP_U8, OPT_LIST, OPT_MAXPX, OPT_LENIENT, OPT_EXIF, OPT_FAST,
           OPT_SKIP, OPT_PROGRESS, OPT_CHECK, OPT_KEEP, OPT_SKIP_EXISTING, OPT_NO_NORM, OPT_DTYPE, OPT_ID_STEM, OPT_PRECISION };
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},
        {"dump-pixels", required_argument, 0, OPT_DUMP},
        {"dump-pixels-uint8", required_argument, 0, OPT_DUMP_U8},
        {"check", no_argument, 0, OPT_CHECK},
        {"list", required_argument, 0, OPT_LIST},
        {"max-pixels", required_argument, 0, OPT_MAXPX},
        {"lenient", no_argument, 0, OPT_LENIENT},
        {"exif-rotate", no_argument, 0, OPT_EXIF},
        {"fast-jpeg", no_argument, 0, OPT_FAST},
        {"id-stem", no_argument, 0, OPT_ID_STEM},
        {"skip-bad", no_argument, 0, OPT_SKIP},
        {"keep-going", no_argument, 0, OPT_KEEP},
        {"output", required_argument, 0, 'o'},
        {"skip-existing", required_argument, 0, OPT_SKIP_EXISTING},
        {"no-normalize", no_argument, 0, OPT_NO_NORM},
        {"dtype", required_argument, 0, OPT_DTYPE},
        {"precision", required_argument, 0, OPT_PRECISION},
        {"threads", required_argument, 0, 't'},
        {"batch-size", required_argument, 0, 'b'},
        {"quiet", no_argument, 0, 'q'},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;
    P.dtype = MMF_F32;
    while ((c = getopt_long(argc, argv, "m:o:t:b:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': P.model_dir = optarg; break;
        case OPT_DUMP: P.dump_pixels = optarg; break;
        case OPT_DUMP_U8: P.dump_uint8 = optarg; break;
        case OPT_LIST: P.list = optarg; break;
        case OPT_CHECK: P.check = true; break;
        case OPT_MAXPX:
            P.max_pixels = (unsigned long long)cli_parse_long("--max-pixels", optarg, 0, LONG_MAX);
            break;
        case OPT_LENIENT: P.lenient = true; break;
        case OPT_EXIF: P.exif_rotate = true; break;
        case OPT_FAST: P.fast_jpeg = true; break;
        case OPT_ID_STEM: P.id_stem = true; break;
        case OPT_SKIP: P.skip_bad = true; break;
        case OPT_KEEP: P.skip_bad = P.keep_going = true; break;
        case 'o': P.output = optarg; break;
        case OPT_SKIP_EXISTING: P.skip_existing = optarg; break;
        case OPT_NO_NORM: P.no_normalize = true; break;
        case OPT_PRECISION:
            if (strcmp(optarg, "bf16") == 0) P.bf16 = true;
            else if (strcmp(optarg, "f32") == 0) P.bf16 = false;
            else cli_usage_error("option --precision: '%s' is not f32 or bf16", optarg);
            break;
        case OPT_DTYPE:
            P.dtype = mmf_dtype_parse(optarg);
            if (!P.dtype) cli_usage_error("option --dtype: '%s' is not f32 or f16", optarg);
            break;
        case 't': P.threads = (int)cli_parse_long("--threads", optarg, 1, 256); break;
        case 'b': P.batch_size = (int)cli_parse_long("--batch-size", optarg, 1, 4096); break;
        case 'q': cli_quiet = true; cli_progress_set(0); break;
        case OPT_PROGRESS: cli_progress_set(1); break;
        case 'h': fputs(USAGE, stdout); return MM_EXIT_OK;
        case 'V': cli_version();
        default: cli_usage_hint();
        }
    }
    P.embed = !P.dump_pixels && !P.dump_uint8 && !P.check;
    if (!P.embed && (P.output || P.skip_existing || P.no_normalize))
        cli_usage_error("-o, --skip-existing and --no-normalize are for embeddings, not with "
                        "--check or --dump-*");
    if (P.skip_existing && P.output && strcmp(P.output, P.skip_existing) != 0)
        cli_usage_error("--skip-existing FILE writes FILE: -o names another file");
    if (P.skip_existing) P.output = P.skip_existing;
    if (P.embed && !P.model_dir) P.model_dir = getenv("MM_MODEL");
    if (P.embed && (!P.model_dir || !*P.model_dir))
        cli_usage_error("no model: use --model DIR (or set MM_MODEL), or --check / --dump-pixels");
    if (optind == argc && !P.list) cli_usage_error("no input images");

    preprocess_params prep;
    mm_error err = {0};
    if (P.model_dir) {
        struct stat st;
        if (stat(P.model_dir, &st) != 0) cli_fatal("%s: %s", P.model_dir, strerror(errno));
        if (!S_ISDIR(st.st_mode)) cli_fatal("%s: not a directory", P.model_dir);
        if (preprocess_config_for_model(P.model_dir, &prep, NULL, &err) != 0)
            cli_fatal("%s", err.msg);
    } else {
        preprocess_params_default(&prep, 224);
    }

    input_list in = {0};
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) cli_fatal("%s: %s", argv[i], strerror(errno));
        if (S_ISDIR(st.st_mode)) walk_dir(&in, argv[i], 0);
        else add_input(&in, xstrdup(argv[i]), NULL, stem_of(argv[i]));
    }
    /* Before --list is read, every id is unset or the path itself. */
    for (size_t i = 0; i < in.count; i++)
        in.items[i].id = P.id_stem ? xstrdup(in.items[i].name) : in.items[i].path;
    if (P.list) read_list(&in, P.list, P.id_stem);
    if (in.count == 0) cli_fatal("no images found in the inputs given");

    if (P.dump_pixels) {
        check_dump_names(&in, P.dump_pixels);
        ensure_dir(P.dump_pixels);
    }
    if (P.dump_uint8) {
        check_dump_names(&in, P.dump_uint8);
        ensure_dir(P.dump_uint8);
    }
    E.pool = mm_pool_create(P.threads);
    if (P.embed) {
        E.model = clip_load_parts(P.model_dir, CLIP_VISION, &err);
        if (!E.model) cli_fatal("%s", err.msg);
        if (P.bf16 && clip_use_bf16(E.model, &err)) cli_fatal("--precision bf16: %s", err.msg);
        clip_set_pool(E.model, E.pool);
        E.dim = clip_get_config(E.model)->projection_dim;
        E.image_size = clip_get_config(E.model)->vision.image_size;
        E.embeds = xmalloc((size_t)P.batch_size * E.dim * sizeof(float));
        struct stat st;
        bool append = P.skip_existing && stat(P.skip_existing, &st) == 0;
        E.out = cli_output_open(P.output);
        if (append) {
            load_existing(&P, cli_output_fp(E.out));
            /* keep only the new ids */
            size_t kept = 0;
            for (size_t i = 0; i < in.count; i++) {
                input *it = &in.items[i];
                if (is_existing(it->id)) {
                    if (it->id != it->path) free(it->id);
                    free(it->path);
                    free(it->name);
                } else {
                    in.items[kept++] = in.items[i];
                }
            }
            if (!cli_quiet)
                cli_warn("%zu of %zu images already in %s: not embedded again", in.count - kept, in.count, P.skip_existing);
            in.count = kept;
            if (kept == 0) {
                /* nothing new: the file stays exactly as it was */
                cli_output_abort(E.out);
                input_list_free(&in);
                clip_free(E.model);
                mm_pool_free(E.pool);
                free(E.embeds);
                for (size_t i = 0; i < E.n_existing; i++) free(E.existing[i]);
                free(E.existing);
                return MM_EXIT_OK;
            }
        }
        mmf_header h;
        mmf_header_init(&h, (uint32_t)E.dim, P.dtype, P.no_normalize ? 0 : MMF_FLAG_NORMALIZED);
        mmf_header_set(&h, "model", clip_model_id(E.model));
        if (P.bf16) mmf_header_set(&h, "precision", "bf16");
        mmf_header_set(&h, "modality", "image");
        mmf_header_set(&h, "producer", "mm-embed-image " MM_VERSION);
        E.writer = mmf_writer_open(cli_output_fp(E.out), cli_output_name(E.out), &h, &err);
        mmf_header_free(&h);
        if (!E.writer) cli_fatal("%s", err.msg);
    }
    int status = run(&P, &prep, &in);
    if (P.embed) {
        if (mmf_writer_close(E.writer, &err) < 0) cli_fatal("%s", err.msg);
        cli_output_commit(E.out);
        clip_free(E.model);
        free(E.embeds);
        for (size_t i = 0; i < E.n_existing; i++) free(E.existing[i]);
        free(E.existing);
    }
    mm_pool_free(E.pool);
    input_list_free(&in);
    return status;
}
