/* mmf.h — the MMF feature-file format: reader and writer.
 *
 * Owns the byte layout documented in man/man5/mmf.5. In short, a stream is
 * one or more segments; each segment is
 *
 *   header   magic "\x89MMF\r\n\x1a\n", u16 version (1), u8 dtype, u8 flags,
 *            u32 dim, u32 meta_len, u32 crc32c(the 20 bytes before it),
 *            meta (key=value\n lines), u32 crc32c(meta)
 *   records  u8 'V', u16 id_len, u16 check (low 16 bits of crc32c of the 3
 *            bytes before it), id bytes (UTF-8), dim elements (f32 or f16)
 *   end      u8 'E', u64 record count, u32 crc32c(all records + 'E' + count)
 *
 * all little-endian. A writer never seeks; a reader never needs the count in
 * advance; `cat a.mmf b.mmf` is a valid two-segment stream. A stream that ends
 * before a segment's end marker is *truncated*; a checksum or count mismatch
 * is *corrupt*; anything structurally wrong is *malformed*.
 *
 * Records are checked against the segment checksum only when the end marker
 * is reached, so a streaming consumer must treat everything it produced as
 * provisional until mmf_next() returns 0 (end of stream) — which is why
 * programs write their output atomically.
 */
#ifndef MM_MMF_H
#define MM_MMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

/* Bounds that keep a corrupt length field from causing a huge allocation. */
#define MMF_MAX_DIM 65536u
#define MMF_MAX_ID_LEN 4096u
#define MMF_MAX_META_LEN (1u << 20)
#define MMF_MAX_META_ITEMS 256u

enum mmf_dtype { MMF_F32 = 1, MMF_F16 = 2 };
#define MMF_FLAG_NORMALIZED 0x01u /* every vector has unit L2 norm */

typedef struct mmf_meta_item {
    char *key;
    char *value;
} mmf_meta_item;

typedef struct mmf_header {
    uint32_t dim;
    int dtype;        /* MMF_F32 or MMF_F16 */
    uint32_t flags;   /* MMF_FLAG_* */
    size_t meta_count;
    mmf_meta_item *meta;
} mmf_header;

size_t mmf_dtype_size(int dtype);
const char *mmf_dtype_name(int dtype); /* "f32", "f16" */
/* Parses "f32"/"f16"; returns 0 for anything else. */
int mmf_dtype_parse(const char *name);

/* Header helpers. Strings are copied; mmf_header_free releases them. */
void mmf_header_init(mmf_header *h, uint32_t dim, int dtype, uint32_t flags);
void mmf_header_set(mmf_header *h, const char *key, const char *value); /* replaces */
const char *mmf_header_get(const mmf_header *h, const char *key);      /* NULL if absent */
void mmf_header_copy(mmf_header *dst, const mmf_header *src);
void mmf_header_free(mmf_header *h);

/* ---- Reader ---------------------------------------------------------------- */
typedef struct mmf_reader mmf_reader;

typedef struct mmf_record {
    const char *id;       /* NUL-terminated, valid until the next call */
    size_t id_len;
    const float *vec;     /* dim floats (converted from f16 if needed) */
    size_t segment;       /* 0-based segment index */
    uint64_t index;       /* 0-based record index in the whole stream */
} mmf_record;

/* path NULL or "-" reads stdin. name is used in messages (NULL: the path).
 * A regular file is memory-mapped (pipes and stdin are read): shortening the
 * file while it is being read ends the process with SIGBUS, as for any
 * mapped reader. Files written by mmkit are replaced atomically, never
 * shortened in place. */
mmf_reader *mmf_open(const char *path, mm_error *err);
mmf_reader *mmf_open_fp(FILE *fp, const char *name, mm_error *err); /* does not close fp */
void mmf_close(mmf_reader *r);

/* Reads the next record: 1 = a record in *rec, 0 = clean end of stream
 * (every segment closed and verified), -1 = error in *err. A new segment's
 * header is read transparently; mmf_header_of() tells the current one.
 * Every call after a -1 or 0 returns the same thing. */
int mmf_next(mmf_reader *r, mmf_record *rec, mm_error *err);

/* The same, but the record's vector is decoded into dst (dim floats of the
 * current segment; rec->vec == dst) instead of the reader's own buffer, which
 * saves a copy for callers that gather rows. dst is written only when 1 is
 * returned. */
int mmf_next_into(mmf_reader *r, mmf_record *rec, float *dst, mm_error *err);

/* Ensures the first segment header has been read (useful to learn dim before
 * the first record): 1 = header available, -1 = error. An empty input is an
 * error (truncated): a pipe whose producer died before writing anything must
 * not look like a valid empty result. */
int mmf_peek_header(mmf_reader *r, mm_error *err);
const mmf_header *mmf_header_of(const mmf_reader *r); /* current segment */
size_t mmf_segment_count(const mmf_reader *r);        /* segments opened so far */
const char *mmf_name(const mmf_reader *r);
bool mmf_is_mapped(const mmf_reader *r);              /* a regular file, mapped */
uint64_t mmf_mapped_size(const mmf_reader *r);        /* its size in bytes (0: not mapped) */

/* If set, mmf_next fails when a later segment's dim differs from the first's
 * (default: true). Consumers that handle mixed dims (mm-info) turn it off. */
void mmf_require_same_dim(mmf_reader *r, bool require);

/* Per-segment statistics, filled as each end marker is verified. */
typedef struct mmf_segment_info {
    mmf_header header;
    uint64_t count;
    uint32_t checksum;
} mmf_segment_info;
/* Called after each verified segment (for mm-info). */
void mmf_on_segment_end(mmf_reader *r, void (*fn)(const mmf_segment_info *, void *), void *ctx);

/* ---- Whole-stream loading (for GEMM use) ----------------------------------- */
typedef struct mmf_matrix {
    size_t rows;
    uint32_t dim;
    float *data;        /* rows × dim, row-major */
    char **ids;         /* rows pointers into id_arena */
    char *id_arena;
    mmf_header header;  /* the first segment's header */
    bool all_normalized;/* every segment carried MMF_FLAG_NORMALIZED */
} mmf_matrix;

int mmf_load(const char *path, mmf_matrix *m, mm_error *err);
int mmf_load_reader(mmf_reader *r, mmf_matrix *m, mm_error *err);
void mmf_matrix_free(mmf_matrix *m);

/* ---- Writer ------------------------------------------------------------------ */
typedef struct mmf_writer mmf_writer;

/* Writes the header immediately. The header is copied. */
mmf_writer *mmf_writer_open(FILE *fp, const char *name, const mmf_header *h, mm_error *err);
/* Appends one record; vec is dim floats (converted to f16 if the header says so). */
int mmf_write(mmf_writer *w, const char *id, size_t id_len, const float *vec, mm_error *err);
/* Writes the end marker, flushes and frees w (even on error). */
int mmf_writer_close(mmf_writer *w, mm_error *err);
uint64_t mmf_writer_count(const mmf_writer *w);

/* True if id is a valid record id: 1..MMF_MAX_ID_LEN bytes of strict UTF-8
 * without NUL. Producers check ids with it where they can still name the
 * input line. */
bool mmf_valid_id(const char *id, size_t len);


#endif
