/* AVX-512 microkernels: 16 floats (8 doubles) per zmm register, 32 registers.
 *
 * Tile: 12 rows x 2 vectors = 24 accumulators (12 x 32 floats, 12 x 16 doubles),
 * 2 registers for the row of B, 1 for the broadcast of A. Per k step: 2 loads,
 * 12 broadcasts (folded into the FMAs as {1toN} memory operands), 24 FMAs.
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
#define V_LOAD _mm512_load_ps
#define V_SET1 _mm512_set1_ps
#define V_FMA _mm512_fmadd_ps
#define V_MUL _mm512_mul_ps
#define V_MASKLOAD _mm512_maskz_loadu_ps
#define V_MASKSTORE _mm512_mask_storeu_ps
#include "gemm_simd_tile.h"
const tg_sgemm_config tg_sgemm_avx512 = {"avx512", MR, VECS * LANES, 256, 144, 4096,
                                         microkernel_avx512_s};
#undef T
#undef SUFFIX
#undef VEC
#undef LANES
#undef MASK
#undef V_MASK
#undef V_ZERO
#undef V_LOAD
#undef V_SET1
#undef V_FMA
#undef V_MUL
#undef V_MASKLOAD
#undef V_MASKSTORE

#define T double
#define SUFFIX _avx512_d
#define VEC __m512d
#define LANES 8
#define MASK __mmask8
#define V_MASK(cols) ((cols) >= LANES ? (MASK)0xFF : (MASK)((1u << (cols)) - 1))
#define V_ZERO _mm512_setzero_pd
#define V_LOAD _mm512_load_pd
#define V_SET1 _mm512_set1_pd
#define V_FMA _mm512_fmadd_pd
#define V_MUL _mm512_mul_pd
#define V_MASKLOAD _mm512_maskz_loadu_pd
#define V_MASKSTORE _mm512_mask_storeu_pd
#include "gemm_simd_tile.h"
const tg_dgemm_config tg_dgemm_avx512 = {"avx512", MR, VECS * LANES, 256, 144, 4096,
                                         microkernel_avx512_d};
#endif
