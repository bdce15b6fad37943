/* Sized structs: checked once here, so that every function taking one
   refuses the same sizes with the same words. */
#include "sized.h"
#include "why.h"

#include <string.h>

kmq_status kmq_size_check(size_t size, size_t min, size_t max, const char *name,
                          const char *type)
{
    if (size >= min && size <= max)
        return KMQ_OK;
    return kmq_arg("%s.size = %zu is not a %s size (%zu..%zu)", name, size, type, min, max);
}

kmq_status kmq_sized_read(void *all, size_t all_size, const void *caller, size_t min,
                          const char *name, const char *type)
{
    if (!caller)
        return kmq_arg("%s is NULL", name);
    size_t size;
    memcpy(&size, caller, sizeof size);
    kmq_status s = kmq_size_check(size, min, all_size, name, type);
    if (s != KMQ_OK)
        return s;
    memcpy(all, caller, size);
    memcpy(all, &all_size, sizeof all_size);
    return KMQ_OK;
}

kmq_status kmq_result_open(void *r, size_t min, size_t max, const char *name, const char *type)
{
    if (!r)
        return kmq_arg("%s is NULL", name);
    size_t size;
    memcpy(&size, r, sizeof size);
    kmq_status s = kmq_size_check(size, min, max, name, type);
    if (s == KMQ_OK)
        memset((char *)r + sizeof size, 0, size - sizeof size);
    return s;
}

void kmq_stats_init(kmq_stats *st)
{
    memset(st, 0, sizeof *st);
    st->size = sizeof *st;
}

kmq_status kmq_stats_check(const kmq_stats *st)
{
    return st ? kmq_size_check(st->size, KMQ_STATS_SIZE_MIN, sizeof *st, "stats", "kmq_stats")
              : KMQ_OK;
}

void kmq_stats_get(const kmq_stats *st, kmq_stats *full)
{
    memset(full, 0, sizeof *full);
    memcpy(full, st, st->size);
    full->size = sizeof *full;
}

void kmq_stats_put(kmq_stats *st, const kmq_stats *full)
{
    kmq_stats out = *full;
    out.size = st->size;
    memcpy(st, &out, st->size);
}
