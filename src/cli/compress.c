/* kmq compress: image -> label PNG + codebook (or one PNG8).  The command
   itself: options in, the inputs gathered and checked, each file through
   the pipeline (compress_file.c) by the batch runner (batch.c), and one
   summary out.  Nothing here touches pixels. */
#define _POSIX_C_SOURCE 200809L
#include "compress.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the batch module's callbacks ---- */

typedef struct {
    const compress_opts *o;
    const batch_list *files;
} run_ctx;

static int is_input(void *ctx, const char *name)
{
    const compress_opts *o = ctx;
    return !compress_own_output(o, name) &&
           (ends_with_ci(name, ".png") || ends_with_ci(name, ".jpg") ||
            ends_with_ci(name, ".jpeg") || ends_with_ci(name, ".bmp") ||
            ends_with_ci(name, ".webp") || ends_with_ci(name, ".pnm") ||
            ends_with_ci(name, ".ppm") || ends_with_ci(name, ".pgm") ||
            ends_with_ci(name, ".pbm") || ends_with_ci(name, ".pam") ||
            ends_with_ci(name, ".gif") || ends_with_ci(name, ".tif") ||
            ends_with_ci(name, ".tiff"));
}

/* A file given by name that is one of kmq's outputs is skipped, unless the
   outputs are named (then it is plainly meant) or it does not exist (then
   it is reported as missing, whatever its name). */
static const char *own_output(void *ctx, const char *path)
{
    const compress_opts *o = ctx;
    if (o->labels_path || o->codebook_path || o->output_path || access(path, F_OK) != 0)
        return NULL;
    return compress_own_output(o, path);
}

static void skipped(void *ctx, const char *path, const char *suffix)
{
    const compress_opts *o = ctx;
    if (!o->quiet)
        cli_error("%s: skipped: a kmq output (%s); to compress it anyway, name its outputs or "
                  "rename it", path, suffix);
    if (o->json)
        json_skipped(path, "a kmq output", NULL, 0, 0);
}

static void not_read(void *ctx, const char *path, const char *kind)
{
    const compress_opts *o = ctx;
    if (!o->quiet)
        cli_error("%s: skipped: %s, not read by a folder walk (reading it could block forever; "
                  "name it to read it)", path, kind);
    if (o->json) {
        char reason[96];
        snprintf(reason, sizeof reason, "%s, not read by a folder walk", kind);
        json_skipped(path, reason, NULL, 0, 0);
    }
}

static void walk_failed(void *ctx, const char *path, const char *why)
{
    const compress_opts *o = ctx;
    cli_error("%s: %s", path, why);
    if (o->json)
        json_failure(path, why);
}

static void run_one(void *ctx, size_t i, batch_result *r)
{
    const run_ctx *c = ctx;
    compress_file(c->o, &c->files->v[i], r);
}

static void lost(void *ctx, size_t i, const char *why)
{
    const run_ctx *c = ctx;
    const char *input = c->files->v[i].path;
    cli_error("%s: %s", input, why);
    if (c->o->json)
        json_failure(input, why);
}

int cmd_compress(int argc, char **argv)
{
    compress_opts o;
    memset(&o, 0, sizeof o);
    int r = compress_parse_args(argc, argv, &o);
    if (r)
        return r < 0 ? EXIT_OK : r;
    const int batch = compress_is_batch(&o);
    double t0 = now_seconds();

    o.out_dir_exists = o.out_dir && stat(o.out_dir, &o.out_dir_st) == 0;
    const batch_inputs in = {o.recursive, is_input, own_output, skipped, not_read, walk_failed, &o,
                             o.out_dir_exists ? &o.out_dir_st : NULL};
    batch_list files = {0};
    batch_tally t = {0};
    int list_failed = batch_gather(&in, o.inputs, o.ninputs, &files, &t);

    /* Threads: the cores shared out between the files done at once. */
    const long cores = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
    if (!o.params.threads && o.jobs > 1)
        o.params.threads = cores / o.jobs > 1 ? (int)(cores / o.jobs) : 1;

    int clash = list_failed ? 0 : batch_check_clashes("compress", &files, compress_output_paths, &o);
    if (clash) {
        batch_free(&files);
        return clash;
    }

    progress_enable(!o.quiet);
    run_ctx ctx = {&o, &files};
    const batch_runner runner = {o.jobs, run_one, lost, &ctx, "compressing"};
    batch_run(&runner, files.n, &t);
    progress_clear();
    if (batch && !o.quiet)
        report_summary(&t, now_seconds() - t0);
    batch_free(&files);
    if (t.usage && !batch)
        return EXIT_USAGE;
    return batch_exit_status(&t, list_failed); /* as documented in --help */
}
