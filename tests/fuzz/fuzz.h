/* Shared by the fuzz targets: each defines LLVMFuzzerTestOneInput. Built
   with clang's libFuzzer (make fuzz), or with replay.c's main for gcc (the
   corpus replay that `make test` runs). */
#ifndef KMQ_FUZZ_H
#define KMQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "kmq.h"

/* Decoding limits that keep one input cheap: larger images are refused by
   the same pixel cap a user's --max-pixels sets. */
#define FUZZ_MAX_PIXELS (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
