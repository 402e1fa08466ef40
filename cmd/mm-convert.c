/* mm-convert — convert feature files between MMF, .npy (+ ids file) and TSV. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "core/vec.h"
#include "core/cli.h"
#include "core/xalloc.h"
#include "io/featio.h"
#include "kernels/half.h"
#include "io/mmf.h"
#include "io/npy.h"

static const char USAGE[] =
    "Usage: mm-convert [OPTION]... [INPUT] [-o OUTPUT]\n"
    "Convert feature vectors between MMF, NumPy .npy (+ an ids file) and TSV\n"
    "(id<TAB>v1 v2 ...). Formats come from the file extensions (.mmf .npy .tsv),\n"
    "else from --from/--to; an input's format is also recognised from its first\n"
    "bytes. With no INPUT, or when INPUT is -, read standard input; without -o,\n"
    "write standard output (then --to is needed unless the input is TSV or .npy,\n"
    "which convert to MMF by default).\n"
    "\n"
    "  -o, --output FILE    write FILE atomically (default: standard output)\n"
    "      --from FMT       input format: mmf, npy, tsv (default: detect)\n"
    "      --to FMT         output format: mmf, npy, tsv (default: from -o's extension)\n"
    "      --ids FILE       ids of a .npy input, one per line (default: row numbers 0,1,...)\n"
    "      --ids-out FILE   write the ids of a .npy output to FILE, one per line\n"
    "      --dtype TYPE     element type of MMF or .npy output: f32, f16\n"
    "                       (default: the input's for MMF input, else f32)\n"
    "                       (default: the input's for MMF input, else f32)\n"
    "      --output-norm N  per output vector: none (default) or l2 (L2-normalise,\n"
    "                       sets the normalized flag), as mm-fuse --output-norm\n"
    "      --normalize      the same as --output-norm l2\n"
    "      --meta KEY=VAL   add or replace a metadata item of MMF output (repeatable)\n"
    "  -q, --quiet          no warnings\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n"
    "\n"
    "Examples:\n"
    "  mm-convert --ids ids.txt x.npy -o x.mmf\n"
    "  mm-convert x.mmf -o x.npy --ids-out ids.txt\n"
    "  mm-convert x.mmf --to tsv | head\n"
    "\n"
    "Exit status: 0 success, 1 invalid input or I/O error (nothing is written to -o),\n"
    "2 usage error.\n";

typedef struct params {
    const char *input;    /* NULL = stdin */
    const char *output;   /* -o, NULL = stdout */
    int from, to;         /* FEAT_*, FEAT_UNKNOWN = detect */
    const char *ids;      /* --ids for .npy input */
    const char *ids_out;  /* --ids-out for .npy output */
    int dtype;            /* MMF_F32/MMF_F16, 0 = keep */
    bool normalize;       /* --normalize, --output-norm l2 */
    char **meta;          /* --meta KEY=VALUE items */
    size_t meta_count;
} params;

/* Output sinks. MMF output mirrors the input's segments (each with its own
 * header, so flags such as "normalized" stay true per segment, and empty
 * segments survive); TSV streams; .npy needs the row count first, so its rows
 * are collected and written at the end. */
typedef struct sink {
    const params *p;
    cli_output *out;
    mmf_writer *mmf;      /* open MMF output segment, or NULL */
    int npy_dtype;        /* MMF_F32 or MMF_F16 for .npy output */
    uint32_t npy_dim;     /* row width of the .npy output */
    /* .npy collection */
    float *rows;
    size_t nrows, cap;
    char **ids;
} sink;

/* Starts an output segment (MMF output) for input header `in` (NULL: a
 * non-MMF input of dimension dim). */
static void sink_begin_segment(sink *s, const mmf_header *in, uint32_t dim)
{
    mm_error err;
    mmf_header h;
    if (in) {
        mmf_header_copy(&h, in);
    } else {
        mmf_header_init(&h, dim, MMF_F32, 0);
        mmf_header_set(&h, "producer", "mm-convert " MM_VERSION);
        mmf_header_set(&h, "source", feat_format_name(s->p->from));
    }
    if (s->p->dtype) h.dtype = s->p->dtype;
    if (s->p->normalize) h.flags |= MMF_FLAG_NORMALIZED;
    for (size_t i = 0; i < s->p->meta_count; i++) {
        const char *kv = s->p->meta[i], *eq = strchr(kv, '=');
        char *key = xstrndup(kv, (size_t)(eq - kv));
        mmf_header_set(&h, key, eq + 1);
        free(key);
    }
    if (!s->npy_dtype) { /* the first segment decides the .npy array's type and width */
        s->npy_dtype = h.dtype;
        s->npy_dim = h.dim;
    }
    if (s->p->to == FEAT_MMF) {
        if (s->mmf && mmf_writer_close(s->mmf, &err)) cli_fatal("%s", err.msg);
        s->mmf = mmf_writer_open(cli_output_fp(s->out), cli_output_name(s->out), &h, &err);
        if (!s->mmf) cli_fatal("%s", err.msg);
    }
    mmf_header_free(&h);
}

static void sink_put(sink *s, const char *id, float *vec, uint32_t dim)
{
    mm_error err;
    if (s->p->normalize) vec_l2_normalize(vec, dim);
    if (s->p->to == FEAT_MMF) {
        if (mmf_write(s->mmf, id, strlen(id), vec, &err)) cli_fatal("%s", err.msg);
    } else if (s->p->to == FEAT_TSV) {
        if (tsv_feature_write(cli_output_fp(s->out), cli_output_name(s->out), id, vec, dim, &err))
            cli_fatal("%s", err.msg);
    } else { /* npy */
        if (dim != s->npy_dim)
            cli_fatal("%s: vector '%s' has dimension %u, expected %u: a .npy array needs one dimension",
                      cli_input_name(s->p->input), id, dim, s->npy_dim);
        if (s->nrows == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 1024;
            s->rows = xrealloc(s->rows, s->cap * s->npy_dim * sizeof(float));
            s->ids = xrealloc(s->ids, s->cap * sizeof *s->ids);
        }
        memcpy(s->rows + s->nrows * s->npy_dim, vec, s->npy_dim * sizeof(float));
        s->ids[s->nrows] = xstrdup(id);
        s->nrows++;
    }
}

static void write_ids_file(const char *path, char **ids, size_t n)
{
    cli_output *o = cli_output_open(path);
    FILE *fp = cli_output_fp(o);
    for (size_t i = 0; i < n; i++)
        if (fprintf(fp, "%s\n", ids[i]) < 0) cli_fatal("%s: write error: %s", path, strerror(errno));
    cli_output_commit(o);
}

static void sink_finish(sink *s)
{
    mm_error err;
    if (s->p->to == FEAT_MMF) {
        if (mmf_writer_close(s->mmf, &err)) cli_fatal("%s", err.msg);
    } else if (s->p->to == FEAT_NPY) {
        size_t shape[2] = {s->nrows, s->npy_dim};
        FILE *fp = cli_output_fp(s->out);
        int rc;
        if (s->npy_dtype == MMF_F16) {
            uint16_t *h = xmalloc((s->nrows ? s->nrows * s->npy_dim : 1) * sizeof *h);
            mm_f32_to_f16_n(s->rows, h, s->nrows * s->npy_dim);
            rc = npy_write_fp(fp, cli_output_name(s->out), NPY_F16, 2, shape, h, &err);
            free(h);
        } else {
            rc = npy_write_fp(fp, cli_output_name(s->out), NPY_F32, 2, shape, s->rows, &err);
        }
        if (rc) cli_fatal("%s", err.msg);
        if (s->p->ids_out) write_ids_file(s->p->ids_out, s->ids, s->nrows);
        else if (!cli_quiet)
            cli_warn("the ids are not written to a .npy file; use --ids-out FILE to keep them");
    }
    cli_output_commit(s->out);
    for (size_t i = 0; i < s->nrows; i++) free(s->ids[i]);
    free(s->ids);
    free(s->rows);
}

/* MMF input: an output segment per input segment. A segment is begun at its
 * first record, or at its end marker when it has none. */
typedef struct mmf_source {
    sink *s;
    mmf_reader *r;
    size_t begun; /* segments begun so far */
} mmf_source;

static void on_input_segment_end(const mmf_segment_info *info, void *ctx)
{
    mmf_source *src = ctx;
    if (src->begun < mmf_segment_count(src->r)) { /* it had no records */
        sink_begin_segment(src->s, &info->header, 0);
        src->begun++;
    }
}

static void convert(params *p)
{
    mm_error err;
    const char *in_name = cli_input_name(p->input);
    FILE *in = cli_open_input(p->input);
    if (p->from == FEAT_UNKNOWN) p->from = feat_format_from_path(p->input);
    if (p->from == FEAT_UNKNOWN) {
        int c = getc(in);
        if (c == EOF) cli_fatal("%s: empty input", in_name);
        ungetc(c, in);
        p->from = c == 0x89 ? FEAT_MMF : c == 0x93 ? FEAT_NPY : FEAT_TSV;
    }
    if (p->to == FEAT_UNKNOWN) {
        if (p->from == FEAT_MMF)
            cli_usage_error("cannot tell the output format%s%s; use --to mmf|npy|tsv",
                            p->output ? " from " : "", p->output ? p->output : "");
        p->to = FEAT_MMF;
    }
    if (p->ids && p->from != FEAT_NPY) cli_usage_error("--ids applies to .npy input only");
    if (p->ids_out && p->to != FEAT_NPY) cli_usage_error("--ids-out applies to .npy output only");

    sink s = {.p = p};
    s.out = cli_output_open(p->output);
    if (p->from == FEAT_MMF) {
        mmf_reader *r = mmf_open_fp(in, in_name, &err);
        if (!r) cli_fatal("%s", err.msg);
        /* Segments of different dimensions can be converted to MMF or TSV,
         * not to one .npy array (the reader names the offending segment). */
        mmf_require_same_dim(r, p->to == FEAT_NPY);
        mmf_source src = {&s, r, 0};
        mmf_on_segment_end(r, on_input_segment_end, &src);
        mmf_record rec;
        int rc;
        float *vec = xmalloc(MMF_MAX_DIM * sizeof *vec);
        while ((rc = mmf_next(r, &rec, &err)) == 1) {
            if (rec.segment >= src.begun) {
                sink_begin_segment(&s, mmf_header_of(r), 0);
                src.begun++;
            }
            uint32_t dim = mmf_header_of(r)->dim;
            memcpy(vec, rec.vec, dim * sizeof *vec);
            sink_put(&s, rec.id, vec, dim);
        }
        if (rc < 0) cli_fatal("%s", err.msg);
        free(vec);
        mmf_close(r);
    } else if (p->from == FEAT_TSV) {
        tsv_feature_reader *r = tsv_feature_open(in, in_name, &err);
        if (!r) cli_fatal("%s", err.msg);
        const char *id;
        const float *v;
        size_t dim;
        int rc;
        float *vec = NULL;
        while ((rc = tsv_feature_next(r, &id, &v, &dim, &err)) == 1) {
            if (!vec) {
                sink_begin_segment(&s, NULL, (uint32_t)dim);
                vec = xmalloc(dim * sizeof *vec);
            }
            memcpy(vec, v, dim * sizeof *vec);
            sink_put(&s, id, vec, (uint32_t)dim);
        }
        if (rc < 0) cli_fatal("%s", err.msg);
        if (!vec) cli_fatal("%s: no vectors in TSV input (the dimension is unknown)", in_name);
        free(vec);
        tsv_feature_close(r);
    } else {
        mmf_matrix m;
        if (feat_load(p->input, FEAT_NPY, p->ids, &m, &err)) cli_fatal("%s", err.msg);
        sink_begin_segment(&s, NULL, m.dim);
        for (size_t i = 0; i < m.rows; i++) sink_put(&s, m.ids[i], m.data + i * m.dim, m.dim);
        mmf_matrix_free(&m);
    }
    sink_finish(&s);
    if (in != stdin) fclose(in);
}

static int parse_format(const char *opt, const char *arg)
{
    int f = feat_format_parse(arg);
    if (!f) cli_usage_error("option %s: unknown format '%s' (supported: mmf, npy, tsv)", opt, arg);
    return f;
}

int main(int argc, char **argv)
{
    cli_init("mm-convert");
    params p = {0};
    enum { OPT_FROM = 256, OPT_TO, OPT_IDS, OPT_IDS_OUT, OPT_DTYPE, OPT_NORMALIZE, OPT_OUTPUT_NORM, OPT_META };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"from", required_argument, 0, OPT_FROM},
        {"to", required_argument, 0, OPT_TO},   {"ids", required_argument, 0, OPT_IDS},
        {"ids-out", required_argument, 0, OPT_IDS_OUT}, {"dtype", required_argument, 0, OPT_DTYPE},
        {"normalize", no_argument, 0, OPT_NORMALIZE}, {"output-norm", required_argument, 0, OPT_OUTPUT_NORM},
        {"meta", required_argument, 0, OPT_META},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "o:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': p.output = optarg; break;
        case OPT_FROM: p.from = parse_format("--from", optarg); break;
        case OPT_TO: p.to = parse_format("--to", optarg); break;
        case OPT_IDS: p.ids = optarg; break;
        case OPT_IDS_OUT: p.ids_out = optarg; break;
        case OPT_DTYPE:
            p.dtype = mmf_dtype_parse(optarg);
            if (!p.dtype) cli_usage_error("option --dtype: unknown type '%s' (supported: f32, f16)", optarg);
            break;
        case OPT_NORMALIZE: p.normalize = true; break;
        case OPT_OUTPUT_NORM: /* mm-fuse's spelling; zscore needs every vector at once */
            if (strcmp(optarg, "l2") == 0) p.normalize = true;
            else if (strcmp(optarg, "none") == 0) p.normalize = false;
            else cli_usage_error("option --output-norm: unknown normalisation '%s' (supported: none, l2)", optarg);
            break;
        case OPT_META:
            if (!strchr(optarg, '=') || optarg[0] == '=')
                cli_usage_error("option --meta: expected KEY=VALUE, got '%s'", optarg);
            p.meta = xrealloc(p.meta, (p.meta_count + 1) * sizeof *p.meta);
            p.meta[p.meta_count++] = optarg;
            break;
        case 'q': cli_quiet = true; break;
        case 'h': fputs(USAGE, stdout); return MM_EXIT_OK;
        case 'V': cli_version();
        default: cli_usage_hint();
        }
    }
    if (argc - optind > 1) cli_usage_error("expected one INPUT, got %d", argc - optind);
    if (optind < argc) p.input = argv[optind];
    if (p.to == FEAT_UNKNOWN && p.output && strcmp(p.output, "-")) {
        p.to = feat_format_from_path(p.output);
        if (p.to == FEAT_UNKNOWN)
            cli_usage_error("cannot tell the output format from '%s'; use --to mmf|npy|tsv", p.output);
    }
    convert(&p);
    free(p.meta);
    return MM_EXIT_OK;
}
