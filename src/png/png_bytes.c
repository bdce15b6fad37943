/* PNG at the byte level: its signature, one chunk written with its CRC,
   and chunks in memory read one after the other.  At the bottom of the PNG files: the chunk checker, the metadata
   (which writes chunks into label PNGs) and the encoders all use it. */
#include "bytes.h"
#include "png_io.h"

#include <libdeflate.h>
#include <string.h>

static const uint8_t PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

size_t kmq_png_put_chunk(uint8_t *p, const char *type, const uint8_t *data, size_t len)
{
    kmq_put_be32(p, (uint32_t)len);
    memcpy(p + 4, type, 4);
    if (len)
        memmove(p + 8, data, len);
    kmq_put_be32(p + 8 + len, (uint32_t)libdeflate_crc32(0, p + 4, 4 + len));
    return 12 + len;
}

int kmq_is_png(const uint8_t *buf, size_t len)
{
    return len >= 8 && memcmp(buf, PNG_SIG, 8) == 0;
}

int kmq_png_next_chunk(const uint8_t *buf, size_t len, size_t *at, kmq_png_chunk *c)
{
    if (*at > len || len - *at < 12)
        return 0;
    const uint8_t *p = buf + *at;
    const uint32_t n = kmq_get_be32(p);
    if (n > len - *at - 12)
        return 0;
    c->type = p + 4, c->data = p + 8, c->len = n;
    *at += 12 + (size_t)n;
    return 1;
}

int kmq_png_chunk_crc_ok(const kmq_png_chunk *c)
{
    return libdeflate_crc32(0, c->type, 4 + (size_t)c->len) == kmq_get_be32(c->data + c->len);
}
