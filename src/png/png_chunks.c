/* PNG container validation.  stb_image does not check chunk CRCs, so a
   damaged file can decode "fine" into wrong pixels; kmq checks the whole
   chunk structure with libdeflate's CRC-32 before handing bytes to stb.
   The check reads through a kmq_reader, so it works on a buffer or streams
   a file in constant memory. */
#include "bytes.h"
#include "png_io.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

static int valid_depth(int colour_type, int depth)
{
    switch (colour_type) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return depth == 8 || depth == 16;
    default: return 0;
    }
}

int kmq_read_full(kmq_reader *r, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        long k = r->read(r->ctx, buf + got, n - got);
        if (k < 0)
            return -1;
        if (k == 0)
            return 0;
        got += (size_t)k;
    }
    return 1;
}

static kmq_status fail(const char **why, const char *msg, kmq_status s)
{
    *why = msg;
    return s;
}

kmq_status kmq_png_check_reader(kmq_reader *r, kmq_png_header *hdr, const char **why)
{
    return kmq_png_check_reader_visit(r, hdr, NULL, why);
}

kmq_status kmq_png_check_reader_visit(kmq_reader *r, kmq_png_header *hdr,
                                      const kmq_png_chunk_visitor *visitor, const char **why)
{
    uint64_t idat_bytes = 0;
    uint8_t head[12], buf[65536];
    int got = kmq_read_full(r, head, 8);
    if (got < 0)
        return fail(why, NULL, KMQ_ERR_IO);
    if (!got || !kmq_is_png(head, 8))
        return fail(why, "corrupt PNG signature", KMQ_ERR_PNG_STRUCTURE);
    int seen_ihdr = 0, seen_idat = 0;
    for (;;) {
        got = kmq_read_full(r, head, 8);
        if (got < 0)
            return fail(why, NULL, KMQ_ERR_IO);
        if (!got) /* the file ended before IEND */
            return fail(why, seen_idat ? "PNG is truncated (no IEND chunk)" : "PNG has no image data (IDAT chunk)",
                        KMQ_ERR_PNG_STRUCTURE);
        uint32_t clen = kmq_get_be32(head);
        const uint8_t *type = head + 4;
        if (clen > 0x7FFFFFFFu)
            return fail(why, "truncated PNG chunk", KMQ_ERR_PNG_STRUCTURE);
        for (int i = 0; i < 4; i++)
            if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z')))
                return fail(why, "invalid PNG chunk type", KMQ_ERR_PNG_STRUCTURE);
        uint32_t crc = libdeflate_crc32(0, type, 4);
        uint8_t ihdr[13] = {0};
        /* A chunk before the image data that the visitor wants is kept whole. */
        uint8_t *keep = NULL;
        if (visitor && seen_ihdr && !seen_idat) {
            int wanted = 0;
            kmq_status ws = visitor->want(visitor->ctx, type, clen, &wanted);
            if (ws != KMQ_OK)
                return fail(why, NULL, ws);
            if (wanted && !(keep = malloc(clen ? clen : 1)))
                return fail(why, NULL, KMQ_ERR_NOMEM);
        }
        for (uint32_t left = clen; left > 0;) {
            size_t n = left < sizeof buf ? left : sizeof buf;
            if ((got = kmq_read_full(r, buf, n)) <= 0) {
                free(keep);
                return got < 0 ? fail(why, NULL, KMQ_ERR_IO)
                               : fail(why, "truncated PNG chunk", KMQ_ERR_PNG_STRUCTURE);
            }
            if (left == clen && clen == 13)
                memcpy(ihdr, buf, 13);
            if (keep)
                memcpy(keep + (clen - left), buf, n);
            crc = libdeflate_crc32(crc, buf, n);
            left -= (uint32_t)n;
        }
        uint8_t stored[4];
        if ((got = kmq_read_full(r, stored, 4)) <= 0) {
            free(keep);
            return got < 0 ? fail(why, NULL, KMQ_ERR_IO)
                           : fail(why, "truncated PNG chunk", KMQ_ERR_PNG_STRUCTURE);
        }
        if (keep) {
            kmq_status ks = crc == kmq_get_be32(stored) ? visitor->take(visitor->ctx, type, keep, clen)
                                                     : KMQ_OK;
            free(keep);
            if (ks != KMQ_OK)
                return fail(why, NULL, ks);
        }
        if (crc != kmq_get_be32(stored)) {
            static _Thread_local char msg[64];
            memcpy(msg, "CRC mismatch in PNG chunk ", 26);
            memcpy(msg + 26, type, 4);
            msg[30] = 0;
            return fail(why, msg, KMQ_ERR_PNG_CRC);
        }
        if (!seen_ihdr) {
            if (memcmp(type, "IHDR", 4) != 0 || clen != 13)
                return fail(why, "PNG does not start with a valid IHDR chunk", KMQ_ERR_PNG_STRUCTURE);
            hdr->width = kmq_get_be32(ihdr);
            hdr->height = kmq_get_be32(ihdr + 4);
            hdr->bit_depth = ihdr[8];
            hdr->colour_type = ihdr[9];
            hdr->interlace = ihdr[12];
            if (!hdr->width || !hdr->height || hdr->width > 0x7FFFFFFFu || hdr->height > 0x7FFFFFFFu)
                return fail(why, "invalid PNG image size", KMQ_ERR_PNG_STRUCTURE);
            if (!valid_depth(hdr->colour_type, hdr->bit_depth))
                return fail(why, "invalid PNG colour type or bit depth", KMQ_ERR_PNG_STRUCTURE);
            if (ihdr[10] != 0 || ihdr[11] != 0 || hdr->interlace > 1)
                return fail(why, "invalid PNG compression, filter or interlace method", KMQ_ERR_PNG_STRUCTURE);
            seen_ihdr = 1;
        } else if (!memcmp(type, "IDAT", 4)) {
            seen_idat = 1;
            idat_bytes += clen;
        } else if (!memcmp(type, "IEND", 4)) {
            if (!seen_idat)
                return fail(why, "PNG has no image data (IDAT chunk)", KMQ_ERR_PNG_STRUCTURE);
            hdr->idat_bytes = idat_bytes;
            return KMQ_OK; /* bytes after IEND are ignored, as libpng does */
        }
    }
}

static long mem_read(void *ctx, uint8_t *buf, size_t n)
{
    kmq_mem_src *m = ctx;
    if (n > m->left)
        n = m->left;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (long)n;
}

kmq_reader kmq_mem_reader(kmq_mem_src *m, const uint8_t *buf, size_t len)
{
    m->p = buf;
    m->left = len;
    return (kmq_reader){mem_read, m};
}

kmq_status kmq_png_check(const uint8_t *buf, size_t len, kmq_png_header *hdr, const char **why)
{
    kmq_mem_src m;
    kmq_reader r = kmq_mem_reader(&m, buf, len);
    return kmq_png_check_reader(&r, hdr, why);
}
