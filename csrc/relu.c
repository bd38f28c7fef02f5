/* ReLU forward and backward: one pass over memory each. */
#include "kernels.h"

#define DEFINE_RELU(NAME, T)                                                  \
    tg_status NAME(const T *x, T *out, int64_t n, int64_t *zeros) {           \
        int64_t count = 0;                                                    \
        for (int64_t i = 0; i < n; i++) {                                     \
            /* x > 0 ? x : 0, written so that NaN propagates */               \
            out[i] = x[i] < 0 ? 0 : x[i];                                     \
            count += out[i] == 0;                                             \
        }                                                                     \
        if (zeros) *zeros = count;                                            \
        return TG_OK;                                                         \
    }

#define DEFINE_RELU_BACKWARD(NAME, T)                                             \
    tg_status NAME(const T *x, const T *grad_out, T *grad_x, int64_t n) {         \
        for (int64_t i = 0; i < n; i++) grad_x[i] = x[i] > 0 ? grad_out[i] : 0;   \
        return TG_OK;                                                             \
    }

DEFINE_RELU(tg_relu_f32, float)
DEFINE_RELU(tg_relu_f64, double)
DEFINE_RELU_BACKWARD(tg_relu_backward_f32, float)
DEFINE_RELU_BACKWARD(tg_relu_backward_f64, double)
