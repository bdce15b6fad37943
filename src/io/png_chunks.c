/* PNG container validation.  stb_image does not check chunk CRCs, so a
   damaged file can decode "fine" into wrong pixels; kmq checks the whole
   chunk structure with libdeflate's CRC-32 before handing bytes to stb. */
#include "stb_io.h"

#include <libdeflate.h>
#include <string.h>

static const uint8_t PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int kmq_is_png(const uint8_t *buf, size_t len)
{
    return len >= 8 && memcmp(buf, PNG_SIG, 8) == 0;
}

static int valid_depth(int colour_type, int depth)
{
    switch (colour_type) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return depth == 8 || depth == 16;
    default: return 0;
    }
}

kmq_status kmq_png_check(const uint8_t *buf, size_t len, kmq_png_header *hdr, const char **why)
{
    if (!kmq_is_png(buf, len)) {
        *why = "corrupt PNG signature";
        return KMQ_ERR_PNG_STRUCTURE;
    }
    size_t pos = 8;
    int seen_ihdr = 0, seen_idat = 0;
    while (pos < len) {
        if (len - pos < 12) {
            *why = "truncated PNG chunk";
            return KMQ_ERR_PNG_STRUCTURE;
        }
        uint32_t clen = be32(buf + pos);
        const uint8_t *type = buf + pos + 4;
        if (clen > 0x7FFFFFFFu || clen > len - pos - 12) {
            *why = "truncated PNG chunk";
            return KMQ_ERR_PNG_STRUCTURE;
        }
        for (int i = 0; i < 4; i++)
            if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z'))) {
                *why = "invalid PNG chunk type";
                return KMQ_ERR_PNG_STRUCTURE;
            }
        uint32_t crc = libdeflate_crc32(0, type, 4 + (size_t)clen);
        if (crc != be32(buf + pos + 8 + clen)) {
            static _Thread_local char msg[64];
            memcpy(msg, "CRC mismatch in PNG chunk ", 26);
            memcpy(msg + 26, type, 4);
            msg[30] = 0;
            *why = msg;
            return KMQ_ERR_PNG_CRC;
        }
        if (!seen_ihdr) {
            if (memcmp(type, "IHDR", 4) != 0 || clen != 13) {
                *why = "PNG does not start with a valid IHDR chunk";
                return KMQ_ERR_PNG_STRUCTURE;
            }
            const uint8_t *d = type + 4;
            hdr->width = be32(d);
            hdr->height = be32(d + 4);
            hdr->bit_depth = d[8];
            hdr->colour_type = d[9];
            hdr->interlace = d[12];
            if (!hdr->width || !hdr->height || hdr->width > 0x7FFFFFFFu || hdr->height > 0x7FFFFFFFu) {
                *why = "invalid PNG image size";
                return KMQ_ERR_PNG_STRUCTURE;
            }
            if (!valid_depth(hdr->colour_type, hdr->bit_depth)) {
                *why = "invalid PNG colour type or bit depth";
                return KMQ_ERR_PNG_STRUCTURE;
            }
            if (d[10] != 0 || d[11] != 0 || hdr->interlace > 1) {
                *why = "invalid PNG compression, filter or interlace method";
                return KMQ_ERR_PNG_STRUCTURE;
            }
            seen_ihdr = 1;
        } else if (!memcmp(type, "IDAT", 4)) {
            seen_idat = 1;
        } else if (!memcmp(type, "IEND", 4)) {
            if (!seen_idat) {
                *why = "PNG has no image data (IDAT chunk)";
                return KMQ_ERR_PNG_STRUCTURE;
            }
            return KMQ_OK; /* bytes after IEND are ignored, as libpng does */
        }
        pos += 12 + (size_t)clen;
    }
    *why = seen_idat ? "PNG is truncated (no IEND chunk)" : "PNG has no image data (IDAT chunk)";
    return KMQ_ERR_PNG_STRUCTURE;
}
