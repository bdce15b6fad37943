/* Byte order: the PNG, JPEG and EXIF fields (big-endian) and the codebook
   and BMP fields (little-endian) kmq reads and writes, one definition each. */
#ifndef KMQ_SHARED_BYTES_H
#define KMQ_SHARED_BYTES_H

#include <stdint.h>

static inline uint32_t kmq_get_be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t kmq_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void kmq_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static inline uint32_t kmq_get_le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t kmq_get_le32(const uint8_t *p)
{
    return kmq_get_le16(p) | kmq_get_le16(p + 2) << 16;
}

static inline void kmq_put_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static inline void kmq_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

#endif
