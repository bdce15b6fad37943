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
    if (so->spool)
        return fwrite(buf, 1, len, so->spool) == len ? KMQ_OK : KMQ_ERR_IO;
    return outfile_write(so->f, buf, len);
}

static kmq_status out_patch(void *ctx, uint64_t offset, const uint8_t *buf, size_t len)
{
    stream_out *so = ctx;
    if (!so->spool)
        return outfile_patch(so->f, offset, buf, len);
    if (fseeko(so->spool, (off_t)offset, SEEK_SET) != 0 || fwrite(buf, 1, len, so->spool) != len ||
        fseeko(so->spool, 0, SEEK_END) != 0)
        return KMQ_ERR_IO;
    return KMQ_OK;
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
    return s;
}

int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Standard input or a pipe, when it is to be streamed, goes to an unnamed
   temporary file first (it cannot be read twice), of at most `cap` bytes;
   its name through /proc into name. */
int stream_spool_input(const char *input, uint64_t cap, char *name, size_t size)
{
    const char *dir = getenv("TMPDIR");
    const int in = strcmp(input, "-") ? open(input, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (in < 0)
        return -1;
    int fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (in != STDIN_FILENO)
            close(in);
        return -1;
    }
    uint8_t buf[1 << 16];
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (total += (uint64_t)n) > cap ||
            write(fd, buf, (size_t)n) != n) { /* a short write to a file is a full disk */
            if (n == 0)
                break;
            if (total > cap)
                errno = EFBIG;
            int e = errno;
            close(fd);
            if (in != STDIN_FILENO)
                close(in);
            errno = e;
            return -1;
        }
    }
    if (in != STDIN_FILENO)
        close(in);
    snprintf(name, size, "/proc/self/fd/%d", fd);
    return fd;
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
