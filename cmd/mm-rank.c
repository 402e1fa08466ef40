/* mm-rank — exact top-k retrieval of queries against a streamed gallery. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/xalloc.h"
#include "io/mmf.h"
#include "retrieval/rank.h"
#include "kernels/scan8.h"

static const char USAGE[] =
    "Usage: mm-rank -q QUERIES -g GALLERY [OPTION]...\n"
    "       mm-rank --merge [-k K] [OPTION]... RUN...\n"
    "Rank every query vector against every gallery vector (exact inner product or\n"
    "cosine) and write the k best gallery ids per query as a TREC run.\n"
    "The queries are held in memory; the gallery is streamed block by block from a\n"
    "file or a pipe (GALLERY '-' = standard input) and may be larger than memory.\n"
    "Ties: score descending, then gallery id by strcmp descending (trec_eval's order).\n"
    "\n"
    "  -q, --queries FILE   query vectors (.mmf; '-' = standard input)\n"
    "  -g, --gallery FILE   gallery vectors (.mmf; '-' = standard input)\n"
    "  -k, --k N            results per query (default 10; 0 = all)\n"
    "      --metric M       ip (raw inner product, default) or cos (L2-normalised;\n"
    "                       a no-op for files flagged normalised)\n"
    "  -o, --output FILE    write the run to FILE atomically (default standard output)\n"
    "      --tag NAME       run tag, the 6th TREC column (default mm-rank; with\n"
    "                       --merge: the tag of the first input line)\n"
    "      --format F       trec (default), tsv (qid docid rank score) or jsonl\n"
    "      --exclude-self   drop gallery items whose id equals the query id\n"
    "      --allow-nonfinite  rank vectors holding NaN/Inf instead of refusing them\n"
    "                       (NaN scores are never ranked)\n"
    "      --no-dup-check   skip the duplicate gallery id check (saves 16-32 bytes\n"
    "                       per gallery vector)\n"
    "  -t, --threads N      worker threads for scoring and top-k (default: online CPUs)\n"
    "      --block N        gallery rows per block (default 4096; memory, not scores)\n"
    "      --merge          merge runs computed on disjoint gallery shards into the\n"
    "                       run of the whole gallery (same ids, order and scores)\n"
    "      --progress       show progress even when stderr is not a terminal\n"
    "      --quiet          no progress, no warnings (-q is --queries here)\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n"
    "\n"
    "Environment: MM_RANK_INT8=0 turns the int8 pre-filter (AVX-512 VNNI CPUs) off;\n"
    "the output is the same either way.\n"
    "\n"
    "Exit status: 0 success, 1 runtime error (bad or truncated input, dimension\n"
    "mismatch, NaN/Inf, I/O), 2 usage error, 141 the reader of the output went away.\n";

typedef struct params {
    const char *queries;  /* -q: required unless --merge */
    const char *gallery;  /* -g: required unless --merge */
    const char *output;   /* -o: NULL = stdout */
    const char *tag;      /* --tag: NULL = "mm-rank" (merge: first input tag) */
    int format;           /* --format: RANK_TREC */
    bool merge;           /* --merge */
    rank_params rank;     /* k 10, ip, threads = CPUs, block 4096 (rank_params_default) */
} params;

enum {
    OPT_METRIC = 256, OPT_TAG, OPT_FORMAT, OPT_EXCLUDE_SELF, OPT_ALLOW_NONFINITE,
    OPT_NO_DUP_CHECK, OPT_BLOCK, OPT_MERGE, OPT_PROGRESS, OPT_QUIET,
};

static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A query id given twice makes two rankings that trec_eval would read as one
 * query with every document twice: say so (once). */
static void warn_duplicate_queries(const mmf_matrix *q, const char *name)
{
    char **ids = xmalloc((q->rows ? q->rows : 1) * sizeof *ids);
    memcpy(ids, q->ids, q->rows * sizeof *ids);
    qsort(ids, q->rows, sizeof *ids, cmp_id);
    size_t repeated = 0;
    const char *first = NULL;
    for (size_t i = 1; i < q->rows; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0 && repeated++ == 0) first = ids[i];
    if (repeated)
        cli_warn("%s: query id '%s' occurs more than once (%zu repeated record%s); "
                 "trec_eval would read such rankings as one query",
                 name, first, repeated, repeated == 1 ? "" : "s");
    free(ids);
}

/* Loads the queries and checks their ids for the output format (called by
 * rank_run_loading while the gallery reader may already be running). */
typedef struct query_load {
    const char *path, *name;
    int format;
} query_load;

static int load_queries(void *ctx, mmf_matrix *queries, mm_error *err)
{
    const query_load *ql = ctx;
    if (mmf_load(ql->path, queries, err)) return -1;
    int rc = 0;
    if (queries->rows == 0) {
        rc = mm_fail(err, MM_ERR_MALFORMED, "%s: no query vectors", ql->name);
    } else {
        for (size_t i = 0; i < queries->rows && rc == 0; i++) {
            mm_error e;
            if (rank_check_id(queries->ids[i], ql->format, "query id", &e))
                rc = mm_fail(err, e.kind, "%s: record %zu: %s", ql->name, i + 1, e.msg);
        }
    }
    if (rc) {
        mmf_matrix_free(queries);
        return -1;
    }
    if (!cli_quiet) warn_duplicate_queries(queries, ql->name);
    return 0;
}

static void show_progress(uint64_t rows, void *ctx)
{
    (void)ctx;
    cli_progress("%" PRIu64 " gallery vectors ranked", rows);
}

int main(int argc, char **argv)
{
    cli_init("mm-rank");
    params p = {0};
    rank_params_default(&p.rank);
    /* MM_RANK_INT8=0 switches the int8 pre-filter off (for comparisons:
     * the output is the same either way). */
    const char *int8 = getenv("MM_RANK_INT8");
    if (int8 && strcmp(int8, "0") == 0) scan8_force_off(1);
    p.rank.threads = cli_default_threads(256);
    p.format = RANK_TREC;

    static const struct option longopts[] = {
        {"queries", required_argument, 0, 'q'},
        {"gallery", required_argument, 0, 'g'},
        {"k", required_argument, 0, 'k'},
        {"metric", required_argument, 0, OPT_METRIC},
        {"output", required_argument, 0, 'o'},
        {"tag", required_argument, 0, OPT_TAG},
        {"format", required_argument, 0, OPT_FORMAT},
        {"exclude-self", no_argument, 0, OPT_EXCLUDE_SELF},
        {"allow-nonfinite", no_argument, 0, OPT_ALLOW_NONFINITE},
        {"no-dup-check", no_argument, 0, OPT_NO_DUP_CHECK},
        {"threads", required_argument, 0, 't'},
        {"block", required_argument, 0, OPT_BLOCK},
        {"merge", no_argument, 0, OPT_MERGE},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"quiet", no_argument, 0, OPT_QUIET},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "q:g:k:o:t:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'q': p.queries = optarg; break;
        case 'g': p.gallery = optarg; break;
        case 'k': /* 0 = all, as mm-fuse -k and mm-predict -k */
            p.rank.k = (size_t)cli_parse_long("--k", optarg, 0, 100000000L);
            if (p.rank.k == 0) p.rank.k = RANK_K_ALL;
            break;
        case 'o': p.output = optarg; break;
        case 't': p.rank.threads = (int)cli_parse_long("--threads", optarg, 1, 256); break;
        case OPT_METRIC:
            if (strcmp(optarg, "ip") == 0) p.rank.metric = RANK_IP;
            else if (strcmp(optarg, "cos") == 0) p.rank.metric = RANK_COS;
            else cli_usage_error("option --metric: unknown metric '%s'; supported: ip, cos", optarg);
            break;
        case OPT_TAG:
            if (!*optarg || strpbrk(optarg, " \t\n\r\v\f"))
                cli_usage_error("option --tag: '%s' must be one non-empty word", optarg);
            p.tag = optarg;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "trec") == 0) p.format = RANK_TREC;
            else if (strcmp(optarg, "tsv") == 0) p.format = RANK_TSV;
            else if (strcmp(optarg, "jsonl") == 0) p.format = RANK_JSONL;
            else cli_usage_error("option --format: unknown format '%s'; supported: trec, tsv, jsonl", optarg);
            break;
        case OPT_EXCLUDE_SELF: p.rank.exclude_self = true; break;
        case OPT_ALLOW_NONFINITE: p.rank.allow_nonfinite = true; break;
        case OPT_NO_DUP_CHECK: p.rank.check_duplicates = false; break;
        case OPT_BLOCK: p.rank.block = (size_t)cli_parse_long("--block", optarg, 1, 1L << 18); break;
        case OPT_MERGE: p.merge = true; break;
        case OPT_PROGRESS: cli_progress_set(1); break;
        case OPT_QUIET: cli_progress_set(0); break;
        case 'h': fputs(USAGE, stdout); return MM_EXIT_OK;
        case 'V': cli_version();
        default: cli_usage_hint(); /* getopt printed the problem */
        }
    }

    mm_error err;
    if (p.merge) {
        if (p.queries || p.gallery) cli_usage_error("--merge takes run files, not -q/-g");
        if (optind == argc) cli_usage_error("--merge needs at least one run file");
        int stdin_runs = 0;
        for (int i = optind; i < argc; i++) stdin_runs += strcmp(argv[i], "-") == 0;
        if (stdin_runs > 1) cli_usage_error("standard input ('-') can be read only once");
        cli_output *out = cli_output_open(p.output);
        if (rank_merge((const char *const *)argv + optind, (size_t)(argc - optind), p.rank.k,
                       cli_output_fp(out), p.format, p.tag, &err))
            cli_fatal("%s", err.msg);
        cli_output_commit(out);
        return MM_EXIT_OK;
    }

    if (optind < argc) cli_usage_error("unexpected argument '%s' (run files go with --merge)", argv[optind]);
    if (!p.queries) cli_usage_error("missing -q QUERIES");
    if (!p.gallery) cli_usage_error("missing -g GALLERY");
    if (strcmp(p.queries, "-") == 0 && strcmp(p.gallery, "-") == 0)
        cli_usage_error("queries and gallery cannot both be standard input");

    /* Open the output first: an unwritable path fails before the work. */
    cli_output *out = cli_output_open(p.output);

    mmf_matrix queries;
    query_load ql = {p.queries, cli_input_name(p.queries), p.format};
    const char *qname = ql.name;
    /* The gallery is opened first so that its reader can fill blocks while
     * the queries load; problems with the queries are still reported first. */
    mm_error gerr;
    mmf_reader *gallery = mmf_open(p.gallery, &gerr);
    if (!gallery) {
        if (load_queries(&ql, &queries, &err)) cli_fatal("%s", err.msg);
        cli_fatal("%s", gerr.msg);
    }
    p.rank.progress = show_progress;
    /* the workers write each query chunk's lines as soon as it is final */
    p.rank.emit_format = p.format;
    p.rank.emit_tag = p.tag ? p.tag : "mm-rank";
    rank_result res;
    p.rank.pool = mm_pool_create(p.rank.threads);
    if (rank_run_loading(load_queries, &ql, &queries, qname, gallery, &p.rank, &res, &err))
        cli_fatal("%s", err.msg);
    mm_pool_free(p.rank.pool);
    cli_progress_done("%" PRIu64 " gallery vectors ranked", res.gallery_count);
    if (res.duplicate_count && !cli_quiet)
        cli_warn("%s: gallery id '%s' occurs more than once (%" PRIu64 " repeated record%s); "
                 "a run may list such an id twice",
                 mmf_name(gallery), res.first_duplicate, res.duplicate_count,
                 res.duplicate_count == 1 ? "" : "s");
    mmf_close(gallery);

    if (rank_write(cli_output_fp(out), &queries, &res, p.rank.emit_format, p.rank.emit_tag, &err))
        cli_fatal("%s: %s", cli_output_name(out), err.msg);
    cli_output_commit(out);
    rank_result_free(&res);
    mmf_matrix_free(&queries);
    return MM_EXIT_OK;
}
