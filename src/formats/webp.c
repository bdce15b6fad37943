/* WebP input by libwebp: lossy (VP8) and lossless (VP8L), with or without
   alpha.  The size comes from WebPGetFeatures and is checked before
   anything is decoded; the pixels are decoded straight into one buffer of
   exactly width * height * channels bytes.  Animated WebP is refused: its
   first frame needs libwebpdemux (or a compositor of our own), and a frame
   decoded alone would silently differ from what viewers show. */
#include "formats.h"

#include <webp/decode.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kmq_is_webp(const uint8_t *buf, size_t len)
{
    return len >= 12 && !memcmp(buf, "RIFF", 4) && !memcmp(buf + 8, "WEBP", 4);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* libwebp's status in kmq's words. */
static kmq_status fail(VP8StatusCode c, const char **why)
{
    switch (c) {
    case VP8_STATUS_OUT_OF_MEMORY:
        *why = NULL; /* kmq_strerror says it */
        return KMQ_ERR_NOMEM;
    case VP8_STATUS_NOT_ENOUGH_DATA:
        *why = "corrupt WebP: truncated: the data ends early";
        return KMQ_ERR_IMAGE_CORRUPT;
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        *why = "unsupported WebP: a feature libwebp cannot decode";
        return KMQ_ERR_IMAGE_FORMAT;
    case VP8_STATUS_INVALID_PARAM:
        *why = "corrupt WebP: invalid header";
        return KMQ_ERR_IMAGE_CORRUPT;
    default:
        *why = "corrupt WebP: bad bitstream";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
}

/* The ICCP and EXIF chunks of an extended (VP8X) file into meta; chunks
   past the data (a truncated file) are left to the decoder to report. */
static kmq_status read_meta(const uint8_t *buf, size_t len, kmq_metadata *meta)
{
    if (len < 30 || memcmp(buf + 12, "VP8X", 4))
        return KMQ_OK;
    const uint32_t riff = le32(buf + 4);
    if (riff < len - 8)
        len = (size_t)riff + 8; /* bytes after the RIFF chunk are not ours */
    int exif = 0, iccp = 0;
    for (size_t at = 12; len - at >= 8;) {
        const uint32_t n = le32(buf + at + 4);
        if (n > len - at - 8)
            break;
        const uint8_t *d = buf + at + 8;
        if (!memcmp(buf + at, "ICCP", 4) && !iccp++ && n) {
            kmq_status s = kmq_meta_icc_profile(meta, d, n);
            if (s != KMQ_OK)
                return s;
        } else if (!memcmp(buf + at, "EXIF", 4) && !exif++) {
            /* some writers keep JPEG's "Exif\0\0" prefix */
            const size_t skip = n >= 6 && !memcmp(d, "Exif\0\0", 6) ? 6 : 0;
            kmq_meta_exif(meta, d + skip, n - skip);
        }
        at += 8 + (size_t)n + (n & 1); /* chunks are padded to even sizes */
        if (at > len)
            break;
    }
    return KMQ_OK;
}

kmq_status kmq_webp_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                           kmq_metadata *meta, const char **why)
{
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) {
        *why = "unsupported WebP: libwebp version mismatch";
        return KMQ_ERR_IMAGE_FORMAT;
    }
    VP8StatusCode c = WebPGetFeatures(buf, len, &config.input);
    if (c != VP8_STATUS_OK)
        return fail(c, why);
    const WebPBitstreamFeatures *f = &config.input;
    if (f->has_animation) {
        *why = "unsupported WebP: animated";
        return KMQ_ERR_IMAGE_FORMAT;
    }
    const uint64_t w = (uint64_t)f->width, h = (uint64_t)f->height;
    if (w < 1 || h < 1) {
        *why = "corrupt WebP: zero width or height";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    const int C = f->has_alpha ? 4 : 3;
    kmq_status s = kmq_check_size(w, h, max_pixels, why);
    if (s == KMQ_OK)
        s = kmq_check_density(w, h, C, len, why);
    if (s != KMQ_OK)
        return s;
    const size_t stride = (size_t)w * C, size = stride * (size_t)h;
    uint8_t *out = malloc(size);
    if (!out)
        return KMQ_ERR_NOMEM;
    config.output.colorspace = C == 4 ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = out;
    config.output.u.RGBA.stride = (int)stride;
    config.output.u.RGBA.size = size;
    c = WebPDecode(buf, len, &config);
    WebPFreeDecBuffer(&config.output); /* frees nothing of ours: memory is external */
    s = c == VP8_STATUS_OK ? read_meta(buf, len, meta) : fail(c, why);
    if (s != KMQ_OK) {
        free(out);
        return s;
    }
    img->width = (int)w, img->height = (int)h, img->channels = C, img->pixels = out;
    return KMQ_OK;
}
