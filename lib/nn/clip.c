/* clip.c — see clip.h.
 *
 * Layout conventions. A linear layer's weight, stored by Hugging Face as
 * [out, in], is packed at load into lib/gemm's panel layout of W = [in, out]
 * and applied as y = x W + b with one gemm_run (the bias added in the same
 * pass), x being the [tokens, in] matrix of a whole batch; the worker pool
 * splits the output columns. Activations are [tokens, width] row-major; the
 * tokens of the batch items are stacked (item 0's tokens, then item 1's, ...),
 * seq_start/seq_len say where each item is. The per-head attention products
 * run on lib/gemm too, with the head's keys and values packed on the fly.
 */
#include "nn/clip.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hugealloc.h"
#include "core/xalloc.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#include "nn/ops.h"
#include "io/safetensors.h"


/* ------------------------------------------------------------------------ */
/* Model and run state                                                        */

/* n floats rounded up to a multiple of 16: consecutive slices of an arena
 * stay 64-byte aligned. */
static inline size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

typedef struct layer_weights {
    float *ln1_w, *ln1_b;   /* [w] */
    gemm_weight qkv_w;      /* [w, 3w]: q_proj^T | k_proj^T | v_proj^T */
    float *qkv_b;           /* [3w] */
    gemm_weight out_w;      /* [w, w] (out_proj.weight^T) */
    float *out_b;           /* [w] */
    float *ln2_w, *ln2_b;   /* [w] */
    gemm_weight fc1_w;      /* [w, inter] (fc1.weight^T) */
    float *fc1_b;           /* [inter] */
    gemm_weight fc2_w;      /* [inter, w] (fc2.weight^T) */
    float *fc2_b;           /* [w] */
} layer_weights;

typedef struct tower {
    clip_tower_config cfg;
    layer_weights *layers;
} tower;

/* Activations, allocated once and grown only when a larger batch comes. */
typedef struct run_state {
    float *mem;
    size_t cap;        /* floats in mem */
    float *x;          /* [T, w] residual stream */
    float *h;          /* [T, w] layer-norm output / attention output */
    float *qkv;        /* [T, 3w] */
    float *mlp;        /* [T, inter] */
    float *scores;     /* [threads][attention_scratch] one (item, head) per worker */
    float *patches;    /* [n*N, C*p*p] vision input as patch rows */
    float *pooled;     /* [n, w] */
    float *gemm_work;  /* [threads][GEMM_WORK_FLOATS] gemm_run scratch per worker */
    int *seq_start, *seq_len; /* [nseq] rows of each item in the stack */
    int *pick;                /* [nseq] the row each item is pooled at */
    int seq_cap;
    mm_pool *pool;     /* borrowed (clip_set_pool); NULL = this thread */
    int threads;       /* mm_pool_threads(pool) the scratch was sized for */
} run_state;

struct clip_model {
    clip_config cfg;
    int parts;
    char id[256];
    float *arena; /* every weight below points into it (F16 linear weights as halves) */
    uint16_t *bf16_arena; /* clip_use_bf16: the linear weights' bf16 copies */
    float logit_scale;

    tower text;
    float *token_embedding;          /* [vocab, w] */
    float *text_position_embedding;  /* [max_positions, w] */
    float *final_ln_w, *final_ln_b;  /* [w] */
    gemm_weight text_projection;     /* [w, P] (transposed) */

    tower vision;
    float *class_embedding;            /* [w] */
    gemm_weight patch_weight;          /* [C*p*p, w] (conv weight [w, C, p, p] transposed) */
    float *vision_position_embedding;  /* [N+1, w] */
    float *pre_ln_w, *pre_ln_b;        /* [w] */
    float *post_ln_w, *post_ln_b;      /* [w] */
    gemm_weight visual_projection;     /* [w, P] (transposed) */

    run_state run;
};

const clip_config *clip_get_config(const clip_model *m) { return &m->cfg; }
const char *clip_model_id(const clip_model *m) { return m->id; }
float clip_logit_scale(const clip_model *m) { return m->logit_scale; }
void clip_set_pool(clip_model *m, mm_pool *pool) { m->run.pool = pool; }

/* Multi-head self-attention of every item, head by head.
 * qkv [T, 3w] (q | k | v per row). Causal: position i sees positions 0..i.
 * With query == NULL every row attends and out is [T, w]; otherwise only
 * row query[s] of item s attends and its output is row s of out [nseq, w]
 * (the last layer, when only the pooled token is wanted). */
typedef struct attention_job {
    float *out;
    const float *qkv;
    float *scores; /* attention_scratch(maxlen, hd) floats per worker */
    size_t scores_stride;
    const int *seq_start, *seq_len, *query;
    int w, heads, causal, maxlen;
} attention_job;

/* Floats one worker needs for an (item, head): the [L, L] scores, and the
 * head's keys (transposed) and values packed as lib/gemm weights. */
static size_t attention_scratch(int L, int hd)
{
    return round16((size_t)L * L) + gemm_packed_count(hd, L) + gemm_packed_count(L, hd);
}

/* (item, head) pairs [begin, end) of the job, on one worker. Both products
 * run on lib/gemm with the head's keys and values packed as the "weights":
 * packing costs L * hd, each product L * L * hd. */
static void attention_range(void *ctx, int worker, int begin, int end)
{
    const attention_job *a = ctx;
    int w = a->w, hd = w / a->heads, ld = 3 * w;
    float scale = 1.0f / sqrtf((float)hd);
    float *scores = a->scores + (size_t)worker * a->scores_stride;
    float *keys = scores + round16((size_t)a->maxlen * a->maxlen);
    float *values = keys + gemm_packed_count(hd, a->maxlen);
    for (int k = begin; k < end; k++) {
        int s = k / a->heads, h = k % a->heads;
        int L = a->seq_len[s];
        int q0 = a->query ? a->query[s] - a->seq_start[s] : 0; /* first query position */
        int nq = a->query ? 1 : L;
        const float *base = a->qkv + (size_t)a->seq_start[s] * ld;
        float *dst = a->query ? a->out + (size_t)s * w : a->out + (size_t)a->seq_start[s] * w;
        const float *q = base + (size_t)q0 * ld + h * hd, *kk = base + w + h * hd, *v = base + 2 * w + h * hd;
        /* scores[nq, L] = q (scale k)^T; HF scales q instead: the same single
         * rounding per element (none when hd is a power of 4, as 64) */
        for (int j = 0; j < L; j++)
            for (int d = 0; d < hd; d++) keys[gemm_packed_index(hd, d, j)] = scale * kk[(size_t)j * ld + d];
        gemm_pack_clear_padding(keys, hd, L, 0);
        gemm_weight kt = {keys, hd, L, 0};
        gemm_run(scores, (size_t)L, q, (size_t)ld, &kt, NULL, nq, 0, 0, gemm_panels(L), NULL);
        for (int i = 0; i < nq; i++) {
            float *row = scores + (size_t)i * L;
            int visible = a->causal ? q0 + i + 1 : L;
            ops_softmax(row, visible);
            for (int j = visible; j < L; j++) row[j] = 0.0f;
        }
        /* out[nq, hd] (this head's columns) = scores v */
        gemm_pack(values, v, L, hd, (size_t)ld, 0);
        gemm_weight vw = {values, L, hd, 0};
        gemm_run(dst + h * hd, (size_t)w, scores, (size_t)L, &vw, NULL, nq, 0, 0, gemm_panels(hd), NULL);
    }
}

static void attention(run_state *r, float *out, const float *qkv, int nseq, int maxlen, int w, int heads,
                      int causal, const int *query)
{
    attention_job a = {out, qkv, r->scores, attention_scratch(maxlen, w / heads), r->seq_start, r->seq_len, query,
                       w, heads, causal, maxlen};
    double work = 0;
    for (int s = 0; s < nseq; s++) work += (double)r->seq_len[s] * (query ? 1 : r->seq_len[s]);
    work *= w;
    mm_pool_for(r->pool, attention_range, &a, nseq * heads, work, 1e6);
}

/* Row-parallel forms of the elementwise kernels. */
typedef struct rows_job {
    float *y;
    const float *x, *g, *b;
    int N, act;
    float eps;
} rows_job;

static void layernorm_range(void *ctx, int worker, int begin, int end)
{
    (void)worker;
    const rows_job *j = ctx;
    ops_layernorm(j->y + (size_t)begin * j->N, j->x + (size_t)begin * j->N, j->g, j->b, end - begin, j->N, j->eps);
}

static void activate_range(void *ctx, int worker, int begin, int end)
{
    (void)worker;
    const rows_job *j = ctx;
    ops_activate(j->y + (size_t)begin * j->N, end - begin, j->N, j->act);
}

static void par_layernorm(run_state *r, float *y, const float *x, const float *g, const float *b, int T, int w,
                          float eps)
{
    rows_job j = {.y = y, .x = x, .g = g, .b = b, .N = w, .eps = eps};
    mm_pool_for(r->pool, layernorm_range, &j, T, (double)T * w, 1 << 16);
}

static void par_activate(run_state *r, float *y, int T, int N, int act)
{
    rows_job j = {.y = y, .N = N, .act = act};
    mm_pool_for(r->pool, activate_range, &j, T, (double)T * N, 1 << 15);
}

/* A linear layer over T rows: y[T, N] = x[T, K] W + b, or y += x W + b with
 * accumulate; W packed (lib/kernels/gemm.h), b may be NULL. Threads take disjoint
 * ranges of W's column panels. */
typedef struct linear_job {
    float *y;
    const float *x, *b;
    const gemm_weight *w;
    int T, accumulate;
    float *work;
} linear_job;

static void linear_panels(void *ctx, int worker, int begin, int end)
{
    const linear_job *j = ctx;
    gemm_run(j->y, (size_t)j->w->N, j->x, (size_t)j->w->K, j->w, j->b, j->T, j->accumulate, begin, end,
             j->work + (size_t)worker * GEMM_WORK_FLOATS);
}

/* Rows [begin, end) * LINEAR_ROW_UNIT of the job, all panels. */
#define LINEAR_ROW_UNIT 24
static void linear_rows(void *ctx, int worker, int begin, int end)
{
    const linear_job *j = ctx;
    size_t r0 = (size_t)begin * LINEAR_ROW_UNIT, r1 = (size_t)end * LINEAR_ROW_UNIT;
    if (r1 > (size_t)j->T) r1 = (size_t)j->T;
    size_t N = (size_t)j->w->N, K = (size_t)j->w->K;
    gemm_run(j->y + r0 * N, N, j->x + r0 * K, K, j->w, j->b, (int)(r1 - r0), j->accumulate, 0, gemm_panels(j->w->N),
             j->work + (size_t)worker * GEMM_WORK_FLOATS);
}

/* Threads split a product by the weight's column panels when there are few
 * rows (the weights, streamed from memory, are then read once in all), and
 * by rows when there are many (each thread then repacks only its own rows;
 * the weights come from the shared L3 cache). */
static void linear(run_state *r, float *y, const float *x, const gemm_weight *w, const float *b, int T,
                   int accumulate)
{
    linear_job j = {y, x, b, w, T, accumulate, r->gemm_work};
    double work = (double)T * w->N * w->K;
    if ((size_t)T * (size_t)w->K * sizeof(float) > (640u << 10)) /* gemm's "x too large for L2" */
        mm_pool_for(r->pool, linear_rows, &j, (T + LINEAR_ROW_UNIT - 1) / LINEAR_ROW_UNIT, work, 1 << 18);
    else
        mm_pool_for(r->pool, linear_panels, &j, gemm_panels(w->N), work, 1 << 18);
}

/* One pre-LN block's second half over n rows: x += out_proj(attn);
 * x += fc2(act(fc1(LN2(x)))). attn [n, w] may alias r->h. */
static void block_tail(const layer_weights *lw, const clip_tower_config *c, run_state *r, float *x,
                       const float *attn, int n)
{
    int w = c->hidden, inter = c->intermediate;
    linear(r, x, attn, &lw->out_w, lw->out_b, n, 1);             /* x += (n, w) */
    par_layernorm(r, r->h, x, lw->ln2_w, lw->ln2_b, n, w, c->ln_eps); /* (n, w) */
    linear(r, r->mlp, r->h, &lw->fc1_w, lw->fc1_b, n, 0);        /* (n, inter) */
    par_activate(r, r->mlp, n, inter, c->act);
    linear(r, x, r->mlp, &lw->fc2_w, lw->fc2_b, n, 1);           /* x += (n, w) */
}

/* The pre-LN transformer blocks over the stacked batch x [T, w]:
 *   x += out_proj(attention(LN1(x)));  x += fc2(act(fc1(LN2(x))))
 * With pick == NULL all rows are computed through the last layer (result in
 * x). Otherwise only row pick[s] of each item is wanted: the last layer
 * still needs every row's keys and values, but its attention query, out_proj
 * and MLP run for those rows only, and the result is r->pooled [nseq, w]. */
static void tower_forward(const tower *tw, run_state *r, float *x, int T, int nseq, int maxlen, int causal,
                          const int *pick)
{
    const clip_tower_config *c = &tw->cfg;
    int w = c->hidden;
    for (int l = 0; l < c->layers; l++) {
        const layer_weights *lw = &tw->layers[l];
        int last_only = pick && l == c->layers - 1;
        par_layernorm(r, r->h, x, lw->ln1_w, lw->ln1_b, T, w, c->ln_eps);    /* (T, w) */
        linear(r, r->qkv, r->h, &lw->qkv_w, lw->qkv_b, T, 0);                  /* (T, 3w) */
        if (!last_only) {
            attention(r, r->h, r->qkv, nseq, maxlen, w, c->heads, causal, NULL);   /* (T, w) */
            block_tail(lw, c, r, x, r->h, T);                                  /* (T, w) */
        } else {
            for (int s = 0; s < nseq; s++) memcpy(r->pooled + (size_t)s * w, x + (size_t)pick[s] * w, (size_t)w * sizeof(float));
            attention(r, r->h, r->qkv, nseq, maxlen, w, c->heads, causal, pick);   /* (nseq, w) */
            block_tail(lw, c, r, r->pooled, r->h, nseq);                       /* (nseq, w) */
        }
    }
    if (pick && c->layers == 0)
        for (int s = 0; s < nseq; s++) memcpy(r->pooled + (size_t)s * w, x + (size_t)pick[s] * w, (size_t)w * sizeof(float));
}

/* Sizes the activations for T tokens of a tower, the longest item L, nseq
 * items and (vision) a patch matrix; grows the buffers if needed. This is
 * the only allocation of a forward pass and it happens before the layers. */
static int run_reserve(run_state *r, const clip_tower_config *c, int T, int L, int nseq,
                       size_t patch_floats, mm_error *err)
{
    size_t w = (size_t)c->hidden, inter = (size_t)c->intermediate, t = (size_t)T;
    /* Per-thread scratch (attention, GEMM packing) for the pool's threads;
     * sized here, before any layer runs. */
    r->threads = mm_pool_threads(r->pool);
    size_t sizes[8] = {t * w, t * w, t * 3 * w, t * inter,
                       attention_scratch(L, c->hidden / c->heads) * (size_t)r->threads, patch_floats,
                       (size_t)nseq * w, (size_t)GEMM_WORK_FLOATS * (size_t)r->threads};
    size_t need = 0;
    for (int i = 0; i < 8; i++) need += round16(sizes[i]);
    if (need > r->cap) {
        free(r->mem);
        r->mem = NULL;
        r->cap = 0;
        if (!(r->mem = mm_huge_alloc(need * sizeof(float)))) {
            r->mem = NULL;
            return mm_fail(err, MM_ERR_NOMEM, "clip: out of memory for activations (%zu MB)",
                           need * sizeof(float) >> 20);
        }
        r->cap = need;
    }
    if (nseq > r->seq_cap) {
        r->seq_start = xrealloc(r->seq_start, (size_t)nseq * sizeof *r->seq_start);
        r->seq_len = xrealloc(r->seq_len, (size_t)nseq * sizeof *r->seq_len);
        r->pick = xrealloc(r->pick, (size_t)nseq * sizeof *r->pick);
        r->seq_cap = nseq;
    }
    float **slots[8] = {&r->x, &r->h, &r->qkv, &r->mlp, &r->scores, &r->patches, &r->pooled, &r->gemm_work};
    float *p = r->mem;
    for (int i = 0; i < 8; i++) {
        *slots[i] = p;
        p += round16(sizes[i]);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Vision tower                                                              */

int clip_encode_images(clip_model *m, const float *pixel_values, int n, float *out_embeds, mm_error *err)
{
    clip_outputs o = {.embeds = out_embeds};
    return clip_encode_images_ex(m, pixel_values, n, &o, err);
}

int clip_encode_images_ex(clip_model *m, const float *pixel_values, int n, const clip_outputs *out,
                          mm_error *err)
{
    if (!(m->parts & CLIP_VISION))
        return mm_fail(err, MM_ERR_UNSUPPORTED, "clip: the vision tower was not loaded");
    if (n <= 0) return 0;
    const clip_vision_config *vc = &m->cfg.vision;
    const clip_tower_config *c = &vc->tower;
    int w = c->hidden, p = vc->patch_size, C = vc->channels, size = vc->image_size;
    int grid = size / p, N = grid * grid, S = N + 1, T = n * S;
    int patch_len = C * p * p;
    if ((long long)n * S > (1 << 30) / (w > 0 ? w : 1))
        return mm_fail(err, MM_ERR_LIMIT, "clip: batch of %d images is too large", n);
    run_state *r = &m->run;
    if (run_reserve(r, c, T, S, n, (size_t)n * N * patch_len, err) < 0) return -1;

    /* Patchify: row (image i, patch gy*grid+gx) holds the patch's pixels in
     * the conv weight's order (channel, then row ky, then column kx). */
    for (int i = 0; i < n; i++) {
        const float *img = pixel_values + (size_t)i * C * size * size;
        for (int gy = 0; gy < grid; gy++)
            for (int gx = 0; gx < grid; gx++) {
                float *dst = r->patches + ((size_t)i * N + (size_t)gy * grid + gx) * patch_len;
                for (int ch = 0; ch < C; ch++)
                    for (int ky = 0; ky < p; ky++) {
                        const float *src = img + ((size_t)ch * size + (size_t)gy * p + ky) * size + (size_t)gx * p;
                        memcpy(dst + ((size_t)ch * p + ky) * p, src, (size_t)p * sizeof(float));
                    }
            }
    }
    /* Patch embeddings (n*N, w) = patches W_conv^T, the conv as one GEMM. */
    linear(r, r->h, r->patches, &m->patch_weight, NULL, n * N, 0);
    /* x = [class; patches] + position embeddings, then pre_layrnorm. */
    for (int i = 0; i < n; i++) {
        float *xi = r->x + (size_t)i * S * w;
        for (int k = 0; k < w; k++) xi[k] = m->class_embedding[k] + m->vision_position_embedding[k];
        for (int j = 0; j < N; j++) {
            const float *e = r->h + ((size_t)i * N + j) * w;
            const float *pos = m->vision_position_embedding + (size_t)(j + 1) * w;
            float *dst = xi + (size_t)(j + 1) * w;
            for (int k = 0; k < w; k++) dst[k] = e[k] + pos[k];
        }
        r->seq_start[i] = i * S;
        r->seq_len[i] = S;
        r->pick[i] = i * S;
    }
    par_layernorm(r, r->x, r->x, m->pre_ln_w, m->pre_ln_b, T, w, c->ln_eps);

    if (out->last_hidden) {
        /* every row through every layer */
        tower_forward(&m->vision, r, r->x, T, n, S, 0, NULL);
        memcpy(out->last_hidden, r->x, (size_t)T * w * sizeof(float));
        for (int i = 0; i < n; i++)
            memcpy(r->pooled + (size_t)i * w, r->x + (size_t)i * S * w, (size_t)w * sizeof(float));
    } else {
        /* only the class token is needed from the last layer */
        tower_forward(&m->vision, r, r->x, T, n, S, 0, r->pick);
    }
    /* pooled = post_layernorm(x[CLS]) per image; embeds = pooled Wproj. */
    ops_layernorm(r->pooled, r->pooled, m->post_ln_w, m->post_ln_b, n, w, c->ln_eps);
    if (out->pooled) memcpy(out->pooled, r->pooled, (size_t)n * w * sizeof(float));
    if (out->embeds) linear(r, out->embeds, r->pooled, &m->visual_projection, NULL, n, 0);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Text tower                                                                */

int clip_text_pool_index(const clip_model *m, const int32_t *ids, int length)
{
    int at = 0;
    if (m->cfg.text.eos_token_id == 2) {
        /* Legacy configs: HF pools at argmax(ids) (the first maximum), which
         * is the first <|endoftext|>, the largest id of the CLIP vocabulary. */
        for (int j = 1; j < length; j++)
            if (ids[j] > ids[at]) at = j;
    } else {
        /* First occurrence; none found gives 0, as HF's argmax of a
         * boolean row of zeros. */
        for (int j = 0; j < length; j++)
            if (ids[j] == m->cfg.text.eos_token_id) {
                at = j;
                break;
            }
    }
    return at;
}

int clip_encode_texts(clip_model *m, const int32_t *ids, const int *lengths, int n, float *out, mm_error *err)
{
    clip_outputs o = {.embeds = out};
    return clip_encode_texts_ex(m, ids, lengths, n, &o, err);
}

int clip_encode_texts_ex(clip_model *m, const int32_t *ids, const int *lengths, int n,
                         const clip_outputs *out, mm_error *err)
{
    if (!(m->parts & CLIP_TEXT))
        return mm_fail(err, MM_ERR_UNSUPPORTED, "clip: the text tower was not loaded");
    if (n <= 0) return 0;
    const clip_text_config *tc = &m->cfg.text;
    const clip_tower_config *c = &tc->tower;
    int w = c->hidden, ctx = tc->max_positions;

    /* Validate and find each caption's end: the tower runs positions 0..end. */
    long long T = 0;
    int L = 1;
    for (int i = 0; i < n; i++) {
        const int32_t *row = ids + (size_t)i * ctx;
        if (lengths[i] < 1 || lengths[i] > ctx)
            return mm_fail(err, MM_ERR_LIMIT, "clip: caption %d: length %d outside 1..%d", i, lengths[i], ctx);
        for (int j = 0; j < lengths[i]; j++)
            if (row[j] < 0 || row[j] >= tc->vocab_size)
                return mm_fail(err, MM_ERR_MALFORMED, "clip: caption %d: token id %ld at position %d is outside the vocabulary (0..%d)",
                               i, (long)row[j], j, tc->vocab_size - 1);
        int len = clip_text_positions(m, row, lengths[i]);
        T += len;
        if (len > L) L = len;
    }
    if (T > (1 << 30) / (w > 0 ? w : 1)) return mm_fail(err, MM_ERR_LIMIT, "clip: batch of %d captions is too large", n);
    run_state *r = &m->run;
    if (run_reserve(r, c, (int)T, L, n, 0, err) < 0) return -1;

    /* x = token embedding + position embedding, captions stacked. */
    int start = 0;
    for (int i = 0; i < n; i++) {
        const int32_t *row = ids + (size_t)i * ctx;
        int len = clip_text_positions(m, row, lengths[i]);
        r->seq_start[i] = start;
        r->seq_len[i] = len;
        r->pick[i] = start + len - 1;
        for (int j = 0; j < len; j++) {
            const float *tok = m->token_embedding + (size_t)row[j] * w;
            const float *pos = m->text_position_embedding + (size_t)j * w;
            float *dst = r->x + (size_t)(start + j) * w;
            for (int k = 0; k < w; k++) dst[k] = tok[k] + pos[k];
        }
        start += len;
    }

    /* pooled = final_layer_norm(x) at each caption's end token. */
    if (out->last_hidden) {
        tower_forward(&m->text, r, r->x, (int)T, n, L, 1, NULL);
        ops_layernorm(out->last_hidden, r->x, m->final_ln_w, m->final_ln_b, (int)T, w, c->ln_eps);
        for (int i = 0; i < n; i++)
            memcpy(r->pooled + (size_t)i * w, out->last_hidden + (size_t)r->pick[i] * w, (size_t)w * sizeof(float));
    } else {
        /* only the end token is needed from the last layer */
        tower_forward(&m->text, r, r->x, (int)T, n, L, 1, r->pick);
        ops_layernorm(r->pooled, r->pooled, m->final_ln_w, m->final_ln_b, n, w, c->ln_eps);
    }
    if (out->pooled) memcpy(out->pooled, r->pooled, (size_t)n * w * sizeof(float));
    if (out->embeds) linear(r, out->embeds, r->pooled, &m->text_projection, NULL, n, 0);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

/* Loading runs twice over the same code: a first pass checks every tensor's
 * presence, dtype and shape and counts the floats; the second copies or
 * converts them into the arena. So a bad checkpoint fails before the large
 * allocation and the arena is exactly the right size. */
typedef struct loader {
    safetensors *st;
    const char *dir;
    int counting;
    size_t need;   /* floats (pass 1) */
    float *cursor; /* next free float in the arena (pass 2) */
    mm_error *err;
    int failed;
} loader;

static float *reserve(loader *L, size_t count)
{
    size_t padded = round16(count); /* keep every weight 64-byte aligned */
    if (L->counting) {
        L->need += padded;
        return NULL;
    }
    float *p = L->cursor;
    L->cursor += padded;
    return p;
}

static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, size - o, "[");
    for (int i = 0; i < ndim && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < size) snprintf(buf + o, size - o, "]");
}

/* Packs src [rows, cols] (HF's [out, in]) as columns n0.. of the packed
 * W = [in, out] of lib/gemm: W[c][n0 + r] = src[r][c]. Values of es bytes
 * (floats, or halves kept as they are); src may be unaligned. */
static void pack_transposed(void *dst, int n0, const void *src, size_t rows, size_t cols, size_t es)
{
    unsigned char *d = dst;
    const unsigned char *sp = src;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            memcpy(d + gemm_packed_index((int)cols, (int)c, n0 + (int)r) * es, sp + (r * cols + c) * es, es);
}

/* Loads tensor `name` of the given shape into dst (pass 2) or checks it
 * (pass 1). With pack_n0 >= 0 the tensor, seen as a matrix [shape[0], rest]
 * = [out, in], becomes columns pack_n0.. of a packed [in, out] weight (the
 * layout gemm_run reads), of halves if keep_f16 (the tensor is F16), else of
 * floats; otherwise it is stored as it is, as floats. */
static void load_into(loader *L, void *dst, const char *name, int ndim, const int64_t *shape, int pack_n0,
                      int keep_f16)
{
    if (L->failed) return;
    const st_tensor *t = st_find(L->st, name);
    if (!t) {
        mm_fail(L->err, MM_ERR_MALFORMED, "%s: tensor '%s' is missing from the checkpoint", L->dir, name);
        L->failed = 1;
        return;
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        mm_fail(L->err, MM_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s, expected F32, F16 or BF16", t->file,
                name, st_dtype_name(t->dtype));
        L->failed = 1;
        return;
    }
    /* A 0-d tensor and a [1] tensor are the same scalar. */
    int same = t->ndim == ndim || (ndim == 0 && t->ndim == 1 && t->shape[0] == 1);
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char got[160], want[160];
        format_shape(got, sizeof got, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, shape);
        mm_fail(L->err, MM_ERR_MISMATCH, "%s: tensor '%s': shape %s, but config.json implies %s", t->file,
                name, got, want);
        L->failed = 1;
        return;
    }
    if (L->counting) return;
    size_t rows = ndim > 0 ? (size_t)shape[0] : 1, cols = rows ? t->count / rows : 0;
    if (pack_n0 < 0) {
        if (st_to_f32(t, dst, L->err) < 0) L->failed = 1;
    } else if (keep_f16 && t->dtype == ST_F16) {
        pack_transposed(dst, pack_n0, t->data, rows, cols, sizeof(uint16_t));
    } else {
        float *tmp = malloc(t->count * sizeof(float));
        if (!tmp) {
            mm_fail(L->err, MM_ERR_NOMEM, "%s: out of memory", L->dir);
            L->failed = 1;
            return;
        }
        if (st_to_f32(t, tmp, L->err) < 0)
            L->failed = 1;
        else
            pack_transposed(dst, pack_n0, tmp, rows, cols, sizeof(float));
        free(tmp);
    }
    st_release(t);
}

/* A linear layer's weight from `parts` tensors of shape [n, in...] (HF's
 * [out, in]) side by side: packed [in, parts * n]. F16 weights stay F16
 * (gemm widens them as it reads them: exact, and half the bytes to stream;
 * measured 1.15-1.2x faster on a caption, equal on large batches); F32 and
 * BF16 become F32. */
static gemm_weight load_linear(loader *L, const char *const *names, int parts, int ndim, const int64_t *shape)
{
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= (size_t)shape[i];
    /* config.json bounds every dimension, so K and N fit an int */
    int n = (int)shape[0], K = n > 0 ? (int)(count / (size_t)n) : 0, N = parts * n;
    int f16 = 1;
    for (int i = 0; i < parts; i++) {
        const st_tensor *t = st_find(L->st, names[i]);
        f16 = f16 && t && t->dtype == ST_F16;
    }
    size_t values = gemm_packed_count(K, N);
    void *p = reserve(L, f16 ? (values + 1) / 2 : values);
    for (int i = 0; i < parts; i++) load_into(L, p, names[i], ndim, shape, i * n, f16);
    if (!L->counting && !L->failed) gemm_pack_clear_padding(p, K, N, f16);
    return (gemm_weight){p, K, N, f16};
}

static float *load(loader *L, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    int64_t shape[4] = {d0, d1, d2, d3};
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= (size_t)shape[i];
    float *p = reserve(L, count);
    load_into(L, p, name, ndim, shape, -1, 0);
    return p;
}
/* A linear layer's [out, in...] weight, packed as [in..., out]. */
static gemm_weight load_t(loader *L, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    int64_t shape[4] = {d0, d1, d2, d3};
    return load_linear(L, &name, 1, ndim, shape);
}

static int load_tower(loader *L, const char *prefix, tower *tw)
{
    int64_t w = tw->cfg.hidden, inter = tw->cfg.intermediate;
    if (!tw->layers) tw->layers = xcalloc((size_t)tw->cfg.layers, sizeof *tw->layers);
    char nm[256];
#define NAME(fmt) (snprintf(nm, sizeof nm, "%s.encoder.layers.%d." fmt, prefix, l), nm)
    for (int l = 0; l < tw->cfg.layers; l++) {
        layer_weights *lw = &tw->layers[l];
        lw->ln1_w = load(L, NAME("layer_norm1.weight"), 1, w, 0, 0, 0);
        lw->ln1_b = load(L, NAME("layer_norm1.bias"), 1, w, 0, 0, 0);
        /* q, k, v side by side in one [w, 3w] matrix: one GEMM instead of three. */
        static const char *qkv[3] = {"q_proj", "k_proj", "v_proj"};
        char qkv_names[3][256];
        const char *names[3];
        int64_t ws[2] = {w, w}, bs[1] = {w};
        for (int i = 0; i < 3; i++) {
            snprintf(qkv_names[i], sizeof qkv_names[i], "%s.encoder.layers.%d.self_attn.%s.weight", prefix, l, qkv[i]);
            names[i] = qkv_names[i];
        }
        lw->qkv_w = load_linear(L, names, 3, 2, ws);
        lw->qkv_b = reserve(L, (size_t)(3 * w));
        for (int i = 0; i < 3; i++) {
            snprintf(nm, sizeof nm, "%s.encoder.layers.%d.self_attn.%s.bias", prefix, l, qkv[i]);
            load_into(L, lw->qkv_b ? lw->qkv_b + i * w : NULL, nm, 1, bs, -1, 0);
        }
        lw->out_w = load_t(L, NAME("self_attn.out_proj.weight"), 2, w, w, 0, 0);
        lw->out_b = load(L, NAME("self_attn.out_proj.bias"), 1, w, 0, 0, 0);
        lw->ln2_w = load(L, NAME("layer_norm2.weight"), 1, w, 0, 0, 0);
        lw->ln2_b = load(L, NAME("layer_norm2.bias"), 1, w, 0, 0, 0);
        lw->fc1_w = load_t(L, NAME("mlp.fc1.weight"), 2, inter, w, 0, 0);
        lw->fc1_b = load(L, NAME("mlp.fc1.bias"), 1, inter, 0, 0, 0);
        lw->fc2_w = load_t(L, NAME("mlp.fc2.weight"), 2, w, inter, 0, 0);
        lw->fc2_b = load(L, NAME("mlp.fc2.bias"), 1, w, 0, 0, 0);
    }
#undef NAME
    return L->failed ? -1 : 0;
}

static int load_weights(loader *L, clip_model *m)
{
    const clip_config *c = &m->cfg;
    int64_t P = c->projection_dim;
    if (m->parts & CLIP_TEXT) {
        int64_t w = c->text.tower.hidden;
        m->token_embedding = load(L, "text_model.embeddings.token_embedding.weight", 2, c->text.vocab_size, w, 0, 0);
        m->text_position_embedding =
            load(L, "text_model.embeddings.position_embedding.weight", 2, c->text.max_positions, w, 0, 0);
        if (load_tower(L, "text_model", &m->text) < 0) return -1;
        m->final_ln_w = load(L, "text_model.final_layer_norm.weight", 1, w, 0, 0, 0);
        m->final_ln_b = load(L, "text_model.final_layer_norm.bias", 1, w, 0, 0, 0);
        m->text_projection = load_t(L, "text_projection.weight", 2, P, w, 0, 0);
    }
    if (m->parts & CLIP_VISION) {
        const clip_vision_config *v = &c->vision;
        int64_t w = v->tower.hidden;
        m->class_embedding = load(L, "vision_model.embeddings.class_embedding", 1, w, 0, 0, 0);
        m->patch_weight = load_t(L, "vision_model.embeddings.patch_embedding.weight", 4, w, v->channels,
                               v->patch_size, v->patch_size);
        m->vision_position_embedding =
            load(L, "vision_model.embeddings.position_embedding.weight", 2, clip_vision_tokens(v), w, 0, 0);
        m->pre_ln_w = load(L, "vision_model.pre_layrnorm.weight", 1, w, 0, 0, 0);
        m->pre_ln_b = load(L, "vision_model.pre_layrnorm.bias", 1, w, 0, 0, 0);
        if (load_tower(L, "vision_model", &m->vision) < 0) return -1;
        m->post_ln_w = load(L, "vision_model.post_layernorm.weight", 1, w, 0, 0, 0);
        m->post_ln_b = load(L, "vision_model.post_layernorm.bias", 1, w, 0, 0, 0);
        m->visual_projection = load_t(L, "visual_projection.weight", 2, P, w, 0, 0);
    }
    float *scale = load(L, "logit_scale", 0, 0, 0, 0, 0);
    if (L->failed) return -1;
    if (!L->counting) m->logit_scale = scale[0];
    return 0;
}

clip_model *clip_load(const char *dir, mm_error *err) { return clip_load_parts(dir, CLIP_BOTH, err); }

clip_model *clip_load_parts(const char *dir, int parts, mm_error *err)
{
    clip_model *m = xcalloc(1, sizeof *m);
    m->parts = parts & CLIP_BOTH;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (clip_config_load(path, &m->cfg, err) < 0) {
        clip_free(m);
        return NULL;
    }
    m->text.cfg = m->cfg.text.tower;
    m->vision.cfg = m->cfg.vision.tower;
    if (m->cfg.name_or_path[0]) {
        snprintf(m->id, sizeof m->id, "%s", m->cfg.name_or_path);
    } else {
        /* The directory's base name, trailing slashes ignored. */
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/') n--;
        size_t b = n;
        while (b > 0 && dir[b - 1] != '/') b--;
        snprintf(m->id, sizeof m->id, "%.*s", (int)(n - b), dir + b);
    }

    safetensors *st = st_open_dir(dir, err);
    if (!st) {
        clip_free(m);
        return NULL;
    }
    loader L = {.st = st, .dir = dir, .counting = 1, .err = err};
    if (load_weights(&L, m) < 0) goto fail;
    if (!(m->arena = mm_huge_alloc((L.need ? L.need : 1) * sizeof(float)))) {
        m->arena = NULL;
        mm_fail(err, MM_ERR_NOMEM, "%s: out of memory for %zu MB of weights", dir, L.need * sizeof(float) >> 20);
        goto fail;
    }
    L.counting = 0;
    L.cursor = m->arena;
    if (load_weights(&L, m) < 0) goto fail;
    st_close(st);
    return m;
fail:
    st_close(st);
    clip_free(m);
    return NULL;
}

/* Every weight that goes through gemm_run (the linear layers, the patch
 * embedding, the projections) of the towers loaded; the attention products
 * build theirs per call and stay float32. */
static int linear_weights(clip_model *m, gemm_weight **out)
{
    int n = 0;
    const tower *tw[2] = {m->parts & CLIP_TEXT ? &m->text : NULL, m->parts & CLIP_VISION ? &m->vision : NULL};
    for (int t = 0; t < 2; t++) {
        if (!tw[t]) continue;
        for (int l = 0; l < tw[t]->cfg.layers; l++) {
            layer_weights *lw = &tw[t]->layers[l];
            gemm_weight *ws[4] = {&lw->qkv_w, &lw->out_w, &lw->fc1_w, &lw->fc2_w};
            for (int i = 0; i < 4; i++) {
                if (out) out[n] = ws[i];
                n++;
            }
        }
    }
    gemm_weight *extra[3] = {m->parts & CLIP_TEXT ? &m->text_projection : NULL,
                             m->parts & CLIP_VISION ? &m->patch_weight : NULL,
                             m->parts & CLIP_VISION ? &m->visual_projection : NULL};
    for (int i = 0; i < 3; i++)
        if (extra[i]) {
            if (out) out[n] = extra[i];
            n++;
        }
    return n;
}

int clip_use_bf16(clip_model *m, mm_error *err)
{
    if (!gemm_bf16_available())
        return mm_fail(err, MM_ERR_UNSUPPORTED,
                       "bf16 precision needs a CPU with AVX512_BF16 and MM_ISA allowing avx512 (this one: %s; "
                       "kernels %s)",
                       *cpu_feature_list() ? cpu_feature_list() : "no features of interest",
                       cpu_isa_name(cpu_isa_active()));
    if (m->bf16_arena) return 0;
    int n = linear_weights(m, NULL);
    gemm_weight **ws = xmalloc((size_t)(n ? n : 1) * sizeof *ws);
    linear_weights(m, ws);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (gemm_bf16_packed_count(ws[i]->K, ws[i]->N) + 31) / 32 * 32;
    /* sized by the model's declared shapes, as the float arena is */
    m->bf16_arena = mm_huge_alloc((total ? total : 32) * sizeof(uint16_t));
    if (!m->bf16_arena) {
        free(ws);
        return mm_fail(err, MM_ERR_NOMEM, "%s: out of memory for the bf16 weights (%zu bytes)", m->id,
                       total * sizeof(uint16_t));
    }
    uint16_t *dst = m->bf16_arena;
    for (int i = 0; i < n; i++) {
        size_t count = (gemm_bf16_packed_count(ws[i]->K, ws[i]->N) + 31) / 32 * 32;
        *ws[i] = gemm_pack_bf16(dst, ws[i]);
        dst += count;
    }
    free(ws);
    return 0;
}

void clip_free(clip_model *m)
{
    if (!m) return;
    free(m->text.layers);
    free(m->vision.layers);
    free(m->arena);
    free(m->bf16_arena);
    free(m->run.mem);
    free(m->run.seq_start);
    free(m->run.seq_len);
    free(m->run.pick);
    free(m);
}
