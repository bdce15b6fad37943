/* Whole-file reads: regular files sized up front, pipes and devices read
   until they end or pass the limit. */
#define _POSIX_C_SOURCE 200809L
#include "kmq.h"
#include "big_alloc.h"
#include "formats.h"
#include "why.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int kmq_file_changed(int fd, const struct stat *then)
{
    struct stat now;
    return fstat(fd, &now) != 0 || now.st_size != then->st_size ||
           now.st_mtim.tv_sec != then->st_mtim.tv_sec || now.st_mtim.tv_nsec != then->st_mtim.tv_nsec;
}

kmq_status kmq_read_file(const char *path, size_t max_len, uint8_t **out, size_t *out_len)
{
    kmq_why_clear();
    if (!path || !out || !out_len)
        return kmq_arg("%s is NULL", !path ? "path" : !out ? "out" : "out_len");
    *out = NULL;
    *out_len = 0;
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return KMQ_ERR_IO;
    return kmq_read_fd(fd, max_len, out, out_len);
}

/* The rest of kmq_read_file, on a descriptor it then closes (not stdin):
   a FIFO is opened once, never reopened by name. */
kmq_status kmq_read_fd(int fd, size_t max_len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    if (S_ISREG(st.st_mode) && max_len && (uint64_t)st.st_size > max_len) {
        if (fd != STDIN_FILENO)
            close(fd);
        return KMQ_ERR_TOO_LARGE;
    }
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16;
    size_t len = 0;
    uint8_t *buf = kmq_big_malloc(cap);
    if (!buf)
        goto nomem;
    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 2) {
                free(buf);
                errno = EFBIG;
                goto fail;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                goto nomem;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            errno = e;
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (max_len && len > max_len) { /* a pipe or device that does not end */
            free(buf);
            if (fd != STDIN_FILENO)
                close(fd);
            return KMQ_ERR_TOO_LARGE;
        }
    }
    /* A regular file rewritten while it was read (cp over it) may have
       given the start of one file and the end of another. */
    if (S_ISREG(st.st_mode) && ((uint64_t)len != (uint64_t)st.st_size || kmq_file_changed(fd, &st))) {
        free(buf);
        if (fd != STDIN_FILENO)
            close(fd);
        return KMQ_ERR_INPUT_CHANGED;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    *out = buf;
    *out_len = len;
    return KMQ_OK;
nomem:
    if (fd != STDIN_FILENO)
        close(fd);
    return KMQ_ERR_NOMEM;
fail: {
    int e = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    errno = e;
    return KMQ_ERR_IO;
}
}
