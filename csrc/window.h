/* Sliding windows over an image plane, shared by conv.c and pool.c (internal to csrc/).
 *
 * Output o of a window with stride s, padding p and dilation d reads input
 * positions o·s - p + k·d, k = 0 .. kernel-1; positions outside [0, size) are
 * padding. These helpers check a tg_window and find, without a branch per
 * element, the outputs whose reads land inside the image.
 */
#ifndef TG_WINDOW_H
#define TG_WINDOW_H

#include "kernels.h"

/* TG_ERR_ARGUMENT unless sizes >= 0, kernel, stride, dilation >= 1, padding >= 0. */
static inline tg_status tg_window_check(const tg_window *g) {
    if (g->batch < 0 || g->channels < 0 || g->height < 0 || g->width < 0) return TG_ERR_ARGUMENT;
    if (g->kernel_h < 1 || g->kernel_w < 1 || g->stride_h < 1 || g->stride_w < 1)
        return TG_ERR_ARGUMENT;
    if (g->dilation_h < 1 || g->dilation_w < 1 || g->pad_h < 0 || g->pad_w < 0)
        return TG_ERR_ARGUMENT;
    if (g->out_h < 0 || g->out_w < 0) return TG_ERR_ARGUMENT;
    return TG_OK;
}

/* ceil(a / b) for b > 0 and a of either sign */
static inline int64_t tg_ceil_div(int64_t a, int64_t b) {
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

/* [*lo, *hi): the outputs o in [0, count) whose position o·stride + offset lies in
 * [0, size). Outside that range a window reads padding. */
static inline void tg_window_inside(int64_t offset, int64_t stride, int64_t size, int64_t count,
                                    int64_t *lo, int64_t *hi) {
    if (offset >= 0 && count > 0 && offset + (count - 1) * stride < size) {
        *lo = 0, *hi = count; /* the common case, away from the border: no division */
        return;
    }
    int64_t first = offset >= 0 ? 0 : tg_ceil_div(-offset, stride);
    int64_t end = tg_ceil_div(size - offset, stride);
    *hi = end < 0 ? 0 : end > count ? count : end;
    *lo = first > *hi ? *hi : first;
}

#endif
