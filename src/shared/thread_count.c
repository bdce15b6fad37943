/* Thread counts and ids, with stand-ins when OpenMP is absent.
 *
 * "All cores" means the cores that are free.  OpenMP's waiting threads
 * spin, and a spinning thread on a core that another process needs holds
 * the whole parallel region back: next to two busy processes on 2 cores,
 * kmq at 2 threads took 2-3x its time at 1 (issue 25), and one job per core
 * with each job using every core is how shell scripts over folders run
 * (GNU parallel, xargs -P).  So a default request is the CPUs this process
 * may use (its affinity, as OpenMP counts them, and its cgroup's CPU quota)
 * less the tasks of other processes running right now (the runnable count
 * of /proc/loadavg, less this process's own running threads), at least 1
 * and at most OpenMP's own count (OMP_NUM_THREADS's, when set), looked at
 * again when it is more than half a second old.  The thread count never
 * changes a result, only the time. */
#include "thread_count.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef _OPENMP
/* The cgroup (v2) CPU quota in whole CPUs, rounded up; 0 for none. */
static int cgroup_cpus(void)
{
    char path[600] = "/sys/fs/cgroup", line[512];
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "0::", 3)) {
                line[strcspn(line, "\n")] = 0;
                if (strcmp(line + 3, "/") != 0)
                    snprintf(path, sizeof path, "/sys/fs/cgroup%s", line + 3);
            }
        fclose(f);
    }
    strncat(path, "/cpu.max", sizeof path - strlen(path) - 1);
    long quota, period;
    int cpus = 0;
    if ((f = fopen(path, "r"))) {
        if (fscanf(f, "%ld %ld", &quota, &period) == 2 && quota > 0 && period > 0)
            cpus = (int)((quota + period - 1) / period);
        fclose(f);
    }
    return cpus;
}

/* Tasks of other processes running or waiting for a CPU right now. */
static int others_running(void)
{
    int runnable = 0, own = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%*f %*f %*f %d/%*d", &runnable) != 1)
        runnable = 0;
    fclose(f);
    DIR *d = opendir("/proc/self/task");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[64], buf[256];
            snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
            FILE *t = fopen(path, "r");
            if (!t)
                continue;
            const size_t n = fread(buf, 1, sizeof buf - 1, t);
            fclose(t);
            buf[n] = 0;
            const char *state = strrchr(buf, ')'); /* the name may hold spaces */
            own += state && state[1] == ' ' && state[2] == 'R';
        }
        closedir(d);
    }
    return runnable > own ? runnable - own : 0;
}

static int free_cpus(void)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static double looked; /* when, CLOCK_MONOTONIC seconds; 0: never */
    static int cpus;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const double now = ts.tv_sec + ts.tv_nsec * 1e-9;
    pthread_mutex_lock(&lock);
    if (!looked || now - looked > 0.5) {
        int n = omp_get_num_procs(); /* the affinity mask's */
        const int quota = cgroup_cpus();
        if (quota > 0 && quota < n)
            n = quota;
        n -= others_running();
        cpus = n > 1 ? n : 1;
        looked = now;
    }
    const int n = cpus;
    pthread_mutex_unlock(&lock);
    return n;
}
#endif

int kmq_threads(int requested)
{
#ifdef _OPENMP
    if (requested > 0)
        return requested;
    const int n = free_cpus(), max = omp_get_max_threads(); /* max: OMP_NUM_THREADS's */
    return n < max ? n : max;
#else
    (void)requested;
    return 1;
#endif
}

int kmq_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
