/* rank_out.h — private to lib/retrieval: the output buffer and the line
 * writer that the engine (rank.c), the run writers (rank_write.c) and the
 * merge of partial runs (rank_merge.c) share.
 *
 * Owns: outbuf (one buffer per call, leaving in large fwrite()s) and
 * write_query (one query's lines in any RANK_FMT_*). Not a public header:
 * nothing outside lib/retrieval includes it.
 */
#ifndef MM_RANK_OUT_H
#define MM_RANK_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include "retrieval/rank.h"

/* Output goes through one buffer per call and leaves in large fwrite()s:
 * building a line costs a few memcpy()s and one exact float formatting
 * (fmtfloat.h), where stdio's per-character calls and snprintf("%.9g") used
 * to cost more than the whole selection for runs of many short queries. */
typedef struct outbuf {
    FILE *fp;
    char *p;
    size_t len, cap;
    bool failed;
} outbuf;

enum { OUTBUF_SIZE = 1 << 18 };

/* fp NULL: the buffer collects everything in memory, starting at cap bytes.
 * Memory from core/xalloc.h. */
void ob_init(outbuf *o, FILE *fp, size_t cap);
void ob_flush(outbuf *o);
/* Makes room for n more bytes. */
void ob_reserve(outbuf *o, size_t n);
int ob_done(outbuf *o, mm_error *err);
/* Appends query qid's n entries (sorted) in format; -1 with err set if an id
 * cannot be written in it. */
int write_query(outbuf *o, const char *qid, const topk_entry *e, size_t n, int format,
                const char *tag, int score_digits, mm_error *err);

#endif
