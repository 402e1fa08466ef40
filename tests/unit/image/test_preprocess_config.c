/* test_preprocess_config.c — preprocessor_config.json and the config.json
 * fallback (lib/image/preprocess_config.c): every size form, resample other
 * than 3 refused, image_size from config.json, 224 when nothing says, and
 * bad JSON or wrong values naming the file (and key). */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/preprocess_config.h"
#include "test.h"

static char dir[] = "/tmp/test_preprocess_config.XXXXXX";

static void put(const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

static void rm(const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static const char *pp_path(void)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    return path;
}

/* Reads `json` as a preprocessor_config.json over the defaults for 224. */
static int read_pp(const char *json, preprocess_params *p, mm_error *err)
{
    put("preprocessor_config.json", json);
    preprocess_params_default(p, 224);
    return preprocess_config_read(pp_path(), p, err);
}

static void expect_fail(const char *json, int kind, const char *want)
{
    preprocess_params p;
    mm_error err = {0};
    int rc = read_pp(json, &p, &err);
    CHECK_MSG(rc < 0, "accepted: %s", json);
    if (rc >= 0) return;
    CHECK_MSG(err.kind == kind, "kind %s, want %s: %s", mm_error_kind_name(err.kind),
              mm_error_kind_name(kind), err.msg);
    CHECK_MSG(strncmp(err.msg, pp_path(), strlen(pp_path())) == 0, "file not named: %s", err.msg);
    if (want) CHECK_MSG(strstr(err.msg, want) != NULL, "'%s' not in: %s", want, err.msg);
}

static void check_defaults(const preprocess_params *p, int side)
{
    CHECK(p->do_resize);
    CHECK_EQ_INT(p->shortest_edge, side);
    CHECK_EQ_INT(p->resize_height, 0);
    CHECK_EQ_INT(p->resize_width, 0);
    CHECK_EQ_INT(p->resample, PREPROCESS_BICUBIC);
    CHECK(p->do_center_crop);
    CHECK_EQ_INT(p->crop_height, side);
    CHECK_EQ_INT(p->crop_width, side);
    CHECK(p->do_rescale);
    CHECK(p->rescale_factor == 1.0 / 255.0);
    CHECK(p->do_normalize);
    CHECK(p->mean[0] == 0.48145466f && p->mean[1] == 0.4578275f && p->mean[2] == 0.40821073f);
    CHECK(p->std[0] == 0.26862954f && p->std[1] == 0.26130258f && p->std[2] == 0.27577711f);
}

static void test_size_forms(void)
{
    preprocess_params p;
    mm_error err = {0};

    /* an int: shortest edge (CLIP's default_to_square=False) */
    CHECK_MSG(read_pp("{\"size\": 256}", &p, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(p.shortest_edge, 256);
    CHECK_EQ_INT(p.resize_height, 0);
    CHECK_EQ_INT(p.resize_width, 0);
    CHECK_EQ_INT(p.crop_height, 224);

    CHECK_MSG(read_pp("{\"size\": {\"shortest_edge\": 336}}", &p, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(p.shortest_edge, 336);
    CHECK_EQ_INT(p.resize_height, 0);

    /* height/width: an exact size, shortest edge cleared */
    CHECK_MSG(read_pp("{\"size\": {\"height\": 240, \"width\": 320}}", &p, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(p.shortest_edge, 0);
    CHECK_EQ_INT(p.resize_height, 240);
    CHECK_EQ_INT(p.resize_width, 320);

    /* crop_size: an int is square; height/width */
    CHECK_MSG(read_pp("{\"crop_size\": 200}", &p, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(p.crop_height, 200);
    CHECK_EQ_INT(p.crop_width, 200);
    CHECK_EQ_INT(p.shortest_edge, 224);
    CHECK_MSG(read_pp("{\"crop_size\": {\"height\": 100, \"width\": 150}}", &p, &err) == 0, "%s",
              err.msg);
    CHECK_EQ_INT(p.crop_height, 100);
    CHECK_EQ_INT(p.crop_width, 150);

    /* null and absent keep what was there */
    CHECK_MSG(read_pp("{\"size\": null, \"crop_size\": null, \"resample\": null}", &p, &err) == 0, "%s",
              err.msg);
    check_defaults(&p, 224);

    /* crop_size has no shortest_edge form */
    expect_fail("{\"crop_size\": {\"shortest_edge\": 224}}", MM_ERR_MALFORMED, "\"crop_size\": expected");
    expect_fail("{\"size\": {\"height\": 224}}", MM_ERR_MALFORMED, "\"size\": expected an integer");
    expect_fail("{\"size\": \"224\"}", MM_ERR_MALFORMED, "or {\"shortest_edge\": n}");
    expect_fail("{\"size\": 0}", MM_ERR_MALFORMED, "\"size\": expected an integer in 1..65536");
    expect_fail("{\"size\": 70000}", MM_ERR_MALFORMED, "\"size\": expected an integer in 1..");
    expect_fail("{\"size\": {\"shortest_edge\": -5}}", MM_ERR_MALFORMED, "\"size.shortest_edge\"");
    expect_fail("{\"crop_size\": {\"height\": 10, \"width\": 2.5}}", MM_ERR_MALFORMED,
                "\"crop_size.width\"");
    expect_fail("{\"size\": {\"height\": 0, \"width\": 10}}", MM_ERR_MALFORMED, "\"size.height\"");
}

static void test_other_keys(void)
{
    preprocess_params p;
    mm_error err = {0};
    const char *full =
        "{\"do_resize\": false, \"do_center_crop\": false, \"do_rescale\": false,"
        " \"do_normalize\": false, \"rescale_factor\": 0.5, \"resample\": 3,"
        " \"image_mean\": [0.5, 0.25, 1], \"image_std\": [0.1, 0.2, 0.3],"
        " \"processor_class\": \"CLIPProcessor\", \"do_convert_rgb\": true,"
        " \"feature_extractor_type\": \"CLIPFeatureExtractor\"}";
    CHECK_MSG(read_pp(full, &p, &err) == 0, "%s", err.msg);
    CHECK(!p.do_resize && !p.do_center_crop && !p.do_rescale && !p.do_normalize);
    CHECK(p.rescale_factor == 0.5);
    CHECK_EQ_INT(p.resample, PREPROCESS_BICUBIC);
    CHECK(p.mean[0] == 0.5f && p.mean[1] == 0.25f && p.mean[2] == 1.0f);
    CHECK(p.std[0] == 0.1f && p.std[1] == 0.2f && p.std[2] == 0.3f);

    expect_fail("{\"do_resize\": 1}", MM_ERR_MALFORMED, "\"do_resize\": expected true or false");
    expect_fail("{\"do_normalize\": \"yes\"}", MM_ERR_MALFORMED, "\"do_normalize\"");
    expect_fail("{\"rescale_factor\": 0}", MM_ERR_MALFORMED, "\"rescale_factor\": expected a number > 0");
    expect_fail("{\"rescale_factor\": \"1/255\"}", MM_ERR_MALFORMED, "\"rescale_factor\"");
    expect_fail("{\"image_mean\": [0.5, 0.5]}", MM_ERR_MALFORMED, "\"image_mean\": expected a list of 3");
    expect_fail("{\"image_mean\": [0.5, \"x\", 0.5]}", MM_ERR_MALFORMED, "\"image_mean\"[1]");
    expect_fail("{\"image_std\": [0.5, 0.5, 0]}", MM_ERR_MALFORMED, "\"image_std\"[2]: must be > 0");
    expect_fail("[1, 2, 3]", MM_ERR_MALFORMED, "expected a JSON object");
}

static void test_resample_only_bicubic(void)
{
    for (int r = 0; r <= 5; r++) {
        if (r == PREPROCESS_BICUBIC) continue;
        char json[64], want[64];
        snprintf(json, sizeof json, "{\"resample\": %d}", r);
        snprintf(want, sizeof want, "\"resample\": %d is not supported", r);
        expect_fail(json, MM_ERR_UNSUPPORTED, want);
    }
    expect_fail("{\"resample\": \"bicubic\"}", MM_ERR_MALFORMED, "\"resample\": expected an integer");
    preprocess_params p;
    mm_error err = {0};
    CHECK_MSG(read_pp("{\"resample\": 3}", &p, &err) == 0, "%s", err.msg);
}

static void test_bad_json_names_the_file(void)
{
    preprocess_params p;
    mm_error err = {0};
    CHECK(read_pp("{\n  \"size\": 224,\n  \"crop_size\" 224\n}\n", &p, &err) < 0);
    CHECK_EQ_INT(err.kind, MM_ERR_MALFORMED);
    char want[PATH_MAX + 8];
    snprintf(want, sizeof want, "%s:3: ", pp_path());
    CHECK_MSG(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);

    /* the same for config.json, read by the fallback */
    put("config.json", "{\"vision_config\": {\"image_size\": }");
    char cfg[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    int side = -1;
    CHECK(preprocess_config_image_size(cfg, &side, &err) < 0);
    CHECK_EQ_INT(err.kind, MM_ERR_MALFORMED);
    CHECK_MSG(strncmp(err.msg, cfg, strlen(cfg)) == 0 && err.msg[strlen(cfg)] == ':', "%s", err.msg);
    rm("preprocessor_config.json");
    CHECK(preprocess_config_for_model(dir, &p, NULL, &err) < 0);
    CHECK_MSG(strncmp(err.msg, cfg, strlen(cfg)) == 0, "%s", err.msg);
    rm("config.json");

    CHECK(preprocess_config_read("/nonexistent/preprocessor_config.json", &p, &err) < 0);
    CHECK_EQ_INT(err.kind, MM_ERR_IO);
    CHECK_MSG(strstr(err.msg, "/nonexistent/preprocessor_config.json") != NULL, "%s", err.msg);
}

static void test_fallback_to_config_json(void)
{
    preprocess_params p;
    mm_error err = {0};
    int found = -1;

    /* nothing in the directory: 224 */
    rm("config.json");
    rm("preprocessor_config.json");
    CHECK_MSG(preprocess_config_for_model(dir, &p, &found, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(found, 0);
    check_defaults(&p, 224);

    /* config.json without vision_config.image_size: 224 */
    put("config.json", "{\"vision_config\": {\"patch_size\": 14}}");
    CHECK_MSG(preprocess_config_for_model(dir, &p, &found, &err) == 0, "%s", err.msg);
    check_defaults(&p, 224);
    put("config.json", "{\"projection_dim\": 512}");
    CHECK_MSG(preprocess_config_for_model(dir, &p, &found, &err) == 0, "%s", err.msg);
    check_defaults(&p, 224);

    /* vision_config.image_size sets size and crop */
    put("config.json", "{\"vision_config\": {\"image_size\": 336}}");
    int side = 0;
    char cfg[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    CHECK(preprocess_config_image_size(cfg, &side, &err) == 0);
    CHECK_EQ_INT(side, 336);
    CHECK_MSG(preprocess_config_for_model(dir, &p, &found, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(found, 0);
    check_defaults(&p, 336);

    /* preprocessor_config.json, when present, wins for the keys it has */
    put("preprocessor_config.json", "{\"crop_size\": 300}");
    CHECK_MSG(preprocess_config_for_model(dir, &p, &found, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(p.shortest_edge, 336);
    CHECK_EQ_INT(p.crop_height, 300);
    CHECK_EQ_INT(p.crop_width, 300);

    /* a bad preprocessor_config.json is an error, not a silent fallback */
    put("preprocessor_config.json", "{\"resample\": 2}");
    CHECK(preprocess_config_for_model(dir, &p, &found, &err) < 0);
    CHECK_EQ_INT(err.kind, MM_ERR_UNSUPPORTED);
    rm("preprocessor_config.json");

    /* a bad image_size in config.json names the key */
    put("config.json", "{\"vision_config\": {\"image_size\": \"336\"}}");
    CHECK(preprocess_config_for_model(dir, &p, &found, &err) < 0);
    CHECK_MSG(strstr(err.msg, "\"vision_config.image_size\": expected an integer") != NULL, "%s",
              err.msg);
    put("config.json", "{\"vision_config\": {\"image_size\": 0}}");
    CHECK(preprocess_config_image_size(cfg, &side, &err) < 0);
    rm("config.json");

    /* the tiny reference model (no preprocessor_config.json or one that agrees) */
    char tiny[PATH_MAX];
    snprintf(tiny, sizeof tiny, "%s/ref/clip/models/tiny", test_shared_dir());
    CHECK_MSG(preprocess_config_for_model(tiny, &p, &found, &err) == 0, "%s", err.msg);
    CHECK_EQ_INT(p.crop_height, 224);
    CHECK_EQ_INT(p.crop_width, 224);
    CHECK_EQ_INT(p.resample, PREPROCESS_BICUBIC);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_size_forms);
    RUN(test_other_keys);
    RUN(test_resample_only_bicubic);
    RUN(test_bad_json_names_the_file);
    RUN(test_fallback_to_config_json);
    rm("config.json");
    rm("preprocessor_config.json");
    rmdir(dir);
    return test_summary();
}
