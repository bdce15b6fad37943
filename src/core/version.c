/* The library's version, for programs that load another libkmq than the
   one they were built with. */
#include "kmq.h"

const char *kmq_version(void)
{
    return KMQ_VERSION_STRING;
}
