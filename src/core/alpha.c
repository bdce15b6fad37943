/* Images with alpha: where their colours are clustered, and the exact
 * codebook for the clusters found.
 *
 * What a viewer sees of a pixel (colour x, alpha a) over a grey background
 * g is x*a/255 + g*(1 - a/255) per colour channel; kmq's error for images
 * with alpha is the mean of the squared errors over black and over white
 * (internal.h), the two extremes (over any grey the error is at most the
 * larger of the two: it is convex in g).  Per colour channel that mean is
 *     ((dB^2 + dW^2) / 2) = dG^2 + (da / 2)^2,
 * G = (B + W) / 2 being the composite over mid grey, so it is a plain
 * squared distance between the points
 *     (G_1 .. G_{C-1}, a * sqrt(C - 1) / 2).
 * k-means runs there, on the points rounded to uint8; every fully
 * transparent pixel is the same point.
 * Measured on the bench's transparent images (make bench, k = 8..256,
 * against pngquant --nofs, 72 cases): clustering premultiplied RGBA lost to
 * pngquant over white in 16 (by up to 2 dB: dark text and shadows), straight
 * RGBA spends entries on invisible colour; this space lost over one
 * background in 2.  Weighting black and white unequally per image
 * (bisecting the weight toward the worse background) balanced the two but
 * lost more often to pngquant, whose balance differs from image to image:
 * kept at 1/2.
 *
 * The rounded points lose a little, so the codebook is then refitted from
 * the pixels' own colours (exact integer sums per cluster, the best uint8
 * entry by the exact error), the colours relabelled with the nearest entry,
 * and that repeated while the error falls: that won 0.1-1 dB at k = 256. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double alpha_weight(int C)
{
    return sqrt((double)(C - 1)) / 2;
}

uint32_t kmq_alpha_to_space(uint32_t key, int C)
{
    const uint32_t a = key >> (8 * (C - 1)) & 0xFF;
    uint32_t out = (uint32_t)lround(a * alpha_weight(C)) << (8 * (C - 1));
    /* G = x*a/255 + (255 - a)/2 = (2 x a + 255 (255 - a)) / 510, rounded
       (halves up) */
    for (int c = 0; c < C - 1; c++)
        out |= ((2 * ((key >> (8 * c)) & 0xFF) * a + 255 * (255 - a) + 255) / 510) << (8 * c);
    return out;
}

void kmq_error_point(const uint8_t *px, int C, int alpha, double *p)
{
    if (alpha)
        kmq_alpha_point(px, C, p);
    else
        for (int c = 0; c < C; c++)
            p[c] = px[c];
}

void kmq_alpha_point(const uint8_t *e, int C, double *p)
{
    const double b = e[C - 1];
    for (int c = 0; c < C - 1; c++)
        p[c] = (2.0 * e[c] * b + 255.0 * (255.0 - b)) / 510.0;
    p[C - 1] = b * alpha_weight(C);
}

void kmq_alpha_sse(const kmq_histogram *h, const uint8_t *entries, const uint8_t *colour_labels,
                   double *over_black, double *over_white)
{
    const int C = h->channels;
    double eb = 0, ew = 0;
    for (size_t i = 0; i < h->n; i++) {
        uint8_t x[KMQ_MAX_CHANNELS];
        for (int c = 0; c < C; c++)
            x[c] = (uint8_t)(h->keys[i] >> (8 * c));
        uint64_t b, w;
        kmq_alpha_error(x, entries + (size_t)colour_labels[i] * C, C, &b, &w);
        eb += (double)b * h->counts[i];
        ew += (double)w * h->counts[i];
    }
    *over_black = eb / (255.0 * 255.0);
    *over_white = ew / (255.0 * 255.0);
}

/* Per-cluster sums of the pixels' straight colours (exact integers). */
typedef struct {
    uint64_t w, sa, sa2;  /* pixels, sum a, sum a^2 */
    uint64_t s1[3], t[3]; /* sum x*a, sum x*a^2 per colour channel */
    double s2[3];         /* sum (x*a)^2 (may pass 2^64) */
} cluster_sums;

/* The error of entry colour e at alpha b for one colour channel over a
   cluster, times 2 * 255^2: sum D^2 + sum (D - A)^2 with D = x*a - e*b
   (over black) and A = 255 (a - b) (what white adds), expanded over the
   sums. */
static double channel_error(const cluster_sums *s, int c, double e, double b)
{
    const double W = (double)s->w, eb = e * b;
    const double dd = s->s2[c] - 2 * eb * (double)s->s1[c] + W * eb * eb;
    const double da = 255.0 * ((double)s->t[c] - b * (double)s->s1[c] - eb * (double)s->sa + eb * b * W);
    const double aa = 65025.0 * ((double)s->sa2 - 2 * b * (double)s->sa + b * b * W);
    return 2 * dd - 2 * da + aa;
}

/* The uint8 entry with the least error for one cluster: alpha near the
   cluster's mean, each colour channel the best integer around the
   continuous optimum for that alpha. */
static void best_entry(const cluster_sums *s, int C, int allow_clear, uint8_t *out)
{
    const double W = (double)s->w, mean_a = (double)s->sa / W;
    double best = INFINITY;
    const int b0 = (int)lround(mean_a);
    for (int b = b0 - 2; b <= b0 + 2; b++) {
        if (b < 0 || b > 255 || (b == 0 && !allow_clear))
            continue;
        uint8_t e[KMQ_MAX_CHANNELS] = {0};
        double total = 0;
        for (int c = 0; c < C - 1; c++) {
            if (b == 0) { /* the colour of a clear entry is invisible: 0 */
                total += channel_error(s, c, 0, 0);
                continue;
            }
            /* d/de = 0 at e = s1 / (W b) + 127.5 (1 - mean_a / b) */
            const double opt = (double)s->s1[c] / (W * b) + 127.5 * (1 - mean_a / b);
            const int lo = (int)floor(opt);
            double be = INFINITY;
            for (int v = lo; v <= lo + 1; v++) {
                const int vc = v < 0 ? 0 : v > 255 ? 255 : v;
                const double err = channel_error(s, c, vc, b);
                if (err < be)
                    be = err, e[c] = (uint8_t)vc;
            }
            total += be;
        }
        if (total < best) {
            best = total;
            e[C - 1] = (uint8_t)b;
            memcpy(out, e, (size_t)C);
        }
    }
}

/* Every non-pinned entry that has pixels becomes the best for its cluster. */
static kmq_status refit(const kmq_histogram *h, int k, int pinned, const uint8_t *labels,
                        uint8_t *entries)
{
    const int C = h->channels, shift = 8 * (C - 1);
    cluster_sums *sums = calloc((size_t)k, sizeof *sums);
    if (!sums)
        return KMQ_ERR_NOMEM;
    for (size_t i = 0; i < h->n; i++) {
        cluster_sums *s = &sums[labels[i]];
        const uint64_t w = h->counts[i], a = h->keys[i] >> shift & 0xFF;
        s->w += w, s->sa += w * a, s->sa2 += w * a * a;
        for (int c = 0; c < C - 1; c++) {
            const uint64_t xa = ((h->keys[i] >> (8 * c)) & 0xFF) * a;
            s->s1[c] += w * xa;
            s->t[c] += w * xa * a;
            s->s2[c] += (double)w * (double)(xa * xa);
        }
    }
    for (int j = pinned; j < k; j++)
        if (sums[j].w)
            best_entry(&sums[j], C, !pinned, entries + (size_t)j * C);
    free(sums);
    return KMQ_OK;
}

/* Labels every colour of h with the entry nearest to it in the clustering
   space: through the tree over hk's colours, or directly when it has none. */
static kmq_status relabel(const kmq_histogram *h, const kmq_histogram *hk, const kmq_tree *tree,
                          const uint32_t *hk_index, int k, const uint8_t *entries,
                          int threads, uint8_t *hk_labels, uint8_t *labels)
{
    const int C = h->channels;
    double centres[KMQ_MAX_K * KMQ_MAX_CHANNELS];
    for (int j = 0; j < k; j++)
        kmq_alpha_point(entries + (size_t)j * C, C, centres + (size_t)j * C);
    if (tree) {
        kmq_status s = kmq_assign_labels(tree, k, centres, threads, hk_labels);
        if (s != KMQ_OK)
            return s;
    } else {
        for (size_t i = 0; i < hk->n; i++) {
            double x[KMQ_MAX_CHANNELS], bd = INFINITY;
            kmq_unpack_d(hk->keys[i], C, x);
            for (int j = 0; j < k; j++) {
                double d = 0;
                for (int c = 0; c < C; c++)
                    d += (x[c] - centres[(size_t)j * C + c]) * (x[c] - centres[(size_t)j * C + c]);
                if (d < bd)
                    bd = d, hk_labels[i] = (uint8_t)j;
            }
        }
    }
    for (size_t i = 0; i < h->n; i++)
        labels[i] = hk_labels[hk_index[i]];
    return KMQ_OK;
}

kmq_status kmq_alpha_codebook(const kmq_histogram *h, const kmq_histogram *hk,
                              const kmq_tree *tree, int k, int pinned, int threads,
                              const uint8_t *hk_labels_in, uint8_t *entries, uint8_t *labels,
                              double *over_black, double *over_white)
{
    const int C = h->channels;
    const size_t kc = (size_t)k * C;
    uint8_t *hk_labels = malloc(hk->n), *try_labels = malloc(h->n), *try_entries = malloc(kc);
    uint32_t *hk_index = malloc(h->n * sizeof *hk_index); /* h's colour i is hk's hk_index[i] */
    kmq_status s = KMQ_OK;
    if (!hk_labels || !try_labels || !try_entries || !hk_index) {
        s = KMQ_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < h->n; i++) {
        hk_index[i] = (uint32_t)kmq_histogram_find(hk, kmq_alpha_to_space(h->keys[i], C));
        labels[i] = hk_labels_in[hk_index[i]];
    }
    memset(entries, 0, kc); /* the pinned entry, and any left without pixels */
    if ((s = refit(h, k, pinned, labels, entries)) != KMQ_OK)
        goto done;
    kmq_alpha_sse(h, entries, labels, over_black, over_white);
    /* Lloyd steps under the exact error, kept while they help. */
    for (int round = 0; round < 8; round++) {
        memcpy(try_entries, entries, kc);
        if ((s = relabel(h, hk, tree, hk_index, k, try_entries, threads, hk_labels,
                         try_labels)) != KMQ_OK ||
            (s = refit(h, k, pinned, try_labels, try_entries)) != KMQ_OK)
            goto done;
        double eb, ew;
        kmq_alpha_sse(h, try_entries, try_labels, &eb, &ew);
        if (!(eb + ew < *over_black + *over_white))
            break;
        *over_black = eb, *over_white = ew;
        memcpy(entries, try_entries, kc);
        memcpy(labels, try_labels, h->n);
    }
done:
    free(hk_labels), free(try_labels), free(try_entries), free(hk_index);
    return s;
}
