/* AVX-512 microkernels: 16 floats (8 doubles) per zmm register, 32 registers.
 *
 * Tile: 12 rows x 2 vectors = 24 accumulators (12 x 32 floats, 12 x 16 doubles),
 * 2 registers for the row of B, 1 for the broadcast of A. Per k step: 2 loads,
 * 12 broadcasts (folded into the FMAs as {1toN} memory operands), 24 FMAs.
 * 8- and 4-row variants finish a batch of 32 or 64 rows (32 = 12 + 12 + 8)
 * without computing padding rows.
 * Compiled for AVX-512 by the target attribute only; cpu.c calls it only on a
 * CPU that has AVX-512F.
 */
#include "gemm_kernels.h"

#ifdef TG_HAVE_X86_KERNELS
#include <immintrin.h>

#define TG_TARGET __attribute__((target("avx512f")))
#define TG_CAT2(a, b) a##b
#define TG_CAT(a, b) TG_CAT2(a, b)
#define FN(name) TG_CAT(name, SUFFIX)
#define MR 12
#define VECS 2

#define T float
#define SUFFIX _avx512_s
#define VEC __m512
#define LANES 16
#define MASK __mmask16
#define V_MASK(cols) ((cols) >= LANES ? (MASK)0xFFFF : (MASK)((1u << (cols)) - 1))
#define V_ZERO _mm512_setzero_ps
#define V_LOAD _mm512_loadu_ps
#define V_SET1 _mm512_set1_ps
#define V_FMA _mm512_fmadd_ps
#define V_MUL _mm512_mul_ps
#define V_MASKLOAD _mm512_maskz_loadu_ps
#define V_MASKSTORE _mm512_mask_storeu_ps
/* the full 12-row tile, and 8- and 4-row tiles for a ragged last sliver of A */
#define ROWS MR
#define KERNEL FN(microkernel)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL
#define ROWS 8
#define KERNEL FN(microkernel_8_rows)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL
#define ROWS 4
#define KERNEL FN(microkernel_4_rows)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL

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

/* Up to 16 rows x 16 columns (p0 .. p0 + width) of a row-major matrix, transposed:
 * r[c] holds column p0 + c of rows first .. first + 15 (0 past `valid` rows). */
TG_TARGET static inline void load_transposed(const float *src, int64_t ld, int64_t first,
                                             int64_t valid, int64_t p0, __mmask16 width,
                                             __m512 r[16]) {
    for (int i = 0; i < 16; i++)
        r[i] = first + i < valid ? _mm512_maskz_loadu_ps(width, src + (first + i) * ld + p0)
                                 : _mm512_setzero_ps();
    transpose_16x16(r);
}

/* One 12-row sliver of a row-major A: dst[p * 12 + i] = src[i * ld + p]. */
TG_TARGET static void pack_a_rows_avx512_s(const float *src, int64_t ld, int64_t valid,
                                           int64_t kc, float *dst) {
    __m512 r[16];
    for (int64_t p0 = 0; p0 < kc; p0 += 16) {
        int64_t width = kc - p0 < 16 ? kc - p0 : 16;
        load_transposed(src, ld, 0, valid, p0, V_MASK(width), r);
        for (int64_t c = 0; c < width; c++)
            _mm512_mask_storeu_ps(dst + (p0 + c) * MR, (__mmask16)((1u << MR) - 1), r[c]);
    }
}

/* One 32-column sliver of op(B) = B^T, B row-major: dst[p * 32 + j] = src[j * ld + p]. */
TG_TARGET static void pack_b_rows_avx512_s(const float *src, int64_t ld, int64_t valid,
                                           int64_t kc, float *dst) {
    __m512 r[16];
    for (int64_t p0 = 0; p0 < kc; p0 += 16) {
        int64_t width = kc - p0 < 16 ? kc - p0 : 16;
        for (int half = 0; half < VECS; half++) {
            load_transposed(src, ld, half * LANES, valid, p0, V_MASK(width), r);
            for (int64_t c = 0; c < width; c++)
                _mm512_store_ps(dst + (p0 + c) * VECS * LANES + half * LANES, r[c]);
        }
    }
}

/* One 12-row sliver of op(A) = A^T (A stored k x m): dst[p * 12 + i] = src[p * ld + i]. */
TG_TARGET static void pack_a_cols_avx512_s(const float *src, int64_t ld, int64_t valid,
                                           int64_t kc, float *dst) {
    __mmask16 rows = V_MASK(valid); /* lanes past `valid` load as 0: the padding */
    for (int64_t p = 0; p < kc; p++)
        _mm512_mask_storeu_ps(dst + p * MR, (__mmask16)((1u << MR) - 1),
                              _mm512_maskz_loadu_ps(rows, src + p * ld));
}

/* One 32-column sliver of a row-major B: dst[p * 32 + j] = src[p * ld + j]. */
TG_TARGET static void pack_b_cols_avx512_s(const float *src, int64_t ld, int64_t valid,
                                           int64_t kc, float *dst) {
    __mmask16 low = V_MASK(valid), high = valid > LANES ? V_MASK(valid - LANES) : 0;
    for (int64_t p = 0; p < kc; p++) {
        _mm512_store_ps(dst + p * 2 * LANES, _mm512_maskz_loadu_ps(low, src + p * ld));
        _mm512_store_ps(dst + p * 2 * LANES + LANES,
                        _mm512_maskz_loadu_ps(high, src + p * ld + LANES));
    }
}

/* KC = 192: a B sliver is 24 KB and an A sliver 9 KB, together well inside the
 * 48 KB L1 (256 measured 5-10% slower on the MLP shapes, no better elsewhere) */
const tg_sgemm_config tg_sgemm_avx512 = {"avx512", MR, VECS * LANES, 192, 144, 4096,
                                         microkernel_avx512_s,
                                         {pack_a_rows_avx512_s, pack_a_cols_avx512_s},
                                         {pack_b_cols_avx512_s, pack_b_rows_avx512_s},
                                         microkernel_8_rows_avx512_s, microkernel_4_rows_avx512_s};
#include "gemm_simd_undef.h"

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
/* the full 12-row tile, and 8- and 4-row tiles for a ragged last sliver of A */
#define ROWS MR
#define KERNEL FN(microkernel)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL
#define ROWS 8
#define KERNEL FN(microkernel_8_rows)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL
#define ROWS 4
#define KERNEL FN(microkernel_4_rows)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL

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

/* r[c] = column p0 + c of rows first .. first + 7 of a row-major matrix (0 past `valid`). */
TG_TARGET static inline void load_transposed_d(const double *src, int64_t ld, int64_t first,
                                               int64_t valid, int64_t p0, __mmask8 width,
                                               __m512d r[8]) {
    for (int i = 0; i < 8; i++)
        r[i] = first + i < valid ? _mm512_maskz_loadu_pd(width, src + (first + i) * ld + p0)
                                 : _mm512_setzero_pd();
    transpose_8x8(r);
}

/* One 12-row sliver of a row-major A: dst[p * 12 + i] = src[i * ld + p],
 * rows 0-7 and then rows 8-11 (the second transpose has 4 rows of zeros). */
TG_TARGET static void pack_a_rows_avx512_d(const double *src, int64_t ld, int64_t valid,
                                           int64_t kc, double *dst) {
    __m512d r[8];
    for (int64_t p0 = 0; p0 < kc; p0 += 8) {
        int64_t width = kc - p0 < 8 ? kc - p0 : 8;
        for (int first = 0; first < MR; first += 8) {
            __mmask8 rows = MR - first >= 8 ? 0xFF : (__mmask8)((1u << (MR - first)) - 1);
            load_transposed_d(src, ld, first, valid, p0, V_MASK(width), r);
            for (int64_t c = 0; c < width; c++)
                _mm512_mask_storeu_pd(dst + (p0 + c) * MR + first, rows, r[c]);
        }
    }
}

/* One 16-column sliver of op(B) = B^T, B row-major: dst[p * 16 + j] = src[j * ld + p]. */
TG_TARGET static void pack_b_rows_avx512_d(const double *src, int64_t ld, int64_t valid,
                                           int64_t kc, double *dst) {
    __m512d r[8];
    for (int64_t p0 = 0; p0 < kc; p0 += 8) {
        int64_t width = kc - p0 < 8 ? kc - p0 : 8;
        for (int half = 0; half < VECS; half++) {
            load_transposed_d(src, ld, half * LANES, valid, p0, V_MASK(width), r);
            for (int64_t c = 0; c < width; c++)
                _mm512_store_pd(dst + (p0 + c) * VECS * LANES + half * LANES, r[c]);
        }
    }
}

/* One 12-row sliver of op(A) = A^T: dst[p * 12 + i] = src[p * ld + i] (lanes 0-7, 8-11). */
TG_TARGET static void pack_a_cols_avx512_d(const double *src, int64_t ld, int64_t valid,
                                           int64_t kc, double *dst) {
    __mmask8 low = V_MASK(valid), high = valid > LANES ? V_MASK(valid - LANES) : 0;
    for (int64_t p = 0; p < kc; p++) {
        _mm512_storeu_pd(dst + p * MR, _mm512_maskz_loadu_pd(low, src + p * ld));
        _mm512_mask_storeu_pd(dst + p * MR + LANES, (__mmask8)((1u << (MR - LANES)) - 1),
                              _mm512_maskz_loadu_pd(high, src + p * ld + LANES));
    }
}

/* One 16-column sliver of a row-major B: dst[p * 16 + j] = src[p * ld + j]. */
TG_TARGET static void pack_b_cols_avx512_d(const double *src, int64_t ld, int64_t valid,
                                           int64_t kc, double *dst) {
    __mmask8 low = V_MASK(valid), high = valid > LANES ? V_MASK(valid - LANES) : 0;
    for (int64_t p = 0; p < kc; p++) {
        _mm512_store_pd(dst + p * 2 * LANES, _mm512_maskz_loadu_pd(low, src + p * ld));
        _mm512_store_pd(dst + p * 2 * LANES + LANES,
                        _mm512_maskz_loadu_pd(high, src + p * ld + LANES));
    }
}

const tg_dgemm_config tg_dgemm_avx512 = {"avx512", MR, VECS * LANES, 256, 144, 4096,
                                         microkernel_avx512_d,
                                         {pack_a_rows_avx512_d, pack_a_cols_avx512_d},
                                         {pack_b_cols_avx512_d, pack_b_rows_avx512_d},
                                         microkernel_8_rows_avx512_d, microkernel_4_rows_avx512_d};
#endif
