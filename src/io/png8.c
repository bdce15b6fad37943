/* One-file output: an indexed PNG whose palette is the codebook and whose
 * pixels are the labels, written as label PNGs are (libdeflate on every
 * core: 3x quicker than libspng's zlib, which wrote them before) and read
 * with libspng.  Grey codebooks become grey palette entries; a codebook with
 * alpha adds a tRNS chunk.  Reading it back gives the labels and the codebook
 * again, so `decompress` of a PNG8 is the same remap as labels + codebook. */
#include "formats.h"
#include "stb_io.h"
#include "labels.h"
#include "why.h"

#include <spng.h>
#include <stdlib.h>
#include <string.h>

static kmq_status spng_status(int err)
{
    return err == SPNG_EMEM ? KMQ_ERR_NOMEM : KMQ_ERR_IMAGE_CORRUPT;
}

kmq_status kmq_png8_encode(const uint8_t *labels, int width, int height, const kmq_codebook *cb,
                           const kmq_png_options *o, uint8_t **out, size_t *out_len)
{
    kmq_why_clear();
    *out = NULL;
    kmq_png_options opts;
    kmq_status s = kmq_codebook_check(cb);
    if (s != KMQ_OK || (s = kmq_png_options_read(o, &opts)) != KMQ_OK)
        return s;
    o = &opts;
    if (!labels)
        return kmq_arg("labels is NULL");
    if (width < 1 || height < 1)
        return kmq_arg("the image is %d x %d pixels", width, height);
    const size_t n = (size_t)width * height, bad = kmq_first_bad_label(labels, n, cb->k);
    if (bad < n)
        return kmq_why(KMQ_ERR_LABEL_RANGE, "labels[%zu] = %d is not below cb.k = %d", bad,
                       labels[bad], cb->k);
    return kmq_png_encode_labels(labels, width, height, kmq_label_bits(cb->k), cb, o, out,
                                 out_len);
}

int kmq_is_indexed_png(const uint8_t *buf, size_t len)
{
    /* signature, IHDR length and type, width, height, depth, colour type */
    return len >= 26 && kmq_is_png(buf, len) && !memcmp(buf + 12, "IHDR", 4) && buf[25] == 3;
}

static kmq_status png8_decode(const uint8_t *buf, size_t len, uint64_t max_pixels,
                              kmq_image *labels, kmq_codebook *cb, const char **why)
{
    *why = NULL;
    if (!labels || !cb)
        return kmq_arg("%s is NULL", labels ? "cb" : "labels");
    memset(labels, 0, sizeof *labels);
    memset(cb, 0, sizeof *cb);
    kmq_png_header hdr;
    kmq_status s = kmq_png_check(buf, len, &hdr, why); /* structure and every CRC */
    if (s != KMQ_OK)
        return s;
    if (hdr.colour_type != 3) {
        *why = "it is not an indexed-colour (palette) PNG";
        return KMQ_ERR_NOT_INDEXED;
    }
    if ((s = kmq_png_check_size(&hdr, max_pixels, why)) != KMQ_OK)
        return s;
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx)
        return KMQ_ERR_NOMEM;
    uint8_t *raw = NULL, *idx = NULL;
    struct spng_ihdr ihdr;
    struct spng_plte plte;
    struct spng_trns trns;
    size_t raw_len = 0;
    int has_trns = 0;
    int err = spng_set_image_limits(ctx, KMQ_MAX_DIMENSION, KMQ_MAX_DIMENSION);
    if (!err)
        err = spng_set_png_buffer(ctx, buf, len);
    if (!err)
        err = spng_get_ihdr(ctx, &ihdr);
    if (!err)
        err = spng_get_plte(ctx, &plte);
    if (!err) {
        int t = spng_get_trns(ctx, &trns);
        if (t && t != SPNG_ECHUNKAVAIL)
            err = t;
        has_trns = !t;
    }
    if (!err)
        err = spng_decoded_image_size(ctx, SPNG_FMT_PNG, &raw_len);
    /* zeroed: for interlaced sub-byte images libspng ORs samples in */
    if (!err && !(raw = calloc(raw_len ? raw_len : 1, 1)))
        err = SPNG_EMEM;
    if (!err)
        err = spng_decode_image(ctx, raw, raw_len, SPNG_FMT_PNG, 0);
    spng_ctx_free(ctx);
    if (err) {
        free(raw);
        static _Thread_local char msg[160]; /* as the row reader says it */
        snprintf(msg, sizeof msg, "corrupt PNG: %s", spng_strerror(err));
        *why = err == SPNG_EMEM ? NULL : msg;
        return spng_status(err);
    }
    /* Unpack the indices (SPNG_FMT_PNG keeps the file's bit depth). */
    const size_t w = ihdr.width, h = ihdr.height, n = w * h;
    const int bits = ihdr.bit_depth;
    const size_t row = (w * bits + 7) / 8;
    if (!(idx = malloc(n ? n : 1))) {
        free(raw);
        return KMQ_ERR_NOMEM;
    }
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            size_t bit = x * bits;
            idx[y * w + x] = (uint8_t)((raw[y * row + bit / 8] >> (8 - bits - bit % 8)) &
                                       ((1u << bits) - 1));
        }
    free(raw);
    /* The palette is the codebook: grey if every entry is, alpha if tRNS. */
    const int k = (int)plte.n_entries;
    int grey = 1;
    for (int j = 0; j < k; j++)
        grey &= plte.entries[j].red == plte.entries[j].green &&
                plte.entries[j].red == plte.entries[j].blue;
    const int C = (grey ? 1 : 3) + has_trns;
    if (!(cb->entries = malloc((size_t)k * C))) {
        free(idx);
        return KMQ_ERR_NOMEM;
    }
    for (int j = 0; j < k; j++) {
        uint8_t *e = cb->entries + (size_t)j * C;
        e[0] = plte.entries[j].red;
        if (!grey)
            e[1] = plte.entries[j].green, e[2] = plte.entries[j].blue;
        if (has_trns)
            e[C - 1] = (uint32_t)j < trns.n_type3_entries ? trns.type3_alpha[j] : 255;
    }
    cb->k = k;
    cb->channels = C;
    labels->width = (int)w;
    labels->height = (int)h;
    labels->channels = 1;
    labels->pixels = idx;
    return KMQ_OK;
}

kmq_status kmq_png8_decode(const uint8_t *buf, size_t len, uint64_t max_pixels,
                           kmq_image *labels, kmq_codebook *cb, const char **why)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s = png8_decode(buf, len, max_pixels, labels, cb, &w);
    return kmq_why_out(s, w, why);
}

kmq_status kmq_png_encode_spng(const uint8_t *pixels, int width, int height, int channels,
                               uint8_t **out, size_t *out_len)
{
    static const uint8_t colour_type[5] = {0, SPNG_COLOR_TYPE_GRAYSCALE,
                                           SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, SPNG_COLOR_TYPE_TRUECOLOR,
                                           SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
    *out = NULL;
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx)
        return KMQ_ERR_NOMEM;
    struct spng_ihdr ihdr = {(uint32_t)width, (uint32_t)height, 8, colour_type[channels], 0, 0, 0};
    int err = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    if (!err)
        err = spng_set_ihdr(ctx, &ihdr);
    if (!err)
        err = spng_encode_image(ctx, pixels, (size_t)width * height * channels, SPNG_FMT_PNG,
                                SPNG_ENCODE_FINALIZE);
    if (!err) {
        *out = spng_get_png_buffer(ctx, out_len, &err); /* ours to free() */
        if (!*out && !err)
            err = SPNG_EMEM;
    }
    spng_ctx_free(ctx);
    return err ? spng_status(err) : KMQ_OK;
}
