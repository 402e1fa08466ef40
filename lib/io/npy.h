/* npy.h — NumPy .npy files (format versions 1.0, 2.0 and 3.0), read and write.
 *
 * Owns: parsing and validating the .npy header (magic, version, the Python
 * dict literal with 'descr', 'fortran_order', 'shape'), C-order data of the
 * dtypes mmkit exchanges with NumPy, and writing version 1.0 files.
 * Big-endian data ('>f4') is accepted and byte-swapped; Fortran order is
 * rejected (mmkit never needs it).
 */
#ifndef MM_NPY_H
#define MM_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

enum npy_dtype {
    NPY_F32 = 1, /* '<f4' */
    NPY_F16,     /* '<f2' */
    NPY_F64,     /* '<f8' */
    NPY_U8,      /* '|u1' */
    NPY_I32,     /* '<i4' */
    NPY_I64,     /* '<i8' */
};

#define NPY_MAX_DIMS 8

typedef struct npy_array {
    int dtype;
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count; /* product of shape (1 for a 0-d array) */
    void *data;   /* count elements, native byte order, malloc'd */
} npy_array;

size_t npy_dtype_size(int dtype);
const char *npy_dtype_descr(int dtype); /* "<f4" ... */

/* Reads a whole .npy file ("-" = stdin). */
int npy_read(const char *path, npy_array *a, mm_error *err);
/* Reads from an open stream; name is used in messages. */
int npy_read_fp(FILE *fp, const char *name, npy_array *a, mm_error *err);
void npy_free(npy_array *a);

/* Writes the header of a C-order array; the caller then writes the data.
 * Useful for streaming when the shape is known in advance. */
int npy_write_header(FILE *fp, const char *name, int dtype, int ndim, const size_t *shape,
                     mm_error *err);
/* Writes a complete array to an open stream. */
int npy_write_fp(FILE *fp, const char *name, int dtype, int ndim, const size_t *shape,
                 const void *data, mm_error *err);
/* Writes a complete array to path (not atomic; programs use cli_output for that). */
int npy_write(const char *path, int dtype, int ndim, const size_t *shape, const void *data,
              mm_error *err);

#endif
