/* Batches of files: the inputs of a run gathered from names and folders
   and checked for clashes before any work (batch.c), then done one at a
   time or by -j worker processes, every outcome counted in one tally
   (jobs.c).  A command drives it through the callbacks below; it knows
   nothing of images, codebooks or JSON. */
#ifndef KMQ_CLI_BATCH_H
#define KMQ_CLI_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* ---- the files (batch.c) ---- */

typedef struct {
    char *path; /* the input */
    char *rel;  /* where its outputs go below --out-dir */
} batch_file;

typedef struct {
    batch_file *v;
    size_t n, cap;
} batch_list;

/* Appends copies of path and rel; -1 when out of memory. */
int batch_add(batch_list *l, const char *path, const char *rel);
void batch_free(batch_list *l);

/* The suffix of kmq's own outputs that `name` ends with (.labels.png,
   .png8.png, .decompressed.png, .swatch.png), or NULL. */
const char *batch_kmq_output(const char *name);

/* How a command's arguments become its inputs.  The command says what is
   left out and why (messages, JSON); batch_gather counts it. */
typedef struct {
    int recursive; /* folder arguments are walked (-r) */
    /* Whether a walk takes the file `name` (the last part of the path). */
    int (*is_input)(void *ctx, const char *name);
    /* For a file given by name: the output suffix that makes it one of
       kmq's own outputs, to be skipped (NULL: an input). */
    const char *(*own_output)(void *ctx, const char *path);
    /* Reports a file skipped by own_output. */
    void (*skipped)(void *ctx, const char *path, const char *suffix);
    /* Reports an input's name found by a walk that is not a file but
       `kind` ("a FIFO", "a character device", ...): skipped, not read. */
    void (*not_read)(void *ctx, const char *path, const char *kind);
    /* Reports what a walk could not read (`why`: a sentence): a failure. */
    void (*failed)(void *ctx, const char *path, const char *why);
    void *ctx;
    const struct stat *skip_dir; /* a folder not to walk into, or NULL */
} batch_inputs;

struct batch_tally;
/* Appends the files of args[0..nargs-1] to l: a folder's images (with
   -r; hidden names and links to folders are not followed; name order), a
   file as it is.  What is left out is reported and counted in t: own
   outputs and, in a walk, FIFOs, sockets and devices as skipped; links to
   nothing and folders that cannot be opened as failed.  Returns 1 if
   memory ran out (reported), else 0. */
int batch_gather(const batch_inputs *in, char *const *args, int nargs, batch_list *l,
                 struct batch_tally *t);

/* Up to BATCH_MAX_OUTPUTS output names for file f, malloc'd, into paths;
   returns how many, or -1 when out of memory (paths freed). */
#define BATCH_MAX_OUTPUTS 2
typedef int (*batch_outputs_fn)(void *ctx, const batch_file *f, char **paths);

/* Before any work: two inputs that would write the same file, or one that
   would write over another's input, are a usage error of `cmd` naming both
   (returns EXIT_USAGE; EXIT_FAIL when out of memory; 0: no clash). */
int batch_check_clashes(const char *cmd, const batch_list *files, batch_outputs_fn outputs,
                        void *ctx);

/* ---- what they came to (jobs.c) ---- */

/* One file's outcome: EXIT_OK, EXIT_FAIL, EXIT_USAGE, or a skip. */
enum {
    FILE_SKIPPED = 3,  /* left alone: --skip-existing, or one of kmq's own outputs */
    EXIT_LARGER = 98,  /* --skip-if-larger: the outputs would be larger */
    EXIT_QUALITY = 99  /* below the --quality minimum */
};

/* What one file came to; sent up a pipe by a -j worker, so plain data. */
typedef struct {
    int status;
    uint64_t bytes_in, bytes_out;
    int stdout_errno; /* a worker's failure to write standard output */
} batch_result;

/* What the files of a run came to. */
typedef struct batch_tally {
    size_t ok, failed, skipped, larger, low;
    uint64_t bytes_in, bytes_out;
    int usage; /* a file's options did not fit it (EXIT_USAGE) */
} batch_tally;

/* Adds one file's outcome: the only place a tally changes. */
void batch_count(batch_tally *t, const batch_result *r);

/* The most serious outcome decides: 1 if any file failed (or `other`, a
   failure outside the files), else 99, else 98, else 0. */
int batch_exit_status(const batch_tally *t, int other);

/* ---- doing them ---- */

typedef struct {
    int jobs; /* files done at once; > 1: each in its own worker process */
    /* Does file i and fills r; reports on it itself. */
    void (*run)(void *ctx, size_t i, batch_result *r);
    /* File i's worker died without a result (`why`, a sentence); report it. */
    void (*lost)(void *ctx, size_t i, const char *why);
    void *ctx;
    const char *doing; /* "compressing": "the process compressing it died" */
} batch_runner;

/* Does files 0..n-1 and counts each in t, in file order with one job,
   as they finish with more; shows the progress line.  Once standard output
   has failed, or a worker could not be started, no file is started any
   more: those left are counted as failed.  Every file is computed as with
   one job, so the outputs are identical. */
void batch_run(const batch_runner *r, size_t n, batch_tally *t);

#endif
