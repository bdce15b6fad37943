/* An independent PNG writer for the tests: libspng, from rows already packed
   at the image's bit depth. */
#ifndef KMQ_TEST_SPNG_WRITER_H
#define KMQ_TEST_SPNG_WRITER_H

#include <criterion/criterion.h>
#include <spng.h>

/* plte may be NULL (no palette); returns a malloc'd PNG. */
static inline uint8_t *spng_write(int w, int h, int bits, int colour_type, int interlace,
                                  struct spng_plte *plte, const uint8_t *rows, size_t rows_len,
                                  size_t *len)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {(uint32_t)w, (uint32_t)h, (uint8_t)bits, (uint8_t)colour_type, 0, 0,
                             (uint8_t)interlace};
    cr_assert_eq(spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1), 0);
    cr_assert_eq(spng_set_ihdr(ctx, &ihdr), 0);
    if (plte)
        cr_assert_eq(spng_set_plte(ctx, plte), 0);
    cr_assert_eq(spng_encode_image(ctx, rows, rows_len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE), 0);
    int err;
    uint8_t *png = spng_get_png_buffer(ctx, len, &err);
    spng_ctx_free(ctx);
    cr_assert(png, "spng: %d", err);
    return png;
}

#endif
