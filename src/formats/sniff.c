/* What a file is, from its first bytes (PNG, JPEG, BMP; the other formats
   are named by their decoders: kmq_is_tiff and the rest). */
#include "formats.h"

int kmq_is_jpeg(const uint8_t *buf, size_t len)
{
    return len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF;
}

int kmq_is_bmp(const uint8_t *buf, size_t len)
{
    return len >= 2 && buf[0] == 'B' && buf[1] == 'M';
}

int kmq_looks_like_png(const uint8_t *buf, size_t len)
{
    /* Also catches PNGs whose signature was mangled by a text-mode transfer. */
    return len >= 4 && buf[0] == 0x89 && buf[1] == 'P' && buf[2] == 'N' && buf[3] == 'G';
}
