/* The translation unit that compiles stb_image (from Debian's libstb-dev
 * headers), configured for kmq:
 *  - only the decoders kmq supports (PNG, JPEG, BMP): less attack surface;
 *  - a dimension cap, so absurd headers fail before any allocation;
 *  - every allocation counted against a budget (below).
 * stb_image_write has its own unit, src/png/stb_write.c: the writer belongs
 * to the PNG layer, below the decoders. */
#include "big_alloc.h"
#include "formats.h"

#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- an allocation budget for the decoders ----
 * stb_image trusts sizes it reads from the file: a few kilobytes of PNG can
 * make its zlib decoder grow a buffer to gigabytes.  Every stb allocation is
 * counted against a budget that the caller derives from the image's
 * dimensions (kmq_stb_budget); going over it fails the allocation, which stb
 * reports as "outofmem".  Blocks are plain malloc blocks, sized by
 * malloc_usable_size, so the pixels stb returns are the caller's to free()
 * like every other buffer the library returns.
 * Blocks come zeroed: stb 2.27 reads memory it never wrote on some broken
 * JPEGs (a Huffman table no DHT defined, coefficients no scan covered), and
 * zeroes make such a file decode the same way every time.  (calloc: large
 * blocks are fresh zero pages, no memset.)  The budget is per thread: two
 * threads decode at once without sharing it. */
static _Thread_local size_t budget_left = SIZE_MAX; /* SIZE_MAX: no budget */
static _Thread_local int budget_hit;

static void budget_take(size_t n)
{
    if (budget_left != SIZE_MAX)
        budget_left = n < budget_left ? budget_left - n : 0;
}

static void budget_give(size_t n)
{
    if (budget_left != SIZE_MAX)
        budget_left = n < SIZE_MAX - 1 - budget_left ? budget_left + n : SIZE_MAX - 1;
}

static void *budget_malloc(size_t n)
{
    if (n > budget_left) {
        budget_hit = 1;
        return NULL;
    }
    void *p = kmq_big_calloc(1, n ? n : 1);
    if (p)
        budget_take(malloc_usable_size(p));
    return p;
}

static void budget_free(void *p)
{
    if (!p)
        return;
    budget_give(malloc_usable_size(p));
    free(p);
}

static void *budget_realloc(void *p, size_t n)
{
    if (!p)
        return budget_malloc(n);
    const size_t old = malloc_usable_size(p);
    if (n > old && n - old > budget_left) {
        budget_hit = 1;
        return NULL;
    }
    void *q = kmq_big_realloc(p, old, n);
    if (!q)
        return NULL;
    budget_give(old);
    budget_take(malloc_usable_size(q));
    return q;
}

size_t kmq_stb_budget(uint64_t width, uint64_t height, size_t file_len)
{
    /* The worst case measured for stb: 16-bit RGBA PNG, whose inflated rows
       (8 B/pixel, in a buffer grown by doubling), the 16-bit image and the
       8-bit result add up to ~32 B/pixel; plus the compressed data. */
    uint64_t b = width * height * 40 + 2 * (uint64_t)file_len + (1u << 20);
    return b < SIZE_MAX ? (size_t)b : SIZE_MAX - 1;
}

#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS KMQ_MAX_DIMENSION
#define STBI_MALLOC(n) budget_malloc(n)
#define STBI_REALLOC(p, n) budget_realloc(p, n)
#define STBI_FREE(p) budget_free(p)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION

#include "stb_quiet.h"
#include <stb_image.h>


uint8_t *kmq_stb_load(const uint8_t *buf, size_t len, size_t budget, int *w, int *h,
                      int *channels, int req_channels, const char **why)
{
    if (len > INT_MAX) {
        *why = "file too large for the decoder";
        return NULL;
    }
    budget_left = budget, budget_hit = 0;
    uint8_t *p = stbi_load_from_memory(buf, (int)len, w, h, channels, req_channels);
    budget_left = SIZE_MAX;
    if (!p)
        *why = budget_hit ? KMQ_WHY_BUDGET : stbi_failure_reason();
    return p;
}

/* stb's callbacks on top of a kmq_reader; skip is only ever forward here. */
typedef struct {
    kmq_reader *r;
    int eof;
} cb_state;

static int cb_read(void *user, char *data, int size)
{
    cb_state *st = user;
    long got = 0;
    while (size > 0 && !st->eof) {
        long k = st->r->read(st->r->ctx, (uint8_t *)data + got, (size_t)size);
        if (k <= 0) {
            st->eof = 1;
            break;
        }
        got += k;
        size -= (int)k;
    }
    return (int)got;
}

static void cb_skip(void *user, int n)
{
    char buf[4096];
    while (n > 0) {
        int k = cb_read(user, buf, n < (int)sizeof buf ? n : (int)sizeof buf);
        if (k <= 0)
            break;
        n -= k;
    }
}

static int cb_eof(void *user)
{
    return ((cb_state *)user)->eof;
}

static const stbi_io_callbacks kmq_callbacks = {cb_read, cb_skip, cb_eof};

uint8_t *kmq_stb_load_reader(kmq_reader *r, size_t budget, int *w, int *h, int *channels,
                             int req_channels, const char **why)
{
    cb_state st = {r, 0};
    budget_left = budget, budget_hit = 0;
    uint8_t *p = stbi_load_from_callbacks(&kmq_callbacks, &st, w, h, channels, req_channels);
    budget_left = SIZE_MAX;
    if (!p)
        *why = budget_hit ? KMQ_WHY_BUDGET : stbi_failure_reason();
    return p;
}

int kmq_stb_info_reader(kmq_reader *r, int *w, int *h, int *channels)
{
    cb_state st = {r, 0};
    return stbi_info_from_callbacks(&kmq_callbacks, &st, w, h, channels);
}
