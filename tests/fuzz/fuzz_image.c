/* Fuzz target: every way kmq reads an image file — as an input image (with
   its metadata: PNG chunks, JPEG APP segments, EXIF orientation), as a label
   image and as a PNG8 — and, for small images, the quantizer and both
   encoders on whatever pixels came out, with the metadata written back. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kmq_image img;
    kmq_metadata meta;
    const kmq_decode_options opt = {.size = sizeof opt, .max_pixels = FUZZ_MAX_PIXELS,
                                    .keep_orientation = (int)(size >> 1 & 1)};
    if (kmq_image_decode_ex(data, size, &opt, &img, &meta, NULL) == KMQ_OK) {
        size_t n = (size_t)img.width * img.height;
        if (n <= 4096) {
            kmq_params p;
            kmq_params_default(&p);
            p.k = 4, p.n_init = 1, p.max_iter = 5, p.threads = 1;
            kmq_codebook cb;
            uint8_t *labels = malloc(n);
            if (labels && kmq_quantize(img.pixels, n, img.channels, &p, &cb, labels, NULL) == KMQ_OK) {
                uint8_t *out;
                size_t len;
                const kmq_png_options fast = {.size = sizeof fast, .level = 1, .threads = 1,
                                              .packed = (int)(size & 1)}; /* level 1, one thread */
                if (kmq_palette_sort(&cb, labels, img.width, img.height) == KMQ_OK &&
                    kmq_png8_encode(labels, img.width, img.height, &cb, &fast, &out, &len) == KMQ_OK)
                    free(out);
                if (kmq_labels_encode(labels, img.width, img.height, cb.k, &fast, &out, &len) == KMQ_OK) {
                    uint8_t *with;
                    size_t with_len;
                    kmq_metadata back;
                    if (kmq_labels_add_metadata(out, len, &meta, &cb, &with, &with_len) == KMQ_OK) {
                        if (kmq_png_read_metadata(with, with_len, &back) == KMQ_OK)
                            kmq_metadata_free(&back);
                        kmq_binding b;
                        if (kmq_labels_read_binding(with, with_len, &b) != KMQ_OK || !b.present ||
                            !kmq_binding_matches(&b, &cb))
                            abort(); /* the labels must name the codebook they were written with */
                        free(with);
                    }
                    if (kmq_png_add_metadata(out, len, &meta, &with, &with_len, NULL) == KMQ_OK)
                        free(with);
                    free(out);
                }
                kmq_codebook_free(&cb);
            }
            free(labels);
        }
        kmq_image_free(&img);
        kmq_metadata_free(&meta);
    }
    kmq_binding bound;
    const kmq_status bs = kmq_labels_read_binding(data, size, &bound);
    if (bs == KMQ_OK && bound.present && (bound.present != 1 || bound.k < 0 || bound.k > 65535))
        abort();
    /* damage is told, never read as "no binding" (issue 23) */
    if ((bs == KMQ_ERR_BINDING) != (bound.present == -1) ||
        (bs != KMQ_OK && bs != KMQ_ERR_BINDING && bs != KMQ_ERR_PNG_STRUCTURE && bs != KMQ_ERR_NOMEM))
        abort();
    if (kmq_png_read_metadata(data, size, &meta) == KMQ_OK)
        kmq_metadata_free(&meta);
    if (kmq_labels_decode(data, size, FUZZ_MAX_PIXELS, &img, NULL) == KMQ_OK)
        kmq_image_free(&img);
    kmq_codebook cb;
    if (kmq_png8_decode(data, size, FUZZ_MAX_PIXELS, &img, &cb, NULL) == KMQ_OK) {
        kmq_image_free(&img);
        kmq_codebook_free(&cb);
    }
    return 0;
}
