/* image_pool.c — see image_pool.h. */
#include "image/image_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void image_worker_state_free(image_worker_state *w)
{
    image_free(&w->img);
    preprocess_scratch_free(&w->prep);
}

int image_process_file(const char *path, const image_decode_opts *dopts,
                       const preprocess_params *prep, image_worker_state *w,
                       uint8_t *crop_uint8, float *pixel_values, mm_error *err)
{
    if (image_decode_file(path, dopts, &w->img, err) != 0) return -1;
    if (preprocess_image(prep, w->img.rgb, w->img.width, w->img.height, &w->prep, crop_uint8,
                         pixel_values, err) != 0) {
        /* resample messages carry no file name */
        char msg[MM_ERROR_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        return mm_fail(err, err ? err->kind : MM_ERR_MALFORMED, "%s: %s", path, msg);
    }
    return 0;
}

struct slot {
    image_pool_item item;
    bool done;
    size_t pv_cap, crop_cap, dec_cap; /* element counts */
};

struct image_pool {
    const char *const *paths;
    size_t n;
    image_pool_config cfg;
    int window;
    struct slot *slots;
    image_worker_state *scratch; /* [threads of the pool], one per thread */
    pthread_mutex_t mu;
    pthread_cond_t cv_done;   /* consumer: an item finished */
    size_t next_claim;        /* next index a task takes */
    size_t submitted;         /* tasks handed to the pool */
    size_t finished;          /* tasks that have returned */
    size_t next_deliver;
    bool stop;
};

static int ensure(void **p, size_t *cap, size_t n, size_t elem)
{
    if (*cap >= n && *p) return 0;
    void *q = malloc(n * elem > 0 ? n * elem : 1);
    if (!q) return -1;
    free(*p);
    *p = q;
    *cap = n;
    return 0;
}

static void process(image_pool *pool, image_worker_state *w, struct slot *s, size_t i)
{
    image_pool_item *it = &s->item;
    const image_pool_config *c = &pool->cfg;
    it->index = i;
    it->path = pool->paths[i];
    it->ok = false;
    it->err.kind = MM_ERR_NONE;
    it->err.msg[0] = 0;
    it->width = it->height = it->src_width = it->src_height = 0;
    if (image_decode_file(it->path, &c->decode, &w->img, &it->err) != 0) return;
    it->src_width = w->img.width;
    it->src_height = w->img.height;
    int ow, oh;
    preprocess_output_size(&c->prep, w->img.width, w->img.height, &ow, &oh);
    size_t npx = (size_t)ow * oh;
    if (ow <= 0 || oh <= 0 || npx > SIZE_MAX / 16) {
        mm_fail(&it->err, MM_ERR_LIMIT, "%s: preprocessed size %dx%d is out of range", it->path, ow, oh);
        return;
    }
    if ((c->want_pixel_values &&
         ensure((void **)&it->pixel_values, &s->pv_cap, 3 * npx, sizeof(float)) != 0) ||
        ensure((void **)&it->crop_uint8, &s->crop_cap, 3 * npx, 1) != 0 ||
        (c->want_decoded && ensure((void **)&it->decoded, &s->dec_cap,
                                   (size_t)w->img.width * w->img.height * 3, 1) != 0)) {
        mm_fail(&it->err, MM_ERR_NOMEM, "%s: out of memory", it->path);
        return;
    }
    if (c->want_decoded) memcpy(it->decoded, w->img.rgb, (size_t)w->img.width * w->img.height * 3);
    mm_error e = {0};
    if (preprocess_image(&c->prep, w->img.rgb, w->img.width, w->img.height, &w->prep,
                         it->crop_uint8, c->want_pixel_values ? it->pixel_values : NULL, &e) != 0) {
        mm_fail(&it->err, e.kind, "%s: %s", it->path, e.msg);
        return;
    }
    it->width = ow;
    it->height = oh;
    it->ok = true;
}

/* One task: the next image in input order (tasks run in any order and on
 * any thread, so each claims its index when it starts). The window keeps
 * submitted - delivered <= window, so a claimed index's slot is free. */
static void decode_task(void *ctx, int thread)
{
    image_pool *pool = ctx;
    pthread_mutex_lock(&pool->mu);
    bool run = !pool->stop && pool->next_claim < pool->n;
    size_t i = run ? pool->next_claim++ : 0;
    pthread_mutex_unlock(&pool->mu);
    struct slot *s = run ? &pool->slots[i % (size_t)pool->window] : NULL;
    if (run) process(pool, &pool->scratch[thread], s, i);
    pthread_mutex_lock(&pool->mu);
    if (run) s->done = true;
    pool->finished++;
    pthread_cond_broadcast(&pool->cv_done);
    pthread_mutex_unlock(&pool->mu);
}

/* Hands the pool tasks up to the window's end. Called by the owner, not
 * under the mutex (with a NULL pool a task runs at once, inside submit). */
static void fill_window(image_pool *pool)
{
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        bool more = !pool->stop && pool->submitted < pool->n &&
                    pool->submitted < pool->next_deliver + (size_t)pool->window;
        if (more) pool->submitted++;
        pthread_mutex_unlock(&pool->mu);
        if (!more) return;
        mm_pool_submit(pool->cfg.pool, decode_task, pool);
    }
}

image_pool *image_pool_start(const char *const *paths, size_t n, const image_pool_config *cfg,
                             mm_error *err)
{
    (void)err; /* nothing here can fail on the input: allocations are xalloc's */
    image_pool *pool = xcalloc(1, sizeof *pool);
    pool->paths = paths;
    pool->n = n;
    pool->cfg = *cfg;
    int threads = mm_pool_threads(cfg->pool);
    pool->window = cfg->window > 0 ? cfg->window : 4 * threads;
    if (pool->window < threads) pool->window = threads;
    pool->slots = xcalloc((size_t)pool->window, sizeof *pool->slots);
    pool->scratch = xcalloc((size_t)threads, sizeof *pool->scratch);
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv_done, NULL);
    /* Without a pool, submitting decodes at once: leave that to the first
     * image_pool_next, so that starting costs nothing. */
    if (cfg->pool) fill_window(pool);
    return pool;
}

const image_pool_item *image_pool_next(image_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    /* The previous item is released: its slot may be reused. */
    if (pool->next_deliver > 0) pool->slots[(pool->next_deliver - 1) % (size_t)pool->window].done = false;
    if (pool->next_deliver >= pool->n) {
        pthread_mutex_unlock(&pool->mu);
        return NULL;
    }
    pthread_mutex_unlock(&pool->mu);
    fill_window(pool);
    pthread_mutex_lock(&pool->mu);
    struct slot *s = &pool->slots[pool->next_deliver % (size_t)pool->window];
    while (!s->done) {
        /* Decode a queued image (ours or not) rather than wait idle. */
        pthread_mutex_unlock(&pool->mu);
        int helped = mm_pool_help(pool->cfg.pool);
        pthread_mutex_lock(&pool->mu);
        if (!helped && !s->done) pthread_cond_wait(&pool->cv_done, &pool->mu);
    }
    pool->next_deliver++;
    pthread_mutex_unlock(&pool->mu);
    return &s->item;
}

void image_pool_stop(image_pool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = true;
    /* Tasks still queued or running point at us: wait for each to return
     * (a queued one returns at once now), running queued ones ourselves. */
    while (pool->finished < pool->submitted) {
        pthread_mutex_unlock(&pool->mu);
        int helped = mm_pool_help(pool->cfg.pool);
        pthread_mutex_lock(&pool->mu);
        if (!helped && pool->finished < pool->submitted) pthread_cond_wait(&pool->cv_done, &pool->mu);
    }
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->window; i++) {
        free(pool->slots[i].item.pixel_values);
        free(pool->slots[i].item.crop_uint8);
        free(pool->slots[i].item.decoded);
    }
    for (int t = 0; t < mm_pool_threads(pool->cfg.pool); t++) image_worker_state_free(&pool->scratch[t]);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv_done);
    free(pool->slots);
    free(pool->scratch);
    free(pool);
}
