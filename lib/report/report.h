/* report.h — mm-report's page: runs, qrels, texts and images in, one
 * self-contained HTML file out.
 *
 * Owns: what the page shows and in which order (summary table with bootstrap
 * intervals and paired p-values against the first run, the curves, the
 * per-query table and the largest per-query differences, the gallery, the
 * classification and training sections), how items are resolved to texts or
 * image files, how gallery queries are chosen, and the page's
 * Content-Security-Policy. The numbers come from lib/eval (measures,
 * bootstrap, evalstats); the thumbnails from report/thumb; the charts from
 * report/svg; every piece of input text goes through report/html.
 */
#ifndef MM_REPORT_H
#define MM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/pool.h"

enum report_gallery_mode {
    REPORT_GALLERY_WORST, /* the N queries with the lowest --measure in the first run */
    REPORT_GALLERY_RANDOM, /* N queries drawn with --seed */
    REPORT_GALLERY_LIST,  /* the qids of a file, one per line */
};

typedef struct report_params {
    const char *qrels;
    const char *texts;            /* NULL: none */
    const char *const *images;    /* image roots, tried in order */
    size_t nimages;
    const char *const *runs;
    size_t nruns;
    const char *const *measures;  /* -m, as mm-eval; none: R@1,5,10 MRR map ndcg medr */
    size_t nmeasures;
    const char *measure;          /* per-query row for worst/differences; "MRR" */
    int gallery_mode;             /* REPORT_GALLERY_WORST */
    const char *gallery_list;     /* REPORT_GALLERY_LIST: file of qids */
    size_t gallery_n;             /* 20 */
    size_t topk;                  /* 10 */
    size_t table_rows;            /* 2000 (per-query table) */
    size_t ndiff;                 /* 10 (largest differences per run) */
    uint64_t seed;                /* 1 */
    size_t bootstrap;             /* 1000 */
    double ci;                    /* 0.95 */
    uint64_t permutations;        /* 10000 */
    int thumb_size;               /* 96 */
    int thumb_quality;            /* 75 */
    size_t thumb_budget;          /* 2,400,000 base64 bytes for all thumbnails (thumb.h); 0: none */
    const char *const *confusion; /* mm-eval --confusion TSV files */
    size_t nconfusion;
    const char *const *evaljson;  /* mm-eval --format json outputs */
    size_t nevaljson;
    const char *const *trainlogs; /* mm-train --log JSON-lines files */
    size_t ntrainlogs;
    const char *title;            /* "mmkit report" */
    mm_pool *pool;                /* -t threads for the thumbnails; NULL: one */
} report_params;

void report_params_default(report_params *p);

/* The sha256 of the page's one script, as the CSP names it. */
extern const char report_script[];
extern const char report_script_sha256[];

/* Writes the page. Returns 0, or -1 with err and *exit_status (1 runtime,
 * 2 a bad -m measure). */
int report_write(FILE *fp, const report_params *p, mm_error *err, int *exit_status);

#endif
