/* Column sums: the gradient of a bias broadcast over the rows of a batch. */
#include "kernels.h"

/* out[j] = sum_i x[i, j], rows added in order 0, 1, 2, ... */
#define DEFINE_COLUMN_SUM(NAME, T)                                          \
    tg_status NAME(const T *x, T *out, int64_t rows, int64_t cols) {        \
        if (rows < 0 || cols < 0) return TG_ERR_ARGUMENT;                   \
        for (int64_t j = 0; j < cols; j++) out[j] = 0;                      \
        for (int64_t i = 0; i < rows; i++) {                                \
            const T *x_row = x + i * cols;                                  \
            for (int64_t j = 0; j < cols; j++) out[j] += x_row[j];          \
        }                                                                   \
        return TG_OK;                                                       \
    }

DEFINE_COLUMN_SUM(tg_column_sum_f32, float)
DEFINE_COLUMN_SUM(tg_column_sum_f64, double)
