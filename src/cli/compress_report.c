/* kmq compress: what is said about each file and about the run -- the JSON
   line (--json, one object per file on standard output), the -v block or
   the one-line summary on standard error, and the batch's closing line.
   Kept apart from the pipeline so that the wording, which scripts and
   tests read, lives in one place. */
#define _POSIX_C_SOURCE 200809L
#include "compress.h"

#include <math.h>
#include <string.h>

/* `{"input": "...", "status": "<status>"`: how every line begins. */
static void json_begin(const char *input, const char *status)
{
    fputs("{\"input\": ", stdout);
    json_string(stdout, input);
    printf(", \"status\": \"%s\"", status);
}

static void json_result(const compress_opts *o, const compress_done *d)
{
    const kmq_stats *st = d->st;
    const size_t out_bytes = d->lens[0] + d->lens[1];
    json_begin(d->input, "ok");
    if (o->png8) {
        fputs(", \"png8\": ", stdout);
        json_string(stdout, d->paths[0]);
    } else {
        fputs(", \"labels\": ", stdout);
        json_string(stdout, d->paths[0]);
        fputs(", \"codebook\": ", stdout);
        json_string(stdout, d->paths[1]);
    }
    printf(", \"width\": %d, \"height\": %d, \"channels\": %d, \"bytes_in\": %zu, "
           "\"bytes_out\": %zu, \"ratio\": %.6f, \"k\": %d, \"distinct\": %zu, "
           "\"iterations\": %d, \"inertia\": %.0f, \"mse\": %.6f, \"psnr\": ",
           d->width, d->height, d->channels, d->file_len, out_bytes,
           d->file_len ? (double)out_bytes / (double)d->file_len : 0.0, st->k, st->distinct,
           st->iterations, st->inertia, st->mse);
    json_psnr(stdout, st->psnr);
    if (d->channels == 2 || d->channels == 4)
        json_psnr_over(stdout, st->psnr_black, st->psnr_white);
    if (o->quality > 0)
        printf(", \"quality_min\": %g, \"quality_max\": %g, \"quality_reached\": %s", o->quality_min,
               o->quality, d->reached ? "true" : "false");
    printf(", \"streamed\": %s, \"seconds\": %.4f}\n", d->streamed ? "true" : "false",
           d->t_end - d->t0);
    cli_flush_stdout();
}

void json_skipped(const char *input, const char *reason, const kmq_stats *st, double quality_min,
                  double quality)
{
    json_begin(input, "skipped");
    fputs(", \"reason\": ", stdout);
    json_string(stdout, reason);
    if (st) {
        printf(", \"k\": %d, \"mse\": %.6f, \"psnr\": ", st->k, st->mse);
        json_psnr(stdout, st->psnr);
        if (quality > 0) /* as a written file's record has them */
            printf(", \"quality_min\": %g, \"quality_max\": %g, \"quality_reached\": %s",
                   quality_min, quality, st->psnr >= quality ? "true" : "false");
    }
    fputs("}\n", stdout);
    cli_flush_stdout();
}

void json_failure(const char *input, const char *message)
{
    json_begin(input, "error");
    fputs(", \"error\": ", stdout);
    json_string(stdout, message);
    fputs("}\n", stdout);
    cli_flush_stdout();
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* "iCCP gAMA pHYs carried, EXIF orientation 6 applied" for -v.  The chunks
   are whole PNG chunks: length, type, data, CRC. */
static const char *describe_metadata(const compress_opts *o, const kmq_metadata *m, char *buf,
                                     size_t size)
{
    if (o->strip)
        return "stripped (--strip)";
    size_t n = 0;
    buf[0] = 0;
    for (size_t at = 0; at + 12 <= m->chunks_len && n + 6 < size;) {
        const uint8_t *c = m->chunks + at;
        n += (size_t)snprintf(buf + n, size - n, "%.4s ", (const char *)c + 4);
        at += 12 + (size_t)be32(c);
    }
    snprintf(buf + n, size - n, "%s", n ? "carried" : "no colour profile or pixel size");
    if (m->orientation > 1) {
        n = strlen(buf);
        snprintf(buf + n, size - n, ", EXIF orientation %d %s", m->orientation,
                 m->oriented ? "applied" : "not applied (--no-orient)");
    }
    return buf;
}

/* -v: every number of the run, on standard error. */
static void report_verbose(const compress_opts *o, const compress_done *d)
{
    const kmq_stats *st = d->st;
    const size_t out_bytes = d->lens[0] + d->lens[1];
    const double ratio = d->file_len ? (double)out_bytes / (double)d->file_len : 0;
    char files[1024];
    if (o->png8)
        snprintf(files, sizeof files, "%s: %zu bytes", cli_out_name(d->paths[0]), d->lens[0]);
    else
        snprintf(files, sizeof files, "%s: %zu bytes, %s: %zu bytes, total %zu bytes", d->paths[0],
                 d->lens[0], d->paths[1], d->lens[1], out_bytes);
    char over[96] = "", mdesc[160], restarts[32];
    const int k_run = o->quality > 0 ? st->k : o->params.k;
    snprintf(restarts, sizeof restarts, o->params.n_init == KMQ_N_INIT_AUTO ? "auto (%d)" : "%d",
             kmq_params_restarts(&o->params, k_run));
    if (d->channels == 2 || d->channels == 4)
        snprintf(over, sizeof over, " (composited over black %.3f dB, over white %.3f dB)",
                 st->psnr_black, st->psnr_white);
    char dithered[80] = "";
    if (o->dither)
        snprintf(dithered, sizeof dithered, "  dithered, strength %g, perceptual palette\n",
                 o->dither_strength);
    fprintf(stderr,
            "%s: %dx%d %s, %zu bytes, %zu distinct colours\n"
            "  k %d (%s %d), init %s, n_init %s, max_iter %d, tol %g, seed %llu\n"
            "  iterations %d (restart %d won), inertia %.0f\n%s"
            "  MSE %.4f, PSNR %.3f dB%s\n"
            "  %s = %.1f%% of the input (level %d%s)\n"
            "  time %.3f s (decode %.3f, colours %.3f, k-means %.3f, labels %.3f, encode %.3f, "
            "write %.3f)\n"
            "  metadata: %s\n",
            cli_in_name(d->input), d->width, d->height, channels_name(d->channels), d->file_len,
            st->distinct, st->k, o->quality > 0 ? "chosen for --quality, dB" : "asked",
            o->quality > 0 ? (int)o->quality : o->params.k,
            o->params.init == KMQ_INIT_RANDOM ? "random" : "kmeans++", restarts,
            o->params.max_iter, o->params.tol, (unsigned long long)o->params.seed, st->iterations,
            st->restart, st->inertia, dithered, st->mse, st->psnr, over, files, 100.0 * ratio, o->level,
            o->exhaustive ? ", every filter" : "", d->t_end - d->t0, d->t_decode - d->t0,
            st->seconds_histogram, st->seconds_kmeans, st->seconds_labels,
            d->t_encode - d->t_kmeans, d->t_end - d->t_encode,
            describe_metadata(o, d->meta, mdesc, sizeof mdesc));
}

void report_compressed(const compress_opts *o, const compress_done *d)
{
    if (o->json)
        json_result(o, d);
    if (o->verbose) {
        report_verbose(o, d);
    } else if (!o->quiet) {
        const kmq_stats *st = d->st;
        const size_t out_bytes = d->lens[0] + d->lens[1];
        const double ratio = d->file_len ? (double)out_bytes / (double)d->file_len : 0;
        char quality[32];
        if (isinf(st->psnr))
            snprintf(quality, sizeof quality, "lossless");
        else
            snprintf(quality, sizeof quality, "PSNR %.2f dB", st->psnr);
        progress_clear();
        cli_line("%s: k=%d%s, %zu -> %zu bytes (%.1f%%), %s, %.2f s", cli_in_name(d->input), st->k,
                 o->quality > 0 ? " (chosen for --quality)" : "", d->file_len, out_bytes,
                 100.0 * ratio, quality, d->t_end - d->t0);
    }
}

void report_summary(const batch_tally *t, double seconds)
{
    const size_t n = t->ok + t->failed + t->skipped;
    fprintf(stderr, "kmq: %zu file%s: %zu compressed, %zu skipped", n, n == 1 ? "" : "s", t->ok,
            t->skipped);
    if (t->larger || t->low)
        fprintf(stderr, " (%zu larger than the input, %zu below the --quality minimum)", t->larger,
                t->low);
    fprintf(stderr, ", %zu failed; %llu -> %llu bytes", t->failed,
            (unsigned long long)t->bytes_in, (unsigned long long)t->bytes_out);
    if (t->bytes_in)
        fprintf(stderr, " (%.1f%%)", 100.0 * (double)t->bytes_out / (double)t->bytes_in);
    fprintf(stderr, ", %.2f s\n", seconds);
}
