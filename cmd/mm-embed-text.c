/* mm-embed-text — texts to CLIP text embeddings (MMF), or to token ids.
 *
 * The pipeline: input lines (id<TAB>text, --plain, --jsonl) -> prompt
 * templates -> tokenizer -> batches of token rows -> clip text tower ->
 * (template ensemble) -> L2 normalisation -> MMF records, in input order.
 */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vec.h"
#include "core/cli.h"
#include "core/xalloc.h"
#include "nn/clip.h"
#include "io/mmf.h"
#include "text/tokenizer.h"

static const char USAGE[] =
    "Usage: mm-embed-text --model DIR [OPTION]... [FILE]\n"
    "Embed texts with the text tower of a CLIP model and write them as an MMF\n"
    "feature stream (L2-normalised unless --no-normalize). FILE ('-' or absent =\n"
    "stdin) holds one text per line: 'id<TAB>text' (the text is everything after\n"
    "the first TAB), or see --plain and --jsonl. A trailing CR is removed.\n"
    "Texts are tokenized exactly as OpenAI's clip.tokenize(truncate=True):\n"
    "longer texts are cut to the model's context (77 tokens).\n"
    "\n"
    "Model:\n"
    "  -m, --model DIR          Hugging Face CLIP directory (config.json,\n"
    "                           model.safetensors, vocab.json, merges.txt);\n"
    "                           default: $MM_MODEL\n"
    "Input:\n"
    "      --plain              one text per line; id = line number (1, 2, ...)\n"
    "      --jsonl              one JSON object per line, {\"id\": ID, \"text\": TEXT}\n"
    "                           (ID a string or an integer); blank lines are skipped\n"
    "  -p, --prompt TEMPLATE    embed TEMPLATE with '{}' replaced by the text, e.g.\n"
    "                           'a photo of a {}.' (repeatable: see below)\n"
    "      --prompts FILE       one template per line (added to those of --prompt)\n"
    "                           With several templates, a text's embedding is the\n"
    "                           mean of its L2-normalised template embeddings,\n"
    "                           normalised again (OpenAI's zero-shot ensembling).\n"
    "Output:\n"
    "  -o, --output FILE        write to FILE atomically (default: stdout)\n"
    "      --no-normalize       keep the projected embeddings as they are\n"
    "      --dtype f32|f16      element type of the MMF output (default: f32)\n"
    "      --precision P        f32 (default) or bf16: the linear layers in bfloat16\n"
    "                           (AVX512_BF16 CPUs; about twice the matrix speed, the\n"
    "                           embeddings drift from f32's: see README \"bf16\")\n"
    "      --tokenize           print 'id<TAB>ids' (space-separated, no padding)\n"
    "                           instead of embeddings; needs only vocab.json and\n"
    "                           merges.txt (+ config.json for the context length)\n"
    "Running:\n"
    "  -b, --batch-size N       texts per forward pass (default: 64)\n"
    "  -t, --threads N          threads of the model (default: number of CPUs, at most 16)\n"
    "  -q, --quiet              no progress line, no notes\n"
    "      --progress           progress line even when stderr is not a terminal\n"
    "  -h, --help               show this help and exit\n"
    "  -V, --version            show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 bad input or model (message 'mm-embed-text:\n"
    "FILE:LINE: reason'; nothing is written with -o), 2 usage error.\n";

enum input_format { FMT_TAB, FMT_PLAIN, FMT_JSONL };

typedef struct params {
    const char *model_dir;  /* --model, or $MM_MODEL */
    const char *input;      /* FILE: NULL = stdin */
    int format;             /* FMT_TAB */
    const char **templates; /* --prompt / --prompts: none = the text itself */
    int ntemplates;
    char **owned;           /* templates read from --prompts files (freed at exit) */
    int nowned;
    const char *output;     /* -o: NULL = stdout */
    bool normalize;         /* true; --no-normalize */
    bool bf16;                   /* --precision bf16 */
    int dtype;              /* MMF_F32 */
    bool tokenize;          /* --tokenize */
    int batch_size;         /* -b: 64 */
    int threads;            /* -t: online CPUs, at most 16 */
} params;

/* ---- input ------------------------------------------------------------------ */

typedef struct item {
    char *id;
    char *text;
    size_t text_len;
    long line;
} item;

typedef struct reader {
    FILE *fp;
    const char *name;
    int format;
    char *line;
    size_t cap;
    long lineno;
} reader;

/* n bytes of s and a NUL: unlike xstrndup it keeps NUL bytes inside (a JSON
 * caption's \u0000 reaches the tokenizer with its length). */
static char *dup_bytes(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Reads the next item: 1 = got one, 0 = end of input. Bad lines are fatal. */
static int read_item(reader *r, item *it)
{
    for (;;) {
        ssize_t len = getline(&r->line, &r->cap, r->fp);
        if (len < 0) {
            if (ferror(r->fp)) cli_fatal("%s: read error", r->name);
            return 0;
        }
        r->lineno++;
        if (len > 0 && r->line[len - 1] == '\n') len--;
        if (len > 0 && r->line[len - 1] == '\r') len--;
        r->line[len] = 0;
        it->line = r->lineno;
        if (r->format == FMT_PLAIN) {
            char num[32];
            snprintf(num, sizeof num, "%ld", r->lineno);
            it->id = dup_bytes(num, strlen(num));
            it->text = dup_bytes(r->line, (size_t)len);
            it->text_len = (size_t)len;
            return 1;
        }
        if (r->format == FMT_TAB) {
            char *tab = memchr(r->line, '\t', (size_t)len);
            if (!tab) cli_fatal("%s:%ld: expected 'id<TAB>text' (no TAB found; --plain for bare texts)", r->name, r->lineno);
            if (tab == r->line) cli_fatal("%s:%ld: empty id", r->name, r->lineno);
            it->id = dup_bytes(r->line, (size_t)(tab - r->line));
            it->text_len = (size_t)(r->line + len - tab - 1);
            it->text = dup_bytes(tab + 1, it->text_len);
            return 1;
        }
        /* JSONL */
        size_t k = 0;
        while (k < (size_t)len && (r->line[k] == ' ' || r->line[k] == '\t')) k++;
        if (k == (size_t)len) continue;
        json_error_t jerr;
        json_t *o = json_loadb(r->line, (size_t)len, JSON_ALLOW_NUL, &jerr);
        if (!o) cli_fatal("%s:%ld:%d: invalid JSON: %s", r->name, r->lineno, jerr.column, jerr.text);
        json_t *id = json_object_get(o, "id"), *text = json_object_get(o, "text");
        if (!json_is_object(o) || !text || !json_is_string(text) || !id)
            cli_fatal("%s:%ld: expected {\"id\": ..., \"text\": \"...\"}", r->name, r->lineno);
        if (json_is_string(id)) {
            if (json_string_length(id) == 0) cli_fatal("%s:%ld: empty id", r->name, r->lineno);
            it->id = dup_bytes(json_string_value(id), json_string_length(id));
        } else if (json_is_integer(id)) {
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(id));
            it->id = dup_bytes(num, strlen(num));
        } else {
            cli_fatal("%s:%ld: \"id\" must be a string or an integer", r->name, r->lineno);
        }
        it->text_len = json_string_length(text);
        it->text = dup_bytes(json_string_value(text), it->text_len);
        json_decref(o);
        return 1;
    }
}

/* TEMPLATE with each "{}" replaced by text. */
static char *apply_template(const char *tpl, const char *text, size_t text_len, size_t *out_len)
{
    size_t n = 0, tl = strlen(tpl);
    for (const char *p = tpl; (p = strstr(p, "{}")); p += 2) n++;
    size_t len = tl - 2 * n + n * text_len;
    char *s = xmalloc(len + 1), *o = s;
    for (const char *p = tpl; *p;) {
        if (p[0] == '{' && p[1] == '}') {
            memcpy(o, text, text_len);
            o += text_len;
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    *out_len = len;
    return s;
}

static void add_template(params *P, const char *t)
{
    if (!strstr(t, "{}")) cli_usage_error("prompt template '%s' has no '{}'", t);
    const char **a = xrealloc(P->templates, (size_t)(P->ntemplates + 1) * sizeof *a);
    P->templates = a;
    P->templates[P->ntemplates++] = t;
}

static void read_templates(params *P, const char *path)
{
    FILE *fp = cli_open_input(path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    while ((len = getline(&line, &cap, fp)) != -1) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
        if (len > 0 && line[len - 1] == '\r') line[--len] = 0;
        if (len == 0) continue;
        if (!strstr(line, "{}")) cli_fatal("%s:%ld: template has no '{}'", cli_input_name(path), lineno);
        char **o = xrealloc(P->owned, (size_t)(P->nowned + 1) * sizeof *o);
        P->owned = o;
        P->owned[P->nowned] = dup_bytes(line, (size_t)len);
        add_template(P, P->owned[P->nowned++]);
    }
    free(line);
    if (fp != stdin) fclose(fp);
    if (lineno == 0) cli_fatal("%s: no templates", cli_input_name(path));
}

/* ---- main ------------------------------------------------------------------ */

enum { OPT_PLAIN = 256, OPT_JSONL, OPT_PROMPTS, OPT_NO_NORMALIZE, OPT_DTYPE, OPT_TOKENIZE, OPT_PROGRESS, OPT_PRECISION };

static void parse_args(params *P, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},
        {"plain", no_argument, 0, OPT_PLAIN},
        {"jsonl", no_argument, 0, OPT_JSONL},
        {"prompt", required_argument, 0, 'p'},
        {"prompts", required_argument, 0, OPT_PROMPTS},
        {"output", required_argument, 0, 'o'},
        {"no-normalize", no_argument, 0, OPT_NO_NORMALIZE},
        {"dtype", required_argument, 0, OPT_DTYPE},
        {"precision", required_argument, 0, OPT_PRECISION},
        {"tokenize", no_argument, 0, OPT_TOKENIZE},
        {"batch-size", required_argument, 0, 'b'},
        {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c, nformats = 0;
    while ((c = getopt_long(argc, argv, "m:p:o:b:t:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': P->model_dir = optarg; break;
        case OPT_PLAIN: P->format = FMT_PLAIN; nformats++; break;
        case OPT_JSONL: P->format = FMT_JSONL; nformats++; break;
        case 'p': add_template(P, optarg); break;
        case OPT_PROMPTS: read_templates(P, optarg); break;
        case 'o': P->output = optarg; break;
        case OPT_NO_NORMALIZE: P->normalize = false; break;
        case OPT_PRECISION:
            if (strcmp(optarg, "bf16") == 0) P->bf16 = true;
            else if (strcmp(optarg, "f32") == 0) P->bf16 = false;
            else cli_usage_error("option --precision: '%s' is not f32 or bf16", optarg);
            break;
        case OPT_DTYPE:
            P->dtype = mmf_dtype_parse(optarg);
            if (!P->dtype) cli_usage_error("option --dtype: '%s' is not f32 or f16", optarg);
            break;
        case OPT_TOKENIZE: P->tokenize = true; break;
        case 'b': P->batch_size = (int)cli_parse_long("--batch-size", optarg, 1, 4096); break;
        case 't': P->threads = (int)cli_parse_long("--threads", optarg, 1, 256); break;
        case 'q': cli_quiet = true; cli_progress_set(0); break;
        case OPT_PROGRESS: cli_progress_set(1); break;
        case 'h': fputs(USAGE, stdout); exit(MM_EXIT_OK);
        case 'V': cli_version();
        default: cli_usage_hint();
        }
    }
    if (nformats > 1) cli_usage_error("--plain and --jsonl exclude each other");
    if (optind < argc) P->input = argv[optind++];
    if (optind < argc) cli_usage_error("unexpected argument '%s' (one input FILE at most)", argv[optind]);
    if (!P->model_dir) P->model_dir = getenv("MM_MODEL");
    if (!P->model_dir || !*P->model_dir) cli_usage_error("no model: use --model DIR (or set MM_MODEL)");
}

/* The embedding state of one run: a batch of token rows and its items. */
typedef struct embedder {
    const params *P;
    clip_tokenizer *tok;
    mm_pool *pool;     /* the -t threads (NULL with --tokenize) */
    clip_model *model; /* NULL with --tokenize */
    int ctx, dim;
    item *items;       /* pending items */
    int nitems;
    int32_t *ids;      /* [items * templates, ctx] */
    int *lengths;
    float *embeds;     /* [items * templates, dim] */
    mmf_writer *w;
    FILE *out;
    const char *in_name;
    unsigned long done, truncated;
} embedder;

static void tokenize_item(embedder *e, const item *it, int row)
{
    const params *P = e->P;
    int nt = P->ntemplates ? P->ntemplates : 1;
    for (int k = 0; k < nt; k++) {
        size_t len = it->text_len;
        char *text = P->ntemplates ? apply_template(P->templates[k], it->text, it->text_len, &len) : it->text;
        mm_error err = {0};
        int rc = clip_tokenize(e->tok, text, len, e->ids + (size_t)(row * nt + k) * e->ctx, e->ctx,
                               &e->lengths[row * nt + k], &err);
        if (text != it->text) free(text);
        if (rc < 0) cli_fatal("%s:%ld: %s", e->in_name, it->line, err.msg);
        if (rc == 1) e->truncated++;
    }
}

/* Embeds and writes the pending items, in order. */
static void flush(embedder *e)
{
    const params *P = e->P;
    int nt = P->ntemplates ? P->ntemplates : 1;
    int rows = e->nitems * nt;
    for (int i = 0; i < e->nitems; i++) tokenize_item(e, &e->items[i], i);
    if (P->tokenize) {
        for (int r = 0; r < rows; r++) {
            fputs(e->items[r / nt].id, e->out);
            fputc('\t', e->out);
            for (int j = 0; j < e->lengths[r]; j++)
                fprintf(e->out, j ? " %d" : "%d", (int)e->ids[(size_t)r * e->ctx + j]);
            fputc('\n', e->out);
        }
    } else {
        mm_error err = {0};
        for (int r0 = 0; r0 < rows; r0 += P->batch_size) {
            int n = rows - r0 < P->batch_size ? rows - r0 : P->batch_size;
            if (clip_encode_texts(e->model, e->ids + (size_t)r0 * e->ctx, e->lengths + r0, n,
                                  e->embeds + (size_t)r0 * e->dim, &err) < 0)
                cli_fatal("%s:%ld: %s", e->in_name, e->items[r0 / nt].line, err.msg);
        }
        for (int i = 0; i < e->nitems; i++) {
            float *v = e->embeds + (size_t)i * nt * e->dim;
            if (nt > 1) {
                /* ensemble: mean of the normalised template embeddings */
                vec_l2_normalize_rows(v, (size_t)(nt), (size_t)(e->dim));
                for (int k = 1; k < nt; k++)
                    for (int j = 0; j < e->dim; j++) v[j] += v[(size_t)k * e->dim + j];
                for (int j = 0; j < e->dim; j++) v[j] /= (float)nt;
            }
            if (P->normalize) vec_l2_normalize_rows(v, (size_t)(1), (size_t)(e->dim));
            if (mmf_write(e->w, e->items[i].id, strlen(e->items[i].id), v, &err) < 0)
                cli_fatal("%s:%ld: %s", e->in_name, e->items[i].line, err.msg);
        }
    }
    for (int i = 0; i < e->nitems; i++) {
        free(e->items[i].id);
        free(e->items[i].text);
    }
    e->done += (unsigned long)e->nitems;
    e->nitems = 0;
    cli_progress("%lu texts", e->done);
}

int main(int argc, char **argv)
{
    cli_init("mm-embed-text");
    params P = {
        .format = FMT_TAB,
        .normalize = true,
        .dtype = MMF_F32,
        .batch_size = 64,
        .threads = cli_default_threads(16),
    };
    parse_args(&P, argc, argv);

    embedder e = {.P = &P, .in_name = cli_input_name(P.input)};
    mm_error err = {0};
    char path[PATH_MAX];
    clip_config cfg;
    snprintf(path, sizeof path, "%s/config.json", P.model_dir);
    if (clip_config_load(path, &cfg, &err) < 0) cli_fatal("%s", err.msg);
    e.ctx = cfg.text.max_positions;
    e.tok = clip_tokenizer_load(P.model_dir, &err);
    if (!e.tok) cli_fatal("%s", err.msg);
    if (!P.tokenize) {
        e.pool = mm_pool_create(P.threads);
        e.model = clip_load_parts(P.model_dir, CLIP_TEXT, &err);
        if (!e.model) cli_fatal("%s", err.msg);
        if (P.bf16 && clip_use_bf16(e.model, &err)) cli_fatal("--precision bf16: %s", err.msg);
        clip_set_pool(e.model, e.pool);
        e.dim = clip_get_config(e.model)->projection_dim;
    }

    int nt = P.ntemplates ? P.ntemplates : 1;
    /* Items per flush: enough rows for one batch of the model. */
    int per_flush = (P.batch_size + nt - 1) / nt;
    e.items = xcalloc((size_t)per_flush, sizeof *e.items);
    e.ids = xcalloc((size_t)per_flush * nt * e.ctx, sizeof *e.ids);
    e.lengths = xcalloc((size_t)per_flush * nt, sizeof *e.lengths);
    e.embeds = xmalloc((size_t)per_flush * nt * (e.dim ? e.dim : 1) * sizeof(float));

    reader r = {.fp = cli_open_input(P.input), .name = e.in_name, .format = P.format};
    cli_output *out = cli_output_open(P.output);
    e.out = cli_output_fp(out);
    if (!P.tokenize) {
        mmf_header h;
        mmf_header_init(&h, (uint32_t)e.dim, P.dtype, P.normalize ? MMF_FLAG_NORMALIZED : 0);
        mmf_header_set(&h, "model", clip_model_id(e.model));
        if (P.bf16) mmf_header_set(&h, "precision", "bf16");
        mmf_header_set(&h, "modality", "text");
        mmf_header_set(&h, "producer", "mm-embed-text " MM_VERSION);
        if (P.ntemplates == 1) mmf_header_set(&h, "prompt", P.templates[0]);
        if (P.ntemplates > 1) {
            char n[32];
            snprintf(n, sizeof n, "%d", P.ntemplates);
            mmf_header_set(&h, "prompts", n);
        }
        e.w = mmf_writer_open(e.out, cli_output_name(out), &h, &err);
        mmf_header_free(&h);
        if (!e.w) cli_fatal("%s", err.msg);
    }

    while (read_item(&r, &e.items[e.nitems])) {
        if (++e.nitems == per_flush) flush(&e);
    }
    if (e.nitems) flush(&e);
    if (e.w && mmf_writer_close(e.w, &err) < 0) cli_fatal("%s", err.msg);
    cli_output_commit(out);
    cli_progress_done("%lu texts", e.done);
    if (e.truncated && !cli_quiet)
        cli_warn("%lu text%s longer than %d tokens truncated (as clip.tokenize(truncate=True))",
                 e.truncated, e.truncated == 1 ? "" : "s", e.ctx);

    if (r.fp != stdin) fclose(r.fp);
    free(r.line);
    free(e.items);
    free(e.ids);
    free(e.lengths);
    free(e.embeds);
    free(P.templates);
    for (int i = 0; i < P.nowned; i++) free(P.owned[i]);
    free(P.owned);
    clip_free(e.model);
    mm_pool_free(e.pool);
    clip_tokenizer_free(e.tok);
    return MM_EXIT_OK;
}
