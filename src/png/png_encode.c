/* True-colour PNGs (kmq_png_encode): stb_image_write, whose per-row filter
   choice suits photographs, or libspng for images past stb's int sizes. */
#include "png_io.h"
#include "why.h"

#include <limits.h>
#include <spng.h>

static kmq_status spng_status(int err)
{
    return err == SPNG_EMEM ? KMQ_ERR_NOMEM : KMQ_ERR_IMAGE_CORRUPT;
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

static kmq_status encode(const uint8_t *pixels, int width, int height, int channels, int level,
                         uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (!pixels)
        return kmq_arg("pixels is NULL");
    if (width < 1 || height < 1)
        return kmq_arg("the image is %d x %d pixels", width, height);
    if (channels < 1 || channels > KMQ_MAX_CHANNELS)
        return kmq_arg("channels = %d is outside 1..%d", channels, KMQ_MAX_CHANNELS);
    /* stb_image_write sizes its buffers with int arithmetic: beyond that,
       libspng writes the image (every image the decoders allow fits). */
    if (((uint64_t)width * channels + 1) * (uint64_t)height > INT_MAX / 2)
        return width <= KMQ_MAX_DIMENSION && height <= KMQ_MAX_DIMENSION
                   ? kmq_png_encode_spng(pixels, width, height, channels, out, out_len)
                   : KMQ_ERR_TOO_LARGE;
    int n = 0;
    uint8_t *p = kmq_stb_write_png(pixels, width, height, channels, level, 0, &n);
    if (!p)
        return KMQ_ERR_NOMEM;
    *out = p;
    *out_len = (size_t)n;
    return KMQ_OK;
}

kmq_status kmq_png_encode(const uint8_t *pixels, int width, int height, int channels,
                          uint8_t **out, size_t *out_len)
{
    kmq_why_clear();
    /* Photographic output: stb's per-row filter choice pays off. */
    return encode(pixels, width, height, channels, 6, out, out_len);
}
