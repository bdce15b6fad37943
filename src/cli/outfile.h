/* Atomic output files and their cleanup on signals (src/cli/outfile.c). */
#ifndef KMQ_CLI_OUTFILE_H
#define KMQ_CLI_OUTFILE_H

#include "kmq.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Output files are written atomically: outfile_open creates a temporary
 * file beside `path` (same folder, so the rename cannot cross file systems),
 * outfile_write appends to it, outfile_commit flushes, closes and
 * renames it to `path`, outfile_abort removes it.  Commit and abort free
 * the handle.  Without `overwrite`, an existing `path` is left alone and
 * KMQ_ERR_EXISTS returned (checked at open and again, atomically, at commit).
 * System-call failures return KMQ_ERR_IO with errno set; the temporary file
 * is then already removed.  While a temporary file exists, SIGINT, SIGTERM,
 * SIGHUP and SIGPIPE remove it (see install_signal_cleanup).  Any number of
 * files may be open at once.
 *
 * Which file is written: "-" is standard output.  A symbolic link is
 * followed: its target is replaced (the temporary file goes in the target's
 * folder) and the link stays a link; a dangling link creates its target.  A
 * name that is not a regular file -- a character device such as /dev/null, a
 * FIFO, a socket, or a descriptor named through /proc or /dev/fd
 * (/dev/stdout, /proc/self/fd/1) -- is written directly, never renamed over,
 * and needs no `overwrite`.  A replaced file keeps its permissions (and
 * its owner and group, where the process may set them).
 */
typedef struct outfile outfile;
KMQ_NODISCARD kmq_status outfile_open(const char *path, int overwrite, outfile **out);
KMQ_NODISCARD kmq_status outfile_write(outfile *f, const uint8_t *data, size_t len);
/* Overwrites len bytes written before, at offset from the start (a
   streamed PNG's chunk lengths); KMQ_ERR_IO (ESPIPE) on a pipe.
   outfile_seekable says beforehand whether it can. */
KMQ_NODISCARD kmq_status outfile_patch(outfile *f, uint64_t offset, const uint8_t *data, size_t len);
int outfile_seekable(const outfile *f);
KMQ_NODISCARD kmq_status outfile_commit(outfile *f);
void outfile_abort(outfile *f);
/* Commits n (at most OUTFILE_MAX_PAIR) files together: all are flushed first,
   then, with SIGINT, SIGTERM, SIGHUP and SIGPIPE held back, each is given
   its name; if one fails, the names already given are undone -- a replaced
   file comes back (it was kept as a hard link), a new one is removed -- so
   the old files survive intact or every new one is in place.  *failed is
   the index of the file that failed (-1: none).  Frees every handle. */
#define OUTFILE_MAX_PAIR 4
KMQ_NODISCARD kmq_status outfile_commit_all(outfile **f, int n, int *failed);

/* 1 if writing `path` would replace an existing file (the rules above: a
   device, FIFO, descriptor or "-" is not replaced; a link to a file is). */
int output_exists(const char *path);
/* The file writing `path` would write: its symbolic links followed to the
   last name (which need not exist); malloc'd, NULL when out of memory. */
char *output_target(const char *path);

/* Open + write + commit in one call. */
KMQ_NODISCARD kmq_status write_file_atomic(const char *path, const uint8_t *data,
                                               size_t len, int overwrite);

/* Installs handlers for SIGINT, SIGTERM, SIGHUP and SIGPIPE that remove pending
   temporary files and then die of the same signal.  Call once from main. */
void install_signal_cleanup(void);

#endif
