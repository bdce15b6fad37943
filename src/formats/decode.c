/* Image decoding, whole: the format told by its first bytes, kmq's checks in
   front of stb (container validation, a pixel cap), the other formats'
   decoders, palettes, and the EXIF orientation applied. */
#include "big_alloc.h"
#include "formats.h"
#include "sized.h"
#include "why.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kmq_image_free(kmq_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

/* stb's failure codes ("outofdata", "bad offset", "bad huffman code") in
   kmq's words; the status they stand for. */
static kmq_status explain(const uint8_t *magic, size_t got, const char **why)
{
    static const struct {
        const char *code, *text;
    } known[] = {
        {"outofdata", "truncated: the image data ends early"},
        {"bad offset", "unexpected position of the pixel data"},
        {"bad huffman code", "bad Huffman code in the image data"},
        {"expected marker", "a marker is missing where the data ends"},
        {"zlib corrupt", "damaged compressed data"},
        {"not enough pixels", "fewer pixels in the data than the header says"},
        {"bad masks", "bad colour masks"},
        {"bad bpp", "unsupported bit depth"},
        {"too large", "too large for the decoder"},
        {"unknown marker", "an unknown marker"},
    };
    if (*why && !strcmp(*why, "outofmem")) {
        *why = NULL; /* kmq_strerror says it */
        return KMQ_ERR_NOMEM;
    }
    if (!*why || !strcmp(*why, KMQ_WHY_BUDGET))
        return KMQ_ERR_IMAGE_CORRUPT;
    if (!strcmp(*why, "too large")) { /* stb's int arithmetic, past ~2^31 bytes */
        *why = "too large to decode whole (PNG, TIFF and PNM of any size can be streamed)";
        return KMQ_ERR_TOO_LARGE;
    }
    const char *format = kmq_looks_like_png(magic, got) ? "PNG" : kmq_is_jpeg(magic, got) ? "JPEG" : "BMP";
    const char *text = NULL;
    for (size_t i = 0; i < sizeof known / sizeof *known && !text; i++)
        if (!strcmp(*why, known[i].code))
            text = known[i].text;
    static _Thread_local char msg[160];
    if (text)
        snprintf(msg, sizeof msg, "corrupt %s: %s", format, text);
    else
        snprintf(msg, sizeof msg, "corrupt %s (the decoder stopped at: %s)", format, *why);
    *why = msg;
    return KMQ_ERR_IMAGE_CORRUPT;
}

kmq_status kmq_load_whole(const uint8_t *buf, size_t len, int req, size_t budget, kmq_image *img,
                          const char **why)
{
    int w, h, n;
    uint8_t *p = NULL;
    kmq_mem_src m;
    kmq_reader r = kmq_mem_reader(&m, buf, len);
    if (req || !kmq_looks_like_png(buf, len) || !kmq_png_fast_load(&r, budget, &p, &w, &h, &n))
        p = kmq_stb_load(buf, len, budget, &w, &h, &n, req, why);
    if (!p)
        return explain(buf, len < 4 ? len : 4, why);
    img->width = w;
    img->height = h;
    img->channels = req ? req : n;
    img->pixels = p;
    return KMQ_OK;
}

/* Format, container and size checks before anything is decoded; r is at
   the start of the data and magic holds its first (up to 4) bytes.  *w and
   *h receive the size the header claims. */
static kmq_status precheck(kmq_reader *r, const uint8_t *magic, size_t got, uint64_t file_len,
                           uint64_t max_pixels, uint64_t *w, uint64_t *h, int *palette,
                           kmq_bmp_info *bmp, kmq_metadata *meta, const char **why)
{
    *palette = 0;
    memset(bmp, 0, sizeof *bmp);
    if (kmq_looks_like_png(magic, got)) {
        kmq_png_header hdr;
        kmq_status s = kmq_png_check_reader_meta(r, &hdr, meta, why);
        if (s != KMQ_OK)
            return s;
        *w = hdr.width, *h = hdr.height;
        *palette = hdr.colour_type == 3;
        return kmq_png_check_size(&hdr, max_pixels, why);
    }
    if (kmq_is_jpeg(magic, got)) {
        kmq_jpeg_info info;
        kmq_status s = kmq_jpeg_check_reader(r, &info, meta, why);
        if (s != KMQ_OK)
            return s;
        *w = info.width, *h = info.height;
        /* Every 8x8 block of every component costs at least one bit of
           entropy-coded data (its DC code), whatever the encoder (libjpeg
           spends two on a flat image, baseline or progressive): a file with
           fewer bits claims more pixels than it holds, and stb would fill
           the rest with grey instead of failing -- after allocating for all
           of them (a 524 KB cut of a 16384x16384 RGB progressive JPEG took
           3.2 GB and 11 s, exit 0, when only the first component's blocks
           were counted against the whole file). */
        if (info.blocks > info.entropy_bytes * 8) {
            *why = "truncated or corrupt JPEG: too little data for the size its header claims";
            return KMQ_ERR_IMAGE_CORRUPT;
        }
        return kmq_check_size(*w, *h, max_pixels, why);
    }
    if (kmq_is_bmp(magic, got)) {
        uint8_t head[160];
        size_t have = 0;
        long n;
        while (have < sizeof head && (n = r->read(r->ctx, head + have, sizeof head - have)) > 0)
            have += (size_t)n;
        kmq_status s = kmq_bmp_check(head, have, file_len, bmp, why);
        if (s != KMQ_OK)
            return s;
        *w = bmp->width, *h = bmp->height;
        return kmq_check_size(*w, *h, max_pixels, why);
    }
    *why = "not a PNG, JPEG, BMP, TIFF, WebP, PNM or GIF image";
    return KMQ_ERR_IMAGE_FORMAT;
}

/* Turns img to EXIF orientation o (2..8): mirrored and/or turned by quarter
   turns; 5..8 swap width and height. */
static kmq_status orient(kmq_image *img, int o)
{
    const size_t W = (size_t)img->width, H = (size_t)img->height, C = (size_t)img->channels;
    const int swap = o >= 5;
    const size_t w2 = swap ? H : W, h2 = swap ? W : H;
    uint8_t *dst = kmq_big_malloc(W * H * C > 0 ? W * H * C : 1);
    if (!dst)
        return KMQ_ERR_NOMEM;
    for (size_t y = 0; y < h2; y++)
        for (size_t x = 0; x < w2; x++) {
            size_t sx, sy; /* the stored pixel shown at (x, y) */
            switch (o) {
            case 2: sx = W - 1 - x, sy = y; break;
            case 3: sx = W - 1 - x, sy = H - 1 - y; break;
            case 4: sx = x, sy = H - 1 - y; break;
            case 5: sx = y, sy = x; break;
            case 6: sx = y, sy = H - 1 - x; break;
            case 7: sx = W - 1 - y, sy = H - 1 - x; break;
            default: sx = W - 1 - y, sy = x; break; /* 8 */
            }
            memcpy(dst + (y * w2 + x) * C, img->pixels + (sy * W + sx) * C, C);
        }
    free(img->pixels);
    img->pixels = dst;
    img->width = (int)w2, img->height = (int)h2;
    return KMQ_OK;
}

/* After decoding: the orientation applied (unless kept), and *meta given to
   the caller or freed. */
static kmq_status finish(kmq_status s, const kmq_decode_options *o, kmq_image *img,
                         kmq_metadata *collected, kmq_metadata *meta)
{
    if (s == KMQ_OK && collected->orientation > 1 && !o->keep_orientation) {
        s = orient(img, collected->orientation);
        if (s == KMQ_OK) {
            collected->oriented = 1;
            if (collected->orientation >= 5)
                kmq_meta_swap_phys(collected);
        }
    }
    if (s != KMQ_OK)
        kmq_image_free(img);
    if (meta && s == KMQ_OK)
        *meta = *collected;
    else
        kmq_metadata_free(collected);
    return s;
}

void kmq_decode_options_default(kmq_decode_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->max_pixels = 0, o->keep_orientation = 0;
}

/* The caller's options (NULL: the defaults) as this kmq reads them;
   KMQ_ERR_ARG for a size it does not know. */
static kmq_status read_options(const kmq_decode_options *caller, kmq_decode_options *o)
{
    kmq_decode_options_default(o);
    return caller ? kmq_sized_read(o, sizeof *o, caller, KMQ_DECODE_OPTIONS_SIZE_MIN, "o",
                                   "kmq_decode_options")
                  : KMQ_OK;
}

/* A palette PNG, decoded by libspng (kmq_png8_decode) rather than stb:
   stb 2.27 keeps the palette in an uninitialised stack array, so an index
   beyond the PLTE read whatever the stack held (the previous file's palette,
   in a batch).  Here such an index is opaque black, as libpng, which zeroes
   its 256-entry palette, shows it.  RGB, or RGBA with tRNS, as stb gives. */
static kmq_status load_palette(const uint8_t *buf, size_t len, uint64_t max_pixels,
                               kmq_image *img, const char **why)
{
    kmq_image idx = {0};
    kmq_codebook cb = {0};
    kmq_status s = kmq_png8_decode(buf, len, max_pixels, &idx, &cb, why);
    if (s != KMQ_OK)
        return s == KMQ_ERR_NOT_INDEXED ? KMQ_ERR_IMAGE_CORRUPT : s;
    const int alpha = cb.channels == 2 || cb.channels == 4, C = alpha ? 4 : 3;
    const size_t n = (size_t)idx.width * (size_t)idx.height;
    const size_t bytes = n * (size_t)C;
    uint8_t *p = kmq_big_malloc(bytes ? bytes : 1);
    if (!p) {
        kmq_image_free(&idx);
        kmq_codebook_free(&cb);
        return KMQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = p + i * C;
        const int j = idx.pixels[i];
        if (j >= cb.k) {
            q[0] = q[1] = q[2] = 0;
        } else {
            const uint8_t *e = cb.entries + (size_t)j * cb.channels;
            const int grey = cb.channels <= 2;
            q[0] = e[0], q[1] = e[grey ? 0 : 1], q[2] = e[grey ? 0 : 2];
        }
        if (alpha)
            q[3] = j < cb.k ? cb.entries[(size_t)j * cb.channels + cb.channels - 1] : 255;
    }
    img->width = idx.width, img->height = idx.height, img->channels = C, img->pixels = p;
    kmq_image_free(&idx);
    kmq_codebook_free(&cb);
    return KMQ_OK;
}

/* The formats decoded outside stb (formats.h): the decoder for
   buf's magic number, or NULL. */
typedef kmq_status (*other_decoder)(const uint8_t *, size_t, uint64_t, kmq_image *,
                                    kmq_metadata *, const char **);
static other_decoder other_format(const uint8_t *buf, size_t len)
{
    return kmq_is_tiff(buf, len)  ? kmq_tiff_decode
           : kmq_is_webp(buf, len) ? kmq_webp_decode
           : kmq_is_pnm(buf, len)  ? kmq_pnm_decode
           : kmq_is_gif(buf, len)  ? kmq_gif_decode
                                   : NULL;
}

static kmq_status image_decode_ex(const uint8_t *buf, size_t len, const kmq_decode_options *o,
                                  kmq_image *img, kmq_metadata *meta, const char **why)
{
    kmq_decode_options d;
    *why = NULL;
    if (!buf || !img)
        return kmq_arg("%s is NULL", buf ? "img" : "buf");
    if (read_options(o, &d) != KMQ_OK)
        return KMQ_ERR_ARG;
    o = &d;
    memset(img, 0, sizeof *img);
    if (meta)
        kmq_meta_init(meta);
    kmq_metadata collected;
    kmq_meta_init(&collected);
    const other_decoder other = other_format(buf, len);
    if (other)
        return finish(other(buf, len, o->max_pixels, img, &collected, why), o, img, &collected,
                      meta);
    kmq_mem_src m;
    kmq_reader r = kmq_mem_reader(&m, buf, len);
    uint64_t w = 0, h = 0;
    /* EXIF is read whether or not the caller wants the rest */
    int palette;
    kmq_bmp_info bmp;
    kmq_status s = precheck(&r, buf, len < 4 ? len : 4, len, o->max_pixels, &w, &h, &palette, &bmp,
                            &collected, why);
    if (s == KMQ_OK && bmp.gap) { /* stb wants the pixels right after the header */
        uint8_t *copy = malloc(len);
        size_t clen = len;
        if (!copy)
            s = KMQ_ERR_NOMEM;
        else {
            memcpy(copy, buf, len);
            if ((s = kmq_bmp_close_gap(copy, &clen, &bmp)) == KMQ_OK)
                s = kmq_load_whole(copy, clen, 0, kmq_stb_budget(w, h, clen), img, why);
            free(copy);
        }
    } else if (s == KMQ_OK) {
        s = palette ? load_palette(buf, len, o->max_pixels, img, why)
                    : kmq_load_whole(buf, len, 0, kmq_stb_budget(w, h, len), img, why);
    }
    return finish(s, o, img, &collected, meta);
}

kmq_status kmq_image_decode_ex(const uint8_t *buf, size_t len, const kmq_decode_options *o,
                               kmq_image *img, kmq_metadata *meta, const char **why)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s = image_decode_ex(buf, len, o, img, meta, &w);
    return kmq_why_out(s, w, why);
}

kmq_status kmq_image_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                            const char **why)
{
    kmq_decode_options o;
    kmq_decode_options_default(&o);
    o.max_pixels = max_pixels;
    return kmq_image_decode_ex(buf, len, &o, img, NULL, why);
}

/* A buffered reader over a file descriptor, for stb's callbacks. */
typedef struct {
    int fd;
    int error;
    size_t pos, len;
    uint8_t buf[1 << 16];
} fd_src;

static long fd_read(void *ctx, uint8_t *out, size_t n)
{
    fd_src *f = ctx;
    if (f->pos == f->len && n >= sizeof f->buf) { /* large reads skip the buffer */
        ssize_t k;
        do
            k = read(f->fd, out, n);
        while (k < 0 && errno == EINTR);
        if (k < 0)
            f->error = errno;
        return k < 0 ? -1 : (long)k;
    }
    if (f->pos == f->len) {
        ssize_t k;
        do
            k = read(f->fd, f->buf, sizeof f->buf);
        while (k < 0 && errno == EINTR);
        if (k < 0) {
            f->error = errno;
            return -1;
        }
        f->pos = 0;
        f->len = (size_t)k;
        if (!k)
            return 0;
    }
    if (n > f->len - f->pos)
        n = f->len - f->pos;
    memcpy(out, f->buf + f->pos, n);
    f->pos += n;
    return (long)n;
}

static int fd_rewind(fd_src *f)
{
    f->pos = f->len = 0;
    return lseek(f->fd, 0, SEEK_SET) == 0;
}

kmq_status kmq_image_decode_file(const char *path, uint64_t max_pixels, kmq_image *img,
                                 const char **why, size_t *file_size)
{
    kmq_decode_options o;
    kmq_decode_options_default(&o);
    o.max_pixels = max_pixels;
    return kmq_image_decode_file_ex(path, &o, img, NULL, why, file_size);
}

static kmq_status image_decode_file_ex(const char *path, const kmq_decode_options *o,
                                       kmq_image *img, kmq_metadata *meta, const char **why,
                                       size_t *file_size)
{
    kmq_decode_options d;
    *why = NULL;
    if (!path || !img)
        return kmq_arg("%s is NULL", path ? "img" : "path");
    if (read_options(o, &d) != KMQ_OK)
        return KMQ_ERR_ARG;
    o = &d;
    const uint64_t max_pixels = o->max_pixels;
    memset(img, 0, sizeof *img);
    if (meta)
        kmq_meta_init(meta);
    int fd = strcmp(path, "-") == 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) != 0) {
        close(fd);
        return KMQ_ERR_IO;
    }
    if (fd >= 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        errno = EISDIR;
        return KMQ_ERR_IO;
    }
    if (fd < 0 && strcmp(path, "-") != 0)
        return KMQ_ERR_IO;
    if (fd < 0 || !S_ISREG(st.st_mode)) {
        /* stdin, a pipe or a FIFO: no rewinding, so decode from memory --
           read from the descriptor already open (a FIFO opened twice by
           name can wait forever for a second writer). */
        uint8_t *buf;
        size_t len;
        /* a generous bound on a compressed image of the allowed size */
        uint64_t cap = (max_pixels ? max_pixels : KMQ_DEFAULT_MAX_PIXELS) * 8 + (1u << 20);
        kmq_status s = kmq_read_fd(fd < 0 ? STDIN_FILENO : fd, cap < SIZE_MAX ? (size_t)cap : 0,
                                   &buf, &len);
        if (s != KMQ_OK)
            return s;
        if (file_size)
            *file_size = len;
        s = kmq_image_decode_ex(buf, len, o, img, meta, why);
        free(buf);
        return s;
    }
    if (file_size)
        *file_size = (size_t)st.st_size;
    /* Stream the file: the container check and stb both read it in pieces,
       so the encoded file never sits in memory beside the decoded image. */
    fd_src *f = malloc(sizeof *f);
    if (!f) {
        close(fd);
        return KMQ_ERR_NOMEM;
    }
    f->fd = fd;
    f->error = 0;
    f->pos = f->len = 0;
    kmq_reader r = {fd_read, f};
    uint8_t magic[16] = {0};
    uint64_t cw = 0, ch = 0;
    int palette = 0;
    kmq_bmp_info bmp = {0};
    long got = 0, part = 0;
    while (got < (long)sizeof magic &&
           (part = fd_read(f, magic + got, sizeof magic - (size_t)got)) > 0)
        got += part;
    kmq_status s = KMQ_OK;
    kmq_metadata collected;
    kmq_meta_init(&collected);
    if (part < 0 || !fd_rewind(f)) {
        s = KMQ_ERR_IO;
    } else if (other_format(magic, (size_t)got)) {
        /* Decoded from memory: a generous bound on a file of the allowed
           size (uncompressed 16-bit RGBA is 8 bytes a pixel). */
        uint8_t *buf = NULL;
        size_t len = 0;
        uint64_t cap = (max_pixels ? max_pixels : KMQ_DEFAULT_MAX_PIXELS) * 8 + (1u << 20);
        close(fd);
        free(f);
        s = kmq_read_file(path, cap < SIZE_MAX ? (size_t)cap : 0, &buf, &len);
        if (s == KMQ_OK)
            s = kmq_image_decode_ex(buf, len, o, img, meta, why);
        free(buf);
        return s;
    } else {
        s = precheck(&r, magic, (size_t)(got < 4 ? got : 4), (uint64_t)st.st_size, max_pixels, &cw, &ch, &palette,
                     &bmp, &collected, why);
    }
    if (s == KMQ_OK && !fd_rewind(f))
        s = KMQ_ERR_IO;
    if (s == KMQ_OK && (palette || bmp.gap)) {
        /* From memory: libspng decodes a palette PNG from a buffer (at most
           about a byte per pixel), and a BMP's gap is closed in one (its
           pixel bytes were checked against the cap and the file). */
        uint8_t *buf = NULL;
        size_t len = 0;
        uint64_t cap = (max_pixels ? max_pixels : KMQ_DEFAULT_MAX_PIXELS) * 4 + (1u << 20);
        if (lseek(fd, 0, SEEK_SET) != 0)
            s = KMQ_ERR_IO;
        else if ((s = kmq_read_fd(dup(fd), cap < SIZE_MAX ? (size_t)cap : 0, &buf, &len)) != KMQ_OK)
            ;
        else if (palette)
            s = load_palette(buf, len, max_pixels, img, why);
        else if ((s = kmq_bmp_close_gap(buf, &len, &bmp)) == KMQ_OK)
            s = kmq_load_whole(buf, len, 0, kmq_stb_budget(cw, ch, len), img, why);
        free(buf);
    } else if (s == KMQ_OK) {
        int w, h, n;
        const size_t budget = kmq_stb_budget(cw, ch, (size_t)st.st_size);
        uint8_t *p = NULL;
        /* The common PNG without stb (png_fast.c); what it leaves, from the
           start again, by stb. */
        int fast = 0;
        if (kmq_looks_like_png(magic, (size_t)got) &&
            !(fast = kmq_png_fast_load(&r, budget, &p, &w, &h, &n)) && !fd_rewind(f))
            s = KMQ_ERR_IO;
        if (s == KMQ_OK && !fast)
            p = kmq_stb_load_reader(&r, budget, &w, &h, &n, 0, why);
        if (s == KMQ_OK && !p)
            s = f->error ? KMQ_ERR_IO : explain(magic, (size_t)(got < 4 ? got : 4), why);
        else if (p)
            img->width = w, img->height = h, img->channels = n, img->pixels = p;
    }
    if (s == KMQ_ERR_IO && f->error)
        errno = f->error;
    /* The file is read more than once (its magic, the structure check, the
       pixels): if it was rewritten meanwhile, what came out may be of two
       files, and any failure may be that. */
    if (s != KMQ_ERR_NOMEM && kmq_file_changed(fd, &st)) {
        kmq_image_free(img);
        *why = NULL;
        s = KMQ_ERR_INPUT_CHANGED;
    }
    int e = errno;
    close(fd);
    free(f);
    s = finish(s, o, img, &collected, meta);
    errno = e;
    return s;
}

kmq_status kmq_image_decode_file_ex(const char *path, const kmq_decode_options *o,
                                    kmq_image *img, kmq_metadata *meta, const char **why,
                                    size_t *file_size)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s = image_decode_file_ex(path, o, img, meta, &w, file_size);
    return kmq_why_out(s, w, why);
}
