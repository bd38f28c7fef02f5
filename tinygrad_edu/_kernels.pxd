# Declarations mirroring csrc/kernels.h, one for one.
from libc.stdint cimport int64_t

cdef extern from "kernels.h" nogil:
    ctypedef enum tg_status:
        TG_OK
        TG_ERR_ARGUMENT
        TG_ERR_NOMEM

    void tg_set_num_threads(int n)
    int tg_get_num_threads()
    int tg_have_openmp()

    tg_status tg_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       float alpha, const float *a, int64_t lda,
                       const float *b, int64_t ldb,
                       float beta, float *c, int64_t ldc)
    tg_status tg_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       double alpha, const double *a, int64_t lda,
                       const double *b, int64_t ldb,
                       double beta, double *c, int64_t ldc)

    tg_status tg_relu_f32(const float *x, float *out, int64_t n, int64_t *zeros)
    tg_status tg_relu_f64(const double *x, double *out, int64_t n, int64_t *zeros)
    tg_status tg_relu_backward_f32(const float *x, const float *grad_out, float *grad_x, int64_t n)
    tg_status tg_relu_backward_f64(const double *x, const double *grad_out, double *grad_x, int64_t n)
