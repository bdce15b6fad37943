/* kmq_params: the defaults, the restarts KMQ_N_INIT_AUTO stands for, and the
   one check of every field (with the caller's size) that every function
   taking parameters makes. */
#include "internal.h"
#include "sized.h"
#include "why.h"

#include <math.h>
#include <string.h>

void kmq_params_default(kmq_params *p)
{
    memset(p, 0, sizeof *p);
    p->size = sizeof *p;
    p->k = 64;
    p->init = KMQ_INIT_KMEANSPP;
    p->n_init = KMQ_N_INIT_AUTO;
    p->max_iter = 100;
    p->tol = 1e-4;
    p->seed = 0;
    p->threads = 0;
    p->progress = NULL;
    p->progress_ctx = NULL;
}

int kmq_params_restarts(const kmq_params *p, int k)
{
    if (p->n_init != KMQ_N_INIT_AUTO)
        return p->n_init;
    return p->init == KMQ_INIT_KMEANSPP && k >= 32 ? 1 : 3;
}

/* *p read into *full (fields past p->size at their defaults) and checked:
   the name of the first wrong field (kmq_params_check's), with
   kmq_last_why's text recorded, or NULL if every field is right. */
static const char *params_fault(const kmq_params *p, kmq_params *full)
{
    if (!p)
        return kmq_arg("params is NULL"), "params";
    if (kmq_size_check(p->size, KMQ_PARAMS_SIZE_MIN, sizeof *p, "params", "kmq_params") != KMQ_OK)
        return "size";
    kmq_params_default(full);
    memcpy(full, p, p->size);
    full->size = sizeof *full;
    if (!KMQ_HAS_FIELD(p->size, kmq_params, progress))
        full->progress = NULL;
    if (!KMQ_HAS_FIELD(p->size, kmq_params, progress_ctx))
        full->progress_ctx = NULL;
    p = full;
    if (p->k < KMQ_MIN_K || p->k > KMQ_MAX_K)
        return kmq_arg("params.k = %d is outside %d..%d", p->k, KMQ_MIN_K, KMQ_MAX_K), "k";
    if (p->init != KMQ_INIT_KMEANSPP && p->init != KMQ_INIT_RANDOM)
        return kmq_arg("params.init = %d is neither KMQ_INIT_KMEANSPP (0) nor KMQ_INIT_RANDOM (1)",
                       (int)p->init),
               "init";
    if (p->n_init < 0 || p->n_init > KMQ_MAX_N_INIT)
        return kmq_arg("params.n_init = %d is outside 0..%d (0: KMQ_N_INIT_AUTO)", p->n_init,
                       KMQ_MAX_N_INIT),
               "n_init";
    if (p->max_iter < 1 || p->max_iter > KMQ_MAX_ITER)
        return kmq_arg("params.max_iter = %d is outside 1..%d", p->max_iter, KMQ_MAX_ITER),
               "max_iter";
    if (!(p->tol >= 0) || !isfinite(p->tol))
        return kmq_arg("params.tol = %g is not a finite number >= 0", p->tol), "tol";
    if (p->threads < 0 || p->threads > KMQ_MAX_THREADS)
        return kmq_arg("params.threads = %d is outside 0..%d", p->threads, KMQ_MAX_THREADS),
               "threads";
    return NULL;
}

kmq_status kmq_params_check(const kmq_params *p, const char **field)
{
    kmq_why_clear();
    kmq_params full;
    const char *bad = params_fault(p, &full);
    if (field)
        *field = bad;
    return bad ? KMQ_ERR_ARG : KMQ_OK;
}

kmq_status kmq_params_read(const kmq_params *p, kmq_params *full)
{
    return params_fault(p, full) ? KMQ_ERR_ARG : KMQ_OK;
}
