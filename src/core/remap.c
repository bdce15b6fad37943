/* Labels back to colours. */
#include "kmq.h"

#include <string.h>

kmq_status kmq_decode_labels(const uint8_t *labels, size_t npixels, const kmq_codebook *cb,
                             uint8_t *out, size_t *bad_index)
{
    if (!labels || !cb || !cb->entries || !out || cb->channels < 1 ||
        cb->channels > KMQ_MAX_CHANNELS || cb->k < 1 || cb->k > KMQ_MAX_K)
        return KMQ_ERR_ARG;
    /* Validate everything before writing anything. */
    for (size_t i = 0; i < npixels; i++)
        if (labels[i] >= cb->k) {
            if (bad_index)
                *bad_index = i;
            return KMQ_ERR_LABEL_RANGE;
        }
    const size_t C = (size_t)cb->channels;
    for (size_t i = 0; i < npixels; i++)
        memcpy(out + i * C, cb->entries + (size_t)labels[i] * C, C);
    return KMQ_OK;
}
