/* The .bin codebook: "KMQC", version, channels, k (u16 LE), entries, CRC-32.
   The layout is specified in include/kmq.h and README.md. */
#include "kmq.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#define CB_MAGIC "KMQC"
#define CB_VERSION 1
#define CB_HEADER 8
#define CB_TRAILER 4

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t kmq_codebook_id(const kmq_codebook *cb)
{
    if (!cb || !cb->entries || cb->k < 1 || cb->k > KMQ_MAX_K || cb->channels < 1 ||
        cb->channels > KMQ_MAX_CHANNELS)
        return 0;
    uint8_t head[CB_HEADER] = {CB_MAGIC[0], CB_MAGIC[1], CB_MAGIC[2], CB_MAGIC[3], CB_VERSION,
                               (uint8_t)cb->channels, (uint8_t)(cb->k & 0xFF),
                               (uint8_t)(cb->k >> 8)};
    uint32_t crc = libdeflate_crc32(0, head, CB_HEADER);
    return libdeflate_crc32(crc, cb->entries, (size_t)cb->k * cb->channels);
}

kmq_status kmq_codebook_encode_bin(const kmq_codebook *cb, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (!cb || !cb->entries || cb->k < 1 || cb->k > KMQ_MAX_K || cb->channels < 1 ||
        cb->channels > KMQ_MAX_CHANNELS)
        return KMQ_ERR_ARG;
    size_t body = (size_t)cb->k * cb->channels;
    size_t len = CB_HEADER + body + CB_TRAILER;
    uint8_t *p = malloc(len);
    if (!p)
        return KMQ_ERR_NOMEM;
    memcpy(p, CB_MAGIC, 4);
    p[4] = CB_VERSION;
    p[5] = (uint8_t)cb->channels;
    p[6] = (uint8_t)(cb->k & 0xFF);
    p[7] = (uint8_t)(cb->k >> 8);
    memcpy(p + CB_HEADER, cb->entries, body);
    put_u32le(p + CB_HEADER + body, libdeflate_crc32(0, p, CB_HEADER + body));
    *out = p;
    *out_len = len;
    return KMQ_OK;
}

kmq_status kmq_codebook_decode_bin(const uint8_t *buf, size_t len, kmq_codebook *cb)
{
    memset(cb, 0, sizeof *cb);
    if (memcmp(buf, CB_MAGIC, len < 4 ? len : 4) != 0)
        return KMQ_ERR_CB_MAGIC;
    if (len < CB_HEADER)
        return KMQ_ERR_CB_TRUNCATED;
    if (buf[4] != CB_VERSION)
        return KMQ_ERR_CB_VERSION;
    int channels = buf[5];
    int k = buf[6] | buf[7] << 8;
    if (channels < 1 || channels > KMQ_MAX_CHANNELS)
        return KMQ_ERR_CB_CHANNELS;
    if (k < 1 || k > KMQ_MAX_K)
        return KMQ_ERR_CB_K;
    size_t body = (size_t)k * channels;
    if (len < CB_HEADER + body + CB_TRAILER)
        return KMQ_ERR_CB_TRUNCATED;
    if (len > CB_HEADER + body + CB_TRAILER)
        return KMQ_ERR_CB_TRAILING;
    if (get_u32le(buf + CB_HEADER + body) != libdeflate_crc32(0, buf, CB_HEADER + body))
        return KMQ_ERR_CB_CRC;
    cb->entries = malloc(body);
    if (!cb->entries)
        return KMQ_ERR_NOMEM;
    memcpy(cb->entries, buf + CB_HEADER, body);
    cb->k = k;
    cb->channels = channels;
    return KMQ_OK;
}
