/* Label images read back (kmq_labels_decode): a greyscale PNG of 1, 2, 4 or
   8 bits whose samples are the labels, refused with the reason when it is
   anything else (a JPEG, a colour PNG: a label image re-saved by a viewer). */
#include "formats.h"
#include "why.h"

#include <stdio.h>
#include <string.h>

static const char *colour_type_name(int ct)
{
    switch (ct) {
    case 2: return "RGB";
    case 3: return "palette";
    case 4: return "grey+alpha";
    case 6: return "RGBA";
    default: return "greyscale";
    }
}

kmq_status kmq_labels_magic(const uint8_t *buf, size_t len, const char **why)
{
    if (kmq_is_jpeg(buf, len)) {
        *why = "it is a JPEG (label images must be greyscale PNG; JPEG destroys labels)";
        return KMQ_ERR_LABELS_NOT_GREY8;
    }
    if (!kmq_looks_like_png(buf, len)) {
        *why = "it is not a PNG (label images must be greyscale PNG)";
        return KMQ_ERR_LABELS_NOT_GREY8;
    }
    return KMQ_OK;
}

kmq_status kmq_labels_header(const kmq_png_header *hdr, uint64_t max_pixels, const char **why)
{
    if (hdr->colour_type != 0) {
        static _Thread_local char msg[128];
        snprintf(msg, sizeof msg,
                 "it is a %s PNG, not greyscale (was the label image re-saved?)",
                 colour_type_name(hdr->colour_type));
        *why = msg;
        return KMQ_ERR_LABELS_NOT_GREY8;
    }
    if (hdr->bit_depth > 8) {
        static _Thread_local char msg[128];
        snprintf(msg, sizeof msg, "it is a %d-bit greyscale PNG, not 1, 2, 4 or 8-bit",
                 hdr->bit_depth);
        *why = msg;
        return KMQ_ERR_LABELS_NOT_GREY8;
    }
    return kmq_png_check_size(hdr, max_pixels, why);
}

static kmq_status labels_decode(const uint8_t *buf, size_t len, uint64_t max_pixels,
                                kmq_image *img, const char **why)
{
    *why = NULL;
    if (!img)
        return kmq_arg("img is NULL");
    memset(img, 0, sizeof *img);
    kmq_status s = kmq_labels_magic(buf, len, why);
    if (s != KMQ_OK)
        return s;
    kmq_png_header hdr;
    if ((s = kmq_png_check(buf, len, &hdr, why)) != KMQ_OK ||
        (s = kmq_labels_header(&hdr, max_pixels, why)) != KMQ_OK)
        return s;
    if ((s = kmq_load_whole(buf, len, 1, kmq_stb_budget(hdr.width, hdr.height, len), img, why)) != KMQ_OK ||
        hdr.bit_depth == 8)
        return s;
    /* stb scales 1, 2 and 4-bit grey to 0..255 (v * 255 / (2^bits - 1)):
       undo it to get the indices back. */
    const unsigned scale = 255u / ((1u << hdr.bit_depth) - 1);
    const size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i++)
        img->pixels[i] = (uint8_t)(img->pixels[i] / scale);
    return KMQ_OK;
}

kmq_status kmq_labels_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                             const char **why)
{
    const char *w = NULL;
    kmq_why_clear();
    const kmq_status s = labels_decode(buf, len, max_pixels, img, &w);
    return kmq_why_out(s, w, why);
}
