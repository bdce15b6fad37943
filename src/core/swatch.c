/* The codebook as a picture: a grid of squares, one per colour, so that
   the k colours can be looked at (the write-up's way). */
#include "kmq.h"
#include "why.h"

#include <string.h>

static uint32_t brightness(const uint8_t *e, int C)
{
    return C >= 3 ? 299u * e[0] + 587u * e[1] + 114u * e[2] : 1000u * e[0];
}

kmq_status kmq_swatch_size(const kmq_codebook *cb, int cell, int columns, int *width, int *height)
{
    kmq_status s = kmq_codebook_check(cb);
    if (s != KMQ_OK)
        return s;
    if (cell < 1 || cell > 1024)
        return kmq_arg("cell = %d is outside 1..1024", cell);
    if (columns < 1 || columns > KMQ_MAX_K)
        return kmq_arg("columns = %d is outside 1..%d", columns, KMQ_MAX_K);
    if (!width || !height)
        return kmq_arg("%s is NULL", width ? "height" : "width");
    const int cols = columns < cb->k ? columns : cb->k;
    const int rows = (cb->k + cols - 1) / cols;
    *width = cols * cell;
    *height = rows * cell;
    return KMQ_OK;
}

kmq_status kmq_swatch_draw(const kmq_codebook *cb, int by_brightness, int cell, int columns,
                           uint8_t *pixels)
{
    int w, h;
    kmq_status s = kmq_swatch_size(cb, cell, columns, &w, &h);
    if (s != KMQ_OK)
        return s;
    if (!pixels)
        return kmq_arg("pixels is NULL");
    const int C = cb->channels, k = cb->k, cols = w / cell;
    int order[KMQ_MAX_K];
    for (int j = 0; j < k; j++)
        order[j] = j;
    if (by_brightness) /* stable insertion sort: equal brightness keeps index order */
        for (int j = 1; j < k; j++) {
            int v = order[j], q = j;
            uint32_t bv = brightness(cb->entries + (size_t)v * C, C);
            for (; q > 0 && brightness(cb->entries + (size_t)order[q - 1] * C, C) > bv; q--)
                order[q] = order[q - 1];
            order[q] = v;
        }
    /* Cells past the last colour: transparent if there is alpha, else white. */
    const int alpha = C == 2 || C == 4;
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (int c = 0; c < C; c++)
            pixels[i * C + c] = alpha && c == C - 1 ? 0 : 255;
    for (int j = 0; j < k; j++) {
        const uint8_t *e = cb->entries + (size_t)order[j] * C;
        const int x0 = (j % cols) * cell, y0 = (j / cols) * cell;
        for (int y = y0; y < y0 + cell; y++)
            for (int x = x0; x < x0 + cell; x++)
                memcpy(pixels + ((size_t)y * w + x) * C, e, (size_t)C);
    }
    return KMQ_OK;
}
