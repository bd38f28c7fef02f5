/* im2col and col2im: a convolution as one matrix multiply, and its gradient.
 *
 * im2col copies every receptive field of x (N, C, H, W) into one column of
 *
 *   cols[(c, i, j), (n, oh, ow)] = x[n, c, oh·sh - ph + i·dh, ow·sw - pw + j·dw]
 *                                  (0 where that position falls in the padding)
 *
 * so that conv2d(x, w) = w.reshape(OC, C·KH·KW) @ cols: one GEMM. im2col is a
 * linear map that only copies, so its adjoint (its transpose) adds every copy
 * back where it came from:
 *
 *   col2im: grad_x[n, c, h, w] = Σ over the (i, j, oh, ow) that read (h, w)
 *                                  of cols[(c, i, j), (n, oh, ow)]
 *
 * which is why the gradient of im2col is col2im. Both kernels work one input
 * plane (n, c) at a time: plane (n, c) owns rows (c, ·, ·) and columns (n, ·, ·)
 * of cols, so threads never write the same element and col2im adds in a fixed
 * order (the same result bit for bit whatever the thread count).
 */
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "window.h"

/* Work per plane (elements of cols it touches), for the thread count. */
static double plane_work(const tg_window *g) {
    return (double)g->kernel_h * (double)g->kernel_w * (double)g->out_h * (double)g->out_w;
}

#define DEFINE_IM2COL(NAME, T)                                                                   \
    typedef struct {                                                                             \
        const T *x;                                                                              \
        T *cols;                                                                                 \
        const tg_window *g;                                                                      \
    } NAME##_job;                                                                                \
                                                                                                 \
    /* Planes [lo, hi) of x: each fills its KH·KW rows of cols, in its image's columns. */       \
    static void NAME##_planes(int64_t lo, int64_t hi, void *context) {                           \
        const NAME##_job *job = context;                                                         \
        /* a local copy: memcpy/memset could write anywhere as far as the compiler knows, so     \
         * fields read through job->g would be loaded again after every row */                  \
        const tg_window window = *job->g, *g = &window;                                          \
        int64_t positions = g->out_h * g->out_w, columns = g->batch * positions;                 \
        for (int64_t plane = lo; plane < hi; plane++) {                                          \
            int64_t n = plane / g->channels, c = plane % g->channels;                            \
            const T *x = job->x + plane * g->height * g->width;                                  \
            for (int64_t i = 0; i < g->kernel_h; i++)                                            \
                for (int64_t j = 0; j < g->kernel_w; j++) {                                      \
                    int64_t row = (c * g->kernel_h + i) * g->kernel_w + j;                       \
                    T *restrict dst = job->cols + row * columns + n * positions;                 \
                    /* w = ow·sw + (j·dw - pw) is inside the image for ow in [ow_lo, ow_hi) */   \
                    int64_t w_offset = j * g->dilation_w - g->pad_w, ow_lo, ow_hi;               \
                    tg_window_inside(w_offset, g->stride_w, g->width, g->out_w, &ow_lo, &ow_hi); \
                    /* h = oh·sh + h_offset is inside the image for oh in [oh_lo, oh_hi) */       \
                    int64_t h_offset = i * g->dilation_h - g->pad_h, oh_lo, oh_hi;               \
                    tg_window_inside(h_offset, g->stride_h, g->height, g->out_h, &oh_lo, &oh_hi); \
                    size_t row_bytes = (size_t)g->out_w * sizeof(T);                             \
                    memset(dst, 0, (size_t)oh_lo * row_bytes); /* rows of padding above */       \
                    dst += oh_lo * g->out_w;                                                     \
                    /* (no row inside: src is not even formed, it could point outside x) */      \
                    const T *restrict src = oh_lo < oh_hi                                        \
                        ? x + (oh_lo * g->stride_h + h_offset) * g->width : x;                   \
                    int64_t src_step = g->stride_h * g->width;                                   \
                    if (g->stride_w == 1 && ow_lo == 0 && ow_hi == g->out_w)                     \
                        /* whole rows inside: one memcpy each (rows are short, 5-30 values,     \
                         * where a vectorised loop spends more on set-up than on copying) */    \
                        for (int64_t oh = oh_lo; oh < oh_hi; oh++, dst += g->out_w, src += src_step) \
                            memcpy(dst, src + w_offset, row_bytes);                              \
                    else                                                                         \
                        for (int64_t oh = oh_lo; oh < oh_hi; oh++, dst += g->out_w, src += src_step) { \
                            for (int64_t ow = 0; ow < ow_lo; ow++) dst[ow] = 0;                  \
                            if (g->stride_w == 1) /* a unit-stride copy */                       \
                                for (int64_t ow = ow_lo; ow < ow_hi; ow++)                       \
                                    dst[ow] = src[ow + w_offset];                                \
                            else                                                                 \
                                for (int64_t ow = ow_lo; ow < ow_hi; ow++)                       \
                                    dst[ow] = src[ow * g->stride_w + w_offset];                  \
                            for (int64_t ow = ow_hi; ow < g->out_w; ow++) dst[ow] = 0;           \
                        }                                                                        \
                    memset(dst, 0, (size_t)(g->out_h - oh_hi) * row_bytes); /* padding below */  \
                }                                                                                \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    tg_status NAME(const T *x, T *cols, const tg_window *g) {                                    \
        tg_status status = tg_window_check(g);                                                   \
        if (status != TG_OK) return status;                                                      \
        int64_t planes = g->batch * g->channels;                                                 \
        NAME##_job job = {x, cols, g};                                                           \
        int threads = tg_threads_for((double)planes * plane_work(g), TG_ELEMENTWISE_GRAIN);      \
        tg_parallel_for(planes, threads, NAME##_planes, &job);                                   \
        return TG_OK;                                                                            \
    }

#define DEFINE_COL2IM(NAME, T)                                                                   \
    typedef struct {                                                                             \
        const T *cols;                                                                           \
        T *x;                                                                                    \
        const tg_window *g;                                                                      \
    } NAME##_job;                                                                                \
                                                                                                 \
    /* Planes [lo, hi) of grad_x: zeroed, then every column entry read from them added back. */  \
    static void NAME##_planes(int64_t lo, int64_t hi, void *context) {                           \
        const NAME##_job *job = context;                                                         \
        /* a local copy: memcpy/memset could write anywhere as far as the compiler knows, so     \
         * fields read through job->g would be loaded again after every row */                  \
        const tg_window window = *job->g, *g = &window;                                          \
        int64_t positions = g->out_h * g->out_w, columns = g->batch * positions;                 \
        for (int64_t plane = lo; plane < hi; plane++) {                                          \
            int64_t n = plane / g->channels, c = plane % g->channels;                            \
            T *x = job->x + plane * g->height * g->width;                                        \
            memset(x, 0, (size_t)(g->height * g->width) * sizeof(T));                            \
            for (int64_t i = 0; i < g->kernel_h; i++)                                            \
                for (int64_t j = 0; j < g->kernel_w; j++) {                                      \
                    int64_t row = (c * g->kernel_h + i) * g->kernel_w + j;                       \
                    const T *restrict src = job->cols + row * columns + n * positions;           \
                    int64_t w_offset = j * g->dilation_w - g->pad_w, ow_lo, ow_hi;               \
                    tg_window_inside(w_offset, g->stride_w, g->width, g->out_w, &ow_lo, &ow_hi); \
                    /* rows oh in [oh_lo, oh_hi) read inside the image; the others read padding */ \
                    int64_t h_offset = i * g->dilation_h - g->pad_h, oh_lo, oh_hi;               \
                    tg_window_inside(h_offset, g->stride_h, g->height, g->out_h, &oh_lo, &oh_hi); \
                    if (oh_lo >= oh_hi) continue;                                                \
                    src += oh_lo * g->out_w;                                                     \
                    T *restrict dst = x + (oh_lo * g->stride_h + h_offset) * g->width;           \
                    int64_t dst_step = g->stride_h * g->width, sw = g->stride_w;                 \
                    /* grad_x[h, w] += cols[(c, i, j), (n, oh, ow)],  w = ow·sw + w_offset */     \
                    for (int64_t oh = oh_lo; oh < oh_hi; oh++, src += g->out_w, dst += dst_step) \
                        if (sw == 1) /* unit stride: a vectorised add */                         \
                            for (int64_t ow = ow_lo; ow < ow_hi; ow++)                           \
                                dst[ow + w_offset] += src[ow];                                   \
                        else                                                                     \
                            for (int64_t ow = ow_lo; ow < ow_hi; ow++)                           \
                                dst[ow * sw + w_offset] += src[ow];                              \
                }                                                                                \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    tg_status NAME(const T *cols, T *x, const tg_window *g) {                                    \
        tg_status status = tg_window_check(g);                                                   \
        if (status != TG_OK) return status;                                                      \
        int64_t planes = g->batch * g->channels;                                                 \
        NAME##_job job = {cols, x, g};                                                           \
        int threads = tg_threads_for((double)planes * plane_work(g), TG_ELEMENTWISE_GRAIN);      \
        tg_parallel_for(planes, threads, NAME##_planes, &job);                                   \
        return TG_OK;                                                                            \
    }

DEFINE_IM2COL(tg_im2col_f32, float)
DEFINE_IM2COL(tg_im2col_f64, double)
DEFINE_COL2IM(tg_col2im_f32, float)
DEFINE_COL2IM(tg_col2im_f64, double)

/* ---------------------------------------------------------------- fused, one image at a time
 *
 * The same maths as im2col -> GEMM -> col2im on the whole batch, done image by image:
 * image n's columns (C·KH·KW, OH·OW) fit in the L2 cache, so they are written, multiplied
 * and (backward) added back while still there, instead of making a round trip through
 * memory for the whole batch; and out[n] = W₂ @ cols_n is already image n's (OC, OH·OW)
 * block of the NCHW output: no transpose afterwards.
 *
 *   forward:  out[n]  = W₂ @ cols_n + b             (b broadcast along each row)
 *   backward: grad_W₂ = Σ_n grad[n] @ cols_nᵀ        (cols_n recomputed: cheaper than kept)
 *             grad_x[n] = col2im(W₂ᵀ @ grad[n])
 *
 * The images are split into a fixed number of parts (not one per thread), each summing
 * its own grad_W₂; the parts are then added in order, so the result is the same bit for
 * bit whatever the thread count.
 */

#define TG_CONV_PARTS 8                  /* parts of the batch for grad_W₂ */
#define TG_CONV_PARTIALS_MAX (1 << 22)   /* elements of extra grad_W₂ partials, at most */

/* A leading dimension for the GEMM (which wants >= 1 even for an empty matrix). */
static int64_t lead(int64_t size) {
    return size > 0 ? size : 1;
}

/* Record a failure seen by any thread (the last one written wins; any is an error). */
static void conv_fail(int *failed, tg_status status) {
#ifdef TG_HAVE_OPENMP
#pragma omp atomic write
#endif
    *failed = (int)status;
}

#define DEFINE_CONV(NAME, T, GEMM, IM2COL, COL2IM)                                               \
    typedef struct {                                                                             \
        const T *x, *weight, *bias, *grad_out;                                                   \
        T *out, *grad_x, *grad_weight, *partials;                                                \
        int64_t out_channels, parts;                                                             \
        const tg_window *g;                                                                      \
        int failed; /* a status other than TG_OK, from any thread */                             \
    } NAME##_job;                                                                                \
                                                                                                 \
    /* image n's columns into cols (C·KH·KW, OH·OW): im2col of a batch of one */                 \
    static void NAME##_columns(const NAME##_job *job, int64_t n, T *cols) {                      \
        tg_window one = *job->g;                                                                 \
        one.batch = 1;                                                                           \
        IM2COL##_job columns = {job->x + n * one.channels * one.height * one.width, cols, &one}; \
        IM2COL##_planes(0, one.channels, &columns);                                              \
    }                                                                                            \
                                                                                                 \
    static int64_t NAME##_rows(const tg_window *g) {                                             \
        return g->channels * g->kernel_h * g->kernel_w;                                          \
    }                                                                                            \
                                                                                                 \
    /* Images [lo, hi): out[n] = W₂ @ cols_n + b */                                              \
    static void NAME##_images(int64_t lo, int64_t hi, void *context) {                           \
        NAME##_job *job = context;                                                               \
        const tg_window *g = job->g;                                                             \
        int64_t rows = NAME##_rows(g), positions = g->out_h * g->out_w, oc = job->out_channels;  \
        T *cols = malloc((size_t)(rows * positions) * sizeof(T) + 1);                            \
        if (!cols) {                                                                             \
            conv_fail(&job->failed, TG_ERR_NOMEM);                                               \
            return;                                                                              \
        }                                                                                        \
        for (int64_t n = lo; n < hi; n++) {                                                      \
            T *out = job->out + n * oc * positions;                                              \
            NAME##_columns(job, n, cols);                                                        \
            if (job->bias) /* the bias first; the GEMM adds onto it (beta = 1) */                \
                for (int64_t o = 0; o < oc; o++)                                                 \
                    for (int64_t p = 0; p < positions; p++) out[o * positions + p] = job->bias[o]; \
            tg_status status = GEMM(0, 0, oc, positions, rows, 1, job->weight, lead(rows), cols, \
                                    lead(positions), job->bias ? 1 : 0, out, lead(positions));   \
            if (status != TG_OK) conv_fail(&job->failed, status);                                       \
        }                                                                                        \
        free(cols);                                                                              \
    }                                                                                            \
                                                                                                 \
    tg_status NAME(const T *x, const T *weight, const T *bias, T *out, int64_t out_channels,     \
                   const tg_window *g) {                                                         \
        tg_status status = tg_window_check(g);                                                   \
        if (status != TG_OK || out_channels < 0) return TG_ERR_ARGUMENT;                         \
        NAME##_job job = {x, weight, bias, NULL, out, NULL, NULL, NULL, out_channels, 0, g, 0};  \
        double work = (double)g->batch * out_channels * NAME##_rows(g) * g->out_h * g->out_w;    \
        tg_parallel_for(g->batch, tg_threads_for(work, 1 << 20), NAME##_images, &job);           \
        return (tg_status)job.failed;                                                            \
    }                                                                                            \
                                                                                                 \
    /* Parts [lo, hi) of the batch: each sums grad_W₂ over its images (part 0 straight into     \
     * grad_weight, the others into partials) and writes their grad_x. */                        \
    static void NAME##_backward_parts(int64_t lo, int64_t hi, void *context) {                   \
        NAME##_job *job = context;                                                               \
        const tg_window *g = job->g;                                                             \
        int64_t rows = NAME##_rows(g), positions = g->out_h * g->out_w, oc = job->out_channels;  \
        int64_t image_size = g->channels * g->height * g->width;                                 \
        T *cols = malloc((size_t)(rows * positions) * sizeof(T) + 1);                            \
        if (!cols) {                                                                             \
            conv_fail(&job->failed, TG_ERR_NOMEM);                                               \
            return;                                                                              \
        }                                                                                        \
        for (int64_t part = lo; part < hi; part++) {                                             \
            T *grad_w = part == 0 ? job->grad_weight : job->partials + (part - 1) * oc * rows;  \
            int64_t first = g->batch * part / job->parts, end = g->batch * (part + 1) / job->parts; \
            for (int64_t n = first; n < end; n++) {                                              \
                const T *grad = job->grad_out + n * oc * positions;                              \
                tg_status status = TG_OK;                                                        \
                if (job->grad_weight) { /* grad_W₂ += grad[n] @ cols_nᵀ */                        \
                    NAME##_columns(job, n, cols);                                                \
                    status = GEMM(0, 1, oc, rows, positions, 1, grad, lead(positions), cols,    \
                                  lead(positions), n == first ? 0 : 1, grad_w, lead(rows));      \
                }                                                                                \
                if (job->grad_x && status == TG_OK) { /* grad_x[n] = col2im(W₂ᵀ @ grad[n]) */    \
                    status = GEMM(1, 0, rows, positions, oc, 1, job->weight, lead(rows), grad,   \
                                  lead(positions), 0, cols, lead(positions));                    \
                    tg_window one = *g;                                                          \
                    one.batch = 1;                                                               \
                    COL2IM##_job added = {cols, job->grad_x + n * image_size, &one};             \
                    COL2IM##_planes(0, g->channels, &added);                                     \
                }                                                                                \
                if (status != TG_OK) conv_fail(&job->failed, status);                                   \
            }                                                                                    \
            if (job->grad_weight && first == end) /* no image: nothing summed */                 \
                memset(grad_w, 0, (size_t)(oc * rows) * sizeof(T));                              \
        }                                                                                        \
        free(cols);                                                                              \
    }                                                                                            \
                                                                                                 \
    tg_status NAME##_backward(const T *x, const T *weight, const T *grad_out, T *grad_x,        \
                              T *grad_weight, int64_t out_channels, const tg_window *g) {        \
        tg_status status = tg_window_check(g);                                                   \
        if (status != TG_OK || out_channels < 0) return TG_ERR_ARGUMENT;                         \
        int64_t weights = out_channels * NAME##_rows(g);                                         \
        int64_t parts = g->batch < TG_CONV_PARTS ? g->batch : TG_CONV_PARTS;                     \
        if (parts < 1 || weights * (parts - 1) > TG_CONV_PARTIALS_MAX) parts = 1;                \
        if (!grad_weight) parts = g->batch; /* no sum across images: every image on its own */   \
        T *partials = NULL;                                                                      \
        if (grad_weight && parts > 1 && !(partials = malloc((size_t)(weights * (parts - 1)) * sizeof(T))))      \
            return TG_ERR_NOMEM;                                                                 \
        NAME##_job job = {x, weight, NULL, grad_out, NULL, grad_x, grad_weight, partials,       \
                          out_channels, parts, g, 0};                                            \
        double work = (double)g->batch * weights * g->out_h * g->out_w;                          \
        tg_parallel_for(parts, tg_threads_for(work, 1 << 20), NAME##_backward_parts, &job);      \
        for (int64_t part = 1; part < parts && grad_weight; part++) /* in order: deterministic */ \
            for (int64_t k = 0; k < weights; k++) grad_weight[k] += partials[(part - 1) * weights + k]; \
        free(partials);                                                                          \
        return (tg_status)job.failed;                                                            \
    }

DEFINE_CONV(tg_conv2d_f32, float, tg_sgemm, tg_im2col_f32, tg_col2im_f32)
DEFINE_CONV(tg_conv2d_f64, double, tg_dgemm, tg_im2col_f64, tg_col2im_f64)
