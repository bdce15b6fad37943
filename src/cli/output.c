/* Where the CLI's output goes: standard output, checked at every write
   and at exit; terminals refused for PNGs; files written atomically. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

kmq_status cli_write_file(const char *path, const uint8_t *data, size_t len, int overwrite)
{
    return kmq_files_write(1, &path, &data, &len, overwrite, cli_temp_guard(), NULL);
}

/* A failure to write the output `path`: said, but quietly for standard output
   whose reader went away. */
void cli_report_out(const char *path, kmq_status s, const char *why)
{
    if (!strcmp(path, "-") && s == KMQ_ERR_IO && errno == EPIPE) {
        cli_stdout_error(EPIPE); /* the reader went away: quietly, as for --json */
        return;
    }
    cli_report(cli_out_name(path), s, why);
}
