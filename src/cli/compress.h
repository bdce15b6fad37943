/* kmq compress, shared between its files: compress.c (the command),
   compress_options.c (help and options), compress_file.c (one file's
   pipeline) and compress_report.c (what is said about it). */
#ifndef KMQ_CLI_COMPRESS_H
#define KMQ_CLI_COMPRESS_H

#include "batch.h"
#include "cli.h"

#include <sys/stat.h>

/* Every setting of one run; read-only once parsed (a -j worker gets a copy). */
/* The diffusion png8 gets and --dither without S: of 1 and 0.9 on tiger and
   kodim01-08 at k = 16, 64, 256 against pngquant's default, 0.9 kept PSNR
   at or above pngquant's on all 27 (1: 21) and butteraugli at or below on
   23 (1: 24); README, "Dithering". */
#define DITHER_DEFAULT 0.9

typedef struct {
    kmq_params params;
    char **inputs;
    int ninputs;
    const char *labels_path, *codebook_path, *output_path, *out_dir;
    const char *ext; /* png8 name suffix (--ext), NULL: .png8.png */
    int png8, level, exhaustive, packed, recursive, skip_existing, jobs, json, dither;
    double dither_strength; /* --dither=S / --floyd=S, 0..1 (DITHER_DEFAULT without S) */
    int strip, no_orient, skip_if_larger;
    double quality;     /* target PSNR in dB (--quality's MAX), 0 = use k */
    double quality_min; /* below this PSNR nothing is written (exit 99); 0 = no floor */
    int quality_open;   /* --quality MIN-: no MAX was given (quality is the 200 dB cap) */
    uint64_t max_pixels;
    int stream;                 /* --stream: 1 always, -1 never, 0 auto (above CLI_STREAM_ABOVE) */
    uint64_t max_stream_pixels; /* 0: KMQ_DEFAULT_MAX_STREAM_PIXELS */
    int force, quiet, verbose;
    struct stat out_dir_st; /* --out-dir, if it exists: -r does not walk into it */
    int out_dir_exists;
} compress_opts;

/* Fills o from argv: 0 to go on, -1 after --help (exit 0), else the exit
   status of a usage error (reported). */
int compress_parse_args(int argc, char **argv, compress_opts *o);
/* Several inputs, or -r. */
int compress_is_batch(const compress_opts *o);

/* The suffix that makes `name` one of kmq's own outputs (or --ext's,
   unless that is a plain extension such as .png), or NULL. */
const char *compress_own_output(const compress_opts *o, const char *name);
/* The output names of file f: named by options, or derived (below
   --out-dir); a batch_outputs_fn. */
int compress_output_paths(void *opts, const batch_file *f, char **paths);
/* Compresses file f, reporting on it; r says what it came to. */
void compress_file(const compress_opts *o, const batch_file *f, batch_result *r);

/* ---- compress_report.c ---- */

/* What one compressed file came to, for its report. */
typedef struct {
    const char *input;        /* as given ("-": standard input) */
    char *const *paths;       /* the outputs written */
    const size_t *lens;       /* their sizes */
    int width, height, channels;
    size_t file_len;          /* the input's bytes */
    const kmq_stats *st;
    const kmq_metadata *meta; /* what was carried along */
    int reached;              /* --quality's MAX reached */
    int streamed;             /* read in bands (kmq_stream_compress) */
    /* now_seconds() at the start, after decoding, after the k-means, after
       encoding, and at the end */
    double t0, t_decode, t_kmeans, t_encode, t_end;
} compress_done;

/* The report of a written file: the JSON line (--json), and the -v block or
   the one-line summary (unless -q). */
void report_compressed(const compress_opts *o, const compress_done *d);
/* JSON lines for a file left alone (st, if not NULL: the result that was
   not written) and for one that failed. */
void json_skipped(const char *input, const char *reason, const kmq_stats *st, double quality_min,
                  double quality);
void json_failure(const char *input, const char *message);
/* The batch's summary line on standard error. */
void report_summary(const batch_tally *t, double seconds);

#endif
