/* test_clip_config.c — config.json -> clip_config (lib/nn/clip_config.c):
 * the tiny reference model's config, transformers' defaults for absent keys,
 * wrong types and impossible values refused with the key named, unknown
 * activations refused, and file errors naming the file. */
#include <stdio.h>
#include <unistd.h>

#include "nn/clip_config.h"
#include "test.h"

static int parse(const char *json, clip_config *cfg, mm_error *err)
{
    return clip_config_parse(json, strlen(json), "cfg.json", cfg, err);
}

/* Parses `json`, expects failure of `kind` with every one of the `want`
 * fragments in the message (NULL-terminated). */
static void expect_fail(const char *json, int kind, const char *want1, const char *want2)
{
    clip_config cfg;
    mm_error err = {0};
    int rc = parse(json, &cfg, &err);
    CHECK_MSG(rc < 0, "accepted: %s", json);
    if (rc >= 0) return;
    CHECK_MSG(err.kind == kind, "kind %s, want %s: %s", mm_error_kind_name(err.kind),
              mm_error_kind_name(kind), err.msg);
    CHECK_MSG(strncmp(err.msg, "cfg.json", 8) == 0, "message does not name the file: %s", err.msg);
    if (want1) CHECK_MSG(strstr(err.msg, want1) != NULL, "'%s' not in: %s", want1, err.msg);
    if (want2) CHECK_MSG(strstr(err.msg, want2) != NULL, "'%s' not in: %s", want2, err.msg);
}

static void test_tiny_reference_config(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/ref/clip/models/tiny/config.json", test_shared_dir());
    if (access(path, R_OK) != 0) {
        test_skip("reference data not found under ../shared");
        return;
    }
    clip_config cfg;
    mm_error err = {0};
    int rc = clip_config_load(path, &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc != 0) return;
    CHECK_EQ_INT(cfg.text.tower.hidden, 64);
    CHECK_EQ_INT(cfg.text.tower.intermediate, 256);
    CHECK_EQ_INT(cfg.text.tower.layers, 2);
    CHECK_EQ_INT(cfg.text.tower.heads, 2);
    CHECK_EQ_INT(cfg.text.tower.act, CLIP_ACT_QUICK_GELU);
    CHECK(cfg.text.tower.ln_eps == 1e-5f);
    CHECK_EQ_INT(cfg.text.vocab_size, 49408);
    CHECK_EQ_INT(cfg.text.max_positions, 77);
    CHECK_EQ_INT(cfg.text.eos_token_id, 2);
    CHECK_EQ_INT(cfg.vision.tower.hidden, 64);
    CHECK_EQ_INT(cfg.vision.tower.intermediate, 256);
    CHECK_EQ_INT(cfg.vision.tower.layers, 2);
    CHECK_EQ_INT(cfg.vision.tower.heads, 2);
    CHECK_EQ_INT(cfg.vision.image_size, 224);
    CHECK_EQ_INT(cfg.vision.patch_size, 32);
    CHECK_EQ_INT(cfg.vision.channels, 3);
    CHECK_EQ_INT(cfg.projection_dim, 32);
    CHECK_EQ_STR(cfg.name_or_path, "clipref-random");
    CHECK_EQ_INT(clip_vision_tokens(&cfg.vision), 50);
}

/* transformers omits keys equal to its defaults: an empty object is the
 * default CLIP ViT-B/32. */
static void test_defaults_when_absent(void)
{
    const char *forms[] = {
        "{}",
        "{\"text_config\": {}, \"vision_config\": {}}",
        "{\"text_config\": null, \"vision_config\": null}",
        "{\"model_type\": \"clip\", \"text_config\": {\"hidden_act\": null, \"layer_norm_eps\": null}}",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        clip_config cfg;
        mm_error err = {0};
        int rc = parse(forms[i], &cfg, &err);
        CHECK_MSG(rc == 0, "%s: %s", forms[i], err.msg);
        if (rc != 0) continue;
        CHECK_EQ_INT(cfg.text.tower.hidden, 512);
        CHECK_EQ_INT(cfg.text.tower.intermediate, 2048);
        CHECK_EQ_INT(cfg.text.tower.layers, 12);
        CHECK_EQ_INT(cfg.text.tower.heads, 8);
        CHECK_EQ_INT(cfg.text.tower.act, CLIP_ACT_QUICK_GELU);
        CHECK(cfg.text.tower.ln_eps == 1e-5f);
        CHECK_EQ_INT(cfg.text.vocab_size, 49408);
        CHECK_EQ_INT(cfg.text.max_positions, 77);
        CHECK_EQ_INT(cfg.text.eos_token_id, 49407);
        CHECK_EQ_INT(cfg.vision.tower.hidden, 768);
        CHECK_EQ_INT(cfg.vision.tower.intermediate, 3072);
        CHECK_EQ_INT(cfg.vision.tower.layers, 12);
        CHECK_EQ_INT(cfg.vision.tower.heads, 12);
        CHECK_EQ_INT(cfg.vision.tower.act, CLIP_ACT_QUICK_GELU);
        CHECK_EQ_INT(cfg.vision.image_size, 224);
        CHECK_EQ_INT(cfg.vision.patch_size, 32);
        CHECK_EQ_INT(cfg.vision.channels, 3);
        CHECK_EQ_INT(cfg.projection_dim, 512);
        CHECK_EQ_STR(cfg.name_or_path, "");
        CHECK_EQ_INT(clip_vision_tokens(&cfg.vision), 50);
    }
}

/* A key present in one tower changes only that tower; the other keeps its
 * defaults. The legacy "*_config_dict" is read when "*_config" is null. */
static void test_partial_and_legacy_sections(void)
{
    clip_config cfg;
    mm_error err = {0};
    int rc = parse("{\"vision_config\": {\"hidden_size\": 1024, \"num_attention_heads\": 16,"
                   " \"patch_size\": 14, \"hidden_act\": \"gelu\"}, \"projection_dim\": 768}",
                   &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(cfg.vision.tower.hidden, 1024);
    CHECK_EQ_INT(cfg.vision.tower.heads, 16);
    CHECK_EQ_INT(cfg.vision.tower.act, CLIP_ACT_GELU);
    CHECK_EQ_INT(cfg.vision.patch_size, 14);
    CHECK_EQ_INT(cfg.vision.tower.layers, 12);
    CHECK_EQ_INT(cfg.text.tower.hidden, 512);
    CHECK_EQ_INT(cfg.text.tower.act, CLIP_ACT_QUICK_GELU);
    CHECK_EQ_INT(cfg.projection_dim, 768);
    CHECK_EQ_INT(clip_vision_tokens(&cfg.vision), 16 * 16 + 1);

    rc = parse("{\"text_config\": null, \"text_config_dict\": {\"hidden_size\": 128,"
               " \"num_attention_heads\": 4, \"eos_token_id\": 2}}",
               &cfg, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK_EQ_INT(cfg.text.tower.hidden, 128);
    CHECK_EQ_INT(cfg.text.tower.heads, 4);
    CHECK_EQ_INT(cfg.text.eos_token_id, 2);
}

static void test_activations(void)
{
    static const struct {
        const char *name;
        int act;
    } known[] = {
        {"quick_gelu", CLIP_ACT_QUICK_GELU},    {"gelu", CLIP_ACT_GELU},
        {"gelu_new", CLIP_ACT_GELU_TANH},       {"gelu_pytorch_tanh", CLIP_ACT_GELU_TANH},
        {"gelu_fast", CLIP_ACT_GELU_TANH},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char json[256];
        snprintf(json, sizeof json, "{\"text_config\": {\"hidden_act\": \"%s\"}}", known[i].name);
        clip_config cfg;
        mm_error err = {0};
        CHECK_MSG(parse(json, &cfg, &err) == 0, "%s", err.msg);
        CHECK_EQ_INT(cfg.text.tower.act, known[i].act);
        CHECK_EQ_INT(cfg.vision.tower.act, CLIP_ACT_QUICK_GELU);
    }
    CHECK_EQ_STR(clip_act_name(CLIP_ACT_QUICK_GELU), "quick_gelu");
    CHECK_EQ_STR(clip_act_name(CLIP_ACT_GELU), "gelu");
    CHECK_EQ_STR(clip_act_name(0), "?");

    expect_fail("{\"vision_config\": {\"hidden_act\": \"relu\"}}", MM_ERR_UNSUPPORTED,
                "vision_config.hidden_act 'relu' is not supported", "quick_gelu");
    expect_fail("{\"text_config\": {\"hidden_act\": \"silu\"}}", MM_ERR_UNSUPPORTED,
                "text_config.hidden_act 'silu'", NULL);
    expect_fail("{\"text_config\": {\"hidden_act\": 3}}", MM_ERR_MALFORMED,
                "text_config.\"hidden_act\" is not a string", NULL);
}

static void test_wrong_types_name_the_key(void)
{
    expect_fail("{\"text_config\": {\"hidden_size\": \"512\"}}", MM_ERR_MALFORMED,
                "text_config.\"hidden_size\" is not an integer", NULL);
    expect_fail("{\"vision_config\": {\"patch_size\": 32.0}}", MM_ERR_MALFORMED,
                "vision_config.\"patch_size\" is not an integer", NULL);
    expect_fail("{\"vision_config\": {\"num_channels\": true}}", MM_ERR_MALFORMED,
                "vision_config.\"num_channels\" is not an integer", NULL);
    expect_fail("{\"projection_dim\": [512]}", MM_ERR_MALFORMED, "\"projection_dim\" is not an integer",
                NULL);
    expect_fail("{\"text_config\": {\"layer_norm_eps\": \"1e-5\"}}", MM_ERR_MALFORMED,
                "text_config.\"layer_norm_eps\" is not a number", NULL);
    expect_fail("{\"text_config\": [1, 2]}", MM_ERR_MALFORMED, "\"text_config\" is not an object", NULL);
    expect_fail("{\"vision_config\": 7}", MM_ERR_MALFORMED, "\"vision_config\" is not an object", NULL);
    expect_fail("[]", MM_ERR_MALFORMED, "not a JSON object", NULL);
    expect_fail("{\"model_type\": \"siglip\"}", MM_ERR_UNSUPPORTED, "model_type 'siglip'", NULL);
}

static void test_impossible_values_name_the_key(void)
{
    expect_fail("{\"text_config\": {\"hidden_size\": 0}}", MM_ERR_LIMIT,
                "text_config.\"hidden_size\" = 0 is outside", NULL);
    expect_fail("{\"text_config\": {\"num_hidden_layers\": -1}}", MM_ERR_LIMIT,
                "text_config.\"num_hidden_layers\" = -1", NULL);
    expect_fail("{\"vision_config\": {\"image_size\": 100000}}", MM_ERR_LIMIT,
                "vision_config.\"image_size\" = 100000", NULL);
    expect_fail("{\"text_config\": {\"vocab_size\": 99999999999}}", MM_ERR_LIMIT,
                "text_config.\"vocab_size\"", NULL);
    expect_fail("{\"projection_dim\": 0}", MM_ERR_LIMIT, "\"projection_dim\" = 0", NULL);
    expect_fail("{\"vision_config\": {\"hidden_size\": 100, \"num_attention_heads\": 3}}",
                MM_ERR_MALFORMED, "vision_config.hidden_size 100 is not a multiple of num_attention_heads 3",
                NULL);
    expect_fail("{\"vision_config\": {\"image_size\": 224, \"patch_size\": 30}}", MM_ERR_UNSUPPORTED,
                "vision_config.image_size 224 is not a multiple of patch_size 30", NULL);
    expect_fail("{\"vision_config\": {\"image_size\": 16000, \"patch_size\": 1}}", MM_ERR_LIMIT,
                "patches per image is too many", NULL);
    expect_fail("{\"text_config\": {\"layer_norm_eps\": 0}}", MM_ERR_LIMIT, "text_config.layer_norm_eps",
                NULL);
    expect_fail("{\"text_config\": {\"layer_norm_eps\": 1e-60}}", MM_ERR_LIMIT, "in float", NULL);
    expect_fail("{\"vision_config\": {\"layer_norm_eps\": 2}}", MM_ERR_LIMIT,
                "vision_config.layer_norm_eps", NULL);
}

static void test_bad_json_and_files(void)
{
    clip_config cfg;
    mm_error err = {0};
    CHECK(parse("{\"text_config\": {", &cfg, &err) < 0);
    CHECK_EQ_INT(err.kind, MM_ERR_MALFORMED);
    CHECK_MSG(strncmp(err.msg, "cfg.json:1: invalid JSON", 24) == 0, "%s", err.msg);

    CHECK(clip_config_load("/nonexistent/dir/config.json", &cfg, &err) < 0);
    CHECK_EQ_INT(err.kind, MM_ERR_IO);
    CHECK_MSG(strstr(err.msg, "/nonexistent/dir/config.json") != NULL, "%s", err.msg);

    char path[] = "/tmp/test_clip_config.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char *text = "{\n  \"projection_dim\": 64,\n  oops\n}\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    CHECK(clip_config_load(path, &cfg, &err) < 0);
    CHECK_EQ_INT(err.kind, MM_ERR_MALFORMED);
    char want[128];
    snprintf(want, sizeof want, "%s:3: invalid JSON", path);
    CHECK_MSG(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    unlink(path);
}

int main(void)
{
    RUN(test_tiny_reference_config);
    RUN(test_defaults_when_absent);
    RUN(test_partial_and_legacy_sections);
    RUN(test_activations);
    RUN(test_wrong_types_name_the_key);
    RUN(test_impossible_values_name_the_key);
    RUN(test_bad_json_and_files);
    return test_summary();
}
