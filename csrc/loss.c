/* Softmax cross-entropy, fused: the loss and the probabilities in one pass per row.
 *
 *   loss_i = logsumexp(z_i) - z_i[t_i],   logsumexp(z) = max(z) + log(sum_j exp(z_j - max(z)))
 *   p_ij   = exp(z_ij - logsumexp(z_i))
 *   d loss_i / d z_ij = p_ij - [j == t_i]
 *
 * Subtracting the row maximum first keeps every exp() argument <= 0, so logits
 * of 1e4 (or 1e30) give finite losses instead of inf - inf = NaN. The sum of
 * exp() is kept in double even for float32 logits: a float accumulator loses
 * about n * 6e-8 relative over n classes (1e-3 at two million), a double one
 * stays at float32's own rounding.
 *
 * `target` is read twice (checked, then used per row) without the GIL: the
 * caller must hand over memory no other thread can write meanwhile (the
 * Cython binding passes a private copy of the user's array).
 */
#include <math.h>

#include "parallel.h"

/* The first row whose target is outside [0, classes), or -1 if all are valid. */
static int64_t first_bad_target(const int64_t *target, int64_t rows, int64_t classes) {
    for (int64_t i = 0; i < rows; i++)
        if (target[i] < 0 || target[i] >= classes) return i;
    return -1;
}

/* Rows [lo, hi) of the forward pass. */
#define DEFINE_SOFTMAX_XENT(NAME, T, EXP)                                                    \
    typedef struct {                                                                         \
        const T *logits;                                                                     \
        const int64_t *target;                                                               \
        T *losses, *probs;                                                                   \
        int64_t classes;                                                                     \
    } NAME##_job;                                                                            \
                                                                                             \
    static void NAME##_rows(int64_t lo, int64_t hi, void *context) {                         \
        const NAME##_job *job = context;                                                     \
        int64_t classes = job->classes;                                                      \
        for (int64_t i = lo; i < hi; i++) {                                                  \
            const T *z = job->logits + i * classes;                                          \
            T *p = job->probs + i * classes;                                                 \
            T z_max = z[0];                                                                  \
            for (int64_t j = 1; j < classes; j++) z_max = z[j] > z_max ? z[j] : z_max;       \
            /* sum_j exp(z_j - max): every term in (0, 1], the largest is 1; in double */    \
            double sum = 0;                                                                  \
            for (int64_t j = 0; j < classes; j++) sum += EXP(z[j] - z_max);                  \
            T log_sum = (T)log(sum);                                                         \
            /* loss = logsumexp(z) - z[t] = (max - z[t]) + log_sum, read before p is  */     \
            /* written, so that probs may alias logits                                 */    \
            job->losses[i] = (z_max - z[job->target[i]]) + log_sum;                          \
            /* p_j = exp(z_j - max - log_sum) */                                             \
            for (int64_t j = 0; j < classes; j++) p[j] = EXP(z[j] - z_max - log_sum);        \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    tg_status NAME(const T *logits, const int64_t *target, T *losses, T *probs,              \
                   int64_t rows, int64_t classes, int64_t *bad_row) {                        \
        if (rows < 0 || classes < 0) return TG_ERR_ARGUMENT;                                 \
        if ((*bad_row = first_bad_target(target, rows, classes)) >= 0) return TG_ERR_INDEX;  \
        NAME##_job job = {logits, target, losses, probs, classes};                           \
        int threads = tg_threads_for((double)rows * (double)classes, TG_ELEMENTWISE_GRAIN / 8); \
        tg_parallel_for(rows, threads, NAME##_rows, &job);                                   \
        return TG_OK;                                                                        \
    }

/* Rows [lo, hi) of the backward pass. */
#define DEFINE_SOFTMAX_XENT_BACKWARD(NAME, T)                                                \
    typedef struct {                                                                         \
        const T *probs;                                                                      \
        const int64_t *target;                                                               \
        const T *grad_loss;                                                                  \
        T *grad_logits;                                                                      \
        int64_t classes;                                                                     \
    } NAME##_job;                                                                            \
                                                                                             \
    static void NAME##_rows(int64_t lo, int64_t hi, void *context) {                         \
        const NAME##_job *job = context;                                                     \
        int64_t classes = job->classes;                                                      \
        for (int64_t i = lo; i < hi; i++) {                                                  \
            const T *p = job->probs + i * classes;                                           \
            T *g = job->grad_logits + i * classes;                                           \
            int64_t t = job->target[i];                                                      \
            T grad_i = job->grad_loss[i];                                                    \
            /* g_ij = grad_loss_i * (p_ij - [j == t_i]); p_it is read before the loop */     \
            /* because g may alias p                                                   */    \
            T p_target = p[t];                                                               \
            for (int64_t j = 0; j < classes; j++) g[j] = grad_i * p[j];                      \
            g[t] = grad_i * (p_target - 1);                                                  \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    tg_status NAME(const T *probs, const int64_t *target, const T *grad_loss,                \
                   T *grad_logits, int64_t rows, int64_t classes, int64_t *bad_row) {        \
        if (rows < 0 || classes < 0) return TG_ERR_ARGUMENT;                                 \
        if ((*bad_row = first_bad_target(target, rows, classes)) >= 0) return TG_ERR_INDEX;  \
        NAME##_job job = {probs, target, grad_loss, grad_logits, classes};                   \
        int threads = tg_threads_for((double)rows * (double)classes, TG_ELEMENTWISE_GRAIN);  \
        tg_parallel_for(rows, threads, NAME##_rows, &job);                                   \
        return TG_OK;                                                                        \
    }

DEFINE_SOFTMAX_XENT(tg_softmax_xent_f32, float, expf)
DEFINE_SOFTMAX_XENT(tg_softmax_xent_f64, double, exp)
DEFINE_SOFTMAX_XENT_BACKWARD(tg_softmax_xent_backward_f32, float)
DEFINE_SOFTMAX_XENT_BACKWARD(tg_softmax_xent_backward_f64, double)
