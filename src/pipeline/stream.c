/* Compress and decompress for images larger than memory (see kmq.h): the
 * in-memory pipeline, a band of rows at a time.  compress reads the image
 * three times: (1) colour counts, then k-means on them; (2) labels, for
 * which labels touch (the palette order) and the filter trial's sample;
 * (3) labels again, in palette order, into the PNG writer.  Every step
 * computes what the in-memory one does, so the bytes are the same. */
#include "pipeline.h"
#include "sized.h"
#include "why.h"

#include <libdeflate.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

/* Rows per band: about 16 MB of pixels (at least one row). */
static uint32_t band_rows(const kmq_rows *r)
{
    const size_t row = (size_t)r->width * (size_t)r->channels;
    const size_t n = ((size_t)16 << 20) / (row ? row : 1);
    return n < 1 ? 1 : n > r->height ? r->height : (uint32_t)n;
}

/* The next band of a pass, added to the pass's checksum of its pixels. */
static kmq_status read_band(kmq_rows *r, uint8_t *pixels, uint32_t n, uint32_t *crc,
                            const char **why)
{
    kmq_status s = r->read(r, pixels, n, why);
    if (s == KMQ_OK)
        *crc = libdeflate_crc32(*crc, pixels, (size_t)n * r->width * (size_t)r->channels);
    return s;
}

/* The passes must read one file: a file rewritten in place between them
   would give a codebook of one image and labels of another, or of a mix.
   So a pass fails if the file's size or time changed since it was opened,
   or if its pixels' checksum is not the first pass's (a copy that keeps
   the time, cp -p); any failure (a short read, a colour the first pass did
   not see) once the file has changed is that change.  The checksum is
   libdeflate's CRC-32, 12.8 GB/s here: 8 ms a pass for a 36-MP RGB image
   whose streamed run takes 6 s. */
static kmq_status pass_end(const kmq_rows *r, kmq_status s, uint32_t crc, uint32_t first,
                           const char **why)
{
    if (s == KMQ_ERR_NOMEM)
        return s;
    if (kmq_rows_changed(r) || (s == KMQ_OK && crc != first)) {
        *why = NULL;
        return KMQ_ERR_INPUT_CHANGED;
    }
    return s;
}

/* The chunks kmq_labels_add_metadata (or, for an image, kmq_png_add_metadata)
   puts after the IHDR of a PNG of this colour type: *extra is malloc'd. */
static kmq_status chunks_after_ihdr(int colour_type, const kmq_metadata *meta,
                                    const kmq_codebook *cb, uint8_t **extra, size_t *extra_len,
                                    const char **warning)
{
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    uint8_t head[33], ihdr[13] = {0, 0, 0, 1, 0, 0, 0, 1, 8};
    ihdr[9] = (uint8_t)colour_type;
    memcpy(head, signature, 8);
    kmq_png_put_chunk(head + 8, "IHDR", ihdr, 13);
    uint8_t *with = NULL;
    size_t with_len = 0;
    kmq_status s = cb ? kmq_labels_add_metadata(head, sizeof head, meta, cb, &with, &with_len)
                      : kmq_png_add_metadata(head, sizeof head, meta, &with, &with_len, warning);
    *extra = NULL, *extra_len = 0;
    if (s != KMQ_OK)
        return s;
    *extra_len = with_len - sizeof head;
    memmove(with, with + sizeof head, *extra_len);
    *extra = with;
    return KMQ_OK;
}

static kmq_status stream_compress(kmq_rows *rows, const kmq_params *params, double target_psnr,
                                  const kmq_png_options *caller_o, const kmq_metadata *meta,
                                  kmq_sink *out, kmq_codebook *cb, kmq_stats *stats, int *reached,
                                  const char **why)
{
    *why = NULL;
    if (!cb)
        return kmq_arg("cb is NULL");
    memset(cb, 0, sizeof *cb);
    kmq_png_options opts;
    kmq_status s = kmq_params_check(params, NULL);
    if (s != KMQ_OK || (s = kmq_png_options_read(caller_o, &opts)) != KMQ_OK ||
        (s = kmq_stats_check(stats)) != KMQ_OK)
        return s;
    const kmq_png_options *o = &opts;
    if (o->exhaustive)
        return kmq_arg("o.exhaustive = %d: not available when streaming", o->exhaustive);
    if (!rows || !out)
        return kmq_arg("%s is NULL", rows ? "out" : "rows");
    if (target_psnr > 0 && !reached)
        return kmq_arg("reached is NULL");
    const uint32_t W = rows->width, H = rows->height, band = band_rows(rows);
    const size_t row_bytes = (size_t)W * (size_t)rows->channels;
    uint8_t *pixels = malloc(row_bytes * band), *labels = malloc((size_t)W * band),
            *above = malloc(W), *sample = NULL, *packed = NULL, *extra = NULL;
    uint64_t *touch = NULL;
    kmq_colours *colours = NULL;
    kmq_png_writer *writer = NULL;
    kmq_stats st;
    kmq_stats_init(&st);
    size_t extra_len = 0;
    s = pixels && labels && above ? KMQ_OK : KMQ_ERR_NOMEM;

    /* 1: the colours, then k-means. */
    uint32_t crc1 = 0, crc = 0;
    if (s == KMQ_OK)
        s = kmq_colours_new(rows->channels, &colours);
    for (uint32_t y = 0; y < H && s == KMQ_OK; y += band) {
        const uint32_t n = H - y < band ? H - y : band;
        if ((s = read_band(rows, pixels, n, &crc1, why)) == KMQ_OK)
            s = kmq_colours_add(colours, pixels, (size_t)n * W);
    }
    s = pass_end(rows, s, crc1, crc1, why);
    if (s == KMQ_OK)
        s = kmq_colours_quantize(colours, params, target_psnr, cb, &st, reached);

    /* 2: which labels touch, and the filter trial's sample (8-bit labels). */
    const int k = cb->k, bits = o->packed ? kmq_label_bits(k) : 8;
    const int every = kmq_filter_sample_every((int)W, (int)H);
    size_t sampled = 0;
    if (s == KMQ_OK && !(touch = calloc((size_t)k * k, sizeof *touch)))
        s = KMQ_ERR_NOMEM;
    if (s == KMQ_OK && bits == 8) {
        for (uint32_t y = 0; y < H; y++)
            sampled += kmq_filter_sampled((int)y, every);
        if (!(sample = malloc(sampled * W + 1)))
            s = KMQ_ERR_NOMEM;
    }
    if (s == KMQ_OK)
        s = rows->rewind(rows, why);
    size_t taken = 0;
    for (uint32_t y = 0; y < H && s == KMQ_OK; y += band) {
        const uint32_t n = H - y < band ? H - y : band;
        if ((s = read_band(rows, pixels, n, &crc, why)) != KMQ_OK ||
            (s = kmq_colours_label(colours, pixels, (size_t)n * W, labels)) != KMQ_OK ||
            (s = kmq_palette_touch(touch, k, labels, y ? above : NULL, (int)W, (int)n)) != KMQ_OK)
            break;
        memcpy(above, labels + (size_t)(n - 1) * W, W);
        for (uint32_t i = 0; sample && i < n; i++)
            if (kmq_filter_sampled((int)(y + i), every))
                memcpy(sample + taken++ * W, labels + (size_t)i * W, W);
    }
    s = pass_end(rows, s, crc, crc1, why);
    uint8_t where[KMQ_MAX_K];
    if (s == KMQ_OK)
        s = kmq_palette_order(cb, touch, where);
    int filter = 0;
    if (s == KMQ_OK && sample) {
        for (size_t i = 0; i < sampled * W; i++)
            sample[i] = where[sample[i]];
        filter = kmq_labels_filter_trial(sample, sampled, (int)W, o->level, o->threads);
    }
    free(sample), free(touch);
    sample = NULL;

    /* 3: the label PNG. */
    if (s == KMQ_OK)
        s = chunks_after_ihdr(0, meta, cb, &extra, &extra_len, NULL);
    if (s == KMQ_OK)
        s = kmq_png_writer_open(out, W, H, 0, bits, filter, o->level, o->threads, extra, extra_len,
                                &writer);
    if (s == KMQ_OK)
        s = rows->rewind(rows, why);
    crc = 0;
    for (uint32_t y = 0; y < H && s == KMQ_OK; y += band) {
        const uint32_t n = H - y < band ? H - y : band;
        if ((s = read_band(rows, pixels, n, &crc, why)) != KMQ_OK ||
            (s = kmq_colours_label(colours, pixels, (size_t)n * W, labels)) != KMQ_OK)
            break;
        for (size_t i = 0; i < (size_t)n * W; i++)
            labels[i] = where[labels[i]];
        if (bits < 8) {
            const size_t cols = kmq_pack_rows(labels, (int)W, (int)n, bits, &packed);
            s = cols ? kmq_png_writer_rows(writer, packed, n) : KMQ_ERR_NOMEM;
            free(packed);
            packed = NULL;
        } else {
            s = kmq_png_writer_rows(writer, labels, n);
        }
    }
    s = pass_end(rows, s, crc, crc1, why);
    if (writer) {
        if (s == KMQ_OK)
            s = kmq_png_writer_finish(writer);
        else
            kmq_png_writer_free(writer);
    }
    if (s == KMQ_OK && stats)
        kmq_stats_put(stats, &st);
    if (s != KMQ_OK)
        kmq_codebook_free(cb);
    kmq_colours_free(colours);
    free(pixels), free(labels), free(above), free(extra);
    return s;
}

kmq_status kmq_stream_compress(kmq_rows *rows, const kmq_params *params, double target_psnr,
                               const kmq_png_options *o, const kmq_metadata *meta, kmq_sink *out,
                               kmq_codebook *cb, kmq_stats *stats, int *reached, const char **why)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s =
        stream_compress(rows, params, target_psnr, o, meta, out, cb, stats, reached, &w);
    return kmq_why_out(s, w, why);
}

static kmq_status stream_decompress(const char *labels_path, uint64_t max_pixels,
                                    const kmq_codebook *cb, const kmq_metadata *meta,
                                    kmq_sink *out, uint64_t *bad_index, const char **why,
                                    const char **warning)
{
    const char *no_warning;
    if (!warning)
        warning = &no_warning;
    *why = NULL, *warning = NULL;
    kmq_status s = kmq_codebook_check(cb);
    if (s != KMQ_OK)
        return s;
    if (!labels_path || !out)
        return kmq_arg("%s is NULL", out ? "labels_path" : "out");
    int fd = open(labels_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return KMQ_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
        if (!S_ISDIR(st.st_mode))
            *why = "only a regular file can be streamed";
        close(fd);
        errno = e;
        return *why ? KMQ_ERR_IMAGE_FORMAT : KMQ_ERR_IO;
    }
    kmq_rows *rows = NULL;
    kmq_png_writer *writer = NULL;
    uint8_t *labels = NULL, *pixels = NULL, *extra = NULL;
    size_t extra_len = 0;
    static const int colour_type[5] = {0, 0, 4, 2, 6};
    s = kmq_png_label_rows_open(fd, (uint64_t)st.st_size,
                                           max_pixels ? max_pixels : KMQ_DEFAULT_MAX_STREAM_PIXELS,
                                           &rows, why);
    if (s == KMQ_OK)
        s = chunks_after_ihdr(colour_type[cb->channels], meta, NULL, &extra, &extra_len, warning);
    const uint32_t W = s == KMQ_OK ? rows->width : 0, H = s == KMQ_OK ? rows->height : 0;
    const uint32_t band = s == KMQ_OK ? band_rows(rows) : 0;
    if (s == KMQ_OK && (!(labels = malloc((size_t)W * band)) ||
                        !(pixels = malloc((size_t)W * band * (size_t)cb->channels))))
        s = KMQ_ERR_NOMEM;
    /* As kmq_png_encode writes an image: level 6, stb's filter choice. */
    if (s == KMQ_OK)
        s = kmq_png_writer_open(out, W, H, colour_type[cb->channels], 8, -1, 6, 0, extra,
                                extra_len, &writer);
    for (uint32_t y = 0; y < H && s == KMQ_OK; y += band) {
        const uint32_t n = H - y < band ? H - y : band;
        size_t bad = 0;
        if ((s = rows->read(rows, labels, n, why)) != KMQ_OK)
            break;
        s = kmq_labels_to_pixels(labels, (size_t)n * W, cb, pixels, &bad);
        if (s == KMQ_ERR_LABEL_RANGE && bad_index)
            *bad_index = (uint64_t)y * W + bad;
        if (s == KMQ_OK)
            s = kmq_png_writer_rows(writer, pixels, n);
    }
    if (writer) {
        if (s == KMQ_OK)
            s = kmq_png_writer_finish(writer);
        else
            kmq_png_writer_free(writer);
    }
    if (rows)
        rows->close(rows);
    int e = errno;
    close(fd);
    errno = e;
    free(labels), free(pixels), free(extra);
    return s;
}

kmq_status kmq_stream_decompress(const char *labels_path, uint64_t max_pixels,
                                 const kmq_codebook *cb, const kmq_metadata *meta, kmq_sink *out,
                                 uint64_t *bad_index, const char **why, const char **warning)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s =
        stream_decompress(labels_path, max_pixels, cb, meta, out, bad_index, &w, warning);
    return kmq_why_out(s, w, why);
}
