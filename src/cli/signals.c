/* The CLI's cleanup on signals: a list of the temporary files the library
   has made (told through kmq_temp_guard), and handlers that remove them and
   then let the signal kill the process. */
#define _POSIX_C_SOURCE 200809L
#include "signals.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A pending temporary file; temp is the library's string, valid until
   unlisted is called for it. */
typedef struct pending_file {
    const char *temp;
    _Atomic(struct pending_file *) next;
} pending_file;

/* Every temporary file not yet committed or aborted, newest first.  A
   signal may arrive on any thread (OpenMP's workers do not block it), also
   while another thread changes the list or gives a set of files their
   names.  So those changes are made in a held section (hold): the changing
   thread blocks the signals, and a handler that runs elsewhere meanwhile
   only notes the signal (deferred_signal), which the section delivers when
   it ends, the list whole again.  A section starts only once no handler is
   reading the list, so nothing is freed under a handler's feet. */
#if ATOMIC_POINTER_LOCK_FREE != 2 || ATOMIC_INT_LOCK_FREE != 2
#error "the signal handler needs lock-free atomic pointers and ints"
#endif
static _Atomic(pending_file *) pending;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER; /* one changer at a time */
/* held: sections under way; walking: handlers past the held check.  Each
   side writes its own counter and then reads the other's (sequentially
   consistent), so one of the two always sees the other. */
static atomic_int held, walking;
static volatile sig_atomic_t deferred_signal;
/* A thread's sections nest: the mask before the outermost one. */
static _Thread_local int depth;
static _Thread_local sigset_t outer_mask;

static void on_signal(int sig)
{
    atomic_fetch_add(&walking, 1);
    if (atomic_load(&held)) {
        deferred_signal = sig; /* release delivers it */
        atomic_fetch_sub(&walking, 1);
        return;
    }
    for (pending_file *p = atomic_load(&pending); p; p = atomic_load(&p->next))
        unlink(p->temp); /* async-signal-safe */
    atomic_fetch_sub(&walking, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

void install_signal_cleanup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old;
        /* Respect an ignored signal (e.g. nohup). */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

/* Begins a held section: SIGINT, SIGTERM, SIGHUP and SIGPIPE wait. */
static void hold(void *ctx)
{
    (void)ctx;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (depth++ == 0)
        outer_mask = old;
    atomic_fetch_add(&held, 1);
    while (atomic_load(&walking)) /* a handler defers, or walks and is done */
        sched_yield();
}

/* Ends it; the last section to end delivers a signal that waited. */
static void release(void *ctx)
{
    (void)ctx;
    if (atomic_fetch_sub(&held, 1) == 1) {
        while (atomic_load(&walking)) /* a deferring handler has noted its signal */
            sched_yield();
        if (deferred_signal)
            on_signal(deferred_signal); /* the list is whole: now die of it */
    }
    if (--depth == 0)
        pthread_sigmask(SIG_SETMASK, &outer_mask, NULL);
}

/* Called inside a held section. */
static int listed(void *ctx, const char *temp)
{
    (void)ctx;
    pending_file *p = malloc(sizeof *p);
    if (!p)
        return -1;
    p->temp = temp;
    pthread_mutex_lock(&list_lock);
    atomic_store(&p->next, atomic_load(&pending));
    atomic_store(&pending, p);
    pthread_mutex_unlock(&list_lock);
    return 0;
}

/* Called inside a held section: afterwards no handler can reach temp. */
static void unlisted(void *ctx, const char *temp)
{
    (void)ctx;
    pthread_mutex_lock(&list_lock);
    _Atomic(pending_file *) *link = &pending;
    pending_file *p;
    while ((p = atomic_load(link)) && p->temp != temp)
        link = &p->next;
    if (p)
        atomic_store(link, atomic_load(&p->next));
    pthread_mutex_unlock(&list_lock);
    free(p);
}

const kmq_temp_guard *cli_temp_guard(void)
{
    static const kmq_temp_guard guard = {hold, release, listed, unlisted, NULL};
    return &guard;
}
