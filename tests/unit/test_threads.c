/* The default thread count: the CPUs that are free (src/shared/thread_count.c). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../../src/shared/thread_count.h"

static void pause_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

Test(threads, a_request_is_kept)
{
    cr_assert_eq(kmq_threads(3), 3);
    cr_assert_eq(kmq_threads(1), 1);
}

#ifdef _OPENMP
/* Two busy processes beside this one: the default leaves their cores to
   them (at least 1 thread); the count is looked at again after 0.5 s. */
Test(threads, busy_processes_beside_take_their_cores, .timeout = 30)
{
    pid_t busy[2];
    for (int i = 0; i < 2; i++) {
        busy[i] = fork();
        cr_assert_neq(busy[i], -1);
        if (busy[i] == 0)
            for (volatile unsigned long x = 0;; x++)
                ;
    }
    pause_seconds(0.8);
    const int n = kmq_threads(0), procs = omp_get_num_procs();
    for (int i = 0; i < 2; i++) {
        kill(busy[i], SIGKILL);
        waitpid(busy[i], NULL, 0);
    }
    const int most = procs > 2 ? procs - 2 : 1;
    cr_assert(n >= 1 && n <= most, "%d threads with 2 busy processes on %d CPUs", n, procs);
}
#endif
