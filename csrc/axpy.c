/* axpy: y += alpha * x, the optimizer's update in one pass over memory.
 *
 * SGD's step w ← w − lr·g is axpy with alpha = −lr. Written in numpy it takes two
 * passes (a temporary lr·g, then w −= it); here each element of g and w is read once
 * and w written once. Large arrays are split into contiguous ranges, one per thread;
 * every element is computed the same way whatever the split, so results do not
 * depend on the thread count.
 */
#include "parallel.h"

#define DEFINE_AXPY(NAME, T)                                                                 \
    typedef struct {                                                                         \
        T alpha;                                                                             \
        const T *x;                                                                          \
        T *y;                                                                                \
    } NAME##_job;                                                                            \
                                                                                             \
    /* y[i] += alpha * x[i] over [lo, hi) */                                                 \
    static void NAME##_range(int64_t lo, int64_t hi, void *context) {                        \
        const NAME##_job *job = context;                                                     \
        const T alpha = job->alpha, *x = job->x;                                             \
        T *y = job->y;                                                                       \
        for (int64_t i = lo; i < hi; i++) y[i] += alpha * x[i];                              \
    }                                                                                        \
                                                                                             \
    tg_status NAME(T alpha, const T *x, T *y, int64_t n) {                                   \
        if (n < 0) return TG_ERR_ARGUMENT;                                                   \
        NAME##_job job = {alpha, x, y};                                                      \
        tg_parallel_for(n, tg_threads_for((double)n, TG_ELEMENTWISE_GRAIN), NAME##_range,    \
                        &job);                                                               \
        return TG_OK;                                                                        \
    }

DEFINE_AXPY(tg_axpy_f32, float)
DEFINE_AXPY(tg_axpy_f64, double)
