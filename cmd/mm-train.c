/* mm-train — train a classification head (fusion module + output layer) on
 * feature files. The work is in lib/nn (layers, adamw, head, traindata,
 * train); this file parses options, reports and writes the head. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "nn/head.h"
#include "nn/traindata.h"
#include "nn/train.h"

static const char USAGE[] =
    "Usage: mm-train --labels LABELS -o HEAD [OPTION]... A.mmf [B.mmf ...]\n"
    "Train a classification head on frozen features: the inputs (one MMF file per\n"
    "modality) are joined by id, each L2-normalised, concatenated, and passed through\n"
    "a fusion module and a softmax output layer trained with AdamW and cross-entropy.\n"
    "The head directory HEAD (config.json + model.safetensors) is what mm-predict reads.\n"
    "See mm-train(1) for the networks' equations and the head format.\n"
    "\n"
    "  -l, --labels FILE     id<TAB>label lines, or qrels 'id 0 label rel' (rel > 0)\n"
    "  -o, --output HEAD     the head directory to write (replaced atomically)\n"
    "  -f, --fusion F        none (linear probe on one input), concat (default),\n"
    "                        gated (per-modality projections mixed by softmax gates),\n"
    "                        attention (a token per modality + [CLS] through a\n"
    "                        pre-LN transformer encoder)\n"
    "      --hidden N        concat: MLP width; gated: common width (default 512)\n"
    "      --width N         attention: token width (default 256; same as --hidden)\n"
    "      --layers N        attention: encoder layers (default 2)\n"
    "      --heads N         attention: attention heads, dividing the width (default 4)\n"
    "      --dropout P       concat, gated, attention: dropout before the output layer\n"
    "                        (default 0.1)\n"
    "      --epochs N        passes over the training set (default 10)\n"
    "  -b, --batch-size N    examples per step (default 256)\n"
    "      --lr X            peak learning rate (default 0.001)\n"
    "      --weight-decay X  AdamW decoupled weight decay of weights (default 0)\n"
    "      --betas B1,B2     AdamW betas (default 0.9,0.999)\n"
    "      --adam-eps X      AdamW epsilon (default 1e-8)\n"
    "      --warmup E        epochs of linear warm-up before the cosine (default 0)\n"
    "      --val-split F     hold out a seeded fraction F of the items for validation\n"
    "                        (default 0: none; the last epoch is kept)\n"
    "      --patience N      with validation: stop after N epochs without a better\n"
    "                        accuracy (default 0: run every epoch); the best epoch is kept\n"
    "      --seed S          seed of the initial weights, shuffles, split, dropout (default 0)\n"
    "      --missing P       labels without features, features without labels:\n"
    "                        error (default), skip (counted on stderr)\n"
    "      --log FILE        one JSON line per epoch: epoch, task, train_loss,\n"
    "                        val_loss, val_acc, val_bacc, best\n"
    "      --step-log FILE   the loss of every step, one 'step loss' line each\n"
    "      --init HEAD       start from HEAD's parameters (same architecture and\n"
    "                        classes) instead of a seeded initialisation\n"
    "      --no-shuffle      batches in the first input's order (tests)\n"
    "  -t, --threads N       threads in all (default 1); the same seed, data and N\n"
    "                        give the same head bit for bit (any N gives the same bits)\n"
    "  -q, --quiet           no progress, no notes\n"
    "      --progress        show progress even when stderr is not a terminal\n"
    "  -h, --help            show this help and exit\n"
    "  -V, --version         show the version and exit\n"
    "\n"
    "Example:\n"
    "  mm-train --fusion concat --labels labels.tsv --val-split 0.1 --seed 1 -o head img.mmf txt.mmf\n"
    "\n"
    "Exit status: 0 success, 1 invalid input or I/O error (HEAD is left as it was),\n"
    "2 usage error.\n";

enum { OPT_HIDDEN = 256, OPT_DROPOUT, OPT_EPOCHS, OPT_LR, OPT_WD, OPT_BETAS, OPT_EPS, OPT_WARMUP, OPT_VALSPLIT,
       OPT_PATIENCE, OPT_SEED, OPT_MISSING, OPT_LOG, OPT_PROGRESS, OPT_STEPLOG, OPT_INIT, OPT_NOSHUFFLE, OPT_WIDTH, OPT_LAYERS, OPT_HEADS };

typedef struct log_ctx {
    FILE *log;
    const train_opts *o;
    size_t nv;
} log_ctx;

static void json_num(FILE *fp, const char *key, double v)
{
    if (isfinite(v)) fprintf(fp, ",\"%s\":%.9g", key, v);
    else fprintf(fp, ",\"%s\":null", key);
}

static int on_epoch(void *ctx, const train_epoch *e)
{
    log_ctx *c = ctx;
    if (c->log) {
        fprintf(c->log, "{\"epoch\":%d,\"task\":\"classification\"", e->epoch);
        json_num(c->log, "train_loss", e->train_loss);
        if (c->nv) {
            json_num(c->log, "val_loss", e->val_loss);
            json_num(c->log, "val_acc", e->val_acc);
            json_num(c->log, "val_bacc", e->val_bacc);
        }
        fprintf(c->log, ",\"best\":%s}\n", e->best ? "true" : "false");
    }
    if (c->nv) cli_progress("epoch %d/%d: train loss %.4f, val acc %.4f", e->epoch, c->o->epochs, e->train_loss, e->val_acc);
    else cli_progress("epoch %d/%d: train loss %.4f", e->epoch, c->o->epochs, e->train_loss);
    return 0;
}

static void on_step(void *ctx, long step, double loss) { fprintf(ctx, "%ld %.9g\n", step + 1, loss); }

/* --init: the parameters of an existing head of the same shape. */
static void load_init(head *h, const char *path)
{
    head src;
    mm_error err = {0};
    if (head_load(&src, path, &err) < 0) cli_fatal("%s", err.msg);
    int same = src.fusion == h->fusion && src.ninputs == h->ninputs && src.nparams == h->nparams &&
               src.nclasses == h->nclasses && src.hidden == h->hidden &&
               src.layers == h->layers && src.heads == h->heads;
    for (int i = 0; same && i < h->ninputs; i++) same = src.dims[i] == h->dims[i];
    for (int k = 0; same && k < h->nclasses; k++) same = !strcmp(src.classes[k], h->classes[k]);
    if (!same)
        cli_fatal("%s/config.json: --init: its architecture, dims or classes differ from the head being trained", path);
    memcpy(h->params, src.params, h->nparams * sizeof(float));
    head_free(&src);
}

static char tmpdir[4200];
static void remove_tmpdir(void)
{
    if (!tmpdir[0]) return;
    char p[4300];
    snprintf(p, sizeof p, "%s/config.json", tmpdir);
    unlink(p);
    snprintf(p, sizeof p, "%s/model.safetensors", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    tmpdir[0] = 0;
}

/* Writes the head into a fresh directory next to HEAD, then renames it over
 * HEAD (an existing head directory is removed first), so that a failure
 * leaves HEAD as it was. */
static void write_head(const head *h, const char *out)
{
    mm_error err = {0};
    snprintf(tmpdir, sizeof tmpdir, "%s.tmp.XXXXXX", out);
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = 0;
        cli_fatal("%s: cannot create a directory beside it: %s", out, strerror(errno));
    }
    if (head_save(h, tmpdir, &err) < 0) {
        remove_tmpdir();
        cli_fatal("%s", err.msg);
    }
    struct stat st;
    if (lstat(out, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            remove_tmpdir();
            cli_fatal("%s: exists and is not a directory", out);
        }
        char p[4300];
        snprintf(p, sizeof p, "%s/config.json", out);
        unlink(p);
        snprintf(p, sizeof p, "%s/model.safetensors", out);
        unlink(p);
        if (rmdir(out) != 0) {
            remove_tmpdir();
            cli_fatal("%s: cannot replace it: %s (a head directory holds only config.json and model.safetensors)",
                      out, strerror(errno));
        }
    }
    if (rename(tmpdir, out) != 0) {
        int e = errno;
        remove_tmpdir();
        cli_fatal("%s: %s", out, strerror(e));
    }
    tmpdir[0] = 0;
}

int main(int argc, char **argv)
{
    cli_init("mm-train");
    const char *labels_path = NULL, *out = NULL, *log_path = NULL, *steplog_path = NULL, *init_path = NULL;
    int fusion = HEAD_CONCAT, hidden = 0, missing_skip = 0, threads = 1, layers = 2, heads = 4;
    float dropout = 0.1f, val_split = 0;
    train_opts o = {.epochs = 10, .batch = 256, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                    .weight_decay = 0, .warmup = 0, .seed = 0, .patience = 0};
    static const struct option longopts[] = {
        {"labels", required_argument, 0, 'l'},      {"output", required_argument, 0, 'o'},
        {"fusion", required_argument, 0, 'f'},      {"hidden", required_argument, 0, OPT_HIDDEN},
        {"dropout", required_argument, 0, OPT_DROPOUT}, {"epochs", required_argument, 0, OPT_EPOCHS},
        {"batch-size", required_argument, 0, 'b'},  {"lr", required_argument, 0, OPT_LR},
        {"weight-decay", required_argument, 0, OPT_WD}, {"betas", required_argument, 0, OPT_BETAS},
        {"adam-eps", required_argument, 0, OPT_EPS}, {"warmup", required_argument, 0, OPT_WARMUP},
        {"val-split", required_argument, 0, OPT_VALSPLIT}, {"patience", required_argument, 0, OPT_PATIENCE},
        {"seed", required_argument, 0, OPT_SEED},   {"missing", required_argument, 0, OPT_MISSING},
        {"log", required_argument, 0, OPT_LOG},     {"step-log", required_argument, 0, OPT_STEPLOG},
        {"init", required_argument, 0, OPT_INIT},   {"no-shuffle", no_argument, 0, OPT_NOSHUFFLE},     {"threads", required_argument, 0, 't'},
        {"width", required_argument, 0, OPT_WIDTH}, {"layers", required_argument, 0, OPT_LAYERS},
        {"heads", required_argument, 0, OPT_HEADS},
        {"quiet", no_argument, 0, 'q'},             {"progress", no_argument, 0, OPT_PROGRESS},
        {"help", no_argument, 0, 'h'},              {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "l:o:f:b:t:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': labels_path = optarg; break;
        case 'o': out = optarg; break;
        case 'f':
            if ((fusion = head_fusion_parse(optarg)) < 0)
                cli_usage_error("--fusion: unknown '%s'; supported: none, concat, gated, attention", optarg);
            break;
        case OPT_HIDDEN: hidden = (int)cli_parse_long("--hidden", optarg, 1, 65536); break;
        case OPT_WIDTH: hidden = (int)cli_parse_long("--width", optarg, 1, 16384); break;
        case OPT_LAYERS: layers = (int)cli_parse_long("--layers", optarg, 1, HEAD_MAX_LAYERS); break;
        case OPT_HEADS: heads = (int)cli_parse_long("--heads", optarg, 1, 16384); break;
        case OPT_DROPOUT: dropout = (float)cli_parse_double("--dropout", optarg, 0, 0.99); break;
        case OPT_EPOCHS: o.epochs = (int)cli_parse_long("--epochs", optarg, 1, 1000000); break;
        case 'b': o.batch = (int)cli_parse_long("--batch-size", optarg, 1, 1 << 20); break;
        case OPT_LR: o.lr = (float)cli_parse_double("--lr", optarg, 0, 1e3); break;
        case OPT_WD: o.weight_decay = (float)cli_parse_double("--weight-decay", optarg, 0, 1e3); break;
        case OPT_BETAS: {
            char *end;
            double b1 = strtod(optarg, &end), b2 = *end == ',' ? strtod(end + 1, &end) : -1;
            if (*end || !(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1))
                cli_usage_error("--betas: expected B1,B2 in [0, 1), got '%s'", optarg);
            o.beta1 = (float)b1, o.beta2 = (float)b2;
            break;
        }
        case OPT_EPS: o.eps = (float)cli_parse_double("--adam-eps", optarg, 0, 1); break;
        case OPT_WARMUP: o.warmup = (float)cli_parse_double("--warmup", optarg, 0, 1e6); break;
        case OPT_VALSPLIT: val_split = (float)cli_parse_double("--val-split", optarg, 0, 0.9); break;
        case OPT_PATIENCE: o.patience = (int)cli_parse_long("--patience", optarg, 0, 1000000); break;
        case OPT_SEED: o.seed = (uint64_t)cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case OPT_MISSING:
            if (!strcmp(optarg, "skip")) missing_skip = 1;
            else if (!strcmp(optarg, "error")) missing_skip = 0;
            else cli_usage_error("--missing: unknown '%s'; supported: error, skip", optarg);
            break;
        case OPT_LOG: log_path = optarg; break;
        case OPT_STEPLOG: steplog_path = optarg; break;
        case OPT_INIT: init_path = optarg; break;
        case OPT_NOSHUFFLE: o.no_shuffle = 1; break;
        case 't': threads = (int)cli_parse_long("--threads", optarg, 1, 1024); break;
        case 'q': cli_quiet = true; cli_progress_set(0); break;
        case OPT_PROGRESS: cli_progress_set(1); break;
        case 'h': fputs(USAGE, stdout); return 0;
        case 'V': cli_version();
        default: cli_usage_hint();
        }
    }
    if (!labels_path) cli_usage_error("--labels FILE is required");
    if (!out) cli_usage_error("-o HEAD is required");
    int nin = argc - optind;
    if (nin < 1) cli_usage_error("no feature file given");
    if (!hidden) hidden = fusion == HEAD_ATTENTION ? 256 : 512;
    if (fusion == HEAD_ATTENTION && hidden % heads)
        cli_usage_error("--heads %d does not divide the width %d", heads, hidden);
    if (nin > TD_MAX_INPUTS) cli_usage_error("%d feature files (at most %d)", nin, TD_MAX_INPUTS);

    mm_error err = {0};
    traindata td;
    size_t skipped;
    if (traindata_load(&td, (const char *const *)argv + optind, nin, missing_skip, 1, &skipped, &err) < 0)
        cli_fatal("%s", err.msg);
    if (skipped && !cli_quiet) cli_warn("%zu item(s) of %s missing from another input: skipped", skipped, argv[optind]);
    labelset ls;
    if (labels_load(&ls, labels_path, &err) < 0) cli_fatal("%s", err.msg);
    int *y, nclasses;
    char **classes;
    size_t unmatched, unlabelled;
    if (labels_match(&ls, &td, argv[optind], missing_skip, &y, &classes, &nclasses, &unmatched, &unlabelled, &err) < 0)
        cli_fatal("%s", err.msg);
    if ((unmatched || unlabelled) && !cli_quiet)
        cli_warn("skipped %zu label(s) without features and %zu item(s) without a label", unmatched, unlabelled);
    /* the labelled rows, in file order; then the seeded validation split */
    size_t n = 0;
    for (size_t r = 0; r < td.rows; r++)
        if (y[r] >= 0) {
            if (n != r) memcpy(td.x + n * (size_t)td.D, td.x + r * (size_t)td.D, (size_t)td.D * sizeof(float));
            y[n++] = y[r];
        }
    if (n == 0) cli_fatal("%s: empty training set: no item has both features and a label in %s", argv[optind], labels_path);
    if (nclasses < 2)
        cli_fatal("%s: a single class ('%s'): nothing to learn", labels_path, classes[0]);
    size_t nv = (size_t)floor((double)val_split * (double)n);
    float *xv = NULL;
    int *yv = NULL;
    if (nv > 0) {
        /* a seeded permutation; its last nv rows validate */
        nn_rng r;
        nn_rng_seed(&r, o.seed, 3);
        float *tmp = malloc((size_t)td.D * sizeof(float));
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = nn_rng_below(&r, (uint32_t)(i + 1));
            memcpy(tmp, td.x + i * (size_t)td.D, (size_t)td.D * sizeof(float));
            memcpy(td.x + i * (size_t)td.D, td.x + j * (size_t)td.D, (size_t)td.D * sizeof(float));
            memcpy(td.x + j * (size_t)td.D, tmp, (size_t)td.D * sizeof(float));
            int t = y[i];
            y[i] = y[j], y[j] = t;
        }
        free(tmp);
        n -= nv;
        xv = td.x + n * (size_t)td.D;
        yv = y + n;
    }
    head h;
    nn_rng init;
    nn_rng_seed(&init, o.seed, 0);
    if (head_init_arch(&h, fusion, td.ninputs, td.dims, hidden, layers, heads, dropout, nclasses,
                       (const char *const *)classes, &init, &err) < 0)
        cli_fatal("%s", err.msg);
    for (int i = 0; i < td.ninputs; i++) {
        free(h.sources[i]);
        h.sources[i] = strdup(td.sources[i]);
    }
    char recipe[1024];
    snprintf(recipe, sizeof recipe,
             "{\"optimizer\":\"adamw\",\"lr\":%.9g,\"betas\":[%.9g,%.9g],\"eps\":%.9g,\"weight_decay\":%.9g,"
             "\"schedule\":\"warmup+cosine\",\"warmup_epochs\":%.9g,\"epochs\":%d,\"batch_size\":%d,"
             "\"seed\":%llu,\"val_split\":%.9g,\"train_items\":%zu,\"val_items\":%zu}",
             o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.warmup, o.epochs, o.batch, (unsigned long long)o.seed,
             val_split, n, nv);
    h.recipe = strdup(recipe);
    if (init_path) load_init(&h, init_path);
    cli_output *logout = log_path ? cli_output_open(log_path) : NULL;
    cli_output *steplog = steplog_path ? cli_output_open(steplog_path) : NULL;
    if (steplog) o.step_fn = on_step, o.step_ctx = cli_output_fp(steplog);
    log_ctx lc = {logout ? cli_output_fp(logout) : NULL, &o, nv};
    o.pool = threads > 1 ? mm_pool_create(threads) : NULL;
    if (train_run(&h, &o, td.x, y, n, xv, yv, nv, on_epoch, &lc, &err) < 0) cli_fatal("%s", err.msg);
    cli_progress_done("trained %s head: %zu items, %d classes", head_fusion_name(fusion), n, nclasses);
    write_head(&h, out);
    if (logout) cli_output_commit(logout);
    if (steplog) cli_output_commit(steplog);
    mm_pool_free(o.pool);
    head_free(&h);
    for (int k = 0; k < nclasses; k++) free(classes[k]);
    free(classes);
    free(y);
    labels_free(&ls);
    traindata_free(&td);
    return 0;
}
