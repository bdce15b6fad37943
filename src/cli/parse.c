/* Option values parsed for the CLI: numbers, --quality, --max-pixels,
   --stream, and the one line that says what was wrong. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

int parse_u64(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s == '-')
        return 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end)
        return 0;
    *out = v;
    return 1;
}

int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

int parse_max_pixels(const char *cmd, const char *option, const char *s, uint64_t *out)
{
    unsigned long long v;
    if (!parse_u64(s, &v) || v < 1 || v > KMQ_MAX_PIXELS_LIMIT)
        return cli_usage(cmd, "%s must be an integer from 1 to %llu, not '%s'", option,
                         KMQ_MAX_PIXELS_LIMIT, s);
    *out = v;
    return 0;
}

int parse_quality(const char *s, double *min, double *max)
{
    const char *dash = strchr(s + 1, '-'); /* s[0] may be the '-' of "-MAX" */
    char lo[64];
    if (s[0] == '-') { /* "-MAX": no floor */
        *min = 0;
        if (!parse_double(s + 1, max))
            return 0;
    } else if (!dash) { /* "MAX", as kmq 0.1.0: no floor */
        *min = 0;
        if (!parse_double(s, max))
            return 0;
    } else {
        size_t n = (size_t)(dash - s);
        if (n >= sizeof lo)
            return 0;
        memcpy(lo, s, n);
        lo[n] = 0;
        if (!parse_double(lo, min))
            return 0;
        if (!dash[1]) /* "MIN-": as good as it gets */
            *max = 200;
        else if (!parse_double(dash + 1, max))
            return 0;
    }
    return *max > 0 && *max <= 200 && *min >= 0 && *min <= *max;
}

int cli_bad_option(const char *cmd, int c, int argc, char **argv)
{
    /* getopt leaves optind past the failing word, or on it while it is in
       the middle of a group of short options ("-weird.png" fails at 'w'). */
    const char *word = optind > 1 && optind - 1 < argc ? argv[optind - 1] : "";
    if (!strncmp(word, "--", 2)) {
        int n = (int)strcspn(word, "=");
        if (c == ':')
            return cli_usage(cmd, "option '%.*s' needs a value", n, word);
        if (optopt) /* --flag=value for a flag */
            return cli_usage(cmd, "option '%.*s' takes no value", n, word);
        return cli_usage(cmd, "unknown option '%.*s'", n, word);
    }
    if (!(word[0] == '-' && strchr(word + 1, optopt)) && optind < argc)
        word = argv[optind];
    if (c == ':')
        return cli_usage(cmd, "option '-%c' needs a value", optopt);
    if (strlen(word) > 2 && word[0] == '-')
        return cli_usage(cmd, "unknown option '-%c' in '%s' (a file whose name starts with '-' "
                              "is ./%s, or put it after --)", optopt, word, word);
    return cli_usage(cmd, "unknown option '-%c'", optopt);
}

int parse_stream(const char *cmd, const char *when)
{
    if (!when || !strcmp(when, "always"))
        return 1;
    if (!strcmp(when, "auto"))
        return 0;
    if (!strcmp(when, "never"))
        return -1;
    cli_usage(cmd, "--stream takes auto, always or never, not '%s'", when);
    return 2;
}
