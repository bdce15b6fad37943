/* Shared pieces of the command-line front end. */
#ifndef KMQ_CLI_H
#define KMQ_CLI_H

#include "kmq.h"
#include "signals.h"

#include <stdint.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* "kmq: <message>" on stderr, one line: control characters (a newline in
   a file name) are escaped.  cli_line: the same without "kmq: ". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "kmq CMD: <message>" plus a hint to the help on stderr; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a failed library call on `path`, using errno for KMQ_ERR_IO;
   "-" is named standard input (cli_report), standard output (_out). */
void cli_report(const char *path, kmq_status s, const char *why);
/* What cli_report says after the name: errno's text for KMQ_ERR_IO, else
   why, else the status (with the CLI's advice for KMQ_ERR_EXISTS). */
const char *cli_reason(kmq_status s, const char *why);
void cli_report_out(const char *path, kmq_status s, const char *why);
/* A file's name in a message: "-" is "standard input" / "standard output". */
const char *cli_in_name(const char *path);
const char *cli_out_name(const char *path);

int parse_long(const char *s, long min, long max, long *out);
int parse_u64(const char *s, unsigned long long *out);
int parse_double(const char *s, double *out);
/* --quality: "MAX", "MIN-MAX", "-MAX" (no floor) or "MIN-" (MAX 200), dB. */
int parse_quality(const char *s, double *min, double *max);
/* The usage error for getopt's ':' (missing value) or '?' (unknown option),
   naming the option that failed, not the word before it. */
int cli_bad_option(const char *cmd, int c, int argc, char **argv);
/* --max-pixels: 1 .. KMQ_MAX_PIXELS_LIMIT (every image the decoders allow);
   0, or the usage error of command cmd (reported). */
#define KMQ_MAX_PIXELS_LIMIT ((unsigned long long)KMQ_MAX_DIMENSION * KMQ_MAX_DIMENSION)
int parse_max_pixels(const char *cmd, const char *option, const char *s, uint64_t *out);
/* --stream's WHEN: NULL or "always" 1, "auto" 0, "never" -1; else reported, 2. */
int parse_stream(const char *cmd, const char *when);

/* folder/stem of `path` (last extension removed, and `drop` too if the stem
   ends with it) followed by `suffix`; malloc'd. */
char *derive_path(const char *path, const char *drop, const char *suffix);
int ends_with_ci(const char *s, const char *suffix);
/* 1 if both names refer to the same file (existing or not, through links). */
int same_path(const char *a, const char *b);
/* The name `path` will have once written, for comparing: the real path of
   an existing file, else the real folder plus the name (links followed),
   else the name as given.  malloc'd. */
char *path_key(const char *path);
double now_seconds(void);
const char *channels_name(int channels);

/* Standard output: every write is checked.  cli_flush_stdout flushes and
   remembers the first error; cli_close_stdout (at exit) reports it in one
   line -- quietly for a closed pipe -- and returns -1 if there was one. */
int cli_flush_stdout(void);
int cli_stdout_failed(void); /* the errno of the first failure, or 0 */
void cli_stdout_error(int e);  /* a failure seen elsewhere (a -j worker) */
int cli_close_stdout(void);
/* 1 if writing `path` writes kmq's standard output: "-", /dev/stdout, a
   link to it, or the file or pipe standard output goes to (a device such as
   /dev/null does not count: nothing mixes there). */
int cli_is_stdout(const char *path);
/* 1 if `path` ("-": standard output) is a terminal. */
int cli_is_terminal(const char *path);
/* Exit status 2 and one line if `path` is a terminal: cmd writes a PNG. */
int cli_refuse_tty_output(const char *cmd, const char *path);
/* One output file, written atomically (kmq_files_write) under the CLI's
   signal cleanup. */
KMQ_NODISCARD kmq_status cli_write_file(const char *path, const uint8_t *data, size_t len,
                                        int overwrite);

/* s as a JSON string literal.  File names are bytes: valid UTF-8 is kept,
   control characters are escaped, and each byte that is not part of valid
   UTF-8 becomes U+FFFD, so the line is always valid JSON. */
void json_string(FILE *out, const char *s);
/* A PSNR as a JSON number, null for infinity (identical images). */
void json_psnr(FILE *out, double psnr);
/* `, "psnr_black": B, "psnr_white": W`: an image with alpha, as seen over
   black and over white. */
void json_psnr_over(FILE *out, double black, double white);
/* A codebook file's bytes, .bin or .npy (by content, else by name). */
kmq_status cli_decode_codebook(const char *path, const uint8_t *buf, size_t len, kmq_codebook *cb);

/* The progress line (progress.c): shown only if wanted and stderr is a tty. */
void progress_enable(int want);
void progress_files(size_t done, size_t total, size_t failed);
void progress_kmeans(void *ctx, int restart, int restarts, int iteration); /* ctx: file name */
void progress_clear(void);

/* Streamed images (src/cli/stream_out.c): PNG, TIFF and PNM images (and
   label PNGs) above this many pixels are read in bands by default. */
#define CLI_STREAM_ABOVE (1ull << 25)
/* The pixels of the image at path if it can be streamed, by its header
   (kmq_image_probe): 0 if it cannot be, UINT64_MAX if the header does not
   tell (not a regular file, or damaged). */
uint64_t streamable_pixels(const char *path);
/* Temporary copies (of standard input and pipes, of output to a pipe)
   are unnamed files in $TMPDIR, else /tmp. */
/* A new one, open for reading and writing; -1 with errno set. */
int stream_temp_fd(void);
/* Why one could not be made or written (err: the errno of the failing
   call): "cannot make a temporary copy in DIR (...): <strerror>", into buf. */
const char *stream_temp_reason(int err, char *buf, size_t size);

typedef struct {
    kmq_outfile *f;       /* the output */
    FILE *spool;      /* when f is a pipe: everything goes here first */
    size_t written;
    int failed;       /* a write or patch failed: an I/O error is the output's */
    int spool_errno;  /* the errno of the spool's failed call, 0 if none */
} stream_out;
/* A sink writing into so->f (or so->spool). */
kmq_sink stream_sink(stream_out *so);
/* Makes so->spool (a temporary file); KMQ_ERR_IO with so->spool_errno set
   if it cannot be had. */
kmq_status stream_spool_output(stream_out *so);
/* The spool, if any, copied into so->f.  A failure of the spool itself,
   here or in the sink, sets so->spool_errno (a failure of so->f does not). */
kmq_status stream_unspool(stream_out *so);
/* Standard input ("-") or a pipe copied into a temporary file so that it
   can be read more than once: at most cap bytes, or stream_cap when it
   starts like a PNG, TIFF or PNM.  Returns the descriptor to close when
   done (its /proc name into name), or one of these with *err set to the
   errno of the call that failed: */
enum { SPOOL_INPUT = -1, SPOOL_TEMP = -2, SPOOL_TOO_LARGE = -3 };
int stream_spool_input(const char *input, uint64_t cap, uint64_t stream_cap, char *name,
                       size_t size, int *err);
/* What went wrong with stream_spool_input (for a message or JSON), using
   buf; and the one-line report of it. */
const char *stream_spool_reason(int rc, int err, char *buf, size_t size);
void stream_spool_failed(const char *input, int rc, int err);
int is_regular(const char *path);
/* A pipe, FIFO or socket by name: it can be read only once. */
int is_pipe(const char *path);

int cmd_compress(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_palette(int argc, char **argv);
void help_compare(FILE *out);
void help_palette(FILE *out);
int cmd_decompress(int argc, char **argv);
void help_compress(FILE *out);
void help_decompress(FILE *out);

#endif
