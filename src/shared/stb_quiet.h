/* The warnings stb's own code raises under kmq's flags, silenced in the two
   units that compile it (src/formats/stb_read.c, src/png/stb_write.c), from
   here to the end of the unit: GCC reports unused static stb functions and
   inlined stb code at the end of the unit.  kmq's code never includes it. */
#ifndef KMQ_STB_QUIET_H
#define KMQ_STB_QUIET_H

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

#endif
