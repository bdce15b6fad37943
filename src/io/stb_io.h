/* Thin wrappers over the stb implementation unit (src/io/stb_impl.c). */
#ifndef KMQ_STB_IO_H
#define KMQ_STB_IO_H

#include "kmq.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* A byte source: read returns the bytes read (0 at the end) or -1. */
typedef struct {
    long (*read)(void *ctx, uint8_t *buf, size_t n);
    void *ctx;
} kmq_reader;

/* A reader over a buffer (src/io/png_chunks.c). */
typedef struct {
    const uint8_t *p;
    size_t left;
} kmq_mem_src;
kmq_reader kmq_mem_reader(kmq_mem_src *m, const uint8_t *buf, size_t len);

uint8_t *kmq_stb_load(const uint8_t *buf, size_t len, int *w, int *h, int *channels,
                      int req_channels, const char **why);
/* The same, reading through r (which must be at the start of the image). */
uint8_t *kmq_stb_load_reader(kmq_reader *r, int *w, int *h, int *channels, int req_channels,
                             const char **why);
int kmq_stb_info_reader(kmq_reader *r, int *w, int *h, int *channels);
void kmq_stb_free(void *p);
/* Returns a malloc'd PNG, or NULL.  level: libdeflate 1..12; filter: PNG
   filter type 0..4 for every row, or -1 to let stb pick per row.  Not
   thread-safe (stb's globals). */
uint8_t *kmq_stb_write_png(const uint8_t *pixels, int w, int h, int channels, int level,
                           int filter, int *out_len);

/* PNG container checks (src/io/png_chunks.c). */
typedef struct {
    uint32_t width, height;
    int bit_depth, colour_type, interlace;
} kmq_png_header;

int kmq_is_png(const uint8_t *buf, size_t len);
kmq_status kmq_png_check_reader(kmq_reader *r, kmq_png_header *hdr, const char **why);
/* Walks every chunk: lengths in range, CRCs correct, IHDR first, IDAT
   present, IEND last.  On failure returns the status and a static reason. */
kmq_status kmq_png_check(const uint8_t *buf, size_t len, kmq_png_header *hdr, const char **why);

#endif
