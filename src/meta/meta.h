/* src/meta: what travels beside the pixels (src/meta/metadata.c): colour
 * space (sRGB, gAMA, cHRM, iCCP), pixel size (pHYs) and EXIF orientation,
 * gathered from PNG chunks, JPEG segments and TIFF/WebP profiles, checked,
 * and written back as PNG chunks; and the kmCp/kmCb chunk that binds a label
 * PNG to its codebook.  Above src/png (it writes chunks), below src/formats
 * (whose decoders feed it). */
#ifndef KMQ_META_H
#define KMQ_META_H

#include "kmq.h"
#include "png_io.h"

#include <stddef.h>
#include <stdint.h>

void kmq_meta_init(kmq_metadata *m);  /* empty, orientation 1 */
void kmq_meta_warn(kmq_metadata *m, const char *warning); /* the first one stays */
/* Index of a carried chunk type (sRGB, gAMA, cHRM, iCCP, pHYs), or -1. */
int kmq_meta_kind(const uint8_t *type);
/* Checks one chunk's data and keeps it if it is carried and the first of
   its kind (else drops it, with a warning if it was malformed). */
kmq_status kmq_meta_add_chunk(kmq_metadata *m, const uint8_t *type, const uint8_t *data,
                              size_t len);
/* A PNG input chunk: eXIf gives the orientation, the carried kinds are kept. */
kmq_status kmq_png_chunk_meta(kmq_metadata *m, const uint8_t *type, const uint8_t *data,
                              size_t len);
/* The visitor that gathers a PNG's metadata into m while kmq_png_check_reader_visit
   walks its chunks (src/png). */
kmq_png_chunk_visitor kmq_meta_png_visitor(kmq_metadata *m);
/* kmq_png_check_reader, also keeping the metadata chunks before IDAT in
   *meta (when meta is not NULL). */
kmq_status kmq_png_check_reader_meta(kmq_reader *r, kmq_png_header *hdr, kmq_metadata *meta,
                                     const char **why);
/* The orientation from TIFF-structured EXIF data. */
void kmq_meta_exif(kmq_metadata *m, const uint8_t *tiff, size_t len);
/* A JPEG's ICC profile parts, gathered over its APP2 segments. */
typedef struct {
    uint8_t *part[256];
    size_t len[256];
    int count, exif_seen;
    size_t total;
    const char *bad; /* why the profile will be dropped */
} kmq_jpeg_icc;
kmq_status kmq_meta_jpeg_segment(kmq_metadata *m, kmq_jpeg_icc *icc, int marker,
                                 const uint8_t *seg, size_t len);
/* Joins the profile into an iCCP chunk (or warns); frees icc's parts. */
kmq_status kmq_meta_jpeg_finish(kmq_metadata *m, kmq_jpeg_icc *icc);
void kmq_jpeg_icc_free(kmq_jpeg_icc *icc);
/* A whole ICC profile (TIFF's tag, WebP's ICCP chunk) as an iCCP chunk;
   one over KMQ_MAX_ICC_PROFILE is dropped with a warning. */
kmq_status kmq_meta_icc_profile(kmq_metadata *m, const uint8_t *profile, size_t len);
/* The colour space an iCCP chunk's profile is for ("RGB ", "GRAY", ...;
   "" when it cannot be told), from its data (len bytes). */
void kmq_meta_iccp_space(const uint8_t *data, size_t len, char space[5]);
/* After a quarter turn: pHYs's x and y densities trade places. */
void kmq_meta_swap_phys(kmq_metadata *m);

#endif
