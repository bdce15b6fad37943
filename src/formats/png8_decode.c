/* PNG8 read back (kmq_png8_decode): any indexed-colour PNG, by libspng,
   as its labels and its palette (the codebook). */
#include "formats.h"
#include "why.h"

#include <spng.h>
#include <stdlib.h>
#include <string.h>

static kmq_status spng_status(int err)
{
    return err == SPNG_EMEM ? KMQ_ERR_NOMEM : KMQ_ERR_IMAGE_CORRUPT;
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
