/* Netpbm input: PBM, PGM and PPM, plain (P1-P3) and raw (P4-P6), and PAM
   (P7) with the tuple types BLACKANDWHITE, GRAYSCALE and RGB, each with
   or without _ALPHA.  One row decoder serves both the in-memory decoder and
   the row reader, over a byte source that is a buffer or a descriptor read
   with pread, so the two cannot disagree.

   Samples become 8 bits as formats.h says: maxval 255 as is; maxval 65535
   (16-bit big-endian samples) keeps the high byte, v >> 8, as the PNG
   decoder does for 16-bit PNG, so a 16-bit PNM and a 16-bit PNG of the same
   pixels give the same 8-bit image; any other maxval is scaled to 0..255 by
   round(v * 255 / maxval), exact for the usual ones (1, 3, 15: v * 85 or
   v * 17) and for 8-bit values widened to 16 bits (maxval 65535 aside, which
   v >> 8 gets exactly too).  A sample above maxval makes the file corrupt.
   Bitmaps (P1, P4) are 1 = black: grey 0, and 0 = white: 255.  Anything
   after the last row (a second image, trailing bytes) is ignored. */
#include "formats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A header that does not end within this many bytes is refused: no real
   writer comes near it, and the row reader reads it into memory. */
#define HEADER_MAX (1u << 16)

typedef struct {
    int type;          /* 1..7, the digit after 'P' */
    uint64_t width, height;
    uint32_t maxval;
    int depth;         /* samples per pixel, also the output's channels */
    size_t data;       /* offset of the first pixel byte */
} pnm_header;

static int space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static kmq_status corrupt(const char *text, const char **why)
{
    *why = text;
    return KMQ_ERR_IMAGE_CORRUPT;
}

/* The magic number may be followed by a comment with no space between
   ("P6#comment"): netpbm reads that, and the header parsers skip it. */
int kmq_is_pnm(const uint8_t *buf, size_t len)
{
    return len >= 3 && buf[0] == 'P' && buf[1] >= '1' && buf[1] <= '7' &&
           (space(buf[2]) || buf[2] == '#');
}

/* ---- the header ---- */

/* Skips whitespace and '#' comments (to the end of the line). */
static size_t skip_space(const uint8_t *p, size_t n, size_t at)
{
    while (at < n) {
        if (p[at] == '#')
            while (at < n && p[at] != '\n')
                at++;
        else if (space(p[at]))
            at++;
        else
            break;
    }
    return at;
}

/* A decimal number at *at; 18 digits at most (more is corrupt, fewer can
   still be far over the limits and is reported as too large later). */
static kmq_status number(const uint8_t *p, size_t n, size_t *at, uint64_t *v, const char **why)
{
    size_t i = *at, digits = 0;
    uint64_t x = 0;
    if (i >= n)
        return corrupt("corrupt PNM: truncated: the header ends early", why);
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        if (++digits > 18)
            return corrupt("corrupt PNM: a number in the header is too long", why);
        x = x * 10 + (uint64_t)(p[i++] - '0');
    }
    if (!digits)
        return corrupt("corrupt PNM: the header has something other than a number", why);
    if (i == n)
        return corrupt("corrupt PNM: truncated: the header ends early", why);
    *at = i, *v = x;
    return KMQ_OK;
}

/* The PAM header after "P7": lines of "KEYWORD value" up to ENDHDR. */
static kmq_status pam_header(const uint8_t *p, size_t n, pnm_header *h, const char **why)
{
    size_t at = 2;
    uint64_t depth = 0, maxval = 0;
    int have = 0; /* bits: width, height, depth, maxval */
    char tupl[64] = "";
    size_t tlen = 0;
    for (;;) {
        while (at < n && space(p[at]))
            at++;
        if (at >= n)
            return corrupt("corrupt PNM: truncated: the PAM header has no ENDHDR", why);
        const size_t start = at;
        while (at < n && p[at] != '\n')
            at++;
        if (at >= n)
            return corrupt("corrupt PNM: truncated: the PAM header has no ENDHDR", why);
        const uint8_t *line = p + start;
        const size_t ll = at - start;
        at++; /* past the newline */
        if (line[0] == '#')
            continue;
        size_t kw = 0;
        while (kw < ll && !space(line[kw]))
            kw++;
        if (kw == 6 && !memcmp(line, "ENDHDR", 6))
            break;
        size_t v = kw;
        while (v < ll && space(line[v]))
            v++;
        if (kw == 8 && !memcmp(line, "TUPLTYPE", 8)) {
            /* several TUPLTYPE lines join with a space, as netpbm does */
            size_t e = ll;
            while (e > v && space(line[e - 1]))
                e--;
            if (tlen + (tlen ? 1 : 0) + (e - v) >= sizeof tupl)
                return corrupt("corrupt PNM: the PAM tuple type is too long", why);
            if (tlen)
                tupl[tlen++] = ' ';
            memcpy(tupl + tlen, line + v, e - v);
            tlen += e - v;
            tupl[tlen] = 0;
            continue;
        }
        static const char *const keys[] = {"WIDTH", "HEIGHT", "DEPTH", "MAXVAL"};
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (kw == strlen(keys[i]) && !memcmp(line, keys[i], kw))
                k = i;
        if (k < 0)
            return corrupt("corrupt PNM: an unknown keyword in the PAM header", why);
        uint64_t x;
        size_t end = v;
        /* the line's newline ends the number (number() wants a byte after it) */
        kmq_status s = number(line, ll + 1, &end, &x, why);
        if (s != KMQ_OK)
            return s;
        while (end < ll && space(line[end]))
            end++;
        if (end != ll)
            return corrupt("corrupt PNM: a PAM header line has more than a number", why);
        if (have & 1 << k)
            return corrupt("corrupt PNM: a PAM header keyword appears twice", why);
        have |= 1 << k;
        if (k == 0)
            h->width = x;
        else if (k == 1)
            h->height = x;
        else if (k == 2)
            depth = x;
        else
            maxval = x;
    }
    if (have != 15)
        return corrupt("corrupt PNM: the PAM header lacks WIDTH, HEIGHT, DEPTH or MAXVAL", why);
    static const struct {
        const char *name;
        int depth;
    } types[] = {
        {"BLACKANDWHITE", 1}, {"GRAYSCALE", 1}, {"RGB", 3},
        {"BLACKANDWHITE_ALPHA", 2}, {"GRAYSCALE_ALPHA", 2}, {"RGB_ALPHA", 4},
    };
    int ok = !tlen && depth >= 1 && depth <= 4; /* no type: the depth says */
    for (size_t i = 0; i < sizeof types / sizeof *types && !ok; i++)
        if (!strcmp(tupl, types[i].name)) {
            if (depth != (uint64_t)types[i].depth)
                return corrupt("corrupt PNM: the PAM depth does not match its tuple type", why);
            ok = 1;
        }
    if (!ok) {
        *why = tlen ? "unsupported PNM: a PAM tuple type other than BLACKANDWHITE, GRAYSCALE "
                      "or RGB (with or without _ALPHA)"
                    : "unsupported PNM: a PAM depth other than 1 to 4";
        return KMQ_ERR_IMAGE_FORMAT;
    }
    if (maxval < 1 || maxval > 65535)
        return corrupt("corrupt PNM: maxval is not in 1..65535", why);
    h->depth = (int)depth;
    h->maxval = (uint32_t)maxval;
    h->data = at;
    return KMQ_OK;
}

/* Parses the header in p[0..n) (the whole file, or its first HEADER_MAX
   bytes) and checks the size against the caps. */
static kmq_status parse_header(const uint8_t *p, size_t n, uint64_t max_pixels, pnm_header *h,
                               const char **why)
{
    memset(h, 0, sizeof *h);
    if (!kmq_is_pnm(p, n))
        return corrupt("corrupt PNM: bad magic number", why);
    h->type = p[1] - '0';
    if (n > HEADER_MAX)
        n = HEADER_MAX;
    kmq_status s;
    if (h->type == 7) {
        if ((s = pam_header(p, n, h, why)) != KMQ_OK) {
            if (n == HEADER_MAX && s == KMQ_ERR_IMAGE_CORRUPT && strstr(*why, "truncated"))
                *why = "corrupt PNM: the header is longer than 64 KiB";
            return s;
        }
    } else {
        size_t at = 2;
        uint64_t v[3] = {0, 0, 1};
        const int count = h->type == 1 || h->type == 4 ? 2 : 3;
        for (int i = 0; i < count; i++) {
            at = skip_space(p, n, at);
            if ((s = number(p, n, &at, &v[i], why)) != KMQ_OK) {
                if (n == HEADER_MAX && strstr(*why, "truncated"))
                    *why = "corrupt PNM: the header is longer than 64 KiB";
                return s;
            }
        }
        /* one whitespace byte (or a comment to its newline) before the raster */
        if (p[at] == '#') {
            while (at < n && p[at] != '\n')
                at++;
            if (at == n)
                return corrupt("corrupt PNM: truncated: the header ends early", why);
        } else if (!space(p[at])) {
            return corrupt("corrupt PNM: no whitespace after the header", why);
        }
        h->width = v[0], h->height = v[1];
        if (v[2] < 1 || v[2] > 65535)
            return corrupt("corrupt PNM: maxval is not in 1..65535", why);
        h->maxval = (uint32_t)v[2];
        h->depth = h->type == 3 || h->type == 6 ? 3 : 1;
        h->data = at + 1;
    }
    if (!h->width || !h->height)
        return corrupt("corrupt PNM: zero width or height", why);
    return kmq_check_size(h->width, h->height, max_pixels, why);
}

/* Bytes of one raw row (0 for the plain formats). */
static size_t raw_row_bytes(const pnm_header *h)
{
    if (h->type == 4)
        return (size_t)(h->width + 7) / 8;
    if (h->type < 4)
        return 0;
    return (size_t)h->width * (size_t)h->depth * (h->maxval > 255 ? 2 : 1);
}

/* The file must hold at least the pixel data the header claims: checked
   before anything is allocated for it.  Plain samples take at least a digit
   and a separator each (P1's digits may touch). */
static kmq_status check_length(const pnm_header *h, uint64_t file_len, const char **why)
{
    const uint64_t have = file_len > h->data ? file_len - h->data : 0;
    const uint64_t samples = h->width * h->height * (uint64_t)h->depth;
    const uint64_t need = h->type == 1   ? samples
                          : h->type < 4 ? 2 * samples - 1
                                        : (uint64_t)raw_row_bytes(h) * h->height;
    if (have < need)
        return corrupt(h->type < 4 ? "corrupt PNM: truncated: fewer samples than the header "
                                     "claims"
                                   : "corrupt PNM: truncated: the pixel data ends early",
                       why);
    return KMQ_OK;
}

/* ---- the rows ---- */

/* The bytes after the header, from memory or from a descriptor (a window
   of `cap` bytes read with pread). */
typedef struct {
    const uint8_t *mem; /* or NULL: fd */
    int fd;
    uint64_t len, pos;  /* file length; offset of buf[at] */
    uint8_t *buf;
    size_t at, have, cap;
} source;

/* Refills the window at pos; 0 at the end of the file, -1 on a read error. */
static int refill(source *s)
{
    if (s->pos >= s->len)
        return 0;
    const uint64_t left = s->len - s->pos;
    const size_t want = left < s->cap ? (size_t)left : s->cap;
    ssize_t k;
    do
        k = pread(s->fd, s->buf, want, (off_t)s->pos);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return -1;
    s->at = 0, s->have = (size_t)k;
    return k > 0;
}

/* The next byte, -1 at the end, -2 on a read error. */
static int next_byte(source *s)
{
    if (s->mem) {
        if (s->pos >= s->len)
            return -1;
        return s->mem[s->pos++];
    }
    if (s->at == s->have) {
        int r = refill(s);
        if (r <= 0)
            return r ? -2 : -1;
    }
    s->pos++;
    return s->buf[s->at++];
}

/* n bytes into out: KMQ_OK, or why not. */
static kmq_status get_bytes(source *s, uint8_t *out, size_t n, const char **why)
{
    if (s->len - s->pos < n)
        return corrupt("corrupt PNM: truncated: the pixel data ends early", why);
    if (s->mem) {
        memcpy(out, s->mem + s->pos, n);
        s->pos += n;
        return KMQ_OK;
    }
    while (n) {
        if (s->at == s->have) {
            const int r = refill(s);
            if (r < 0)
                return KMQ_ERR_IO;
            if (!r)
                return corrupt("corrupt PNM: truncated: the pixel data ends early", why);
        }
        size_t k = s->have - s->at < n ? s->have - s->at : n;
        memcpy(out, s->buf + s->at, k);
        s->at += k, s->pos += k, out += k, n -= k;
    }
    return KMQ_OK;
}

static void seek(source *s, uint64_t pos)
{
    s->pos = pos;
    s->at = s->have = 0; /* the window is refilled from pos */
}

typedef struct {
    kmq_rows rows; /* first: a kmq_rows * is a reader * */
    pnm_header h;
    source src;
    uint32_t y;
    uint8_t *raw;  /* one raw row */
    uint8_t lut[256];
} reader;

/* A plain-format sample: digits after whitespace or comments (a P1 sample
   is one digit). */
static kmq_status plain_sample(reader *d, uint32_t *v, const char **why)
{
    int c;
    do {
        c = next_byte(&d->src);
        if (c == '#')
            while ((c = next_byte(&d->src)) >= 0 && c != '\n')
                ;
    } while (c >= 0 && space(c));
    if (c == -2)
        return KMQ_ERR_IO;
    if (c < 0)
        return corrupt("corrupt PNM: truncated: fewer samples than the header claims", why);
    if (c < '0' || c > '9')
        return corrupt("corrupt PNM: a plain sample is not a number", why);
    uint32_t x = (uint32_t)(c - '0');
    if (d->h.type != 1) {
        while ((c = next_byte(&d->src)) >= '0' && c <= '9')
            if ((x = x * 10 + (uint32_t)(c - '0')) > 65535)
                break;
        if (c == -2)
            return KMQ_ERR_IO;
        if (c >= 0 && !space(c) && c != '#' && x <= 65535)
            return corrupt("corrupt PNM: a plain sample is not a number", why);
        if (c == '#') /* a comment ends the number */
            while ((c = next_byte(&d->src)) >= 0 && c != '\n')
                ;
    }
    *v = x;
    return KMQ_OK;
}

/* A sample of any maxval to 8 bits (see the top of the file). */
static uint8_t to8(const reader *d, uint32_t v)
{
    const uint32_t m = d->h.maxval;
    if (m <= 255)
        return d->lut[v];
    if (m == 65535)
        return (uint8_t)(v >> 8);
    return (uint8_t)((v * 255u + m / 2) / m);
}

/* One row of width * depth 8-bit samples into out. */
static kmq_status decode_row(reader *d, uint8_t *out, const char **why)
{
    const pnm_header *h = &d->h;
    const size_t n = (size_t)h->width * (size_t)h->depth;
    kmq_status s;
    if (h->type < 4) {
        for (size_t i = 0; i < n; i++) {
            uint32_t v;
            if ((s = plain_sample(d, &v, why)) != KMQ_OK)
                return s;
            if (v > h->maxval)
                return corrupt("corrupt PNM: a sample is larger than maxval", why);
            out[i] = h->type == 1 ? (v ? 0 : 255) : to8(d, v);
        }
        return KMQ_OK;
    }
    if ((s = get_bytes(&d->src, d->raw, raw_row_bytes(h), why)) != KMQ_OK)
        return s;
    if (h->type == 4) {
        for (size_t x = 0; x < n; x++)
            out[x] = d->raw[x >> 3] >> (7 - (x & 7)) & 1 ? 0 : 255;
    } else if (h->maxval == 255) {
        memcpy(out, d->raw, n);
    } else if (h->maxval < 255) {
        for (size_t i = 0; i < n; i++) {
            if (d->raw[i] > h->maxval)
                return corrupt("corrupt PNM: a sample is larger than maxval", why);
            out[i] = d->lut[d->raw[i]];
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            const uint32_t v = (uint32_t)d->raw[2 * i] << 8 | d->raw[2 * i + 1];
            if (v > h->maxval)
                return corrupt("corrupt PNM: a sample is larger than maxval", why);
            out[i] = to8(d, v);
        }
    }
    return KMQ_OK;
}

/* Sets up d after its header and source are filled in. */
static kmq_status reader_init(reader *d)
{
    const size_t raw = raw_row_bytes(&d->h);
    if (raw && !(d->raw = malloc(raw)))
        return KMQ_ERR_NOMEM;
    for (uint32_t v = 0; v < 256; v++)
        d->lut[v] = (uint8_t)(v <= d->h.maxval ? (v * 255u + d->h.maxval / 2) / d->h.maxval : 0);
    seek(&d->src, d->h.data);
    d->y = 0;
    return KMQ_OK;
}

kmq_status kmq_pnm_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                          kmq_metadata *meta, const char **why)
{
    (void)meta; /* Netpbm carries no metadata kmq keeps */
    reader d;
    memset(&d, 0, sizeof d);
    kmq_status s = parse_header(buf, len, max_pixels, &d.h, why);
    if (s == KMQ_OK)
        s = check_length(&d.h, len, why);
    if (s != KMQ_OK)
        return s;
    d.src.mem = buf, d.src.len = len;
    const size_t row = (size_t)d.h.width * (size_t)d.h.depth;
    uint8_t *px = malloc(row * (size_t)d.h.height);
    if (!px || (s = reader_init(&d)) != KMQ_OK) {
        free(px);
        return KMQ_ERR_NOMEM;
    }
    for (uint64_t y = 0; y < d.h.height && s == KMQ_OK; y++)
        s = decode_row(&d, px + y * row, why);
    free(d.raw);
    if (s != KMQ_OK) {
        free(px);
        return s;
    }
    img->width = (int)d.h.width, img->height = (int)d.h.height;
    img->channels = d.h.depth, img->pixels = px;
    return KMQ_OK;
}

/* ---- the row reader ---- */

static kmq_status rows_read(kmq_rows *r, uint8_t *out, uint32_t n, const char **why)
{
    reader *d = (reader *)r;
    if (n > d->h.height - d->y) {
        *why = "read past the last row";
        return KMQ_ERR_ARG;
    }
    const size_t row = (size_t)d->h.width * (size_t)d->h.depth;
    for (uint32_t i = 0; i < n; i++) {
        kmq_status s = decode_row(d, out + i * row, why);
        if (s != KMQ_OK)
            return s;
        d->y++;
    }
    return KMQ_OK;
}

static kmq_status rows_rewind(kmq_rows *r, const char **why)
{
    (void)why;
    reader *d = (reader *)r;
    seek(&d->src, d->h.data);
    d->y = 0;
    return KMQ_OK;
}

static void rows_close(kmq_rows *r)
{
    reader *d = (reader *)r;
    if (!d)
        return;
    free(d->raw);
    free(d->src.buf);
    free(d);
}

kmq_status kmq_pnm_rows_open(int fd, uint64_t file_len, uint64_t max_pixels, kmq_rows **r,
                             kmq_metadata *meta, const char **why)
{
    (void)meta;
    *r = NULL;
    reader *d = calloc(1, sizeof *d);
    if (!d)
        return KMQ_ERR_NOMEM;
    d->src.fd = fd, d->src.len = file_len;
    d->src.cap = HEADER_MAX; /* the header window, then the data window */
    if (!(d->src.buf = calloc(1, d->src.cap))) { /* calloc: GCC cannot see pread fill it */
        free(d);
        return KMQ_ERR_NOMEM;
    }
    kmq_status s = KMQ_OK;
    seek(&d->src, 0);
    const int got = refill(&d->src);
    if (got < 0)
        s = KMQ_ERR_IO;
    else if ((s = parse_header(d->src.buf, d->src.have, max_pixels, &d->h, why)) == KMQ_OK &&
             (s = check_length(&d->h, file_len, why)) == KMQ_OK)
        s = reader_init(d);
    if (s != KMQ_OK) {
        rows_close(&d->rows);
        return s;
    }
    d->rows.width = (uint32_t)d->h.width, d->rows.height = (uint32_t)d->h.height;
    d->rows.channels = d->h.depth;
    d->rows.read = rows_read, d->rows.rewind = rows_rewind, d->rows.close = rows_close;
    *r = &d->rows;
    return KMQ_OK;
}
