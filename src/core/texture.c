/* Where the image itself varies: 1 on smooth areas (flat or a gradient,
 * where a palette's steps show as bands), falling to 0 on texture and at
 * edges (which hide them).  The measure is the local second difference,
 * small on a gradient however steep and large on noise and at edges; the
 * largest in a 3x3 neighbourhood counts (next to an edge is the edge), and
 * smoothness falls linearly to 0 at TEXTURE.  It is measured where the
 * error is (alpha.c's points for images with alpha), a row at a time over
 * a window of five rows, so memory stays bounded by the width.  Two users:
 * the dithering (how much error a pixel passes on, dither.c) and the
 * perceptual palette (how much a pixel counts, quantize.c). */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

#define TEXTURE 250.0f /* sum of |second differences| over the channels */

int kmq_translucent(const uint8_t *pixels, size_t npixels, int C)
{
    for (size_t i = 0; kmq_has_alpha(C) && i < npixels; i++)
        if (pixels[i * C + C - 1] != 255)
            return 1;
    return 0;
}

kmq_status kmq_texture_open(kmq_texture *m, const uint8_t *pixels, int width, int height,
                            int channels, int alpha)
{
    m->pixels = pixels;
    m->W = width, m->H = height, m->C = channels, m->alpha = alpha;
    m->loaded = 0;
    m->held[0] = m->held[1] = m->held[2] = -1;
    m->points = malloc((size_t)5 * width * channels * sizeof *m->points);
    m->texture = malloc((size_t)3 * width * sizeof *m->texture);
    if (m->points && m->texture)
        return KMQ_OK;
    kmq_texture_close(m);
    return KMQ_ERR_NOMEM;
}

void kmq_texture_close(kmq_texture *m)
{
    free(m->points), free(m->texture);
    m->points = m->texture = NULL;
}

const float *kmq_texture_points(kmq_texture *m, int y)
{
    y = y < 0 ? 0 : y >= m->H ? m->H - 1 : y;
    float *out = m->points + (size_t)(y % 5) * m->W * m->C;
    for (; m->loaded <= y; m->loaded++) {
        float *o = m->points + (size_t)(m->loaded % 5) * m->W * m->C;
        const uint8_t *px = m->pixels + (size_t)m->loaded * m->W * m->C;
        for (int i = 0; i < m->W; i++) {
            double p[KMQ_MAX_CHANNELS];
            kmq_error_point(px + (size_t)i * m->C, m->C, m->alpha, p);
            for (int c = 0; c < m->C; c++)
                o[i * m->C + c] = (float)p[c];
        }
    }
    return out;
}

static void second_differences(kmq_texture *m, int y, float *t)
{
    const int W = m->W, C = m->C;
    const float *up = kmq_texture_points(m, y - 1), *row = kmq_texture_points(m, y),
                *down = kmq_texture_points(m, y + 1);
    for (int x = 0; x < W; x++) {
        const float *p = row + (size_t)x * C, *l = x ? p - C : p, *r = x + 1 < W ? p + C : p;
        const float *u = up + (size_t)x * C, *d = down + (size_t)x * C;
        float v = 0;
        for (int c = 0; c < C; c++)
            v += fabsf(l[c] + r[c] - 2 * p[c]) + fabsf(u[c] + d[c] - 2 * p[c]);
        t[x] = v;
    }
}

void kmq_texture_row(kmq_texture *m, int y, float *out)
{
    const int W = m->W;
    float *t[3];
    for (int d = -1; d <= 1; d++) { /* each row's differences are computed once */
        const int yy = y + d < 0 ? 0 : y + d >= m->H ? m->H - 1 : y + d;
        t[d + 1] = m->texture + (size_t)(yy % 3) * W;
        if (m->held[yy % 3] != yy)
            second_differences(m, yy, t[d + 1]), m->held[yy % 3] = yy;
    }
    for (int x = 0; x < W; x++) {
        float v = 0;
        for (int d = 0; d < 3; d++)
            for (int xx = x ? x - 1 : 0; xx <= x + 1 && xx < W; xx++)
                v = t[d][xx] > v ? t[d][xx] : v;
        out[x] = v < TEXTURE ? 1 - v / TEXTURE : 0;
    }
}
