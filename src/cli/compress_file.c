/* kmq compress, one file: decode -> quantize -> encode -> commit, as
   pngquant.c's per-file pipeline.  Each stage either hands on to the next
   or ends the file with its exit status, having said why; the outputs are
   written only once every byte of them is known, and committed together. */
#define _POSIX_C_SOURCE 200809L
#include "compress.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A stage's "hand on to the next one"; anything else ends the file. */
enum { GO_ON = -1 };

/* One file on its way through the stages. */
typedef struct {
    const compress_opts *o; /* own, or the run's */
    compress_opts own;      /* --skip-existing redoes a half-done file over what is left */
    const char *input;
    char *const *paths;
    int nout;
    batch_result *res;
    kmq_image img;
    kmq_metadata meta;
    kmq_quantized q; /* the k-means result (streamed: codebook and stats) */
    int reached;
    int width, height, channels;
    uint8_t *bufs[2];
    size_t file_len, lens[2];
    const char *why, *failed; /* the failure: in which file, and why */
    int streamed;             /* the image was read in bands (stream()) */
    const char *source;       /* what is read: input, or the copy of a pipe */
    char spooled[64];         /* that copy's name (/proc/self/fd/N) */
    int spool_fd;
    double t0, t_decode, t_kmeans, t_encode;
} job;

/* Reports the library's failure s on j->failed and ends the file. */
static int fail(job *j, kmq_status s)
{
    progress_clear();
    cli_report(j->failed, s, j->why);
    if (j->o->json)
        json_failure(j->input, cli_reason(s, j->why));
    return EXIT_FAIL;
}

/* The temporary copy of the output `path` (a pipe) could not be made or
   written: err, the errno of the call that failed, says why. */
static int fail_spool(job *j, const char *path, int err)
{
    char why[4200];
    stream_temp_reason(err, why, sizeof why);
    progress_clear();
    cli_error("%s: %s", cli_out_name(path), why);
    if (j->o->json)
        json_failure(j->input, why);
    return EXIT_FAIL;
}

/* --skip-existing: 1 if the label PNG at `labels` names the codebook at
   `codebook` (or names none: written by kmq 0.1.0 or another tool); 0 if
   it names another, or its binding is damaged (*damaged set). */
static int is_a_pair(const char *labels, const char *codebook, int *damaged)
{
    uint8_t *cbuf = NULL;
    size_t clen = 0;
    *damaged = 0;
    int fd = open(labels, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    kmq_binding b;
    kmq_status s = kmq_labels_read_binding_fd(fd, &b);
    close(fd);
    if (s != KMQ_OK) {
        *damaged = s == KMQ_ERR_BINDING;
        return 0;
    }
    if (!b.present)
        return 1;
    kmq_codebook cb = {0};
    int pair = kmq_read_file(codebook, KMQ_MAX_CODEBOOK_FILE, &cbuf, &clen) == KMQ_OK &&
               cli_decode_codebook(codebook, cbuf, clen, &cb) == KMQ_OK &&
               kmq_binding_matches(&b, &cb);
    free(cbuf);
    kmq_codebook_free(&cb);
    return pair;
}

/* Names that cannot work, before the input is read. */
static int check_names(job *j)
{
    const compress_opts *o = j->o;
    char *const *paths = j->paths;
    struct stat node;
    if (j->nout == 2 && same_path(paths[0], paths[1]) &&
        !(stat(paths[0], &node) == 0 && !S_ISREG(node.st_mode))) /* /dev/null twice is fine */
        return cli_usage("compress", "labels and codebook would both be written to '%s'", paths[0]);
    for (int i = 0; i < j->nout; i++) /* --ext .png -f replaces the input, on purpose */
        if (strcmp(j->input, "-") != 0 && same_path(j->input, paths[i]) && !(o->ext && o->force))
            return o->ext ? (cli_report(j->input, KMQ_ERR_EXISTS, NULL), EXIT_FAIL)
                          : cli_usage("compress", "an output file is the input file '%s'", j->input);
    return GO_ON;
}

/* --skip-existing: a file whose outputs all exist (as a pair) is left
   alone; one half done is done again, over what is there. */
static int skip_done(job *j)
{
    const compress_opts *o = j->o;
    if (!o->skip_existing)
        return GO_ON;
    int all = 1;
    for (int i = 0; i < j->nout; i++)
        all &= kmq_output_exists(j->paths[i]);
    int damaged;
    if (all && j->nout == 2 && !is_a_pair(j->paths[0], j->paths[1], &damaged)) {
        all = 0; /* left by an interrupted run, or two runs at once: redo it */
        if (!o->quiet && damaged)
            cli_error("%s: %s has a damaged codebook binding: compressing again",
                      cli_in_name(j->input), j->paths[0]);
        else if (!o->quiet)
            cli_error("%s: %s and %s are not a pair: compressing again", cli_in_name(j->input),
                      j->paths[0], j->paths[1]);
    }
    if (all) {
        if (o->json)
            json_skipped(j->input, "the outputs exist (--skip-existing)", NULL, 0, 0);
        return FILE_SKIPPED;
    }
    j->own = *o;
    j->own.force = 1;
    j->o = &j->own;
    return GO_ON;
}

static int decode(job *j)
{
    const compress_opts *o = j->o;
    kmq_decode_options dopt;
    kmq_decode_options_default(&dopt);
    dopt.max_pixels = o->max_pixels;
    dopt.keep_orientation = o->no_orient;
    kmq_status s = kmq_image_decode_file_ex(j->source, &dopt, &j->img, o->strip ? NULL : &j->meta,
                                            &j->why, &j->file_len);
    if (s != KMQ_OK)
        return fail(j, s);
    /* A bad input is named as such; existing outputs are refused before the
       k-means, not after it. */
    for (int i = 0; i < j->nout; i++)
        if (!o->force && kmq_output_exists(j->paths[i])) {
            j->failed = j->paths[i];
            return fail(j, KMQ_ERR_EXISTS);
        }
    if (j->meta.warning && !o->quiet)
        cli_error("%s: warning: %s", cli_in_name(j->input), j->meta.warning);
    j->res->bytes_in = j->file_len;
    j->t_decode = now_seconds();
    return GO_ON;
}

/* pngquant's --quality (0-100) in dB: the PSNR of pngquant 2.17's output
   (its default, dithered) at --quality 0-Q, the mean over tiger and
   kodim01-08 (at 90 most of them already take 256 colours). */
static double pngquant_db(double q)
{
    static const double scale[][2] = {{30, 31.7}, {50, 33.7}, {65, 35.5}, {70, 36.2},
                                      {80, 37.9}, {90, 39.3}};
    const int n = sizeof scale / sizeof *scale;
    if (q <= scale[0][0])
        return scale[0][1];
    for (int i = 1; i < n; i++)
        if (q <= scale[i][0])
            return scale[i - 1][1] + (q - scale[i - 1][0]) / (scale[i][0] - scale[i - 1][0]) *
                                         (scale[i][1] - scale[i - 1][1]);
    return scale[n - 1][1];
}

/* A target no photo reaches in dB is most likely pngquant's 0-100 scale:
   the line that says so, with what those numbers mean in dB (into buf). */
static const char *pngquant_hint(const compress_opts *o, char *buf, size_t size)
{
    if (!(o->quality > 50) || o->quality_open) /* above 50 dB: next to lossless, beyond most images */
        return "";
    const double lo = o->quality_min > 0 ? o->quality_min : 0;
    if (lo > 0)
        snprintf(buf, size, " (--quality is in dB of PSNR, not pngquant's 0-100 scale: pngquant's "
                 "--quality %g-%g gives about %.1f-%.1f dB on photos)", lo, o->quality,
                 pngquant_db(lo), pngquant_db(o->quality));
    else
        snprintf(buf, size, " (--quality is in dB of PSNR, not pngquant's 0-100 scale: pngquant's "
                 "--quality %g gives about %.1f dB on photos)", o->quality, pngquant_db(o->quality));
    return buf;
}

/* --quality: judged on what is written (dithering lowers the PSNR k was
   chosen by); below its minimum nothing is written. */
static int quality_verdict(job *j)
{
    const compress_opts *o = j->o;
    if (!(o->quality > 0))
        return GO_ON;
    const char *name = cli_in_name(j->input);
    j->reached = j->q.stats.psnr >= o->quality;
    if (j->q.stats.psnr < o->quality_min) {
        progress_clear();
        char hint[200];
        cli_error("%s: quality too low: k=%d gives %.2f dB, below the --quality minimum of "
                  "%g dB; nothing written%s", name, j->q.stats.k, j->q.stats.psnr, o->quality_min,
                  pngquant_hint(o, hint, sizeof hint));
        if (o->json)
            json_skipped(j->input, "quality below the --quality minimum", &j->q.stats, o->quality_min,
                         o->quality);
        j->res->bytes_in = 0;
        return EXIT_QUALITY;
    }
    /* Said even with -q: the file is not what --quality asked for. */
    char hint[200];
    if (!j->reached && !o->quality_open) /* MIN- asks for the best there is: no MAX to miss */
        cli_error("%s: warning: %g dB is out of reach%s: k=%d gives %.2f dB%s", name, o->quality,
                  o->dither ? " with dithering" : "", j->q.stats.k, j->q.stats.psnr,
                  pngquant_hint(o, hint, sizeof hint));
    return GO_ON;
}

/* The library's options for this file (kmq_compress_options). */
static kmq_compress_options library_options(const job *j)
{
    const compress_opts *o = j->o;
    kmq_compress_options c;
    kmq_compress_options_default(&c);
    c.params = o->params;
    c.params.progress = progress_kmeans;
    c.params.progress_ctx = (void *)j->input;
    c.png.level = o->level;
    c.png.exhaustive = o->exhaustive;
    c.png.threads = o->params.threads;
    c.png.packed = o->packed;
    c.output = o->png8 ? KMQ_OUTPUT_PNG8 : KMQ_OUTPUT_LABELS;
    c.codebook_format = !o->png8 && ends_with_ci(j->paths[1], ".npy") ? KMQ_CODEBOOK_NPY
                                                                        : KMQ_CODEBOOK_BIN;
    c.quality = o->quality > 0 ? o->quality : 0;
    c.dither = o->dither;
    if (o->dither)
        c.dither_strength = o->dither_strength;
    return c;
}

/* k-means (for -k, or the smallest k that reaches --quality), then
   --dither; the image itself is no longer needed after. */
static int quantize(job *j)
{
    if (j->streamed)
        return GO_ON;
    const kmq_compress_options c = library_options(j);
    kmq_status s = kmq_compress_quantize(&j->img, &c, &j->q);
    progress_clear();
    if (s != KMQ_OK)
        return fail(j, s);
    j->reached = j->q.reached;
    int rc = quality_verdict(j);
    if (rc != GO_ON)
        return rc;
    j->t_kmeans = now_seconds();
    j->width = j->img.width, j->height = j->img.height, j->channels = j->img.channels;
    kmq_image_free(&j->img); /* only the labels are needed now: lower peak memory */
    return GO_ON;
}

/* The bytes of every output, in memory. */
static int encode(job *j)
{
    const kmq_compress_options c = library_options(j);
    kmq_compressed out = {.size = sizeof out};
    kmq_status s = kmq_compress_encode(&j->q, &j->meta, &c, &out);
    if (s != KMQ_OK) {
        if (out.failed >= 0)
            j->failed = j->paths[out.failed];
        return fail(j, s);
    }
    if (out.warning && !j->o->quiet)
        cli_error("%s: warning: %s", cli_in_name(j->input), out.warning);
    j->bufs[0] = out.image, j->lens[0] = out.image_len;
    j->bufs[1] = out.codebook, j->lens[1] = out.codebook_len;
    j->t_encode = now_seconds();
    return GO_ON;
}

/* --skip-if-larger: nothing is written when it would not pay. */
static int skip_larger(job *j)
{
    const compress_opts *o = j->o;
    size_t out_bytes = j->lens[0] + j->lens[1];
    if (!o->skip_if_larger || out_bytes <= j->file_len)
        return GO_ON;
    if (!o->quiet)
        cli_error("%s: skipped: the output%s (%zu bytes) would be larger than the input "
                  "(%zu bytes)", cli_in_name(j->input), o->png8 ? "" : "s", out_bytes, j->file_len);
    if (o->json)
        json_skipped(j->input, "larger than the input (--skip-if-larger)", &j->q.stats, o->quality_min,
                     o->quality);
    j->res->bytes_in = 0; /* nothing written, nothing counted */
    return EXIT_LARGER;
}

/* The report of a file written. */
static int report_done(job *j)
{
    const compress_done d = {j->input, j->paths, j->lens, j->width, j->height, j->channels,
                             j->file_len, &j->q.stats, &j->meta, j->reached, j->streamed, j->t0,
                             j->t_decode, j->t_kmeans, j->t_encode, now_seconds()};
    report_compressed(j->o, &d);
    return EXIT_OK;
}

/* mkdir -p of the folder part of path. */
static int make_parents(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *q = '/';
    }
    free(p);
    return 0;
}

/* Writes every output to a temporary file, then commits them together
   (kmq_files_write): with -f the old pair survives intact or the new pair
   is complete, also on SIGINT/SIGTERM/SIGHUP and on write errors. */
static int write_outputs(const job *j)
{
    const char *paths[2] = {j->paths[0], j->paths[1]};
    const uint8_t *data[2] = {j->bufs[0], j->bufs[1]};
    int failed;
    kmq_status s = kmq_files_write(j->nout, paths, data, j->lens, j->o->force, cli_temp_guard(),
                                   &failed);
    if (s != KMQ_OK) {
        cli_report_out(j->paths[failed < 0 ? 0 : failed], s, NULL);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int commit(job *j)
{
    const compress_opts *o = j->o;
    for (int i = 0; o->out_dir && i < j->nout; i++)
        if (make_parents(j->paths[i]) != 0) {
            j->failed = j->paths[i];
            return fail(j, KMQ_ERR_IO);
        }
    if (write_outputs(j) != EXIT_OK) {
        if (o->json)
            json_failure(j->input, "could not write the outputs");
        return EXIT_FAIL;
    }
    j->res->bytes_out = j->lens[0] + j->lens[1];
    return report_done(j);
}

/* ---- streaming: images read in bands (kmq_stream_compress) ---- */

#define STREAM_ABOVE CLI_STREAM_ABOVE
enum { STREAMING = 100 }; /* stream_open's "go ahead" */

/* Whether this input is streamed: --stream, or a PNG, TIFF or PNM above
   STREAM_ABOVE pixels.  Opens *rows and returns STREAMING if so; GO_ON for
   the in-memory path; else the file's exit status, reported. */
static int stream_open(job *j, const char *path, kmq_rows **rows)
{
    const compress_opts *o = j->o;
    *rows = NULL;
    if (!o->stream && streamable_pixels(path) <= STREAM_ABOVE)
        return GO_ON; /* small, or not streamable: its header says so */
    kmq_status s = kmq_rows_open(path, o->max_stream_pixels, rows, o->strip ? NULL : &j->meta,
                                 &j->why, &j->file_len);
    if (s == KMQ_ERR_IMAGE_FORMAT) {
        kmq_metadata_free(&j->meta);
        return GO_ON; /* JPEG, WebP, interlaced PNG, ...: decoded whole, if they fit */
    }
    if (s != KMQ_OK)
        return fail(j, s);
    int w, h, c;
    kmq_rows_size(*rows, &w, &h, &c);
    /* Also with --stream, what streaming cannot do is done whole, if it fits. */
    if ((!o->stream && (uint64_t)w * (uint64_t)h <= STREAM_ABOVE) || o->png8 || o->dither ||
        o->exhaustive || (j->meta.orientation > 1 && !o->no_orient)) {
        kmq_rows_close(*rows);
        *rows = NULL;
        kmq_metadata_free(&j->meta);
        return GO_ON;
    }
    if (j->meta.warning && !o->quiet)
        cli_error("%s: warning: %s", cli_in_name(j->input), j->meta.warning);
    j->width = w, j->height = h, j->channels = c;
    return STREAMING;
}

static int stream(job *j)
{
    const compress_opts *o = j->o;
    const char *path = j->input;
    if (strcmp(path, "-") && !is_regular(path) && o->stream >= 0 && !is_pipe(path))
        return GO_ON; /* a device or folder: the decoder says what is wrong */
    if (!strcmp(path, "-") || !is_regular(path)) {
        if (o->stream < 0)
            return GO_ON; /* read whole from the descriptor, as always */
        /* A pipe can be read once: a copy in a temporary file (then
           read whole or streamed, as a file would be), at most what an
           image of the in-memory limit can take unless it can be streamed. */
        const uint64_t mem = o->max_pixels ? o->max_pixels : KMQ_DEFAULT_MAX_PIXELS;
        const uint64_t big = o->max_stream_pixels ? o->max_stream_pixels : KMQ_DEFAULT_MAX_STREAM_PIXELS;
        int err;
        const int fd = stream_spool_input(j->input, mem * 8 + (1u << 20), big * 8 + (1u << 20),
                                          j->spooled, sizeof j->spooled, &err);
        if (fd < 0) {
            char why[4200];
            progress_clear();
            stream_spool_failed(j->input, fd, err);
            if (o->json)
                json_failure(j->input, stream_spool_reason(fd, err, why, sizeof why));
            return EXIT_FAIL;
        }
        j->spool_fd = fd;
        path = j->source = j->spooled;
    }
    if (o->stream < 0)
        return GO_ON;
    kmq_rows *rows;
    int rc = stream_open(j, path, &rows);
    if (rc != STREAMING)
        return rc;
    j->streamed = 1;
    j->res->bytes_in = j->file_len;
    j->t_decode = now_seconds();
    kmq_outfile *f[2] = {NULL, NULL};
    stream_out so = {0};
    kmq_sink sink = stream_sink(&so);
    kmq_status s = KMQ_OK;
    for (int i = 0; i < j->nout && s == KMQ_OK; i++) {
        j->failed = j->paths[i];
        if (o->out_dir && make_parents(j->paths[i]) != 0)
            s = KMQ_ERR_IO;
        else
            s = kmq_outfile_open(j->paths[i], o->force, cli_temp_guard(), &f[i]);
    }
    if (s == KMQ_OK) {
        so.f = f[0];
        if (!kmq_outfile_seekable(f[0]))
            s = stream_spool_output(&so);
    }
    if (s == KMQ_OK) {
        j->failed = j->input;
        const kmq_compress_options c = library_options(j); /* never exhaustive here */
        j->reached = 1;
        s = kmq_stream_compress(rows, &c.params, o->quality, &c.png, &j->meta, &sink,
                                &j->q.codebook, &j->q.stats, &j->reached, &j->why);
        progress_clear();
        if (so.failed)
            j->failed = j->paths[0];
    }
    kmq_rows_close(rows);
    if (s == KMQ_OK && (rc = quality_verdict(j)) != GO_ON) {
        s = KMQ_OK;
    } else if (s == KMQ_OK) {
        rc = GO_ON;
        j->t_kmeans = j->t_encode = now_seconds();
        j->failed = j->paths[1];
        s = library_options(j).codebook_format == KMQ_CODEBOOK_NPY
                ? kmq_codebook_encode_npy(&j->q.codebook, &j->bufs[1], &j->lens[1])
                : kmq_codebook_encode_bin(&j->q.codebook, &j->bufs[1], &j->lens[1]);
        j->lens[0] = so.written;
        if (s == KMQ_OK && (rc = skip_larger(j)) == GO_ON) {
            j->failed = j->paths[0];
            if ((s = stream_unspool(&so)) == KMQ_OK) {
                j->failed = j->paths[1];
                s = kmq_outfile_write(f[1], j->bufs[1], j->lens[1]);
            }
        }
    }
    if (so.spool)
        fclose(so.spool);
    if (s != KMQ_OK || rc != GO_ON) {
        for (int i = 0; i < j->nout; i++)
            kmq_outfile_abort(f[i]);
        if (s == KMQ_ERR_IO && so.spool_errno)
            return fail_spool(j, j->paths[0], so.spool_errno);
        return s != KMQ_OK ? fail(j, s) : rc;
    }
    int failed;
    if ((s = kmq_outfile_commit_all(f, j->nout, &failed)) != KMQ_OK) {
        cli_report_out(j->paths[failed < 0 ? 0 : failed], s, NULL);
        if (o->json)
            json_failure(j->input, "could not write the outputs");
        return EXIT_FAIL;
    }
    j->res->bytes_out = j->lens[0] + j->lens[1];
    return report_done(j);
}

/* Compresses one input to paths[0] (and paths[1]); returns its status
   (EXIT_USAGE for names that cannot work), everything reported. */
static int compress_one(const compress_opts *o, const char *input, char *const *paths, int nout,
                        batch_result *res)
{
    static int (*const stages[])(job *) = {
        check_names, skip_done, stream, decode, quantize, encode, skip_larger, commit,
    };
    job j = {.o = o, .input = input, .source = input, .paths = paths, .nout = nout, .res = res,
             .failed = input, .spool_fd = -1, .t0 = now_seconds()};
    j.q.size = sizeof j.q;
    kmq_stats_init(&j.q.stats); /* the streamed path fills it */
    int rc = GO_ON;
    for (size_t i = 0; rc == GO_ON && i < sizeof stages / sizeof *stages; i++)
        rc = stages[i](&j);
    free(j.bufs[0]), free(j.bufs[1]);
    kmq_metadata_free(&j.meta);
    kmq_image_free(&j.img);
    kmq_quantized_free(&j.q);
    if (j.spool_fd >= 0)
        close(j.spool_fd);
    return rc;
}

const char *compress_own_output(const compress_opts *o, const char *name)
{
    const char *own = batch_kmq_output(name);
    if (own)
        return own;
    if (o->ext && strchr(o->ext + 1, '.') && ends_with_ci(name, o->ext))
        return o->ext;
    return NULL;
}

int compress_output_paths(void *opts, const batch_file *f, char **paths)
{
    const compress_opts *o = opts;
    char *base = NULL;
    paths[0] = paths[1] = NULL;
    if (o->out_dir) {
        size_t len = strlen(o->out_dir) + strlen(f->rel) + 2;
        if (!(base = malloc(len)))
            return -1;
        snprintf(base, len, "%s/%s", o->out_dir, f->rel);
    }
    const char *from = base ? base : f->path;
    if (o->png8) {
        paths[0] = o->output_path ? strdup(o->output_path)
                                  : derive_path(from, NULL, o->ext ? o->ext : ".png8.png");
    } else {
        paths[0] = o->labels_path ? strdup(o->labels_path) : derive_path(from, NULL, ".labels.png");
        paths[1] = o->codebook_path ? strdup(o->codebook_path)
                                    : derive_path(from, NULL, ".codebook.bin");
    }
    free(base);
    if (!paths[0] || (!o->png8 && !paths[1])) {
        free(paths[0]), free(paths[1]);
        paths[0] = paths[1] = NULL;
        return -1;
    }
    return o->png8 ? 1 : 2;
}

void compress_file(const compress_opts *o, const batch_file *f, batch_result *r)
{
    char *paths[BATCH_MAX_OUTPUTS];
    *r = (batch_result){0};
    int nout = compress_output_paths((void *)o, f, paths);
    if (nout < 0) {
        cli_error("out of memory");
        r->status = EXIT_FAIL;
        return;
    }
    r->status = compress_one(o, f->path, paths, nout, r);
    free(paths[0]), free(paths[1]);
}
