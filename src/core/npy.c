/* NumPy .npy codebooks: dtype uint8, shape (k, channels).  The reader takes
   format versions 1-3 and the header dialects seen in the wild (Python 2's
   "(128L, 3L)", either quote style, any key order, Fortran order). */
#include "kmq.h"
#include "why.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char NPY_MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int eat(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes, copied into out (NUL-terminated). */
static int parse_string(cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap)
            return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    out[n] = 0;
    return 1;
}

static int parse_word(cursor *c, const char *word)
{
    skip_ws(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* A non-negative integer with an optional Python 2 long suffix. */
static int parse_int(cursor *c, long *v)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return 0;
    long x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        x = x * 10 + (*c->p++ - '0');
        if (x > 1000000000L)
            return 0;
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
        c->p++;
    *v = x;
    return 1;
}

/* "(a, b)", "(a,)", "()": up to 4 dimensions. */
static int parse_shape(cursor *c, long *dims, int *ndim)
{
    if (!eat(c, '('))
        return 0;
    *ndim = 0;
    if (eat(c, ')'))
        return 1;
    for (;;) {
        if (*ndim == 4 || !parse_int(c, &dims[*ndim]))
            return 0;
        (*ndim)++;
        if (eat(c, ')'))
            return 1;
        if (!eat(c, ','))
            return 0;
        if (eat(c, ')'))
            return 1;
    }
}

kmq_status kmq_codebook_decode_npy(const uint8_t *buf, size_t len, kmq_codebook *cb)
{
    kmq_why_clear();
    memset(cb, 0, sizeof *cb);
    if (len < 6 || memcmp(buf, NPY_MAGIC, 6) != 0)
        return KMQ_ERR_NPY_MAGIC;
    if (len < 10)
        return KMQ_ERR_NPY_HEADER;
    int major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return KMQ_ERR_NPY_HEADER;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        return kmq_why(KMQ_ERR_NPY_VERSION, "format version %d (kmq reads 1, 2 and 3)", major);
    }
    if (hlen > len - hstart)
        return KMQ_ERR_NPY_HEADER;

    cursor c = {(const char *)buf + hstart, (const char *)buf + hstart + hlen};
    char key[32], descr[32];
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0, ndim = 0;
    long dims[4];
    if (!eat(&c, '{'))
        return KMQ_ERR_NPY_HEADER;
    while (!eat(&c, '}')) {
        if (!parse_string(&c, key, sizeof key) || !eat(&c, ':'))
            return KMQ_ERR_NPY_HEADER;
        if (!strcmp(key, "descr") && !have_descr) {
            if (!parse_string(&c, descr, sizeof descr))
                return KMQ_ERR_NPY_DTYPE;
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order") && !have_order) {
            if (parse_word(&c, "True"))
                fortran = 1;
            else if (!parse_word(&c, "False"))
                return KMQ_ERR_NPY_HEADER;
            have_order = 1;
        } else if (!strcmp(key, "shape") && !have_shape) {
            if (!parse_shape(&c, dims, &ndim))
                return KMQ_ERR_NPY_SHAPE;
            have_shape = 1;
        } else {
            return KMQ_ERR_NPY_HEADER; /* unknown or repeated key */
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                return KMQ_ERR_NPY_HEADER;
            break;
        }
    }
    skip_ws(&c);
    if (c.p != c.end || !have_descr || !have_order || !have_shape)
        return KMQ_ERR_NPY_HEADER;
    /* uint8 has no byte order: numpy writes '|u1'; accept the other spellings. */
    if (strcmp(descr, "|u1") && strcmp(descr, "<u1") && strcmp(descr, ">u1") &&
        strcmp(descr, "=u1") && strcmp(descr, "u1") && strcmp(descr, "|B") && strcmp(descr, "B"))
        return kmq_why(KMQ_ERR_NPY_DTYPE, "dtype '%s'", descr);
    long k, channels;
    if (ndim == 2)
        k = dims[0], channels = dims[1];
    else if (ndim == 1)
        k = dims[0], channels = 1;
    else
        return kmq_why(KMQ_ERR_NPY_SHAPE, "%d dimensions", ndim);
    if (k < 1 || k > KMQ_MAX_K || channels < 1 || channels > KMQ_MAX_CHANNELS)
        return kmq_why(KMQ_ERR_NPY_SHAPE, "shape (%ld, %ld)", k, channels);
    size_t body = (size_t)k * (size_t)channels;
    if (len - hstart - hlen != body)
        return kmq_why(KMQ_ERR_NPY_DATA, "%zu bytes of data, where shape (%ld, %ld) makes %zu",
                       len - hstart - hlen, k, channels, body);

    cb->entries = malloc(body);
    if (!cb->entries)
        return KMQ_ERR_NOMEM;
    const uint8_t *data = buf + hstart + hlen;
    for (long i = 0; i < k; i++)
        for (long ch = 0; ch < channels; ch++)
            cb->entries[i * channels + ch] = fortran ? data[ch * k + i] : data[i * channels + ch];
    cb->k = (int)k;
    cb->channels = (int)channels;
    return KMQ_OK;
}

kmq_status kmq_codebook_encode_npy(const kmq_codebook *cb, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    kmq_status s = kmq_codebook_check(cb);
    if (s != KMQ_OK)
        return s;
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d), }",
                     cb->k, cb->channels);
    /* Format 1.0: pad with spaces and a newline so the data start 64-aligned. */
    size_t hlen = (size_t)n + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    size_t body = (size_t)cb->k * cb->channels;
    size_t len = 10 + hlen + body;
    uint8_t *p = malloc(len);
    if (!p)
        return KMQ_ERR_NOMEM;
    memcpy(p, NPY_MAGIC, 6);
    p[6] = 1;
    p[7] = 0;
    p[8] = (uint8_t)(hlen & 0xFF);
    p[9] = (uint8_t)(hlen >> 8);
    memset(p + 10, ' ', hlen);
    memcpy(p + 10, dict, (size_t)n);
    p[10 + hlen - 1] = '\n';
    memcpy(p + 10 + hlen, cb->entries, body);
    *out = p;
    *out_len = len;
    return KMQ_OK;
}

/* Either form of codebook file: .npy is told by its magic here, above the
   .bin reader (codebook.c). */
kmq_status kmq_codebook_decode(const uint8_t *buf, size_t len, kmq_codebook_format by_name,
                               kmq_codebook *cb)
{
    kmq_why_clear();
    /* Trust the content over the name; the name picks the error message. */
    if (buf && len >= 6 && !memcmp(buf, "\x93NUMPY", 6))
        return kmq_codebook_decode_npy(buf, len, cb);
    if (buf && len >= 4 && !memcmp(buf, "KMQC", 4))
        return kmq_codebook_decode_bin(buf, len, cb);
    return by_name == KMQ_CODEBOOK_NPY ? kmq_codebook_decode_npy(buf, len, cb)
                                       : kmq_codebook_decode_bin(buf, len, cb);
}
