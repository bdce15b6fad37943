/* JPEG marker validation before stb_image sees the bytes.  Found by
 * fuzzing stb_image 2.27:
 * - it builds a Huffman table from a DHT segment without checking that its
 *   16 code counts add up to at most 256, and writes past the table when
 *   they do (fixed in stb 2.28);
 * - a scan may name a Huffman table that no DHT defined: stb then decodes
 *   with whatever its allocation held, and can index past a table (read;
 *   2.28 bounds the index but still decodes garbage).  The same holds for a
 *   quantization table no DQT defined.
 * So every DHT segment is checked, also those between the scans of a
 * progressive JPEG, each scan's tables must be defined before it, and the
 * frame header gives the size for the pixel cap.  Anything else is left to
 * stb.  Reads through a kmq_reader: constant memory for files. */
#include "formats.h"

#include <stdlib.h>
#include <string.h>


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

/* What the segments so far have defined, and the frame's components. */
typedef struct {
    int huffman[2][4]; /* [DC, AC][table id] defined */
    int quant[4];
    int have_frame, progressive, ncomp;
    int comp_id[4], comp_tq[4], comp_h[4], comp_v[4];
} jpeg_state;

/* DHT: tables of 1 + 16 + n bytes, n <= 256. */
static const char *read_dht(byte_src *b, long *left, jpeg_state *st)
{
    while (*left > 0) {
        int n = 0;
        if (*left < 17)
            return "corrupt JPEG (Huffman table header)";
        /* Past the end of the file stb reads zeros: so do we. */
        const int q = next(b), tc = q >> 4, th = q & 15;
        for (int i = 0; i < 16; i++) {
            int k = next(b);
            n += k > 0 ? k : 0;
        }
        if (n > 256)
            return "corrupt JPEG (Huffman table with more than 256 codes)";
        if (q < 0)
            return NULL;
        *left -= 17;
        if (n > *left)
            return "corrupt JPEG (Huffman table longer than its segment)";
        for (int i = 0; i < n; i++)
            next(b);
        *left -= n;
        if (tc <= 1 && th <= 3) /* others: stb refuses the file */
            st->huffman[tc][th] = 1;
    }
    return NULL;
}

/* DQT: tables of 1 + 64 or 1 + 128 bytes. */
static const char *read_dqt(byte_src *b, long *left, jpeg_state *st)
{
    while (*left > 0) {
        const int q = next(b), size = 1 + ((q >> 4) ? 128 : 64);
        if (q < 0)
            return NULL;
        if (*left < size)
            return "corrupt JPEG (quantization table longer than its segment)";
        for (int i = 1; i < size; i++)
            next(b);
        *left -= size;
        if ((q & 15) <= 3)
            st->quant[q & 15] = 1;
    }
    return NULL;
}

/* SOF: precision, height, width, then Nf components (id, sampling, Tq). */
static const char *read_frame(byte_src *b, long *left, int marker, jpeg_state *st,
                              kmq_jpeg_info *info)
{
    next(b); /* precision */
    int h1 = next(b), h0 = next(b), w1 = next(b), w0 = next(b), nf = next(b);
    if (nf < 0 || *left < 6 + 3L * nf)
        return "corrupt JPEG (frame header)";
    info->height = (uint32_t)(h1 << 8 | h0);
    info->width = (uint32_t)(w1 << 8 | w0);
    *left -= 6 + 3L * nf;
    st->have_frame = 1;
    st->progressive = marker == 0xC2;
    st->ncomp = nf < 4 ? nf : 4; /* stb takes at most 4 */
    for (int i = 0; i < nf; i++) {
        int id = next(b), hv = next(b), tq = next(b);
        if (i < 4)
            st->comp_id[i] = id, st->comp_tq[i] = tq, st->comp_h[i] = hv >> 4, st->comp_v[i] = hv & 15;
    }
    return NULL;
}

/* The 8x8 blocks of every component (sampled as its factors say): the
   fewest a scan can code. */
static uint64_t count_blocks(const jpeg_state *st, uint64_t w, uint64_t h)
{
    int hmax = 1, vmax = 1;
    for (int c = 0; c < st->ncomp; c++) {
        hmax = st->comp_h[c] > hmax ? st->comp_h[c] : hmax;
        vmax = st->comp_v[c] > vmax ? st->comp_v[c] : vmax;
    }
    uint64_t blocks = 0;
    for (int c = 0; c < st->ncomp; c++) {
        const uint64_t cw = (w * (uint64_t)st->comp_h[c] + (uint64_t)hmax - 1) / (uint64_t)hmax;
        const uint64_t ch = (h * (uint64_t)st->comp_v[c] + (uint64_t)vmax - 1) / (uint64_t)vmax;
        blocks += (cw + 7) / 8 * ((ch + 7) / 8);
    }
    return blocks;
}

/* SOS: Ns components (id, Td << 4 | Ta), then Ss, Se, Ah << 4 | Al.  A
   baseline scan decodes with both tables; a progressive one with the DC
   table in a first DC scan, the AC table in an AC scan, none when it
   refines DC. */
static const char *read_scan(byte_src *b, long *left, const jpeg_state *st)
{
    const int ns = next(b);
    if (ns < 0 || *left != 4 + 2L * ns)
        return "corrupt JPEG (scan header)";
    int id[4], tables[4];
    for (int i = 0; i < ns; i++) {
        int c = next(b), t = next(b);
        if (i < 4)
            id[i] = c, tables[i] = t;
    }
    const int ss = next(b);
    next(b); /* Se */
    const int a = next(b);
    *left = 0;
    if (a < 0 || !st->have_frame) /* (the end of the file is sticky: no -1 above) */
        return NULL; /* truncated, or no frame: stb's to judge */
    const int dc = !st->progressive || (ss == 0 && (a >> 4) == 0), ac = !st->progressive || ss > 0;
    for (int i = 0; i < ns && i < 4; i++) {
        int tq = -1;
        for (int c = 0; c < st->ncomp; c++)
            if (st->comp_id[c] == id[i])
                tq = st->comp_tq[c];
        const int td = tables[i] >> 4, ta = tables[i] & 15;
        if ((dc && td <= 3 && !st->huffman[0][td]) || (ac && ta <= 3 && !st->huffman[1][ta]))
            return "corrupt JPEG (a scan uses a Huffman table that was never defined)";
        if (tq >= 0 && tq <= 3 && !st->quant[tq])
            return "corrupt JPEG (a scan uses a quantization table that was never defined)";
    }
    return NULL;
}

/* APP0 (JFIF density), APP1 (EXIF orientation), APP2 (ICC profile parts):
   the segment's bytes to the metadata reader. */
static kmq_status read_app(byte_src *b, long *left, int marker, kmq_metadata *meta,
                           kmq_jpeg_icc *icc)
{
    uint8_t seg[65536]; /* a segment holds at most 65533 bytes */
    long n = 0;
    while (n < *left) {
        int c = next(b);
        if (c < 0)
            break;
        seg[n++] = (uint8_t)c;
    }
    *left = 0;
    return n == 0 ? KMQ_OK : kmq_meta_jpeg_segment(meta, icc, marker, seg, (size_t)n);
}

static kmq_status check(byte_src *b, kmq_jpeg_info *info, kmq_metadata *meta,
                        kmq_jpeg_icc *icc, const char **why);

kmq_status kmq_jpeg_check_reader(kmq_reader *r, kmq_jpeg_info *info, kmq_metadata *meta,
                                 const char **why)
{
    byte_src *b = malloc(sizeof *b);
    kmq_jpeg_icc icc;
    memset(&icc, 0, sizeof icc);
    if (!b)
        return KMQ_ERR_NOMEM;
    b->r = r;
    kmq_status s = check(b, info, meta, &icc, why);
    if (s == KMQ_OK && meta)
        s = kmq_meta_jpeg_finish(meta, &icc);
    kmq_jpeg_icc_free(&icc);
    free(b);
    return s;
}

static kmq_status check(byte_src *b, kmq_jpeg_info *info, kmq_metadata *meta,
                        kmq_jpeg_icc *icc, const char **why)
{
    b->pos = b->len = 0;
    b->error = b->eof = 0;
    memset(info, 0, sizeof *info);
    if (next(b) != 0xFF || next(b) != 0xD8)
        return b->error ? KMQ_ERR_IO : fail(why, "corrupt JPEG (no start of image)");
    jpeg_state st;
    memset(&st, 0, sizeof st);
    int c = next(b);
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
        const char *bad = NULL;
        if (m == 0xC4)
            bad = read_dht(b, &left, &st);
        else if (m == 0xDB)
            bad = read_dqt(b, &left, &st);
        else if (m == 0xDA)
            bad = read_scan(b, &left, &st);
        else if (!st.have_frame && m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
            bad = read_frame(b, &left, m, &st, info);
        else if (meta && m >= 0xE0 && m <= 0xE2) {
            kmq_status s = read_app(b, &left, m, meta, icc);
            if (s != KMQ_OK)
                return s;
        }
        if (bad)
            return fail(why, bad);
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
                    c = next(b), info->entropy_bytes++;
                if (c < 0)
                    break;
                int d = next(b);
                info->entropy_bytes++;
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
    if (!st.have_frame)
        return fail(why, "corrupt JPEG (no frame header)");
    info->blocks = count_blocks(&st, info->width, info->height);
    return KMQ_OK;
}
