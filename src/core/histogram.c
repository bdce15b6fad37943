/* Distinct colours and their pixel counts, in O(pixels) with a growing
   open-addressing hash table (no 2^24-entry arrays), then sorted by key so
   that every later step sees the colours in one fixed order. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

uint32_t kmq_pack(const uint8_t *px, int channels)
{
    uint32_t key = 0;
    for (int c = 0; c < channels; c++)
        key |= (uint32_t)px[c] << (8 * c);
    return key;
}

static inline size_t slot_of(uint32_t key, size_t mask)
{
    /* Fibonacci hashing spreads neighbouring colours over the table. */
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static kmq_status grow(kmq_histogram *h)
{
    size_t cap = (h->mask + 1) * 2;
    uint32_t *keys = calloc(cap, sizeof *keys);
    uint32_t *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return KMQ_ERR_NOMEM;
    }
    for (size_t i = 0; i <= h->mask; i++) {
        if (!h->slot_val[i])
            continue;
        size_t s = slot_of(h->slot_key[i], cap - 1);
        while (vals[s])
            s = (s + 1) & (cap - 1);
        keys[s] = h->slot_key[i];
        vals[s] = h->slot_val[i];
    }
    free(h->slot_key);
    free(h->slot_val);
    h->slot_key = keys;
    h->slot_val = vals;
    h->mask = cap - 1;
    return KMQ_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

kmq_status kmq_histogram_build(const uint8_t *pixels, size_t npixels, int channels,
                               kmq_histogram *h)
{
    memset(h, 0, sizeof *h);
    if (channels < 1 || channels > KMQ_MAX_CHANNELS || npixels == 0 || npixels > UINT32_MAX)
        return KMQ_ERR_ARG;
    h->channels = channels;
    h->mask = 4095;
    h->slot_key = calloc(h->mask + 1, sizeof *h->slot_key);
    h->slot_val = calloc(h->mask + 1, sizeof *h->slot_val);
    if (!h->slot_key || !h->slot_val)
        goto nomem;

    /* Count pixels per colour; slot_val holds the count while counting. */
    size_t used = 0;
    uint32_t last_key = 0;
    size_t last_slot = SIZE_MAX;
    for (size_t i = 0; i < npixels; i++) {
        uint32_t key = kmq_pack(pixels + i * (size_t)channels, channels);
        if (key == last_key && last_slot != SIZE_MAX) { /* runs are common */
            h->slot_val[last_slot]++;
            continue;
        }
        size_t s = slot_of(key, h->mask);
        while (h->slot_val[s] && h->slot_key[s] != key)
            s = (s + 1) & h->mask;
        if (!h->slot_val[s]) {
            h->slot_key[s] = key;
            used++;
        }
        h->slot_val[s]++;
        last_key = key;
        last_slot = s;
        if (used * 2 > h->mask + 1) {
            if (grow(h) != KMQ_OK)
                goto nomem;
            last_slot = SIZE_MAX;
        }
    }

    /* Sort (key, count) pairs by key. */
    uint64_t *pairs = malloc(used * sizeof *pairs);
    h->keys = malloc(used * sizeof *h->keys);
    h->counts = malloc(used * sizeof *h->counts);
    if (!pairs || !h->keys || !h->counts) {
        free(pairs);
        goto nomem;
    }
    size_t n = 0;
    for (size_t s = 0; s <= h->mask; s++)
        if (h->slot_val[s])
            pairs[n++] = (uint64_t)h->slot_key[s] << 32 | h->slot_val[s];
    qsort(pairs, n, sizeof *pairs, cmp_u64);
    for (size_t i = 0; i < n; i++) {
        h->keys[i] = (uint32_t)(pairs[i] >> 32);
        h->counts[i] = (uint32_t)pairs[i];
    }
    free(pairs);
    h->n = n;

    /* From now on slot_val maps a key to its sorted position + 1. */
    for (size_t i = 0; i < n; i++) {
        size_t s = slot_of(h->keys[i], h->mask);
        while (h->slot_key[s] != h->keys[i])
            s = (s + 1) & h->mask;
        h->slot_val[s] = (uint32_t)(i + 1);
    }
    return KMQ_OK;

nomem:
    kmq_histogram_free(h);
    return KMQ_ERR_NOMEM;
}

size_t kmq_histogram_find(const kmq_histogram *h, uint32_t key)
{
    size_t s = slot_of(key, h->mask);
    while (h->slot_key[s] != key || !h->slot_val[s])
        s = (s + 1) & h->mask;
    return h->slot_val[s] - 1;
}

void kmq_histogram_free(kmq_histogram *h)
{
    free(h->keys);
    free(h->counts);
    free(h->slot_key);
    free(h->slot_val);
    memset(h, 0, sizeof *h);
}
