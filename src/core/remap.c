/* Labels back to colours. */
#include "kmq.h"
#include "labels.h"
#include "why.h"

#include <string.h>

kmq_status kmq_labels_to_pixels(const uint8_t *labels, size_t npixels, const kmq_codebook *cb,
                                uint8_t *out, size_t *bad_index)
{
    kmq_status s = kmq_codebook_check(cb);
    if (s != KMQ_OK)
        return s;
    if (!labels)
        return kmq_arg("labels is NULL");
    if (!out)
        return kmq_arg("out is NULL");
    /* Validate everything before writing anything. */
    const size_t bad = kmq_first_bad_label(labels, npixels, cb->k);
    if (bad < npixels) {
        if (bad_index)
            *bad_index = bad;
        return kmq_why(KMQ_ERR_LABEL_RANGE, "labels[%zu] = %d is not below cb.k = %d", bad,
                       labels[bad], cb->k);
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
