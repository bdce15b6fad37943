/* The CLI's atomic output files (src/pipeline/outfile.c, with the CLI's guard of src/cli/signals.c): any number open at
   once, each committed with its own bytes, and no temporary file left by an
   abort or a signal.  kmq 0.2 kept 16 temporary names in a fixed table and
   failed the 17th open with EMFILE. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "signals.h"

#define NFILES 40

static char dir[] = "/tmp/kmq-outfile-XXXXXX";

static void make_dir(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static void file_name(char *buf, size_t size, int i)
{
    snprintf(buf, size, "%s/out%02d.bin", dir, i);
}

/* File i's bytes: its own length and content. */
static size_t file_bytes(int i, uint8_t *buf)
{
    size_t n = 100 + 37 * (size_t)i;
    for (size_t j = 0; j < n; j++)
        buf[j] = (uint8_t)(i * 7 + j);
    return n;
}

/* Files in dir: all of them, and the temporary ones (".<name>.kmq-..."). */
static void count_files(int *all, int *temps)
{
    *all = *temps = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        (*all)++;
        *temps += e->d_name[0] == '.' && strstr(e->d_name, ".kmq-") != NULL;
    }
    closedir(d);
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

/* Opens files 0..n-1 and writes their bytes; returns the number that
   failed (no asserts: children call it too). */
static int open_all(kmq_outfile **f, int n)
{
    uint8_t buf[2048];
    char name[256];
    int failed = 0;
    for (int i = 0; i < n; i++) {
        file_name(name, sizeof name, i);
        if (kmq_outfile_open(name, 0, cli_temp_guard(), &f[i]) != KMQ_OK) {
            failed++;
            continue;
        }
        size_t len = file_bytes(i, buf);
        failed += kmq_outfile_write(f[i], buf, len) != KMQ_OK;
    }
    return failed;
}

Test(outfile, forty_open_at_once_are_all_committed_with_their_own_bytes, .fini = remove_dir)
{
    make_dir();
    kmq_outfile *f[NFILES];
    cr_assert_eq(open_all(f, NFILES), 0, "not every file opened");
    int all, temps;
    count_files(&all, &temps);
    cr_assert_eq(temps, NFILES);
    /* Half one by one, from the middle of the list out; half in sets. */
    for (int i = NFILES / 2 - 1; i >= 0; i -= 2)
        cr_assert_eq(kmq_outfile_commit(f[i]), KMQ_OK);
    for (int i = NFILES / 2 - 2; i >= 0; i -= 2)
        cr_assert_eq(kmq_outfile_commit(f[i]), KMQ_OK);
    for (int i = NFILES / 2; i < NFILES; i += KMQ_MAX_PAIR) {
        int failed;
        cr_assert_eq(kmq_outfile_commit_all(&f[i], KMQ_MAX_PAIR, &failed), KMQ_OK);
        cr_assert_eq(failed, -1);
    }
    for (int i = 0; i < NFILES; i++) {
        uint8_t want[2048], got[2048];
        char name[256];
        file_name(name, sizeof name, i);
        size_t len = file_bytes(i, want);
        FILE *in = fopen(name, "rb");
        cr_assert_not_null(in, "%s", name);
        size_t n = fread(got, 1, sizeof got, in);
        fclose(in);
        cr_assert_eq(n, len, "%s: %zu bytes, not %zu", name, n, len);
        cr_assert(!memcmp(got, want, len), "%s", name);
    }
    count_files(&all, &temps);
    cr_assert_eq(all, NFILES);
    cr_assert_eq(temps, 0);
}

Test(outfile, forty_open_at_once_are_all_removed_by_abort, .fini = remove_dir)
{
    make_dir();
    kmq_outfile *f[NFILES];
    cr_assert_eq(open_all(f, NFILES), 0, "not every file opened");
    for (int i = 1; i < NFILES; i += 2) /* out of the middle of the list */
        kmq_outfile_abort(f[i]);
    for (int i = 0; i < NFILES; i += 2)
        kmq_outfile_abort(f[i]);
    int all, temps;
    count_files(&all, &temps);
    cr_assert_eq(all, 0, "%d files left", all);
}

/* In a child: NFILES open, some committed or aborted, then `sig`; returns
   how the child ended. */
static int die_with_files_open(int sig, int commits)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        install_signal_cleanup();
        kmq_outfile *f[NFILES];
        if (open_all(f, NFILES))
            _exit(2);
        for (int i = 5; i < 5 + commits; i++)
            if (kmq_outfile_commit(f[i]) != KMQ_OK)
                _exit(3);
        kmq_outfile_abort(f[NFILES - 1]), kmq_outfile_abort(f[0]), kmq_outfile_abort(f[NFILES / 2]);
        raise(sig);
        _exit(4); /* not reached: the handler ends the process */
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

Test(outfile, a_signal_removes_every_pending_temporary_file, .fini = remove_dir)
{
    make_dir();
    int status = die_with_files_open(SIGTERM, 4);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
    int all, temps;
    count_files(&all, &temps);
    cr_assert_eq(temps, 0, "%d temporary files left", temps);
    cr_assert_eq(all, 4); /* the committed ones stay */
}

/* A signal while the main thread keeps opening, committing and aborting
   files: taken by the main thread, or, while it holds signals back, by
   another thread (as an OpenMP worker would). */
static void *idle(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void *send_sigterm(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    kill(getpid(), SIGTERM);
    return NULL;
}

Test(outfile, a_signal_on_another_thread_leaves_no_temporary_file, .fini = remove_dir,
     .timeout = 60)
{
    make_dir();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        install_signal_cleanup();
        pthread_t t[3];
        pthread_create(&t[0], NULL, idle, NULL);
        pthread_create(&t[1], NULL, idle, NULL);
        pthread_create(&t[2], NULL, send_sigterm, NULL);
        for (;;) {
            kmq_outfile *f[NFILES];
            if (open_all(f, NFILES))
                _exit(2);
            for (int i = 0; i < NFILES; i++)
                if (i % 3)
                    kmq_outfile_abort(f[i]);
                else if (kmq_outfile_commit(f[i]) != KMQ_OK)
                    _exit(3);
            char name[256];
            for (int i = 0; i < NFILES; i += 3) {
                file_name(name, sizeof name, i);
                unlink(name);
            }
        }
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
    int all, temps;
    count_files(&all, &temps);
    cr_assert_eq(temps, 0, "%d temporary files left", temps);
}
