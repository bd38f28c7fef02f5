/* Softmax cross-entropy, fused: the loss and the probabilities in one pass per row.
 *
 *   loss_i = logsumexp(z_i) - z_i[t_i],   logsumexp(z) = max(z) + log(sum_j exp(z_j - max(z)))
 *   p_ij   = exp(z_ij - logsumexp(z_i))
 *   d loss_i / d z_ij = p_ij - [j == t_i]
 *
 * Subtracting the row maximum first keeps every exp() argument <= 0, so logits
 * of 1e4 (or 1e30) give finite losses instead of inf - inf = NaN.
 */
#include <math.h>

#include "kernels.h"

/* The first row whose target is outside [0, classes), or -1 if all are valid. */
static int64_t first_bad_target(const int64_t *target, int64_t rows, int64_t classes) {
    for (int64_t i = 0; i < rows; i++)
        if (target[i] < 0 || target[i] >= classes) return i;
    return -1;
}

#define DEFINE_SOFTMAX_XENT(NAME, T, EXP, LOG)                                              \
    tg_status NAME(const T *logits, const int64_t *target, T *losses, T *probs,             \
                   int64_t rows, int64_t classes, int64_t *bad_row) {                       \
        if (rows < 0 || classes < 0) return TG_ERR_ARGUMENT;                                \
        if ((*bad_row = first_bad_target(target, rows, classes)) >= 0) return TG_ERR_INDEX; \
        for (int64_t i = 0; i < rows; i++) {                                                \
            const T *z = logits + i * classes;                                              \
            T *p = probs + i * classes;                                                     \
            T z_max = z[0];                                                                 \
            for (int64_t j = 1; j < classes; j++) z_max = z[j] > z_max ? z[j] : z_max;      \
            /* sum_j exp(z_j - max): every term in (0, 1], the largest is 1 */              \
            T sum = 0;                                                                      \
            for (int64_t j = 0; j < classes; j++) sum += EXP(z[j] - z_max);                 \
            T log_sum = LOG(sum);                                                           \
            /* loss = logsumexp(z) - z[t] = (max + log_sum) - z[t], read before p is   */   \
            /* written, so probs may alias logits                                      */   \
            losses[i] = (z_max - z[target[i]]) + log_sum;                                   \
            /* p_j = exp(z_j - max - log_sum) */                                            \
            for (int64_t j = 0; j < classes; j++) p[j] = EXP(z[j] - z_max - log_sum);       \
        }                                                                                   \
        return TG_OK;                                                                       \
    }

#define DEFINE_SOFTMAX_XENT_BACKWARD(NAME, T)                                               \
    tg_status NAME(const T *probs, const int64_t *target, const T *grad_loss,               \
                   T *grad_logits, int64_t rows, int64_t classes, int64_t *bad_row) {       \
        if (rows < 0 || classes < 0) return TG_ERR_ARGUMENT;                                \
        if ((*bad_row = first_bad_target(target, rows, classes)) >= 0) return TG_ERR_INDEX; \
        for (int64_t i = 0; i < rows; i++) {                                                \
            const T *p = probs + i * classes;                                               \
            T *g = grad_logits + i * classes;                                               \
            /* g_ij = grad_loss_i * (p_ij - [j == t_i]); p_it is read before the loop   */   \
            /* because g may alias p                                                    */   \
            T p_target = p[target[i]];                                                      \
            for (int64_t j = 0; j < classes; j++) g[j] = grad_loss[i] * p[j];               \
            g[target[i]] = grad_loss[i] * (p_target - 1);                                   \
        }                                                                                   \
        return TG_OK;                                                                       \
    }

DEFINE_SOFTMAX_XENT(tg_softmax_xent_f32, float, expf, logf)
DEFINE_SOFTMAX_XENT(tg_softmax_xent_f64, double, exp, log)
DEFINE_SOFTMAX_XENT_BACKWARD(tg_softmax_xent_backward_f32, float)
DEFINE_SOFTMAX_XENT_BACKWARD(tg_softmax_xent_backward_f64, double)
