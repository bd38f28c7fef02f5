/* tinygrad_edu C core: the one header.
 *
 * Python (numpy) owns every buffer; these kernels only read and write the
 * memory they are handed, never allocate Python objects, never print and
 * never abort. Each returns a tg_status that the Cython layer maps to an
 * exception. All arrays are row-major (C order); a leading dimension (ld)
 * is the distance in elements between two consecutive rows.
 */
#ifndef TG_KERNELS_H
#define TG_KERNELS_H

#include <stdint.h>

typedef enum {
    TG_OK = 0,
    TG_ERR_ARGUMENT = 1, /* a size or leading dimension is negative or too small */
    TG_ERR_NOMEM = 2     /* a work buffer could not be allocated */
} tg_status;

/* ---- threads ---------------------------------------------------------- */

/* The number of threads the kernels use (>= 1). */
void tg_set_num_threads(int n);
int tg_get_num_threads(void);
/* 1 if the library was built with OpenMP. */
int tg_have_openmp(void);

/* ---- matrix multiply (gemm.c) ----------------------------------------- */

/* C = alpha * op(A) @ op(B) + beta * C
 * op(A) is m x k, op(B) is k x n, C is m x n.
 * op(X) = X if trans_x == 0, X^T otherwise; the transpose is read in place.
 * beta == 0 means C is overwritten (C's old contents, even NaN, are ignored). */
tg_status tg_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   float alpha, const float *a, int64_t lda,
                   const float *b, int64_t ldb,
                   float beta, float *c, int64_t ldc);
tg_status tg_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   double alpha, const double *a, int64_t lda,
                   const double *b, int64_t ldb,
                   double beta, double *c, int64_t ldc);

/* ---- ReLU (relu.c) ------------------------------------------------------ */

/* out[i] = max(x[i], 0)   (NaN stays NaN).
 * Returns through *zeros the count of outputs equal to 0 (may be NULL). */
tg_status tg_relu_f32(const float *x, float *out, int64_t n, int64_t *zeros);
tg_status tg_relu_f64(const double *x, double *out, int64_t n, int64_t *zeros);

/* grad_x[i] = grad_out[i] if x[i] > 0, else 0   (ReLU'(0) = 0, as PyTorch). */
tg_status tg_relu_backward_f32(const float *x, const float *grad_out, float *grad_x, int64_t n);
tg_status tg_relu_backward_f64(const double *x, const double *grad_out, double *grad_x, int64_t n);

#endif
