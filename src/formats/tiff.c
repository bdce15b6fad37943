/* TIFF input through libtiff (see formats.h): the first page, read a band
 * at a time (one strip, one row of tiles, or, for strips over 4 MiB such as
 * a single-strip image, about 1 MiB of rows read one by one with
 * TIFFReadScanline) by a row reader that works on memory or, with pread, on
 * a file descriptor.  kmq_tiff_decode is that reader over memory, so both
 * paths give the same pixels.  Row by row, libtiff still reads a strip's
 * compressed bytes whole (its chunked strip reading is a build option that
 * Debian leaves off): memory is then about the compressed strip, not the
 * decoded one.  Uncompressed single strips are cut into small strips by
 * libtiff itself.
 *
 * Read: 1, 2, 4, 8 and 16-bit unsigned samples; grey (MinIsWhite inverted),
 * grey+alpha, RGB, RGBA, palette (RGB out); contiguous or separate planes;
 * strips or tiles; every codec libtiff has except old-style JPEG; YCbCr
 * only inside JPEG, which libtiff turns to RGB.  Associated (premultiplied)
 * alpha is undone on the 8-bit values.  Refused with "unsupported TIFF:":
 * CMYK, Lab and other photometrics, float or signed samples, other depths.
 *
 * libtiff never prints: its errors and warnings go to per-TIFF handlers
 * (no process-wide state changes), the first error becomes *why; damage a
 * codec reports while a strip or tile decodes refuses the file, even when
 * libtiff returns the strip (see damage_warning).  Its own
 * allocations are capped at the file's length plus 16 MiB; every strip or
 * tile must lie inside the file; kmq_tiff_decode grows its output as rows
 * arrive, so a small file claiming a large image fails before the memory
 * for it is taken. */
#include "formats.h"

#include <tiffio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_SAMPLES = 8 };                /* samples per pixel accepted */

/* Strips whose decoded size (one plane) exceeds SCAN_MIN_STRIP are read a
   row at a time with TIFFReadScanline, SCAN_BAND rows' bytes (at least one
   row) per band, instead of whole.  4 MiB: every common writer's strips
   (libtiff's default ~8 KiB, PIL's 64 KiB, ImageMagick's) stay on the
   one-call-per-strip path, while a strip that is a real share of a
   streaming budget (a single-strip image: 1.2 GB at 20000 x 20000 RGB) is
   never decoded whole.  A codec libtiff cannot read by scanline keeps the
   strip path; the row reader (not kmq_tiff_decode, which holds the whole
   image anyway) refuses such strips above STRIP_LIMIT. */
#define SCAN_MIN_STRIP ((size_t)4 << 20)
#define SCAN_BAND ((size_t)1 << 20)
#define STRIP_LIMIT ((uint64_t)256 << 20)
enum { GREY, GREY_INVERTED, RGB, PALETTE }; /* how samples become pixels */

/* The bytes libtiff reads: a buffer, or a file descriptor read with pread. */
typedef struct {
    const uint8_t *mem; /* NULL: read fd */
    int fd, error;      /* error: errno of a failed pread */
    uint64_t len, pos;
} source;

typedef struct {
    kmq_rows pub; /* first: the kmq_rows handed out is this struct */
    source in;
    TIFF *tif;
    /* Row-at-a-time reading (scan): one handle per plane read, as a
       scanline decoder cannot skip rows to move between planes; plane_tif[p]
       is tif for the first, else its own handle on plane_in[p]. */
    int scan;
    TIFF *plane_tif[MAX_SAMPLES];
    source plane_in[MAX_SAMPLES];
    char err[160]; /* libtiff's first error, one line */
    int decoding;      /* strips or tiles are being decoded (damage_warning) */
    char damage[160];  /* the first damage reported while decoding */
    int kind, assoc, tiled, separate, bps, spp;
    int map[MAX_SAMPLES]; /* stored sample -> output channel, or -1 */
    uint32_t unit_w, unit_h; /* tile size, or image width x rows per strip
                                (scan: x rows per band) */
    size_t stride;           /* bytes per row of a strip or tile (one plane) */
    size_t unit_size;        /* bytes of one strip or tile (one plane; scan:
                                of one band's rows) */
    uint8_t *unit, *band;    /* one strip or tile; the decoded band */
    uint32_t band_y0, band_rows, next;
    uint8_t lut[256][3]; /* palette colours */
} tiff_rows;

int kmq_is_tiff(const uint8_t *b, size_t len)
{
    /* classic (42) and BigTIFF (43), either byte order */
    return len >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
                        (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43)));
}

/* ---- libtiff's client procedures ---- */

static tmsize_t src_read(thandle_t h, void *buf, tmsize_t n)
{
    source *s = h;
    const uint64_t left = s->pos < s->len ? s->len - s->pos : 0;
    const size_t want = n <= 0 ? 0 : (uint64_t)n < left ? (size_t)n : (size_t)left;
    size_t got = 0;
    if (s->mem) {
        if (want)
            memcpy(buf, s->mem + s->pos, want);
        got = want;
    } else {
        while (got < want) {
            const ssize_t k = pread(s->fd, (uint8_t *)buf + got, want - got, (off_t)(s->pos + got));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                s->error = errno;
                return -1;
            }
            if (k == 0)
                break;
            got += (size_t)k;
        }
    }
    s->pos += got;
    return (tmsize_t)got;
}

static tmsize_t src_write(thandle_t h, void *buf, tmsize_t n)
{
    (void)h, (void)buf, (void)n;
    return -1;
}

static toff_t src_seek(thandle_t h, toff_t off, int whence)
{
    source *s = h;
    uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->len : 0;
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
        return (toff_t)-1;
    if (off > UINT64_MAX / 2 - base) /* toff_t is unsigned: a "negative" offset */
        return (toff_t)-1;
    s->pos = base + off;
    return s->pos;
}

static int src_close(thandle_t h)
{
    (void)h; /* the caller owns the buffer or descriptor */
    return 0;
}

static toff_t src_size(thandle_t h)
{
    return ((source *)h)->len;
}

/* A buffer is "mapped": libtiff reads strips in place instead of copying. */
static int src_map(thandle_t h, void **base, toff_t *size)
{
    source *s = h;
    if (!s->mem)
        return 0;
    *base = (void *)s->mem;
    *size = s->len;
    return 1;
}

static void src_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h, (void)base, (void)size;
}

/* libtiff's message, one line, into out. */
__attribute__((format(printf, 3, 0))) static void message(char *out, size_t size,
                                                        const char *fmt, va_list ap)
{
    vsnprintf(out, size, fmt, ap);
    if (!strncmp(out, "TIFF: ", 6)) /* the name we opened it by: said once already */
        memmove(out, out + 6, strlen(out + 6) + 1);
    for (char *c = out; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

/* Damage, and libtiff decodes on: its codecs report what they paper over
   through the error or warning handler, yet the strip read returns the full
   strip with pixels made up (a CCITT line of the wrong length or with a bad
   code word, PackBits runs past the row, libjpeg's corrupt data, an LZW
   code used before it is defined -- 40 % of one-byte flips of a G4 strip,
   all decoded "fine").  Any error while a strip or tile decodes is damage;
   of the warnings, those saying data was made up or dropped (the others,
   such as a JPEG strip taller than needed or progressive JPEG, are not). */
static int damage_warning(const char *module, const char *msg)
{
    if (!module)
        return 0;
    if (!strncmp(module, "Fax", 3) || !strcmp(module, "PackBitsDecode") || !strcmp(module, "JBIG"))
        return 1;
    if (!strcmp(module, "JPEGLib"))
        return !strncmp(msg, "Corrupt JPEG data", 17) || !strncmp(msg, "Premature end of JPEG", 21);
    return !strcmp(module, "JPEGPreDecode") && !strncmp(msg, "Improper JPEG strip/tile size", 29);
}

__attribute__((format(printf, 4, 0))) static int on_error(TIFF *tif, void *user, const char *module,
                                                       const char *fmt, va_list ap)
{
    (void)tif, (void)module;
    tiff_rows *t = user;
    if (t && !t->err[0]) {
        va_list again;
        va_copy(again, ap);
        message(t->err, sizeof t->err, fmt, again);
        va_end(again);
    }
    if (t && t->decoding && !t->damage[0])
        message(t->damage, sizeof t->damage, fmt, ap);
    return 1; /* handled: libtiff's global handlers (stderr) are not called */
}

__attribute__((format(printf, 4, 0))) static int on_warning(TIFF *tif, void *user,
                                                         const char *module, const char *fmt,
                                                         va_list ap)
{
    (void)tif;
    tiff_rows *t = user;
    if (t && t->decoding && !t->damage[0]) {
        char msg[sizeof t->damage];
        message(msg, sizeof msg, fmt, ap);
        if (damage_warning(module, msg))
            memcpy(t->damage, msg, sizeof msg);
    }
    return 1;
}

/* ---- failures ---- */

/* KMQ_ERR_IMAGE_CORRUPT with libtiff's first error, else `what`. */
static kmq_status corrupt(tiff_rows *t, const char *what, const char **why)
{
    static _Thread_local char msg[200];
    for (int p = -1; p < MAX_SAMPLES; p++) {
        const int e = p < 0 ? t->in.error : t->plane_in[p].error;
        if (e) {
            errno = e;
            return KMQ_ERR_IO;
        }
    }
    snprintf(msg, sizeof msg, "corrupt TIFF: %s",
             t->damage[0] ? t->damage : t->err[0] ? t->err : what);
    *why = msg;
    return KMQ_ERR_IMAGE_CORRUPT;
}

static kmq_status unsupported(const char **why, const char *what, unsigned value)
{
    static _Thread_local char msg[120];
    if (value)
        snprintf(msg, sizeof msg, "unsupported TIFF: %s %u", what, value);
    else
        snprintf(msg, sizeof msg, "unsupported TIFF: %s", what);
    *why = msg;
    return KMQ_ERR_IMAGE_FORMAT;
}

/* ---- opening a handle ---- */

/* A libtiff handle on `in` (errors to t->err), or NULL. */
static TIFF *open_tif(tiff_rows *t, source *in)
{
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return NULL;
    const uint64_t cap = in->len + (16u << 20);
    TIFFOpenOptionsSetMaxSingleMemAlloc(opts, cap < (uint64_t)INT64_MAX / 2 ? (tmsize_t)cap : 0);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, t);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, t);
    /* "m": no mapping of descriptors (src_map maps buffers only anyway) */
    TIFF *tif = TIFFClientOpenExt("TIFF", in->mem ? "r" : "rm", (thandle_t)in, src_read, src_write,
                                  src_seek, src_close, src_size, src_map, src_unmap, opts);
    TIFFOpenOptionsFree(opts);
    return tif;
}

/* ---- decoding a band ---- */

/* Rows [0, rows) of one strip or tile (plane `plane` when the planes are
   separate), pixels [x0, x0 + ncols) of the image, into the band. */
static void unpack(tiff_rows *t, uint32_t x0, uint32_t ncols, uint32_t rows, int plane)
{
    const int C = t->pub.channels, nbuf = t->separate ? 1 : t->spp;
    const size_t W = t->pub.width;
    const unsigned mask = (1u << (t->bps < 16 ? t->bps : 8)) - 1;
    for (uint32_t r = 0; r < rows; r++) {
        const uint8_t *row = t->unit + r * t->stride;
        uint8_t *dst = t->band + ((size_t)r * W + x0) * (size_t)C;
        for (int sb = 0; sb < nbuf; sb++) {
            const int sample = t->separate ? plane : sb;
            const int ch = sample < MAX_SAMPLES ? t->map[sample] : -1;
            if (ch < 0)
                continue;
            uint8_t *d = dst + ch;
            if (t->bps == 8) {
                for (uint32_t x = 0; x < ncols; x++)
                    d[(size_t)x * C] = row[(size_t)x * nbuf + sb];
            } else if (t->bps == 16) { /* host byte order from libtiff; the high byte */
                for (uint32_t x = 0; x < ncols; x++) {
                    uint16_t v;
                    memcpy(&v, row + 2 * ((size_t)x * nbuf + sb), 2);
                    d[(size_t)x * C] = (uint8_t)(v >> 8);
                }
            } else { /* 1, 2 or 4 bits, the first sample in the high bits */
                const int raw = t->kind == PALETTE;
                for (uint32_t x = 0; x < ncols; x++) {
                    const size_t bit = ((size_t)x * nbuf + sb) * (size_t)t->bps;
                    const unsigned v = row[bit >> 3] >> (8 - t->bps - (int)(bit & 7)) & mask;
                    d[(size_t)x * C] = (uint8_t)(raw ? v : v * 255 / mask);
                }
            }
        }
    }
}

/* Inversion, palette lookup and un-premultiplying, over n pixels. */
static void finish_pixels(tiff_rows *t, uint8_t *p, size_t n)
{
    const int C = t->pub.channels;
    if (t->kind == GREY_INVERTED)
        for (size_t i = 0; i < n; i++)
            p[i * C] = (uint8_t)(255 - p[i * C]);
    if (t->kind == PALETTE)
        for (size_t i = 0; i < n; i++)
            memcpy(p + i * 3, t->lut[p[i * 3]], 3);
    if (t->assoc)
        for (size_t i = 0; i < n; i++) {
            uint8_t *q = p + i * C;
            const unsigned a = q[C - 1];
            for (int c = 0; c < C - 1; c++) {
                const unsigned v = a ? (q[c] * 255u + a / 2) / a : 0;
                q[c] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
}

static kmq_status load_band(tiff_rows *t, uint32_t y0, const char **why)
{
    const uint32_t W = t->pub.width, rows = t->pub.height - y0 < t->unit_h ? t->pub.height - y0
                                                                           : t->unit_h;
    const int planes = t->separate ? t->spp : 1;
    t->band_rows = 0;
    t->decoding = 1; /* from here on, what libtiff reports is damage */
    for (int p = 0; p < planes; p++) {
        if (t->separate && (p >= MAX_SAMPLES || t->map[p] < 0))
            continue; /* a plane kmq does not use is not decoded */
        if (t->scan) {
            for (uint32_t i = 0; i < rows; i++)
                if (TIFFReadScanline(t->plane_tif[p], t->unit + i * t->stride, y0 + i,
                                     (uint16_t)p) != 1 ||
                    t->damage[0])
                    return corrupt(t, "a row could not be read", why);
            unpack(t, 0, W, rows, p);
            continue;
        }
        if (!t->tiled) {
            const tmsize_t want = (tmsize_t)(rows * t->stride);
            if (TIFFReadEncodedStrip(t->tif, TIFFComputeStrip(t->tif, y0, (uint16_t)p), t->unit,
                                     want) != want ||
                t->damage[0])
                return corrupt(t, "a strip could not be read", why);
            unpack(t, 0, W, rows, p);
            continue;
        }
        for (uint32_t x = 0; x < W; x += t->unit_w) {
            if (TIFFReadEncodedTile(t->tif, TIFFComputeTile(t->tif, x, y0, 0, (uint16_t)p), t->unit,
                                    (tmsize_t)t->unit_size) != (tmsize_t)t->unit_size ||
                t->damage[0])
                return corrupt(t, "a tile could not be read", why);
            unpack(t, x, W - x < t->unit_w ? W - x : t->unit_w, rows, p);
        }
    }
    finish_pixels(t, t->band, (size_t)W * rows);
    t->band_y0 = y0, t->band_rows = rows;
    return KMQ_OK;
}

static kmq_status rows_read(kmq_rows *r, uint8_t *out, uint32_t n, const char **why)
{
    tiff_rows *t = (tiff_rows *)r;
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (n > r->height - t->next) {
        *why = "read past the last row";
        return KMQ_ERR_ARG;
    }
    const size_t row = (size_t)r->width * (size_t)r->channels;
    while (n) {
        if (t->next < t->band_y0 || t->next >= t->band_y0 + t->band_rows) {
            kmq_status s = load_band(t, t->next - t->next % t->unit_h, why);
            if (s != KMQ_OK)
                return s;
        }
        uint32_t k = t->band_y0 + t->band_rows - t->next;
        k = k < n ? k : n;
        memcpy(out, t->band + (size_t)(t->next - t->band_y0) * row, k * row);
        out += k * row, t->next += k, n -= k;
    }
    return KMQ_OK;
}

static kmq_status rows_rewind(kmq_rows *r, const char **why)
{
    if (why)
        *why = NULL;
    ((tiff_rows *)r)->next = 0; /* the band in memory stays valid */
    return KMQ_OK;
}

static void rows_close(kmq_rows *r)
{
    tiff_rows *t = (tiff_rows *)r;
    if (!t)
        return;
    for (int p = 0; p < MAX_SAMPLES; p++)
        if (t->plane_tif[p] && t->plane_tif[p] != t->tif)
            TIFFClose(t->plane_tif[p]);
    if (t->tif)
        TIFFClose(t->tif);
    free(t->unit);
    free(t->band);
    free(t);
}

/* ---- opening ---- */

/* Photometric, depth and layout into t's fields, or why not. */
static kmq_status read_layout(tiff_rows *t, const char **why)
{
    TIFF *tif = t->tif;
    uint16_t bps = 1, spp = 1, photo, planar = PLANARCONFIG_CONTIG, format = SAMPLEFORMAT_UINT;
    uint16_t compression = COMPRESSION_NONE, nextra = 0, *extra = NULL;
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo))
        return corrupt(t, "no photometric interpretation", why);
    if (format == SAMPLEFORMAT_IEEEFP || format == SAMPLEFORMAT_COMPLEXIEEEFP)
        return unsupported(why, "floating-point samples", 0);
    if (format != SAMPLEFORMAT_UINT && format != SAMPLEFORMAT_VOID)
        return unsupported(why, "signed samples", 0);
    if (bps != 1 && bps != 2 && bps != 4 && bps != 8 && bps != 16)
        return unsupported(why, "bits per sample:", bps);
    if (spp < 1 || spp > MAX_SAMPLES)
        return unsupported(why, "samples per pixel:", spp);
    if (compression == COMPRESSION_OJPEG)
        return unsupported(why, "old-style JPEG compression", 0);
    if (!TIFFIsCODECConfigured(compression))
        return unsupported(why, "compression", compression);
    if (planar != PLANARCONFIG_CONTIG && planar != PLANARCONFIG_SEPARATE)
        return corrupt(t, "unknown planar configuration", why);
    t->bps = bps, t->spp = spp;
    t->separate = planar == PLANARCONFIG_SEPARATE && spp > 1;
    for (int i = 0; i < MAX_SAMPLES; i++)
        t->map[i] = -1;
    int colours;
    switch (photo) {
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_MINISWHITE:
        t->kind = photo == PHOTOMETRIC_MINISWHITE ? GREY_INVERTED : GREY;
        colours = 1;
        break;
    case PHOTOMETRIC_YCBCR:
        if (compression != COMPRESSION_JPEG)
            return unsupported(why, "YCbCr colour without JPEG compression", 0);
        if (t->separate)
            return unsupported(why, "JPEG YCbCr with separate planes", 0);
        /* libjpeg converts to RGB and upsamples */
        if (!TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
            return corrupt(t, "JPEG colour mode refused", why);
        /* fall through */
    case PHOTOMETRIC_RGB:
        if (spp < 3)
            return corrupt(t, "RGB with fewer than 3 samples per pixel", why);
        t->kind = RGB;
        colours = 3;
        break;
    case PHOTOMETRIC_PALETTE: {
        uint16_t *r, *g, *b;
        if (bps > 8)
            return unsupported(why, "palette with bits per sample:", bps);
        if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &r, &g, &b))
            return corrupt(t, "palette image without a colour map", why);
        /* Some writers store 8-bit values in the 16-bit map (libtiff's
           RGBA reader makes the same guess): all entries < 256. */
        const int n = 1 << bps;
        int wide = 0;
        for (int i = 0; i < n; i++)
            wide |= r[i] >= 256 || g[i] >= 256 || b[i] >= 256;
        const int shift = wide ? 8 : 0;
        memset(t->lut, 0, sizeof t->lut);
        for (int i = 0; i < n; i++) {
            t->lut[i][0] = (uint8_t)(r[i] >> shift);
            t->lut[i][1] = (uint8_t)(g[i] >> shift);
            t->lut[i][2] = (uint8_t)(b[i] >> shift);
        }
        t->kind = PALETTE;
        colours = 1; /* the index; looked up into 3 channels */
        break;
    }
    case PHOTOMETRIC_SEPARATED: return unsupported(why, "CMYK (separated) colour", 0);
    case PHOTOMETRIC_CIELAB:
    case PHOTOMETRIC_ICCLAB:
    case PHOTOMETRIC_ITULAB: return unsupported(why, "Lab colour", 0);
    default: return unsupported(why, "photometric interpretation", photo);
    }
    for (int i = 0; i < colours; i++)
        t->map[i] = i;
    /* The first sample after the colours is alpha, when there is one
       (unassociated unless the ExtraSamples tag says premultiplied). */
    const int alpha = t->kind != PALETTE && spp > colours;
    if (alpha) {
        t->map[colours] = colours;
        t->assoc = nextra > 0 && extra && extra[0] == EXTRASAMPLE_ASSOCALPHA;
    }
    t->pub.channels = t->kind == PALETTE ? 3 : colours + alpha;
    return KMQ_OK;
}

/* Row-at-a-time reading of a strip larger than SCAN_MIN_STRIP: a band of
   rows is SCAN_BAND bytes (one row at least).  The first row of each plane
   is read here: a codec that cannot decode by scanline fails then, and the
   strip path is kept (the row reader refuses strips above STRIP_LIMIT). */
static kmq_status start_scan(tiff_rows *t, const char **why)
{
    const int planes = t->separate ? t->spp : 1;
    uint8_t *row = malloc(t->stride);
    if (!row)
        return KMQ_ERR_NOMEM;
    int ok = 1, first = 1;
    for (int p = 0; p < planes && ok; p++) {
        if (t->separate && (p >= MAX_SAMPLES || t->map[p] < 0))
            continue;
        if (first) {
            t->plane_tif[p] = t->tif;
            first = 0;
        } else {
            t->plane_in[p] = t->in;
            t->plane_in[p].pos = 0;
            if (!(t->plane_tif[p] = open_tif(t, &t->plane_in[p]))) {
                ok = 0;
                break;
            }
        }
        ok = TIFFReadScanline(t->plane_tif[p], row, 0, (uint16_t)p) == 1;
    }
    free(row);
    if (ok) {
        const size_t k = t->stride < SCAN_BAND ? SCAN_BAND / t->stride : 1;
        t->unit_h = k < t->unit_h ? (uint32_t)k : t->unit_h;
        t->unit_size = t->unit_h * t->stride;
        t->scan = 1;
        return KMQ_OK;
    }
    for (int p = 0; p < MAX_SAMPLES; p++) {
        if (t->plane_in[p].error)
            return corrupt(t, "", why); /* a failed pread */
        if (t->plane_tif[p] && t->plane_tif[p] != t->tif)
            TIFFClose(t->plane_tif[p]);
        t->plane_tif[p] = NULL;
    }
    if (t->in.error)
        return corrupt(t, "", why);
    if (!t->in.mem && t->unit_size > STRIP_LIMIT) {
        static _Thread_local char msg[200];
        uint16_t compression = COMPRESSION_NONE;
        TIFFGetFieldDefaulted(t->tif, TIFFTAG_COMPRESSION, &compression);
        snprintf(msg, sizeof msg,
                 "unsupported TIFF for streaming: strips of %llu MiB whose compression (%u) "
                 "cannot be read a row at a time",
                 (unsigned long long)(t->unit_size >> 20), (unsigned)compression);
        *why = msg;
        return KMQ_ERR_IMAGE_FORMAT;
    }
    t->err[0] = '\0'; /* the strip path decodes whole strips, as for small ones */
    return KMQ_OK;
}

/* Strip or tile geometry, each strip or tile inside the file, buffers. */
static kmq_status read_geometry(tiff_rows *t, const char **why)
{
    TIFF *tif = t->tif;
    const uint32_t W = t->pub.width, H = t->pub.height;
    t->tiled = TIFFIsTiled(tif);
    if (t->tiled) {
        uint32_t tw = 0, th = 0;
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
        /* tiles may overhang the image, but not by much more than a tile */
        if (!tw || !th || tw > (W > 1024 ? W : 1024) + 16 || th > (H > 1024 ? H : 1024) + 16)
            return corrupt(t, "bad tile size", why);
        t->unit_w = tw, t->unit_h = th;
        t->stride = (size_t)TIFFTileRowSize64(tif);
        t->unit_size = (size_t)TIFFTileSize64(tif);
    } else {
        uint32_t rps = H;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        t->unit_w = W, t->unit_h = rps && rps < H ? rps : H;
        t->stride = (size_t)TIFFScanlineSize64(tif);
        t->unit_size = t->stride * t->unit_h;
    }
    const int nbuf = t->separate ? 1 : t->spp;
    const uint64_t row_bits = (uint64_t)t->unit_w * (uint64_t)nbuf * (uint64_t)t->bps;
    if (!t->stride || t->stride < (row_bits + 7) / 8 || t->unit_size < t->stride * t->unit_h)
        return corrupt(t, "bad strip or tile layout", why);
    const uint32_t n = t->tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    const uint64_t across = t->tiled ? (W + (uint64_t)t->unit_w - 1) / t->unit_w : 1;
    const uint64_t down = (H + (uint64_t)t->unit_h - 1) / t->unit_h;
    if ((uint64_t)n < across * down * (t->separate ? (uint64_t)t->spp : 1))
        return corrupt(t, "fewer strips or tiles than the image needs", why);
    for (uint32_t i = 0; i < n; i++) {
        const uint64_t at = TIFFGetStrileOffset(tif, i), bytes = TIFFGetStrileByteCount(tif, i);
        if (at > t->in.len || bytes > t->in.len - at)
            return corrupt(t, "strip or tile data beyond the end of the file", why);
    }
    if (!t->tiled && t->unit_size > SCAN_MIN_STRIP) {
        kmq_status s = start_scan(t, why);
        if (s != KMQ_OK)
            return s;
    }
    t->unit = malloc(t->unit_size ? t->unit_size : 1);
    t->band = malloc((size_t)W * t->unit_h * (size_t)t->pub.channels);
    return t->unit && t->band ? KMQ_OK : KMQ_ERR_NOMEM;
}

/* Orientation, ICC profile, and the multi-page warning into meta. */
static kmq_status read_meta(tiff_rows *t, kmq_metadata *meta)
{
    uint16_t o = 1;
    if (TIFFGetField(t->tif, TIFFTAG_ORIENTATION, &o) && o >= 1 && o <= 8)
        meta->orientation = o;
    if (!TIFFLastDirectory(t->tif))
        kmq_meta_warn(meta, "multi-page TIFF: only the first page is used");
    uint32_t len = 0;
    void *profile = NULL;
    if (!TIFFGetField(t->tif, TIFFTAG_ICCPROFILE, &len, &profile) || !len || !profile)
        return KMQ_OK;
    return kmq_meta_icc_profile(meta, profile, len);
}

/* Opens t (its source set) on the first page; t is freed on failure. */
static kmq_status open_rows(tiff_rows *t, uint64_t max_pixels, kmq_metadata *meta,
                            const char **why)
{
    t->tif = open_tif(t, &t->in);
    kmq_status s = KMQ_OK;
    uint32_t w = 0, h = 0;
    if (!t->tif)
        s = corrupt(t, "not a readable TIFF", why);
    else if (!TIFFGetField(t->tif, TIFFTAG_IMAGEWIDTH, &w) ||
             !TIFFGetField(t->tif, TIFFTAG_IMAGELENGTH, &h) || !w || !h)
        s = corrupt(t, "no image size", why);
    else if ((s = kmq_check_size(w, h, max_pixels, why)) == KMQ_OK) {
        t->pub.width = w, t->pub.height = h;
        /* the density after the layout: a strip past the end is corrupt */
        if ((s = read_layout(t, why)) == KMQ_OK && (s = read_geometry(t, why)) == KMQ_OK &&
            (s = kmq_check_density(w, h, t->pub.channels, t->in.len, why)) == KMQ_OK)
            s = read_meta(t, meta);
    }
    if (s != KMQ_OK) {
        rows_close(&t->pub);
        return s;
    }
    t->pub.read = rows_read;
    t->pub.rewind = rows_rewind;
    t->pub.close = rows_close;
    return KMQ_OK;
}

static tiff_rows *new_rows(void)
{
    tiff_rows *t = calloc(1, sizeof *t);
    if (t)
        t->in.fd = -1;
    return t;
}

kmq_status kmq_tiff_rows_open(int fd, uint64_t file_len, uint64_t max_pixels, kmq_rows **r,
                              kmq_metadata *meta, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!r || !meta || fd < 0)
        return KMQ_ERR_ARG;
    *r = NULL;
    tiff_rows *t = new_rows();
    if (!t)
        return KMQ_ERR_NOMEM;
    t->in.fd = fd, t->in.len = file_len;
    kmq_status s = open_rows(t, max_pixels, meta, why);
    if (s == KMQ_OK)
        *r = &t->pub;
    return s;
}

kmq_status kmq_tiff_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                           kmq_metadata *meta, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!buf || !img || !meta)
        return KMQ_ERR_ARG;
    memset(img, 0, sizeof *img);
    tiff_rows *t = new_rows();
    if (!t)
        return KMQ_ERR_NOMEM;
    t->in.mem = buf, t->in.len = len;
    kmq_status s = open_rows(t, max_pixels, meta, why);
    if (s != KMQ_OK)
        return s;
    /* The output grows (doubling) as bands decode: a file whose data ends
       early fails before the whole image's memory is taken. */
    const size_t row = (size_t)t->pub.width * (size_t)t->pub.channels;
    const size_t total = row * t->pub.height;
    uint8_t *px = NULL;
    size_t cap = 0;
    for (uint32_t y = 0; y < t->pub.height && s == KMQ_OK;) {
        const uint32_t k = t->pub.height - y < t->unit_h ? t->pub.height - y : t->unit_h;
        const size_t need = (size_t)(y + k) * row;
        if (need > cap) {
            size_t grown = cap < total / 2 ? 2 * cap : total;
            grown = grown > need ? grown : need;
            uint8_t *p = realloc(px, grown);
            if (!p) {
                s = KMQ_ERR_NOMEM;
                break;
            }
            px = p, cap = grown;
        }
        s = rows_read(&t->pub, px + (size_t)y * row, k, why);
        y += k;
    }
    if (s == KMQ_OK) {
        img->width = (int)t->pub.width, img->height = (int)t->pub.height;
        img->channels = t->pub.channels, img->pixels = px;
    } else {
        free(px);
    }
    rows_close(&t->pub);
    return s;
}
