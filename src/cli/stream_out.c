/* Streamed output and input for the CLI: a kmq_sink over an output file
   (spooled when the output is a pipe, since a streamed PNG's chunk lengths
   are patched in at the end), and standard input or a pipe spooled to a
   temporary file so that it can be read more than once. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* A failed call on the spool: its errno kept for the report, which comes
   after the library has unwound (and may have changed errno). */
static kmq_status spool_error(stream_out *so)
{
    so->spool_errno = errno ? errno : EIO;
    return KMQ_ERR_IO;
}

static kmq_status out_write(void *ctx, const uint8_t *buf, size_t len)
{
    stream_out *so = ctx;
    so->written += len;
    kmq_status s = so->spool ? fwrite(buf, 1, len, so->spool) == len ? KMQ_OK : spool_error(so)
                             : kmq_outfile_write(so->f, buf, len);
    so->failed |= s != KMQ_OK;
    return s;
}

static kmq_status out_patch(void *ctx, uint64_t offset, const uint8_t *buf, size_t len)
{
    stream_out *so = ctx;
    kmq_status s = KMQ_OK;
    if (!so->spool)
        s = kmq_outfile_patch(so->f, offset, buf, len);
    else if (fseeko(so->spool, (off_t)offset, SEEK_SET) != 0 ||
             fwrite(buf, 1, len, so->spool) != len || fseeko(so->spool, 0, SEEK_END) != 0)
        s = spool_error(so);
    so->failed |= s != KMQ_OK;
    return s;
}

kmq_status stream_spool_output(stream_out *so)
{
    const int fd = stream_temp_fd();
    if (fd >= 0 && (so->spool = fdopen(fd, "w+b")))
        return KMQ_OK;
    const kmq_status s = spool_error(so);
    if (fd >= 0)
        close(fd);
    return s;
}

/* Copies the spool into the output. */
kmq_status stream_unspool(stream_out *so)
{
    if (!so->spool)
        return KMQ_OK;
    uint8_t buf[1 << 16];
    size_t n;
    if (fflush(so->spool) != 0 || fseeko(so->spool, 0, SEEK_SET) != 0)
        return spool_error(so);
    kmq_status s = KMQ_OK;
    while (s == KMQ_OK && (n = fread(buf, 1, sizeof buf, so->spool)) > 0)
        s = kmq_outfile_write(so->f, buf, n);
    if (s == KMQ_OK && ferror(so->spool))
        s = spool_error(so);
    so->failed |= s != KMQ_OK;
    return s;
}

int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int is_pipe(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* Whether the spooled bytes so far (at fd) start like an image that can be
   streamed: PNG, TIFF or PNM. */
static int streamable(int fd)
{
    uint8_t head[8] = {0};
    if (pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head)
        return 0;
    return !memcmp(head, "\x89PNG", 4) || !memcmp(head, "II*", 4) || !memcmp(head, "MM\0*", 4) ||
           (head[0] == 'P' && head[1] >= '1' && head[1] <= '7');
}

/* The folder of temporary files: $TMPDIR, else /tmp (*from_env says which). */
static const char *temp_dir(int *from_env)
{
    const char *dir = getenv("TMPDIR");
    *from_env = dir && *dir;
    return *from_env ? dir : "/tmp";
}

int stream_temp_fd(void)
{
    int env;
    const char *dir = temp_dir(&env);
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
        return fd;
    /* A file system without unnamed files (EOPNOTSUPP; EISDIR before Linux
       3.11): a named one, unlinked at once, as tmpfile() does. */
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.kmq-spool-XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
        unlink(path);
    return fd;
}

const char *stream_temp_reason(int err, char *buf, size_t size)
{
    int env;
    const char *dir = temp_dir(&env);
    snprintf(buf, size, "cannot make a temporary copy in %s (%s): %s", dir,
             env ? "TMPDIR" : "set TMPDIR to use another folder", strerror(err));
    return buf;
}

/* write() all of buf: a short write (a full disk takes what fits) is
   followed by another, whose failure sets errno to the cause. */
static int write_all(int fd, const uint8_t *buf, size_t n)
{
    while (n) {
        const ssize_t k = write(fd, buf, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (!k)
                errno = EIO;
            return -1;
        }
        buf += k, n -= (size_t)k;
    }
    return 0;
}

int stream_spool_input(const char *input, uint64_t cap, uint64_t stream_cap, char *name,
                       size_t size, int *err)
{
    const int in = strcmp(input, "-") ? open(input, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (in < 0) {
        *err = errno;
        return SPOOL_INPUT;
    }
    int fd = stream_temp_fd(), rc = SPOOL_TEMP;
    uint8_t buf[1 << 16];
    uint64_t total = 0;
    if (fd < 0)
        *err = errno;
    while (fd >= 0) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            rc = fd;
            break;
        }
        if (n < 0) {
            *err = errno;
            rc = SPOOL_INPUT;
            break;
        }
        /* Past what an image decoded whole can take, only an image that can
           be streamed goes on, up to what one of the streaming limit can. */
        if ((total += (uint64_t)n) > cap && (cap == stream_cap || !streamable(fd) ||
                                             (cap = stream_cap, total > cap))) {
            rc = SPOOL_TOO_LARGE;
            break;
        }
        if (write_all(fd, buf, (size_t)n) != 0) {
            *err = errno;
            break;
        }
    }
    if (in != STDIN_FILENO)
        close(in);
    if (rc < 0 && fd >= 0)
        close(fd);
    if (rc >= 0)
        snprintf(name, size, "/proc/self/fd/%d", fd);
    return rc;
}

kmq_sink stream_sink(stream_out *so)
{
    const kmq_sink sink = {out_write, out_patch, so};
    return sink;
}

uint64_t streamable_pixels(const char *path)
{
    kmq_image_info info = {.size = sizeof info};
    if (kmq_image_probe(path, &info, NULL) != KMQ_OK)
        return UINT64_MAX; /* unknown: the row reader finds out */
    return info.streamable ? (uint64_t)info.width * info.height : 0;
}

const char *stream_spool_reason(int rc, int err, char *buf, size_t size)
{
    if (rc == SPOOL_TOO_LARGE)
        return "too large: more data than an image within the pixel limit can hold";
    if (rc == SPOOL_TEMP)
        return stream_temp_reason(err, buf, size);
    return strerror(err);
}

void stream_spool_failed(const char *input, int rc, int err)
{
    char buf[4200];
    cli_error("%s: %s", cli_in_name(input), stream_spool_reason(rc, err, buf, sizeof buf));
}
