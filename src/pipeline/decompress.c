/* kmq decompress in memory, as one library call for the CLI and the Python
   module alike: a label PNG and its codebook (or one PNG8) -> checked
   (label image, codebook, the binding between them, every label < k) ->
   the pixels, and the colour metadata the PNG carries. */
#include "pipeline.h"
#include "sized.h"
#include "why.h"

#include <stdlib.h>
#include <string.h>

void kmq_decompress_options_default(kmq_decompress_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->metadata = 1;
}

void kmq_decompressed_free(kmq_decompressed *d)
{
    if (!d)
        return;
    kmq_image_free(&d->image);
    kmq_codebook_free(&d->codebook);
    kmq_metadata_free(&d->meta);
    const size_t size = d->size;
    memset(d, 0, sizeof *d);
    d->size = size;
}

/* The label image and codebook of a pair, or a PNG8's; the binding held
   to the codebook (unless o->ignore_binding, which records it). */
static kmq_status decode_inputs(const uint8_t *labels, size_t labels_len, const uint8_t *codebook,
                                size_t codebook_len, const kmq_decompress_options *o,
                                kmq_image *img, kmq_decompressed *d, const char **why)
{
    kmq_status s;
    if (!codebook)
        return kmq_png8_decode(labels, labels_len, o->max_pixels, img, &d->codebook, why);
    if ((s = kmq_labels_decode(labels, labels_len, o->max_pixels, img, why)) != KMQ_OK)
        return s;
    d->failed = 1;
    if ((s = kmq_codebook_decode(codebook, codebook_len, o->codebook_format, &d->codebook)) !=
        KMQ_OK)
        return s;
    d->failed = 0;
    s = kmq_labels_check_binding(labels, labels_len, &d->codebook, why);
    if (s == KMQ_ERR_PNG_STRUCTURE)
        return KMQ_OK; /* what the decoder took, whatever its signature says */
    if (s == KMQ_ERR_BINDING || s == KMQ_ERR_NOT_A_PAIR) {
        d->binding = s;
        return o->ignore_binding ? KMQ_OK : s;
    }
    return s;
}

static kmq_status decompress(const uint8_t *labels, size_t labels_len, const uint8_t *codebook,
                             size_t codebook_len, const kmq_decompress_options *opts,
                             kmq_decompressed *d, const char **why)
{
    *why = NULL;
    kmq_status s = kmq_result_open(d, KMQ_DECOMPRESSED_SIZE_MIN, sizeof *d, "d",
                                   "kmq_decompressed");
    if (s != KMQ_OK)
        return s;
    kmq_decompress_options o;
    kmq_decompress_options_default(&o);
    if ((s = kmq_sized_read(&o, sizeof o, opts, KMQ_DECOMPRESS_OPTIONS_SIZE_MIN, "o",
                            "kmq_decompress_options")) != KMQ_OK)
        return s;
    if (!labels)
        return kmq_arg("labels is NULL");
    kmq_image img = {0};
    s = decode_inputs(labels, labels_len, codebook, codebook_len, &o, &img, d, why);
    const size_t npixels = (size_t)img.width * (size_t)img.height;
    size_t bytes = 0;
    if (s == KMQ_OK && (__builtin_mul_overflow(npixels, (size_t)d->codebook.channels, &bytes) ||
                        !(d->image.pixels = malloc(bytes ? bytes : 1))))
        s = KMQ_ERR_NOMEM;
    d->image.width = img.width, d->image.height = img.height;
    d->image.channels = d->codebook.channels;
    if (s == KMQ_OK) {
        size_t bad = 0;
        s = kmq_labels_to_pixels(img.pixels, npixels, &d->codebook, d->image.pixels, &bad);
        if (s == KMQ_ERR_LABEL_RANGE)
            d->bad_index = bad, d->bad_label = img.pixels[bad];
    }
    /* The original's colour space and pixel size, from the label PNG's kmCp
       chunk or the PNG8's own chunks. */
    if (s == KMQ_OK && o.metadata)
        s = kmq_png_read_metadata(labels, labels_len, &d->meta);
    kmq_image_free(&img);
    if (s != KMQ_OK) { /* the size and the codebook stay, for the caller's message */
        free(d->image.pixels);
        d->image.pixels = NULL;
        kmq_metadata_free(&d->meta);
    }
    return s;
}

kmq_status kmq_decompress(const uint8_t *labels, size_t labels_len, const uint8_t *codebook,
                          size_t codebook_len, const kmq_decompress_options *o,
                          kmq_decompressed *d, const char **why)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s = decompress(labels, labels_len, codebook, codebook_len, o, d, &w);
    return kmq_why_out(s, w, why);
}
