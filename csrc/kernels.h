/* tinygrad_edu C core: the one header.
 *
 * Python (numpy) owns every buffer; these kernels only read and write the
 * memory they are handed, never allocate Python objects, never print and
 * never abort. Each returns a tg_status that the Cython layer maps to an
 * exception. All arrays are row-major (C order); a leading dimension (ld)
 * is the distance in elements between two consecutive rows.
 *
 * Files: threads.c (thread count), cpu.c (which SIMD microkernel runs),
 * cache.c (cache sizes -> GEMM block sizes),
 * gemm.c (+ gemm_avx512.c, gemm_avx2.c, gemm_neon.c: matrix multiply), relu.c,
 * bias.c (column sums), loss.c (softmax cross-entropy).
 */
#ifndef TG_KERNELS_H
#define TG_KERNELS_H

#include <stdint.h>

typedef enum {
    TG_OK = 0,
    TG_ERR_ARGUMENT = 1, /* a size or leading dimension is negative or too small */
    TG_ERR_NOMEM = 2,    /* a work buffer could not be allocated */
    TG_ERR_INDEX = 3     /* a class index is outside [0, classes) */
} tg_status;

/* ---- threads (threads.c) ---------------------------------------------- */

/* The number of threads the kernels use (>= 1; n < 1 is treated as 1). */
void tg_set_num_threads(int n);
int tg_get_num_threads(void);
/* 1 if the library was built with OpenMP. */
int tg_have_openmp(void);

/* ---- microkernel choice (cpu.c) ----------------------------------------- */

/* Use the named GEMM microkernels: "avx512", "avx2", "neon" or "generic"; NULL picks the
 * best this CPU supports. TG_ERR_ARGUMENT if unknown or not supported here.
 * Before the first call, TINYGRAD_EDU_KERNEL (if it names a supported kernel)
 * or else the best supported kernel is used. */
tg_status tg_set_kernel(const char *name);
const char *tg_get_kernel(void);
/* 1 if the named kernel exists and this CPU can run it. */
int tg_kernel_supported(const char *name);

/* ---- cache sizes and GEMM block sizes (cache.c) --------------------------- */

/* One cache level: total bytes, associativity (ways) and bytes per line. */
typedef struct {
    int64_t size, ways, line;
} tg_cache_level;

typedef struct {
    tg_cache_level l1d, l2, l3; /* one core's view; L3 is usually shared */
    const char *source;         /* "cpuid", "sysfs", or "default" (nothing reported) */
} tg_cache_info;

/* The caches of the CPU this runs on, detected on first use: cpuid (leaf 4 on
 * Intel, 0x8000001D on AMD), else Linux sysfs (any architecture); a level that
 * nothing reports gets a common default (32 KB L1d, 256 KB L2, 2 MB L3). */
tg_cache_info tg_cache_sizes(void);

/* The GEMM's block sizes: kc (depth, L1), mc (rows of A, L2), nc (columns of B, L3). */
typedef struct {
    int64_t mc, kc, nc;
} tg_block_sizes;

/* BLIS's analytical model for an mr x nr microkernel on elements of
 * element_size bytes: a pure function of its arguments (see cache.c). */
tg_block_sizes tg_blocking_rule(const tg_cache_info *caches, int64_t mr, int64_t nr,
                                int64_t element_size);

/* The tile and block sizes the selected microkernel uses for float32
 * (element_size 4) or float64 (8); TG_ERR_ARGUMENT for another size. */
tg_status tg_gemm_blocking(int64_t element_size, int64_t *mr, int64_t *nr, tg_block_sizes *sizes);

/* ---- matrix multiply (gemm.c) ----------------------------------------- */

/* C = alpha * op(A) @ op(B) + beta * C
 * op(A) is m x k, op(B) is k x n, C is m x n.
 * op(X) = X if trans_x == 0, X^T otherwise; the transpose is read in place.
 * beta == 0 means C is overwritten (C's old contents, even NaN, are ignored).
 * C must not overlap A or B. */
tg_status tg_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   float alpha, const float *a, int64_t lda,
                   const float *b, int64_t ldb,
                   float beta, float *c, int64_t ldc);
tg_status tg_dgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   double alpha, const double *a, int64_t lda,
                   const double *b, int64_t ldb,
                   double beta, double *c, int64_t ldc);

/* Linear layer: out = x @ weight^T + bias
 * x is rows x in, weight is outs x in, bias is outs (or NULL), out is rows x outs,
 * all contiguous. One GEMM: out is pre-filled with the broadcast bias, beta = 1. */
tg_status tg_linear_f32(const float *x, const float *weight, const float *bias, float *out,
                        int64_t rows, int64_t in, int64_t outs);
tg_status tg_linear_f64(const double *x, const double *weight, const double *bias, double *out,
                        int64_t rows, int64_t in, int64_t outs);

/* ---- ReLU (relu.c) ------------------------------------------------------ */

/* out[i, j] = max(x[i, j], 0)   (NaN stays NaN); x and out are rows x cols.
 * If alive != NULL (cols bytes): alive[j] = 1 for each column j with some
 * out[i, j] > 0, in the same pass; other entries are left as they are, so
 * calls over several batches accumulate. out may be x itself. */
tg_status tg_relu_f32(const float *x, float *out, int64_t rows, int64_t cols, uint8_t *alive);
tg_status tg_relu_f64(const double *x, double *out, int64_t rows, int64_t cols, uint8_t *alive);

/* grad_x[i] = 0 if x[i] <= 0, else grad_out[i]   (ReLU'(0) = 0; a NaN x passes the gradient, as PyTorch).
 * grad_x may be x or grad_out itself. */
tg_status tg_relu_backward_f32(const float *x, const float *grad_out, float *grad_x, int64_t n);
tg_status tg_relu_backward_f64(const double *x, const double *grad_out, double *grad_x, int64_t n);

/* ---- the optimizer's step (axpy.c) --------------------------------------- */

/* y[i] += alpha * x[i]   (SGD's w ← w − lr·g is alpha = −lr: one pass over w and g,
 * where numpy needs a temporary lr·g and a second pass). y must not overlap x. */
tg_status tg_axpy_f32(float alpha, const float *x, float *y, int64_t n);
tg_status tg_axpy_f64(double alpha, const double *x, double *y, int64_t n);

/* ---- bias gradient (bias.c) --------------------------------------------- */

/* out[j] = sum_i x[i, j]   (x is rows x cols; rows summed in order 0, 1, 2, ...
 * whatever the thread count, so the result is reproducible bit for bit). */
tg_status tg_column_sum_f32(const float *x, float *out, int64_t rows, int64_t cols);
tg_status tg_column_sum_f64(const double *x, double *out, int64_t rows, int64_t cols);

/* ---- softmax cross-entropy (loss.c) -------------------------------------- */

/* For each row i of logits (rows x classes), with t = target[i]:
 *   losses[i]   = logsumexp(logits[i, :]) - logits[i, t]
 *   probs[i, j] = exp(logits[i, j] - logsumexp(logits[i, :]))
 * Computed with the row maximum subtracted first, so huge logits stay finite.
 * probs may be logits itself. A target outside [0, classes) returns
 * TG_ERR_INDEX with its row in *bad_row before anything is written. */
tg_status tg_softmax_xent_f32(const float *logits, const int64_t *target, float *losses,
                              float *probs, int64_t rows, int64_t classes, int64_t *bad_row);
tg_status tg_softmax_xent_f64(const double *logits, const int64_t *target, double *losses,
                              double *probs, int64_t rows, int64_t classes, int64_t *bad_row);

/* grad_logits[i, j] = grad_loss[i] * (probs[i, j] - [j == target[i]])
 * grad_logits may be probs itself; targets are checked as above. */
tg_status tg_softmax_xent_backward_f32(const float *probs, const int64_t *target,
                                       const float *grad_loss, float *grad_logits,
                                       int64_t rows, int64_t classes, int64_t *bad_row);
tg_status tg_softmax_xent_backward_f64(const double *probs, const int64_t *target,
                                       const double *grad_loss, double *grad_logits,
                                       int64_t rows, int64_t classes, int64_t *bad_row);

/* ---- convolution and pooling windows (conv.c: im2col, col2im; pool.c: max and ---------
 * ---- average pooling; window.h: the window arithmetic they share) ------------------- */

/* One sliding-window layout over x (batch, channels, height, width), NCHW, contiguous.
 * Window (oh, ow) reads x[n, c, oh·stride_h - pad_h + i·dilation_h, ow·stride_w - pad_w +
 * j·dilation_w] for i < kernel_h, j < kernel_w; positions outside the image are padding.
 * pad_h/pad_w are the top/left padding; out_h/out_w are given by the caller (so the
 * bottom/right padding and ceil_mode are the caller's choice): nothing outside the
 * image is ever read. Every kernel below returns TG_ERR_ARGUMENT unless sizes and
 * out_h/out_w are >= 0, kernel sizes, strides and dilations >= 1 and paddings >= 0. */
typedef struct {
    int64_t batch, channels, height, width;
    int64_t kernel_h, kernel_w, stride_h, stride_w;
    int64_t pad_h, pad_w, dilation_h, dilation_w;
    int64_t out_h, out_w;
} tg_window;

/* im2col: every receptive field as one column, so a convolution is one GEMM.
 *   cols[(c·KH + i)·KW + j, (n·out_h + oh)·out_w + ow] = x[n, c, h, w]   (0 in the padding)
 *   with h = oh·stride_h - pad_h + i·dilation_h, w = ow·stride_w - pad_w + j·dilation_w
 * x: (batch, channels, height, width); cols: (channels·KH·KW, batch·out_h·out_w). */
tg_status tg_im2col_f32(const float *x, float *cols, const tg_window *g);
tg_status tg_im2col_f64(const double *x, double *cols, const tg_window *g);

/* col2im, the transpose (adjoint) of im2col: every column entry added back where it was read.
 *   x[n, c, h, w] = Σ over (i, j, oh, ow) with the h, w above of cols[(c, i, j), (n, oh, ow)]
 * x is overwritten (zeroed first); cols must not overlap x. */
tg_status tg_col2im_f32(const float *cols, float *x, const tg_window *g);
tg_status tg_col2im_f64(const double *cols, double *x, const tg_window *g);

/* A whole convolution, image by image (each image's columns stay in cache):
 *   forward:  out[n] = W₂ @ im2col(x[n]) + bias   weight (OC, C·KH·KW); bias (OC) or NULL;
 *             out (N, OC, out_h·out_w), i.e. NCHW
 *   backward: grad_weight = Σ_n grad_out[n] @ im2col(x[n])ᵀ,  grad_x[n] = col2im(W₂ᵀ @ grad_out[n])
 *             (either output may be NULL: not computed). Deterministic for any thread count. */
tg_status tg_conv2d_f32(const float *x, const float *weight, const float *bias, float *out,
                        int64_t out_channels, const tg_window *g);
tg_status tg_conv2d_f64(const double *x, const double *weight, const double *bias, double *out,
                        int64_t out_channels, const tg_window *g);
tg_status tg_conv2d_f32_backward(const float *x, const float *weight, const float *grad_out,
                                 float *grad_x, float *grad_weight, int64_t out_channels,
                                 const tg_window *g);
tg_status tg_conv2d_f64_backward(const double *x, const double *weight, const double *grad_out,
                                 double *grad_x, double *grad_weight, int64_t out_channels,
                                 const tg_window *g);

/* Max pooling:  out[n, c, oh, ow] = max over the window of x (NaN wins; the first maximum
 * wins ties), indices[n, c, oh, ow] = h·width + w of that element within its plane
 * (-1, with out = -inf, for a window made only of padding). out, indices: (batch,
 * channels, out_h, out_w). */
tg_status tg_max_pool2d_f32(const float *x, float *out, int64_t *indices, const tg_window *g);
tg_status tg_max_pool2d_f64(const double *x, double *out, int64_t *indices,
                            const tg_window *g);

/* Its gradient, a scatter:  grad_x[n, c, indices[n, c, k]] += grad_out[n, c, k]
 * (grad_x overwritten). An index outside [-1, height·width) returns TG_ERR_INDEX with
 * its flat position in *bad_position before anything is written. */
tg_status tg_max_pool2d_backward_f32(const float *grad_out, const int64_t *indices,
                                     float *grad_x, const tg_window *g, int64_t *bad_position);
tg_status tg_max_pool2d_backward_f64(const double *grad_out, const int64_t *indices,
                                     double *grad_x, const tg_window *g, int64_t *bad_position);

/* Average pooling (dilation must be 1):  out[n, c, oh, ow] = Σ over the window of x / divisor,
 * divisor = divisor_override if > 0, else the window's size counting the padding
 * (count_include_pad, the window clipped at height + pad_h, width + pad_w, as PyTorch)
 * or only the elements inside the image. */
tg_status tg_avg_pool2d_f32(const float *x, float *out, const tg_window *g,
                            int count_include_pad, int64_t divisor_override);
tg_status tg_avg_pool2d_f64(const double *x, double *out, const tg_window *g,
                            int count_include_pad, int64_t divisor_override);

/* Its gradient:  grad_x[n, c, h, w] = Σ over the windows holding (h, w) of grad_out / divisor
 * (grad_x overwritten). */
tg_status tg_avg_pool2d_backward_f32(const float *grad_out, float *grad_x, const tg_window *g,
                                     int count_include_pad, int64_t divisor_override);
tg_status tg_avg_pool2d_backward_f64(const double *grad_out, double *grad_x,
                                     const tg_window *g, int count_include_pad,
                                     int64_t divisor_override);

#endif
