/* JPEG and BMP encoding for genimg's test inputs (kmq never writes them).
   stb_image_write's JPEG bit writer shifts signed ints past their range,
   which UBSan reports; that code is test-only, so the Makefile builds this
   file without the shift check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <stb_image_write.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed;
} buffer;

static void append(void *ctx, void *data, int size)
{
    buffer *b = ctx;
    if (b->failed)
        return;
    if (b->len + (size_t)size > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 65536) + (size_t)size;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, (size_t)size);
    b->len += (size_t)size;
}

uint8_t *jpeg_encode(const uint8_t *pixels, int w, int h, int channels, int quality, size_t *out_len);
uint8_t *jpeg_encode(const uint8_t *pixels, int w, int h, int channels, int quality, size_t *out_len)
{
    buffer b = {NULL, 0, 0, 0};
    if (!stbi_write_jpg_to_func(append, &b, w, h, channels, pixels, quality) || b.failed) {
        free(b.p);
        return NULL;
    }
    *out_len = b.len;
    return b.p;
}

uint8_t *bmp_encode(const uint8_t *pixels, int w, int h, int channels, size_t *out_len);
uint8_t *bmp_encode(const uint8_t *pixels, int w, int h, int channels, size_t *out_len)
{
    buffer b = {NULL, 0, 0, 0};
    if (!stbi_write_bmp_to_func(append, &b, w, h, channels, pixels) || b.failed) {
        free(b.p);
        return NULL;
    }
    *out_len = b.len;
    return b.p;
}
