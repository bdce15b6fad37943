/* One-file output: an indexed PNG whose palette is the codebook and whose
 * pixels are the labels, written as label PNGs are (libdeflate on every
 * core: 3x quicker than libspng's zlib) and read back by
 * src/formats/png8_decode.c.  Grey codebooks become grey palette entries; a codebook with
 * alpha adds a tRNS chunk.  Reading it back gives the labels and the codebook
 * again, so `decompress` of a PNG8 is the same remap as labels + codebook. */
#include "png_io.h"
#include "labels.h"

kmq_status kmq_png8_encode(const uint8_t *labels, int width, int height, const kmq_codebook *cb,
                           const kmq_png_options *o, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (kmq_codebook_check(cb) != KMQ_OK || !labels || !o || width < 1 || height < 1 ||
        o->level < 1 || o->level > KMQ_MAX_LEVEL || o->threads < 0 || o->threads > KMQ_MAX_THREADS)
        return KMQ_ERR_ARG;
    const size_t n = (size_t)width * height;
    if (kmq_first_bad_label(labels, n, cb->k) < n)
        return KMQ_ERR_LABEL_RANGE;
    return kmq_png_encode_labels(labels, width, height, kmq_label_bits(cb->k), cb, o, out,
                                 out_len);
}
