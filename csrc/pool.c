/* Max and average pooling over windows of each (n, c) plane, forward and backward.
 *
 *   max:  out[n, c, oh, ow] = max over the window of x,  indices = where (h·W + w)
 *         grad_x[n, c, h, w] = Σ grad_out over the outputs whose index names (h, w)
 *   avg:  out[n, c, oh, ow] = Σ over the window of x / divisor
 *         grad_x[n, c, h, w] = Σ over the windows holding (h, w) of grad_out / divisor
 *
 * Window (oh, ow) starts at (oh·sh - ph, ow·sw - pw); padding never wins a max
 * and adds 0 to a sum. The divisor is the window's size counting the padding
 * (count_include_pad) or only the elements inside the image, as PyTorch.
 * Threads split the planes, so every gradient element is summed in one fixed order.
 */
#include <math.h> /* INFINITY */
#include <string.h>

#include "parallel.h"
#include "window.h"

/* Work per plane, for the thread count. */
static double pool_work(const tg_window *g) {
    return (double)g->kernel_h * (double)g->kernel_w * (double)g->out_h * (double)g->out_w;
}

/* Output columns are done in chunks of this many, with their winning taps on the stack. */
#define TG_POOL_CHUNK 64

/* TAP: an integer as wide as T, so that selecting a tap number next to a value of T
 * vectorises (one lane each). */
#define DEFINE_MAX_POOL(NAME, T, TAP)                                                            \
    typedef struct {                                                                             \
        const T *x;                                                                              \
        T *out;                                                                                  \
        int64_t *indices;                                                                        \
        const tg_window *g;                                                                      \
    } NAME##_job;                                                                                \
                                                                                                 \
    /* Tap (i, j) of the windows ow in [lo, hi) (win_i/win_j[ow - c0] hold ow's winning tap   \
     * so far): where x beats the best so far, it becomes the best. */                          \
    static inline void NAME##_taps(const T *restrict from, int64_t sw, T *restrict best,         \
                                   TAP *restrict win_i, TAP *restrict win_j, int64_t c0, TAP i,  \
                                   TAP j, int64_t lo, int64_t hi) {                              \
        for (int64_t ow = lo; ow < hi; ow++) {                                                   \
            T value = from[ow * sw];                                                             \
            /* the first maximum wins ties; a NaN wins over everything */                        \
            int wins = (value > best[ow]) | (value != value);                                    \
            best[ow] = wins ? value : best[ow];                                                  \
            win_i[ow - c0] = wins ? i : win_i[ow - c0];                                          \
            win_j[ow - c0] = wins ? j : win_j[ow - c0];                                          \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    /* Row by row: out[oh, :] starts at -inf and takes each window tap k = (i, j) in turn,       \
     * for a chunk of ow at once, remembering the winning tap. That visits every window's        \
     * elements in the same (i, j) order as window by window would, but as long loops over       \
     * ow, with selects instead of branches, that the compiler vectorises. The winning tap       \
     * (i, j) becomes a position h·W + w once per output, at the end (kept as two numbers,      \
     * not i·KW + j: splitting that again would cost a division per output). */                 \
    static void NAME##_planes(int64_t lo, int64_t hi, void *context) {                           \
        const NAME##_job *job = context;                                                         \
        const tg_window *g = job->g;                                                             \
        int64_t positions = g->out_h * g->out_w, sw = g->stride_w;                               \
        TAP win_i[TG_POOL_CHUNK], win_j[TG_POOL_CHUNK];                                          \
        for (int64_t plane = lo; plane < hi; plane++) {                                          \
            const T *restrict x = job->x + plane * g->height * g->width;                         \
            for (int64_t oh = 0; oh < g->out_h; oh++) {                                          \
                int64_t h0 = oh * g->stride_h - g->pad_h, i_lo, i_hi;                            \
                tg_window_inside(h0, g->dilation_h, g->height, g->kernel_h, &i_lo, &i_hi);       \
                for (int64_t c0 = 0; c0 < g->out_w; c0 += TG_POOL_CHUNK) {                       \
                    int64_t c1 = c0 + TG_POOL_CHUNK < g->out_w ? c0 + TG_POOL_CHUNK : g->out_w;  \
                    T *restrict best = job->out + plane * positions + oh * g->out_w;             \
                    /* a window of padding only has no element: -inf, tap -1 */                  \
                    for (int64_t ow = c0; ow < c1; ow++) best[ow] = -INFINITY;                   \
                    for (int64_t ow = c0; ow < c1; ow++) win_i[ow - c0] = -1;                    \
                    for (int64_t ow = c0; ow < c1; ow++) win_j[ow - c0] = 0;                     \
                    for (int64_t i = i_lo; i < i_hi; i++) {                                      \
                        const T *restrict x_row = x + (h0 + i * g->dilation_h) * g->width;       \
                        for (int64_t j = 0; j < g->kernel_w; j++) {                              \
                            /* w = ow·sw + w_offset lies inside the image for ow in [lo, hi) */  \
                            int64_t w_offset = j * g->dilation_w - g->pad_w, ow_lo, ow_hi;       \
                            tg_window_inside(w_offset, sw, g->width, g->out_w, &ow_lo, &ow_hi);  \
                            ow_lo = ow_lo > c0 ? ow_lo : c0;                                     \
                            ow_hi = ow_hi < c1 ? ow_hi : c1;                                     \
                            const T *restrict from = x_row + w_offset;                           \
                            /* stride 2 (the usual 2x2 pooling) as a constant: the compiler     \
                             * then vectorises the strided reads, which it cannot for any sw */  \
                            if (sw == 2)                                                         \
                                NAME##_taps(from, 2, best, win_i, win_j, c0, (TAP)i, (TAP)j, ow_lo, ow_hi);           \
                            else                                                                 \
                                NAME##_taps(from, sw, best, win_i, win_j, c0, (TAP)i, (TAP)j, ow_lo, ow_hi);          \
                        }                                                                        \
                    }                                                                            \
                    int64_t *indices = job->indices + plane * positions + oh * g->out_w;         \
                    for (int64_t ow = c0; ow < c1; ow++) {                                       \
                        int64_t h = h0 + (int64_t)win_i[ow - c0] * g->dilation_h;                \
                        int64_t w = ow * sw - g->pad_w + (int64_t)win_j[ow - c0] * g->dilation_w; \
                        indices[ow] = win_i[ow - c0] < 0 ? -1 : h * g->width + w;                \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    tg_status NAME(const T *x, T *out, int64_t *indices, const tg_window *g) {                   \
        tg_status status = tg_window_check(g);                                                   \
        if (status != TG_OK) return status;                                                      \
        int64_t planes = g->batch * g->channels;                                                 \
        NAME##_job job = {x, out, indices, g};                                                   \
        int threads = tg_threads_for((double)planes * pool_work(g), TG_ELEMENTWISE_GRAIN);       \
        tg_parallel_for(planes, threads, NAME##_planes, &job);                                   \
        return TG_OK;                                                                            \
    }

/* The first position whose index is outside [-1, plane), or -1 if all are valid. */
static int64_t first_bad_index(const int64_t *indices, int64_t count, int64_t plane) {
    for (int64_t k = 0; k < count; k++)
        if (indices[k] < -1 || indices[k] >= plane) return k;
    return -1;
}

#define DEFINE_MAX_POOL_BACKWARD(NAME, T)                                                        \
    typedef struct {                                                                             \
        const T *grad_out;                                                                       \
        const int64_t *indices;                                                                  \
        T *grad_x;                                                                               \
        const tg_window *g;                                                                      \
    } NAME##_job;                                                                                \
                                                                                                 \
    static void NAME##_planes(int64_t lo, int64_t hi, void *context) {                           \
        const NAME##_job *job = context;                                                         \
        const tg_window *g = job->g;                                                             \
        int64_t positions = g->out_h * g->out_w, plane_size = g->height * g->width;              \
        for (int64_t plane = lo; plane < hi; plane++) {                                          \
            T *grad_x = job->grad_x + plane * plane_size;                                        \
            const T *grad_out = job->grad_out + plane * positions;                               \
            const int64_t *indices = job->indices + plane * positions;                           \
            memset(grad_x, 0, (size_t)plane_size * sizeof(T));                                   \
            /* grad_x[indices[k]] += grad_out[k]  (a scatter; -1: an empty window) */            \
            for (int64_t k = 0; k < positions; k++)                                              \
                if (indices[k] >= 0) grad_x[indices[k]] += grad_out[k];                          \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    tg_status NAME(const T *grad_out, const int64_t *indices, T *grad_x, const tg_window *g,     \
                   int64_t *bad_position) {                                                      \
        tg_status status = tg_window_check(g);                                                   \
        if (status != TG_OK) return status;                                                      \
        int64_t planes = g->batch * g->channels, positions = g->out_h * g->out_w;                \
        *bad_position = first_bad_index(indices, planes * positions, g->height * g->width);      \
        if (*bad_position >= 0) return TG_ERR_INDEX;                                             \
        NAME##_job job = {grad_out, indices, grad_x, g};                                         \
        double work = (double)planes * (double)(positions + g->height * g->width);               \
        tg_parallel_for(planes, tg_threads_for(work, TG_ELEMENTWISE_GRAIN), NAME##_planes, &job); \
        return TG_OK;                                                                            \
    }

/* Window (oh, ow) of an average pool: rows [*h0, *h1), columns [*w0, *w1) inside the image,
 * and the divisor: divisor_override if > 0, else the window's size with or without padding.
 * (The padded window is clipped at the far padding edge, as PyTorch, when ceil_mode made a
 * window hang over it.) */
static int64_t avg_window(const tg_window *g, int64_t oh, int64_t ow, int count_include_pad,
                          int64_t divisor_override, int64_t *h0, int64_t *h1, int64_t *w0,
                          int64_t *w1) {
    int64_t hs = oh * g->stride_h - g->pad_h, ws = ow * g->stride_w - g->pad_w;
    int64_t he = hs + g->kernel_h, we = ws + g->kernel_w;
    if (he > g->height + g->pad_h) he = g->height + g->pad_h;
    if (we > g->width + g->pad_w) we = g->width + g->pad_w;
    int64_t padded_size = (he - hs) * (we - ws);
    *h0 = hs < 0 ? 0 : hs;
    *w0 = ws < 0 ? 0 : ws;
    *h1 = he > g->height ? g->height : he;
    *w1 = we > g->width ? g->width : we;
    if (divisor_override > 0) return divisor_override;
    return count_include_pad ? padded_size : (*h1 - *h0) * (*w1 - *w0);
}

#define DEFINE_AVG_POOL(NAME, T)                                                                 \
    typedef struct {                                                                             \
        const T *x;                                                                              \
        T *out;                                                                                  \
        const tg_window *g;                                                                      \
        int count_include_pad;                                                                   \
        int64_t divisor_override;                                                                \
    } NAME##_job;                                                                                \
                                                                                                 \
    static void NAME##_planes(int64_t lo, int64_t hi, void *context) {                           \
        const NAME##_job *job = context;                                                         \
        const tg_window *g = job->g;                                                             \
        for (int64_t plane = lo; plane < hi; plane++) {                                          \
            const T *x = job->x + plane * g->height * g->width;                                  \
            T *out = job->out + plane * g->out_h * g->out_w;                                     \
            for (int64_t oh = 0; oh < g->out_h; oh++)                                            \
                for (int64_t ow = 0; ow < g->out_w; ow++) {                                      \
                    int64_t h0, h1, w0, w1;                                                      \
                    int64_t divisor = avg_window(g, oh, ow, job->count_include_pad,              \
                                                 job->divisor_override, &h0, &h1, &w0, &w1);     \
                    T sum = 0;                                                                   \
                    for (int64_t h = h0; h < h1; h++)                                            \
                        for (int64_t w = w0; w < w1; w++) sum += x[h * g->width + w];            \
                    out[oh * g->out_w + ow] = sum / (T)divisor;                                  \
                }                                                                                \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    tg_status NAME(const T *x, T *out, const tg_window *g, int count_include_pad,                \
                   int64_t divisor_override) {                                                   \
        tg_status status = tg_window_check(g);                                                   \
        if (status != TG_OK) return status;                                                      \
        if (g->dilation_h != 1 || g->dilation_w != 1 || divisor_override < 0)                    \
            return TG_ERR_ARGUMENT;                                                              \
        int64_t planes = g->batch * g->channels;                                                 \
        NAME##_job job = {x, out, g, count_include_pad, divisor_override};                       \
        int threads = tg_threads_for((double)planes * pool_work(g), TG_ELEMENTWISE_GRAIN);       \
        tg_parallel_for(planes, threads, NAME##_planes, &job);                                   \
        return TG_OK;                                                                            \
    }

#define DEFINE_AVG_POOL_BACKWARD(NAME, T)                                                        \
    typedef struct {                                                                             \
        const T *grad_out;                                                                       \
        T *grad_x;                                                                               \
        const tg_window *g;                                                                      \
        int count_include_pad;                                                                   \
        int64_t divisor_override;                                                                \
    } NAME##_job;                                                                                \
                                                                                                 \
    static void NAME##_planes(int64_t lo, int64_t hi, void *context) {                           \
        const NAME##_job *job = context;                                                         \
        const tg_window *g = job->g;                                                             \
        for (int64_t plane = lo; plane < hi; plane++) {                                          \
            T *grad_x = job->grad_x + plane * g->height * g->width;                              \
            const T *grad_out = job->grad_out + plane * g->out_h * g->out_w;                     \
            memset(grad_x, 0, (size_t)(g->height * g->width) * sizeof(T));                       \
            for (int64_t oh = 0; oh < g->out_h; oh++)                                            \
                for (int64_t ow = 0; ow < g->out_w; ow++) {                                      \
                    int64_t h0, h1, w0, w1;                                                      \
                    int64_t divisor = avg_window(g, oh, ow, job->count_include_pad,              \
                                                 job->divisor_override, &h0, &h1, &w0, &w1);     \
                    /* each element of the window gets grad_out / divisor */                     \
                    T share = grad_out[oh * g->out_w + ow] / (T)divisor;                         \
                    for (int64_t h = h0; h < h1; h++)                                            \
                        for (int64_t w = w0; w < w1; w++) grad_x[h * g->width + w] += share;     \
                }                                                                                \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    tg_status NAME(const T *grad_out, T *grad_x, const tg_window *g, int count_include_pad,      \
                   int64_t divisor_override) {                                                   \
        tg_status status = tg_window_check(g);                                                   \
        if (status != TG_OK) return status;                                                      \
        if (g->dilation_h != 1 || g->dilation_w != 1 || divisor_override < 0)                    \
            return TG_ERR_ARGUMENT;                                                              \
        int64_t planes = g->batch * g->channels;                                                 \
        NAME##_job job = {grad_out, grad_x, g, count_include_pad, divisor_override};             \
        int threads = tg_threads_for((double)planes * pool_work(g), TG_ELEMENTWISE_GRAIN);       \
        tg_parallel_for(planes, threads, NAME##_planes, &job);                                   \
        return TG_OK;                                                                            \
    }

DEFINE_MAX_POOL(tg_max_pool2d_f32, float, int32_t)
DEFINE_MAX_POOL(tg_max_pool2d_f64, double, int64_t)
DEFINE_MAX_POOL_BACKWARD(tg_max_pool2d_backward_f32, float)
DEFINE_MAX_POOL_BACKWARD(tg_max_pool2d_backward_f64, double)
DEFINE_AVG_POOL(tg_avg_pool2d_f32, float)
DEFINE_AVG_POOL(tg_avg_pool2d_f64, double)
DEFINE_AVG_POOL_BACKWARD(tg_avg_pool2d_backward_f32, float)
DEFINE_AVG_POOL_BACKWARD(tg_avg_pool2d_backward_f64, double)
