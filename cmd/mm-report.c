/* mm-report — one self-contained HTML page from runs, qrels, texts and
 * images: summary with intervals and p-values, curves, per-query table,
 * gallery, classification and training sections. The page is lib/report. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/pool.h"
#include "core/xalloc.h"
#include "report/report.h"

static const char USAGE[] =
    "Usage: mm-report --qrels QRELS [OPTION]... -o REPORT.html RUN [RUN...]\n"
    "Write one self-contained HTML page (inline SVG, JPEG thumbnails as data URIs,\n"
    "no network) that shows how TREC runs do against qrels: summary table with\n"
    "bootstrap intervals and paired p-values against the first run, Recall@K,\n"
    "interpolated precision-recall and first-relevant-rank curves, a sortable\n"
    "per-query table, the queries where runs differ most, and a gallery.\n"
    "\n"
    "Inputs:\n"
    "      --qrels=FILE          judgments (required)\n"
    "      --texts=FILE          id<TAB>text: captions shown for text items\n"
    "      --images=DIR          item ID is DIR/ID.jpg, DIR/ID.png or DIR/ID (repeatable)\n"
    "      --confusion=FILE      mm-eval --confusion matrix: heat map + recall (repeatable)\n"
    "      --train-log=FILE      mm-train --log JSON lines: training curves (repeatable)\n"
    "      --eval-json=FILE      mm-eval --format json output (one run, or a comparison\n"
    "                            of two): shown under the summary (repeatable)\n"
    "Measures:\n"
    "  -m, --measure=NAME        summary measure, as mm-eval -m (repeatable; default\n"
    "                            R@1 R@5 R@10 MRR map ndcg medr)\n"
    "      --sort-measure=NAME   per-query row for worst/differences (default MRR)\n"
    "      --ci=LEVEL            bootstrap interval level (default 0.95)\n"
    "      --bootstrap=B         bootstrap resamples (default 1000)\n"
    "      --permutations=P      randomisation test permutations (default 10000)\n"
    "      --seed=S              seed for bootstrap, tests and --gallery=random (default 1)\n"
    "Page:\n"
    "      --gallery=HOW         worst (default), random, or list:FILE (qids, one a line)\n"
    "      --gallery-size=N      queries in the gallery (default 20)\n"
    "  -k, --top=K               results shown per query and run (default 10)\n"
    "      --table-rows=N        rows of the per-query table (default 2000; the\n"
    "                            lowest --sort-measure first when there are more)\n"
    "      --differences=N       largest per-query differences per run (default 10)\n"
    "      --thumb-size=PX       longest thumbnail side (default 96)\n"
    "      --thumb-quality=Q     JPEG quality (default 75)\n"
    "      --thumb-budget=BYTES  all thumbnails together (base64) at most this: past it,\n"
    "                            lower quality, then smaller (default 2400000; 0 none)\n"
    "  -t, --threads=N           threads decoding thumbnails (default: online CPUs,\n"
    "                            at most 16)\n"
    "      --title=TEXT          page title (default \"mmkit report\")\n"
    "  -o, --output=FILE         write atomically to FILE (default stdout)\n"
    "  -q, --quiet               no progress or warnings\n"
    "  -h, --help                show this help and exit\n"
    "  -V, --version             show the version and exit\n"
    "\n"
    "Exit status: 0 ok, 1 bad or unreadable input, 2 usage error.\n"
    "See mm-report(1).\n";

enum {
    OPT_QRELS = 256, OPT_TEXTS, OPT_IMAGES, OPT_CONFUSION, OPT_TRAINLOG, OPT_EVALJSON, OPT_SORT, OPT_CI,
    OPT_BOOT, OPT_PERM, OPT_SEED, OPT_GALLERY, OPT_GSIZE, OPT_ROWS, OPT_DIFF, OPT_TSIZE,
    OPT_TQUAL, OPT_TBUDGET, OPT_TITLE,
};

static const struct option LONG[] = {
    {"qrels", required_argument, NULL, OPT_QRELS},
    {"texts", required_argument, NULL, OPT_TEXTS},
    {"images", required_argument, NULL, OPT_IMAGES},
    {"confusion", required_argument, NULL, OPT_CONFUSION},
    {"train-log", required_argument, NULL, OPT_TRAINLOG},
    {"eval-json", required_argument, NULL, OPT_EVALJSON},
    {"measure", required_argument, NULL, 'm'},
    {"sort-measure", required_argument, NULL, OPT_SORT},
    {"ci", required_argument, NULL, OPT_CI},
    {"bootstrap", required_argument, NULL, OPT_BOOT},
    {"permutations", required_argument, NULL, OPT_PERM},
    {"seed", required_argument, NULL, OPT_SEED},
    {"gallery", required_argument, NULL, OPT_GALLERY},
    {"gallery-size", required_argument, NULL, OPT_GSIZE},
    {"top", required_argument, NULL, 'k'},
    {"table-rows", required_argument, NULL, OPT_ROWS},
    {"differences", required_argument, NULL, OPT_DIFF},
    {"thumb-size", required_argument, NULL, OPT_TSIZE},
    {"thumb-quality", required_argument, NULL, OPT_TQUAL},
    {"thumb-budget", required_argument, NULL, OPT_TBUDGET},
    {"title", required_argument, NULL, OPT_TITLE},
    {"threads", required_argument, NULL, 't'},
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Appends to a growable list of option arguments. */
static void push(const char ***list, size_t *n, const char *s)
{
    *list = xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = s;
}

int main(int argc, char **argv)
{
    cli_init("mm-report");
    report_params p;
    report_params_default(&p);
    const char **images = NULL, **measures = NULL, **conf = NULL, **logs = NULL, **ejs = NULL;
    const char *out_path = NULL;
    int threads = cli_default_threads(16);
    int c;
    while ((c = getopt_long(argc, argv, "m:k:t:o:qhvV", LONG, NULL)) != -1) {
        switch (c) {
        case OPT_QRELS: p.qrels = optarg; break;
        case OPT_TEXTS: p.texts = optarg; break;
        case OPT_IMAGES: push(&images, &p.nimages, optarg); break;
        case OPT_CONFUSION: push(&conf, &p.nconfusion, optarg); break;
        case OPT_TRAINLOG: push(&logs, &p.ntrainlogs, optarg); break;
        case OPT_EVALJSON: push(&ejs, &p.nevaljson, optarg); break;
        case 'm': push(&measures, &p.nmeasures, optarg); break;
        case OPT_SORT: p.measure = optarg; break;
        case OPT_CI: p.ci = cli_parse_double("--ci", optarg, 1e-9, 1 - 1e-9); break;
        case OPT_BOOT: p.bootstrap = (size_t)cli_parse_long("--bootstrap", optarg, 0, 1000000); break;
        case OPT_PERM:
            p.permutations = (uint64_t)cli_parse_long("--permutations", optarg, 1, 100000000);
            break;
        case OPT_SEED: p.seed = (uint64_t)cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case OPT_GALLERY:
            if (strcmp(optarg, "worst") == 0) p.gallery_mode = REPORT_GALLERY_WORST;
            else if (strcmp(optarg, "random") == 0) p.gallery_mode = REPORT_GALLERY_RANDOM;
            else if (strncmp(optarg, "list:", 5) == 0 && optarg[5]) {
                p.gallery_mode = REPORT_GALLERY_LIST;
                p.gallery_list = optarg + 5;
            } else
                cli_usage_error("option --gallery: expected worst, random or list:FILE, got '%s'",
                                optarg);
            break;
        case OPT_GSIZE: p.gallery_n = (size_t)cli_parse_long("--gallery-size", optarg, 0, 100000); break;
        case 'k': p.topk = (size_t)cli_parse_long("--top", optarg, 1, 1000); break;
        case OPT_ROWS: p.table_rows = (size_t)cli_parse_long("--table-rows", optarg, 0, 10000000); break;
        case OPT_DIFF: p.ndiff = (size_t)cli_parse_long("--differences", optarg, 0, 100000); break;
        case OPT_TSIZE: p.thumb_size = (int)cli_parse_long("--thumb-size", optarg, 8, 1024); break;
        case OPT_TQUAL: p.thumb_quality = (int)cli_parse_long("--thumb-quality", optarg, 1, 100); break;
        case OPT_TBUDGET:
            p.thumb_budget = (size_t)cli_parse_long("--thumb-budget", optarg, 0, 1L << 40);
            break;
        case OPT_TITLE: p.title = optarg; break;
        case 't': threads = (int)cli_parse_long("--threads", optarg, 1, 256); break;
        case 'o': out_path = optarg; break;
        case 'q': cli_quiet = true; cli_progress_set(0); break;
        case 'h': fputs(USAGE, stdout); return 0;
        case 'v':
        case 'V': cli_version();
        default: cli_usage_hint();
        }
    }
    if (!p.qrels) cli_usage_error("--qrels FILE is required");
    if (optind >= argc) cli_usage_error("expected at least one RUN");
    p.runs = (const char *const *)(argv + optind);
    p.nruns = (size_t)(argc - optind);
    p.images = images;
    p.measures = measures;
    p.confusion = conf;
    p.trainlogs = logs;
    p.evaljson = ejs;
    p.pool = mm_pool_create(threads);
    cli_output *out = cli_output_open(out_path);
    mm_error err = {0};
    int status = 0;
    if (report_write(cli_output_fp(out), &p, &err, &status) < 0) {
        if (status == 2) cli_usage_error("%s", err.msg);
        cli_fatal_status(1, "%s", err.msg);
    }
    cli_output_commit(out);
    mm_pool_free(p.pool);
    free(images);
    free(measures);
    free(conf);
    free(logs);
    free(ejs);
    return 0;
}
