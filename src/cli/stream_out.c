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


static kmq_status out_write(void *ctx, const uint8_t *buf, size_t len)
{
    stream_out *so = ctx;
    so->written += len;
    kmq_status s = so->spool ? fwrite(buf, 1, len, so->spool) == len ? KMQ_OK : KMQ_ERR_IO
                             : outfile_write(so->f, buf, len);
    so->failed |= s != KMQ_OK;
    return s;
}

static kmq_status out_patch(void *ctx, uint64_t offset, const uint8_t *buf, size_t len)
{
    stream_out *so = ctx;
    kmq_status s = KMQ_OK;
    if (!so->spool)
        s = outfile_patch(so->f, offset, buf, len);
    else if (fseeko(so->spool, (off_t)offset, SEEK_SET) != 0 ||
             fwrite(buf, 1, len, so->spool) != len || fseeko(so->spool, 0, SEEK_END) != 0)
        s = KMQ_ERR_IO;
    so->failed |= s != KMQ_OK;
    return s;
}

/* Copies the spool into the output. */
kmq_status stream_unspool(stream_out *so)
{
    if (!so->spool)
        return KMQ_OK;
    uint8_t buf[1 << 16];
    size_t n;
    kmq_status s = fflush(so->spool) == 0 && fseeko(so->spool, 0, SEEK_SET) == 0 ? KMQ_OK : KMQ_ERR_IO;
    while (s == KMQ_OK && (n = fread(buf, 1, sizeof buf, so->spool)) > 0)
        s = outfile_write(so->f, buf, n);
    if (s == KMQ_OK && ferror(so->spool))
        s = KMQ_ERR_IO;
    so->failed |= s != KMQ_OK;
    return s;
}

int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
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

int stream_spool_input(const char *input, uint64_t cap, uint64_t stream_cap, char *name,
                       size_t size)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    const int in = strcmp(input, "-") ? open(input, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (in < 0)
        return SPOOL_INPUT;
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), rc = SPOOL_TEMP;
    uint8_t buf[1 << 16];
    uint64_t total = 0;
    while (fd >= 0) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            rc = fd;
            break;
        }
        if (n < 0) {
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
        if (write(fd, buf, (size_t)n) != n) /* a short write to a file is a full disk */
            break;
    }
    int e = errno;
    if (in != STDIN_FILENO)
        close(in);
    if (rc < 0 && fd >= 0)
        close(fd);
    errno = e;
    if (rc >= 0)
        snprintf(name, size, "/proc/self/fd/%d", fd);
    return rc;
}

kmq_sink stream_sink(stream_out *so)
{
    const kmq_sink sink = {out_write, out_patch, so};
    return sink;
}

uint64_t png_pixels(const char *path)
{
    uint8_t head[24];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    if (got != sizeof head || memcmp(head, "\x89PNG", 4) != 0)
        return 0;
    const uint64_t w = (uint64_t)head[16] << 24 | head[17] << 16 | head[18] << 8 | head[19];
    const uint64_t h = (uint64_t)head[20] << 24 | head[21] << 16 | head[22] << 8 | head[23];
    return w * h;
}

void stream_spool_failed(const char *input, int rc)
{
    if (rc == SPOOL_TOO_LARGE) {
        cli_report(input, KMQ_ERR_TOO_LARGE,
                   "too large: more data than an image within the pixel limit can hold");
    } else if (rc == SPOOL_TEMP) {
        const char *dir = getenv("TMPDIR");
        cli_error("%s: cannot make a temporary copy in %s (set TMPDIR): %s", cli_in_name(input),
                  dir && *dir ? dir : "/tmp", strerror(errno));
    } else {
        cli_report(input, KMQ_ERR_IO, NULL);
    }
}
