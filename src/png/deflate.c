/* zlib streams for PNG, compressed by libdeflate on every core.
 *
 * A PNG holds one zlib stream, and libdeflate compresses a whole buffer
 * into one final-flagged DEFLATE stream, so it cannot be split across
 * threads by itself.  As pigz does, the data is cut into chunks that are
 * compressed independently; each chunk but the last then has the BFINAL bit
 * of its last block cleared and an empty stored block appended (which
 * byte-aligns it), so the chunks concatenate into one valid stream.  Where
 * the last block starts and where it ends is found by walking the chunk's
 * blocks with zlib's inflate (Z_BLOCK), as zlib's examples/zran.c does.
 *
 * The chunks depend only on the length and level, never on the thread
 * count, so the bytes are the same on any machine.  The walk adds ~15 % CPU
 * (on the threads).  A cut costs ~500 bytes for the lost 32 KB window and
 * up to ~500 more for the forced block end (zlib's dictionary would save
 * the first half; libdeflate has none). */
#include "thread_count.h"
#include "png_io.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Finds the bit offset of the last block's header and how many padding bits
   follow its end-of-block code; 0 on success. */
static int last_block(const uint8_t *in, size_t len, size_t *header_bit, int *pad_bits)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (len > UINT_MAX || inflateInit2(&z, -15) != Z_OK) /* raw DEFLATE */
        return -1;
    enum { SCRATCH = 1 << 16 };
    uint8_t *scratch = malloc(SCRATCH);
    int found_end = 0, ret = -1;
    *header_bit = 0; /* the first block starts at bit 0 */
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    while (scratch) {
        z.next_out = scratch, z.avail_out = SCRATCH; /* the window is zlib's own */
        const uLong before = z.total_in + z.total_out;
        int r = inflate(&z, Z_BLOCK);
        if (r == Z_STREAM_END) {
            ret = found_end && z.total_in == len ? 0 : -1;
            break;
        }
        if (r != Z_OK || z.total_in + z.total_out == before)
            break;
        /* data_type: unused bits of the last input byte, +64 inside the
           last block, +128 when stopped at a block boundary. */
        if (z.data_type & 128) {
            const size_t bit = (size_t)z.total_in * 8 - (size_t)(z.data_type & 7);
            if (z.data_type & 64)
                *pad_bits = z.data_type & 7, found_end = 1;
            else
                *header_bit = bit;
        }
    }
    free(scratch);
    inflateEnd(&z);
    return ret;
}

size_t kmq_deflate_chunk(int level)
{
    /* Lazy levels (<= 9), at 192 KB: kodim01-08 labels +0.1..0.2 % in
       total (at most +0.7 %, one cut), encode 1.7x faster on 2 cores.  The
       near-optimal levels lose more per cut (tiger at level 10, 3 cuts:
       +1.8 %) and exist for size: 2 MB. */
    return level <= 9 ? (size_t)192 << 10 : (size_t)2 << 20;
}

/* Compresses one chunk into a malloc'd *out; `more` = chunks follow, so make it open. */
int kmq_deflate_part(struct libdeflate_compressor *c, const uint8_t *in, size_t len, int more,
                     uint8_t **out, size_t *out_len)
{
    const size_t bound = libdeflate_deflate_compress_bound(c, len) + 5;
    uint8_t *data = *out = malloc(bound);
    if (!data)
        return -1;
    size_t n = *out_len = libdeflate_deflate_compress(c, in, len, data, bound - 5);
    if (!n)
        return -1;
    if (!more)
        return 0;
    size_t header_bit;
    int pad;
    if (last_block(data, n, &header_bit, &pad) != 0)
        return -1;
    data[header_bit / 8] &= (uint8_t)~(1u << (header_bit % 8)); /* BFINAL = 0 */
    /* An empty stored block: 3 header bits (BFINAL 0, BTYPE 00) in the
       padding if they fit, else in a byte of their own; then alignment and
       LEN 0000, NLEN ffff. */
    static const uint8_t stored[] = {0x00, 0x00, 0x00, 0xff, 0xff};
    const int skip = pad >= 3;
    memcpy(data + n, stored + skip, sizeof stored - skip);
    *out_len = n + sizeof stored - skip;
    return 0;
}

size_t kmq_deflate_parts(size_t len, size_t chunk, size_t *step)
{
    const size_t n = len / chunk > 1 ? len / chunk : 1;
    *step = len / n; /* equal parts; the last takes the rest */
    return n;
}

void kmq_zlib_header(int level, uint8_t out[2])
{
    /* CMF: deflate, 32 KB window; FLG: libdeflate's level class, then the
       check bits that make the pair a multiple of 31. */
    const unsigned cmf = 0x78, flevel = level < 2 ? 0 : level < 6 ? 1 : level < 8 ? 2 : 3;
    unsigned flg = flevel << 6;
    flg += 31 - (cmf * 256 + flg) % 31;
    out[0] = (uint8_t)cmf, out[1] = (uint8_t)flg;
}

typedef struct {
    uint8_t *data;
    size_t len;
} part;

kmq_status kmq_zlib_deflate(const uint8_t *in, size_t len, int level, int threads, size_t chunk,
                            uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (level < 1 || level > 12 || chunk < 1)
        return KMQ_ERR_ARG;
    size_t step;
    const size_t n = kmq_deflate_parts(len, chunk, &step);
    part *parts = calloc(n, sizeof *parts);
    if (!parts)
        return KMQ_ERR_NOMEM;
    int failed = 0;
    const int nt = kmq_threads(threads);
    (void)nt; /* unused without OpenMP */
#pragma omp parallel num_threads(nt) if (nt > 1 && n > 1) reduction(| : failed)
    {
        struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
        failed |= !c;
#pragma omp for schedule(dynamic, 1)
        for (size_t i = 0; i < n; i++) {
            const size_t off = i * step, size = i + 1 < n ? step : len - off;
            if (c && !failed)
                failed |= kmq_deflate_part(c, in + off, size, i + 1 < n, &parts[i].data,
                                           &parts[i].len) != 0;
        }
        libdeflate_free_compressor(c);
    }
    size_t total = 2 + 4; /* zlib header, Adler-32 */
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    uint8_t *z = failed ? NULL : malloc(total);
    if (z) {
        kmq_zlib_header(level, z);
        size_t pos = 2;
        for (size_t i = 0; i < n; i++) {
            memcpy(z + pos, parts[i].data, parts[i].len);
            pos += parts[i].len;
        }
        const uint32_t adler = libdeflate_adler32(1, in, len);
        z[pos] = (uint8_t)(adler >> 24), z[pos + 1] = (uint8_t)(adler >> 16);
        z[pos + 2] = (uint8_t)(adler >> 8), z[pos + 3] = (uint8_t)adler;
        *out = z;
        *out_len = total;
    }
    for (size_t i = 0; i < n; i++)
        free(parts[i].data);
    free(parts);
    return z ? KMQ_OK : KMQ_ERR_NOMEM;
}
