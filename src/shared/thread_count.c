/* Thread counts and ids, with stand-ins when OpenMP is absent. */
#include "thread_count.h"

#ifdef _OPENMP
#include <omp.h>
#endif

int kmq_threads(int requested)
{
#ifdef _OPENMP
    return requested > 0 ? requested : omp_get_max_threads();
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
