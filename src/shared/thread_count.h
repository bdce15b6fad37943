/* What every layer of the library shares: thread counts (src/shared/thread_count.c). */
#ifndef KMQ_SHARED_THREAD_COUNT_H
#define KMQ_SHARED_THREAD_COUNT_H

/* Threads to use for `requested`: 0 = the free cores (the CPUs this process
   may use less those other processes are running on now; at least 1, at
   most OMP_NUM_THREADS when set); 1 without OpenMP. */
int kmq_threads(int requested);
/* The calling thread's id in the current parallel region (0 outside one). */
int kmq_thread_id(void);

#endif
