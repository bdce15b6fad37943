/* Fuzz target: the .bin codebook parser.  What it accepts must encode back
   to the very same bytes. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kmq_codebook cb;
    if (kmq_codebook_decode_bin(data, size, &cb) != KMQ_OK)
        return 0;
    uint8_t *out;
    size_t len;
    if (kmq_codebook_encode_bin(&cb, &out, &len) == KMQ_OK) {
        if (len != size || memcmp(out, data, size) != 0)
            abort(); /* accepted, but not what we would write */
        free(out);
    }
    kmq_codebook_free(&cb);
    return 0;
}
