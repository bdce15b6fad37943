/* Fuzz target: decompress from memory.  The input is a label image and a
   codebook (.bin or .npy) back to back: the first two bytes give the label
   image's length (little-endian). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t llen = (size_t)data[0] | (size_t)data[1] << 8;
    if (llen > size - 2)
        llen = size - 2;
    const uint8_t *lab = data + 2, *cbuf = lab + llen;
    const size_t clen = size - 2 - llen;
    kmq_image labels;
    if (kmq_labels_decode(lab, llen, FUZZ_MAX_PIXELS, &labels, NULL) != KMQ_OK)
        return 0;
    kmq_codebook cb;
    kmq_status s = clen >= 6 && !memcmp(cbuf, "\x93NUMPY", 6) ? kmq_codebook_decode_npy(cbuf, clen, &cb)
                                                            : kmq_codebook_decode_bin(cbuf, clen, &cb);
    if (s == KMQ_OK) {
        size_t n = (size_t)labels.width * labels.height;
        uint8_t *px = malloc(n * (size_t)cb.channels);
        if (px && kmq_labels_to_pixels(labels.pixels, n, &cb, px, NULL) == KMQ_OK) {
            uint8_t *png;
            size_t len;
            if (kmq_png_encode(px, labels.width, labels.height, cb.channels, &png, &len) == KMQ_OK)
                free(png);
        }
        free(px);
        kmq_codebook_free(&cb);
    }
    kmq_image_free(&labels);
    return 0;
}
