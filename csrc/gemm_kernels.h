/* The microkernel interface shared by gemm.c, the SIMD files and cpu.c.
 *
 * A microkernel multiplies one packed sliver of A (mr x kc, stored k-major:
 * element (i, p) at a[p * MR + i]) by one sliver of B (kc x nr, element (p, j)
 * at b[p * b_step + j]: packed, b_step = NR; or read in place from a row-major
 * B, b_step = ldb), keeping the MR x NR tile of sums in registers, and then
 * writes the valid top-left mr x nr corner of it into C:
 *
 *     C[i, j] = alpha * sum_p a[p * MR + i] * b[p * b_step + j] + beta * C[i, j]
 *
 * (beta == 0: C is not read, so NaN garbage in it does not leak through).
 * The packed slivers are zero-padded to the full MR x NR tile, so edge tiles
 * read no memory outside the buffers and write nothing outside C.
 */
#ifndef TG_GEMM_KERNELS_H
#define TG_GEMM_KERNELS_H

#include <stdint.h>

/* FN(name): name with the element type's SUFFIX appended (_s, _d, _avx2_s, ...),
 * so each template file (gemm_driver.inc, gemm_simd_*.inc, gemm_simd_tile.h)
 * can be included once per type and still define distinct functions. */
#define TG_CAT2(a, b) a##b
#define TG_CAT(a, b) TG_CAT2(a, b)
#define FN(name) TG_CAT(name, SUFFIX)

typedef void (*tg_sgemm_microkernel)(int64_t kc, const float *a, const float *b,
                                     int64_t b_step, float *c, int64_t ldc, float alpha,
                                     float beta, int64_t mr, int64_t nr);
typedef void (*tg_dgemm_microkernel)(int64_t kc, const double *a, const double *b,
                                     int64_t b_step, double *c, int64_t ldc, double alpha,
                                     double beta, int64_t mr, int64_t nr);

/* A microkernel and the block sizes that keep its operands in cache:
 *   mr x nr  the register tile (C sums held in vector registers),
 *   kc       the depth of a packed sliver: an nr x kc sliver of B stays in L1,
 *   mc       rows of the packed mc x kc block of A, kept in L2,
 *   nc       columns of the packed kc x nc panel of B, kept in L3.
 * kc, mc, nc = 0: derived at run time from the CPU's cache sizes
 * (tg_blocking_rule in cache.c); a positive value fixes that size instead. */
/* Optional SIMD packing of one sliver (`valid` <= MR rows of op(A), or
 * <= NR columns of op(B), kc deep; src points at its first element, ld is the
 * stored matrix's leading dimension), indexed by the transpose flag:
 *   pack_a[0]: A row-major, op(A) = A      a transpose (rows of A -> k-major)
 *   pack_a[1]: op(A) = A^T                 a copy of MR numbers per p
 *   pack_b[0]: B row-major, op(B) = B      a copy of NR numbers per p
 *   pack_b[1]: op(B) = B^T                 a transpose
 * Same output as pack_a / pack_b in gemm_driver.inc, zero padding included;
 * NULL: the generic loop there. */
typedef void (*tg_spack)(const float *src, int64_t ld, int64_t valid, int64_t kc, float *dst);

typedef struct {
    const char *name;
    int64_t mr, nr, kc, mc, nc;
    tg_sgemm_microkernel kernel;
    tg_spack pack_a[2], pack_b[2];
    /* Optional shorter tiles for an A sliver of at most 8 or 4 valid rows
     * (still packed MR wide); NULL: the full kernel computes the padding too. */
    tg_sgemm_microkernel kernel_8_rows, kernel_4_rows;
} tg_sgemm_config;

typedef void (*tg_dpack)(const double *src, int64_t ld, int64_t valid, int64_t kc, double *dst);

typedef struct {
    const char *name;
    int64_t mr, nr, kc, mc, nc;
    tg_dgemm_microkernel kernel;
    tg_dpack pack_a[2], pack_b[2];
    tg_dgemm_microkernel kernel_8_rows, kernel_4_rows;
} tg_dgemm_config;

extern const tg_sgemm_config tg_sgemm_generic;
extern const tg_dgemm_config tg_dgemm_generic;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TG_HAVE_X86_KERNELS 1
extern const tg_sgemm_config tg_sgemm_avx512, tg_sgemm_avx2;
extern const tg_dgemm_config tg_dgemm_avx512, tg_dgemm_avx2;
#endif
#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define TG_HAVE_NEON_KERNELS 1 /* NEON is part of every AArch64 CPU */
extern const tg_sgemm_config tg_sgemm_neon;
extern const tg_dgemm_config tg_dgemm_neon;
#endif

/* The configs the running CPU (or TINYGRAD_EDU_KERNEL / tg_set_kernel) chose. */
const tg_sgemm_config *tg_sgemm_selected(void);
const tg_dgemm_config *tg_dgemm_selected(void);

#endif
