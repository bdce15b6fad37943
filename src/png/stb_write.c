/* The translation unit that compiles stb_image_write (from Debian's
 * libstb-dev headers), configured for kmq: PNG deflate through libdeflate,
 * which is faster and smaller than stb's, and CRCs by libdeflate too.  Used
 * for true-colour PNGs (kmq_png_encode); label PNGs are written without stb
 * (labels_png.c). */
#include "png_io.h"

#include <libdeflate.h>
#include <limits.h>
#include <stdlib.h>

#include "stb_quiet.h"
/* Set by kmq_stb_write_png for its one call (stb gives the hook no context):
   per thread, so that encodes on several threads do not mix settings. */
static _Thread_local int deflate_level = 9, deflate_threads = 1;

/* stb_image_write hands us the filtered scanlines; we return a zlib stream
   allocated with STBIW_MALLOC (malloc). */
static unsigned char *kmq_zlib_compress(unsigned char *data, int data_len, int *out_len,
                                        int quality)
{
    (void)quality; /* stb's own 0..9 scale; we use deflate_level */
    uint8_t *out = NULL;
    size_t n = 0;
    if (data_len < 0 || kmq_zlib_deflate(data, (size_t)data_len, deflate_level, deflate_threads,
                                         kmq_deflate_chunk(deflate_level), &out, &n) != KMQ_OK)
        return NULL;
    if (n > INT_MAX) {
        free(out);
        return NULL;
    }
    *out_len = (int)n;
    return out;
}

#define STBIW_ZLIB_COMPRESS kmq_zlib_compress
/* stb's own CRC goes a byte at a time: 5-10 % of writing a label PNG. */
#define STBIW_CRC32(buf, len) ((unsigned int)libdeflate_crc32(0, (buf), (size_t)(len)))
#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

uint8_t *kmq_stb_write_png(const uint8_t *pixels, int w, int h, int channels, int level,
                           int threads, int *out_len)
{
    /* stb's filter setting (stbi_write_force_png_filter) is a process-wide
       global: it is never set, so stb picks a filter per row, and no thread
       can change another's.  Label PNGs, whose filter is chosen, are written
       by labels_png.c without stb. */
    deflate_level = level, deflate_threads = threads;
    return stbi_write_png_to_mem(pixels, 0, w, h, channels, out_len);
}

