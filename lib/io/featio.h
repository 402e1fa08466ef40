/* featio.h — feature vectors in the formats other tools speak: .npy and TSV.
 *
 * Owns: format names and detection (by extension, else by the first byte of
 * the stream), a TSV reader/writer for `id<TAB>v1 v2 ...` lines, and a loader
 * that turns any supported input (MMF, .npy + ids file, TSV) into one
 * mmf_matrix. The MMF format itself is mmf.h's.
 */
#ifndef MM_FEATIO_H
#define MM_FEATIO_H

#include <stdio.h>

#include "core/error.h"
#include "io/mmf.h"

enum feat_format { FEAT_UNKNOWN = 0, FEAT_MMF, FEAT_NPY, FEAT_TSV };

/* "mmf", "npy", "tsv" -> FEAT_*; anything else FEAT_UNKNOWN. */
int feat_format_parse(const char *name);
const char *feat_format_name(int format);
/* From the file name's extension (.mmf .npy .tsv .txt); FEAT_UNKNOWN otherwise. */
int feat_format_from_path(const char *path);

/* ---- TSV: one vector per line, `id<TAB>v1 v2 ... vD` (spaces or tabs between
 * values). Blank lines are skipped; every line must have the same D. */
typedef struct tsv_feature_reader tsv_feature_reader;
tsv_feature_reader *tsv_feature_open(FILE *fp, const char *name, mm_error *err);
/* 1 = a vector (id and vec valid until the next call), 0 = end, -1 = error
 * ("name:LINE: problem"). */
int tsv_feature_next(tsv_feature_reader *r, const char **id, const float **vec, size_t *dim,
                     mm_error *err);
void tsv_feature_close(tsv_feature_reader *r);

/* Writes one line; values printed with %.9g so that f32 round-trips exactly. */
int tsv_feature_write(FILE *fp, const char *name, const char *id, const float *vec, size_t dim,
                      mm_error *err);

/* Reads an ids file (one id per line, no blank lines) into a NULL-terminated
 * array backed by one allocation; *count gets the number of ids. */
char **feat_read_ids(const char *path, size_t *count, mm_error *err);

/* Loads any supported input into a matrix. format FEAT_UNKNOWN = detect from
 * the extension, then from the bytes. ids_path: ids for .npy input (NULL: the
 * row numbers "0", "1", ...). For .npy and TSV input the header gets dtype
 * f32 and no metadata. */
int feat_load(const char *path, int format, const char *ids_path, mmf_matrix *m, mm_error *err);

#endif
