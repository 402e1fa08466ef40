/* clip_config.c — see clip_config.h. */
#include "nn/clip_config.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *name;
    int act;
} act_table[] = {
    {"quick_gelu", CLIP_ACT_QUICK_GELU},
    {"gelu", CLIP_ACT_GELU},
    {"gelu_new", CLIP_ACT_GELU_TANH},
    {"gelu_pytorch_tanh", CLIP_ACT_GELU_TANH},
    {"gelu_fast", CLIP_ACT_GELU_TANH},
};

const char *clip_act_name(int act)
{
    for (size_t i = 0; i < sizeof act_table / sizeof act_table[0]; i++)
        if (act_table[i].act == act) return act_table[i].name;
    return "?";
}

int clip_vision_tokens(const clip_vision_config *v)
{
    int g = v->image_size / v->patch_size;
    return g * g + 1;
}

/* Reads obj[key] as an integer in [lo, hi]; absent keeps *out (the default). */
static int get_int(json_t *obj, const char *sect, const char *key, long lo, long hi, long *out,
                   const char *name, mm_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v))
        return mm_fail(err, MM_ERR_MALFORMED, "%s: %s%s\"%s\" is not an integer", name, sect,
                       *sect ? "." : "", key);
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return mm_fail(err, MM_ERR_LIMIT, "%s: %s%s\"%s\" = %lld is outside [%ld, %ld]", name, sect,
                       *sect ? "." : "", key, x, lo, hi);
    *out = (long)x;
    return 0;
}

static int get_tower(json_t *obj, const char *sect, clip_tower_config *t, const char *name,
                     mm_error *err)
{
    long hidden = t->hidden, inter = t->intermediate, layers = t->layers, heads = t->heads;
    if (get_int(obj, sect, "hidden_size", 1, 1 << 16, &hidden, name, err) < 0 ||
        get_int(obj, sect, "intermediate_size", 1, 1 << 18, &inter, name, err) < 0 ||
        get_int(obj, sect, "num_hidden_layers", 1, 1024, &layers, name, err) < 0 ||
        get_int(obj, sect, "num_attention_heads", 1, 1024, &heads, name, err) < 0)
        return -1;
    if (hidden % heads != 0)
        return mm_fail(err, MM_ERR_MALFORMED,
                       "%s: %s.hidden_size %ld is not a multiple of num_attention_heads %ld", name, sect,
                       hidden, heads);
    t->hidden = (int)hidden;
    t->intermediate = (int)inter;
    t->layers = (int)layers;
    t->heads = (int)heads;

    json_t *a = json_object_get(obj, "hidden_act");
    if (a && !json_is_null(a)) {
        if (!json_is_string(a))
            return mm_fail(err, MM_ERR_MALFORMED, "%s: %s.\"hidden_act\" is not a string", name, sect);
        int act = 0;
        for (size_t i = 0; i < sizeof act_table / sizeof act_table[0]; i++)
            if (strcmp(json_string_value(a), act_table[i].name) == 0) act = act_table[i].act;
        if (!act)
            return mm_fail(err, MM_ERR_UNSUPPORTED,
                           "%s: %s.hidden_act '%s' is not supported (supported: quick_gelu, gelu, "
                           "gelu_new, gelu_pytorch_tanh, gelu_fast)",
                           name, sect, json_string_value(a));
        t->act = act;
    }
    json_t *e = json_object_get(obj, "layer_norm_eps");
    if (e && !json_is_null(e)) {
        if (!json_is_number(e))
            return mm_fail(err, MM_ERR_MALFORMED, "%s: %s.\"layer_norm_eps\" is not a number", name, sect);
        double eps = json_number_value(e);
        /* the engine works in float: a positive eps that rounds to 0 would
         * divide by zero on a constant row */
        if (!(eps > 0 && eps < 1) || !((float)eps > 0))
            return mm_fail(err, MM_ERR_LIMIT, "%s: %s.layer_norm_eps %g is outside (0, 1) in float", name,
                           sect, eps);
        t->ln_eps = (float)eps;
    }
    return 0;
}

/* A section is "text_config" (or the legacy "text_config_dict" when the
 * former is null). Absent entirely: all defaults. */
static json_t *section(json_t *root, const char *key, const char *legacy)
{
    json_t *s = json_object_get(root, key);
    if (!s || json_is_null(s)) s = json_object_get(root, legacy);
    return s;
}

static int parse_root(json_t *root, const char *name, clip_config *cfg, mm_error *err)
{
    if (!json_is_object(root)) return mm_fail(err, MM_ERR_MALFORMED, "%s: not a JSON object", name);

    /* transformers' defaults (CLIPTextConfig, CLIPVisionConfig, CLIPConfig):
     * config.json files written by transformers omit values equal to these. */
    *cfg = (clip_config){
        .text = {.tower = {512, 2048, 12, 8, CLIP_ACT_QUICK_GELU, 1e-5f},
                 .vocab_size = 49408, .max_positions = 77, .eos_token_id = 49407},
        .vision = {.tower = {768, 3072, 12, 12, CLIP_ACT_QUICK_GELU, 1e-5f},
                   .image_size = 224, .patch_size = 32, .channels = 3},
        .projection_dim = 512,
    };

    json_t *mt = json_object_get(root, "model_type");
    if (mt && json_is_string(mt) && strcmp(json_string_value(mt), "clip") != 0)
        return mm_fail(err, MM_ERR_UNSUPPORTED, "%s: model_type '%s' is not supported (expected 'clip')",
                       name, json_string_value(mt));

    json_t *tc = section(root, "text_config", "text_config_dict");
    json_t *vc = section(root, "vision_config", "vision_config_dict");
    if (tc && !json_is_object(tc))
        return mm_fail(err, MM_ERR_MALFORMED, "%s: \"text_config\" is not an object", name);
    if (vc && !json_is_object(vc))
        return mm_fail(err, MM_ERR_MALFORMED, "%s: \"vision_config\" is not an object", name);
    json_t *empty = json_object();
    if (!empty) return mm_fail(err, MM_ERR_NOMEM, "%s: out of memory", name);
    if (!tc) tc = empty;
    if (!vc) vc = empty;

    int rc = -1;
    long vocab = cfg->text.vocab_size, maxpos = cfg->text.max_positions, eos = cfg->text.eos_token_id;
    long img = cfg->vision.image_size, patch = cfg->vision.patch_size, chans = cfg->vision.channels;
    long proj = cfg->projection_dim;
    if (get_tower(tc, "text_config", &cfg->text.tower, name, err) < 0 ||
        get_tower(vc, "vision_config", &cfg->vision.tower, name, err) < 0 ||
        get_int(tc, "text_config", "vocab_size", 1, 1L << 24, &vocab, name, err) < 0 ||
        get_int(tc, "text_config", "max_position_embeddings", 1, 1 << 16, &maxpos, name, err) < 0 ||
        get_int(tc, "text_config", "eos_token_id", 0, 1L << 30, &eos, name, err) < 0 ||
        get_int(vc, "vision_config", "image_size", 1, 1 << 14, &img, name, err) < 0 ||
        get_int(vc, "vision_config", "patch_size", 1, 1 << 10, &patch, name, err) < 0 ||
        get_int(vc, "vision_config", "num_channels", 1, 64, &chans, name, err) < 0 ||
        get_int(root, "", "projection_dim", 1, 1 << 16, &proj, name, err) < 0)
        goto out;
    if (img % patch != 0) {
        mm_fail(err, MM_ERR_UNSUPPORTED, "%s: vision_config.image_size %ld is not a multiple of patch_size %ld",
                name, img, patch);
        goto out;
    }
    if ((img / patch) * (img / patch) + 1 > (1L << 20)) {
        mm_fail(err, MM_ERR_LIMIT, "%s: vision_config: %ld patches per image is too many", name,
                (img / patch) * (img / patch));
        goto out;
    }
    cfg->text.vocab_size = (int)vocab;
    cfg->text.max_positions = (int)maxpos;
    cfg->text.eos_token_id = eos;
    cfg->vision.image_size = (int)img;
    cfg->vision.patch_size = (int)patch;
    cfg->vision.channels = (int)chans;
    cfg->projection_dim = (int)proj;
    json_t *np = json_object_get(root, "_name_or_path");
    if (json_is_string(np)) snprintf(cfg->name_or_path, sizeof cfg->name_or_path, "%s", json_string_value(np));
    rc = 0;
out:
    json_decref(empty);
    return rc;
}

int clip_config_parse(const char *json, size_t len, const char *name, clip_config *cfg, mm_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root)
        return mm_fail(err, MM_ERR_MALFORMED, "%s:%d: invalid JSON: %s", name, jerr.line, jerr.text);
    int rc = parse_root(root, name, cfg, err);
    json_decref(root);
    return rc;
}

int clip_config_load(const char *path, clip_config *cfg, mm_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        if (jerr.line <= 0 && access(path, R_OK) != 0) /* jansson's text repeats the path */
            return mm_fail(err, MM_ERR_IO, "%s: %s", path, strerror(errno));
        if (jerr.line <= 0)
            return mm_fail(err, MM_ERR_IO, "%s: %s", path, jerr.text);
        return mm_fail(err, MM_ERR_MALFORMED, "%s:%d: invalid JSON: %s", path, jerr.line, jerr.text);
    }
    int rc = parse_root(root, path, cfg, err);
    json_decref(root);
    return rc;
}
