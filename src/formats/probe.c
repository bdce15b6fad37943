/* What an image file is, from its headers alone (kmq_image_probe): its
   format, size and the channels kmq_image_decode would give, without
   decoding (or checking) its pixels -- what a caller needs to choose
   between decoding whole and streaming, or to size its buffers. */
#define _POSIX_C_SOURCE 200809L
#include "bytes.h"
#include "formats.h"
#include "sized.h"
#include "why.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <webp/decode.h>

/* Bytes [at, at + n) of fd: 1, or 0 when the file ends first or fails. */
static int read_at(int fd, uint64_t at, uint8_t *out, size_t n)
{
    for (size_t got = 0; got < n;) {
        const ssize_t r = pread(fd, out + got, n - got, (off_t)(at + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

static kmq_status corrupt(const char *format, const char **why)
{
    static _Thread_local char msg[64];
    memcpy(msg, "corrupt ", 8);
    strncpy(msg + 8, format, sizeof msg - 9);
    msg[sizeof msg - 1] = 0;
    strncat(msg, ": truncated header", sizeof msg - strlen(msg) - 1);
    *why = msg;
    return KMQ_ERR_IMAGE_CORRUPT;
}

/* PNG: the IHDR, then the chunk headers up to the first IDAT for a tRNS
   (which adds an alpha channel, as the decoders apply it). */
static kmq_status probe_png(int fd, uint64_t len, kmq_image_info *info, const char **why)
{
    uint8_t h[33];
    if (!read_at(fd, 0, h, sizeof h) || memcmp(h + 12, "IHDR", 4) || kmq_get_be32(h + 8) != 13)
        return corrupt("PNG", why);
    static const int channels[7] = {1, 0, 3, 3, 2, 0, 4};
    const int ct = h[25];
    if (ct > 6 || !channels[ct]) {
        *why = "corrupt PNG: invalid colour type";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    info->width = kmq_get_be32(h + 16), info->height = kmq_get_be32(h + 20);
    info->channels = channels[ct];
    info->streamable = h[28] == 0; /* not interlaced */
    for (uint64_t at = 33; at + 8 <= len;) {
        uint8_t c[8];
        if (!read_at(fd, at, c, 8) || !memcmp(c + 4, "IDAT", 4) || !memcmp(c + 4, "IEND", 4))
            break;
        if (!memcmp(c + 4, "tRNS", 4) && (ct == 0 || ct == 2 || ct == 3)) {
            info->channels++;
            break;
        }
        at += 12 + (uint64_t)kmq_get_be32(c);
    }
    return KMQ_OK;
}

static long fd_read(void *ctx, uint8_t *buf, size_t n)
{
    for (;;) {
        const ssize_t r = read(*(const int *)ctx, buf, n);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

/* TIFF and PNM: their row readers, which read the header and no pixel. */
static kmq_status probe_rows(int fd, uint64_t len, int tiff, kmq_image_info *info,
                             const char **why)
{
    kmq_metadata meta;
    kmq_meta_init(&meta);
    kmq_rows *rows;
    kmq_status s = tiff ? kmq_tiff_rows_open(fd, len, UINT64_MAX, &rows, &meta, why)
                        : kmq_pnm_rows_open(fd, len, UINT64_MAX, &rows, &meta, why);
    kmq_metadata_free(&meta);
    if (s != KMQ_OK)
        return s;
    info->width = rows->width, info->height = rows->height, info->channels = rows->channels;
    info->streamable = 1;
    rows->close(rows);
    return KMQ_OK;
}

static kmq_status probe(const char *path, kmq_image_info *info, const char **why)
{
    *why = NULL;
    if (!path || !info)
        return kmq_arg("%s is NULL", path ? "info" : "path");
    kmq_status s = kmq_size_check(info->size, KMQ_IMAGE_INFO_SIZE_MIN, sizeof *info, "info",
                                  "kmq_image_info");
    if (s != KMQ_OK)
        return s;
    kmq_image_info found = {.size = info->size};
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return KMQ_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const int e = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : ESPIPE;
        close(fd);
        errno = e; /* a pipe or a device cannot be read twice: decode it */
        return KMQ_ERR_IO;
    }
    const uint64_t len = (uint64_t)st.st_size;
    uint8_t magic[16] = {0};
    const size_t got = len < sizeof magic ? (size_t)len : sizeof magic;
    s = read_at(fd, 0, magic, got) ? KMQ_OK : KMQ_ERR_IO;
    if (s != KMQ_OK) {
    } else if (kmq_looks_like_png(magic, got)) {
        found.format = "PNG";
        s = probe_png(fd, len, &found, why);
    } else if (kmq_is_jpeg(magic, got) || kmq_is_bmp(magic, got)) {
        found.format = kmq_is_jpeg(magic, got) ? "JPEG" : "BMP";
        int fdr = fd, w, h, c;
        kmq_reader r = {fd_read, &fdr};
        if (kmq_stb_info_reader(&r, &w, &h, &c))
            found.width = (uint32_t)w, found.height = (uint32_t)h, found.channels = c;
        else
            s = corrupt(found.format, why);
    } else if (kmq_is_tiff(magic, got) || kmq_is_pnm(magic, got)) {
        found.format = kmq_is_tiff(magic, got) ? "TIFF" : "PNM";
        s = probe_rows(fd, len, kmq_is_tiff(magic, got), &found, why);
    } else if (kmq_is_webp(magic, got)) {
        found.format = "WebP";
        uint8_t head[4096];
        const size_t n = len < sizeof head ? (size_t)len : sizeof head;
        WebPBitstreamFeatures f;
        if (read_at(fd, 0, head, n) && WebPGetFeatures(head, n, &f) == VP8_STATUS_OK)
            found.width = (uint32_t)f.width, found.height = (uint32_t)f.height,
            found.channels = f.has_alpha ? 4 : 3;
        else
            s = corrupt("WebP", why);
    } else if (kmq_is_gif(magic, got)) {
        found.format = "GIF";
        int w, h, c;
        if ((s = kmq_gif_probe(fd, &w, &h, &c, why)) == KMQ_OK)
            found.width = (uint32_t)w, found.height = (uint32_t)h, found.channels = c;
    } else {
        *why = "not a PNG, JPEG, BMP, TIFF, WebP, PNM or GIF image";
        s = KMQ_ERR_IMAGE_FORMAT;
    }
    const int e = errno;
    close(fd);
    if (s == KMQ_OK && (!found.width || !found.height))
        s = corrupt(found.format, why);
    if (s == KMQ_OK)
        memcpy(info, &found, info->size);
    errno = e;
    return s;
}

kmq_status kmq_image_probe(const char *path, kmq_image_info *info, const char **why)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s = probe(path, info, &w);
    return kmq_why_out(s, w, why);
}
