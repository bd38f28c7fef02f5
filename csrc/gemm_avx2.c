/* AVX2 + FMA microkernels: 8 floats (4 doubles) per ymm register, 16 registers.
 *
 * Tile: 6 rows x 2 vectors = 12 accumulators (6 x 16 floats, 6 x 8 doubles),
 * 2 registers for the row of B, 1 for the broadcast of A: 15 of the 16 ymm.
 * Edge columns use AVX's maskload/maskstore (lanes whose mask sign bit is set).
 */
#include "gemm_kernels.h"

#ifdef TG_HAVE_X86_KERNELS
#include <immintrin.h>

#define TG_TARGET __attribute__((target("avx2,fma")))
#define TG_CAT2(a, b) a##b
#define TG_CAT(a, b) TG_CAT2(a, b)
#define FN(name) TG_CAT(name, SUFFIX)
#define MR 6
#define VECS 2

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
#define ROWS MR
#define KERNEL FN(microkernel)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL
const tg_sgemm_config tg_sgemm_avx2 = {"avx2", MR, VECS * LANES, 256, 120, 4096,
                                       microkernel_avx2_s};
#include "gemm_simd_undef.h"

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
#define ROWS MR
#define KERNEL FN(microkernel)
#include "gemm_simd_tile.h"
#undef ROWS
#undef KERNEL
const tg_dgemm_config tg_dgemm_avx2 = {"avx2", MR, VECS * LANES, 256, 120, 4096,
                                       microkernel_avx2_d};
#endif
