/* Forget one element type's vector vocabulary (the macros gemm_simd_tile.h,
 * gemm_simd_pack.inc and gemm_simd_kernels.inc use), so gemm_avx512.c and
 * gemm_avx2.c can define the next type's: float, then double. */
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
#undef V_STORE
#undef V_STORE_PART
#undef V_TRANSPOSE
#undef SHORT_TILE_8
#undef SHORT_TILE_4
