/* The kernels' thread count: OpenMP's when built with it, 1 otherwise. */
#include "kernels.h"

#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif

static int tg_num_threads = 0; /* 0: not set yet, use OpenMP's default */

void tg_set_num_threads(int n) { tg_num_threads = n < 1 ? 1 : n; }

int tg_get_num_threads(void) {
#ifdef TG_HAVE_OPENMP
    return tg_num_threads > 0 ? tg_num_threads : omp_get_max_threads();
#else
    return 1;
#endif
}

int tg_have_openmp(void) {
#ifdef TG_HAVE_OPENMP
    return 1;
#else
    return 0;
#endif
}
