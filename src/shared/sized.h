/* The structs a caller fills or allocates for the library, which begin
   with their size (kmq.h, "Sizes"; src/shared/sized.c): a library reads
   the first `size` bytes only, whatever kmq.h the caller was built with. */
#ifndef KMQ_SHARED_SIZED_H
#define KMQ_SHARED_SIZED_H

#include "kmq.h"

#include <stddef.h>

/* KMQ_OK if min <= size <= max, else KMQ_ERR_ARG with kmq_last_why's text
   naming it: "params.size = 3 is not a kmq_params size (44..64)". */
kmq_status kmq_size_check(size_t size, size_t min, size_t max, const char *name,
                          const char *type);

/* A caller's sized struct read as this kmq knows it: *all (all_size bytes,
   already holding the defaults) overlaid with the caller's first `size`
   bytes (its size_t size comes first), then all's size set to all_size.
   KMQ_ERR_ARG, named as kmq_size_check names it ("o.size = 3 is not a
   kmq_png_options size (...)"), for a NULL caller or a size outside
   min..all_size; *all then holds the defaults. */
kmq_status kmq_sized_read(void *all, size_t all_size, const void *caller, size_t min,
                          const char *name, const char *type);

/* A result struct the caller gave (its size_t size first, set by the
   caller): checked as kmq_size_check checks it (KMQ_ERR_ARG, named, for
   NULL too), then zeroed but for its size. */
kmq_status kmq_result_open(void *r, size_t min, size_t max, const char *name, const char *type);

/* 1 if `field` of `type` lies wholly within the first `size` bytes: the
   caller's struct has it (else it takes its default). */
#define KMQ_HAS_FIELD(size, type, field) \
    ((size) >= offsetof(type, field) + sizeof(((type *)0)->field))

/* A caller's kmq_stats: KMQ_OK for NULL (no statistics wanted) or a size
   this library accepts. */
kmq_status kmq_stats_check(const kmq_stats *st);
/* *full as the caller's st says it (zero past st->size), for functions
   that update some of the fields. */
void kmq_stats_get(const kmq_stats *st, kmq_stats *full);
/* Writes the first st->size bytes of *full into st (not NULL), leaving
   st->size and everything after the first st->size bytes as they were. */
void kmq_stats_put(kmq_stats *st, const kmq_stats *full);

#endif
