/* safetensors.h — reading Hugging Face .safetensors checkpoints.
 *
 * Owns: the safetensors container (an 8-byte little-endian header length,
 * a JSON header mapping tensor names to {dtype, shape, data_offsets}, then
 * the raw little-endian data), memory-mapped and validated in full before
 * any tensor is handed out:
 *   - the header length fits the file and a sane bound, the header is a JSON
 *     object (duplicate keys rejected), "__metadata__" maps strings to strings;
 *   - every dtype is one of F32, F16, BF16, I64 (others: "unsupported");
 *   - shape x element size equals the byte range, with overflow checks;
 *   - the byte ranges lie inside the data region, do not overlap and cover
 *     it without holes (the format forbids unindexed bytes).
 * Sharded checkpoints (model.safetensors.index.json + shards) are opened as
 * one tensor set. Every error names the file and, where there is one, the
 * tensor.
 *
 * Tensor data pointers point into the mapping: they are valid until
 * st_close() and are NOT necessarily aligned (copy or convert them).
 */
#ifndef MM_SAFETENSORS_H
#define MM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum st_dtype {
    ST_F32 = 1,
    ST_F16,
    ST_BF16,
    ST_I64,
};

#define ST_MAX_DIMS 8
/* Headers beyond this size are refused (the reference implementation uses
 * 100 MB; real CLIP headers are a few tens of kB). */
#define ST_MAX_HEADER (100u * 1024u * 1024u)

typedef struct st_tensor {
    const char *name;
    const char *file; /* path of the file holding it (for messages) */
    int dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t count;      /* number of elements (1 for a 0-d tensor) */
    size_t nbytes;
    const void *data;  /* into the mapping; unaligned in general */
    int mapped;        /* internal: data is in an mmap this module owns */
} st_tensor;

typedef struct safetensors safetensors;

/* Parses a complete safetensors image held in memory (not copied: `buf`
 * must outlive the result). `name` is used in messages. */
safetensors *st_parse(const void *buf, size_t size, const char *name, mm_error *err);

/* Memory-maps and validates one .safetensors file. */
safetensors *st_open(const char *path, mm_error *err);

/* Opens a model directory: DIR/model.safetensors if present, otherwise
 * DIR/model.safetensors.index.json and the shards it names (every tensor of
 * the weight map must be in the shard it names; a tensor in two shards is an
 * error). */
safetensors *st_open_dir(const char *dir, mm_error *err);

void st_close(safetensors *st);

size_t st_count(const safetensors *st);
const st_tensor *st_at(const safetensors *st, size_t i); /* sorted by name */
const st_tensor *st_find(const safetensors *st, const char *name);
/* Value of "__metadata__"[key] of the first file, or NULL. */
const char *st_metadata(const safetensors *st, const char *key);

const char *st_dtype_name(int dtype); /* "F32" ... */
size_t st_dtype_size(int dtype);

/* Copies/converts a floating tensor (F32, F16, BF16) to `count` float32
 * values. Fails (naming the tensor) for other dtypes. */
int st_to_f32(const st_tensor *t, float *dst, mm_error *err);

/* Tells the kernel the mapped pages of this tensor are no longer needed, so
 * that a loader converting weights does not keep the file resident. */
void st_release(const st_tensor *t);

#endif
