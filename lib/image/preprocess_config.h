/* preprocess_config.h — reading a model directory's preprocessing settings.
 *
 * Owns: parsing Hugging Face `preprocessor_config.json` (CLIPImageProcessor
 * keys) into preprocess_params, and the fallback when it is absent: CLIP
 * defaults with size and crop taken from config.json's
 * vision_config.image_size (224 when that is absent too).
 *
 * Keys read: do_resize, size (int, {"shortest_edge": n} or
 * {"height": h, "width": w}), resample (only 3 = BICUBIC is accepted),
 * do_center_crop, crop_size (int or {"height","width"}), do_rescale,
 * rescale_factor, do_normalize, image_mean, image_std (3 numbers each).
 * Other keys (processor_class, feature_extractor_type, do_convert_rgb...)
 * are ignored. A wrong type or value is an error naming the file and key.
 */
#ifndef MM_PREPROCESS_CONFIG_H
#define MM_PREPROCESS_CONFIG_H

#include "core/error.h"
#include "image/resample.h"

/* Parses one preprocessor_config.json; fields it does not mention keep the
 * values already in *p. */
int preprocess_config_read(const char *path, preprocess_params *p, mm_error *err);

/* vision_config.image_size from a config.json; 0 when absent. -1 on error. */
int preprocess_config_image_size(const char *config_json_path, int *image_size, mm_error *err);

/* For a model directory: defaults from config.json's image size, then
 * preprocessor_config.json when present. *found_preprocessor (optional) is
 * set to 1 when preprocessor_config.json was read. */
int preprocess_config_for_model(const char *model_dir, preprocess_params *p,
                                int *found_preprocessor, mm_error *err);

#endif
