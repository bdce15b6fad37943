/* Distinct colours and their pixel counts, in O(pixels) with a growing
   open-addressing hash table (no 2^24-entry arrays), then sorted by key so
   that every later step sees the colours in one fixed order.  A slot holds
   key and value in one 64-bit word: one cache miss per probe, which is what
   a noisy 60-megapixel image costs. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SLOT(key, val) ((uint64_t)(key) << 32 | (uint32_t)(val))
#define SLOT_KEY(s) ((uint32_t)((s) >> 32))
#define SLOT_VAL(s) ((uint32_t)(s))

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
    uint64_t *slots = kmq_big_calloc(cap, sizeof *slots);
    if (!slots)
        return KMQ_ERR_NOMEM;
    for (size_t i = 0; i <= h->mask; i++) {
        if (!SLOT_VAL(h->slots[i]))
            continue;
        size_t s = slot_of(SLOT_KEY(h->slots[i]), cap - 1);
        while (slots[s])
            s = (s + 1) & (cap - 1);
        slots[s] = h->slots[i];
    }
    free(h->slots);
    h->slots = slots;
    h->mask = cap - 1;
    return KMQ_OK;
}

/* Sorts (key << 32 | count) pairs by key, one byte of the key per pass
   (LSD radix: linear, where qsort took a third of the histogram's time).
   Returns the sorted array: a or tmp. */
static uint64_t *sort_pairs(uint64_t *a, uint64_t *tmp, size_t n, int key_bytes)
{
    for (int b = 0; b < key_bytes; b++) {
        const int shift = 32 + 8 * b;
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((a[i] >> shift) & 0xFF) + 1]++;
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++)
            tmp[count[(a[i] >> shift) & 0xFF]++] = a[i];
        uint64_t *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}

/* Adds weight pixels of colour key; grows the table past half full. */
static kmq_status add(kmq_histogram *h, uint32_t key, uint32_t weight, size_t *used,
                      size_t *last_slot)
{
    size_t s = slot_of(key, h->mask);
    while (h->slots[s] && SLOT_KEY(h->slots[s]) != key)
        s = (s + 1) & h->mask;
    if (!h->slots[s]) {
        h->slots[s] = SLOT(key, 0);
        ++*used;
    }
    h->slots[s] += weight;
    *last_slot = s;
    if (*used * 2 > h->mask + 1) {
        *last_slot = SIZE_MAX;
        return grow(h);
    }
    return KMQ_OK;
}

/* Sorts the counted (key, count) slots by key into h->keys / h->counts and
   turns each slot's value into its colour's position + 1. */
static kmq_status finish(kmq_histogram *h, size_t used)
{
    uint64_t *pairs = kmq_big_malloc(used * sizeof *pairs), *tmp = kmq_big_malloc(used * sizeof *tmp);
    if (!pairs || !tmp) {
        free(pairs), free(tmp);
        return KMQ_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t s = 0; s <= h->mask; s++)
        if (h->slots[s])
            pairs[n++] = h->slots[s];
    const uint64_t *sorted = sort_pairs(pairs, tmp, n, h->channels);
    h->keys = kmq_big_malloc(used * sizeof *h->keys);
    h->counts = kmq_big_malloc(used * sizeof *h->counts);
    if (h->keys && h->counts)
        for (size_t i = 0; i < n; i++) {
            h->keys[i] = SLOT_KEY(sorted[i]);
            h->counts[i] = SLOT_VAL(sorted[i]);
        }
    free(pairs), free(tmp);
    if (!h->keys || !h->counts)
        return KMQ_ERR_NOMEM;
    h->n = n;
    for (size_t i = 0; i < n; i++) {
        size_t s = slot_of(h->keys[i], h->mask);
        while (SLOT_KEY(h->slots[s]) != h->keys[i])
            s = (s + 1) & h->mask;
        h->slots[s] = SLOT(h->keys[i], i + 1);
    }
    return KMQ_OK;
}

/* A table for up to about `expect` colours (grown when they are more):
   each doubling is a new table and a rehash. */
static kmq_status start(kmq_histogram *h, int channels, size_t expect)
{
    memset(h, 0, sizeof *h);
    h->channels = channels;
    h->mask = 4095;
    while (h->mask < 2 * expect && h->mask < ((size_t)1 << 22) - 1)
        h->mask = 2 * h->mask + 1;
    h->slots = kmq_big_calloc(h->mask + 1, sizeof *h->slots);
    return h->slots ? KMQ_OK : KMQ_ERR_NOMEM;
}

kmq_status kmq_histogram_start(kmq_histogram *h, int channels)
{
    memset(h, 0, sizeof *h);
    if (channels < 1 || channels > KMQ_MAX_CHANNELS)
        return KMQ_ERR_ARG;
    return start(h, channels, 0);
}

kmq_status kmq_histogram_add(kmq_histogram *h, const uint8_t *pixels, size_t npixels,
                             size_t *used)
{
    /* Count pixels per colour: the value is the count while counting. */
    const int channels = h->channels;
    kmq_status s = KMQ_OK;
    size_t last_slot = SIZE_MAX;
    uint32_t last_key = 0;
    for (size_t i = 0; i < npixels && s == KMQ_OK; i++) {
        uint32_t key = kmq_pack(pixels + i * (size_t)channels, channels);
        if (key == last_key && last_slot != SIZE_MAX) { /* runs are common */
            h->slots[last_slot]++;
            continue;
        }
        last_key = key;
        s = add(h, key, 1, used, &last_slot);
    }
    return s;
}

kmq_status kmq_histogram_finish(kmq_histogram *h, size_t used)
{
    return finish(h, used);
}

kmq_status kmq_histogram_build(const uint8_t *pixels, size_t npixels, int channels,
                               kmq_histogram *h)
{
    memset(h, 0, sizeof *h);
    if (channels < 1 || channels > KMQ_MAX_CHANNELS || npixels == 0 || npixels > UINT32_MAX)
        return KMQ_ERR_ARG;
    size_t used = 0;
    /* Photos have about one colour per four pixels and noisy ones nearly
       one per pixel: a quarter of the pixels is the first guess. */
    kmq_status s = start(h, channels, npixels / 4);
    if (s == KMQ_OK)
        s = kmq_histogram_add(h, pixels, npixels, &used);
    if (s == KMQ_OK)
        s = finish(h, used);
    if (s != KMQ_OK)
        kmq_histogram_free(h);
    return s;
}

kmq_status kmq_histogram_build_pixel_weights(const uint8_t *pixels, const uint8_t *weights,
                                             size_t npixels, int channels, kmq_histogram *h)
{
    memset(h, 0, sizeof *h);
    if (channels < 1 || channels > KMQ_MAX_CHANNELS || npixels == 0)
        return KMQ_ERR_ARG;
    uint64_t total = 0;
    for (size_t i = 0; i < npixels; i++)
        total += weights[i];
    if (total > UINT32_MAX)
        return KMQ_ERR_TOO_LARGE;
    size_t used = 0, last_slot = SIZE_MAX;
    uint32_t last_key = 0;
    kmq_status s = start(h, channels, npixels / 4);
    for (size_t i = 0; i < npixels && s == KMQ_OK; i++) {
        uint32_t key = kmq_pack(pixels + i * (size_t)channels, channels);
        if (key == last_key && last_slot != SIZE_MAX) {
            h->slots[last_slot] += weights[i];
            continue;
        }
        last_key = key;
        s = add(h, key, weights[i], &used, &last_slot);
    }
    if (s == KMQ_OK)
        s = finish(h, used);
    if (s != KMQ_OK)
        kmq_histogram_free(h);
    return s;
}

kmq_status kmq_histogram_build_weighted(const uint32_t *keys, const uint32_t *counts, size_t n,
                                        int channels, kmq_histogram *h)
{
    memset(h, 0, sizeof *h);
    if (channels < 1 || channels > KMQ_MAX_CHANNELS || n == 0)
        return KMQ_ERR_ARG;
    kmq_status s = start(h, channels, n);
    size_t used = 0, last_slot;
    for (size_t i = 0; i < n && s == KMQ_OK; i++)
        s = add(h, keys[i], counts[i], &used, &last_slot);
    if (s == KMQ_OK)
        s = finish(h, used);
    if (s != KMQ_OK)
        kmq_histogram_free(h);
    return s;
}

size_t kmq_histogram_find(const kmq_histogram *h, uint32_t key)
{
    size_t s = slot_of(key, h->mask);
    while (SLOT_KEY(h->slots[s]) != key || !SLOT_VAL(h->slots[s]))
        s = (s + 1) & h->mask;
    return SLOT_VAL(h->slots[s]) - 1;
}

void kmq_histogram_renumber(kmq_histogram *h, const uint32_t *where)
{
    for (size_t s = 0; s <= h->mask; s++)
        if (SLOT_VAL(h->slots[s]))
            h->slots[s] = SLOT(SLOT_KEY(h->slots[s]), where[SLOT_VAL(h->slots[s]) - 1] + 1);
}

void kmq_histogram_free(kmq_histogram *h)
{
    free(h->keys);
    free(h->counts);
    free(h->slots);
    memset(h, 0, sizeof *h);
}
