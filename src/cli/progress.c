/* The live progress line on a terminal: files done in a batch, or the
   k-means restarts and iterations of one image.  A few updates a second at
   most, erased when done, and nothing at all unless standard error is a
   terminal. */
#include "cli.h"

#include <unistd.h>

static int enabled, shown;
static double last;

void progress_enable(int want)
{
    enabled = want && isatty(STDERR_FILENO);
    last = 0;
}

static int due(int force)
{
    if (!enabled)
        return 0;
    double now = now_seconds();
    if (!force && now - last < 0.25)
        return 0;
    last = now;
    shown = 1;
    return 1;
}

void progress_files(size_t done, size_t total, size_t failed)
{
    if (total < 2 || !due(done == 0)) /* one file: its k-means progress says more */
        return;
    fprintf(stderr, "\r\033[K[%zu/%zu files", done, total);
    if (failed)
        fprintf(stderr, ", %zu failed", failed);
    fputs("]", stderr);
    fflush(stderr);
}

void progress_kmeans(void *ctx, int restart, int restarts, int iteration)
{
    if (!due(0))
        return;
    fprintf(stderr, "\r\033[K[%s: k-means restart %d/%d, iteration %d]", (const char *)ctx,
            restart + 1, restarts, iteration);
    fflush(stderr);
}

void progress_clear(void)
{
    if (enabled && shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    shown = 0;
}
