/* Output files written atomically (kmq_outfile_*, kmq_files_write): a
   temporary file beside the target, fully written, flushed and closed, then
   renamed into place; a pair is given its names together or not at all.
   The library keeps no process-wide state: a caller that removes temporary
   files on signals (the CLI) passes a kmq_temp_guard, which hears of every
   temporary file made and gone, and holds its signals while names change. */
#define _POSIX_C_SOURCE 200809L
#include "pipeline.h"
#include "why.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct kmq_outfile {
    int fd;
    int overwrite;
    int direct;  /* writing straight into a device or FIFO: no temp, no rename */
    int made;    /* tmp exists (and the guard knows of it) */
    char *path;
    char *tmp;   /* the temporary file: "<dir>/.<base>.kmq-XXXXXX" */
    const kmq_temp_guard *guard;
};

static void guard_hold(const kmq_temp_guard *g)
{
    if (g && g->hold)
        g->hold(g->ctx);
}

static void guard_release(const kmq_temp_guard *g)
{
    if (g && g->release)
        g->release(g->ctx);
}

/* Creates f's temporary file from the template f->tmp and tells the guard,
   as one step for it: a file that exists is known. */
static int create_temp(kmq_outfile *f)
{
    const kmq_temp_guard *g = f->guard;
    guard_hold(g);
    f->fd = mkostemp(f->tmp, O_CLOEXEC);
    if (f->fd >= 0) {
        f->made = 1;
        if (g && g->listed && g->listed(g->ctx, f->tmp) != 0) {
            unlink(f->tmp);
            close(f->fd);
            f->fd = -1, f->made = 0;
            errno = ENOMEM;
        }
    }
    guard_release(g);
    return f->fd;
}

/* f's temporary file is gone (removed here if asked, or given its name):
   the guard hears of it, and then no signal handler of its can reach f. */
static void temp_gone(kmq_outfile *f, int remove_temp)
{
    if (!f->made)
        return;
    const kmq_temp_guard *g = f->guard;
    guard_hold(g);
    if (remove_temp)
        unlink(f->tmp);
    if (g && g->unlisted)
        g->unlisted(g->ctx, f->tmp);
    f->made = 0;
    guard_release(g);
}

/* ---- atomic writing ---- */

static void destroy(kmq_outfile *f, int remove_temp)
{
    int e = errno;
    if (f->fd >= 0 && f->fd != STDOUT_FILENO)
        close(f->fd);
    temp_gone(f, remove_temp);
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

kmq_status kmq_outfile_open(const char *path, int overwrite, const kmq_temp_guard *guard,
                            kmq_outfile **out)
{
    kmq_why_clear();
    if (!path || !out)
        return kmq_arg("%s is NULL", path ? "out" : "path");
    *out = NULL;
    kmq_outfile *f = calloc(1, sizeof *f);
    if (!f)
        return KMQ_ERR_NOMEM;
    f->fd = -1;
    f->overwrite = overwrite;
    f->guard = guard;
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
    if (create_temp(f) < 0) {
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
    kmq_why_clear();
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

kmq_status kmq_outfile_patch(kmq_outfile *f, uint64_t offset, const uint8_t *data, size_t len)
{
    kmq_why_clear();
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

int kmq_outfile_seekable(const kmq_outfile *f)
{
    struct stat st;
    return fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode);
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

/* The folder's entry for the new name on disk too, so that a crash after
   the commit cannot lose it (best effort: some file systems refuse). */
static void sync_folder(const kmq_outfile *f)
{
    if (f->direct)
        return;
    const char *slash = strrchr(f->path, '/');
    char *dir = slash ? strndup(f->path, slash == f->path ? 1 : (size_t)(slash - f->path)) : NULL;
    const int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

kmq_status kmq_outfile_commit(kmq_outfile *f)
{
    kmq_why_clear();
    kmq_status s = flush_file(f);
    if (s == KMQ_OK)
        s = place(f);
    if (s == KMQ_OK)
        sync_folder(f);
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
    kmq_why_clear();
    if (n > KMQ_MAX_PAIR)
        return kmq_arg("n = %d is above %d", n, KMQ_MAX_PAIR);
    for (i = 0; i < n && s == KMQ_OK; i++)
        if ((s = flush_file(f[i])) != KMQ_OK)
            *failed = i;
    const kmq_temp_guard *g = n > 0 ? f[0]->guard : NULL;
    guard_hold(g); /* the guard's signals wait until the names are done */
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
    for (i = 0; i < n && s == KMQ_OK; i++)
        sync_folder(f[i]);
    for (i = 0; i < n; i++) {
        if (backup[i])
            unlink(backup[i]); /* already renamed back if it was needed */
        free(backup[i]);
        destroy(f[i], !f[i]->direct && !(i < placed && f[i]->overwrite && s == KMQ_OK));
    }
    guard_release(g); /* the names are done: a signal that waited acts now */
    errno = e;
    return s;
}

void kmq_outfile_abort(kmq_outfile *f)
{
    if (f)
        destroy(f, 1);
}

kmq_status kmq_files_write(int n, const char *const *paths, const uint8_t *const *data,
                          const size_t *lens, int overwrite, const kmq_temp_guard *guard,
                          int *failed)
{
    kmq_outfile *f[KMQ_MAX_PAIR] = {NULL};
    kmq_status s = KMQ_OK;
    int i, dummy;
    if (!failed)
        failed = &dummy;
    *failed = -1;
    kmq_why_clear();
    if (n < 1 || n > KMQ_MAX_PAIR)
        return kmq_arg("n = %d is outside 1..%d", n, KMQ_MAX_PAIR);
    if (!paths || !data || !lens)
        return kmq_arg("%s is NULL", !paths ? "paths" : !data ? "data" : "lens");
    /* every name is tried before any byte is written */
    for (i = 0; i < n && s == KMQ_OK; i++)
        s = kmq_outfile_open(paths[i], overwrite, guard, &f[i]);
    for (int j = 0; j < n && s == KMQ_OK; j++)
        if ((s = kmq_outfile_write(f[j], data[j], lens[j])) != KMQ_OK)
            i = j + 1;
    if (s != KMQ_OK) {
        int e = errno;
        *failed = i - 1;
        for (i = 0; i < n; i++)
            kmq_outfile_abort(f[i]);
        errno = e;
        return s;
    }
    return kmq_outfile_commit_all(f, n, failed);
}
