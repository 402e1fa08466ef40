/* mm-predict — apply a head trained by mm-train to feature files: a TREC run
 * of each item's top-k classes or labels, a value per item (regression), or
 * a reranked candidate run (pair heads); optionally the fusion output as MMF
 * and the gate weights. The work is in lib/nn (head, traindata, train:
 * head_outputs); this file checks the inputs against the head and formats
 * the outputs. */
#include <getopt.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/vec.h"
#include "core/xalloc.h"
#include "io/mmf.h"
#include "io/trec.h"
#include "nn/head.h"
#include "nn/traindata.h"
#include "nn/train.h"

static const char USAGE[] =
    "Usage: mm-predict --head HEAD [OPTION]... A.mmf [B.mmf ...]\n"
    "       mm-predict --head HEAD --rerank RUN -q Q.mmf -g G.mmf [OPTION]...\n"
    "Apply the head directory HEAD (written by mm-train) to feature files given in\n"
    "the order it was trained on (joined by id). What is written depends on the\n"
    "head's task:\n"
    "  classification, multilabel: a TREC run, per item its top-k classes (labels) as\n"
    "    'item Q0 label rank prob tag' (softmax / per-label sigmoid probabilities),\n"
    "    which mm-eval -m zeroshot (or any measure) scores against qrels 'item 0 label 1';\n"
    "  regression: 'item<TAB>value' lines, the format mm-train --task regression reads;\n"
    "  pair: with --rerank, every candidate of RUN scored by the head and each\n"
    "    query's candidates re-sorted (trec_eval's order): a run mm-eval scores.\n"
    "\n"
    "      --head HEAD       the head directory (config.json + model.safetensors)\n"
    "  -T, --task NAME       a multi-task head: the task whose output layer to apply\n"
    "                        (default the first; the outputs are as for a head of its kind)\n"
    "  -k, --k N             classes per item (default 5; 0 = all)\n"
    "      --rerank RUN      pair heads: the candidate run to rescore (needs -q, -g)\n"
    "  -q, --queries FILE    --rerank: the queries' features (MMF)\n"
    "  -g, --gallery FILE    --rerank: the documents' features (MMF)\n"
    "      --labels FILE     check that every label of FILE (id<TAB>label or qrels)\n"
    "                        is a class of the head; an unseen label is an error\n"
    "      --features FILE   also write each item's fusion output, L2-normalised, as\n"
    "                        MMF (an embedding mm-rank can search)\n"
    "      --explain FILE    gated heads: also write each item's gate weights, one\n"
    "                        TSV line 'item<TAB>w1<TAB>w2...' per item (header: inputs);\n"
    "                        attention heads: the [CLS] token's attention over\n"
    "                        [CLS] and the inputs' tokens (last layer, mean of heads)\n"
    "      --tag NAME        run tag, the 6th column (default mm-predict)\n"
    "      --missing P       an item absent from a later input: error (default), skip\n"
    "  -o, --output FILE     write FILE atomically (default standard output)\n"
    "  -t, --threads N       accepted for the common interface (one thread in this version)\n"
    "      --quiet           no notes (-q is --queries, as in mm-rank)\n"
    "  -h, --help            show this help and exit\n"
    "  -V, --version         show the version and exit\n"
    "\n"
    "Example:\n"
    "  mm-predict --head head -k 5 img.mmf txt.mmf > run.trec\n"
    "  mm-predict --head multi -T category img.mmf txt.mmf > category.trec\n"
    "  mm-eval -m zeroshot labels.qrels run.trec\n"
    "  mm-predict --head reranker --rerank top50.trec -q captions.mmf -g images.mmf > rr.trec\n"
    "\n"
    "Exit status: 0 success, 1 invalid input (head/feature mismatch, corrupt head,\n"
    "NaN or infinite features, a label the head does not know) or I/O error (nothing\n"
    "is written to -o), 2 usage error, 141 output reader went away.\n";

enum { OPT_HEAD = 256, OPT_TAG, OPT_MISSING, OPT_RERANK, OPT_LABELS, OPT_FEATURES, OPT_EXPLAIN, OPT_QUIET };

/* --labels: every label must be one of the head's classes. */
static void check_labels(const head *h, const char *head_dir, const char *path)
{
    mm_error err = {0};
    labelset ls;
    if (labels_load(&ls, path, &err) < 0) cli_fatal("%s", err.msg);
    for (size_t i = 0; i < ls.n; i++) {
        int found = 0;
        for (int c = 0; c < h->nclasses && !found; c++) found = !strcmp(ls.labels[i], h->classes[c]);
        if (!found)
            cli_fatal("%s:%zu: label '%s' is not a class of the head %s/config.json (%d classes, trained without it)",
                      path, ls.lines[i], ls.labels[i], head_dir, h->nclasses);
    }
    labels_free(&ls);
}

/* --rerank: every candidate rescored, each query re-sorted in trec_eval's
 * order on the scores as printed (%.9g round-trips a float). */
static void rerank(const head *h, const char *head_dir, const char *run, const char *q, const char *g, FILE *fp,
                   const char *tag)
{
    mm_error err = {0};
    pairdata p;
    if (pairdata_load(&p, q, g, run, NULL, h->product, 0, h->norm == HEAD_NORM_L2, 0, &err) < 0) cli_fatal("%s", err.msg);
    if (p.qdim != h->dims[0] || p.gdim != h->dims[1])
        cli_fatal("%s: dim %d, %s: dim %d, but the head %s/config.json takes queries of dim %d and documents of dim %d",
                  q, p.qdim, g, p.gdim, head_dir, h->dims[0], h->dims[1]);
    size_t total = p.first[p.nq];
    float *score = xmalloc((total ? total : 1) * sizeof *score);
    head_pair_outputs(h, NULL, &p, score);
    trec_ranked *items = xmalloc((size_t)(p.maxc ? p.maxc : 1) * sizeof *items);
    for (size_t i = 0; i < p.nq; i++) {
        size_t c0 = p.first[i], n = p.first[i + 1] - c0;
        for (size_t c = 0; c < n; c++)
            items[c].score = score[c0 + c], items[c].docno = p.g.ids[p.doc[c0 + c]];
        trec_sort_ranked(items, n);
        for (size_t c = 0; c < n; c++)
            if (trec_write_run_line(fp, p.q.ids[p.qrow[i]], items[c].docno, (long)c + 1, items[c].score, tag, 9) < 0)
                cli_fatal("%s", strerror(errno));
    }
    free(items);
    free(score);
    pairdata_free(&p);
}

int main(int argc, char **argv)
{
    cli_init("mm-predict");
    const char *head_dir = NULL, *tag = "mm-predict", *out_path = NULL, *rerank_path = NULL, *q_path = NULL,
               *g_path = NULL, *labels_path = NULL, *features_path = NULL, *explain_path = NULL, *task_name_arg = NULL;
    long k = 5;
    int missing_skip = 0;
    static const struct option longopts[] = {
        {"head", required_argument, 0, OPT_HEAD},   {"k", required_argument, 0, 'k'},
        {"tag", required_argument, 0, OPT_TAG},     {"missing", required_argument, 0, OPT_MISSING},
        {"output", required_argument, 0, 'o'},      {"threads", required_argument, 0, 't'},
        {"rerank", required_argument, 0, OPT_RERANK}, {"queries", required_argument, 0, 'q'},
        {"gallery", required_argument, 0, 'g'},     {"labels", required_argument, 0, OPT_LABELS},
        {"features", required_argument, 0, OPT_FEATURES}, {"explain", required_argument, 0, OPT_EXPLAIN},
        {"quiet", no_argument, 0, OPT_QUIET},       {"help", no_argument, 0, 'h'},
        {"task", required_argument, 0, 'T'},       {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "k:o:t:q:g:T:hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_HEAD: head_dir = optarg; break;
        case 'T': task_name_arg = optarg; break;
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
        case OPT_RERANK: rerank_path = optarg; break;
        case 'q': q_path = optarg; break;
        case 'g': g_path = optarg; break;
        case OPT_LABELS: labels_path = optarg; break;
        case OPT_FEATURES: features_path = optarg; break;
        case OPT_EXPLAIN: explain_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 't': (void)cli_parse_long("--threads", optarg, 1, 1024); break;
        case OPT_QUIET: cli_quiet = true; break;
        case 'h': fputs(USAGE, stdout); return 0;
        case 'V': cli_version();
        default: cli_usage_hint();
        }
    }
    if (!head_dir) cli_usage_error("--head HEAD is required");
    int nin = argc - optind;
    if (rerank_path && (!q_path || !g_path)) cli_usage_error("--rerank needs -q QUERIES.mmf and -g GALLERY.mmf");
    if (!rerank_path && (q_path || g_path)) cli_usage_error("-q and -g go with --rerank");
    if (rerank_path && nin > 0) cli_usage_error("--rerank takes its features from -q and -g, not from arguments");
    if (rerank_path && (features_path || explain_path)) cli_usage_error("--features and --explain are per item, not with --rerank");
    if (!rerank_path && nin < 1) cli_usage_error("no feature file given");
    mm_error err = {0};
    head h;
    if (head_load(&h, head_dir, &err) < 0) cli_fatal("%s", err.msg);
    if (task_name_arg && !h.multi)
        cli_fatal("%s/config.json: --task %s: this head has one task (%s) and no task names", head_dir, task_name_arg,
                  task_name(h.task));
    if (h.multi) { /* from here on, the single-task head of the task chosen */
        int t = task_name_arg ? head_task_find(&h, task_name_arg) : 0;
        if (t < 0) {
            char names[HEAD_MAX_TASKS * (HEAD_TASK_NAME_MAX + 2)] = "";
            for (int k = 0; k < h.ntasks; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "", h.out[k].name);
            cli_fatal("%s/config.json: --task %s: no such task (the head's tasks: %s)", head_dir, task_name_arg, names);
        }
        head_select_task(&h, t);
    }
    if (h.task == TASK_PAIR && !rerank_path)
        cli_fatal("%s/config.json: a pair head scores candidates: use --rerank RUN -q Q.mmf -g G.mmf", head_dir);
    if (h.task != TASK_PAIR && rerank_path)
        cli_fatal("%s/config.json: --rerank needs a pair head (this one is %s)", head_dir, task_name(h.task));
    if (explain_path && !head_explain_dim(&h))
        cli_fatal("%s/config.json: --explain needs a gated or attention head (this one is %s)", head_dir,
                  head_fusion_name(h.fusion));
    if (labels_path) {
        if (h.task != TASK_CLASSIFY && h.task != TASK_MULTILABEL)
            cli_usage_error("--labels is for classification and multilabel heads");
        check_labels(&h, head_dir, labels_path);
    }
    if (!rerank_path && nin != h.ninputs)
        cli_fatal("%s/config.json: the head takes %d input%s, %d feature file%s given", head_dir, h.ninputs,
                  h.ninputs == 1 ? "" : "s", nin, nin == 1 ? "" : "s");
    /* opened before the inputs are read, as mm-rank does: an unwritable -o
     * fails before the work, and a kill half-way leaves the old file */
    cli_output *out = cli_output_open(out_path);
    cli_output *fout = features_path ? cli_output_open(features_path) : NULL;
    cli_output *xout = explain_path ? cli_output_open(explain_path) : NULL;
    FILE *fp = cli_output_fp(out);
    if (rerank_path) {
        rerank(&h, head_dir, rerank_path, q_path, g_path, fp, tag);
        cli_output_commit(out);
        head_free(&h);
        return 0;
    }
    traindata td;
    size_t skipped;
    if (traindata_load(&td, (const char *const *)argv + optind, nin, missing_skip, h.norm != HEAD_NORM_NONE, &skipped,
                       &err) < 0)
        cli_fatal("%s", err.msg);
    for (int i = 0; i < nin; i++)
        if (td.dims[i] != h.dims[i])
            cli_fatal("%s: dim %d, but input %d of the head %s/config.json has dim %d", argv[optind + i], td.dims[i],
                      i + 1, head_dir, h.dims[i]);
    head_standardize(&h, td.x, td.rows); /* a zscore head: the training statistics */
    if (skipped && !cli_quiet) cli_warn("%zu item(s) of %s missing from another input: skipped", skipped, argv[optind]);
    int V = h.nclasses, F = head_feature_dim(&h);
    size_t rows = td.rows ? td.rows : 1;
    float *probs = xmalloc(rows * (size_t)V * sizeof(float));
    float *feats = fout ? xmalloc(rows * (size_t)F * sizeof(float)) : NULL;
    int E = head_explain_dim(&h);
    float *gates = xout ? xmalloc(rows * (size_t)E * sizeof(float)) : NULL;
    int *order = xmalloc((size_t)V * sizeof *order);
    head_outputs(&h, NULL, td.x, td.rows, probs, feats, gates);
    task_activate(h.task, probs, td.rows, V);
    int kk = k == 0 || k > V ? V : (int)k;
    for (size_t r = 0; r < td.rows; r++) {
        const float *p = probs + r * (size_t)V;
        if (h.task == TASK_REGRESSION) {
            fprintf(fp, "%s", td.ids[r]);
            for (int v = 0; v < V; v++) fprintf(fp, "\t%.9g", p[v]);
            fputc('\n', fp);
            continue;
        }
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
    if (fout) {
        mmf_header mh;
        mmf_header_init(&mh, (uint32_t)F, MMF_F32, MMF_FLAG_NORMALIZED);
        char model[4200];
        snprintf(model, sizeof model, "mm-predict:%s", head_dir);
        mmf_header_set(&mh, "model", model);
        mmf_writer *mw = mmf_writer_open(cli_output_fp(fout), features_path, &mh, &err);
        if (!mw) cli_fatal("%s", err.msg);
        for (size_t r = 0; r < td.rows; r++) {
            float *v = feats + r * (size_t)F;
            vec_l2_normalize(v, (size_t)F);
            if (mmf_write(mw, td.ids[r], strlen(td.ids[r]), v, &err) < 0) cli_fatal("%s", err.msg);
        }
        if (mmf_writer_close(mw, &err) < 0) cli_fatal("%s", err.msg);
        mmf_header_free(&mh);
    }
    if (xout) {
        FILE *xf = cli_output_fp(xout);
        fprintf(xf, "#id%s", h.fusion == HEAD_ATTENTION ? "\t[CLS]" : "");
        for (int i = 0; i < nin; i++) fprintf(xf, "\t%s", argv[optind + i]);
        fputc('\n', xf);
        for (size_t r = 0; r < td.rows; r++) {
            fprintf(xf, "%s", td.ids[r]);
            for (int i = 0; i < E; i++) fprintf(xf, "\t%.6f", gates[r * (size_t)E + (size_t)i]);
            fputc('\n', xf);
        }
    }
    if (fout) cli_output_commit(fout);
    if (xout) cli_output_commit(xout);
    cli_output_commit(out);
    free(probs), free(feats), free(gates), free(order);
    traindata_free(&td);
    head_free(&h);
    return 0;
}
