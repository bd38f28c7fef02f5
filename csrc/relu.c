/* ReLU forward and backward: one pass over memory each. */
#include "kernels.h"

/* out = max(x, 0); alive[j] |= (out[i, j] > 0) */
#define DEFINE_RELU(NAME, T)                                                        \
    tg_status NAME(const T *x, T *out, int64_t rows, int64_t cols, uint8_t *alive) { \
        if (rows < 0 || cols < 0) return TG_ERR_ARGUMENT;                           \
        for (int64_t i = 0; i < rows; i++) {                                        \
            const T *x_row = x + i * cols;                                          \
            T *out_row = out + i * cols;                                            \
            for (int64_t j = 0; j < cols; j++) {                                    \
                /* x < 0 ? 0 : x, written so that NaN propagates */                 \
                out_row[j] = x_row[j] < 0 ? 0 : x_row[j];                           \
            }                                                                       \
            if (alive)                                                              \
                for (int64_t j = 0; j < cols; j++) alive[j] |= out_row[j] > 0;      \
        }                                                                           \
        return TG_OK;                                                               \
    }

/* grad_x = grad_out where x > 0, else 0 */
#define DEFINE_RELU_BACKWARD(NAME, T)                                             \
    tg_status NAME(const T *x, const T *grad_out, T *grad_x, int64_t n) {         \
        if (n < 0) return TG_ERR_ARGUMENT;                                        \
        for (int64_t i = 0; i < n; i++) grad_x[i] = x[i] > 0 ? grad_out[i] : 0;   \
        return TG_OK;                                                             \
    }

DEFINE_RELU(tg_relu_f32, float)
DEFINE_RELU(tg_relu_f64, double)
DEFINE_RELU_BACKWARD(tg_relu_backward_f32, float)
DEFINE_RELU_BACKWARD(tg_relu_backward_f64, double)
