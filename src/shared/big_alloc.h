/* Allocations of large arrays (src/shared/big_alloc.c). */
#ifndef KMQ_SHARED_BIG_ALLOC_H
#define KMQ_SHARED_BIG_ALLOC_H

#include <stddef.h>

/* malloc and calloc for arrays of megabytes: those are placed on 2 MB
   boundaries and marked for transparent huge pages, so that the kernel
   maps them in 2 MB pieces instead of 4 KB ones.  Free with free(). */
void *kmq_big_malloc(size_t bytes);
void *kmq_big_calloc(size_t n, size_t size);
/* realloc for p of old_bytes (from any of these or malloc). */
void *kmq_big_realloc(void *p, size_t old_bytes, size_t bytes);

#endif
