/* trec.h — TREC run and qrels files: reading, ordering, writing.
 *
 * Owns: the line syntax of TREC runs (`qid iter docno rank score tag`) and
 * qrels (`qid iter docno rel`), the ranking order trec_eval uses (score
 * descending, then docno by strcmp DESCENDING), a streaming reader built on
 * large read(2) chunks (memory independent of the file size), a loaded qrels
 * table with a hash index, a loaded run grouped by query, and a writer.
 * Used by mm-eval (evaluation), mm-rank --merge and mm-fuse --runs.
 *
 * Syntax accepted (trec_eval 10.0 plus the strictness mmkit wants):
 *  - fields are separated by runs of spaces and tabs;
 *  - a line starting with '#' in column 0 is a comment; blank lines are
 *    skipped in runs and are an error in qrels (as trec_eval);
 *  - run: at least 6 fields; iter and rank are not interpreted (trec_eval
 *    ignores them); the score must be a number as strtod(3) reads it
 *    (trec_eval's atof would silently turn "abc" into 0.0; we reject it),
 *    NaN is rejected; fields after the tag are ignored;
 *  - qrels: exactly 4 fields, rel an integer (optional sign, digits);
 *  - CRLF line endings are accepted (the CR is dropped) and a UTF-8 byte-order
 *    mark at the start of a file is skipped; both are reported once through
 *    the reader's warning counters so that programs can say so;
 *  - NUL and other control characters (except TAB, and CR before LF) are
 *    rejected as binary garbage; a line longer than TREC_MAX_LINE is rejected.
 * Errors name the file and line: "run.trec:12: expected at least 6 fields,
 * found 5".
 */
#ifndef MM_TREC_H
#define MM_TREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/hash.h"

#define TREC_MAX_LINE (1 << 20) /* bytes; longer lines are rejected */

/* ---- Ranking order ----------------------------------------------------------
 * trec_eval's order (form_res_rels.c comp_sim_docno): higher score first; equal
 * scores (as C doubles) are broken by docno compared byte-wise with strcmp, the
 * GREATER docno first ("d" before "c", "9" before "10", "a" before "A").
 * Returns <0 if (score_a, docno_a) ranks before (score_b, docno_b), >0 if after,
 * 0 only for the same score and docno. Programs that write runs must apply it
 * to the scores as written (after rounding to the printed precision). */
int trec_compare_ranked(double score_a, const char *docno_a, double score_b,
                        const char *docno_b);

/* One ranked item, for sorting with trec_sort_ranked(). */
typedef struct trec_ranked {
    double score;
    const char *docno;
} trec_ranked;
void trec_sort_ranked(trec_ranked *items, size_t n);
/* True if items are already in trec_eval order (duplicates allowed). */
bool trec_is_sorted_ranked(const trec_ranked *items, size_t n);

/* ---- Number parsing -----------------------------------------------------------
 * trec_parse_score: the whole of s (len bytes, no NUL needed) as a double,
 * bit-identical to strtod; a fast exact path for plain decimals (Clinger), and
 * strtod otherwise. Returns false if s is not entirely a number or is NaN. */
bool trec_parse_score(const char *s, size_t len, double *out);
/* Optional sign and decimal digits, within long range. */
bool trec_parse_long(const char *s, size_t len, long *out);

/* ---- Streaming line reader ------------------------------------------------ */
typedef struct trec_reader trec_reader;

/* Opens path ("-" or NULL = stdin). */
trec_reader *trec_reader_open(const char *path, mm_error *err);
/* Reads from an already open descriptor (not closed by trec_reader_close). */
trec_reader *trec_reader_open_fd(int fd, const char *display_name, mm_error *err);
/* Reads from memory (the fuzz harness and tests); data is copied. */
trec_reader *trec_reader_open_mem(const void *data, size_t len, const char *display_name,
                                  mm_error *err);
void trec_reader_close(trec_reader *r);
const char *trec_reader_name(const trec_reader *r);
/* True if the reader can start over (regular file, memory, or spooled). */
bool trec_reader_can_rewind(const trec_reader *r);
/* Starts over from the first line. For a spooled pipe, call it only after
 * reading to the end. */
int trec_reader_rewind(trec_reader *r, mm_error *err);
/* Makes a pipe re-readable: from now on every chunk read is also written to an
 * unlinked temporary file in $TMPDIR (default /tmp), which rewind switches
 * to. Call before the first read. No-op when the reader can already rewind. */
int trec_reader_spool(trec_reader *r, mm_error *err);
/* Whether CRLF line endings / a UTF-8 BOM were seen so far. */
bool trec_reader_saw_crlf(const trec_reader *r);
bool trec_reader_saw_bom(const trec_reader *r);
/* Line number of the first CRLF line ending, 0 if none. */
long trec_reader_crlf_line(const trec_reader *r);

/* A parsed run line. Strings are NUL-terminated and stay valid until the next
 * call on the same reader. */
typedef struct trec_run_line {
    const char *qid;
    size_t qid_len;
    const char *iter;
    const char *docno;
    size_t docno_len;
    const char *rank; /* as written; not interpreted */
    double score;
    const char *tag;
    size_t tag_len;
    long lineno;
} trec_run_line;

/* Returns 1 with a line, 0 at end of input, -1 on error (err filled, kind
 * MM_ERR_MALFORMED for syntax, MM_ERR_IO for read errors). */
int trec_read_run_line(trec_reader *r, trec_run_line *line, mm_error *err);

typedef struct trec_qrel_line {
    const char *qid;
    size_t qid_len;
    const char *iter;
    const char *docno;
    size_t docno_len;
    long rel;
    long lineno;
} trec_qrel_line;

int trec_read_qrel_line(trec_reader *r, trec_qrel_line *line, mm_error *err);

/* A preference line (-R prefs: `qid jg jsg docno rel_level`, trec_eval
 * get_prefs.c), or a qrels line read as one (-R qrels_prefs: `qid jg docno rel`,
 * jsg "0", get_qrels_prefs.c). rel_level must be a number. */
typedef struct trec_pref_line {
    const char *qid, *jg, *jsg, *docno;
    double rel_level;
    long lineno;
} trec_pref_line;

int trec_read_pref_line(trec_reader *r, bool from_qrels, trec_pref_line *line, mm_error *err);


/* ---- Qrels ------------------------------------------------------------------
 * Queries sorted by qid (strcmp), judgments of a query sorted by docno. */
/* A judgment group of one query (-R qrels_jg: the second column names the
 * user or assessor; trec_eval get_qrels_jg.c). Its judgments are a sub-range
 * of the query's, sorted by docno. */
typedef struct trec_qrels_group {
    const char *name;
    size_t first, count;
    long num_rel_levels; /* 1 + highest non-negative rel; 0 if none */
    long *rel_levels;
} trec_qrels_group;

typedef struct trec_qrels_query {
    const char *qid;
    size_t first; /* index of its first judgment in trec_qrels.docno/rel */
    size_t count;
    long num_rel_levels;   /* 1 + highest non-negative rel; 0 if none */
    long *rel_levels;      /* rel_levels[v] = #judgments with rel == v (v >= 0) */
    long max_rel;          /* highest rel, may be negative */
    /* -R qrels_jg only (else 0 / NULL): the query's judgments are sorted by
     * group name (strcmp) then docno, a docno may repeat across groups, and
     * the per-query hash index is not usable (see trec_qrels_find_doc_in_group). */
    size_t num_groups;
    trec_qrels_group *groups;
} trec_qrels_query;

typedef struct trec_qrels {
    char *name;
    size_t query_count;
    trec_qrels_query *queries;
    size_t judgment_count;
    const char **docno; /* judgment_count entries, grouped by query */
    long *rel;
    /* internals: arena and hash indexes */
    char *arena;
    size_t arena_len;
    uint64_t *doc_hash;  /* per query, the docno hashes in increasing order... */
    uint32_t *doc_order; /* ...and the judgment each belongs to */
    mm_strmap qid_map; /* qid -> query index */
    bool saw_crlf, saw_bom;
    long crlf_line; /* first CRLF line, 0 if none */
    bool judgment_groups; /* loaded by trec_qrels_load_jg */
} trec_qrels;

/* Loads a whole qrels file. Duplicate (qid, docno) pairs are reported as
 * kind MM_ERR_MISMATCH ("duplicate docs"); an empty file (no judgments) as
 * MM_ERR_MALFORMED. */
int trec_qrels_load(trec_qrels *q, const char *path, mm_error *err);
int trec_qrels_load_reader(trec_qrels *q, trec_reader *r, mm_error *err);
/* -R qrels_jg: the same line syntax, the second column names the judgment
 * group; duplicates are (qid, group, docno) pairs. */
int trec_qrels_load_jg(trec_qrels *q, const char *path, mm_error *err);
int trec_qrels_load_jg_reader(trec_qrels *q, trec_reader *r, mm_error *err);
void trec_qrels_free(trec_qrels *q);
/* Index of the query with this qid, or -1. */
long trec_qrels_find_query(const trec_qrels *q, const char *qid, size_t qid_len);
/* Index (into docno/rel) of the judgment of docno for query qi, or -1. */
long trec_qrels_find_doc(const trec_qrels *q, size_t qi, const char *docno, size_t docno_len);
long trec_qrels_find_doc_hashed(const trec_qrels *q, size_t qi, const char *docno,
                                size_t docno_len, uint64_t docno_hash);

/* Index of docno's judgment in group g of query qi (binary search), or -1. */
long trec_qrels_find_doc_in_group(const trec_qrels *q, size_t qi, size_t g, const char *docno);

/* ---- Whole runs (mm-rank --merge, mm-fuse --runs) ---------------------------
 * A run loaded into memory, grouped by query, queries in qid strcmp order,
 * each ranking sorted in trec_eval order (trec_sort_ranked). Docnos are
 * interned: equal docnos share one pointer, so pointer equality is docno
 * equality within one trec_run. */
typedef struct trec_run_query {
    const char *qid;
    size_t count;
    trec_ranked *items;
} trec_run_query;

typedef struct trec_run {
    char *name;
    char *tag; /* tag of the last line (trec_eval's runid) */
    size_t query_count;
    trec_run_query *queries;
    size_t line_count;
    /* internals */
    void *impl;
} trec_run;

/* Loads a whole run. A docno repeated within one query is an error (kind
 * MM_ERR_MISMATCH, "duplicate docs") as in trec_eval. */
int trec_run_load(trec_run *run, const char *path, mm_error *err);
int trec_run_load_reader(trec_run *run, trec_reader *r, mm_error *err);
void trec_run_free(trec_run *run);
long trec_run_find_query(const trec_run *run, const char *qid);

/* ---- Writing -----------------------------------------------------------------
 * One run line "qid Q0 docno rank score tag\n"; the score is printed with
 * "%.*g" and score_digits significant digits (9 round-trips a float32 score,
 * 17 a double; 0 means 9). Returns 0 or -1 (errno set by stdio). */
int trec_write_run_line(FILE *fp, const char *qid, const char *docno, long rank, double score,
                        const char *tag, int score_digits);

#endif
