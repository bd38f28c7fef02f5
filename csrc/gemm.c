/* Matrix multiply: C = alpha * op(A) @ op(B) + beta * C.
 *
 * First, correct version: the i-k-j loop order streams rows of B and C so the
 * innermost loop is unit-stride. The packed, cache-blocked version replaces it.
 */
#include "kernels.h"

#define DEFINE_GEMM(NAME, T)                                                              \
    tg_status NAME(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, T alpha,     \
                   const T *a, int64_t lda, const T *b, int64_t ldb, T beta, T *c,         \
                   int64_t ldc) {                                                          \
        if (m < 0 || n < 0 || k < 0) return TG_ERR_ARGUMENT;                               \
        for (int64_t i = 0; i < m; i++) {                                                  \
            T *c_row = c + i * ldc;                                                        \
            for (int64_t j = 0; j < n; j++) c_row[j] = beta == 0 ? 0 : beta * c_row[j];    \
            for (int64_t p = 0; p < k; p++) {                                              \
                T a_ip = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);              \
                if (trans_b) {                                                             \
                    for (int64_t j = 0; j < n; j++) c_row[j] += a_ip * b[j * ldb + p];     \
                } else {                                                                   \
                    const T *b_row = b + p * ldb;                                          \
                    for (int64_t j = 0; j < n; j++) c_row[j] += a_ip * b_row[j];           \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
        return TG_OK;                                                                      \
    }

DEFINE_GEMM(tg_sgemm, float)
DEFINE_GEMM(tg_dgemm, double)

/* out = x @ weight^T + bias: the broadcast bias goes into out first, then one
 * GEMM adds the product onto it (beta = 1). */
#define DEFINE_LINEAR(NAME, GEMM, T)                                                     \
    tg_status NAME(const T *x, const T *weight, const T *bias, T *out, int64_t rows,     \
                   int64_t in, int64_t outs) {                                           \
        if (rows < 0 || in < 0 || outs < 0) return TG_ERR_ARGUMENT;                      \
        for (int64_t i = 0; i < rows; i++)                                               \
            for (int64_t j = 0; j < outs; j++) out[i * outs + j] = bias ? bias[j] : 0;   \
        return GEMM(0, 1, rows, outs, in, 1, x, in > 0 ? in : 1, weight, in > 0 ? in : 1, \
                    1, out, outs > 0 ? outs : 1);                                        \
    }

DEFINE_LINEAR(tg_linear_f32, tg_sgemm, float)
DEFINE_LINEAR(tg_linear_f64, tg_dgemm, double)
