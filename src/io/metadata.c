/* Metadata that decides how an image looks: colour space (sRGB, gAMA, cHRM,
 * iCCP), pixel size (pHYs) and EXIF orientation, read from PNG chunks and
 * JPEG APP segments, checked, and written back as PNG chunks.
 *
 * Everything here reads untrusted bytes: each length is checked before it
 * is used, an ICC profile is inflated only up to KMQ_MAX_ICC_PROFILE and
 * must say its own size, the EXIF reader looks at IFD0 only (no offsets are
 * followed, so there is no loop to fall into), and what fails is dropped
 * with a warning rather than refusing the image. */
#include "stb_io.h"
#include "bytes.h"
#include "why.h"

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
    for (size_t at = 0; at + 12 <= m->chunks_len; at += 12 + kmq_get_be32(m->chunks + at)) {
        const int kind = kmq_meta_kind(m->chunks + at + 4);
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
static void iccp_space(const uint8_t *data, size_t len, char space[5])
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

/* ---- PNGs ---- */

/* The chunks of a well-formed PNG before its first IDAT: calls fn for each
   whose CRC is right; stops at the first malformed one. */
static kmq_status each_chunk(const uint8_t *buf, size_t len,
                             kmq_status (*fn)(void *ctx, const uint8_t *type, const uint8_t *data,
                                              size_t len),
                             void *ctx)
{
    if (!kmq_is_png(buf, len))
        return KMQ_ERR_PNG_STRUCTURE;
    for (size_t at = 8; at + 12 <= len;) {
        const uint32_t n = kmq_get_be32(buf + at);
        if (n > len - at - 12)
            break;
        const uint8_t *type = buf + at + 4;
        if (!memcmp(type, "IDAT", 4) || !memcmp(type, "IEND", 4))
            break;
        if (libdeflate_crc32(0, type, 4 + (size_t)n) == kmq_get_be32(buf + at + 8 + n)) {
            kmq_status s = fn(ctx, type, buf + at + 8, n);
            if (s != KMQ_OK)
                return s;
        }
        at += 12 + (size_t)n;
    }
    return KMQ_OK;
}

static kmq_status read_one(void *ctx, const uint8_t *type, const uint8_t *data, size_t len)
{
    kmq_metadata *m = ctx;
    if (!memcmp(type, "kmCp", 4)) { /* a label PNG's: complete chunks inside */
        size_t at = 0;
        while (at + 12 <= len) {
            const uint32_t n = kmq_get_be32(data + at);
            if (n > len - at - 12)
                break;
            if (libdeflate_crc32(0, data + at + 4, 4 + (size_t)n) == kmq_get_be32(data + at + 8 + n)) {
                kmq_status s = kmq_meta_add_chunk(m, data + at + 4, data + at + 8, n);
                if (s != KMQ_OK)
                    return s;
            } else {
                kmq_meta_warn(m, "damaged colour chunk in the label PNG (kmCp) dropped");
            }
            at += 12 + (size_t)n;
        }
        if (at != len) /* bytes that are no whole chunk */
            kmq_meta_warn(m, "damaged colour chunk in the label PNG (kmCp) dropped");
        return KMQ_OK;
    }
    return kmq_meta_add_chunk(m, type, data, len);
}

/* The binding is what keeps a label PNG from being decoded with another
   image's codebook, so damage to it must not read as "no binding": kmq
   writes exactly one kmCp, before the IDAT, whose first inner chunk is a
   7-byte kmCb.  A kmCp anywhere else, a second one, a kmCp whose CRC fails
   or that ends early, a kmCb of another size, with a bad CRC, not first or
   outside kmCp is damage (KMQ_ERR_BINDING).  No kmCp, or a kmCp with no
   kmCb in it (kmq 0.1.0's colour chunks), is no binding. */

/* Bytes [at, at + n) of the file: from memory, or read from fd. */
typedef struct {
    const uint8_t *buf;
    size_t len;
    int fd;
} png_source;

static int source_read(const png_source *src, uint64_t at, uint8_t *out, size_t n)
{
    if (src->buf) {
        if (at > src->len || n > src->len - at)
            return 0;
        memcpy(out, src->buf + at, n);
        return 1;
    }
    for (size_t got = 0; got < n;) {
        const ssize_t r = pread(src->fd, out + got, n - got, (off_t)(at + got));
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

/* 1 if a kmCb stands among the chunks in c (n bytes): walked chunk by
   chunk; where they stop making sense, any "kmCb" in the rest counts. */
static int has_kmcb(const uint8_t *c, size_t n)
{
    size_t at = 0;
    for (; at + 12 <= n; at += 12 + (size_t)kmq_get_be32(c + at)) {
        if (!memcmp(c + at + 4, "kmCb", 4))
            return 1;
        if (kmq_get_be32(c + at) > n - at - 12)
            break;
    }
    return at < n && memmem(c + at, n - at, "kmCb", 4);
}

/* The kmCb at the start of a kmCp's data c (n bytes, its CRC checked). */
static kmq_status binding_in(const uint8_t *c, size_t n, kmq_binding *b)
{
    if (n < 8 || memcmp(c + 4, "kmCb", 4))
        return has_kmcb(c, n) ? KMQ_ERR_BINDING : KMQ_OK; /* none, or not first */
    if (kmq_get_be32(c) != 7 || n < 19 || libdeflate_crc32(0, c + 4, 4 + 7) != kmq_get_be32(c + 15))
        return KMQ_ERR_BINDING;
    b->present = 1;
    b->channels = c[8];
    b->k = c[9] << 8 | c[10];
    b->id = kmq_get_be32(c + 11);
    return has_kmcb(c + 19, n - 19) ? KMQ_ERR_BINDING : KMQ_OK; /* a second one */
}

static kmq_status read_binding(const png_source *src, kmq_binding *b)
{
    memset(b, 0, sizeof *b);
    uint8_t head[8];
    if (!source_read(src, 0, head, 8) || memcmp(head, "\x89PNG\r\n\x1a\n", 8))
        return KMQ_ERR_PNG_STRUCTURE;
    kmq_status s = KMQ_OK;
    int idat = 0, kmcp = 0;
    /* Every chunk's header; the IDATs' data is skipped, not read. */
    for (uint64_t at = 8; s == KMQ_OK && source_read(src, at, head, 8);) {
        const uint32_t n = kmq_get_be32(head);
        const uint8_t *type = head + 4;
        if (!memcmp(type, "IEND", 4))
            break;
        if (!memcmp(type, "IDAT", 4)) {
            idat = 1;
        } else if (!memcmp(type, "kmCb", 4)) {
            s = KMQ_ERR_BINDING;
        } else if (!memcmp(type, "kmCp", 4)) {
            uint8_t *c = NULL;
            if (kmcp++ || idat || n > KMQ_MAX_ICC_PROFILE + (1u << 20))
                s = KMQ_ERR_BINDING;
            else if (!(c = malloc((size_t)n + 8)))
                s = KMQ_ERR_NOMEM;
            else if (!source_read(src, at + 4, c, (size_t)n + 8) ||
                     libdeflate_crc32(0, c, 4 + (size_t)n) != kmq_get_be32(c + 4 + n))
                s = KMQ_ERR_BINDING;
            else
                s = binding_in(c + 4, n, b);
            free(c);
        }
        at += 12 + (uint64_t)n;
    }
    if (s == KMQ_ERR_BINDING)
        memset(b, 0, sizeof *b), b->present = -1;
    return s;
}

kmq_status kmq_labels_read_binding(const uint8_t *png, size_t len, kmq_binding *b)
{
    kmq_why_clear();
    if (!b)
        return kmq_arg("b is NULL");
    if (!png) {
        memset(b, 0, sizeof *b);
        return kmq_arg("png is NULL");
    }
    const png_source src = {png, len, -1};
    return read_binding(&src, b);
}

kmq_status kmq_labels_read_binding_fd(int fd, kmq_binding *b)
{
    kmq_why_clear();
    if (!b)
        return kmq_arg("b is NULL");
    if (fd < 0) {
        memset(b, 0, sizeof *b);
        return kmq_arg("fd = %d is not a file descriptor", fd);
    }
    const png_source src = {NULL, 0, fd};
    return read_binding(&src, b);
}

int kmq_binding_matches(const kmq_binding *b, const kmq_codebook *cb)
{
    return !b->present || (b->present > 0 &&
           b->channels == cb->channels && b->k == cb->k && b->id == kmq_codebook_id(cb));
}

kmq_status kmq_png_read_metadata(const uint8_t *buf, size_t len, kmq_metadata *meta)
{
    kmq_why_clear();
    if (!meta)
        return kmq_arg("meta is NULL");
    kmq_meta_init(meta);
    if (!buf)
        return kmq_arg("buf is NULL");
    kmq_status s = each_chunk(buf, len, read_one, meta);
    if (s != KMQ_OK)
        kmq_metadata_free(meta);
    return s;
}

/* Inserts `add` (complete chunks) after the IHDR of a PNG kmq wrote. */
static kmq_status insert_after_ihdr(const uint8_t *png, size_t len, const uint8_t *add,
                                    size_t add_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (!png || len < 33 || !kmq_is_png(png, len) || memcmp(png + 12, "IHDR", 4) || kmq_get_be32(png + 8) != 13)
        return kmq_arg("png does not start with a PNG signature and IHDR chunk");
    uint8_t *p = malloc(len + add_len);
    if (!p)
        return KMQ_ERR_NOMEM;
    memcpy(p, png, 33);
    if (add_len)
        memcpy(p + 33, add, add_len);
    memcpy(p + 33 + add_len, png + 33, len - 33);
    *out = p;
    *out_len = len + add_len;
    return KMQ_OK;
}

kmq_status kmq_png_add_metadata(const uint8_t *png, size_t len, const kmq_metadata *meta,
                                uint8_t **out, size_t *out_len, const char **warning)
{
    kmq_why_clear();
    if (warning)
        *warning = NULL;
    if (!meta || !meta->chunks_len)
        return insert_after_ihdr(png, len, NULL, 0, out, out_len);
    if (!png || len < 33)
        return kmq_arg("png does not start with a PNG signature and IHDR chunk");
    /* An ICC profile must describe the PNG's colour type. */
    const int grey = png[25] == 0 || png[25] == 4;
    uint8_t *keep = malloc(meta->chunks_len);
    size_t kept = 0;
    if (!keep)
        return KMQ_ERR_NOMEM;
    for (size_t at = 0; at + 12 <= meta->chunks_len;) {
        const size_t n = kmq_get_be32(meta->chunks + at), whole = 12 + n;
        if (!memcmp(meta->chunks + at + 4, "iCCP", 4)) {
            char space[5];
            iccp_space(meta->chunks + at + 8, n, space);
            if (strcmp(space, grey ? "GRAY" : "RGB ") != 0) {
                if (warning)
                    *warning = grey ? "the ICC profile is not for greyscale: left out"
                                    : "the ICC profile is not for RGB: left out";
                at += whole;
                continue;
            }
        }
        memcpy(keep + kept, meta->chunks + at, whole);
        kept += whole;
        at += whole;
    }
    kmq_status s = insert_after_ihdr(png, len, keep, kept, out, out_len);
    free(keep);
    return s;
}

kmq_status kmq_labels_add_metadata(const uint8_t *png, size_t len, const kmq_metadata *meta,
                                   const kmq_codebook *cb, uint8_t **out, size_t *out_len)
{
    kmq_why_clear();
    const size_t colour = meta ? meta->chunks_len : 0, bind = cb ? 12 + 7 : 0;
    if (!colour && !bind)
        return insert_after_ihdr(png, len, NULL, 0, out, out_len);
    if (colour > 0x7FFFFFFFu - bind)
        return KMQ_ERR_TOO_LARGE;
    kmq_status s;
    if (cb && !kmq_codebook_id(cb)) /* 0: not a codebook, or one whose identity cannot be told */
        return (s = kmq_codebook_check(cb)) != KMQ_OK ? s : kmq_arg("cb's identity is 0");
    const size_t n = colour + bind;
    uint8_t *chunk = malloc(12 + n);
    if (!chunk)
        return KMQ_ERR_NOMEM;
    if (colour)
        memcpy(chunk + 8 + bind, meta->chunks, colour);
    if (cb) { /* the binding first: found in the first 64 bytes of the file */
        uint8_t binding[7] = {(uint8_t)cb->channels, (uint8_t)(cb->k >> 8), (uint8_t)(cb->k & 0xFF)};
        kmq_put_be32(binding + 3, kmq_codebook_id(cb));
        kmq_png_put_chunk(chunk + 8, "kmCb", binding, 7);
    }
    kmq_png_put_chunk(chunk, "kmCp", chunk + 8, n); /* the data is in place */
    s = insert_after_ihdr(png, len, chunk, 12 + n, out, out_len);
    free(chunk);
    return s;
}

void kmq_meta_swap_phys(kmq_metadata *m)
{
    for (size_t at = 0; at + 12 <= m->chunks_len; at += 12 + kmq_get_be32(m->chunks + at)) {
        uint8_t *c = m->chunks + at;
        if (memcmp(c + 4, "pHYs", 4) != 0)
            continue;
        uint8_t x[4];
        memcpy(x, c + 8, 4);
        memcpy(c + 8, c + 12, 4);
        memcpy(c + 12, x, 4);
        kmq_put_be32(c + 17, (uint32_t)libdeflate_crc32(0, c + 4, 13));
    }
}

kmq_status kmq_png_chunk_meta(kmq_metadata *m, const uint8_t *type, const uint8_t *data,
                              size_t len)
{
    if (!memcmp(type, "eXIf", 4)) {
        kmq_meta_exif(m, data, len);
        return KMQ_OK;
    }
    return kmq_meta_add_chunk(m, type, data, len);
}
