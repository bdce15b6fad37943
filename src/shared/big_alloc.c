/* Large arrays on transparent huge pages.
 *
 * kmq's working arrays (the colour hash, the kd-tree, per-colour distances
 * and labels, decoded pixels) are megabytes that are filled once and then
 * read at random.  Mapped 4 KB at a time, a 1-megapixel photo with a
 * million colours takes about 19,000 page faults, and on virtual machines a
 * fault can cost over 10 us: a fifth of the run.  With 2 MB pages the same
 * run takes under 1,000, and random reads of a 32 MB table miss the TLB
 * far less.  Linux only maps huge pages where asked (MADV_HUGEPAGE) unless
 * configured to always; elsewhere this is plain malloc. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "big_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HUGE_PAGE ((size_t)2 << 20)

void *kmq_big_malloc(size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= HUGE_PAGE / 2) { /* at most half of a huge page unused */
        /* Whole huge pages, or the tail would still fault 4 KB at a time. */
        const size_t whole = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        void *p;
        if (whole < bytes || posix_memalign(&p, HUGE_PAGE, whole) != 0)
            return NULL;
        /* Advice only: where the kernel has none to give, 4 KB pages. */
        madvise(p, whole, MADV_HUGEPAGE);
        return p;
    }
#endif
    return malloc(bytes ? bytes : 1);
}

void *kmq_big_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    const size_t bytes = n * size;
    if (bytes < HUGE_PAGE / 2)
        return calloc(n ? n : 1, size ? size : 1);
    void *p = kmq_big_malloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void *kmq_big_realloc(void *p, size_t old_bytes, size_t bytes)
{
    if (bytes < HUGE_PAGE / 2 || !p)
        return p ? realloc(p, bytes ? bytes : 1) : kmq_big_malloc(bytes);
    /* A new huge-page block and a copy: realloc would grow the block with
       4 KB pages. */
    void *q = kmq_big_malloc(bytes);
    if (!q)
        return NULL;
    memcpy(q, p, old_bytes < bytes ? old_bytes : bytes);
    free(p);
    return q;
}
