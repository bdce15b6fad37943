/* Labels back to colours. */
#include "kmq.h"
#include "labels.h"

#include <string.h>

kmq_status kmq_labels_to_pixels(const uint8_t *labels, size_t npixels, const kmq_codebook *cb,
                                uint8_t *out, size_t *bad_index)
{
    if (kmq_codebook_check(cb) != KMQ_OK || !labels || !out)
        return KMQ_ERR_ARG;
    /* Validate everything before writing anything. */
    const size_t bad = kmq_first_bad_label(labels, npixels, cb->k);
    if (bad < npixels) {
        if (bad_index)
            *bad_index = bad;
        return KMQ_ERR_LABEL_RANGE;
    }
    const size_t C = (size_t)cb->channels;
    for (size_t i = 0; i < npixels; i++)
        memcpy(out + i * C, cb->entries + (size_t)labels[i] * C, C);
    return KMQ_OK;
}

kmq_status kmq_decode_labels(const uint8_t *labels, size_t npixels, const kmq_codebook *cb,
                             uint8_t *out, size_t *bad_index)
{
    return kmq_labels_to_pixels(labels, npixels, cb, out, bad_index);
}
