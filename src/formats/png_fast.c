/* The common PNG, decoded without stb: 8-bit grey, grey+alpha, RGB or RGBA,
 * not interlaced, no palette and no tRNS.  stb inflates a byte at a time;
 * libdeflate inflates the joined IDAT data several times faster, straight
 * into a buffer of the exact size the header implies.  The pixels are the
 * ones stb gives (the same samples, channel for channel).
 *
 * Anything else, and anything unusual on the way (a chunk out of order, an
 * unknown critical chunk, a zlib stream that is not exactly the image, a
 * filter type above 4, a bad Adler-32, a short file), is left to stb: the
 * caller rewinds and decodes as before, so every verdict and message on a
 * damaged file stays stb's.  Like stb, chunk CRCs are not checked. */
#include "big_alloc.h"
#include "bytes.h"
#include "formats.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

int kmq_png_fast_off;
unsigned long kmq_png_fast_count; /* files it decoded (tests) */

static int skip(kmq_reader *r, size_t n)
{
    uint8_t buf[4096];
    while (n) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        if (kmq_read_full(r, buf, k) != 1)
            return -1;
        n -= k;
    }
    return 0;
}

/* Undoes the row filters of h rows of `stride` bytes (each after its filter
   byte in raw) into out; bpp bytes per pixel.  0, or -1 for a filter type
   PNG does not have. */
static int unfilter(const uint8_t *raw, uint8_t *out, size_t stride, uint32_t h, int bpp)
{
    const uint8_t *prior = NULL;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *in = raw + (size_t)y * (stride + 1);
        uint8_t *o = out + (size_t)y * stride;
        const int type = *in++;
        size_t i = 0;
        switch (type) {
        case 0:
            memcpy(o, in, stride);
            break;
        case 1: /* sub */
            for (; i < (size_t)bpp && i < stride; i++)
                o[i] = in[i];
            for (; i < stride; i++)
                o[i] = (uint8_t)(in[i] + o[i - bpp]);
            break;
        case 2: /* up */
            if (!prior)
                memcpy(o, in, stride);
            else
                for (; i < stride; i++)
                    o[i] = (uint8_t)(in[i] + prior[i]);
            break;
        case 3: /* average */
            for (; i < (size_t)bpp && i < stride; i++)
                o[i] = (uint8_t)(in[i] + (prior ? prior[i] >> 1 : 0));
            for (; i < stride; i++)
                o[i] = (uint8_t)(in[i] + ((o[i - bpp] + (prior ? prior[i] : 0)) >> 1));
            break;
        case 4: /* Paeth; on the first row it is sub */
            for (; i < (size_t)bpp && i < stride; i++)
                o[i] = (uint8_t)(in[i] + (prior ? prior[i] : 0));
            if (!prior) {
                for (; i < stride; i++)
                    o[i] = (uint8_t)(in[i] + o[i - bpp]);
                break;
            }
            for (; i < stride; i++) {
                const int a = o[i - bpp], b = prior[i], c = prior[i - bpp];
                const int p = a + b - c;
                const int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
                const int pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                o[i] = (uint8_t)(in[i] + pred);
            }
            break;
        default:
            return -1;
        }
        prior = o;
    }
    return 0;
}

int kmq_png_fast_load(kmq_reader *r, size_t budget, uint8_t **pixels, int *w, int *h,
                      int *channels)
{
    uint8_t head[8 + 8 + 13 + 4];
    if (kmq_png_fast_off || kmq_read_full(r, head, sizeof head) != 1 || !kmq_is_png(head, 8) ||
        kmq_get_be32(head + 8) != 13 || memcmp(head + 12, "IHDR", 4) != 0)
        return 0;
    const uint8_t *ihdr = head + 16;
    const uint32_t width = kmq_get_be32(ihdr), height = kmq_get_be32(ihdr + 4);
    const int bits = ihdr[8], ct = ihdr[9];
    static const int samples[7] = {1, 0, 3, 0, 2, 0, 4};
    if (width == 0 || height == 0 || width > KMQ_MAX_DIMENSION || height > KMQ_MAX_DIMENSION ||
        bits != 8 || ct > 6 || !samples[ct] || ihdr[10] || ihdr[11] || ihdr[12])
        return 0;
    const int C = samples[ct];
    const size_t stride = (size_t)width * C, raw_len = (stride + 1) * height;
    if (raw_len / height != stride + 1 || stride * height > budget / 2 || raw_len > budget / 2)
        return 0;
    size_t budget_idat = budget - stride * height - raw_len;

    uint8_t *idat = NULL, *raw = NULL, *out = NULL;
    size_t n = 0, cap = 0;
    int ok = 0, seen_idat = 0;
    for (;;) {
        uint8_t ch[8];
        if (kmq_read_full(r, ch, 8) != 1)
            goto done;
        const uint32_t len = kmq_get_be32(ch);
        const uint8_t *type = ch + 4;
        if (len > 0x7FFFFFFFu)
            goto done;
        if (memcmp(type, "IDAT", 4) == 0) {
            if (len > budget_idat - n)
                goto done;
            if (n + len > cap) {
                size_t c = 2 * cap > n + len ? 2 * cap : n + len + (1u << 16);
                c = c < budget_idat ? c : budget_idat;
                uint8_t *p = realloc(idat, c ? c : 1);
                if (!p)
                    goto done;
                idat = p, cap = c;
            }
            if (kmq_read_full(r, idat + n, len) != 1 || skip(r, 4) != 0)
                goto done;
            n += len;
            seen_idat = 1;
        } else if (memcmp(type, "IEND", 4) == 0) {
            break;
        } else if (!(type[0] & 0x20) || memcmp(type, "tRNS", 4) == 0) {
            goto done; /* PLTE, another IHDR, an unknown critical chunk, a tRNS */
        } else if (skip(r, (size_t)len + 4) != 0) {
            goto done;
        }
    }
    if (!seen_idat || !(raw = kmq_big_malloc(raw_len)) ||
        !(out = kmq_big_malloc(stride * height)))
        goto done;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d)
        goto done;
    enum libdeflate_result res = libdeflate_zlib_decompress(d, idat, n, raw, raw_len, NULL);
    libdeflate_free_decompressor(d);
    free(idat), idat = NULL;
    if (res != LIBDEFLATE_SUCCESS || unfilter(raw, out, stride, height, C) != 0)
        goto done;
    *pixels = out, out = NULL;
    *w = (int)width, *h = (int)height, *channels = C;
    __atomic_fetch_add(&kmq_png_fast_count, 1, __ATOMIC_RELAXED);
    ok = 1;
done:
    free(idat), free(raw), free(out);
    return ok;
}
