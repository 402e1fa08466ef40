/* clip.h — the CLIP model: loading a Hugging Face checkpoint and running
 * its image and text towers (Hugging Face CLIPModel semantics).
 *
 * Owns: the weights (F32/F16/BF16 safetensors, in one arena, with q/k/v
 * fused into one matrix per layer), the shape checks against config.json,
 * and the batched forward passes:
 *   vision: conv patchify (as one GEMM) -> [class; patches] + positions ->
 *           pre_layrnorm -> L pre-LN blocks -> post_layernorm(CLS) -> projection
 *   text:   token + position embeddings -> L causal pre-LN blocks ->
 *           final_layer_norm -> state at the end token -> projection
 * The matrices of the linear layers (q/k/v, out_proj, fc1, fc2, the patch
 * embedding, the two projections) are packed in gemm's layout; when the
 * checkpoint stores them as F16 they stay half (q/k/v only if all three
 * are F16) and the GEMM widens them to float32 as it reads them (exact: the
 * same bits as converting first, half the bytes to stream). Every other
 * tensor (embeddings, biases, layer norms, logit_scale), and every F32 or
 * BF16 one, is converted once to float32.
 * The tokens of a whole batch are stacked into one matrix per GEMM; the
 * text tower runs only up to each caption's end token (attention is causal,
 * so the pooled result is the same as with padding).
 *
 * A clip_model is not safe for concurrent encode calls (it owns one set of
 * activation buffers, sized for the largest batch seen so far).
 */
#ifndef MM_CLIP_H
#define MM_CLIP_H

#include <stddef.h>
#include <stdint.h>

#include "nn/clip_config.h"
#include "core/error.h"
#include "core/pool.h"

typedef struct clip_model clip_model;

enum clip_parts {
    CLIP_TEXT = 1,
    CLIP_VISION = 2,
    CLIP_BOTH = 3,
};

/* Loads DIR/config.json and DIR/model.safetensors (or the sharded index).
 * clip_load_parts loads only the towers in `parts` (enum clip_parts). */
clip_model *clip_load(const char *dir, mm_error *err);
clip_model *clip_load_parts(const char *dir, int parts, mm_error *err);
void clip_free(clip_model *m);

/* The opt-in reduced precision (mm-embed-* --precision bf16): the linear
 * layers' weights (attention projections, MLP, patch embedding,
 * projections) get bfloat16 copies that the GEMM multiplies with x rounded
 * to bf16, summing in float32 (kernels/gemm.h); layer norms, softmax,
 * activations, the attention products and the residual stream stay
 * float32. About twice the matrix throughput on AVX512_BF16; the embeddings
 * drift from float32's (README, "bf16"). The float32 weights stay loaded.
 * MM_ERR_UNSUPPORTED where the CPU (or MM_ISA) has no AVX512_BF16. */
int clip_use_bf16(clip_model *m, mm_error *err);

const clip_config *clip_get_config(const clip_model *m);
/* The config's "_name_or_path" if set, else the directory's base name. */
const char *clip_model_id(const clip_model *m);
/* logit_scale as stored (ln of the multiplier; logits use exp of it). */
float clip_logit_scale(const clip_model *m);

/* The threads the engine computes on (matrix products, attention, layer
 * norms): the program's pool (lib/core/pool.h), shared with whatever else
 * it runs (image decoding); NULL (the default) = the calling thread only.
 * The pool must outlive the model's encode calls; clip_encode_* must be
 * called from the pool's owner thread. Results are bit-identical for every
 * thread count. */
void clip_set_pool(clip_model *m, mm_pool *pool);

/* Optional outputs of an encode call; NULL pointers are not produced.
 *   embeds       [n, projection_dim]   projected, not normalised
 *   pooled       [n, width]            post_layernorm(CLS) / final_layer_norm(end token)
 *   last_hidden  vision: [n, tokens, width], the encoder output without
 *                post_layernorm (as HF CLIPVisionModel);
 *                text: the rows actually run, after final_layer_norm,
 *                caption after caption (clip_text_positions() rows each). */
typedef struct clip_outputs {
    float *embeds;
    float *pooled;
    float *last_hidden;
} clip_outputs;

/* pixel_values: n images of [channels, image_size, image_size] float32
 * (HF CLIPImageProcessor output). out_embeds: [n, projection_dim]. */
int clip_encode_images(clip_model *m, const float *pixel_values, int n, float *out_embeds,
                       mm_error *err);
int clip_encode_images_ex(clip_model *m, const float *pixel_values, int n, const clip_outputs *out,
                          mm_error *err);

/* ids: n rows of max_position_embeddings (77) ids, row-major; lengths[i]
 * (1..77) says how many of row i are real (the rest is padding, ignored).
 * out: [n, projection_dim]. */
int clip_encode_texts(clip_model *m, const int32_t *ids, const int *lengths, int n, float *out,
                      mm_error *err);
int clip_encode_texts_ex(clip_model *m, const int32_t *ids, const int *lengths, int n,
                         const clip_outputs *out, mm_error *err);

/* The position the text tower pools at for one caption (the eos_token_id
 * rule of the config), and so the number of positions it runs (+1). */
int clip_text_pool_index(const clip_model *m, const int32_t *ids, int length);
static inline int clip_text_positions(const clip_model *m, const int32_t *ids, int length)
{
    return clip_text_pool_index(m, ids, length) + 1;
}

#endif
