/* Fuzz target: the .npy codebook parser.  What it accepts must survive an
   encode + decode unchanged. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kmq_codebook cb, again;
    if (kmq_codebook_decode_npy(data, size, &cb) != KMQ_OK)
        return 0;
    uint8_t *out;
    size_t len;
    if (kmq_codebook_encode_npy(&cb, &out, &len) == KMQ_OK) {
        if (kmq_codebook_decode_npy(out, len, &again) != KMQ_OK || again.k != cb.k ||
            again.channels != cb.channels ||
            memcmp(again.entries, cb.entries, (size_t)cb.k * cb.channels) != 0)
            abort();
        kmq_codebook_free(&again);
        free(out);
    }
    kmq_codebook_free(&cb);
    return 0;
}
