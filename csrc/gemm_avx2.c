/* AVX2 + FMA microkernels: 8 floats (4 doubles) per ymm register, 16 registers.
 *
 * Tile: 6 rows x 2 vectors = 12 accumulators (6 x 16 floats, 6 x 8 doubles),
 * 2 registers for the row of B, 1 for the broadcast of A: 15 of the 16 ymm
 * (BLIS's and OpenBLAS's Haswell tile). A 4-row variant finishes a ragged last
 * sliver of A. Edge columns of C use AVX's maskload/maskstore (lanes whose mask
 * sign bit is set); the packing stores partial vectors with 128- and 64-bit
 * stores instead, because AMD's masked stores are slow microcode.
 */
#include "gemm_kernels.h"

#ifdef TG_HAVE_X86_KERNELS
#include <immintrin.h>

#define TG_TARGET __attribute__((target("avx2,fma")))
#define MR 6
#define VECS 2

/* Transpose r[0..7] in place (8 x 8 floats): interleave 32-bit pairs of
 * neighbouring rows, then 64-bit pairs (each 128-bit half now holds a 4 x 4
 * transposed piece), then swap 128-bit halves into place. */
TG_TARGET static inline void transpose_8x8_s(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 8; g += 4) { /* u[g + c]: rows g..g+3 of columns c and c + 4 */
        u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
        u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xEE);
        u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

/* Transpose r[0..3] in place (4 x 4 doubles), the same way in two rounds. */
TG_TARGET static inline void transpose_4x4_d(__m256d r[4]) {
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

/* The first n lanes of v to dst (n >= 8: all): 128-, 64- and 32-bit stores. */
TG_TARGET static inline void store_part_s(float *dst, int64_t n, __m256 v) {
    if (n >= 8) {
        _mm256_storeu_ps(dst, v);
        return;
    }
    __m128 part = _mm256_castps256_ps128(v);
    if (n >= 4) _mm_storeu_ps(dst, part), dst += 4, n -= 4, part = _mm256_extractf128_ps(v, 1);
    if (n >= 2) _mm_storel_pi((__m64 *)dst, part), dst += 2, n -= 2, part = _mm_movehl_ps(part, part);
    if (n >= 1) _mm_store_ss(dst, part);
}

TG_TARGET static inline void store_part_d(double *dst, int64_t n, __m256d v) {
    if (n >= 4) {
        _mm256_storeu_pd(dst, v);
        return;
    }
    __m128d part = _mm256_castpd256_pd128(v);
    if (n >= 2) _mm_storeu_pd(dst, part), dst += 2, n -= 2, part = _mm256_extractf128_pd(v, 1);
    if (n >= 1) _mm_store_sd(dst, part);
}

/* ---- float32 ---- */
#define T float
#define SUFFIX _avx2_s
#define VEC __m256
#define LANES 8
#define MASK __m256i
/* lane l is on when l < cols */
#define V_MASK(cols) \
    _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(cols)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define V_ZERO _mm256_setzero_ps
#define V_LOAD _mm256_loadu_ps
#define V_SET1 _mm256_set1_ps
#define V_FMA _mm256_fmadd_ps
#define V_MUL _mm256_mul_ps
#define V_MASKLOAD(mask, p) _mm256_maskload_ps(p, mask)
#define V_MASKSTORE _mm256_maskstore_ps
#define V_STORE _mm256_storeu_ps
#define V_STORE_PART store_part_s
#define V_TRANSPOSE transpose_8x8_s
#include "gemm_simd_kernels.inc"
/* kc, mc, nc = 0: derived from the CPU's caches (cache.c) */
const tg_sgemm_config tg_sgemm_avx2 = {"avx2", MR, VECS * LANES, 0, 0, 0, FN(microkernel),
                                       {FN(pack_a_rows), FN(pack_a_cols)},
                                       {FN(pack_b_cols), FN(pack_b_rows)},
                                       SHORT_TILE_8, SHORT_TILE_4};
#include "gemm_simd_undef.h"

/* ---- float64 ---- */
#define T double
#define SUFFIX _avx2_d
#define VEC __m256d
#define LANES 4
#define MASK __m256i
#define V_MASK(cols) \
    _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(cols)), _mm256_setr_epi64x(0, 1, 2, 3))
#define V_ZERO _mm256_setzero_pd
#define V_LOAD _mm256_loadu_pd
#define V_SET1 _mm256_set1_pd
#define V_FMA _mm256_fmadd_pd
#define V_MUL _mm256_mul_pd
#define V_MASKLOAD(mask, p) _mm256_maskload_pd(p, mask)
#define V_MASKSTORE _mm256_maskstore_pd
#define V_STORE _mm256_storeu_pd
#define V_STORE_PART store_part_d
#define V_TRANSPOSE transpose_4x4_d
#include "gemm_simd_kernels.inc"
const tg_dgemm_config tg_dgemm_avx2 = {"avx2", MR, VECS * LANES, 0, 0, 0, FN(microkernel),
                                       {FN(pack_a_rows), FN(pack_a_cols)},
                                       {FN(pack_b_cols), FN(pack_b_rows)},
                                       SHORT_TILE_8, SHORT_TILE_4};
#include "gemm_simd_undef.h"
#endif
