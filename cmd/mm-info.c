/* mm-info — summarise and verify MMF feature files. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/xalloc.h"
#include "io/mmf.h"
#include "kernels/cpu.h"

static const char USAGE[] =
    "Usage: mm-info [OPTION]... [FILE]...\n"
    "Summarise MMF feature files: segments, dimension, element type, flags,\n"
    "metadata and record count. Reads every record and verifies every checksum.\n"
    "With no FILE, or when FILE is -, read standard input.\n"
    "\n"
    "  -i, --ids        list the ids, one per line, instead of the summary\n"
    "  -j, --json       one JSON object per file (for scripts)\n"
    "  -q, --quiet      print nothing; the exit status tells whether all files are valid\n"
    "      --cpu        print the CPU, its features and the kernel level in use\n"
    "                   (MM_ISA=generic|avx2|avx512|openblas forces a level), then exit\n"
    "  -h, --help       show this help and exit\n"
    "  -V, --version    show the version and exit\n"
    "\n"
    "Exit status: 0 all files valid, 1 a file is invalid (truncated, corrupt,\n"
    "malformed) or unreadable, 2 usage error.\n";

typedef struct params {
    bool ids;   /* --ids: list ids */
    bool json;  /* --json */
    bool quiet; /* --quiet */
} params;

typedef struct segment_list {
    mmf_segment_info *items;
    size_t count;
} segment_list;

static void remember_segment(const mmf_segment_info *info, void *ctx)
{
    segment_list *l = ctx;
    l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
    l->items[l->count] = *info;
    mmf_header_copy(&l->items[l->count].header, &info->header);
    l->count++;
}

static void print_text(const char *name, const segment_list *l, uint64_t total)
{
    printf("%s: %zu segment%s, %" PRIu64 " record%s\n", name, l->count, l->count == 1 ? "" : "s",
           total, total == 1 ? "" : "s");
    for (size_t i = 0; i < l->count; i++) {
        const mmf_segment_info *s = &l->items[i];
        printf("  segment %zu: %" PRIu64 " record%s, dim %" PRIu32 ", %s%s, crc32c %08" PRIx32 "\n",
               i + 1, s->count, s->count == 1 ? "" : "s", s->header.dim, mmf_dtype_name(s->header.dtype),
               (s->header.flags & MMF_FLAG_NORMALIZED) ? ", normalized" : "", s->checksum);
        for (size_t k = 0; k < s->header.meta_count; k++)
            printf("    %s=%s\n", s->header.meta[k].key, s->header.meta[k].value);
    }
}

static void print_json(const char *name, const segment_list *l, uint64_t total)
{
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(name));
    json_object_set_new(o, "valid", json_true());
    json_object_set_new(o, "records", json_integer((json_int_t)total));
    json_t *segs = json_array();
    for (size_t i = 0; i < l->count; i++) {
        const mmf_segment_info *s = &l->items[i];
        json_t *so = json_object();
        char crc[16];
        snprintf(crc, sizeof crc, "%08" PRIx32, s->checksum);
        json_object_set_new(so, "records", json_integer((json_int_t)s->count));
        json_object_set_new(so, "dim", json_integer(s->header.dim));
        json_object_set_new(so, "dtype", json_string(mmf_dtype_name(s->header.dtype)));
        json_object_set_new(so, "normalized", json_boolean(s->header.flags & MMF_FLAG_NORMALIZED));
        json_object_set_new(so, "crc32c", json_string(crc));
        json_t *meta = json_object();
        for (size_t k = 0; k < s->header.meta_count; k++)
            json_object_set_new(meta, s->header.meta[k].key, json_string(s->header.meta[k].value));
        json_object_set_new(so, "meta", meta);
        json_array_append_new(segs, so);
    }
    json_object_set_new(o, "segments", segs);
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) cli_fatal("out of memory");
    puts(text);
    free(text);
    json_decref(o);
}

/* Returns 0 if the file is valid. */
static int info_one(const char *path, const params *p)
{
    mm_error err;
    mmf_reader *r = mmf_open(path, &err);
    if (!r) {
        if (!p->quiet) cli_error("%s", err.msg);
        return 1;
    }
    mmf_require_same_dim(r, false); /* mm-info describes mixed streams too */
    segment_list segs = {0};
    mmf_on_segment_end(r, remember_segment, &segs);
    mmf_record rec;
    int rc;
    uint64_t total = 0;
    while ((rc = mmf_next(r, &rec, &err)) == 1) {
        total++;
        if (p->ids && !p->quiet) {
            fwrite(rec.id, 1, rec.id_len, stdout);
            putchar('\n');
        }
    }
    const char *name = cli_input_name(path);
    if (rc < 0) {
        if (!p->quiet) cli_error("%s", err.msg);
    } else if (!p->ids && !p->quiet) {
        if (p->json) print_json(name, &segs, total);
        else print_text(name, &segs, total);
    }
    for (size_t i = 0; i < segs.count; i++) mmf_header_free(&segs.items[i].header);
    free(segs.items);
    mmf_close(r);
    return rc < 0;
}

/* --cpu: what the kernel table chose, and why. */
static void print_cpu(void)
{
    printf("cpu: %s\n", *cpu_model_name() ? cpu_model_name() : "(unknown)");
    printf("features: %s\n", *cpu_feature_list() ? cpu_feature_list() : "(none of interest)");
    printf("levels:");
    for (int i = 0; i < CPU_ISA_COUNT; i++)
        if (cpu_isa_supported((cpu_isa)i)) printf(" %s", cpu_isa_name((cpu_isa)i));
    printf("\nkernels: %s%s\n", cpu_isa_name(cpu_isa_active()),
           getenv("MM_ISA") && *getenv("MM_ISA") ? " (MM_ISA)" : " (the widest level this CPU runs)");
}

int main(int argc, char **argv)
{
    cli_init("mm-info");
    params p = {0};
    static const struct option longopts[] = {
        {"ids", no_argument, 0, 'i'},  {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'}, {"cpu", no_argument, 0, 'C'}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "ijqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': p.ids = true; break;
        case 'j': p.json = true; break;
        case 'q': p.quiet = true; break;
        case 'h': fputs(USAGE, stdout); return MM_EXIT_OK;
        case 'C': print_cpu(); return MM_EXIT_OK;
        case 'V': cli_version();
        default: cli_usage_hint(); /* getopt printed the problem */
        }
    }
    if (p.ids && p.json) cli_usage_error("--ids and --json cannot be combined");
    int failed = 0;
    if (optind == argc) failed |= info_one(NULL, &p);
    for (int i = optind; i < argc; i++) failed |= info_one(argv[i], &p);
    if (fflush(stdout) != 0) cli_fatal("(stdout): write error");
    return failed ? MM_EXIT_RUNTIME : MM_EXIT_OK;
}
