/* BMP headers, checked before stb sees the file: stb 2.27 fills missing
   pixel data instead of failing (a 54-byte file claiming 15000x15000 pixels
   decoded to 1 GB of zeros and "succeeded"), and refuses a V4/V5 header whose
   pixels do not start right after it ("bad offset"). */
#include "formats.h"
#include "bytes.h"

#include <string.h>


kmq_status kmq_bmp_check(const uint8_t *h, size_t got, uint64_t file_len, kmq_bmp_info *info,
                         const char **why)
{
    memset(info, 0, sizeof *info);
    if (got < 18 || h[0] != 'B' || h[1] != 'M') {
        *why = "corrupt or unsupported BMP header";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    const uint32_t offset = kmq_get_le32(h + 10), hsz = kmq_get_le32(h + 14);
    if (hsz != 12 && hsz != 40 && hsz != 52 && hsz != 56 && hsz != 108 && hsz != 124) {
        *why = "unsupported BMP header size";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    if (got < 14 + (size_t)hsz + (hsz == 40 ? 16 : 0) && got < file_len) {
        *why = "truncated BMP header";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    int64_t w, hh;
    uint32_t planes, bpp, compression = 0;
    if (hsz == 12) { /* OS/2 core header: 16-bit sizes */
        w = kmq_get_le16(h + 18), hh = kmq_get_le16(h + 20), planes = kmq_get_le16(h + 22), bpp = kmq_get_le16(h + 24);
    } else {
        w = (int32_t)kmq_get_le32(h + 18), hh = (int32_t)kmq_get_le32(h + 22);
        planes = kmq_get_le16(h + 26), bpp = kmq_get_le16(h + 28), compression = kmq_get_le32(h + 30);
    }
    if (w < 1 || hh == 0 || hh == INT32_MIN || planes != 1) {
        *why = "corrupt BMP header (size or planes)";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32) {
        *why = "unsupported BMP bit depth";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    if (compression == 1 || compression == 2 || compression == 4 || compression == 5 ||
        compression > 6) {
        *why = "compressed (RLE, JPEG or PNG) BMPs are not supported";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    info->width = (uint32_t)w;
    info->height = (uint32_t)(hh < 0 ? -hh : hh); /* negative: rows stored top-down */
    info->top_down = hh < 0;
    /* Where stb expects the pixels when there is no palette. */
    info->header_end = 14 + hsz + (hsz == 40 && compression == 3 ? 12 : 0) +
                       (hsz == 40 && compression == 6 ? 16 : 0);
    if (offset < info->header_end || offset > file_len) {
        *why = "corrupt BMP: the pixel data offset is outside the file";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    const uint64_t row = ((uint64_t)w * bpp + 31) / 32 * 4;
    const uint64_t need = row * info->height;
    if (need > file_len - offset) {
        *why = "truncated BMP: the file holds fewer pixel bytes than its header's size needs";
        return KMQ_ERR_IMAGE_CORRUPT;
    }
    info->offset = offset;
    /* stb takes no gap between the header and palette-less pixels */
    info->gap = bpp >= 16 && hsz != 12 && offset != info->header_end;
    return KMQ_OK;
}

kmq_status kmq_bmp_close_gap(uint8_t *buf, size_t *len, const kmq_bmp_info *info)
{
    if (!info->gap)
        return KMQ_OK;
    if (info->offset > *len)
        return KMQ_ERR_IMAGE_CORRUPT;
    memmove(buf + info->header_end, buf + info->offset, *len - info->offset);
    *len -= info->offset - info->header_end;
    const uint32_t o = info->header_end;
    kmq_put_le32(buf + 10, o);
    return KMQ_OK;
}
