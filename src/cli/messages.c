/* Messages for the CLI: one line each, names escaped, reasons in words. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes prefix and msg as one line, the control characters of msg escaped
   (a newline in a file name becomes the two characters \n), in a single
   write: -j workers share standard error, and their lines must not mix. */
static void put_line(const char *prefix, const char *msg)
{
    char line[4 * 4096 + 256]; /* every byte of msg escaped as \xNN, at most */
    size_t n = (size_t)snprintf(line, 256, "%s", prefix);
    if (n > 255)
        n = 255;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p == '\n')
            n += (size_t)sprintf(line + n, "\\n");
        else if (*p == '\t')
            n += (size_t)sprintf(line + n, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            n += (size_t)sprintf(line + n, "\\x%02x", *p);
        else
            line[n++] = (char)*p;
    }
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
}

/* prefix, then fmt's message as one line (put_line). */
__attribute__((format(printf, 2, 0))) static void vline(const char *prefix, const char *fmt,
                                                      va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    put_line(prefix, msg);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("kmq: ", fmt, ap);
    va_end(ap);
}

void cli_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline("", fmt, ap);
    va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "kmq %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vline(prefix, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'kmq help %s' for more information.\n", cmd);
    return EXIT_USAGE;
}

const char *cli_in_name(const char *path)
{
    return strcmp(path, "-") ? path : "standard input";
}

const char *cli_out_name(const char *path)
{
    return strcmp(path, "-") ? path : "standard output";
}

const char *cli_reason(kmq_status s, const char *why)
{
    if (s == KMQ_ERR_IO)
        return strerror(errno);
    if (why)
        return why;
    if (s == KMQ_ERR_EXISTS) /* the library states; the CLI advises */
        return "already exists (use -f to overwrite)";
    return kmq_strerror(s);
}

void cli_report(const char *path, kmq_status s, const char *why)
{
    cli_error("%s: %s", cli_in_name(path), cli_reason(s, why));
}

const char *channels_name(int channels)
{
    static const char *names[] = {"?", "grey", "grey+alpha", "RGB", "RGBA"};
    return channels >= 1 && channels <= 4 ? names[channels] : names[0];
}
