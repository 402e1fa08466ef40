/* image_pool.c — see image_pool.h. */
#include "image/image_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv_work; /* workers wait for window space */
    pthread_cond_t cv_done; /* consumer waits for its item */
    size_t next_claim;      /* next index a worker takes */
    size_t released;        /* items the consumer has finished with */
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

static void *worker_main(void *arg)
{
    image_pool *pool = arg;
    image_worker_state w;
    memset(&w, 0, sizeof w);
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->stop && pool->next_claim < pool->n &&
               pool->next_claim >= pool->released + (size_t)pool->window)
            pthread_cond_wait(&pool->cv_work, &pool->mu);
        if (pool->stop || pool->next_claim >= pool->n) break;
        size_t i = pool->next_claim++;
        struct slot *s = &pool->slots[i % (size_t)pool->window];
        pthread_mutex_unlock(&pool->mu);
        process(pool, &w, s, i);
        pthread_mutex_lock(&pool->mu);
        s->done = true;
        pthread_cond_broadcast(&pool->cv_done);
    }
    pthread_mutex_unlock(&pool->mu);
    image_worker_state_free(&w);
    return NULL;
}

image_pool *image_pool_start(const char *const *paths, size_t n, const image_pool_config *cfg,
                             mm_error *err)
{
    image_pool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        mm_fail(err, MM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pool->paths = paths;
    pool->n = n;
    pool->cfg = *cfg;
    int threads = cfg->threads < 1 ? 1 : cfg->threads;
    pool->window = cfg->window > 0 ? cfg->window : 4 * threads;
    if (pool->window < threads) pool->window = threads;
    pool->slots = calloc((size_t)pool->window, sizeof *pool->slots);
    pool->threads = calloc((size_t)threads, sizeof *pool->threads);
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv_work, NULL);
    pthread_cond_init(&pool->cv_done, NULL);
    if (!pool->slots || !pool->threads) {
        image_pool_stop(pool);
        mm_fail(err, MM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&pool->threads[t], NULL, worker_main, pool) != 0) {
            image_pool_stop(pool);
            mm_fail(err, MM_ERR_NOMEM, "cannot start decoding threads");
            return NULL;
        }
        pool->nthreads++;
    }
    return pool;
}

const image_pool_item *image_pool_next(image_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    /* The previous item is released: its slot may be reused. */
    if (pool->released < pool->next_deliver) {
        pool->slots[pool->released % (size_t)pool->window].done = false;
        pool->released = pool->next_deliver;
        pthread_cond_broadcast(&pool->cv_work);
    }
    if (pool->next_deliver >= pool->n) {
        pthread_mutex_unlock(&pool->mu);
        return NULL;
    }
    struct slot *s = &pool->slots[pool->next_deliver % (size_t)pool->window];
    while (!s->done) pthread_cond_wait(&pool->cv_done, &pool->mu);
    pool->next_deliver++;
    pthread_mutex_unlock(&pool->mu);
    return &s->item;
}

void image_pool_stop(image_pool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = true;
    pthread_cond_broadcast(&pool->cv_work);
    pthread_mutex_unlock(&pool->mu);
    for (int t = 0; t < pool->nthreads; t++) pthread_join(pool->threads[t], NULL);
    if (pool->slots) {
        for (int i = 0; i < pool->window; i++) {
            free(pool->slots[i].item.pixel_values);
            free(pool->slots[i].item.crop_uint8);
            free(pool->slots[i].item.decoded);
        }
    }
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv_work);
    pthread_cond_destroy(&pool->cv_done);
    free(pool->slots);
    free(pool->threads);
    free(pool);
}
