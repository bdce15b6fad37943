/* tsan_threads [THREADS [ROUNDS]]: the library called from several threads
   at once (tests/unit/concurrent_jobs.h), as a plain program, for `make
   tsan` (ThreadSanitizer cannot run Criterion's test processes).  Exit 0
   when every result equals the serial one. */
#include <stdio.h>
#include <stdlib.h>

#include "../unit/concurrent_jobs.h"

int main(int argc, char **argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 8, rounds = argc > 2 ? atoi(argv[2]) : 4;
    const int mismatches = concurrent_mismatches(threads, rounds);
    printf("%d threads x %d rounds: %d results differ from the serial ones\n", threads, rounds,
           mismatches);
    return mismatches == 0 ? 0 : 1;
}
