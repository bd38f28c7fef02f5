# Declarations mirroring csrc/kernels.h, one for one.
from libc.stdint cimport int64_t, uint8_t

cdef extern from "kernels.h" nogil:
    ctypedef enum tg_status:
        TG_OK
        TG_ERR_ARGUMENT
        TG_ERR_NOMEM
        TG_ERR_INDEX

    void tg_set_num_threads(int n)
    int tg_get_num_threads()
    int tg_have_openmp()

    tg_status tg_set_kernel(const char *name)
    const char *tg_get_kernel()
    int tg_kernel_supported(const char *name)

    tg_status tg_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       float alpha, const float *a, int64_t lda,
                       const float *b, int64_t ldb,
                       float beta, float *c, int64_t ldc)
    tg_status tg_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       double alpha, const double *a, int64_t lda,
                       const double *b, int64_t ldb,
                       double beta, double *c, int64_t ldc)
    tg_status tg_linear_f32(const float *x, const float *weight, const float *bias, float *out,
                            int64_t rows, int64_t inputs, int64_t outs)
    tg_status tg_linear_f64(const double *x, const double *weight, const double *bias,
                            double *out, int64_t rows, int64_t inputs, int64_t outs)

    tg_status tg_relu_f32(const float *x, float *out, int64_t rows, int64_t cols, uint8_t *alive)
    tg_status tg_relu_f64(const double *x, double *out, int64_t rows, int64_t cols,
                          uint8_t *alive)
    tg_status tg_relu_backward_f32(const float *x, const float *grad_out, float *grad_x,
                                   int64_t n)
    tg_status tg_relu_backward_f64(const double *x, const double *grad_out, double *grad_x,
                                   int64_t n)

    tg_status tg_axpy_f32(float alpha, const float *x, float *y, int64_t n)
    tg_status tg_axpy_f64(double alpha, const double *x, double *y, int64_t n)

    tg_status tg_column_sum_f32(const float *x, float *out, int64_t rows, int64_t cols)
    tg_status tg_column_sum_f64(const double *x, double *out, int64_t rows, int64_t cols)

    tg_status tg_softmax_xent_f32(const float *logits, const int64_t *target, float *losses,
                                  float *probs, int64_t rows, int64_t classes, int64_t *bad_row)
    tg_status tg_softmax_xent_f64(const double *logits, const int64_t *target, double *losses,
                                  double *probs, int64_t rows, int64_t classes,
                                  int64_t *bad_row)
    tg_status tg_softmax_xent_backward_f32(const float *probs, const int64_t *target,
                                           const float *grad_loss, float *grad_logits,
                                           int64_t rows, int64_t classes, int64_t *bad_row)
    tg_status tg_softmax_xent_backward_f64(const double *probs, const int64_t *target,
                                           const double *grad_loss, double *grad_logits,
                                           int64_t rows, int64_t classes, int64_t *bad_row)

    ctypedef struct tg_cache_level:
        int64_t size
        int64_t ways
        int64_t line
    ctypedef struct tg_cache_info:
        tg_cache_level l1d
        tg_cache_level l2
        tg_cache_level l3
        const char *source
    ctypedef struct tg_block_sizes:
        int64_t mc
        int64_t kc
        int64_t nc
    tg_cache_info tg_cache_sizes()
    tg_block_sizes tg_blocking_rule(const tg_cache_info *caches, int64_t mr, int64_t nr,
                                    int64_t element_size)
    tg_status tg_gemm_blocking(int64_t element_size, int64_t *mr, int64_t *nr,
                               tg_block_sizes *sizes)

    # ---- convolution and pooling windows (conv.c, pool.c) ----
    ctypedef struct tg_window:
        int64_t batch, channels, height, width
        int64_t kernel_h, kernel_w, stride_h, stride_w
        int64_t pad_h, pad_w, dilation_h, dilation_w
        int64_t out_h, out_w

    tg_status tg_im2col_f32(const float *x, float *cols, const tg_window *g)
    tg_status tg_im2col_f64(const double *x, double *cols, const tg_window *g)
    tg_status tg_col2im_f32(const float *cols, float *x, const tg_window *g)
    tg_status tg_col2im_f64(const double *cols, double *x, const tg_window *g)
    tg_status tg_conv2d_f32(const float *x, const float *weight, const float *bias, float *out,
                            int64_t out_channels, const tg_window *g)
    tg_status tg_conv2d_f64(const double *x, const double *weight, const double *bias,
                            double *out, int64_t out_channels, const tg_window *g)
    tg_status tg_conv2d_f32_backward(const float *x, const float *weight, const float *grad_out,
                                     float *grad_x, float *grad_weight, int64_t out_channels,
                                     const tg_window *g)
    tg_status tg_conv2d_f64_backward(const double *x, const double *weight,
                                     const double *grad_out, double *grad_x,
                                     double *grad_weight, int64_t out_channels,
                                     const tg_window *g)
    tg_status tg_max_pool2d_f32(const float *x, float *out, int64_t *indices, const tg_window *g)
    tg_status tg_max_pool2d_f64(const double *x, double *out, int64_t *indices,
                                const tg_window *g)
    tg_status tg_max_pool2d_backward_f32(const float *grad_out, const int64_t *indices,
                                         float *grad_x, const tg_window *g,
                                         int64_t *bad_position)
    tg_status tg_max_pool2d_backward_f64(const double *grad_out, const int64_t *indices,
                                         double *grad_x, const tg_window *g,
                                         int64_t *bad_position)
    tg_status tg_avg_pool2d_f32(const float *x, float *out, const tg_window *g,
                                int count_include_pad, int64_t divisor_override)
    tg_status tg_avg_pool2d_f64(const double *x, double *out, const tg_window *g,
                                int count_include_pad, int64_t divisor_override)
    tg_status tg_avg_pool2d_backward_f32(const float *grad_out, float *grad_x, const tg_window *g,
                                         int count_include_pad, int64_t divisor_override)
    tg_status tg_avg_pool2d_backward_f64(const double *grad_out, double *grad_x,
                                         const tg_window *g, int count_include_pad,
                                         int64_t divisor_override)
