/* GIF input by giflib: the first frame, read record by record (never
   DGifSlurp, which decodes every frame) and row by row.

   What comes out, decided here:
   - The logical screen's size, the first frame at its offset.  A frame that
     does not fit in the screen is refused (corrupt), as is a zero-size
     screen or frame and a frame with no colour table (local or global).
   - The first frame has a transparent index (graphics control extension):
     RGBA.  Transparent pixels keep their colour-table RGB with alpha 0 (as
     a palette PNG with tRNS decodes), and the screen outside the frame is
     the transparent index too.
   - Otherwise RGB, and the screen outside the frame is the background
     colour of the global table (black when there is none).
   - An index beyond the colour table is opaque black, as kmq decodes a
     palette PNG's out-of-range index (libpng's zeroed palette).
   - Interlaced frames are put back in row order.
   - More frames: only the first is used, with a warning in meta.

   Before anything is allocated, the first frame's LZW codes are walked
   (lzw_check): they must give all its pixels and use no code before it is
   defined (giflib decodes such a code to whatever its table held, where
   other readers stop: a damaged file would decode silently wrong), and the
   screen must be one the file's bytes could paint (paintable). */
#include "formats.h"

#include <gif_lib.h>

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int kmq_is_gif(const uint8_t *buf, size_t len)
{
    return len >= 6 && !memcmp(buf, "GIF8", 4) && (buf[4] == '7' || buf[4] == '9') &&
           buf[5] == 'a';
}

typedef struct {
    const uint8_t *p;
    size_t left;
} mem_src;

static int mem_read(GifFileType *gif, GifByteType *out, int n)
{
    mem_src *m = gif->UserData;
    size_t k = n < 0 ? 0 : (size_t)n;
    if (k > m->left)
        k = m->left;
    memcpy(out, m->p, k);
    m->p += k, m->left -= k;
    return (int)k;
}

/* giflib's error code in kmq's words. */
static kmq_status gif_fail(int code, const char **why)
{
    const char *text;
    switch (code) {
    case D_GIF_ERR_NOT_ENOUGH_MEM:
        *why = NULL; /* kmq_strerror says it */
        return KMQ_ERR_NOMEM;
    case D_GIF_ERR_READ_FAILED:
    case D_GIF_ERR_EOF_TOO_SOON: text = "corrupt GIF: truncated: the data ends early"; break;
    case D_GIF_ERR_NOT_GIF_FILE: text = "corrupt GIF: bad signature"; break;
    case D_GIF_ERR_NO_SCRN_DSCR: text = "corrupt GIF: no logical screen descriptor"; break;
    case D_GIF_ERR_NO_IMAG_DSCR: text = "corrupt GIF: bad image descriptor"; break;
    case D_GIF_ERR_WRONG_RECORD: text = "corrupt GIF: an unknown record type"; break;
    case D_GIF_ERR_DATA_TOO_BIG: text = "corrupt GIF: more pixel data than the frame holds"; break;
    case D_GIF_ERR_IMAGE_DEFECT: text = "corrupt GIF: damaged LZW data"; break;
    default: text = "corrupt GIF: the decoder failed"; break;
    }
    *why = text;
    return KMQ_ERR_IMAGE_CORRUPT;
}

static kmq_status corrupt(const char *text, const char **why)
{
    *why = text;
    return KMQ_ERR_IMAGE_CORRUPT;
}

/* Skips the extension whose first block DGifGetExtension gave; the last
   graphic control extension's transparent index goes to *transparent. */
static int read_extension(GifFileType *gif, int *transparent)
{
    int code;
    GifByteType *ext;
    if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR)
        return GIF_ERROR;
    if (code == GRAPHICS_EXT_FUNC_CODE && ext) {
        GraphicsControlBlock gcb;
        *transparent = DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK
                           ? gcb.TransparentColor
                           : NO_TRANSPARENT_COLOR;
    }
    while (ext)
        if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR)
            return GIF_ERROR;
    return GIF_OK;
}

/* A second image after the first: records are read until one is found or
   the file ends; errors after the first frame do not matter. */
static int has_more_frames(GifFileType *gif)
{
    GifRecordType type;
    int ignored = NO_TRANSPARENT_COLOR;
    while (DGifGetRecordType(gif, &type) == GIF_OK) {
        if (type == IMAGE_DESC_RECORD_TYPE)
            return 1;
        if (type != EXTENSION_RECORD_TYPE || read_extension(gif, &ignored) == GIF_ERROR)
            return 0;
    }
    return 0;
}

/* The most pixels n bytes of GIF can paint, over all their frames: a code
   is at least 1.5 bytes (12 bits, the widest) and stands for at most 4096
   pixels (the longest string a 4096-entry table holds).  The logical screen
   costs nothing to claim -- a 39-byte file with a 1x7 frame claimed 16000 x
   16000, and kmq filled 1 GB with background in 7 s -- so a screen larger
   than this and than SCREEN_FREE is refused: nothing in the file could ever
   draw on most of it.  Screens up to SCREEN_FREE pixels (4 MB of canvas)
   are kept whatever the file, for honest small files whose small frame sits
   on a larger screen. */
#define SCREEN_FREE ((uint64_t)1 << 20)
static uint64_t paintable(size_t len)
{
    return (uint64_t)len * 8 / 12 * 4096;
}

enum { LZW_OK, LZW_TRUNCATED, LZW_ENDS_EARLY, LZW_UNDEFINED };

/* Walks the LZW codes of a frame of `pixels` pixels without decoding them:
   p is its code size byte, `left` the bytes from there to the end of the
   file.  Stops once the codes have given `pixels` pixels (giflib reads no
   further code either).  Code widths follow giflib: the width grows when
   the next free entry needs another bit, up to 12 bits; a full table stays
   as it is until a clear code ("deferred clear").  LZW_UNDEFINED: a code
   beyond the next free entry, or a string code right after a clear: giflib
   5 decodes it anyway, to whatever its table held. */
static int lzw_check(const uint8_t *p, size_t left, uint64_t pixels)
{
    enum { NONE = -1, MAX_CODES = 4096 };
    if (!left)
        return LZW_TRUNCATED;
    const unsigned min_bits = *p++;
    left--;
    if (min_bits > 8) /* refused by giflib when it read the descriptor */
        return LZW_UNDEFINED;
    const int clear = 1 << min_bits, end = clear + 1;
    uint16_t length[MAX_CODES]; /* pixels each entry stands for */
    for (int c = 0; c < clear; c++)
        length[c] = 1;
    unsigned width = min_bits + 1, have = 0, block = 0;
    uint32_t bits = 0;
    int next = clear + 2, prev = NONE;
    uint64_t done = 0;
    while (done < pixels) {
        while (have < width) { /* bytes come in blocks of 1..255 after a length byte */
            if (!block) {
                if (!left)
                    return LZW_TRUNCATED;
                block = *p++, left--;
                if (!block)
                    return LZW_ENDS_EARLY;
            }
            if (!left)
                return LZW_TRUNCATED;
            bits |= (uint32_t)*p++ << have;
            left--, block--, have += 8;
        }
        const int code = (int)(bits & ((1u << width) - 1));
        bits >>= width, have -= width;
        if (code == clear) {
            width = min_bits + 1, next = clear + 2, prev = NONE;
            continue;
        }
        if (code == end)
            return LZW_ENDS_EARLY;
        if (code > next || (code >= clear && prev == NONE))
            return LZW_UNDEFINED;
        /* a defined entry, or the one being defined (its string is the
           previous one plus that string's first pixel) */
        const unsigned n = code < next ? length[code] : length[prev] + 1u;
        if (prev != NONE && next < MAX_CODES)
            length[next++] = (uint16_t)(length[prev] + 1);
        prev = code;
        done += n;
        if (next >= 1 << width && width < 12)
            width++;
    }
    return LZW_OK;
}

/* The frame's rows, de-interlaced, over the screen at (left, top). */
static kmq_status read_frame(GifFileType *gif, uint8_t *px, int C, const ColorMapObject *map,
                             int transparent, GifPixelType *line, const char **why)
{
    const GifImageDesc *d = &gif->Image;
    const size_t SW = (size_t)gif->SWidth, W = (size_t)d->Width;
    /* interlaced rows come in four passes: every 8th from 0, every 8th
       from 4, every 4th from 2, every 2nd from 1 */
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    const int passes = d->Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; pass++)
        for (int y = d->Interlace ? start[pass] : 0; y < d->Height; y += d->Interlace ? step[pass] : 1) {
            if (DGifGetLine(gif, line, d->Width) == GIF_ERROR)
                return gif_fail(gif->Error, why);
            uint8_t *q = px + ((size_t)(d->Top + y) * SW + (size_t)d->Left) * (size_t)C;
            for (size_t x = 0; x < W; x++, q += C) {
                const int i = line[x];
                if (i < map->ColorCount) {
                    const GifColorType *c = &map->Colors[i];
                    q[0] = c->Red, q[1] = c->Green, q[2] = c->Blue;
                } else {
                    q[0] = q[1] = q[2] = 0;
                }
                if (C == 4)
                    q[3] = i == transparent ? 0 : 255;
            }
        }
    return KMQ_OK;
}

/* The records up to the first image, and its descriptor; the transparent
   index of its graphic control extension (if any) into *transparent. */
static kmq_status first_image(GifFileType *gif, int *transparent, const char **why)
{
    GifRecordType type;
    for (;;) {
        if (DGifGetRecordType(gif, &type) == GIF_ERROR)
            return gif_fail(gif->Error, why);
        if (type == IMAGE_DESC_RECORD_TYPE)
            break;
        if (type == TERMINATE_RECORD_TYPE)
            return corrupt("corrupt GIF: no image in the file", why);
        if (read_extension(gif, transparent) == GIF_ERROR)
            return gif_fail(gif->Error, why);
    }
    return DGifGetImageDesc(gif) == GIF_ERROR ? gif_fail(gif->Error, why) : KMQ_OK;
}

static int fd_read(GifFileType *gif, GifByteType *out, int n)
{
    const int fd = *(const int *)gif->UserData;
    ssize_t r;
    while ((r = read(fd, out, n < 0 ? 0 : (size_t)n)) < 0 && errno == EINTR)
        ;
    return r < 0 ? 0 : (int)r;
}

kmq_status kmq_gif_probe(int fd, int *width, int *height, int *channels, const char **why)
{
    int err = 0, at = fd;
    GifFileType *gif = DGifOpen(&at, fd_read, &err);
    if (!gif)
        return gif_fail(err, why);
    int transparent = NO_TRANSPARENT_COLOR;
    kmq_status s = first_image(gif, &transparent, why);
    *width = gif->SWidth, *height = gif->SHeight;
    *channels = transparent != NO_TRANSPARENT_COLOR ? 4 : 3;
    DGifCloseFile(gif, &err);
    return s;
}

kmq_status kmq_gif_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                          kmq_metadata *meta, const char **why)
{
    /* giflib reports any failure in the screen descriptor or the global
       colour table as a missing descriptor: truncation is told apart here */
    if (len < 13 || (buf[10] & 0x80 && len - 13 < (size_t)3 << ((buf[10] & 7) + 1)))
        return corrupt("corrupt GIF: truncated: the data ends early", why);
    mem_src m = {buf, len};
    int err = 0;
    GifFileType *gif = DGifOpen(&m, mem_read, &err);
    if (!gif)
        return gif_fail(err, why);
    kmq_status s = KMQ_OK;
    int transparent = NO_TRANSPARENT_COLOR;
    uint8_t *px = NULL;
    GifPixelType *line = NULL;
    if ((s = first_image(gif, &transparent, why)) != KMQ_OK)
        goto done;
    const uint64_t SW = (uint64_t)gif->SWidth, SH = (uint64_t)gif->SHeight;
    const GifImageDesc *d = &gif->Image;
    if (!SW || !SH) {
        s = corrupt("corrupt GIF: zero-size logical screen", why);
        goto done;
    }
    if ((s = kmq_check_size(SW, SH, max_pixels, why)) != KMQ_OK)
        goto done;
    if (d->Width <= 0 || d->Height <= 0 || d->Left < 0 || d->Top < 0 ||
        (uint64_t)d->Left + (uint64_t)d->Width > SW || (uint64_t)d->Top + (uint64_t)d->Height > SH) {
        s = corrupt("corrupt GIF: the first frame does not fit in the logical screen", why);
        goto done;
    }
    const ColorMapObject *map = d->ColorMap ? d->ColorMap : gif->SColorMap;
    if (!map || map->ColorCount < 1) {
        s = corrupt("corrupt GIF: the first frame has no colour table", why);
        goto done;
    }
    if (SW * SH > SCREEN_FREE && SW * SH > paintable(len)) {
        static _Thread_local char msg[160];
        snprintf(msg, sizeof msg,
                 "corrupt GIF: a %llux%llu screen, more than %zu bytes can paint",
                 (unsigned long long)SW, (unsigned long long)SH, len);
        s = corrupt(msg, why);
        goto done;
    }
    /* DGifGetImageDesc has read the LZW code size byte */
    switch (lzw_check(m.p - 1, m.left + 1, (uint64_t)d->Width * (uint64_t)d->Height)) {
    case LZW_OK: break;
    case LZW_TRUNCATED: s = corrupt("corrupt GIF: truncated: the data ends early", why); goto done;
    case LZW_ENDS_EARLY:
        s = corrupt("corrupt GIF: the LZW data ends before the frame's last pixel", why);
        goto done;
    default:
        s = corrupt("corrupt GIF: damaged LZW data (a code used before it is defined)", why);
        goto done;
    }
    const int C = transparent != NO_TRANSPARENT_COLOR ? 4 : 3;
    const size_t n = (size_t)SW * (size_t)SH;
    px = malloc(n * (size_t)C);
    line = malloc((size_t)d->Width);
    if (!px || !line) {
        s = KMQ_ERR_NOMEM;
        goto done;
    }
    /* the screen outside the frame: transparent, or the background */
    uint8_t fill[4] = {0, 0, 0, 0};
    const ColorMapObject *bg_map = C == 4 ? map : gif->SColorMap;
    const int bg = C == 4 ? transparent : gif->SBackGroundColor;
    if (bg_map && bg >= 0 && bg < bg_map->ColorCount) {
        const GifColorType *c = &bg_map->Colors[bg];
        fill[0] = c->Red, fill[1] = c->Green, fill[2] = c->Blue;
    }
    if ((uint64_t)d->Width != SW || (uint64_t)d->Height != SH)
        for (size_t i = 0; i < n; i++)
            memcpy(px + i * (size_t)C, fill, (size_t)C);
    if ((s = read_frame(gif, px, C, map, transparent, line, why)) != KMQ_OK)
        goto done;
    if (has_more_frames(gif))
        kmq_meta_warn(meta, "animated GIF: only the first frame is used");
    img->width = (int)SW, img->height = (int)SH, img->channels = C, img->pixels = px;
    px = NULL;
done:
    free(px);
    free(line);
    DGifCloseFile(gif, &err);
    return s;
}
