/* How the kernels split work between OpenMP threads (internal to csrc/).
 *
 * Work is always split into contiguous ranges whose results do not depend on
 * how many threads there are; with one thread no parallel region is opened
 * at all, so single-threaded calls pay nothing for OpenMP.
 */
#ifndef TG_PARALLEL_H
#define TG_PARALLEL_H

#include "kernels.h"

#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif

/* [lo, hi): thread `thread`'s contiguous share of `count` work items. */
static inline void tg_share(int64_t count, int thread, int threads, int64_t *lo, int64_t *hi) {
    *lo = count * thread / threads;
    *hi = count * (thread + 1) / threads;
}

/* Threads worth starting for `work` units when each thread should get at
 * least `grain` of them (a fork/join costs a few microseconds). */
static inline int tg_threads_for(double work, double grain) {
    int threads = tg_get_num_threads();
    double useful = work / grain;
    return useful < 1 ? 1 : useful < threads ? (int)useful : threads;
}

/* body(lo, hi, context) over [0, count), split into `threads` contiguous ranges. */
typedef void (*tg_range_body)(int64_t lo, int64_t hi, void *context);

static inline void tg_parallel_for(int64_t count, int threads, tg_range_body body,
                                   void *context) {
#ifdef TG_HAVE_OPENMP
    if (threads > 1) {
#pragma omp parallel num_threads(threads)
        {
            int64_t lo, hi;
            tg_share(count, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
            body(lo, hi, context);
        }
        return;
    }
#endif
    (void)threads;
    body(0, count, context);
}

/* Elementwise kernels go parallel from this many elements per thread on
 * (about 256 KB of float32: below it, the memory traffic takes less time
 * than waking a second thread). */
#define TG_ELEMENTWISE_GRAIN (1 << 16)

#endif
