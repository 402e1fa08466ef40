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
#include "core/hash.h"
#include "core/xalloc.h"
#include "nn/head.h"
#include "nn/traindata.h"
#include "nn/train.h"

static const char USAGE[] =
    "Usage: mm-train --labels LABELS -o HEAD [OPTION]... A.mmf [B.mmf ...]\n"
    "       mm-train --task pair --labels QRELS --candidates RUN -o HEAD [OPTION]... Q.mmf G.mmf\n"
    "       mm-train --task NAME:KIND:LABELS[:WEIGHT]... -o HEAD [OPTION]... A.mmf [B.mmf ...]\n"
    "Train a head on frozen features: the inputs (one MMF file per modality) are\n"
    "joined by id, each L2-normalised, concatenated, and passed through a fusion\n"
    "module and an output layer trained with AdamW on the task's loss:\n"
    "  classification  softmax cross-entropy, one label per id (default)\n"
    "  multilabel      sigmoid binary cross-entropy, any number of labels per id\n"
    "  regression      mean squared error on 'id<TAB>value'\n"
    "  pair            per query of RUN, a softmax cross-entropy over its candidates\n"
    "                  (the relevant ones of QRELS as targets): a reranker\n"
    "Several --task NAME:KIND:LABELS[:WEIGHT] train a multi-task head: one output layer\n"
    "per task on one fusion module, the loss the sum of WEIGHT (default 1) times each\n"
    "task's loss over the items that have a label of it (the others are masked out).\n"
    "The head directory HEAD (config.json + model.safetensors) is what mm-predict reads.\n"
    "See mm-train(1) for the networks' and losses' equations and the head format.\n"
    "\n"
    "  -l, --labels FILE     id<TAB>label lines, or qrels 'id 0 label rel' (rel > 0);\n"
    "                        regression: id<TAB>value; pair: qrels query -> documents\n"
    "      --task T          classification (default), multilabel, regression, pair\n"
    "      --task NAME:KIND:LABELS[:WEIGHT]  repeatable: a task of a multi-task head,\n"
    "                        KIND classification, multilabel or regression, its labels\n"
    "                        LABELS (no ':' in the path) and loss weight (default 1);\n"
    "                        no --labels then\n"
    "      --multilabel      the same as --task multilabel\n"
    "      --candidates RUN  pair: the candidate run (e.g. mm-rank's top-k) whose\n"
    "                        documents are each query's negatives\n"
    "      --depth K         pair: only the first K candidates of each query (default all)\n"
    "      --no-product      pair: inputs [q; d] instead of [q; d; q*d]\n"
    "      --only-candidates pair: do not add the relevant documents RUN missed; a\n"
    "                        query without a relevant candidate is skipped\n"
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
    "      --val FILE        validate on the items FILE labels (same format as --labels;\n"
    "                        their features come from the same inputs; multi-task: the\n"
    "                        items FILE names, with the tasks' labels)\n"
    "      --select [NAME:]M with validation: the measure that picks the epoch kept (of\n"
    "                        task NAME of a multi-task head, default the first):\n"
    "                        classification loss, acc (default), bacc; multilabel loss,\n"
    "                        map (default); regression loss (default), mae; pair loss,\n"
    "                        mrr (default), r1\n"
    "      --patience N      with validation: stop after N epochs without a better\n"
    "                        measure (default 0: run every epoch); the best epoch is kept\n"
    "      --input-norm N    each input before the fusion: l2 (default: unit length),\n"
    "                        zscore (l2, then each dimension standardised with the\n"
    "                        training items' mean and std, stored in the head), none\n"
    "                        (as read); pair heads: l2 only\n"
    "      --shots K         classification: K training items per class, a seeded\n"
    "                        subset (CLIP_benchmark's few-shot protocol; default all)\n"
    "      --seed S          seed of the initial weights, shuffles, split, dropout (default 0)\n"
    "      --missing P       labels without features, features without labels:\n"
    "                        error (default), skip (counted on stderr)\n"
    "      --log FILE        one JSON line per epoch: epoch, task, train_loss,\n"
    "                        val_<measure> for each of the task's measures, best;\n"
    "                        multi-task: also NAME.train_loss, NAME.val_<measure>\n"
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
    "  mm-train --task pair --labels t2i.qrels --candidates top50.trec -o rr captions.mmf images.mmf\n"
    "  mm-train --task cat:classification:cat.tsv --task score:regression:score.tsv:0.5 -o mt img.mmf txt.mmf\n"
    "\n"
    "Exit status: 0 success, 1 invalid input or I/O error (HEAD is left as it was),\n"
    "2 usage error.\n";

enum { OPT_HIDDEN = 256, OPT_DROPOUT, OPT_EPOCHS, OPT_LR, OPT_WD, OPT_BETAS, OPT_EPS, OPT_WARMUP, OPT_VALSPLIT,
       OPT_PATIENCE, OPT_SEED, OPT_MISSING, OPT_LOG, OPT_PROGRESS, OPT_STEPLOG, OPT_INIT, OPT_NOSHUFFLE, OPT_TASK,
       OPT_INPUTNORM, OPT_MULTILABEL, OPT_CANDIDATES, OPT_DEPTH, OPT_NOPRODUCT, OPT_VAL, OPT_SELECT, OPT_SHOTS, OPT_ONLYCAND,
       OPT_WIDTH, OPT_LAYERS, OPT_HEADS };

typedef struct log_ctx {
    FILE *log;
    const train_opts *o;
    size_t nv;
    int task;
    const head *h; /* a multi-task head (NULL otherwise) */
} log_ctx;

static void json_num(FILE *fp, const char *key, double v)
{
    if (isfinite(v)) fprintf(fp, ",\"%s\":%.9g", key, v);
    else fprintf(fp, ",\"%s\":null", key);
}

/* A multi-task head's epoch: the total and each task's loss and measures,
 * the keys NAME.train_loss and NAME.val_MEASURE (mm-report charts every
 * numeric key; those with "loss" together). */
static void on_epoch_multi(const log_ctx *c, const train_epoch *e)
{
    const head *h = c->h;
    char key[80], line[1024];
    if (c->log) {
        fprintf(c->log, "{\"epoch\":%d,\"task\":\"multitask\"", e->epoch);
        json_num(c->log, "train_loss", e->train_loss);
        for (int k = 0; k < h->ntasks; k++) {
            snprintf(key, sizeof key, "%s.train_loss", h->out[k].name);
            json_num(c->log, key, e->task_loss[k]);
            for (int m = 0; c->nv && m < task_measure_count(h->out[k].kind); m++) {
                snprintf(key, sizeof key, "%s.val_%s", h->out[k].name, task_measure_name(h->out[k].kind, m));
                json_num(c->log, key, e->val[k][m]);
            }
        }
        fprintf(c->log, ",\"best\":%s}\n", e->best ? "true" : "false");
    }
    int len = snprintf(line, sizeof line, "epoch %d/%d: train loss %.4f (", e->epoch, c->o->epochs, e->train_loss);
    for (int k = 0; k < h->ntasks && len < (int)sizeof line; k++)
        len += snprintf(line + len, sizeof line - (size_t)len, "%s%s %.4f", k ? ", " : "", h->out[k].name,
                        e->task_loss[k]);
    if (len < (int)sizeof line) len += snprintf(line + len, sizeof line - (size_t)len, ")");
    int mt = c->o->measure_task;
    if (c->nv && len < (int)sizeof line)
        snprintf(line + len, sizeof line - (size_t)len, ", val %s %s %.4f", h->out[mt].name,
                 task_measure_name(h->out[mt].kind, c->o->measure), e->val[mt][c->o->measure]);
    cli_progress("%s", line);
}

static int on_epoch(void *ctx, const train_epoch *e)
{
    log_ctx *c = ctx;
    if (c->h) {
        on_epoch_multi(c, e);
        return 0;
    }
    if (c->log) {
        fprintf(c->log, "{\"epoch\":%d,\"task\":\"%s\"", e->epoch, task_name(c->task));
        json_num(c->log, "train_loss", e->train_loss);
        for (int m = 0; c->nv && m < task_measure_count(c->task); m++) {
            char key[40];
            snprintf(key, sizeof key, "val_%s", task_measure_name(c->task, m));
            json_num(c->log, key, e->val[0][m]);
        }
        fprintf(c->log, ",\"best\":%s}\n", e->best ? "true" : "false");
    }
    if (c->nv)
        cli_progress("epoch %d/%d: train loss %.4f, val %s %.4f", e->epoch, c->o->epochs, e->train_loss,
                     task_measure_name(c->task, c->o->measure), e->val[0][c->o->measure]);
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
    int same = src.multi == h->multi && src.ntasks == h->ntasks && src.task == h->task && src.product == h->product &&
               src.fusion == h->fusion && src.ninputs == h->ninputs && src.nparams == h->nparams &&
               src.nclasses == h->nclasses && src.hidden == h->hidden && src.layers == h->layers &&
               src.heads == h->heads;
    for (int i = 0; same && i < h->ninputs; i++) same = src.dims[i] == h->dims[i];
    for (int k = 0; same && k < h->nclasses; k++) same = !strcmp(src.classes[k], h->classes[k]);
    for (int k = 0; same && k < h->ntasks; k++)
        same = !strcmp(src.out[k].name, h->out[k].name) && src.out[k].kind == h->out[k].kind &&
               src.out[k].n == h->out[k].n;
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

static const char *measure_list(int task)
{
    static char buf[64];
    buf[0] = 0;
    for (int m = 0; m < task_measure_count(task); m++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", m ? ", " : "", task_measure_name(task, m));
    return buf;
}

/* The task's targets of the rows of td from ls (see traindata.h); has[r]:
 * row r has a target. Dies on an error. */
static void match_targets(int task, const labelset *ls, const traindata *td, const char *feature_name, int lenient,
                          int **y, float **t, unsigned char **has, char ***classes, int *nclasses, size_t *unmatched,
                          size_t *unlabelled)
{
    mm_error err = {0};
    int rc;
    if (task == TASK_CLASSIFY) {
        rc = labels_match(ls, td, feature_name, lenient, y, classes, nclasses, unmatched, unlabelled, &err);
        if (rc == 0) {
            *has = xcalloc(td->rows ? td->rows : 1, 1);
            for (size_t r = 0; r < td->rows; r++) (*has)[r] = (*y)[r] >= 0;
        }
    } else if (task == TASK_MULTILABEL) {
        rc = labels_match_multi(ls, td, feature_name, lenient, t, has, classes, nclasses, unmatched, unlabelled, &err);
    } else {
        rc = values_match(ls, td, feature_name, lenient, t, has, unmatched, unlabelled, &err);
        if (rc == 0) {
            *classes = xmalloc(sizeof **classes);
            (*classes)[0] = xstrdup("value");
            *nclasses = 1;
        }
    }
    if (rc < 0) cli_fatal("%s", err.msg);
}

/* --task NAME:KIND:LABELS[:WEIGHT], repeated: the tasks of a multi-task head. */
typedef struct task_spec {
    head_out out; /* name, kind, weight; n once the labels are matched */
    char *labels; /* the LABELS path */
    int *y;
    float *t;
    unsigned char *has;
    char **classes;
} task_spec;

/* Splits NAME:KIND:LABELS[:WEIGHT] (LABELS holds no ':'); usage errors. */
static void parse_task_spec(const char *arg, task_spec *sp)
{
    const char *f[5];
    size_t len[5];
    int nf = 0;
    for (const char *p = arg;; p++) {
        const char *q = strchr(p, ':');
        if (nf < 5) f[nf] = p, len[nf] = q ? (size_t)(q - p) : strlen(p);
        nf++;
        if (!q) break;
        p = q;
    }
    if (nf < 3 || nf > 4 || !len[0] || !len[1] || !len[2])
        cli_usage_error("--task '%s': expected NAME:KIND:LABELS[:WEIGHT] (or one KIND with --labels)", arg);
    memset(sp, 0, sizeof *sp);
    if (len[0] < HEAD_TASK_NAME_MAX) memcpy(sp->out.name, f[0], len[0]);
    if (len[0] >= HEAD_TASK_NAME_MAX || !head_task_name_ok(sp->out.name))
        cli_usage_error("--task '%s': the name is not 1 to %d of A-Z a-z 0-9 _ -", arg, HEAD_TASK_NAME_MAX - 1);
    char *kind = xstrndup(f[1], len[1]);
    sp->out.kind = task_parse(kind);
    if (sp->out.kind != TASK_CLASSIFY && sp->out.kind != TASK_MULTILABEL && sp->out.kind != TASK_REGRESSION)
        cli_usage_error("--task '%s': kind '%s': a named task is classification, multilabel or regression", arg, kind);
    free(kind);
    sp->labels = xstrndup(f[2], len[2]);
    sp->out.weight = 1;
    if (nf == 4) {
        char *end;
        double w = strtod(f[3], &end);
        if (!len[3] || *end || !(w > 0 && w <= 1e6))
            cli_usage_error("--task '%s': weight '%s' is not a number in (0, 1e6]", arg, f[3]);
        sp->out.weight = (float)w;
    }
}

/* mark[r] = 1 for the rows of td that ls labels. */
static void mark_rows(const labelset *ls, const traindata *td, unsigned char *mark)
{
    mm_strmap ids;
    mm_strmap_init(&ids, ls->n);
    bool added;
    for (size_t i = 0; i < ls->n; i++) mm_strmap_add(&ids, ls->ids[i], strlen(ls->ids[i]), &added);
    for (size_t r = 0; r < td->rows; r++) mark[r] = mm_strmap_find(&ids, td->ids[r], strlen(td->ids[r])) >= 0;
    mm_strmap_free(&ids);
}

/* The items of a multi-task head: every row of td with a target of at least
 * one task; a row without a target of some task is masked out of that
 * task's loss and measures. --missing applies to labels whose id has no
 * features (each task's LABELS, the --val FILE) and to rows with no target
 * of any task. With --val FILE, the rows it names (first column) validate,
 * their targets from the tasks' LABELS. Dies on an error. */
/* The feature files joined by id (each input L2-normalised unless
 * --input-norm none); items missing from another input are skipped with a
 * warning under --missing skip, fatal otherwise. */
static void load_features(traindata *td, const char *const *paths, int n, int missing_skip, int input_norm)
{
    size_t skipped;
    mm_error err;
    if (traindata_load(td, paths, n, missing_skip, input_norm != HEAD_NORM_NONE, &skipped, &err) < 0)
        cli_fatal("%s", err.msg);
    if (skipped && !cli_quiet) cli_warn("%zu item(s) of %s missing from another input: skipped", skipped, paths[0]);
}

static void load_multitask(task_spec *sp, int ns, const traindata *td, const char *feat, int missing_skip,
                           const char *val_path, size_t *all, size_t *nall, size_t *vidx, size_t *nval)
{
    mm_error err = {0};
    size_t unmatched = 0, unlabelled = 0, u, un;
    for (int k = 0; k < ns; k++) {
        labelset ls;
        if (labels_load(&ls, sp[k].labels, &err) < 0 ||
            labels_check_ids(&ls, td, feat, &u, missing_skip, &err) < 0)
            cli_fatal("%s", err.msg);
        unmatched += u;
        match_targets(sp[k].out.kind, &ls, td, feat, 1, &sp[k].y, &sp[k].t, &sp[k].has, &sp[k].classes,
                      &sp[k].out.n, &u, &un);
        labels_free(&ls);
        if (sp[k].out.kind == TASK_CLASSIFY && sp[k].out.n < 2)
            cli_fatal("%s: task %s: a single class ('%s'): nothing to learn", sp[k].labels, sp[k].out.name,
                      sp[k].classes[0]);
    }
    unsigned char *hasv = NULL;
    if (val_path) {
        labelset lv;
        if (labels_load(&lv, val_path, &err) < 0 || labels_check_ids(&lv, td, feat, &u, missing_skip, &err) < 0)
            cli_fatal("%s", err.msg);
        unmatched += u;
        hasv = xcalloc(td->rows ? td->rows : 1, 1);
        mark_rows(&lv, td, hasv);
        labels_free(&lv);
    }
    *nall = *nval = 0;
    for (size_t r = 0; r < td->rows; r++) {
        int any = 0;
        for (int k = 0; k < ns && !any; k++) any = sp[k].has[r];
        if (!any) {
            if (!missing_skip)
                cli_fatal("%s: id %s has no label in any task's labels (--missing skip ignores it)", feat,
                          td->ids[r]);
            unlabelled++;
            continue;
        }
        if (hasv && hasv[r]) vidx[(*nval)++] = r;
        else all[(*nall)++] = r;
    }
    free(hasv);
    if ((unmatched || unlabelled) && !cli_quiet)
        cli_warn("skipped %zu label(s) without features and %zu item(s) without a label of any task", unmatched,
                 unlabelled);
    if (*nall == 0) cli_fatal("%s: empty training set: no item has both features and a label of a task", feat);
}

/* Each task needs a training item with its target; the task that selects
 * the epoch kept needs a validation item with one (when there is
 * validation). */
static void check_task_items(const task_spec *sp, int ns, const size_t *tr, size_t n, const size_t *va, size_t nv,
                             int select_task)
{
    for (int k = 0; k < ns; k++) {
        size_t c = 0;
        for (size_t i = 0; i < n; i++) c += sp[k].has[tr[i]];
        if (!c)
            cli_fatal("%s: task %s: none of the %zu training items has a label in it", sp[k].labels, sp[k].out.name,
                      n);
    }
    size_t c = 0;
    for (size_t i = 0; i < nv; i++) c += sp[select_task].has[va[i]];
    if (nv && !c)
        cli_fatal("%s: task %s: none of the %zu validation items has a label in it (the epoch kept is chosen on it: "
                  "--select NAME:MEASURE)",
                  sp[select_task].labels, sp[select_task].out.name, nv);
}

/* --shots K: K training examples per class, CLIP_benchmark's few-shot
 * protocol: the examples in a seeded random order, the first K of each
 * class kept (all of a class with fewer, with a note), in their original
 * order. Returns the new count. */
static size_t take_shots(size_t *ex, size_t n, const int *y, int nclasses, int k, uint64_t seed, char **classes)
{
    size_t *perm = xmalloc((n ? n : 1) * sizeof *perm), *cnt = xcalloc((size_t)nclasses, sizeof *cnt);
    unsigned char *keep = xcalloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    nn_rng r;
    nn_rng_seed(&r, seed, 4);
    for (size_t i = n - 1; n && i > 0; i--) {
        size_t j = nn_rng_below(&r, (uint32_t)(i + 1)), tmp = perm[i];
        perm[i] = perm[j], perm[j] = tmp;
    }
    for (size_t i = 0; i < n; i++) {
        int c = y[ex[perm[i]]];
        if (cnt[c] < (size_t)k) cnt[c]++, keep[perm[i]] = 1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i]) ex[m++] = ex[i];
    for (int c = 0; c < nclasses && !cli_quiet; c++)
        if (cnt[c] < (size_t)k) cli_warn("--shots %d: class '%s' has %zu training item(s): all used", k, classes[c], cnt[c]);
    free(perm), free(cnt), free(keep);
    return m;
}

int main(int argc, char **argv)
{
    cli_init("mm-train");
    const char *labels_path = NULL, *out = NULL, *log_path = NULL, *steplog_path = NULL, *init_path = NULL;
    const char *cand_path = NULL, *val_path = NULL, *measure_name = NULL;
    int fusion = HEAD_CONCAT, hidden = 0, missing_skip = 0, task = TASK_CLASSIFY, product = 1, depth = 0, shots = 0,
        add_missing = 1, threads = 1, layers = 2, heads = 4, task_given = 0, ns = 0;
    task_spec sp[HEAD_MAX_TASKS];
    float dropout = 0.1f, val_split = 0;
    int input_norm = HEAD_NORM_L2;
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
        {"task", required_argument, 0, OPT_TASK},   {"multilabel", no_argument, 0, OPT_MULTILABEL},
        {"candidates", required_argument, 0, OPT_CANDIDATES}, {"depth", required_argument, 0, OPT_DEPTH},
        {"no-product", no_argument, 0, OPT_NOPRODUCT}, {"val", required_argument, 0, OPT_VAL},
        {"select", required_argument, 0, OPT_SELECT}, {"shots", required_argument, 0, OPT_SHOTS},
        {"input-norm", required_argument, 0, OPT_INPUTNORM},
        {"only-candidates", no_argument, 0, OPT_ONLYCAND},
        {"help", no_argument, 0, 'h'},              {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "l:o:f:b:t:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': labels_path = optarg; break;
        case 'o': out = optarg; break;
        case 'f':
            if ((fusion = head_fusion_parse(optarg)) < 0)
                cli_usage_error("option --fusion: unknown '%s'; supported: none, concat, gated, attention", optarg);
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
                cli_usage_error("option --betas: expected B1,B2 in [0, 1), got '%s'", optarg);
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
            else cli_usage_error("option --missing: unknown '%s'; supported: error, skip", optarg);
            break;
        case OPT_LOG: log_path = optarg; break;
        case OPT_STEPLOG: steplog_path = optarg; break;
        case OPT_INIT: init_path = optarg; break;
        case OPT_NOSHUFFLE: o.no_shuffle = 1; break;
        case OPT_TASK:
            if (strchr(optarg, ':')) { /* NAME:KIND:LABELS[:WEIGHT] */
                if (ns == HEAD_MAX_TASKS) cli_usage_error("--task: at most %d named tasks", HEAD_MAX_TASKS);
                parse_task_spec(optarg, &sp[ns]);
                for (int k = 0; k < ns; k++)
                    if (!strcmp(sp[k].out.name, sp[ns].out.name))
                        cli_usage_error("--task '%s': the task name '%s' is already taken", optarg, sp[ns].out.name);
                ns++;
                break;
            }
            if ((task = task_parse(optarg)) < 0)
                cli_usage_error("--task: unknown '%s'; supported: classification, multilabel, regression, pair, "
                                "or NAME:KIND:LABELS[:WEIGHT]",
                                optarg);
            task_given = 1;
            break;
        case OPT_MULTILABEL: task = TASK_MULTILABEL, task_given = 1; break;
        case OPT_CANDIDATES: cand_path = optarg; break;
        case OPT_DEPTH: depth = (int)cli_parse_long("--depth", optarg, 1, 1000000); break;
        case OPT_NOPRODUCT: product = 0; break;
        case OPT_ONLYCAND: add_missing = 0; break;
        case OPT_VAL: val_path = optarg; break;
        case OPT_SELECT: measure_name = optarg; break;
        case OPT_SHOTS: shots = (int)cli_parse_long("--shots", optarg, 1, 1000000); break;
        case OPT_INPUTNORM:
            if (!strcmp(optarg, "l2")) input_norm = HEAD_NORM_L2;
            else if (!strcmp(optarg, "zscore")) input_norm = HEAD_NORM_ZSCORE;
            else if (!strcmp(optarg, "none")) input_norm = HEAD_NORM_NONE;
            else cli_usage_error("option --input-norm: '%s' is not l2, zscore or none", optarg);
            break;
        case 't': threads = (int)cli_parse_long("--threads", optarg, 1, 1024); break;
        case 'q': cli_quiet = true; cli_progress_set(0); break;
        case OPT_PROGRESS: cli_progress_set(1); break;
        case 'h': fputs(USAGE, stdout); return 0;
        case 'V': cli_version();
        default: cli_usage_hint();
        }
    }
    if (ns && task_given)
        cli_usage_error("--task NAME:KIND:LABELS (a multi-task head) and --task KIND / --multilabel exclude each other");
    if (ns && labels_path)
        cli_usage_error("--labels goes with --task KIND; each named task carries its labels (NAME:KIND:LABELS)");
    if (ns && shots) cli_usage_error("--shots is for single-label classification, not a multi-task head");
    if (!labels_path && !ns) cli_usage_error("--labels FILE is required");
    if (!out) cli_usage_error("-o HEAD is required");
    int nin = argc - optind;
    if (nin < 1) cli_usage_error("no feature file given");
    if (!hidden) hidden = fusion == HEAD_ATTENTION ? 256 : 512;
    if (fusion == HEAD_ATTENTION && hidden % heads)
        cli_usage_error("--heads %d does not divide the width %d", heads, hidden);
    if (nin > TD_MAX_INPUTS) cli_usage_error("%d feature files (at most %d)", nin, TD_MAX_INPUTS);

    mm_error err = {0};
    if (task == TASK_PAIR && nin != 2)
        cli_usage_error("--task pair takes two feature files, the queries' and the documents' (%d given)", nin);
    if (task == TASK_PAIR && !cand_path) cli_usage_error("--task pair needs --candidates RUN");
    if (task != TASK_PAIR && cand_path) cli_usage_error("--candidates is for --task pair");
    if (shots && task != TASK_CLASSIFY) cli_usage_error("--shots is for single-label classification");
    if (val_path && val_split > 0) cli_usage_error("--val and --val-split exclude each other");
    if (task == TASK_PAIR && input_norm != HEAD_NORM_L2)
        cli_usage_error("option --input-norm: pair heads normalise by l2 only");
    if (ns) { /* --select [NAME:]MEASURE, on the first task unless named */
        const char *colon = measure_name ? strchr(measure_name, ':') : NULL;
        if (colon) {
            for (o.measure_task = 0; o.measure_task < ns; o.measure_task++)
                if (strlen(sp[o.measure_task].out.name) == (size_t)(colon - measure_name) &&
                    !strncmp(sp[o.measure_task].out.name, measure_name, (size_t)(colon - measure_name)))
                    break;
            if (o.measure_task == ns) cli_usage_error("--select '%s': no task of that name", measure_name);
            measure_name = colon + 1;
        }
        task = sp[o.measure_task].out.kind;
    }
    if (measure_name && (o.measure = task_measure_parse(task, measure_name)) < 0)
        cli_usage_error("--select: '%s' is not a measure of %s (%s)", measure_name, task_name(task),
                        measure_list(task));
    if (!measure_name) o.measure = task_default_measure(task);
    if (ns) task = sp[0].out.kind;

    /* ---- the examples: every item (query for pairs) with features and a target */
    traindata td = {0};
    pairdata pd = {0}, pdv = {0};
    labelset ls = {0}, lsv = {0};
    int *y = NULL, nclasses = 0;
    float *t = NULL;
    unsigned char *has = NULL;
    char **classes = NULL;
    size_t nall = 0, *all = NULL, *vidx = NULL, nvfile = 0;
    if (ns) {
        load_features(&td, (const char *const *)argv + optind, nin, missing_skip, input_norm);
        all = xmalloc((td.rows ? td.rows : 1) * sizeof *all);
        vidx = xmalloc((td.rows ? td.rows : 1) * sizeof *vidx);
        load_multitask(sp, ns, &td, argv[optind], missing_skip, val_path, all, &nall, vidx, &nvfile);
        for (int k = 0; k < ns; k++) nclasses += sp[k].out.n;
        classes = xmalloc((size_t)nclasses * sizeof *classes);
        for (int k = 0, c = 0; k < ns; k++)
            for (int j = 0; j < sp[k].out.n; j++) classes[c++] = sp[k].classes[j];
        labels_path = sp[0].labels;
    } else if (task == TASK_PAIR) {
        if (pairdata_load(&pd, argv[optind], argv[optind + 1], cand_path, labels_path, product, depth, 1, add_missing, &err) < 0)
            cli_fatal("%s", err.msg);
        if (pd.skipped_queries && !cli_quiet)
            cli_warn("%s: %zu quer%s without a relevant %s in %s: skipped", cand_path, pd.skipped_queries,
                     pd.skipped_queries == 1 ? "y" : "ies", add_missing ? "document" : "candidate", labels_path);
        if (val_path && pairdata_load(&pdv, argv[optind], argv[optind + 1], cand_path, val_path, product, depth, 1,
                                      add_missing, &err) < 0)
            cli_fatal("%s", err.msg);
        nall = pd.nq;
        all = xmalloc(nall * sizeof *all);
        for (size_t i = 0; i < nall; i++) all[i] = i;
        static const char *const score[] = {"score"};
        classes = xmalloc(sizeof *classes);
        classes[0] = xstrdup(score[0]);
        nclasses = 1;
        if (val_path) {
            nvfile = pdv.nq;
            vidx = xmalloc(nvfile * sizeof *vidx);
            for (size_t i = 0; i < nvfile; i++) vidx[i] = i;
        }
    } else {
        load_features(&td, (const char *const *)argv + optind, nin, missing_skip, input_norm);
        if (labels_load(&ls, labels_path, &err) < 0) cli_fatal("%s", err.msg);
        if (val_path && labels_load(&lsv, val_path, &err) < 0) cli_fatal("%s", err.msg);
        /* with --val, a row may be labelled by either file: match both
         * leniently, then apply --missing to the union */
        int lenient = missing_skip || val_path;
        size_t unmatched = 0, unlabelled = 0, u2;
        if (val_path && (labels_check_ids(&ls, &td, argv[optind], &unmatched, missing_skip, &err) < 0 ||
                         labels_check_ids(&lsv, &td, argv[optind], &u2, missing_skip, &err) < 0))
            cli_fatal("%s", err.msg);
        labelset *sets[2] = {&ls, &lsv};
        unsigned char *hasv = NULL;
        if (val_path) { /* one labelset of both files: the classes are their union, the rows' sets apart */
            labelset both = {0};
            both.n = ls.n + lsv.n;
            both.ids = xmalloc(both.n * sizeof *both.ids), both.labels = xmalloc(both.n * sizeof *both.labels);
            both.lines = xmalloc(both.n * sizeof *both.lines);
            both.path = labels_path;
            for (int f = 0, k = 0; f < 2; f++)
                for (size_t i = 0; i < sets[f]->n; i++, k++)
                    both.ids[k] = sets[f]->ids[i], both.labels[k] = sets[f]->labels[i],
                    both.lines[k] = sets[f]->lines[i];
            hasv = xcalloc(td.rows ? td.rows : 1, 1);
            mark_rows(&lsv, &td, hasv);
            unsigned char *hast = xcalloc(td.rows ? td.rows : 1, 1);
            mark_rows(&ls, &td, hast);
            for (size_t r = 0; r < td.rows; r++)
                if (hasv[r] && hast[r]) cli_fatal("%s: id %s is in both %s and %s", argv[optind], td.ids[r], labels_path, val_path);
            free(hast);
            match_targets(task, &both, &td, argv[optind], 1, &y, &t, &has, &classes, &nclasses, &u2, &unlabelled);
            free(both.ids), free(both.labels), free(both.lines);
            for (size_t r = 0; r < td.rows; r++)
                if (!has[r] && !missing_skip)
                    cli_fatal("%s: id %s has no label in %s or %s (--missing skip ignores it)", argv[optind],
                              td.ids[r], labels_path, val_path);
        } else
            match_targets(task, &ls, &td, argv[optind], lenient, &y, &t, &has, &classes, &nclasses, &unmatched,
                          &unlabelled);
        if ((unmatched || unlabelled) && !cli_quiet)
            cli_warn("skipped %zu label(s) without features and %zu item(s) without a label", unmatched, unlabelled);
        all = xmalloc((td.rows ? td.rows : 1) * sizeof *all);
        vidx = xmalloc((td.rows ? td.rows : 1) * sizeof *vidx);
        for (size_t r = 0; r < td.rows; r++)
            if (has[r]) {
                if (hasv && hasv[r]) vidx[nvfile++] = r;
                else all[nall++] = r;
            }
        free(hasv);
        if (nall == 0)
            cli_fatal("%s: empty training set: no item has both features and a label in %s", argv[optind],
                      labels_path);
        if (task == TASK_CLASSIFY && nclasses < 2)
            cli_fatal("%s: a single class ('%s'): nothing to learn", labels_path, classes[0]);
        if (task == TASK_CLASSIFY && val_path) { /* every class must be learnt from training items */
            size_t *cnt = xcalloc((size_t)nclasses, sizeof *cnt);
            for (size_t i = 0; i < nall; i++) cnt[y[all[i]]]++;
            for (int k = 0; k < nclasses; k++)
                if (!cnt[k]) cli_fatal("%s: class '%s' has no training item in %s", val_path, classes[k], labels_path);
            free(cnt);
        }
    }
    if (nall == 0) cli_fatal("%s: empty training set", labels_path);
    /* the seeded validation split: a permutation of the examples, the last nv validate */
    size_t nv = (size_t)floor((double)val_split * (double)nall), n = nall;
    if (nv > 0) {
        nn_rng r;
        nn_rng_seed(&r, o.seed, 3);
        for (size_t i = nall - 1; i > 0; i--) {
            size_t j = nn_rng_below(&r, (uint32_t)(i + 1)), tmp = all[i];
            all[i] = all[j], all[j] = tmp;
        }
        n -= nv;
    }
    if (shots) n = take_shots(all, n, y, nclasses, shots, o.seed, classes);
    if (ns) check_task_items(sp, ns, all, n, nv ? all + n : vidx, nv ? nv : nvfile, o.measure_task);
    head_out outs[HEAD_MAX_TASKS];
    for (int k = 0; k < ns; k++) outs[k] = sp[k].out;
    head h;
    nn_rng init;
    nn_rng_seed(&init, o.seed, 0);
    int dims[3], ninputs = nin;
    const int *dimp = td.dims;
    if (task == TASK_PAIR) {
        dims[0] = pd.qdim, dims[1] = pd.gdim, dims[2] = pd.qdim;
        ninputs = product ? 3 : 2;
        dimp = dims;
    }
    head_arch arch = {.task = task, .product = task == TASK_PAIR && product, .fusion = fusion, .ntasks = ns,
                      .tasks = outs, .ninputs = ninputs,
                      .dims = dimp, .hidden = hidden, .layers = layers, .heads = heads, .dropout = dropout};
    if (head_init(&h, &arch, nclasses, (const char *const *)classes, &init, &err) < 0)
        cli_fatal("%s", err.msg);
    for (int i = 0; i < ninputs; i++) {
        free(h.sources[i]);
        const char *src = task == TASK_PAIR ? (i == 0 ? pd.q.sources[0] : i == 1 ? pd.g.sources[0] : "") : td.sources[i];
        h.sources[i] = xstrdup(src);
    }
    char recipe[1200], select[HEAD_TASK_NAME_MAX + 40];
    snprintf(select, sizeof select, "%s%s%s", ns ? sp[o.measure_task].out.name : "", ns ? ":" : "",
             task_measure_name(ns ? sp[o.measure_task].out.kind : task, o.measure));
    snprintf(recipe, sizeof recipe,
             "{\"task\":\"%s\",\"optimizer\":\"adamw\",\"lr\":%.9g,\"betas\":[%.9g,%.9g],\"eps\":%.9g,"
             "\"weight_decay\":%.9g,\"schedule\":\"warmup+cosine\",\"warmup_epochs\":%.9g,\"epochs\":%d,"
             "\"batch_size\":%d,\"seed\":%llu,\"val_split\":%.9g,\"select\":\"%s\",\"shots\":%d,"
             "\"train_items\":%zu,\"val_items\":%zu}",
             ns ? "multitask" : task_name(task), o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.warmup, o.epochs,
             o.batch, (unsigned long long)o.seed, val_split, select, shots, n,
             nv ? nv : nvfile);
    h.recipe = xstrdup(recipe);
    if (task != TASK_PAIR) h.norm = input_norm;
    if (input_norm == HEAD_NORM_ZSCORE) { /* statistics of the training items only; validation uses them too */
        head_zscore_fit(&h, td.x, all, n);
        head_standardize(&h, td.x, td.rows);
    }
    if (init_path) load_init(&h, init_path);
    cli_output *logout = log_path ? cli_output_open(log_path) : NULL;
    cli_output *steplog = steplog_path ? cli_output_open(steplog_path) : NULL;
    if (steplog) o.step_fn = on_step, o.step_ctx = cli_output_fp(steplog);
    train_set tr = {.n = n, .index = all, .x = td.x, .task = {{.y = y, .t = t}}, .pairs = task == TASK_PAIR ? &pd : NULL};
    for (int k = 0; k < ns; k++) tr.task[k] = (train_target){.y = sp[k].y, .t = sp[k].t, .has = sp[k].has};
    train_set va = tr;
    va.n = nv, va.index = all + n;
    if (val_path) {
        va.n = nvfile, va.index = vidx;
        if (task == TASK_PAIR) va.pairs = &pdv;
    }
    log_ctx lc = {logout ? cli_output_fp(logout) : NULL, &o, va.n, task, ns ? &h : NULL};
    o.pool = threads > 1 ? mm_pool_create(threads) : NULL;
    if (train_run(&h, &o, &tr, &va, on_epoch, &lc, &err) < 0) cli_fatal("%s", err.msg);
    if (ns)
        cli_progress_done("trained %s multi-task head: %zu items, %d tasks, %d outputs", head_fusion_name(fusion), n,
                          ns, nclasses);
    else
        cli_progress_done("trained %s %s head: %zu items, %d output%s", head_fusion_name(fusion), task_name(task), n,
                          nclasses, nclasses == 1 ? "" : "s");
    write_head(&h, out);
    if (logout) cli_output_commit(logout);
    if (steplog) cli_output_commit(steplog);
    mm_pool_free(o.pool);
    head_free(&h);
    for (int k = 0; k < nclasses; k++) free(classes[k]);
    free(classes), free(y), free(t), free(has), free(all), free(vidx);
    for (int k = 0; k < ns; k++) free(sp[k].labels), free(sp[k].classes), free(sp[k].y), free(sp[k].t), free(sp[k].has);
    labels_free(&ls);
    if (val_path && task != TASK_PAIR) labels_free(&lsv);
    traindata_free(&td);
    pairdata_free(&pd);
    pairdata_free(&pdv);
    return 0;
}
