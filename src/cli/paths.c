/* File names for the CLI: derived output names, name comparison, the
   clock, and codebook files told by content. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
    char *path = kmq_output_target(name); /* a dangling link: the file it will make */
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

kmq_status cli_decode_codebook(const char *path, const uint8_t *buf, size_t len, kmq_codebook *cb)
{
    return kmq_codebook_decode(buf, len, ends_with_ci(path, ".npy") ? KMQ_CODEBOOK_NPY
                                                                    : KMQ_CODEBOOK_BIN, cb);
}
