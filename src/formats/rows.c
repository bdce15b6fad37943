/* kmq_rows: a file read top to bottom in bands, by the format's own row
   reader (PNG: png_rows.c, TIFF: tiff.c, PNM: pnm.c). */
#include "formats.h"
#include "why.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

static kmq_status rows_open(const char *path, uint64_t max_pixels, kmq_rows **rows,
                            kmq_metadata *meta, const char **why, size_t *file_size)
{
    *why = NULL;
    if (!path || !rows)
        return kmq_arg("%s is NULL", path ? "rows" : "path");
    *rows = NULL;
    kmq_metadata own;
    kmq_metadata *m = meta ? meta : &own;
    kmq_meta_init(m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return KMQ_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            errno = EISDIR;
        else
            *why = "only a regular file can be read twice (streamed)";
        int e = errno;
        close(fd);
        errno = e;
        return *why ? KMQ_ERR_IMAGE_FORMAT : KMQ_ERR_IO;
    }
    if (file_size)
        *file_size = (size_t)st.st_size;
    uint8_t magic[16] = {0};
    ssize_t got = pread(fd, magic, sizeof magic, 0);
    kmq_status s;
    if (got < 0) {
        s = KMQ_ERR_IO;
    } else {
        if (!max_pixels)
            max_pixels = KMQ_DEFAULT_MAX_STREAM_PIXELS;
        const size_t n = (size_t)got;
        const uint64_t len = (uint64_t)st.st_size;
        if (n >= 4 && !memcmp(magic, "\x89PNG", 4))
            s = kmq_png_rows_open(fd, len, max_pixels, rows, m, why);
        else if (kmq_is_tiff(magic, n))
            s = kmq_tiff_rows_open(fd, len, max_pixels, rows, m, why);
        else if (kmq_is_pnm(magic, n))
            s = kmq_pnm_rows_open(fd, len, max_pixels, rows, m, why);
        else {
            *why = "only PNG, TIFF and PNM images can be streamed";
            s = KMQ_ERR_IMAGE_FORMAT;
        }
    }
    if (s != KMQ_OK) {
        int e = errno;
        close(fd);
        kmq_metadata_free(m);
        errno = e;
        return s;
    }
    (*rows)->fd = fd;
    (*rows)->opened = st;
    if (!meta)
        kmq_metadata_free(&own);
    return KMQ_OK;
}

kmq_status kmq_rows_open(const char *path, uint64_t max_pixels, kmq_rows **rows,
                         kmq_metadata *meta, const char **why, size_t *file_size)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s = rows_open(path, max_pixels, rows, meta, &w, file_size);
    return kmq_why_out(s, w, why);
}

int kmq_rows_changed(const kmq_rows *r)
{
    return kmq_file_changed(r->fd, &r->opened);
}

void kmq_rows_size(const kmq_rows *r, int *width, int *height, int *channels)
{
    if (width)
        *width = r ? (int)r->width : 0;
    if (height)
        *height = r ? (int)r->height : 0;
    if (channels)
        *channels = r ? r->channels : 0;
}

kmq_status kmq_rows_read(kmq_rows *r, uint8_t *out, int n, const char **why)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s = !r        ? kmq_arg("rows is NULL")
                         : !out   ? kmq_arg("out is NULL")
                         : n < 0  ? kmq_arg("n = %d is below 0", n)
                                  : r->read(r, out, (uint32_t)n, &w);
    return kmq_why_out(s, w, why);
}

kmq_status kmq_rows_rewind(kmq_rows *r, const char **why)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s = r ? r->rewind(r, &w) : kmq_arg("rows is NULL");
    return kmq_why_out(s, w, why);
}

void kmq_rows_close(kmq_rows *r)
{
    if (!r)
        return;
    const int fd = r->fd;
    r->close(r);
    close(fd);
}
