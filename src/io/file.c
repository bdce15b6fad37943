/* Whole-file reads and atomic writes: a temporary file beside the target,
   fully written, flushed and closed, then renamed into place.  Pending
   temporary files are removed if the process is interrupted. */
#define _POSIX_C_SOURCE 200809L
#include "kmq.h"
#include "stb_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading ---- */

kmq_status kmq_read_file(const char *path, size_t max_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return KMQ_ERR_IO;
    return kmq_read_fd(fd, max_len, out, out_len);
}

/* The rest of kmq_read_file, on a descriptor it then closes (not stdin):
   a FIFO is opened once, never reopened by name. */
kmq_status kmq_read_fd(int fd, size_t max_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    if (S_ISREG(st.st_mode) && max_len && (uint64_t)st.st_size > max_len) {
        if (fd != STDIN_FILENO)
            close(fd);
        return KMQ_ERR_TOO_LARGE;
    }
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16;
    size_t len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        goto nomem;
    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 2) {
                free(buf);
                errno = EFBIG;
                goto fail;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                goto nomem;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            errno = e;
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (max_len && len > max_len) { /* a pipe or device that does not end */
            free(buf);
            if (fd != STDIN_FILENO)
                close(fd);
            return KMQ_ERR_TOO_LARGE;
        }
    }
    if (fd != STDIN_FILENO)
        close(fd);
    *out = buf;
    *out_len = len;
    return KMQ_OK;
nomem:
    if (fd != STDIN_FILENO)
        close(fd);
    return KMQ_ERR_NOMEM;
fail: {
    int e = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    errno = e;
    return KMQ_ERR_IO;
}
}

/* ---- pending temporary files, for the signal handler ---- */

#define MAX_PENDING 16
static char pending_path[MAX_PENDING][PATH_MAX + 32];
static volatile sig_atomic_t pending_used[MAX_PENDING];

/* While a set of files is being given its names (kmq_outfile_commit_all), a
   signal waits: it may arrive on any thread (OpenMP's workers do not block
   it), so the handler itself defers it, and the commit delivers it after. */
static volatile sig_atomic_t committing, deferred_signal;

static void on_signal(int sig)
{
    if (committing) {
        deferred_signal = sig;
        return;
    }
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending_used[i])
            unlink(pending_path[i]); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

void kmq_install_signal_cleanup(void)
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

static void block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &set, old);
}

/* ---- atomic writing ---- */

struct kmq_outfile {
    int fd;
    int overwrite;
    int direct;  /* writing straight into a device or FIFO: no temp, no rename */
    int slot;    /* index in pending_path, or -1 */
    char *path;
};

static void unregister(kmq_outfile *f, int remove_temp)
{
    if (f->slot < 0)
        return;
    sigset_t old;
    block_signals(&old);
    if (remove_temp)
        unlink(pending_path[f->slot]);
    pending_used[f->slot] = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    f->slot = -1;
}

static void destroy(kmq_outfile *f, int remove_temp)
{
    int e = errno;
    if (f->fd >= 0 && f->fd != STDOUT_FILENO)
        close(f->fd);
    unregister(f, remove_temp);
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

char *kmq_output_target(const char *path)
{
    char *target;
    int stream;
    if (!strcmp(path, "-") || resolve_output(path, &target, &stream) != KMQ_OK)
        return strdup(path);
    return target;
}

int kmq_output_exists(const char *path)
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

kmq_status kmq_outfile_open(const char *path, int overwrite, kmq_outfile **out)
{
    *out = NULL;
    kmq_outfile *f = calloc(1, sizeof *f);
    if (!f)
        return KMQ_ERR_NOMEM;
    f->fd = -1;
    f->slot = -1;
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
    if (dirlen + strlen(base) + 16 > sizeof pending_path[0]) {
        destroy(f, 0);
        errno = ENAMETOOLONG;
        return KMQ_ERR_IO;
    }
    sigset_t old;
    block_signals(&old);
    int slot = -1;
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending_used[i]) {
            slot = i;
            break;
        }
    if (slot < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        destroy(f, 0);
        errno = EMFILE;
        return KMQ_ERR_IO;
    }
    char *tmp = pending_path[slot];
    /* "." + ".kmq-XXXXXX" add 12 bytes: a base of 244..255 bytes is cut
       short in the temporary name so that it stays within NAME_MAX. */
    int baselen = (int)strlen(base);
    if (baselen > NAME_MAX - 12)
        baselen = NAME_MAX - 12;
    snprintf(tmp, sizeof pending_path[0], "%.*s.%.*s.kmq-XXXXXX", (int)dirlen, path, baselen, base);
    f->fd = mkostemp(tmp, O_CLOEXEC);
    if (f->fd >= 0) {
        pending_used[slot] = 1;
        f->slot = slot;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (f->fd < 0) {
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

kmq_status kmq_outfile_write(kmq_outfile *f, const uint8_t *data, size_t len)
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

/* Data on disk before a name points at it: a crash leaves the old file or
   the new one, never a torn one.  Closes the descriptor. */
static kmq_status flush_file(kmq_outfile *f)
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
static kmq_status place(kmq_outfile *f)
{
    if (f->direct)
        return KMQ_OK;
    const char *tmp = pending_path[f->slot];
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

kmq_status kmq_outfile_commit(kmq_outfile *f)
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

kmq_status kmq_outfile_commit_all(kmq_outfile **f, int n, int *failed)
{
    kmq_status s = KMQ_OK;
    char *backup[KMQ_MAX_PAIR] = {NULL};
    int i, placed = 0;
    *failed = -1;
    if (n > KMQ_MAX_PAIR)
        return KMQ_ERR_ARG;
    for (i = 0; i < n && s == KMQ_OK; i++)
        if ((s = flush_file(f[i])) != KMQ_OK)
            *failed = i;
    sigset_t old;
    block_signals(&old); /* SIGINT/TERM/HUP/PIPE wait until the names are done */
    committing = 1;      /* ... on every thread: see on_signal */
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
    committing = 0;
    if (deferred_signal)
        on_signal(deferred_signal); /* the names are done: now die of it */
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return s;
}

void kmq_outfile_abort(kmq_outfile *f)
{
    if (f)
        destroy(f, 1);
}

kmq_status kmq_write_file_atomic(const char *path, const uint8_t *data, size_t len, int overwrite)
{
    kmq_outfile *f;
    kmq_status s = kmq_outfile_open(path, overwrite, &f);
    if (s != KMQ_OK)
        return s;
    if ((s = kmq_outfile_write(f, data, len)) != KMQ_OK) {
        kmq_outfile_abort(f);
        return s;
    }
    return kmq_outfile_commit(f);
}
