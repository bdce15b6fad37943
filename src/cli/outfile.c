/* Output files for the command line: written atomically (a temporary file
   beside the target, fully written, flushed and closed, then renamed into
   place), removed if the process is interrupted.  Process-wide state (the
   signal handlers and the list of pending temporary files) lives here, in
   the CLI, never in the library. */
#define _POSIX_C_SOURCE 200809L
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- pending temporary files, for the signal handler ---- */

struct outfile {
    int fd;
    int overwrite;
    int direct;  /* writing straight into a device or FIFO: no temp, no rename */
    int pending; /* on the pending list: tmp names a file to remove on a signal */
    char *path;
    char *tmp;   /* the temporary file: "<dir>/.<base>.kmq-XXXXXX" */
    _Atomic(struct outfile *) next; /* the pending list */
};

/* Every temporary file not yet committed or aborted, newest first: as many
   as the caller keeps open.  A signal may arrive on any thread (OpenMP's
   workers do not block it), also while another thread changes the list or
   gives a set of files their names.  So those changes are made in a held
   section (hold_signals): the changing thread blocks the signals, and a
   handler that runs elsewhere meanwhile only notes the signal
   (deferred_signal), which the section delivers when it ends, the list
   whole again.  A section starts only once no handler is reading the list,
   so nothing is freed under a handler's feet. */
#if ATOMIC_POINTER_LOCK_FREE != 2 || ATOMIC_INT_LOCK_FREE != 2
#error "the signal handler needs lock-free atomic pointers and ints"
#endif
static _Atomic(outfile *) pending;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER; /* one changer at a time */
/* held: sections under way (what `committing` was, now for every list
   change too); walking: handlers past the held check.  Each side writes its
   own counter and then reads the other's (sequentially consistent), so one
   of the two always sees the other. */
static atomic_int held, walking;
static volatile sig_atomic_t deferred_signal;

static void on_signal(int sig)
{
    atomic_fetch_add(&walking, 1);
    if (atomic_load(&held)) {
        deferred_signal = sig; /* release_signals delivers it */
        atomic_fetch_sub(&walking, 1);
        return;
    }
    for (outfile *f = atomic_load(&pending); f; f = atomic_load(&f->next))
        unlink(f->tmp); /* async-signal-safe */
    atomic_fetch_sub(&walking, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

void install_signal_cleanup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old;
        /* Respect an ignored signal (e.g. nohup). */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

/* Begins a held section: SIGINT, SIGTERM, SIGHUP and SIGPIPE wait. */
static void hold_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, old);
    atomic_fetch_add(&held, 1);
    while (atomic_load(&walking)) /* a handler defers, or walks and is done */
        sched_yield();
}

/* Ends it; the last section to end delivers a signal that waited. */
static void release_signals(const sigset_t *old)
{
    if (atomic_fetch_sub(&held, 1) == 1) {
        while (atomic_load(&walking)) /* a deferring handler has noted its signal */
            sched_yield();
        if (deferred_signal)
            on_signal(deferred_signal); /* the list is whole: now die of it */
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Creates f's temporary file from the template f->tmp and lists it, as one
   step for the handler: a file that exists is listed. */
static int create_listed(outfile *f)
{
    sigset_t old;
    hold_signals(&old);
    pthread_mutex_lock(&list_lock);
    f->fd = mkostemp(f->tmp, O_CLOEXEC);
    if (f->fd >= 0) {
        atomic_store(&f->next, atomic_load(&pending));
        atomic_store(&pending, f);
        f->pending = 1;
    }
    pthread_mutex_unlock(&list_lock);
    release_signals(&old);
    return f->fd;
}

/* Takes f off the list, removing its temporary file if asked; afterwards
   no handler can reach f, so it may be freed. */
static void unlist(outfile *f, int remove_temp)
{
    if (!f->pending)
        return;
    sigset_t old;
    hold_signals(&old);
    pthread_mutex_lock(&list_lock);
    if (remove_temp)
        unlink(f->tmp);
    _Atomic(outfile *) *link = &pending;
    for (outfile *g; (g = atomic_load(link)) != f; link = &g->next)
        ;
    atomic_store(link, atomic_load(&f->next));
    f->pending = 0;
    pthread_mutex_unlock(&list_lock);
    release_signals(&old);
}

/* ---- atomic writing ---- */

static void destroy(outfile *f, int remove_temp)
{
    int e = errno;
    if (f->fd >= 0 && f->fd != STDOUT_FILENO)
        close(f->fd);
    unlist(f, remove_temp);
    free(f->tmp);
    free(f->path);
    free(f);
    errno = e;
}

/* Follows the symbolic links of an output name to the file that would be
   written: *target is malloc'd (the name itself when it is no link, the last
   name of the chain when that does not exist yet).  *stream is set when the
   chain passes through /proc or /dev/fd (/dev/stdout, /proc/self/fd/1): those
   name an open descriptor, which is written as it is, never replaced. */
static kmq_status resolve_output(const char *path, char **target, int *stream)
{
    *target = NULL;
    *stream = 0;
    char *cur = strdup(path);
    if (!cur)
        return KMQ_ERR_NOMEM;
    for (int hops = 0;; hops++) {
        if (!strncmp(cur, "/proc/", 6) || !strncmp(cur, "/dev/fd/", 8)) {
            *stream = 1;
            break;
        }
        struct stat st;
        if (lstat(cur, &st) != 0) {
            if (errno == ENOENT)
                break; /* a new file, or the missing end of a dangling link */
            goto io;
        }
        if (!S_ISLNK(st.st_mode))
            break;
        if (hops == 40) {
            errno = ELOOP;
            goto io;
        }
        char link[PATH_MAX];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0)
            goto io;
        link[n] = 0;
        const char *slash = strrchr(cur, '/');
        size_t dirlen = link[0] != '/' && slash ? (size_t)(slash - cur) + 1 : 0;
        char *next = malloc(dirlen + (size_t)n + 1);
        if (!next) {
            free(cur);
            return KMQ_ERR_NOMEM;
        }
        memcpy(next, cur, dirlen);
        memcpy(next + dirlen, link, (size_t)n + 1);
        free(cur);
        cur = next;
    }
    *target = cur;
    return KMQ_OK;
io: {
    int e = errno;
    free(cur);
    errno = e;
    return KMQ_ERR_IO;
}
}

char *output_target(const char *path)
{
    char *target;
    int stream;
    if (!strcmp(path, "-") || resolve_output(path, &target, &stream) != KMQ_OK)
        return strdup(path);
    return target;
}

int output_exists(const char *path)
{
    if (!strcmp(path, "-"))
        return 0;
    char *target;
    int stream;
    if (resolve_output(path, &target, &stream) != KMQ_OK)
        return 0; /* the open will say what is wrong */
    struct stat st;
    int exists = !stream && stat(target, &st) == 0 && !S_ISCHR(st.st_mode) &&
                 !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode);
    free(target);
    return exists;
}

kmq_status outfile_open(const char *path, int overwrite, outfile **out)
{
    *out = NULL;
    outfile *f = calloc(1, sizeof *f);
    if (!f)
        return KMQ_ERR_NOMEM;
    f->fd = -1;
    f->overwrite = overwrite;
    if (!strcmp(path, "-")) { /* standard output */
        f->direct = 1;
        f->fd = STDOUT_FILENO;
        *out = f;
        return KMQ_OK;
    }
    int stream;
    kmq_status s = resolve_output(path, &f->path, &stream);
    if (s != KMQ_OK) {
        destroy(f, 0);
        return s;
    }
    path = f->path;

    struct stat st;
    if (stream || (stat(path, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) ||
                                             S_ISSOCK(st.st_mode)))) {
        /* /dev/null, a FIFO, a descriptor: never replace the node itself. */
        f->direct = 1;
        /* One of our own descriptors (/dev/stdout, /proc/self/fd/1) is
           duplicated, not reopened: `>> log` keeps appending, nothing is
           truncated. */
        int own = -1, end = 0;
        if ((sscanf(path, "/proc/self/fd/%d%n", &own, &end) == 1 ||
             sscanf(path, "/dev/fd/%d%n", &own, &end) == 1) && !path[end] && own >= 0)
            f->fd = fcntl(own, F_DUPFD_CLOEXEC, 0);
        else
            f->fd = open(path, O_WRONLY | O_CLOEXEC | (stream ? O_CREAT | O_TRUNC : 0), 0666);
        if (f->fd < 0) {
            destroy(f, 0);
            return KMQ_ERR_IO;
        }
        *out = f;
        return KMQ_OK;
    }
    int replacing = stat(path, &st) == 0;
    if (replacing) {
        if (S_ISDIR(st.st_mode)) {
            destroy(f, 0);
            errno = EISDIR;
            return KMQ_ERR_IO;
        }
        if (!overwrite) {
            destroy(f, 0);
            return KMQ_ERR_EXISTS;
        }
    }

    /* Temp name: "<dir>/.<base>.kmq-XXXXXX", hidden and in the same folder
       as the file it replaces (the target of a link, not the link). */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    if (dirlen + strlen(base) + 16 > PATH_MAX + 32) {
        destroy(f, 0);
        errno = ENAMETOOLONG;
        return KMQ_ERR_IO;
    }
    /* "." + ".kmq-XXXXXX" add 12 bytes: a base of 244..255 bytes is cut
       short in the temporary name so that it stays within NAME_MAX. */
    int baselen = (int)strlen(base);
    if (baselen > NAME_MAX - 12)
        baselen = NAME_MAX - 12;
    size_t tmp_size = dirlen + (size_t)baselen + 13;
    if (!(f->tmp = malloc(tmp_size))) {
        destroy(f, 0);
        return KMQ_ERR_NOMEM;
    }
    snprintf(f->tmp, tmp_size, "%.*s.%.*s.kmq-XXXXXX", (int)dirlen, path, baselen, base);
    if (create_listed(f) < 0) {
        destroy(f, 0);
        return KMQ_ERR_IO;
    }
    /* mkstemp makes 0600: a replaced file keeps its mode and, where we may
       set it, its owner and group (as sed -i does); a new one gets the mode
       a plain create would. */
    mode_t mode;
    if (replacing) {
        mode = st.st_mode & 07777;
        if (fchown(f->fd, st.st_uid, st.st_gid) != 0)
            mode &= 0777; /* no set-id bits for another owner */
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    if (fchmod(f->fd, mode) != 0) {
        destroy(f, 1);
        return KMQ_ERR_IO;
    }
    *out = f;
    return KMQ_OK;
}

kmq_status outfile_write(outfile *f, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(f->fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return KMQ_ERR_IO;
        }
        data += w;
        len -= (size_t)w;
    }
    return KMQ_OK;
}

kmq_status outfile_patch(outfile *f, uint64_t offset, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t w = pwrite(f->fd, data, len, (off_t)offset);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return KMQ_ERR_IO;
        }
        data += w, offset += (uint64_t)w;
        len -= (size_t)w;
    }
    return KMQ_OK;
}

int outfile_seekable(const outfile *f)
{
    struct stat st;
    return fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Data on disk before a name points at it: a crash leaves the old file or
   the new one, never a torn one.  Closes the descriptor. */
static kmq_status flush_file(outfile *f)
{
    if (f->direct) {
        int r = f->fd == STDOUT_FILENO ? 0 : close(f->fd);
        f->fd = -1;
        return r == 0 ? KMQ_OK : KMQ_ERR_IO;
    }
    if (fsync(f->fd) != 0 && errno != EINVAL && errno != EROFS)
        return KMQ_ERR_IO;
    int r = close(f->fd);
    f->fd = -1;
    return r == 0 ? KMQ_OK : KMQ_ERR_IO;
}

/* Gives the flushed temporary file its name: rename over the target, or,
   without overwrite, link() -- which fails if the name appeared meanwhile.
   The temporary name is left for destroy() to remove. */
static kmq_status place(outfile *f)
{
    if (f->direct)
        return KMQ_OK;
    const char *tmp = f->tmp;
    if (f->overwrite)
        return rename(tmp, f->path) == 0 ? KMQ_OK : KMQ_ERR_IO;
    if (link(tmp, f->path) == 0)
        return KMQ_OK;
    if (errno == EEXIST)
        return KMQ_ERR_EXISTS;
    /* File systems without hard links: check, then rename. */
    struct stat st;
    if (lstat(f->path, &st) == 0)
        return KMQ_ERR_EXISTS;
    return rename(tmp, f->path) == 0 ? KMQ_OK : KMQ_ERR_IO;
}

kmq_status outfile_commit(outfile *f)
{
    kmq_status s = flush_file(f);
    if (s == KMQ_OK)
        s = place(f);
    destroy(f, !f->direct && !(s == KMQ_OK && f->overwrite)); /* a renamed temp is gone */
    return s;
}

/* A hard link to the file at `path` under a fresh hidden name beside it, so
   that it can be put back; *backup is malloc'd (NULL: there was no file). */
static kmq_status keep_old(const char *path, char **backup)
{
    *backup = NULL;
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return KMQ_OK;
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    int baselen = (int)strlen(path + dirlen);
    if (baselen > NAME_MAX - 16)
        baselen = NAME_MAX - 16;
    size_t size = dirlen + (size_t)baselen + 24;
    char *name = malloc(size);
    if (!name)
        return KMQ_ERR_NOMEM;
    for (int tries = 0; tries < 100; tries++) {
        snprintf(name, size, "%.*s.%.*s.kmq-old-XXXXXX", (int)dirlen, path, baselen, path + dirlen);
        int fd = mkostemp(name, O_CLOEXEC); /* a unique name, then the link takes it */
        if (fd < 0)
            break;
        close(fd);
        unlink(name);
        if (link(path, name) == 0) {
            *backup = name;
            return KMQ_OK;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(name);
    errno = e;
    return KMQ_ERR_IO;
}

kmq_status outfile_commit_all(outfile **f, int n, int *failed)
{
    kmq_status s = KMQ_OK;
    char *backup[OUTFILE_MAX_PAIR] = {NULL};
    int i, placed = 0;
    *failed = -1;
    if (n > OUTFILE_MAX_PAIR)
        return KMQ_ERR_ARG;
    for (i = 0; i < n && s == KMQ_OK; i++)
        if ((s = flush_file(f[i])) != KMQ_OK)
            *failed = i;
    sigset_t old;
    hold_signals(&old); /* SIGINT/TERM/HUP/PIPE wait until the names are done */
    for (i = 0; i < n && s == KMQ_OK; i++)
        if (!f[i]->direct && f[i]->overwrite && (s = keep_old(f[i]->path, &backup[i])) != KMQ_OK)
            *failed = i;
    for (i = 0; i < n && s == KMQ_OK; i++) {
        if ((s = place(f[i])) != KMQ_OK)
            *failed = i;
        else
            placed++;
    }
    if (s != KMQ_OK) {
        int err = errno;
        /* Undo: the old files come back, or the new names go. */
        for (i = 0; i < placed; i++) {
            if (f[i]->direct)
                continue;
            if (backup[i])
                rename(backup[i], f[i]->path);
            else
                unlink(f[i]->path);
        }
        errno = err;
    }
    int e = errno; /* the failure's, for the caller */
    for (i = 0; i < n; i++) {
        if (backup[i])
            unlink(backup[i]); /* already renamed back if it was needed */
        free(backup[i]);
        destroy(f[i], !f[i]->direct && !(i < placed && f[i]->overwrite && s == KMQ_OK));
    }
    release_signals(&old); /* the names are done: a signal that waited kills now */
    errno = e;
    return s;
}

void outfile_abort(outfile *f)
{
    if (f)
        destroy(f, 1);
}

kmq_status write_file_atomic(const char *path, const uint8_t *data, size_t len, int overwrite)
{
    outfile *f;
    kmq_status s = outfile_open(path, overwrite, &f);
    if (s != KMQ_OK)
        return s;
    if ((s = outfile_write(f, data, len)) != KMQ_OK) {
        outfile_abort(f);
        return s;
    }
    return outfile_commit(f);
}
