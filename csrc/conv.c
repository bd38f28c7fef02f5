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
        const tg_window *g = job->g;                                                             \
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
                    for (int64_t oh = 0; oh < g->out_h; oh++, dst += g->out_w) {                 \
                        int64_t h = oh * g->stride_h - g->pad_h + i * g->dilation_h;             \
                        if (h < 0 || h >= g->height) { /* a whole row of padding */              \
                            memset(dst, 0, (size_t)g->out_w * sizeof(T));                        \
                            continue;                                                            \
                        }                                                                        \
                        const T *restrict src = x + h * g->width; /* w = ow·sw + w_offset */     \
                        for (int64_t ow = 0; ow < ow_lo; ow++) dst[ow] = 0;                      \
                        if (g->stride_w == 1) /* a unit-stride copy the compiler vectorises */   \
                            for (int64_t ow = ow_lo; ow < ow_hi; ow++)                           \
                                dst[ow] = src[ow + w_offset];                                    \
                        else                                                                     \
                            for (int64_t ow = ow_lo; ow < ow_hi; ow++)                           \
                                dst[ow] = src[ow * g->stride_w + w_offset];                      \
                        for (int64_t ow = ow_hi; ow < g->out_w; ow++) dst[ow] = 0;               \
                    }                                                                            \
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
        const tg_window *g = job->g;                                                             \
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
                    for (int64_t oh = 0; oh < g->out_h; oh++, src += g->out_w) {                 \
                        int64_t h = oh * g->stride_h - g->pad_h + i * g->dilation_h;             \
                        if (h < 0 || h >= g->height) continue; /* read padding: no input */      \
                        T *restrict dst = x + h * g->width;                                      \
                        /* grad_x[h, w] += cols[(c, i, j), (n, oh, ow)],  w = ow·sw + w_offset */ \
                        if (g->stride_w == 1) /* unit stride: a vectorised add */                \
                            for (int64_t ow = ow_lo; ow < ow_hi; ow++)                           \
                                dst[ow + w_offset] += src[ow];                                   \
                        else                                                                     \
                            for (int64_t ow = ow_lo; ow < ow_hi; ow++)                           \
                                dst[ow * g->stride_w + w_offset] += src[ow];                     \
                    }                                                                            \
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
