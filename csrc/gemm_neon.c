/* ARM64 NEON (AArch64 Advanced SIMD) microkernels: 4 floats (2 doubles) per
 * 128-bit register, 32 registers.
 *
 * Tile: 6 rows x 3 vectors = 18 accumulators (6 x 12 floats, 6 x 6 doubles),
 * 3 registers for the row of B and 6 for the numbers of A (GCC loads them as
 * scalars and folds each broadcast into an FMA by element, `fmla v.4s, v.4s,
 * v.s[0]`): 27 of the 32 registers. Per k step: 3 loads of B, 6 of A, 18 FMAs,
 * enough independent sums to cover the FMA latency (4 cycles, 2 pipes on
 * current cores). BLIS's 8 x 12 (float) and 6 x 8 (double) need 35 and 34
 * registers written this way, and GCC 12 spilled accumulators to the stack
 * inside the k loop; 6 x 12 and 6 x 6 compile without a spill (checked in the
 * disassembly: no sp access in the loop).
 * NEON is part of every AArch64 CPU, so no target attribute and no feature
 * test are needed; on any other machine this file compiles to nothing.
 * Speed on ARM is not measured by this project, only correctness (under qemu).
 */
#include "gemm_kernels.h"

#ifdef TG_HAVE_NEON_KERNELS
#include <arm_neon.h>
#include <string.h>

#define TG_TARGET /* NEON is AArch64's baseline: no target attribute */
#define TG_CAT2(a, b) a##b
#define TG_CAT(a, b) TG_CAT2(a, b)
#define FN(name) TG_CAT(name, SUFFIX)

/* NEON has no masked loads and stores: an edge tile's last, partial vector of
 * C goes through a small buffer instead (MASK is the number of valid columns,
 * LANES or more meaning the whole vector). */
#define MASK int64_t
#define V_MASK(cols) (cols)
#define MR 6
#define VECS 3

/* ---- float32: 6 x 12 ---------------------------------------------------------- */
#define T float
#define SUFFIX _neon_s
#define VEC float32x4_t
#define LANES 4
#define V_ZERO() vdupq_n_f32(0.0f)
#define V_LOAD vld1q_f32
#define V_SET1 vdupq_n_f32
#define V_FMA(a, b, sum) vfmaq_f32(sum, a, b) /* sum + a * b, one rounding */
#define V_MUL vmulq_f32

/* the first `cols` numbers at src in a vector (0 after them) */
static inline float32x4_t load_partial_neon_s(const float *src, int64_t cols) {
    if (cols >= LANES) return vld1q_f32(src);
    float lanes[LANES] = {0};
    memcpy(lanes, src, (size_t)cols * sizeof(float));
    return vld1q_f32(lanes);
}

/* the first `cols` lanes of v to dst, nothing after them */
static inline void store_partial_neon_s(float *dst, int64_t cols, float32x4_t v) {
    if (cols >= LANES) {
        vst1q_f32(dst, v);
        return;
    }
    float lanes[LANES];
    vst1q_f32(lanes, v);
    memcpy(dst, lanes, (size_t)cols * sizeof(float));
}
#define V_MASKLOAD(cols, src) load_partial_neon_s(src, cols)
#define V_MASKSTORE store_partial_neon_s

/* the full 6-row tile, and a 4-row tile for a ragged last sliver of A */
#define ROWS MR
#define KERNEL FN(microkernel)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL
#define ROWS 4
#define KERNEL FN(microkernel_4_rows)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL

/* KC = 256: a B sliver is 12 KB and an A sliver 6 KB, inside the smallest
 * common AArch64 L1d (32 KB); MC x KC of A is 120 KB, inside any L2 (>= 256 KB).
 * Not tuned on ARM hardware (none here): the sizes follow the model, not a timing.
 * No NEON packing routines (pack_a, pack_b unset): the driver's loops pack. */
const tg_sgemm_config tg_sgemm_neon = {.name = "neon", .mr = MR, .nr = VECS * LANES,
                                       .kc = 256, .mc = 120, .nc = 3072,
                                       .kernel = microkernel_neon_s,
                                       .kernel_4_rows = microkernel_4_rows_neon_s};
#include "gemm_simd_undef.h"

/* ---- float64: 6 x 6 ----------------------------------------------------------- */
#define T double
#define SUFFIX _neon_d
#define VEC float64x2_t
#define LANES 2
#define MASK int64_t
#define V_MASK(cols) (cols)
#define V_ZERO() vdupq_n_f64(0.0)
#define V_LOAD vld1q_f64
#define V_SET1 vdupq_n_f64
#define V_FMA(a, b, sum) vfmaq_f64(sum, a, b)
#define V_MUL vmulq_f64

static inline float64x2_t load_partial_neon_d(const double *src, int64_t cols) {
    if (cols >= LANES) return vld1q_f64(src);
    double lanes[LANES] = {0};
    memcpy(lanes, src, (size_t)cols * sizeof(double));
    return vld1q_f64(lanes);
}

static inline void store_partial_neon_d(double *dst, int64_t cols, float64x2_t v) {
    if (cols >= LANES) {
        vst1q_f64(dst, v);
        return;
    }
    double lanes[LANES];
    vst1q_f64(lanes, v);
    memcpy(dst, lanes, (size_t)cols * sizeof(double));
}
#define V_MASKLOAD(cols, src) load_partial_neon_d(src, cols)
#define V_MASKSTORE store_partial_neon_d

#define ROWS MR
#define KERNEL FN(microkernel)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL
#define ROWS 4
#define KERNEL FN(microkernel_4_rows)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL

/* KC = 256: a B sliver and an A sliver are 12 KB each (L1); MC x KC of A 240 KB (L2). */
const tg_dgemm_config tg_dgemm_neon = {.name = "neon", .mr = MR, .nr = VECS * LANES,
                                       .kc = 256, .mc = 120, .nc = 3072,
                                       .kernel = microkernel_neon_d,
                                       .kernel_4_rows = microkernel_4_rows_neon_d};
#endif
