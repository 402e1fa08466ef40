/* mm-predict — apply a head trained by mm-train to feature files: a TREC run
 * of each item's top-k classes. The work is in lib/nn (head, traindata,
 * train: head_predict); this file checks the inputs against the head and
 * formats the run. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "nn/head.h"
#include "nn/traindata.h"
#include "nn/train.h"

static const char USAGE[] =
    "Usage: mm-predict --head HEAD [OPTION]... A.mmf [B.mmf ...]\n"
    "Apply the head directory HEAD (written by mm-train) to feature files given in\n"
    "the order it was trained on (joined by id), and write a TREC run: per item, its\n"
    "top-k classes as 'item Q0 label rank prob tag', which mm-eval -m zeroshot scores\n"
    "against qrels 'item 0 label 1'.\n"
    "\n"
    "      --head HEAD       the head directory (config.json + model.safetensors)\n"
    "  -k, --k N             classes per item (default 5; 0 = all)\n"
    "      --tag NAME        run tag, the 6th column (default mm-predict)\n"
    "      --missing P       an item absent from a later input: error (default), skip\n"
    "  -o, --output FILE     write FILE atomically (default standard output)\n"
    "  -t, --threads N       accepted for the common interface (one thread in this version)\n"
    "  -q, --quiet           no notes\n"
    "  -h, --help            show this help and exit\n"
    "  -V, --version         show the version and exit\n"
    "\n"
    "Example:\n"
    "  mm-predict --head head -k 5 img.mmf txt.mmf > run.trec\n"
    "  mm-eval -m zeroshot labels.qrels run.trec\n"
    "\n"
    "Exit status: 0 success, 1 invalid input (head/feature mismatch, corrupt head)\n"
    "or I/O error (nothing is written to -o), 2 usage error, 141 output reader went away.\n";

enum { OPT_HEAD = 256, OPT_TAG, OPT_MISSING };

int main(int argc, char **argv)
{
    cli_init("mm-predict");
    const char *head_dir = NULL, *tag = "mm-predict", *out_path = NULL;
    long k = 5;
    int missing_skip = 0;
    static const struct option longopts[] = {
        {"head", required_argument, 0, OPT_HEAD}, {"k", required_argument, 0, 'k'},
        {"tag", required_argument, 0, OPT_TAG},   {"missing", required_argument, 0, OPT_MISSING},
        {"output", required_argument, 0, 'o'},    {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "k:o:t:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_HEAD: head_dir = optarg; break;
        case 'k': k = cli_parse_long("--k", optarg, 0, 1000000); break;
        case OPT_TAG:
            if (!*optarg || strpbrk(optarg, " \t\n")) cli_usage_error("option --tag: '%s' is empty or has blanks", optarg);
            tag = optarg;
            break;
        case OPT_MISSING:
            if (!strcmp(optarg, "skip")) missing_skip = 1;
            else if (!strcmp(optarg, "error")) missing_skip = 0;
            else cli_usage_error("option --missing: unknown '%s'; supported: error, skip", optarg);
            break;
        case 'o': out_path = optarg; break;
        case 't': (void)cli_parse_long("--threads", optarg, 1, 1024); break;
        case 'q': cli_quiet = true; break;
        case 'h': fputs(USAGE, stdout); return 0;
        case 'V': cli_version();
        default: cli_usage_hint();
        }
    }
    if (!head_dir) cli_usage_error("--head HEAD is required");
    int nin = argc - optind;
    if (nin < 1) cli_usage_error("no feature file given");
    mm_error err = {0};
    head h;
    if (head_load(&h, head_dir, &err) < 0) cli_fatal("%s", err.msg);
    if (nin != h.ninputs)
        cli_fatal("%s/config.json: the head takes %d input%s, %d feature file%s given", head_dir, h.ninputs,
                  h.ninputs == 1 ? "" : "s", nin, nin == 1 ? "" : "s");
    /* opened before the inputs are read, as mm-rank does: an unwritable -o
     * fails before the work, and a kill half-way leaves the old file */
    cli_output *out = cli_output_open(out_path);
    traindata td;
    size_t skipped;
    if (traindata_load(&td, (const char *const *)argv + optind, nin, missing_skip, h.norm == HEAD_NORM_L2, &skipped,
                       &err) < 0)
        cli_fatal("%s", err.msg);
    for (int i = 0; i < nin; i++)
        if (td.dims[i] != h.dims[i])
            cli_fatal("%s: dim %d, but input %d of the head %s/config.json has dim %d", argv[optind + i], td.dims[i],
                      i + 1, head_dir, h.dims[i]);
    if (skipped && !cli_quiet) cli_warn("%zu item(s) of %s missing from another input: skipped", skipped, argv[optind]);
    int V = h.nclasses;
    float *probs = malloc((td.rows ? td.rows : 1) * (size_t)V * sizeof(float));
    int *order = malloc((size_t)V * sizeof *order);
    if (!probs || !order) cli_fatal("out of memory");
    if (head_predict(&h, td.x, td.rows, probs, &err) < 0) cli_fatal("%s", err.msg);
    FILE *fp = cli_output_fp(out);
    int kk = k == 0 || k > V ? V : (int)k;
    for (size_t r = 0; r < td.rows; r++) {
        const float *p = probs + r * (size_t)V;
        /* top kk by probability, ties by class order (stable selection) */
        for (int v = 0; v < V; v++) order[v] = v;
        for (int i = 0; i < kk; i++) {
            int b = i;
            for (int j = i + 1; j < V; j++)
                if (p[order[j]] > p[order[b]]) b = j;
            int t = order[b];
            memmove(order + i + 1, order + i, (size_t)(b - i) * sizeof *order);
            order[i] = t;
        }
        for (int i = 0; i < kk; i++)
            fprintf(fp, "%s Q0 %s %d %.9g %s\n", td.ids[r], h.classes[order[i]], i + 1, p[order[i]], tag);
    }
    cli_output_commit(out);
    free(probs);
    free(order);
    traindata_free(&td);
    head_free(&h);
    return 0;
}
