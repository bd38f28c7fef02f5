/* Matrix multiply, the BLIS/GotoBLAS way:  C = alpha * op(A) @ op(B) + beta * C
 *
 * A naive triple loop does 2 flops per element it loads, and the loads miss
 * the caches as soon as the matrices outgrow them: it runs at memory speed,
 * 1-30% of what the FMA units can do. The fix is to reuse each loaded number
 * many times while it sits in a register or a cache. Five loops around a tiny
 * "microkernel" arrange exactly that (Goto & van de Geijn 2008; BLIS):
 *
 *   loop 5  for jc in steps of NC:   a KC x NC panel of op(B) ...     (L3)
 *   loop 4   for pc in steps of KC:  ... of depth KC
 *   loop 3    for ic in steps of MC: an MC x KC block of op(A): pack -> a_packed (L2)
 *   loop 2     for jr in steps of NR: one KC x NR sliver of op(B), packed -> b_packed
 *                                     on its first use (ic = 0)     (L1)
 *   loop 1      for ir in steps of MR: one MR x KC sliver of a_packed
 *                 microkernel: the MR x NR tile of C += sliver_A @ sliver_B,
 *                 kept in vector registers for all KC steps (register blocking)
 *
 * Why packing: the microkernel then streams both operands with unit stride
 * from aligned buffers that stay in cache, whatever the original layout, and
 * the transposes (trans_a, trans_b) cost nothing extra: they only change the
 * order in which the packing reads (see gemm_driver.inc).
 *
 * Why these sizes (AVX-512, float32; see gemm_avx512.c): a 12 x 32 tile is 24
 * of the 32 zmm registers, each k step loads 2 vectors of B and 12 broadcasts
 * of A for 24 FMAs, enough independent sums to keep both FMA pipes busy through
 * their 4-cycle latency. KC, MC and NC are not constants: cache.c derives them
 * at run time from the CPU's cache sizes (on a 48 KB, 12-way L1: KC = 256, a
 * 32 KB B sliver in 8 ways beside 12 KB A slivers in 3), by BLIS's analytical
 * model. docs/gemm.md has the rule and the measured effect of each step.
 *
 * Threads (OpenMP): C is cut along its longer side into one part per thread
 * (whole NR-column or MR-row slivers) and each thread runs the five loops on
 * its part with private packing buffers (allocated by the caller): no barriers
 * inside a product, so a thread that loses its core to another process delays
 * only the end of the call, not every block of it. Every element of C is
 * summed in the same order (kc rounds, then p within a round) whatever the
 * panel it falls in, so results are bitwise identical for any thread count.
 */
#include <stdlib.h>

#include "gemm_kernels.h"
#include "parallel.h"

#if defined(__GNUC__) || defined(__clang__)
#define TG_PREFETCH(address) __builtin_prefetch((address), 1, 3) /* for writing, keep in L1 */
#else
#define TG_PREFETCH(address) ((void)(address))
#endif

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
static int64_t max64(int64_t x, int64_t y) { return x > y ? x : y; }
static int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }
static int64_t round_up(int64_t x, int64_t multiple) { return ceil_div(x, multiple) * multiple; }

/* The steps of loops 5, 4 and 3 for one product. */
typedef struct {
    int64_t mc, nc, kc;
} blocking;

/* Packing B pays off when each B sliver serves many A slivers. With few rows
 * of A and a small B it does not: a row-major B is then read in place (its
 * full NR-column slivers; a ragged last sliver is still packed, zero-padded).
 * Measured (AVX-512, one thread): 32x256 @ 256x784 went from 79 to 117 GFLOP/s
 * in float32 when B was packed as a whole panel first. Since B slivers are
 * packed on first use (into L1), that product is faster packed again
 * (same-run ratios to OpenBLAS, medians of 5: AVX2 float64 0.84x in place,
 * 0.92x packed; AVX-512 float64 1.23x, 1.56x; float32 +3-7%): a B of many
 * rows, read in place with a stride, spreads each sliver over few L1 sets.
 * Only a B that fits in L1 whole (32 KB, the smallest common L1d) is still
 * read in place: the 32 x 32 and 64 x 64 squares, where packing's own cost
 * is what matters (1.88x against 1.54x at 32, AVX-512). */
#define B_IN_PLACE_MAX_M 96
#define B_IN_PLACE_MAX_BYTES (32 << 10)

/* Cut each dimension into equal blocks no larger than the configured size
 * (mc, nc rounded up to whole slivers): k = 784 with KC = 256 becomes 4 x 196
 * rather than 3 x 256 + 16, whose thin last round would cost a full pass over C. */
static blocking balanced_blocking(int64_t m, int64_t n, int64_t k, int64_t mr, int64_t nr,
                                  int64_t kc, int64_t mc, int64_t nc) {
    blocking steps;
    steps.kc = ceil_div(k, ceil_div(k, kc));
    steps.mc = round_up(ceil_div(m, ceil_div(m, mc)), mr);
    steps.nc = round_up(ceil_div(n, ceil_div(n, nc)), nr);
    return steps;
}

/* A 64-byte aligned buffer (a cache line, and one AVX-512 vector) from malloc,
 * with the offset to the real block stored just before it. */
static void *aligned_buffer(int64_t bytes) {
    if (bytes < 0 || (uint64_t)bytes > SIZE_MAX - 128) return NULL;
    unsigned char *raw = malloc((size_t)bytes + 128);
    if (!raw) return NULL;
    unsigned char *aligned = raw + 64 + (64 - (uintptr_t)raw % 64) % 64;
    ((unsigned char **)aligned)[-1] = raw;
    return aligned;
}

static void free_aligned_buffer(void *aligned) {
    if (aligned) free(((unsigned char **)aligned)[-1]);
}

/* Threads worth starting: waking a sleeping thread costs microseconds, so
 * each thread should get at least about a million multiply-adds. */
#define TG_MAX_GEMM_PARTS 256

static int gemm_threads(int64_t m, int64_t n, int64_t k) {
    int threads = tg_threads_for((double)m * (double)n * (double)k, 1 << 20);
    return threads < TG_MAX_GEMM_PARTS ? threads : TG_MAX_GEMM_PARTS;
}

/* Part `part` of `parts` of an m x n C, for one thread:
 * rows [row0, row0 + rows) x columns [col0, col0 + cols).
 * The split goes along the longer side of C, in whole slivers: columns (NR)
 * when C is at least as wide as tall, else rows (MR). Each part then packs all
 * of the other operand for itself: a column split packs op(A) once per part
 * (m x k numbers), a row split packs op(B) once per part (k x n), so cutting
 * the longer side duplicates the smaller of the two. No part waits for
 * another: no barrier, no shared packed buffer, no shared writes. */
typedef struct {
    int64_t row0, rows, col0, cols;
} c_part;

static c_part split_c(int64_t mr, int64_t nr, int part, int parts, int64_t m, int64_t n) {
    c_part piece = {0, m, 0, n};
    int64_t lo, hi;
    if (n >= m) {
        tg_share(ceil_div(n, nr), part, parts, &lo, &hi);
        piece.col0 = min64(lo * nr, n), piece.cols = min64(hi * nr, n) - piece.col0;
    } else {
        tg_share(ceil_div(m, mr), part, parts, &lo, &hi);
        piece.row0 = min64(lo * mr, m), piece.rows = min64(hi * mr, m) - piece.row0;
    }
    return piece;
}

/* The block sizes for a microkernel: its config's, where it fixes them, else
 * the cache rule's (tg_blocking_rule: cache.c). */
static tg_block_sizes config_blocking(int64_t mr, int64_t nr, int64_t kc, int64_t mc, int64_t nc,
                                      int64_t element_size) {
    tg_block_sizes sizes = {mc, kc, nc};
    if (kc > 0 && mc > 0 && nc > 0) return sizes;
    tg_cache_info caches = tg_cache_sizes();
    tg_block_sizes derived = tg_blocking_rule(&caches, mr, nr, element_size);
    if (sizes.kc <= 0) sizes.kc = derived.kc;
    if (sizes.mc <= 0) sizes.mc = derived.mc;
    if (sizes.nc <= 0) sizes.nc = derived.nc;
    return sizes;
}

/* float32: the generic microkernel's tile is 4 x 8 */
#define T float
#define SUFFIX _s
#define CONFIG tg_sgemm_config
#define MICROKERNEL tg_sgemm_microkernel
#define GENERIC_CONFIG tg_sgemm_generic
#define SELECTED tg_sgemm_selected
#define GEMM tg_sgemm
#define GENERIC_MR 4
#define GENERIC_NR 8
#include "gemm_driver.inc"

/* float64: the same code, 4 x 4 tile (half the lanes per register) */
#define T double
#define SUFFIX _d
#define CONFIG tg_dgemm_config
#define MICROKERNEL tg_dgemm_microkernel
#define GENERIC_CONFIG tg_dgemm_generic
#define SELECTED tg_dgemm_selected
#define GEMM tg_dgemm
#define GENERIC_MR 4
#define GENERIC_NR 4
#include "gemm_driver.inc"

tg_status tg_gemm_blocking(int64_t element_size, int64_t *mr, int64_t *nr, tg_block_sizes *sizes) {
    if (element_size == (int64_t)sizeof(float)) {
        const tg_sgemm_config *cfg = tg_sgemm_selected();
        *mr = cfg->mr, *nr = cfg->nr, *sizes = blocking_s(cfg);
        return TG_OK;
    }
    if (element_size == (int64_t)sizeof(double)) {
        const tg_dgemm_config *cfg = tg_dgemm_selected();
        *mr = cfg->mr, *nr = cfg->nr, *sizes = blocking_d(cfg);
        return TG_OK;
    }
    return TG_ERR_ARGUMENT;
}

/* out = x @ weight^T + bias: the broadcast bias goes into out first, then one
 * GEMM adds the product onto it (beta = 1). */
#define DEFINE_LINEAR(NAME, GEMM_FN, T)                                                     \
    tg_status NAME(const T *x, const T *weight, const T *bias, T *out, int64_t rows,        \
                   int64_t in, int64_t outs) {                                              \
        if (rows < 0 || in < 0 || outs < 0) return TG_ERR_ARGUMENT;                         \
        for (int64_t i = 0; i < rows; i++)                                                  \
            for (int64_t j = 0; j < outs; j++) out[i * outs + j] = bias ? bias[j] : 0;      \
        return GEMM_FN(0, 1, rows, outs, in, 1, x, max64(in, 1), weight, max64(in, 1), 1, \
                       out, max64(outs, 1));                                                \
    }

DEFINE_LINEAR(tg_linear_f32, tg_sgemm, float)
DEFINE_LINEAR(tg_linear_f64, tg_dgemm, double)
