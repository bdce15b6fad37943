/* One-file output: an indexed PNG whose palette is the codebook and whose
 * pixels are the labels, written as label PNGs are (libdeflate on every
 * core: 3x quicker than libspng's zlib) and read back by
 * src/formats/png8_decode.c.  Grey codebooks become grey palette entries; a codebook with
 * alpha adds a tRNS chunk.  Reading it back gives the labels and the codebook
 * again, so `decompress` of a PNG8 is the same remap as labels + codebook. */
#include "png_io.h"
#include "labels.h"
#include "why.h"

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
