/* Batch mode's run: every file done -- one at a time, or with -j in
   worker processes -- and counted in one tally by one function, so that
   -j 1 and -j N end with the same summary and exit status.  zstd's loop is
   the model: each file ends ok or failed, the run goes on, a summary
   follows. */
#define _POSIX_C_SOURCE 200809L
#include "batch.h"
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

/* ---- the tally ---- */

void batch_count(batch_tally *t, const batch_result *r)
{
    t->ok += r->status == EXIT_OK;
    t->failed += r->status == EXIT_FAIL || r->status == EXIT_USAGE;
    t->usage |= r->status == EXIT_USAGE;
    t->skipped += r->status == FILE_SKIPPED || r->status == EXIT_LARGER || r->status == EXIT_QUALITY;
    t->larger += r->status == EXIT_LARGER, t->low += r->status == EXIT_QUALITY;
    t->bytes_in += r->bytes_in, t->bytes_out += r->bytes_out;
}

int batch_exit_status(const batch_tally *t, int other)
{
    return t->failed || t->usage || other ? EXIT_FAIL
           : t->low                        ? EXIT_QUALITY
           : t->larger                     ? EXIT_LARGER
                                           : EXIT_OK;
}

/* Counts one more file's outcome, and shows that `done` of n are. */
static void finished(batch_tally *t, const batch_result *r, size_t done, size_t n)
{
    batch_count(t, r);
    progress_files(done, n, t->failed);
}

/* ---- running them ---- */

/* One at a time, in this process. */
static size_t run_serial(const batch_runner *b, size_t n, batch_tally *t)
{
    size_t done = 0;
    for (; done < n && !cli_stdout_failed(); done++) {
        batch_result r = {0};
        b->run(b->ctx, done, &r);
        finished(t, &r, done + 1, n);
    }
    return done;
}

typedef struct {
    pid_t pid; /* 0: a free slot */
    int fd;    /* the read end of its pipe */
    size_t file;
} worker;

/* In a new worker process: does file i, sends its result up the pipe and
   exits.  The worker dies with the parent (PR_SET_PDEATHSIG), removing its
   temporary files. */
_Noreturn static void work(const batch_runner *b, size_t i, int fd, pid_t parent)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) /* it died before prctl */
        _exit(EXIT_FAIL);
#else
    (void)parent;
#endif
    progress_enable(0);
    batch_result r = {0};
    b->run(b->ctx, i, &r);
    cli_flush_stdout(), fflush(stderr);
    r.stdout_errno = cli_stdout_failed();
    ssize_t w = write(fd, &r, sizeof r); /* < PIPE_BUF: atomic */
    _exit(w == (ssize_t)sizeof r ? 0 : 1);
}

/* Starts a worker on file i in a free slot; 0, or -1 (reported) if no
   pipe or process could be had. */
static int start(const batch_runner *b, worker *w, size_t i, pid_t parent)
{
    int fds[2];
    if (pipe(fds) != 0) {
        cli_error("pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (int j = 0; j < b->jobs; j++) /* the other workers' pipes */
            if (w[j].pid)
                close(w[j].fd);
        free(w);
        work(b, i, fds[1], parent);
    }
    close(fds[1]);
    if (pid < 0) {
        cli_error("fork: %s", strerror(errno));
        close(fds[0]);
        return -1;
    }
    for (int j = 0; j < b->jobs; j++)
        if (!w[j].pid) {
            w[j] = (worker){pid, fds[0], i};
            break;
        }
    return 0;
}

/* Waits for a worker to end and reads its result, or makes one up (a
   failure, reported) if it died without a word; -1 if none is left. */
static int reap(const batch_runner *b, worker *w, batch_result *r, int *sigpipe)
{
    int st;
    pid_t pid;
    int slot = -1;
    while (slot < 0) {
        if ((pid = wait(&st)) < 0)
            return -1;
        for (int j = 0; j < b->jobs; j++)
            if (w[j].pid == pid)
                slot = j;
    }
    ssize_t got;
    while ((got = read(w[slot].fd, r, sizeof *r)) < 0 && errno == EINTR)
        ;
    *sigpipe = WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE;
    if (got != (ssize_t)sizeof *r) { /* killed, out of memory */
        *r = (batch_result){.status = EXIT_FAIL};
        char why[96];
        if (WIFSIGNALED(st))
            snprintf(why, sizeof why, "the process %s it died (signal %d)", b->doing, WTERMSIG(st));
        else
            snprintf(why, sizeof why, "the process %s it ended without a result", b->doing);
        if (!*sigpipe) { /* a closed pipe is no news (see cli_close_stdout) */
            progress_clear();
            b->lost(b->ctx, w[slot].file, why);
        }
    }
    close(w[slot].fd);
    w[slot].pid = 0;
    return 0;
}

/* -j: one worker process per file, at most b->jobs at once.  Each has its
   own pipe, whose write end only it holds: a worker that dies without
   reporting (killed, out of memory, SIGPIPE) reads as end of file, never
   as a hang. */
static size_t run_workers(const batch_runner *b, size_t n, batch_tally *t)
{
    worker *w = calloc((size_t)b->jobs, sizeof *w);
    if (!w) {
        cli_error("out of memory");
        return 0;
    }
    const pid_t parent = getpid();
    fflush(stdout), fflush(stderr);
    size_t next = 0, running = 0, done = 0;
    int stop = 0;  /* start no more: a worker could not be started */
    int epipe = 0; /* a worker's output met a closed pipe: so would the others' */
    while (done < next || next < n) {
        while (!stop && !epipe && !cli_stdout_failed() && running < (size_t)b->jobs && next < n) {
            if (start(b, w, next, parent) != 0)
                stop = 1;
            else
                running++, next++;
        }
        if (!running)
            break;
        batch_result r;
        int sigpipe;
        if (reap(b, w, &r, &sigpipe) != 0)
            break;
        running--, done++;
        epipe |= sigpipe;
        if (r.stdout_errno)
            cli_stdout_error(r.stdout_errno);
        finished(t, &r, done, n);
    }
    if (epipe)
        cli_stdout_error(EPIPE);
    for (int j = 0; j < b->jobs; j++) /* wait() failed: workers not reaped */
        if (w[j].pid)
            close(w[j].fd);
    free(w);
    return done;
}

void batch_run(const batch_runner *b, size_t n, batch_tally *t)
{
    progress_files(0, n, 0);
    size_t done = b->jobs <= 1 || n <= 1 ? run_serial(b, n, t) : run_workers(b, n, t);
    for (const batch_result never = {.status = EXIT_FAIL}; done < n; done++)
        batch_count(t, &never); /* not started: counted as the failures they are */
}
