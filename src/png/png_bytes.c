/* PNG at the byte level: its signature, and one chunk written with its
   CRC.  At the bottom of the PNG files: the chunk checker, the metadata
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
