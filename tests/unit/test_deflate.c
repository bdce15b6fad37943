/* Chunked parallel DEFLATE (src/png/deflate.c): one valid zlib stream, the
   same bytes on any thread count. */
#include <criterion/criterion.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats.h"

/* Data of several kinds: random bytes, a few repeated words, runs. */
static uint8_t *make_data(size_t len, int kind, uint32_t seed)
{
    uint8_t *p = malloc(len ? len : 1);
    uint32_t r = seed;
    for (size_t i = 0; i < len; i++) {
        r = r * 1103515245u + 12345u;
        p[i] = kind == 0   ? (uint8_t)(r >> 16)
               : kind == 1 ? (uint8_t)"the label words "[(i + (r >> 28)) % 16]
                           : (uint8_t)((i / 700) % 5 + ((r >> 20) % 64 == 0));
    }
    return p;
}

/* Both zlib and libdeflate must decode the stream to exactly `in`. */
static void assert_decodes(const uint8_t *z, size_t zlen, const uint8_t *in, size_t len)
{
    uint8_t *back = malloc(len + 1);
    uLongf got = (uLongf)len + 1;
    cr_assert_eq(uncompress(back, &got, z, (uLong)zlen), Z_OK, "zlib rejects the stream");
    cr_assert_eq(got, len);
    cr_assert(!memcmp(back, in, len), "zlib decodes other bytes");
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t got2 = 0;
    cr_assert_eq(libdeflate_zlib_decompress(d, z, zlen, back, len + 1, &got2), LIBDEFLATE_SUCCESS);
    cr_assert_eq(got2, len);
    cr_assert(!memcmp(back, in, len), "libdeflate decodes other bytes");
    libdeflate_free_decompressor(d);
    free(back);
}

Test(deflate, chunks_join_into_one_stream_that_decodes_exactly)
{
    /* Small chunks give hundreds of cuts, so every way a chunk's last
       block can end within its byte (0..7 padding bits) occurs. */
    const size_t lens[] = {0, 1, 999, 1000, 1001, 4097, 65536, 300000};
    const size_t chunks[] = {1000, 4096, 65536};
    const int levels[] = {1, 6, 9, 10, 12};
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
        for (int kind = 0; kind < 3; kind++) {
            uint8_t *in = make_data(lens[l], kind, (uint32_t)(l * 3 + kind));
            for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++)
                for (size_t v = 0; v < sizeof levels / sizeof *levels; v++) {
                    if (levels[v] >= 10 && lens[l] > 65536) /* slow; covered below */
                        continue;
                    uint8_t *z;
                    size_t zlen;
                    cr_assert_eq(kmq_zlib_deflate(in, lens[l], levels[v], 2, chunks[c], &z, &zlen), KMQ_OK);
                    assert_decodes(z, zlen, in, lens[l]);
                    free(z);
                }
            free(in);
        }
}

Test(deflate, bytes_do_not_depend_on_the_thread_count)
{
    const size_t len = 1 << 20;
    for (int kind = 0; kind < 3; kind++) {
        uint8_t *in = make_data(len, kind, 7u + (uint32_t)kind);
        const int levels[] = {6, 10};
        for (int v = 0; v < 2; v++) {
            uint8_t *one;
            size_t one_len;
            cr_assert_eq(kmq_zlib_deflate(in, len, levels[v], 1, 100000, &one, &one_len), KMQ_OK);
            assert_decodes(one, one_len, in, len);
            const int threads[] = {2, 3, 8, 0};
            for (int t = 0; t < 4; t++) {
                uint8_t *z;
                size_t zlen;
                cr_assert_eq(kmq_zlib_deflate(in, len, levels[v], threads[t], 100000, &z, &zlen), KMQ_OK);
                cr_assert(zlen == one_len && !memcmp(z, one, zlen), "%d threads, level %d: other bytes",
                          threads[t], levels[v]);
                free(z);
            }
            free(one);
        }
        free(in);
    }
}

Test(deflate, one_chunk_is_exactly_libdeflates_zlib_stream)
{
    const size_t len = 200000;
    uint8_t *in = make_data(len, 2, 99);
    for (int level = 1; level <= 12; level++) {
        uint8_t *z;
        size_t zlen;
        cr_assert_eq(kmq_zlib_deflate(in, len, level, 2, len, &z, &zlen), KMQ_OK);
        struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
        size_t bound = libdeflate_zlib_compress_bound(c, len);
        uint8_t *ref = malloc(bound);
        size_t ref_len = libdeflate_zlib_compress(c, in, len, ref, bound);
        cr_assert(zlen == ref_len && !memcmp(z, ref, zlen), "level %d", level);
        libdeflate_free_compressor(c);
        free(ref), free(z);
    }
    free(in);
}

Test(deflate, bad_arguments)
{
    uint8_t in[4] = {1, 2, 3, 4}, *z;
    size_t zlen;
    cr_assert_eq(kmq_zlib_deflate(in, 4, 0, 1, 1000, &z, &zlen), KMQ_ERR_ARG);
    cr_assert_eq(kmq_zlib_deflate(in, 4, 13, 1, 1000, &z, &zlen), KMQ_ERR_ARG);
    cr_assert_eq(kmq_zlib_deflate(in, 4, 6, 1, 0, &z, &zlen), KMQ_ERR_ARG);
}
