/* test_image_pool.c — ordered, bounded decoding on the program's threads
 * (lib/image/image_pool.h, used only through its header): items come in
 * input order whatever the thread count and window; a bad file is reported
 * in its own slot and the others still arrive; 1 and N threads give the
 * same pixel_values bit for bit (and the same as image_process_file); the
 * owner can run fork-join jobs on the same mm_pool between items; stopping
 * early, at any point, is clean and the mm_pool stays usable.
 *
 * Inputs: the reference images of ../shared/ref/clip/images and a few of
 * ../shared/data/dev/images, plus bad files written to a temporary folder. */
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "image/image_pool.h"
#include "test.h"

enum { MAX_ITEMS = 32, SIDE = 64 };

static char dir[] = "/tmp/test_image_pool.XXXXXX";
static char *paths[MAX_ITEMS];
static int n_paths;
static int expect_bad[MAX_ITEMS]; /* 1: this slot must fail */

static void add(const char *path, int bad)
{
    paths[n_paths] = strdup(path);
    expect_bad[n_paths] = bad;
    n_paths++;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
}

/* The first `n` bytes of `src` into `dst`. */
static void truncated_copy(const char *src, const char *dst, size_t n)
{
    FILE *f = fopen(src, "rb");
    if (!f) abort();
    char *buf = malloc(n);
    size_t got = fread(buf, 1, n, f);
    fclose(f);
    write_file(dst, buf, got);
    free(buf);
}

static void make_inputs(void)
{
    const char *sh = test_shared_dir();
    char p[1024], q[1024];
    static const char *ref[] = {"checkerboard.png", "china.jpg", "gradient.png", "rgba_300x200.png",
                                "tall_200x500.png"};
    static const char *dev[] = {"d-i0001.jpg", "d-i0002.png", "d-i0109.jpg", "d-i0120.png",
                                "d-i0127.png", "d-i0182.png", "d-i0244.png", "d-i0273.png",
                                "d-i0302.jpg", "d-i0353.jpg", "d-i0361.png", "d-i0364.jpg"};
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
        snprintf(p, sizeof p, "%s/ref/clip/images/%s", sh, ref[i]);
        add(p, 0);
        if (i == 1) { /* slot 2: not an image at all */
            snprintf(q, sizeof q, "%s/notes.jpg", dir);
            write_file(q, "this is not a JPEG\n", 19);
            add(q, 1);
        }
    }
    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) {
        snprintf(p, sizeof p, "%s/data/dev/images/%s", sh, dev[i]);
        add(p, 0);
        if (i == 3) { /* a JPEG cut in half */
            snprintf(p, sizeof p, "%s/ref/clip/images/china.jpg", sh);
            snprintf(q, sizeof q, "%s/half.jpg", dir);
            truncated_copy(p, q, 196653 / 2);
            add(q, 1);
        }
        if (i == 7) { /* an empty file, and one that does not exist */
            snprintf(q, sizeof q, "%s/empty.png", dir);
            write_file(q, "", 0);
            add(q, 1);
            snprintf(q, sizeof q, "%s/missing.png", dir);
            add(q, 1);
        }
    }
    /* the last slot bad too: the end of the list is reached after an error */
    snprintf(q, sizeof q, "%s/truncated.png", dir);
    snprintf(p, sizeof p, "%s/ref/clip/images/tall_200x500.png", sh);
    truncated_copy(p, q, 1000);
    add(q, 1);
}

static void base_config(image_pool_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    image_decode_opts_init(&cfg->decode);
    preprocess_params_default(&cfg->prep, SIDE);
    cfg->want_pixel_values = true;
    cfg->want_crop_uint8 = true;
    cfg->want_decoded = true;
}

/* What a run delivered: per slot, ok, sizes, a copy of the tensors. */
typedef struct run_result {
    size_t count;
    int order_errors;
    int ok[MAX_ITEMS];
    int w[MAX_ITEMS], h[MAX_ITEMS], sw[MAX_ITEMS], sh[MAX_ITEMS];
    float px[MAX_ITEMS][3 * SIDE * SIDE];
    uint8_t crop[MAX_ITEMS][SIDE * SIDE * 3];
    char err[MAX_ITEMS][MM_ERROR_MAX];
} run_result;

static int sum_job_calls;
static _Atomic long sum_job_total;
static void sum_job(void *ctx, int thread, int begin, int end)
{
    (void)ctx;
    (void)thread;
    long s = 0;
    for (int i = begin; i < end; i++) s += i;
    atomic_fetch_add(&sum_job_total, s);
}

/* Runs the whole list; with `interleave`, the owner runs a fork-join job on
 * the same mm_pool after every item (as the engine does between images). */
static void run_all(mm_pool *mp, int window, int interleave, run_result *r)
{
    image_pool_config cfg;
    base_config(&cfg);
    cfg.pool = mp;
    cfg.window = window;
    mm_error err = {0};
    memset(r, 0, sizeof *r);
    image_pool *pool = image_pool_start((const char *const *)paths, (size_t)n_paths, &cfg, &err);
    CHECK_MSG(pool != NULL, "%s", err.msg);
    if (!pool) return;
    const image_pool_item *it;
    while ((it = image_pool_next(pool))) {
        size_t k = r->count++;
        if (k >= MAX_ITEMS || it->index != k || it->path != paths[k]) {
            r->order_errors++;
            if (k >= MAX_ITEMS) break;
            continue;
        }
        r->ok[k] = it->ok;
        if (it->ok) {
            r->w[k] = it->width;
            r->h[k] = it->height;
            r->sw[k] = it->src_width;
            r->sh[k] = it->src_height;
            if (it->width == SIDE && it->height == SIDE) {
                memcpy(r->px[k], it->pixel_values, sizeof r->px[k]);
                memcpy(r->crop[k], it->crop_uint8, sizeof r->crop[k]);
            }
            CHECK(it->decoded != NULL);
        } else {
            snprintf(r->err[k], sizeof r->err[k], "%s", it->err.msg);
        }
        if (interleave) {
            atomic_store(&sum_job_total, 0);
            mm_pool_for(mp, sum_job, NULL, 1000, 1e9, 0);
            sum_job_calls++;
            CHECK_EQ_INT(atomic_load(&sum_job_total), 999L * 1000 / 2);
        }
    }
    image_pool_stop(pool);
}

static run_result ref_run, other_run;

static void check_same(const run_result *a, const run_result *b, const char *what)
{
    CHECK_MSG(a->count == b->count, "%s: %zu items, want %zu", what, b->count, a->count);
    CHECK_MSG(b->order_errors == 0, "%s: %d items out of order", what, b->order_errors);
    int diff = 0;
    for (int k = 0; k < n_paths; k++) {
        diff += a->ok[k] != b->ok[k] || a->w[k] != b->w[k] || a->h[k] != b->h[k] ||
                a->sw[k] != b->sw[k] || a->sh[k] != b->sh[k];
        diff += memcmp(a->px[k], b->px[k], sizeof a->px[k]) != 0;
        diff += memcmp(a->crop[k], b->crop[k], sizeof a->crop[k]) != 0;
        diff += strcmp(a->err[k], b->err[k]) != 0;
    }
    CHECK_MSG(diff == 0, "%s: %d differences from the consumer-thread run", what, diff);
}

/* NULL pool: everything on the consumer's thread; the reference run. */
static void test_consumer_thread_in_order(void)
{
    run_all(NULL, 0, 0, &ref_run);
    CHECK_EQ_INT(ref_run.count, n_paths);
    CHECK_EQ_INT(ref_run.order_errors, 0);
    image_pool_config cfg;
    base_config(&cfg);
    image_worker_state ws;
    memset(&ws, 0, sizeof ws);
    static float px[3 * SIDE * SIDE];
    static uint8_t crop[SIDE * SIDE * 3];
    for (int k = 0; k < n_paths; k++) {
        mm_error err = {0};
        int rc = image_process_file(paths[k], &cfg.decode, &cfg.prep, &ws, crop, px, &err);
        CHECK_MSG((rc == 0) == !expect_bad[k], "slot %d (%s): rc %d", k, paths[k], rc);
        CHECK_MSG(ref_run.ok[k] == !expect_bad[k], "slot %d (%s): ok %d", k, paths[k], ref_run.ok[k]);
        if (rc == 0) {
            CHECK_EQ_INT(ref_run.w[k], SIDE);
            CHECK_EQ_INT(ref_run.h[k], SIDE);
            CHECK(memcmp(px, ref_run.px[k], sizeof px) == 0);
            CHECK(memcmp(crop, ref_run.crop[k], sizeof crop) == 0);
        } else {
            CHECK_EQ_STR(ref_run.err[k], err.msg);
        }
    }
    image_worker_state_free(&ws);
    /* the reference images have the sizes their names say */
    CHECK_EQ_INT(ref_run.sw[4], 300);
    CHECK_EQ_INT(ref_run.sh[4], 200);
    CHECK_EQ_INT(ref_run.sw[5], 200);
    CHECK_EQ_INT(ref_run.sh[5], 500);
}

/* A bad file is reported in its slot, naming the file, and does not stop or
 * shift the items after it. */
static void test_bad_files_in_their_slots(void)
{
    int bad = 0;
    for (int k = 0; k < n_paths; k++) {
        if (!expect_bad[k]) continue;
        bad++;
        CHECK_MSG(!ref_run.ok[k], "slot %d (%s) accepted", k, paths[k]);
        CHECK_MSG(strncmp(ref_run.err[k], paths[k], strlen(paths[k])) == 0 &&
                      ref_run.err[k][strlen(paths[k])] == ':',
                  "slot %d: message does not start with the path: %s", k, ref_run.err[k]);
        if (k + 1 < n_paths && !expect_bad[k + 1]) CHECK(ref_run.ok[k + 1]);
    }
    CHECK_EQ_INT(bad, 5);
    CHECK(!ref_run.ok[n_paths - 1]);
}

static void test_threads_identical(void)
{
    static const int threads[] = {2, 3, 4, 8};
    static const int windows[] = {0, 1, 2, 7, 100};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        mm_pool *mp = mm_pool_create(threads[t]);
        for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
            char what[64];
            snprintf(what, sizeof what, "%d threads, window %d", threads[t], windows[w]);
            run_all(mp, windows[w], 0, &other_run);
            check_same(&ref_run, &other_run, what);
        }
        mm_pool_free(mp);
    }
    /* window 1 on the consumer's thread too */
    run_all(NULL, 1, 0, &other_run);
    check_same(&ref_run, &other_run, "consumer thread, window 1");
}

static void test_shared_with_fork_join(void)
{
    mm_pool *mp = mm_pool_create(3);
    sum_job_calls = 0;
    run_all(mp, 0, 1, &other_run);
    check_same(&ref_run, &other_run, "3 threads with fork-join jobs between items");
    CHECK_EQ_INT(sum_job_calls, n_paths);
    /* two runs one after the other on the same mm_pool */
    run_all(mp, 2, 1, &other_run);
    check_same(&ref_run, &other_run, "second run on the same mm_pool");
    mm_pool_free(mp);
}

/* Stop after 0, 1, a few, the first error, all but one: nothing leaks or
 * hangs and the mm_pool can start the next run. */
static void test_stop_early(void)
{
    static const int threads[] = {1, 2, 4};
    static const size_t stops[] = {0, 1, 2, 3, 9, MAX_ITEMS};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        mm_pool *mp = threads[t] > 1 ? mm_pool_create(threads[t]) : NULL;
        for (size_t s = 0; s < sizeof stops / sizeof stops[0]; s++) {
            size_t stop = stops[s] == MAX_ITEMS ? (size_t)n_paths - 1 : stops[s];
            image_pool_config cfg;
            base_config(&cfg);
            cfg.pool = mp;
            cfg.window = (int)s % 3;
            mm_error err = {0};
            image_pool *pool =
                image_pool_start((const char *const *)paths, (size_t)n_paths, &cfg, &err);
            CHECK_MSG(pool != NULL, "%s", err.msg);
            if (!pool) continue;
            size_t k = 0;
            const image_pool_item *it;
            while (k < stop && (it = image_pool_next(pool))) {
                CHECK_EQ_INT(it->index, k);
                if (it->ok) CHECK(memcmp(it->pixel_values, ref_run.px[k], sizeof ref_run.px[k]) == 0);
                k++;
            }
            CHECK_EQ_INT(k, stop);
            image_pool_stop(pool);
        }
        /* and "stop at the first error", as mm-embed-image does */
        image_pool_config cfg;
        base_config(&cfg);
        cfg.pool = mp;
        mm_error err = {0};
        image_pool *pool = image_pool_start((const char *const *)paths, (size_t)n_paths, &cfg, &err);
        const image_pool_item *it;
        size_t first_bad = 0;
        while ((it = image_pool_next(pool)) && it->ok) first_bad++;
        CHECK_EQ_INT(first_bad, 2);
        image_pool_stop(pool);
        /* the mm_pool still works */
        run_all(mp, 0, 0, &other_run);
        check_same(&ref_run, &other_run, "a full run after the early stops");
        mm_pool_free(mp);
    }
}

static void test_empty_list(void)
{
    mm_pool *mp = mm_pool_create(2);
    for (int t = 0; t < 2; t++) {
        image_pool_config cfg;
        base_config(&cfg);
        cfg.pool = t ? mp : NULL;
        mm_error err = {0};
        image_pool *pool = image_pool_start((const char *const *)paths, 0, &cfg, &err);
        CHECK_MSG(pool != NULL, "%s", err.msg);
        if (!pool) continue;
        CHECK(image_pool_next(pool) == NULL);
        CHECK(image_pool_next(pool) == NULL);
        image_pool_stop(pool);
    }
    mm_pool_free(mp);
}

int main(void)
{
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/ref/clip/images", test_shared_dir());
    if (access(probe, R_OK) != 0) { /* a checkout without ../shared beside it */
        printf("ok 1 - # SKIP reference data not found under %s\n1..1\n", test_shared_dir());
        return 0;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_inputs();
    RUN(test_consumer_thread_in_order);
    RUN(test_bad_files_in_their_slots);
    RUN(test_threads_identical);
    RUN(test_shared_with_fork_join);
    RUN(test_stop_early);
    RUN(test_empty_list);
    for (int k = 0; k < n_paths; k++) {
        if (strncmp(paths[k], dir, strlen(dir)) == 0) unlink(paths[k]);
        free(paths[k]);
    }
    rmdir(dir);
    return test_summary();
}
