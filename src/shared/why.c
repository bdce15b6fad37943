/* kmq_last_why: the calling thread's own buffer, so that threads never see
   each other's failures and nothing is allocated (a failure may be an
   allocation's). */
#include "why.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

/* Long enough for a decoder's text with a file name in it; longer texts
   are cut, never overflow. */
static _Thread_local char text[512];

const char *kmq_last_why(void)
{
    return text;
}

void kmq_why_clear(void)
{
    text[0] = '\0';
}

/* errno is kept: KMQ_ERR_IO promises the caller the failed call's. */
__attribute__((format(printf, 1, 0))) static void record(const char *fmt, va_list ap)
{
    const int e = errno;
    vsnprintf(text, sizeof text, fmt, ap);
    errno = e;
}

kmq_status kmq_why(kmq_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(fmt, ap);
    va_end(ap);
    return status;
}

kmq_status kmq_arg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(fmt, ap);
    va_end(ap);
    return KMQ_ERR_ARG;
}

kmq_status kmq_why_out(kmq_status s, const char *w, const char **why)
{
    if (s == KMQ_OK)
        text[0] = '\0';
    else if (w && w != text)
        kmq_why(s, "%s", w);
    else if (!w && s == KMQ_ERR_ARG && text[0])
        w = text;
    else if (!w)
        text[0] = '\0';
    if (why)
        *why = w;
    return s;
}
