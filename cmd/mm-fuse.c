/* mm-fuse — early fusion of feature files, late fusion of ranked runs. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/xalloc.h"
#include "fuse/fuse.h"
#include "fuse/fuse_optimize.h"
#include "eval/measures.h"
#include "io/trec.h"

static const char USAGE[] =
    "Usage: mm-fuse [OPTION]... A.mmf B.mmf ... [-o FUSED.mmf]\n"
    "       mm-fuse --runs [OPTION]... RUN1 RUN2 ... [-o FUSED.trec]\n"
    "Early fusion: join feature vectors by id (or by a --group-by key) across MMF\n"
    "inputs (or TSV id<TAB>values, .npy) and combine them into one vector per id.\n"
    "Late fusion (--runs): combine TREC runs into one run; ties in trec_eval's order\n"
    "(score desc, docid strcmp desc).\n"
    "One input may be '-' (standard input). See mm-fuse(1) for every formula.\n"
    "\n"
    "Both modes:\n"
    "  -m, --method M       feature fusion: concat (default), mean, sum, wsum, product, max\n"
    "                       run fusion: rrf (default), combsum, combmnz, combmax, wsum\n"
    "  -w, --weights LIST   w1,w2,... one per input (default 1 each; wsum requires it)\n"
    "  -o, --output FILE    write FILE atomically (default standard output)\n"
    "  -q, --quiet          no progress, no notes\n"
    "      --progress       show progress even when stderr is not a terminal\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n"
    "\n"
    "Feature fusion:\n"
    "      --input-norm N   per input vector before fusing: none (default), l2, zscore\n"
    "                       (zscore: per dimension over all vectors of that input)\n"
    "      --output-norm N  per fused vector: none (default), l2, zscore\n"
    "                       (--normalize N is the same option)\n"
    "      --missing P      an id absent from some input: error (default), skip, zero\n"
    "  -g, --group-by RULE  average the vectors whose ids share a key, per input:\n"
    "                       suffix:SEP (strip from the last SEP: img12#3 -> img12),\n"
    "                       head:SEP (keep what precedes the first SEP), prefix:N\n"
    "                       (first N characters), id (the whole id) (default: none)\n"
    "      --aligned        inputs list the same ids in the same order: fuse row by row,\n"
    "                       streaming in O(dim) memory, no id join (default: join)\n"
    "      --dtype T        output element type: f32 (default), f16\n"
    "\n"
    "Run fusion:\n"
    "      --runs           fuse TREC runs instead of feature files\n"
    "      --rrf-k K        RRF constant k (default 60)\n"
    "      --norm N         per run per query: minmax (default), zscore, sum, rank, none\n"
    "                       (not with rrf, which uses ranks)\n"
    "      --depth N        use only the top N documents of each run per query\n"
    "                       (default 0 = all)\n"
    "  -k, --k N            documents per query in the fused run (default 1000; 0 = all)\n"
    "      --tag NAME       run tag, the 6th column (default mm-fuse-METHOD)\n"
    "      --digits N       round scores to N significant digits before ranking\n"
    "                       (default 0: shortest form >= 9 digits that is exact)\n"
    "      --optimize MEAS  search the weights maximising the mm-eval measure MEAS\n"
    "                       (map, P.10, ndcg_cut.10, recip_rank...), print them on\n"
    "                       stderr and write the run fused with them\n"
    "      --qrels FILE     relevance judgments for --optimize\n"
    "      --search S       grid (default: every weight vector on the simplex with\n"
    "                       --step) or ascent (coordinate ascent on the --step grid)\n"
    "      --step X         weight resolution for the search (default 0.1)\n"
    "      --rounds N       coordinate-ascent passes at most (default 10)\n"
    "      --weights-out F  also write the best weights to F (w1,w2,...)\n"
    "      --eval-level L   relevance level, as mm-eval -l (default 1)\n"
    "      --eval-complete  score qrels queries missing from the run, as mm-eval -c\n"
    "\n"
    "Examples:\n"
    "  mm-fuse --method mean --group-by 'suffix:#' --output-norm l2 captions.mmf -o texts.mmf\n"
    "  mm-fuse --input-norm l2 --output-norm l2 images.mmf texts.mmf -o items.mmf\n"
    "  mm-fuse --runs --method rrf clip.trec bm25.trec -o fused.trec\n"
    "  mm-fuse --runs --method combsum --optimize map --qrels dev.qrels a.trec b.trec\n"
    "\n"
    "Exit status: 0 success, 1 invalid input (dimension mismatch, missing id,\n"
    "malformed run line...) or I/O error (nothing is written to -o), 2 usage error,\n"
    "4 --optimize: a qrels query is missing from the fused run (as mm-eval),\n"
    "7 --optimize: no query with both results and judgments, 141 output reader went away.\n";

typedef struct params {
    bool runs;               /* --runs: late fusion */
    const char *method;      /* -m: NULL = concat / rrf */
    const char *weights;     /* -w: NULL = all 1 */
    const char *output;      /* -o: NULL = stdout */
    /* feature fusion */
    fuse_params feat;        /* input_norm none, output_norm none, missing error, no group */
    const char *group_by;    /* -g text */
    /* run fusion */
    fuse_run_params run;     /* rrf, minmax, k 60, depth 0, k 1000, digits 0 */
    bool norm_given;         /* --norm given explicitly */
    const char *tag;         /* --tag: NULL = mm-fuse-METHOD */
    const char *optimize;    /* --optimize MEASURE */
    const char *qrels;       /* --qrels FILE */
    int search;              /* --search: grid */
    double step;             /* --step: 0.1 */
    int rounds;              /* --rounds: 10 */
    const char *weights_out; /* --weights-out */
    long eval_level;         /* --eval-level: 1 */
    bool eval_complete;      /* --eval-complete */
    unsigned feat_only, run_only; /* which mode-specific options were seen (for messages) */
    const char *feat_opt, *run_opt;
} params;

enum {
    OPT_INPUT_NORM = 256, OPT_NORMALIZE, OPT_MISSING, OPT_ALIGNED, OPT_DTYPE, OPT_RUNS,
    OPT_RRF_K, OPT_NORM, OPT_DEPTH, OPT_TAG, OPT_DIGITS, OPT_OPTIMIZE, OPT_QRELS, OPT_SEARCH,
    OPT_STEP, OPT_ROUNDS, OPT_WEIGHTS_OUT, OPT_EVAL_LEVEL, OPT_EVAL_COMPLETE,
    OPT_PROGRESS,
};

static void seen_feat(params *p, const char *opt) { p->feat_only++, p->feat_opt = opt; }
static void seen_run(params *p, const char *opt) { p->run_only++, p->run_opt = opt; }

static int parse_vnorm(const char *opt, const char *arg)
{
    int n = fuse_vnorm_parse(arg);
    if (n < 0) cli_usage_error("%s: unknown normalisation '%s'; supported: none, l2, zscore", opt, arg);
    return n;
}

static void show_search(size_t done, size_t total, double best, void *ctx)
{
    (void)ctx;
    if (total) cli_progress("--optimize: %zu/%zu weight vectors, best %.4f", done, total, best);
    else cli_progress("--optimize: %zu weight vectors, best %.4f", done, best);
}

static void format_weights(char *buf, size_t size, const double *w, size_t n)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && at + 32 < size; i++) {
        char one[40];
        /* shortest text that reads back as the same double */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(one, sizeof one, "%.*g", prec, w[i]);
            if (strtod(one, NULL) == w[i]) break;
        }
        at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? "," : "", one);
    }
}

static int run_features(params *p, const char *const *inputs, size_t n, const double *weights,
                        size_t nweights)
{
    if (p->run_only) cli_usage_error("%s applies to run fusion (--runs)", p->run_opt);
    int method = fuse_method_parse(p->method ? p->method : "concat", false);
    if (!method) {
        if (fuse_method_parse(p->method, true))
            cli_usage_error("--method %s fuses runs: add --runs", p->method);
        cli_usage_error("option --method: unknown method '%s'; supported: concat, mean, sum, wsum, "
                        "product, max", p->method);
    }
    p->feat.method = method;
    if (weights && method == FUSE_PRODUCT) cli_usage_error("option --weights: product takes no weights");
    if (!weights && method == FUSE_WSUM) cli_usage_error("--method wsum needs --weights w1,w2,...");
    if (p->feat.aligned && (p->feat.input_norm == FUSE_VNORM_ZSCORE ||
                            p->feat.output_norm == FUSE_VNORM_ZSCORE))
        cli_usage_error("zscore needs statistics over whole inputs: not available with --aligned");
    if (p->feat.aligned && p->feat.missing != FUSE_MISSING_ERROR)
        cli_usage_error("--missing applies to the id join, not to --aligned");
    if (p->group_by) {
        mm_error err;
        if (fuse_group_rule_parse(p->group_by, &p->feat.group, &err)) cli_usage_error("%s", err.msg);
    }
    p->feat.weights = weights;
    p->feat.weight_count = nweights;
    p->feat.producer = "mm-fuse " MM_VERSION;

    cli_output *out = cli_output_open(p->output);
    mm_error err;
    uint64_t written;
    if (fuse_features(inputs, n, &p->feat, cli_output_fp(out), cli_output_name(out), &written, &err))
        cli_fatal("%s", err.msg);
    cli_output_commit(out);
    return MM_EXIT_OK;
}

static int run_runs(params *p, const char *const *inputs, size_t n, const double *weights)
{
    if (p->feat_only) cli_usage_error("%s applies to feature fusion (drop --runs)", p->feat_opt);
    int method = fuse_method_parse(p->method ? p->method : "rrf", true);
    if (!method) {
        if (fuse_method_parse(p->method, false))
            cli_usage_error("--method %s fuses feature files, not runs (drop --runs)", p->method);
        cli_usage_error("option --method: unknown method '%s'; supported with --runs: rrf, combsum, "
                        "combmnz, combmax, wsum", p->method);
    }
    p->run.method = method;
    if (method == FUSE_RRF && p->norm_given && p->run.norm != FUSE_SNORM_NONE)
        cli_usage_error("--norm does not apply to rrf, which uses ranks, not scores");
    if (method == FUSE_RRF) p->run.norm = FUSE_SNORM_NONE;
    if (method == FUSE_RUN_WSUM && !weights && !p->optimize)
        cli_usage_error("--method wsum needs --weights w1,w2,... (or --optimize)");
    if (p->optimize && weights) cli_usage_error("--optimize searches the weights: drop --weights");
    if (p->optimize && !p->qrels) cli_usage_error("--optimize needs --qrels FILE");
    if (!p->optimize && (p->qrels || p->weights_out))
        cli_usage_error("%s goes with --optimize", p->qrels ? "--qrels" : "--weights-out");
    char tag[128];
    if (p->tag) snprintf(tag, sizeof tag, "%s", p->tag);
    else snprintf(tag, sizeof tag, "mm-fuse-%s", fuse_method_name(method));

    mm_error err;
    trec_run *runs = xcalloc(n, sizeof *runs);
    cli_output *out = cli_output_open(p->output);
    for (size_t i = 0; i < n; i++)
        if (trec_run_load(&runs[i], inputs[i], &err)) cli_fatal("%s", err.msg);
    fuse_runs *fr = fuse_runs_prepare(runs, n, &p->run, &err);
    if (!fr) cli_fatal("%s", err.msg);

    double *best = NULL;
    if (p->optimize) {
        trec_qrels qrels;
        if (trec_qrels_load(&qrels, p->qrels, &err)) cli_fatal("%s", err.msg);
        fuse_optimize_params op = {
            .measure = p->optimize, .qrels = &qrels, .eval = MM_EVAL_OPTS_DEFAULT,
            .search = p->search, .step = p->step, .max_rounds = p->rounds, .tag = tag,
            .digits = p->run.digits, .progress = show_search,
        };
        op.eval.relevance_level = p->eval_level;
        op.eval.complete_rel_info = p->eval_complete;
        fuse_optimize_result res;
        int status;
        if (fuse_optimize(fr, &op, &res, &err, &status))
            cli_fatal_status(status == MM_EVAL_EXIT_INPUT ? 1 : status, "%s", err.msg);
        char text[4096];
        format_weights(text, sizeof text, res.weights, n);
        cli_progress_done("--optimize: %zu weight vectors scored", res.evaluations);
        /* the result is the point of --optimize: printed even with --quiet */
        fprintf(stderr, "%s: best weights %s: %s %.4f (%zu candidates, %s search)\n", cli_prog,
                text, res.row_name, res.value, res.evaluations,
                p->search == FUSE_SEARCH_ASCENT ? "ascent" : "grid");
        if (res.skipped && !cli_quiet)
            cli_warn("--optimize: %zu candidates skipped: a zero weight left a qrels query "
                     "without results, which mm-eval refuses without -c (--eval-complete "
                     "scores them)", res.skipped);
        if (p->weights_out) {
            cli_output *wo = cli_output_open(p->weights_out);
            if (fprintf(cli_output_fp(wo), "%s\n", text) < 0)
                cli_fatal("%s: write error", p->weights_out);
            cli_output_commit(wo);
        }
        best = res.weights; /* kept until exit */
        trec_qrels_free(&qrels);
        weights = best;
    }
    fuse_result res = {0};
    if (fuse_runs_apply(fr, weights, &res, &err)) cli_fatal("%s", err.msg);
    if (fuse_result_write(cli_output_fp(out), cli_output_name(out), &res, tag, p->run.digits, &err))
        cli_fatal("%s", err.msg);
    cli_output_commit(out);
    fuse_result_free(&res);
    fuse_runs_free(fr);
    for (size_t i = 0; i < n; i++) trec_run_free(&runs[i]);
    free(runs);
    free(best);
    return MM_EXIT_OK;
}

int main(int argc, char **argv)
{
    cli_init("mm-fuse");
    params p = {0};
    p.run = (fuse_run_params){.method = FUSE_RRF, .norm = FUSE_SNORM_MINMAX, .rrf_k = 60.0,
                              .depth = 0, .k = 1000, .digits = 0};
    p.search = FUSE_SEARCH_GRID;
    p.step = 0.1;
    p.rounds = 10;
    p.eval_level = 1;

    static const struct option longopts[] = {
        {"method", required_argument, 0, 'm'},
        {"weights", required_argument, 0, 'w'},
        {"output", required_argument, 0, 'o'},
        {"group-by", required_argument, 0, 'g'},
        {"k", required_argument, 0, 'k'},
        {"input-norm", required_argument, 0, OPT_INPUT_NORM},
        {"output-norm", required_argument, 0, OPT_NORMALIZE},
        {"normalize", required_argument, 0, OPT_NORMALIZE}, /* the first spelling, kept */
        {"missing", required_argument, 0, OPT_MISSING},
        {"aligned", no_argument, 0, OPT_ALIGNED},
        {"dtype", required_argument, 0, OPT_DTYPE},
        {"runs", no_argument, 0, OPT_RUNS},
        {"rrf-k", required_argument, 0, OPT_RRF_K},
        {"norm", required_argument, 0, OPT_NORM},
        {"depth", required_argument, 0, OPT_DEPTH},
        {"tag", required_argument, 0, OPT_TAG},
        {"digits", required_argument, 0, OPT_DIGITS},
        {"optimize", required_argument, 0, OPT_OPTIMIZE},
        {"qrels", required_argument, 0, OPT_QRELS},
        {"search", required_argument, 0, OPT_SEARCH},
        {"step", required_argument, 0, OPT_STEP},
        {"rounds", required_argument, 0, OPT_ROUNDS},
        {"weights-out", required_argument, 0, OPT_WEIGHTS_OUT},
        {"eval-level", required_argument, 0, OPT_EVAL_LEVEL},
        {"eval-complete", no_argument, 0, OPT_EVAL_COMPLETE},
        {"quiet", no_argument, 0, 'q'},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "m:w:o:g:k:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': p.method = optarg; break;
        case 'w': p.weights = optarg; break;
        case 'o': p.output = optarg; break;
        case 'g': p.group_by = optarg; seen_feat(&p, "--group-by"); break;
        case 'k':
            p.run.k = (size_t)cli_parse_long("--k", optarg, 0, 1000000000L);
            seen_run(&p, "--k");
            break;
        case OPT_INPUT_NORM:
            p.feat.input_norm = parse_vnorm("--input-norm", optarg);
            seen_feat(&p, "--input-norm");
            break;
        case OPT_NORMALIZE:
            p.feat.output_norm = parse_vnorm("--output-norm", optarg);
            seen_feat(&p, "--output-norm");
            break;
        case OPT_MISSING:
            if ((p.feat.missing = fuse_missing_parse(optarg)) < 0)
                cli_usage_error("option --missing: unknown policy '%s'; supported: error, skip, zero", optarg);
            seen_feat(&p, "--missing");
            break;
        case OPT_ALIGNED: p.feat.aligned = true; seen_feat(&p, "--aligned"); break;
        case OPT_DTYPE:
            if (!(p.feat.dtype = mmf_dtype_parse(optarg)))
                cli_usage_error("option --dtype: unknown type '%s'; supported: f32, f16", optarg);
            seen_feat(&p, "--dtype");
            break;
        case OPT_RUNS: p.runs = true; break;
        case OPT_RRF_K:
            p.run.rrf_k = cli_parse_double("--rrf-k", optarg, 0.0, 1e12);
            seen_run(&p, "--rrf-k");
            break;
        case OPT_NORM:
            if ((p.run.norm = fuse_snorm_parse(optarg)) < 0)
                cli_usage_error("option --norm: unknown normalisation '%s'; supported: none, minmax, "
                                "zscore, sum, rank", optarg);
            p.norm_given = true;
            seen_run(&p, "--norm");
            break;
        case OPT_DEPTH:
            p.run.depth = (size_t)cli_parse_long("--depth", optarg, 0, 1000000000L);
            seen_run(&p, "--depth");
            break;
        case OPT_TAG:
            if (!*optarg || strpbrk(optarg, " \t\n\r\v\f") || strlen(optarg) > 100)
                cli_usage_error("option --tag: '%s' must be one non-empty word of at most 100 bytes", optarg);
            p.tag = optarg;
            seen_run(&p, "--tag");
            break;
        case OPT_DIGITS:
            p.run.digits = (int)cli_parse_long("--digits", optarg, 0, 17);
            seen_run(&p, "--digits");
            break;
        case OPT_OPTIMIZE: p.optimize = optarg; seen_run(&p, "--optimize"); break;
        case OPT_QRELS: p.qrels = optarg; seen_run(&p, "--qrels"); break;
        case OPT_SEARCH:
            if (strcmp(optarg, "grid") == 0) p.search = FUSE_SEARCH_GRID;
            else if (strcmp(optarg, "ascent") == 0) p.search = FUSE_SEARCH_ASCENT;
            else cli_usage_error("option --search: unknown search '%s'; supported: grid, ascent", optarg);
            seen_run(&p, "--search");
            break;
        case OPT_STEP:
            p.step = cli_parse_double("--step", optarg, 1e-4, 1.0);
            if (fabs(1.0 / p.step - nearbyint(1.0 / p.step)) > 1e-6 * nearbyint(1.0 / p.step))
                cli_usage_error("--step %s: must be 1/N for an integer N (0.5, 0.25, 0.1, 0.05...)", optarg);
            seen_run(&p, "--step");
            break;
        case OPT_ROUNDS:
            p.rounds = (int)cli_parse_long("--rounds", optarg, 1, 1000);
            seen_run(&p, "--rounds");
            break;
        case OPT_WEIGHTS_OUT: p.weights_out = optarg; seen_run(&p, "--weights-out"); break;
        case OPT_EVAL_LEVEL:
            p.eval_level = cli_parse_long("--eval-level", optarg, -1000000, 1000000);
            seen_run(&p, "--eval-level");
            break;
        case OPT_EVAL_COMPLETE: p.eval_complete = true; seen_run(&p, "--eval-complete"); break;
        case 'q': cli_progress_set(0); cli_quiet = true; break;
        case OPT_PROGRESS: cli_progress_set(1); break;
        case 'h': fputs(USAGE, stdout); return MM_EXIT_OK;
        case 'V': cli_version();
        default: cli_usage_hint(); /* getopt printed the problem */
        }
    }
    if (optind == argc)
        cli_usage_error("no inputs: give the %s to fuse", p.runs ? "run files" : "feature files");
    size_t n = (size_t)(argc - optind);
    const char *const *inputs = (const char *const *)argv + optind;
    size_t stdin_inputs = 0;
    for (size_t i = 0; i < n; i++) stdin_inputs += strcmp(inputs[i], "-") == 0;
    if (stdin_inputs > 1) cli_usage_error("standard input ('-') can be only one of the inputs");

    double *weights = NULL;
    size_t nweights = 0;
    if (p.weights) {
        mm_error err;
        long nw = fuse_parse_weights(p.weights, &weights, &err);
        if (nw < 0) cli_usage_error("option --weights: %s", err.msg);
        nweights = (size_t)nw;
        if (nweights != n)
            cli_usage_error("option --weights: %zu weight%s for %zu input%s", nweights,
                            nweights == 1 ? "" : "s", n, n == 1 ? "" : "s");
    }
    int rc = p.runs ? run_runs(&p, inputs, n, weights)
                    : run_features(&p, inputs, n, weights, nweights);
    free(weights);
    return rc;
}
