/* PNGs read a row at a time (libspng's progressive decoding), for images
 * larger than memory.  Rows come out as the in-memory decoders give them
 * (stb, and kmq_png8_decode for palettes), so a streamed image is the same
 * image: 16-bit samples keep their high byte, 1/2/4-bit grey is scaled to
 * 0..255, a tRNS colour adds an alpha channel, palette indices beyond the
 * PLTE are opaque black.  Interlaced PNGs arrive pass by pass, not row by
 * row: they are refused here (the in-memory path reads them). */
#include "formats.h"

#include <errno.h>
#include <spng.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    kmq_rows rows;
    int fd;
    uint64_t file_len, pos;
    spng_ctx *ctx;
    struct spng_ihdr ihdr;
    struct spng_plte plte;
    struct spng_trns trns;
    int has_trns;
    uint8_t *raw;
    size_t raw_len;
    uint32_t next_row;
    int io_error;
    int labels; /* a label PNG's indices, not pixels */
} png_rows;

static int pread_all(int fd, uint8_t *dst, size_t n, uint64_t at)
{
    while (n) {
        ssize_t k = pread(fd, dst, n, (off_t)at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        dst += k, n -= (size_t)k, at += (uint64_t)k;
    }
    return 0;
}

static int spng_read(spng_ctx *ctx, void *user, void *dst, size_t n)
{
    (void)ctx;
    png_rows *p = user;
    if (n > p->file_len - p->pos)
        return SPNG_IO_EOF;
    if (pread_all(p->fd, dst, n, p->pos) != 0) {
        p->io_error = errno ? errno : EIO;
        return SPNG_IO_ERROR;
    }
    p->pos += n;
    return 0;
}

static kmq_status spng_failed(png_rows *p, int err, const char **why)
{
    if (err == SPNG_EMEM)
        return KMQ_ERR_NOMEM;
    if (p->io_error) {
        errno = p->io_error;
        return KMQ_ERR_IO;
    }
    static _Thread_local char msg[160];
    snprintf(msg, sizeof msg, "corrupt PNG: %s", spng_strerror(err));
    *why = msg;
    return KMQ_ERR_IMAGE_CORRUPT;
}

/* Starts libspng at the top of the file, ready for the first row. */
static kmq_status start(png_rows *p, const char **why)
{
    if (p->ctx)
        spng_ctx_free(p->ctx);
    p->pos = 0, p->next_row = 0, p->io_error = 0;
    if (!(p->ctx = spng_ctx_new(0)))
        return KMQ_ERR_NOMEM;
    int err = spng_set_image_limits(p->ctx, KMQ_MAX_DIMENSION, KMQ_MAX_DIMENSION);
    if (!err)
        err = spng_set_png_stream(p->ctx, spng_read, p);
    if (!err)
        err = spng_get_ihdr(p->ctx, &p->ihdr);
    if (!err && p->ihdr.color_type == 3)
        err = spng_get_plte(p->ctx, &p->plte);
    if (!err) {
        int t = spng_get_trns(p->ctx, &p->trns);
        if (t && t != SPNG_ECHUNKAVAIL)
            err = t;
        p->has_trns = !t;
    }
    if (!err)
        err = spng_decoded_image_size(p->ctx, SPNG_FMT_RAW, &p->raw_len);
    if (!err)
        err = spng_decode_image(p->ctx, NULL, 0, SPNG_FMT_RAW, SPNG_DECODE_PROGRESSIVE);
    return err ? spng_failed(p, err, why) : KMQ_OK;
}

/* One raw row (big-endian, packed) in the channels the decoders give. */
static void convert(const png_rows *p, const uint8_t *raw, uint8_t *out)
{
    const uint32_t w = p->ihdr.width;
    const int bits = p->ihdr.bit_depth, ct = p->ihdr.color_type, C = p->rows.channels;
    static const int samples[7] = {1, 0, 3, 1, 2, 0, 4};
    const int S = samples[ct];
    for (uint32_t x = 0; x < w; x++) {
        unsigned v[4];
        for (int c = 0; c < S; c++) { /* the sample at its own depth */
            const size_t i = (size_t)x * S + c;
            if (bits == 16)
                v[c] = (unsigned)raw[2 * i] << 8 | raw[2 * i + 1];
            else if (bits == 8)
                v[c] = raw[i];
            else
                v[c] = raw[i * bits / 8] >> (8 - bits - (int)(i * bits % 8)) & ((1u << bits) - 1);
        }
        uint8_t *o = out + (size_t)x * C;
        if (ct == 3) {
            const unsigned j = v[0];
            if (j < p->plte.n_entries) {
                o[0] = p->plte.entries[j].red, o[1] = p->plte.entries[j].green;
                o[2] = p->plte.entries[j].blue;
            } else {
                o[0] = o[1] = o[2] = 0;
            }
            if (C == 4)
                o[3] = j < p->plte.n_entries && j < p->trns.n_type3_entries ? p->trns.type3_alpha[j]
                                                                            : 255;
            continue;
        }
        for (int c = 0; c < S; c++)
            o[c] = (uint8_t)(bits == 16  ? v[c] >> 8
                             : bits == 8 ? v[c]
                                         : v[c] * (255u / ((1u << bits) - 1)));
        if (C > S) /* a tRNS colour: transparent where the sample matches it exactly */
            o[S] = (ct == 0 ? v[0] == p->trns.gray
                            : v[0] == p->trns.red && v[1] == p->trns.green && v[2] == p->trns.blue)
                       ? 0
                       : 255;
    }
}

static void unpack(const png_rows *p, uint8_t *o)
{
    const uint32_t w = p->rows.width;
    const int bits = p->ihdr.bit_depth;
    if (bits == 8) {
        memcpy(o, p->raw, w);
        return;
    }
    for (uint32_t x = 0; x < w; x++) {
        const size_t bit = (size_t)x * bits;
        o[x] = (uint8_t)(p->raw[bit / 8] >> (8 - bits - (int)(bit % 8)) & ((1u << bits) - 1));
    }
}

static kmq_status read_rows(kmq_rows *r, uint8_t *out, uint32_t n, const char **why)
{
    png_rows *p = (png_rows *)r;
    const size_t row = (size_t)r->width * r->channels;
    if (n > r->height - p->next_row) {
        *why = "read past the last row";
        return KMQ_ERR_ARG;
    }
    for (uint32_t i = 0; i < n; i++) {
        int err = spng_decode_row(p->ctx, p->raw, p->raw_len / r->height);
        if (err && !(err == SPNG_EOI && p->next_row + 1 == r->height))
            return spng_failed(p, err, why);
        if (p->labels) /* the samples as they are stored (indices), unpacked */
            unpack(p, out + i * row);
        else
            convert(p, p->raw, out + i * row);
        p->next_row++;
    }
    return KMQ_OK;
}

static kmq_status rewind_rows(kmq_rows *r, const char **why)
{
    return start((png_rows *)r, why);
}

static void close_rows(kmq_rows *r)
{
    png_rows *p = (png_rows *)r;
    if (!p)
        return;
    spng_ctx_free(p->ctx);
    free(p->raw);
    free(p);
}

/* The container check of the in-memory path, on the file by pread. */
typedef struct {
    int fd;
    uint64_t pos, len;
} fd_at;

static long fd_at_read(void *ctx, uint8_t *buf, size_t n)
{
    fd_at *f = ctx;
    if (n > f->len - f->pos)
        n = (size_t)(f->len - f->pos);
    if (!n)
        return 0;
    ssize_t k;
    do
        k = pread(f->fd, buf, n, (off_t)f->pos);
    while (k < 0 && errno == EINTR);
    if (k > 0)
        f->pos += (uint64_t)k;
    return k < 0 ? -1 : (long)k;
}

/* The reader for a checked PNG header: libspng started, a raw row buffer;
   rows of labels (one channel, indices), or of pixels in the channels the
   image decoders give (from the colour type and tRNS). */
static kmq_status open_checked(int fd, uint64_t file_len, const kmq_png_header *hdr, int labels,
                               kmq_rows **r, const char **why)
{
    if (hdr->interlace) {
        *why = "an interlaced PNG cannot be read a row at a time";
        return KMQ_ERR_IMAGE_FORMAT;
    }
    png_rows *p = calloc(1, sizeof *p);
    if (!p)
        return KMQ_ERR_NOMEM;
    p->fd = fd, p->file_len = file_len;
    p->rows.read = read_rows, p->rows.rewind = rewind_rows, p->rows.close = close_rows;
    p->labels = labels;
    kmq_status s = start(p, why);
    const int ct = p->ihdr.color_type;
    p->rows.width = p->ihdr.width, p->rows.height = p->ihdr.height;
    p->rows.channels = labels           ? 1
                       : ct == 0        ? 1 + p->has_trns
                       : ct == 2 || ct == 3 ? 3 + p->has_trns
                       : ct == 4        ? 2
                                        : 4;
    const size_t raw_row = s == KMQ_OK ? p->raw_len / p->ihdr.height : 0;
    if (s == KMQ_OK && !(p->raw = malloc(raw_row ? raw_row : 1)))
        s = KMQ_ERR_NOMEM;
    if (s != KMQ_OK) {
        close_rows(&p->rows);
        return s;
    }
    *r = &p->rows;
    return KMQ_OK;
}

kmq_status kmq_png_rows_open(int fd, uint64_t file_len, uint64_t max_pixels, kmq_rows **r,
                             kmq_metadata *meta, const char **why)
{
    *r = NULL;
    /* Structure, every CRC and the metadata chunks, as the in-memory path
       checks them, before any pixel is decoded. */
    fd_at f = {fd, 0, file_len};
    kmq_reader reader = {fd_at_read, &f};
    kmq_png_header hdr;
    kmq_status s = kmq_png_check_reader_meta(&reader, &hdr, meta, why);
    if (s != KMQ_OK)
        return s;
    if ((s = kmq_png_check_size(&hdr, max_pixels, why)) != KMQ_OK)
        return s;
    return open_checked(fd, file_len, &hdr, 0, r, why);
}

kmq_status kmq_png_label_rows_open(int fd, uint64_t file_len, uint64_t max_pixels, kmq_rows **r,
                                   const char **why)
{
    *r = NULL;
    uint8_t magic[8] = {0};
    const size_t got = file_len < 8 ? (size_t)file_len : 8;
    if (pread_all(fd, magic, got, 0) != 0)
        return KMQ_ERR_IO;
    kmq_status s = kmq_labels_magic(magic, got, why);
    if (s != KMQ_OK)
        return s;
    fd_at f = {fd, 0, file_len};
    kmq_reader reader = {fd_at_read, &f};
    kmq_png_header hdr;
    if ((s = kmq_png_check_reader(&reader, &hdr, why)) != KMQ_OK ||
        (s = kmq_labels_header(&hdr, max_pixels, why)) != KMQ_OK)
        return s;
    return open_checked(fd, file_len, &hdr, 1, r, why);
}
