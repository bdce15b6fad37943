/* Metadata that decides how an image looks: colour space (sRGB, gAMA, cHRM,
 * iCCP), pixel size (pHYs) and EXIF orientation, gathered from PNG chunks,
 * JPEG APP segments and TIFF or WebP profiles, and checked (png_meta.c
 * reads PNGs' and writes them back as PNG chunks).
 *
 * Everything here reads untrusted bytes: each length is checked before it
 * is used, an ICC profile is inflated only up to KMQ_MAX_ICC_PROFILE and
 * must say its own size, the EXIF reader looks at IFD0 only (no offsets are
 * followed, so there is no loop to fall into), and what fails is dropped
 * with a warning rather than refusing the image. */
#include "bytes.h"
#include "meta.h"

#include <libdeflate.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The chunks kmq carries, in one fixed list: a bit per kind. */
static const char KINDS[][5] = {"sRGB", "gAMA", "cHRM", "iCCP", "pHYs"};
enum { KIND_ICCP = 3, KIND_PHYS = 4, NKINDS = 5 };

int kmq_meta_kind(const uint8_t *type)
{
    for (int i = 0; i < NKINDS; i++)
        if (!memcmp(type, KINDS[i], 4))
            return i;
    return -1;
}

void kmq_meta_init(kmq_metadata *m)
{
    memset(m, 0, sizeof *m);
    m->orientation = 1;
}

void kmq_metadata_free(kmq_metadata *m)
{
    if (!m)
        return;
    free(m->chunks);
    kmq_meta_init(m);
}

void kmq_meta_warn(kmq_metadata *m, const char *warning)
{
    if (!m->warning)
        m->warning = warning;
}

/* Which kinds m holds already. */
static unsigned kinds_held(const kmq_metadata *m)
{
    unsigned held = 0;
    size_t at = 0;
    for (kmq_png_chunk c; kmq_png_next_chunk(m->chunks, m->chunks_len, &at, &c);) {
        const int kind = kmq_meta_kind(c.type);
        held |= kind >= 0 ? 1u << kind : 0;
    }
    return held;
}

/* Inflates a zlib stream into out[0..cap) as far as it goes; returns the
   inflated size (capped at cap + 1 when there is more), or -1 if the
   stream is corrupt or does not end where the data ends. */
static long inflate_bounded(const uint8_t *in, size_t len, uint8_t *out, size_t cap, int whole)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return -1;
    uint8_t sink[4096];
    size_t total = 0;
    int rc = Z_OK;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    while (rc == Z_OK) {
        const size_t room = total < cap ? cap - total : 0;
        uint8_t *dst = out && room ? out + total : sink;
        const size_t n = out && room ? room : sizeof sink;
        z.next_out = dst;
        z.avail_out = (uInt)(n < (1u << 30) ? n : (1u << 30));
        const uInt before = z.avail_out;
        rc = inflate(&z, Z_NO_FLUSH);
        total += before - z.avail_out;
        if (total > cap) {
            inflateEnd(&z);
            return (long)cap + 1;
        }
        if (rc == Z_BUF_ERROR && !whole) /* enough for the caller */
            rc = Z_STREAM_END;
    }
    const int ok = rc == Z_STREAM_END && (!whole || z.avail_in == 0);
    inflateEnd(&z);
    return ok ? (long)total : -1;
}

/* Where an iCCP chunk's zlib data starts (after the name, its NUL and the
   method byte), or 0 if the header is malformed. */
static size_t iccp_data_start(const uint8_t *data, size_t len)
{
    size_t name = 0;
    while (name < len && name < 80 && data[name])
        name++;
    if (name < 1 || name > 79 || name + 2 > len || data[name + 1] != 0)
        return 0;
    return name + 2;
}

/* The ICC profile's colour space (bytes 16..19 of its header), or "" */
void kmq_meta_iccp_space(const uint8_t *data, size_t len, char space[5])
{
    uint8_t head[20];
    size_t at = iccp_data_start(data, len);
    memset(space, 0, 5);
    if (at && inflate_bounded(data + at, len - at, head, sizeof head, 0) >= (long)sizeof head)
        memcpy(space, head + 16, 4);
}

static int chunk_ok(int kind, const uint8_t *d, size_t len, kmq_metadata *m)
{
    switch (kind) {
    case 0: return len == 1 && d[0] <= 3;                           /* sRGB: intent */
    case 1: return len == 4 && kmq_get_be32(d) && kmq_get_be32(d) <= 0x7FFFFFFFu;   /* gAMA */
    case 2: /* cHRM: eight 31-bit values */
        if (len != 32)
            return 0;
        for (int i = 0; i < 8; i++)
            if (kmq_get_be32(d + 4 * i) > 0x7FFFFFFFu)
                return 0;
        return 1;
    case KIND_PHYS: /* pixels per unit x, y; unit 0 (aspect only) or 1 (metre) */
        return len == 9 && kmq_get_be32(d) && kmq_get_be32(d + 4) && kmq_get_be32(d) <= 0x7FFFFFFFu &&
               kmq_get_be32(d + 4) <= 0x7FFFFFFFu && d[8] <= 1;
    case KIND_ICCP: {
        const size_t at = iccp_data_start(d, len);
        if (!at) {
            kmq_meta_warn(m, "malformed ICC profile (iCCP) dropped");
            return 0;
        }
        uint8_t head[4];
        long n = inflate_bounded(d + at, len - at, head, sizeof head, 0);
        long total = n >= 4 ? inflate_bounded(d + at, len - at, NULL, KMQ_MAX_ICC_PROFILE, 1) : -1;
        if (total > (long)KMQ_MAX_ICC_PROFILE) {
            kmq_meta_warn(m, "ICC profile larger than 8 MiB dropped");
            return 0;
        }
        if (total < 128 || kmq_get_be32(head) != (uint32_t)total) {
            kmq_meta_warn(m, "corrupt ICC profile dropped");
            return 0;
        }
        return 1;
    }
    }
    return 0;
}

kmq_status kmq_meta_add_chunk(kmq_metadata *m, const uint8_t *type, const uint8_t *data,
                              size_t len)
{
    const int kind = kmq_meta_kind(type);
    if (kind < 0 || (kinds_held(m) >> kind & 1))
        return KMQ_OK; /* not carried, or a second one: the first counts */
    if (len > 0x7FFFFFFFu || !chunk_ok(kind, data, len, m)) {
        if (kind != KIND_ICCP)
            kmq_meta_warn(m, "malformed colour-space or pixel-size chunk dropped");
        return KMQ_OK;
    }
    uint8_t *p = realloc(m->chunks, m->chunks_len + 12 + len);
    if (!p)
        return KMQ_ERR_NOMEM;
    m->chunks = p;
    m->chunks_len += kmq_png_put_chunk(p + m->chunks_len, (const char *)type, data, len);
    return KMQ_OK;
}

/* ---- EXIF ---- */

void kmq_meta_exif(kmq_metadata *m, const uint8_t *t, size_t len)
{
    /* TIFF header: byte order, 42, offset of IFD0; IFD0: a count, then
       12-byte entries (tag, type, count, value).  Orientation is tag 0x0112,
       one SHORT. */
    if (len < 8 || !((t[0] == 'I' && t[1] == 'I') || (t[0] == 'M' && t[1] == 'M')))
        goto bad;
    const int le = t[0] == 'I';
#define U16(p) (le ? kmq_get_le16(p) : kmq_get_be16(p))
#define U32(p) (le ? kmq_get_le32(p) : kmq_get_be32(p))
    if (U16(t + 2) != 42)
        goto bad;
    const uint32_t ifd = U32(t + 4);
    if (ifd < 8 || ifd > len - 2)
        goto bad;
    const uint32_t n = U16(t + ifd);
    if (n > (len - ifd - 2) / 12)
        goto bad;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = t + ifd + 2 + 12 * i;
        if (U16(e) != 0x0112)
            continue;
        const uint32_t v = U16(e + 8);
        if (U16(e + 2) != 3 || U32(e + 4) != 1 || v < 1 || v > 8)
            goto bad;
        m->orientation = (int)v;
        return;
    }
    return; /* no orientation: upright */
#undef U16
#undef U32
bad:
    kmq_meta_warn(m, "malformed EXIF data ignored (no orientation applied)");
}

/* ---- JPEG segments ---- */

void kmq_jpeg_icc_free(kmq_jpeg_icc *icc)
{
    for (int i = 0; i < 256; i++)
        free(icc->part[i]);
    memset(icc, 0, sizeof *icc);
}

kmq_status kmq_meta_jpeg_segment(kmq_metadata *m, kmq_jpeg_icc *icc, int marker,
                                 const uint8_t *seg, size_t len)
{
    if (marker == 0xE1 && len >= 6 && !memcmp(seg, "Exif\0\0", 6)) {
        if (!icc->exif_seen) /* the first EXIF segment counts (XMP also uses APP1) */
            kmq_meta_exif(m, seg + 6, len - 6);
        icc->exif_seen = 1;
    } else if (marker == 0xE0 && len >= 12 && !memcmp(seg, "JFIF\0", 5)) {
        /* density: units (1 per inch, 2 per cm), x, y; as pHYs per metre */
        const int units = seg[7];
        const uint32_t x = kmq_get_be16(seg + 8), y = kmq_get_be16(seg + 10);
        if ((units == 1 || units == 2) && x && y) {
            uint8_t phys[9];
            kmq_put_be32(phys, units == 1 ? (uint32_t)(x / 0.0254 + 0.5) : x * 100);
            kmq_put_be32(phys + 4, units == 1 ? (uint32_t)(y / 0.0254 + 0.5) : y * 100);
            phys[8] = 1;
            return kmq_meta_add_chunk(m, (const uint8_t *)"pHYs", phys, 9);
        }
    } else if (marker == 0xE2 && len >= 14 && !memcmp(seg, "ICC_PROFILE\0", 12)) {
        /* part seq (1-based) of count, in any order */
        const int seq = seg[12], count = seg[13];
        if (icc->bad)
            return KMQ_OK;
        if (!count || !seq || seq > count || (icc->count && count != icc->count) || icc->part[seq]) {
            icc->bad = "ICC profile split over JPEG segments that do not fit together dropped";
            return KMQ_OK;
        }
        icc->total += len - 14;
        if (icc->total > KMQ_MAX_ICC_PROFILE) {
            icc->bad = "ICC profile larger than 8 MiB dropped";
            return KMQ_OK;
        }
        if (!(icc->part[seq] = malloc(len - 14 ? len - 14 : 1)))
            return KMQ_ERR_NOMEM;
        memcpy(icc->part[seq], seg + 14, len - 14);
        icc->len[seq] = len - 14;
        icc->count = count;
    }
    return KMQ_OK;
}

kmq_status kmq_meta_icc_profile(kmq_metadata *m, const uint8_t *profile, size_t len)
{
    if (!len)
        return KMQ_OK;
    if (len > KMQ_MAX_ICC_PROFILE) {
        kmq_meta_warn(m, "ICC profile larger than 8 MiB dropped");
        return KMQ_OK;
    }
    kmq_jpeg_icc icc; /* one part, joined and deflated as for JPEG */
    memset(&icc, 0, sizeof icc);
    if (!(icc.part[1] = malloc(len)))
        return KMQ_ERR_NOMEM;
    memcpy(icc.part[1], profile, len);
    icc.len[1] = icc.total = len;
    icc.count = 1;
    return kmq_meta_jpeg_finish(m, &icc);
}

kmq_status kmq_meta_jpeg_finish(kmq_metadata *m, kmq_jpeg_icc *icc)
{
    kmq_status s = KMQ_OK;
    if (icc->bad) {
        kmq_meta_warn(m, icc->bad);
    } else if (icc->count) {
        for (int i = 1; i <= icc->count; i++)
            if (!icc->part[i]) {
                kmq_meta_warn(m, "ICC profile split over JPEG segments that do not fit together dropped");
                goto done;
            }
        /* The profile, deflated into an iCCP chunk named as PIL and libpng do. */
        static const char name[] = "ICC Profile";
        uint8_t *profile = malloc(icc->total ? icc->total : 1);
        struct libdeflate_compressor *c = libdeflate_alloc_compressor(9);
        const size_t bound = c ? libdeflate_zlib_compress_bound(c, icc->total) : 0;
        uint8_t *chunk = bound ? malloc(sizeof name + 1 + bound) : NULL;
        if (!profile || !chunk) {
            s = KMQ_ERR_NOMEM;
        } else {
            size_t at = 0;
            for (int i = 1; i <= icc->count; i++) {
                memcpy(profile + at, icc->part[i], icc->len[i]);
                at += icc->len[i];
            }
            memcpy(chunk, name, sizeof name); /* with its NUL */
            chunk[sizeof name] = 0;           /* compression method */
            size_t z = libdeflate_zlib_compress(c, profile, icc->total, chunk + sizeof name + 1, bound);
            if (z)
                s = kmq_meta_add_chunk(m, (const uint8_t *)"iCCP", chunk, sizeof name + 1 + z);
        }
        free(profile), free(chunk);
        libdeflate_free_compressor(c);
    }
done:
    kmq_jpeg_icc_free(icc);
    return s;
}
