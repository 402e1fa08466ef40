/* fuse_internal.h — private to lib/fuse: the small pieces early fusion
 * (fuse_early.c) and late fusion (fuse_late.c) both use.
 *
 * Owns: weight_of, the default weight rule (no --weights: every input 1).
 */
#ifndef MM_FUSE_INTERNAL_H
#define MM_FUSE_INTERNAL_H

#include <stddef.h>

static inline double weight_of(const double *w, size_t i) { return w ? w[i] : 1.0; }

#endif
