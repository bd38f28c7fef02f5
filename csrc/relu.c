/* ReLU forward and backward: one pass over memory each, vectorised and threaded.
 *
 * Both loops are branch-free selects that the compiler turns into SIMD
 * compare-and-mask instructions; large arrays are split into contiguous
 * ranges, one per thread. They run at memory bandwidth: read x (and grad),
 * write out, nothing else.
 */
#include "parallel.h"

/* Columns [lo, hi) of every row:  out[i, j] = max(x[i, j], 0);  alive[j] |= out[i, j] > 0
 * (the forward pass of a flat array is one row). */
#define DEFINE_RELU(NAME, T)                                                                   \
    typedef struct {                                                                           \
        const T *x;                                                                            \
        T *out;                                                                                \
        int64_t rows, cols;                                                                    \
        uint8_t *alive;                                                                        \
    } NAME##_job;                                                                              \
                                                                                               \
    static void NAME##_columns(int64_t lo, int64_t hi, void *context) {                        \
        const NAME##_job *job = context;                                                       \
        for (int64_t i = 0; i < job->rows; i++) {                                              \
            const T *x = job->x + i * job->cols;                                               \
            T *out = job->out + i * job->cols;                                                 \
            /* x < 0 ? 0 : x rather than x > 0 ? x : 0, so that NaN propagates */              \
            for (int64_t j = lo; j < hi; j++) out[j] = x[j] < 0 ? 0 : x[j];                    \
            if (job->alive)                                                                    \
                for (int64_t j = lo; j < hi; j++) job->alive[j] |= out[j] > 0;                 \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    tg_status NAME(const T *x, T *out, int64_t rows, int64_t cols, uint8_t *alive) {           \
        if (rows < 0 || cols < 0) return TG_ERR_ARGUMENT;                                      \
        NAME##_job job = {x, out, rows, cols, alive};                                          \
        int threads = tg_threads_for((double)rows * (double)cols, TG_ELEMENTWISE_GRAIN);       \
        /* threads own whole cache lines of columns (and of alive) */                         \
        if (threads > cols / 64) threads = cols / 64 > 1 ? (int)(cols / 64) : 1;               \
        tg_parallel_for(cols, threads, NAME##_columns, &job);                                  \
        return TG_OK;                                                                          \
    }

/* grad_x[i] = x[i] <= 0 ? 0 : grad_out[i] over [lo, hi) (written so that a NaN x passes
 * the gradient through, as PyTorch's threshold_backward does); both inputs are read
 * unconditionally, which is what lets the compiler vectorise the select. */
#define DEFINE_RELU_BACKWARD(NAME, T)                                                        \
    typedef struct {                                                                         \
        const T *x, *grad_out;                                                               \
        T *grad_x;                                                                           \
    } NAME##_job;                                                                            \
                                                                                             \
    static void NAME##_range(int64_t lo, int64_t hi, void *context) {                        \
        const NAME##_job *job = context;                                                     \
        const T *x = job->x, *grad_out = job->grad_out;                                      \
        T *grad_x = job->grad_x;                                                             \
        for (int64_t i = lo; i < hi; i++) {                                                  \
            T x_i = x[i], grad_i = grad_out[i];                                              \
            grad_x[i] = x_i <= 0 ? 0 : grad_i;                                               \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    tg_status NAME(const T *x, const T *grad_out, T *grad_x, int64_t n) {                    \
        if (n < 0) return TG_ERR_ARGUMENT;                                                   \
        NAME##_job job = {x, grad_out, grad_x};                                              \
        tg_parallel_for(n, tg_threads_for((double)n, TG_ELEMENTWISE_GRAIN), NAME##_range,    \
                        &job);                                                               \
        return TG_OK;                                                                        \
    }

DEFINE_RELU(tg_relu_f32, float)
DEFINE_RELU(tg_relu_f64, double)
DEFINE_RELU_BACKWARD(tg_relu_backward_f32, float)
DEFINE_RELU_BACKWARD(tg_relu_backward_f64, double)
