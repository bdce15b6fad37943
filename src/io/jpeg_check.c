/* JPEG marker validation before stb_image sees the bytes.  stb_image 2.27
 * builds a Huffman table from a DHT segment without checking that its 16
 * code counts add up to at most 256, and writes past the table when they
 * do (fixed in stb 2.28; found here by fuzzing).  So every DHT segment is
 * checked first, including those between the scans of a progressive JPEG,
 * and the frame header gives the size for the pixel cap.  Anything else
 * is left to stb.  Reads through a kmq_reader: constant memory for files. */
#include "stb_io.h"


typedef struct {
    kmq_reader *r;
    uint8_t buf[65536];
    size_t pos, len;
    int error, eof;
} byte_src;

static int next(byte_src *b)
{
    if (b->pos == b->len) {
        if (b->eof || b->error)
            return -1;
        long k = b->r->read(b->r->ctx, b->buf, sizeof b->buf);
        if (k < 0) {
            b->error = 1;
            return -1;
        }
        if (k == 0) {
            b->eof = 1;
            return -1;
        }
        b->pos = 0;
        b->len = (size_t)k;
    }
    return b->buf[b->pos++];
}

static kmq_status fail(const char **why, const char *msg)
{
    *why = msg;
    return KMQ_ERR_IMAGE_CORRUPT;
}

kmq_status kmq_jpeg_check_reader(kmq_reader *r, uint32_t *width, uint32_t *height,
                                 const char **why)
{
    byte_src src, *b = &src;
    b->r = r;
    b->pos = b->len = 0;
    b->error = b->eof = 0;
    *width = *height = 0;
    if (next(b) != 0xFF || next(b) != 0xD8)
        return b->error ? KMQ_ERR_IO : fail(why, "corrupt JPEG (no start of image)");
    int c = next(b), have_frame = 0;
    for (;;) {
        /* At a marker: 0xFF, fill bytes, the code. */
        if (c < 0)
            break;
        if (c != 0xFF)
            return fail(why, "corrupt JPEG (bytes between segments)");
        while ((c = next(b)) == 0xFF)
            ;
        if (c < 0)
            break;
        const int m = c;
        if (m == 0xD9) /* end of image */
            break;
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { /* no length */
            c = next(b);
            continue;
        }
        int hi = next(b), lo = next(b);
        if (lo < 0)
            break;
        long left = (hi << 8 | lo) - 2;
        if (left < 0)
            return fail(why, "corrupt JPEG (segment length)");
        if (m == 0xC4) { /* DHT: tables of 1 + 16 + n bytes, n <= 256 */
            while (left > 0) {
                int n = 0;
                if (left < 17)
                    return fail(why, "corrupt JPEG (Huffman table header)");
                if (next(b) < 0)
                    break;
                for (int i = 0; i < 16; i++) {
                    int k = next(b);
                    if (k < 0)
                        break;
                    n += k;
                }
                if (n > 256)
                    return fail(why, "corrupt JPEG (Huffman table with more than 256 codes)");
                left -= 17;
                if (n > left)
                    return fail(why, "corrupt JPEG (Huffman table longer than its segment)");
                for (int i = 0; i < n; i++)
                    next(b);
                left -= n;
            }
        } else if (!have_frame && m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            /* frame header: precision, height, width, ... */
            int p = next(b), h1 = next(b), h0 = next(b), w1 = next(b), w0 = next(b);
            if (w0 < 0 || left < 5)
                return fail(why, "corrupt JPEG (frame header)");
            (void)p;
            *height = (uint32_t)(h1 << 8 | h0);
            *width = (uint32_t)(w1 << 8 | w0);
            have_frame = 1;
            left -= 5;
        }
        while (left-- > 0)
            if (next(b) < 0)
                break;
        if (b->error)
            return KMQ_ERR_IO;
        c = next(b);
        if (m == 0xDA) {
            /* Entropy-coded data: up to a 0xFF that is neither a stuffed
               0x00 nor a restart marker. */
            for (;;) {
                while (c >= 0 && c != 0xFF)
                    c = next(b);
                if (c < 0)
                    break;
                int d = next(b);
                while (d == 0xFF)
                    d = next(b);
                if (d < 0) {
                    c = -1;
                    break;
                }
                if (d == 0x00 || (d >= 0xD0 && d <= 0xD7)) {
                    c = next(b);
                    continue;
                }
                /* a marker: put it back as "0xFF, d" */
                b->pos--;
                c = 0xFF;
                break;
            }
        }
    }
    if (b->error)
        return KMQ_ERR_IO;
    /* A truncated file is stb's to judge (it decodes what is there). */
    if (!have_frame)
        return fail(why, "corrupt JPEG (no frame header)");
    return KMQ_OK;
}
