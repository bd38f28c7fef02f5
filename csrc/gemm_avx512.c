/* AVX-512 microkernels: 16 floats (8 doubles) per zmm register, 32 registers.
 *
 * Tile: 12 rows x 2 vectors = 24 accumulators (12 x 32 floats, 12 x 16 doubles),
 * 2 registers for the row of B, 1 for the broadcast of A. Per k step: 2 loads,
 * 12 broadcasts (folded into the FMAs as {1toN} memory operands), 24 FMAs.
 * 8- and 4-row variants finish a batch of 32 or 64 rows (32 = 12 + 12 + 8)
 * without computing padding rows. Edge columns and the packing's partial
 * vectors use AVX-512's mask registers.
 * Compiled for AVX-512 by the target attribute only; cpu.c calls it only on a
 * CPU that has AVX-512F.
 */
#include "gemm_kernels.h"

#ifdef TG_HAVE_X86_KERNELS
#include <immintrin.h>

#define TG_TARGET __attribute__((target("avx512f")))
#define MR 12
#define VECS 2

/* Transpose r[0..15] in place: row i, column c becomes row c, column i.
 * Three rounds: interleave 32-bit pairs of neighbouring rows, then 64-bit
 * pairs, which leaves each 128-bit block holding a 4 x 4 transposed piece;
 * then move the 128-bit blocks to their places (shuffle_f32x4, twice). */
TG_TARGET static inline void transpose_16x16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* u[4g + c]: in 128-bit block L, rows 4g..4g+3 of column 4L + c */
    __m512 u[16];
    for (int g = 0; g < 16; g += 4) {
        __m512d t0 = _mm512_castps_pd(t[g]), t1 = _mm512_castps_pd(t[g + 1]);
        __m512d t2 = _mm512_castps_pd(t[g + 2]), t3 = _mm512_castps_pd(t[g + 3]);
        u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44);
        __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        r[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        r[8 + c] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
}

/* Transpose r[0..7] in place (8 x 8 doubles): interleave 64-bit pairs of
 * neighbouring rows, then move 128-bit blocks as in transpose_16x16. */
TG_TARGET static inline void transpose_8x8(__m512d r[8]) {
    /* t[2g + c]: in 128-bit block L, rows 2g, 2g+1 of column 2L + c */
    __m512d t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
    for (int c = 0; c < 2; c++) {
        __m512d v0 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0x44);
        __m512d v1 = _mm512_shuffle_f64x2(t[c], t[2 + c], 0xEE);
        __m512d v2 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0x44);
        __m512d v3 = _mm512_shuffle_f64x2(t[4 + c], t[6 + c], 0xEE);
        r[c] = _mm512_shuffle_f64x2(v0, v2, 0x88);
        r[2 + c] = _mm512_shuffle_f64x2(v0, v2, 0xDD);
        r[4 + c] = _mm512_shuffle_f64x2(v1, v3, 0x88);
        r[6 + c] = _mm512_shuffle_f64x2(v1, v3, 0xDD);
    }
}

/* ---- float32 ---- */
#define T float
#define SUFFIX _avx512_s
#define VEC __m512
#define LANES 16
#define MASK __mmask16
/* lanes 0 .. cols-1 on (cols >= 1) */
#define V_MASK(cols) ((cols) >= LANES ? (MASK)0xFFFF : (MASK)((1u << (cols)) - 1))
#define V_ZERO _mm512_setzero_ps
#define V_LOAD _mm512_loadu_ps
#define V_SET1 _mm512_set1_ps
#define V_FMA _mm512_fmadd_ps
#define V_MUL _mm512_mul_ps
#define V_MASKLOAD _mm512_maskz_loadu_ps
#define V_MASKSTORE _mm512_mask_storeu_ps
#define V_STORE _mm512_storeu_ps
#define V_STORE_PART(dst, n, v) _mm512_mask_storeu_ps(dst, V_MASK(n), v)
#define V_TRANSPOSE transpose_16x16
#include "gemm_simd_kernels.inc"
/* kc, mc, nc = 0: derived from the CPU's caches (cache.c) */
const tg_sgemm_config tg_sgemm_avx512 = {"avx512", MR, VECS * LANES, 0, 0, 0, FN(microkernel),
                                         {FN(pack_a_rows), FN(pack_a_cols)},
                                         {FN(pack_b_cols), FN(pack_b_rows)},
                                         SHORT_TILE_8, SHORT_TILE_4};
#include "gemm_simd_undef.h"

/* ---- float64 ---- */
#define T double
#define SUFFIX _avx512_d
#define VEC __m512d
#define LANES 8
#define MASK __mmask8
#define V_MASK(cols) ((cols) >= LANES ? (MASK)0xFF : (MASK)((1u << (cols)) - 1))
#define V_ZERO _mm512_setzero_pd
#define V_LOAD _mm512_loadu_pd
#define V_SET1 _mm512_set1_pd
#define V_FMA _mm512_fmadd_pd
#define V_MUL _mm512_mul_pd
#define V_MASKLOAD _mm512_maskz_loadu_pd
#define V_MASKSTORE _mm512_mask_storeu_pd
#define V_STORE _mm512_storeu_pd
#define V_STORE_PART(dst, n, v) _mm512_mask_storeu_pd(dst, V_MASK(n), v)
#define V_TRANSPOSE transpose_8x8
#include "gemm_simd_kernels.inc"
const tg_dgemm_config tg_dgemm_avx512 = {"avx512", MR, VECS * LANES, 0, 0, 0, FN(microkernel),
                                         {FN(pack_a_rows), FN(pack_a_cols)},
                                         {FN(pack_b_cols), FN(pack_b_rows)},
                                         SHORT_TILE_8, SHORT_TILE_4};
#include "gemm_simd_undef.h"
#endif
