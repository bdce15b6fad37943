/* The one check every function that takes labels makes before it trusts
   them as indices (decode, palette sort, label PNG and PNG8 encoders). */
#ifndef KMQ_SHARED_LABELS_H
#define KMQ_SHARED_LABELS_H

#include <stddef.h>
#include <stdint.h>

/* The index of the first label >= k, or n if there is none.  Blocks are
   scanned for their maximum first (a loop the compiler vectorises), so a
   valid image costs a fraction of a millisecond per megapixel. */
static inline size_t kmq_first_bad_label(const uint8_t *labels, size_t n, int k)
{
    enum { BLOCK = 4096 };
    for (size_t at = 0; at < n; at += BLOCK) {
        const size_t end = n - at < BLOCK ? n : at + BLOCK;
        uint8_t max = 0;
        for (size_t i = at; i < end; i++)
            max = labels[i] > max ? labels[i] : max;
        if (max >= k)
            for (size_t i = at; i < end; i++)
                if (labels[i] >= k)
                    return i;
    }
    return n;
}

#endif
