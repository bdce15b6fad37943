/* The size checks every decoder makes before it allocates: a cap on width,
 * height and pixels, and one on how many pixels a file of its length may
 * claim.  Below the decoders, which call them, and the dispatch in decode.c,
 * which calls the decoders. */
#include "formats.h"

#include <stdio.h>

kmq_status kmq_check_size(uint64_t w, uint64_t h, uint64_t max_pixels, const char **why)
{
    if (!max_pixels)
        max_pixels = KMQ_DEFAULT_MAX_PIXELS;
    if (w > KMQ_MAX_DIMENSION || h > KMQ_MAX_DIMENSION || w * h > max_pixels) {
        *why = "image is larger than the pixel limit";
        return KMQ_ERR_TOO_LARGE;
    }
    return KMQ_OK;
}

/* What a file of n bytes may claim.  Real content never packs tighter than
   about 2^15 pixels a byte in any codec kmq reads: deflate gives at most
   1032 bytes a byte, LZW 2731 pixels, JPEG 512 pixels (a bit a block),
   and a 4096-pixel copy in lossless WebP takes 10 extra bits.  Only images
   of (almost) one colour go further, and they go without limit: lossless
   WebP codes a one-colour image in 0 bits a pixel (a 34-byte file claiming
   16383 x 16383 took 1.8 GB and 7 s), ZSTD 32768 bytes a byte, CCITT G4 a
   bit a row.  Such a file is refused only when its pixels would take more
   than 512 MiB decoded: a blank G4 page scanned at 1200 dpi (an A3 one is
   277 MB of grey) is an honest file, and decodes; PNG, JPEG, BMP, PNM and
   GIF never reach the ratio (their own checks refuse earlier). */
#define FREE_BYTES ((uint64_t)1 << 29)
#define MAX_PIXELS_PER_BYTE ((uint64_t)1 << 15)

kmq_status kmq_check_density(uint64_t w, uint64_t h, int channels, uint64_t file_len,
                             const char **why)
{
    if (w * h * (uint64_t)channels <= FREE_BYTES || w * h / MAX_PIXELS_PER_BYTE <= file_len)
        return KMQ_OK;
    static _Thread_local char msg[200];
    snprintf(msg, sizeof msg,
             "too large for its size: %llux%llu pixels from %llu bytes (kmq takes at most %llu "
             "pixels a byte for images above 512 MiB decoded)",
             (unsigned long long)w, (unsigned long long)h, (unsigned long long)file_len,
             (unsigned long long)MAX_PIXELS_PER_BYTE);
    *why = msg;
    return KMQ_ERR_TOO_LARGE;
}

/* Deflate's best case is a 258-byte match coded in 2 bits (a 1-bit length
   code and a 1-bit distance code): 1032 bytes out of a byte in.  IDAT data
   of n bytes thus holds at most 1032 n bytes of rows, and an image whose
   pixels alone (packed, without the filter bytes) need more is truncated,
   whatever the decoder: a 142-byte PNG claiming 16384 x 16384 RGBA made
   stb take 2.1 GB and 7 s before it found the data short, an 88-byte
   interlaced one 2.1 GB on the default path. */
kmq_status kmq_png_check_size(const kmq_png_header *h, uint64_t max_pixels, const char **why)
{
    kmq_status s = kmq_check_size(h->width, h->height, max_pixels, why);
    if (s != KMQ_OK)
        return s;
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    const uint64_t bits = (uint64_t)h->width * h->height * (uint64_t)channels[h->colour_type] *
                          (uint64_t)h->bit_depth;
    if (bits / 8 > h->idat_bytes * 1032) {
        *why = "truncated PNG: too little image data for the size its header claims";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    return KMQ_OK;
}
