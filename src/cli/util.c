/* Messages, number parsing and path helpers for the CLI. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
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
static void vline(const char *prefix, const char *fmt, va_list ap)
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

void cli_report_out(const char *path, kmq_status s, const char *why)
{
    if (!strcmp(path, "-") && s == KMQ_ERR_IO && errno == EPIPE) {
        cli_stdout_error(EPIPE); /* the reader went away: quietly, as for --json */
        return;
    }
    cli_report(cli_out_name(path), s, why);
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

int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (m > n)
        return 0;
    for (size_t i = 0; i < m; i++) {
        char a = s[n - m + i], b = suffix[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

char *derive_path(const char *path, const char *drop, const char *suffix)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - path) : strlen(path);
    size_t dl = drop ? strlen(drop) : 0;
    if (dl && stem - (size_t)(base - path) > dl && strncmp(path + stem - dl, drop, dl) == 0)
        stem -= dl;
    size_t sl = strlen(suffix);
    char *out = malloc(stem + sl + 1);
    if (!out)
        return NULL;
    memcpy(out, path, stem);
    memcpy(out + stem, suffix, sl + 1);
    return out;
}

/* The name a path will have once written, for comparing paths: the real
   path of an existing file, else the real folder plus the name, else the
   name as given (a folder --out-dir has yet to make).  malloc'd. */
char *path_key(const char *name)
{
    char *path = output_target(name); /* a dangling link: the file it will make */
    if (!path)
        return NULL;
    char *real = realpath(path, NULL);
    if (real) {
        free(path);
        return real;
    }
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    char *rdir = dir ? realpath(dir, NULL) : NULL;
    free(dir);
    if (!rdir)
        return path;
    const char *base = slash ? slash + 1 : path;
    size_t len = strlen(rdir) + strlen(base) + 2;
    char *key = malloc(len);
    if (key)
        snprintf(key, len, "%s/%s", rdir, base);
    free(rdir), free(path);
    return key;
}

int same_path(const char *a, const char *b)
{
    if (strcmp(a, b) == 0)
        return 1;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) /* hard links too */
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    /* A name that does not exist yet, or a link to one: where each would be. */
    char *ka = path_key(a), *kb = path_key(b);
    int same = ka && kb && strcmp(ka, kb) == 0;
    free(ka), free(kb);
    return same;
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

const char *channels_name(int channels)
{
    static const char *names[] = {"?", "grey", "grey+alpha", "RGB", "RGBA"};
    return channels >= 1 && channels <= 4 ? names[channels] : names[0];
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

kmq_status cli_decode_codebook(const char *path, const uint8_t *buf, size_t len, kmq_codebook *cb)
{
    return kmq_codebook_decode(buf, len, ends_with_ci(path, ".npy") ? KMQ_CODEBOOK_NPY
                                                                    : KMQ_CODEBOOK_BIN, cb);
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 if it is not one:
   no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_length(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
          : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (p[0] == 0xE0)
        lo = 0xA0;
    else if (p[0] == 0xED)
        hi = 0x9F;
    else if (p[0] == 0xF0)
        lo = 0x90;
    else if (p[0] == 0xF4)
        hi = 0x8F;
    for (int i = 1; i < n; i++)
        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
            return 0;
    return n;
}

void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_length(p);
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F)
            fprintf(out, "\\u%04x", *p);
        else if (n)
            fwrite(p, 1, (size_t)n, out);
        else
            fputs("\\ufffd", out); /* not UTF-8: JSON cannot carry the byte */
        p += n ? n : 1;
    }
    fputc('"', out);
}

void json_psnr(FILE *out, double psnr)
{
    if (isinf(psnr))
        fputs("null", out);
    else
        fprintf(out, "%.4f", psnr);
}

void json_psnr_over(FILE *out, double black, double white)
{
    fputs(", \"psnr_black\": ", out);
    json_psnr(out, black);
    fputs(", \"psnr_white\": ", out);
    json_psnr(out, white);
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

/* The first error writing standard output, kept until the end of the run. */
static int stdout_errno;

int cli_flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (!stdout_errno)
            stdout_errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

int cli_stdout_failed(void)
{
    return stdout_errno;
}

void cli_stdout_error(int e)
{
    if (!stdout_errno)
        stdout_errno = e;
}

int cli_close_stdout(void)
{
    if (cli_flush_stdout() == 0 && !stdout_errno)
        return 0;
    /* A reader that went away (| head) is no news to the user: as other
       tools, go quietly -- by SIGPIPE itself unless it is ignored (a -j
       worker died of it, or a write saw EPIPE with the signal ignored). */
    if (stdout_errno == EPIPE) {
        struct sigaction sa;
        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN) {
            signal(SIGPIPE, SIG_DFL);
            raise(SIGPIPE);
        }
        return -1;
    }
    cli_error("standard output: %s", strerror(stdout_errno));
    return -1;
}

int cli_is_stdout(const char *path)
{
    if (!strcmp(path, "-"))
        return 1;
    struct stat a, b;
    return stat(path, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino && a.st_rdev == b.st_rdev && !S_ISCHR(a.st_mode);
}

int cli_is_terminal(const char *path)
{
    if (!strcmp(path, "-"))
        return isatty(STDOUT_FILENO);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISCHR(st.st_mode))
        return 0; /* only a character device can be one; never open a FIFO here */
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    int tty = fd >= 0 && isatty(fd);
    if (fd >= 0)
        close(fd);
    return tty;
}

int cli_refuse_tty_output(const char *cmd, const char *path)
{
    if (!cli_is_terminal(path))
        return 0;
    /* One line, no help hint: nothing is wrong with the options. */
    fprintf(stderr, "kmq %s: standard output is a terminal: not writing a PNG to it (redirect "
                    "it, or name a file with -o)\n", cmd);
    return EXIT_USAGE;
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
