/* clip_config.h — the architecture of a CLIP checkpoint, read from its
 * Hugging Face config.json.
 *
 * Owns: mapping config.json ("text_config", "vision_config", "projection_dim")
 * to the numbers the engine needs. Nothing about the architecture is
 * hard-coded elsewhere. A key that is absent takes the default of
 * transformers' CLIPTextConfig / CLIPVisionConfig, because transformers
 * writes config.json without the values equal to its defaults; a key that
 * is present but has the wrong type or an impossible value is an error
 * naming the key. Unknown activations are refused.
 */
#ifndef MM_CLIP_CONFIG_H
#define MM_CLIP_CONFIG_H

#include <stddef.h>

#include "core/error.h"

enum clip_act {
    CLIP_ACT_QUICK_GELU = 1, /* x * sigmoid(1.702 x) (OpenAI CLIP) */
    CLIP_ACT_GELU,           /* exact: 0.5 x (1 + erf(x / sqrt 2)) (OpenCLIP/LAION) */
    CLIP_ACT_GELU_TANH,      /* "gelu_new", "gelu_pytorch_tanh", "gelu_fast" */
};

typedef struct clip_tower_config {
    int hidden;        /* width w */
    int intermediate;  /* MLP width */
    int layers;
    int heads;         /* hidden % heads == 0 */
    int act;           /* enum clip_act */
    float ln_eps;
} clip_tower_config;

typedef struct clip_text_config {
    clip_tower_config tower;
    int vocab_size;
    int max_positions;  /* context length (77 for CLIP) */
    long eos_token_id;  /* 2 (legacy) = pool at argmax(ids); else first occurrence */
} clip_text_config;

typedef struct clip_vision_config {
    clip_tower_config tower;
    int image_size;
    int patch_size;
    int channels;
} clip_vision_config;

typedef struct clip_config {
    clip_text_config text;
    clip_vision_config vision;
    int projection_dim;
    char name_or_path[256]; /* "_name_or_path" ("" if absent) */
} clip_config;

/* Parses config.json at `path`. */
int clip_config_load(const char *path, clip_config *cfg, mm_error *err);
/* Parses config.json text held in memory (`name` is used in messages). */
int clip_config_parse(const char *json, size_t len, const char *name, clip_config *cfg, mm_error *err);

const char *clip_act_name(int act);

/* Number of vision tokens: (image_size / patch_size)^2 patches + 1 class token. */
int clip_vision_tokens(const clip_vision_config *v);

#endif
