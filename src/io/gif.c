/* gif input: not yet written (see formats.h). */
#include "formats.h"

int kmq_is_gif(const uint8_t *buf, size_t len)
{
    (void)buf, (void)len;
    return 0;
}

kmq_status kmq_gif_decode(const uint8_t *buf, size_t len, uint64_t max_pixels, kmq_image *img,
                           kmq_metadata *meta, const char **why)
{
    (void)buf, (void)len, (void)max_pixels, (void)img, (void)meta, (void)why;
    return KMQ_ERR_IMAGE_FORMAT;
}
