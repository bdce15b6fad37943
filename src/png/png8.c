/* One-file output: an indexed PNG whose palette is the codebook and whose
 * pixels are the labels, written as label PNGs are (libdeflate on every
 * core: 3x quicker than libspng's zlib) and read back by
 * src/formats/png8_decode.c.  Grey codebooks become grey palette entries; a codebook with
 * alpha adds a tRNS chunk.  Reading it back gives the labels and the codebook
 * again, so `decompress` of a PNG8 is the same remap as labels + codebook. */
#include "png_io.h"
#include "why.h"

kmq_status kmq_png8_encode(const uint8_t *labels, int width, int height, const kmq_codebook *cb,
                           const kmq_png_options *o, uint8_t **out, size_t *out_len)
{
    kmq_why_clear();
    *out = NULL;
    kmq_png_options opts;
    kmq_status s = kmq_codebook_check(cb);
    if (s != KMQ_OK || (s = kmq_labels_args(labels, width, height, cb->k, "cb.k", o, &opts)) != KMQ_OK)
        return s;
    return kmq_png_encode_labels(labels, width, height, kmq_label_bits(cb->k), cb, &opts, out,
                                 out_len);
}
