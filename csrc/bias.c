/* Column sums: the gradient of a bias broadcast over the rows of a batch.
 *
 *   out[j] = sum_i x[i, j]
 *
 * Rows are added one after another (a vectorised pass along each row), and
 * threads split the columns, never the rows: every out[j] is summed in the
 * order i = 0, 1, 2, ... whatever the thread count, so results are identical.
 */
#include "parallel.h"

#define DEFINE_COLUMN_SUM(NAME, T)                                                          \
    typedef struct {                                                                        \
        const T *x;                                                                         \
        T *out;                                                                             \
        int64_t rows, cols;                                                                 \
    } NAME##_job;                                                                           \
                                                                                            \
    /* out[lo:hi] = sum over rows of x[:, lo:hi] */                                         \
    static void NAME##_columns(int64_t lo, int64_t hi, void *context) {                     \
        const NAME##_job *job = context;                                                    \
        T *out = job->out;                                                                  \
        for (int64_t j = lo; j < hi; j++) out[j] = 0;                                       \
        for (int64_t i = 0; i < job->rows; i++) {                                           \
            const T *x_row = job->x + i * job->cols;                                        \
            for (int64_t j = lo; j < hi; j++) out[j] += x_row[j];                           \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    tg_status NAME(const T *x, T *out, int64_t rows, int64_t cols) {                        \
        if (rows < 0 || cols < 0) return TG_ERR_ARGUMENT;                                   \
        NAME##_job job = {x, out, rows, cols};                                              \
        int threads = tg_threads_for((double)rows * (double)cols, TG_ELEMENTWISE_GRAIN);    \
        if (threads > cols / 64) threads = cols / 64 > 1 ? (int)(cols / 64) : 1;            \
        tg_parallel_for(cols, threads, NAME##_columns, &job);                               \
        return TG_OK;                                                                       \
    }

DEFINE_COLUMN_SUM(tg_column_sum_f32, float)
DEFINE_COLUMN_SUM(tg_column_sum_f64, double)
