/* The SIMD microkernel, written once over a vector type VEC of LANES elements T.
 *
 * gemm_avx512.c and gemm_avx2.c include this file once per element type and
 * tile height, after defining the intrinsics it uses (V_LOAD, V_FMA, ...), the
 * function's name KERNEL and the tile: ROWS rows by VECS vectors of columns
 * (NR = VECS * LANES), reading A slivers packed MR rows wide (ROWS <= MR: a
 * shorter kernel for the last, ragged sliver of A wastes no FMAs on padding).
 * The ROWS x VECS accumulators are named by constant indices only, in fully
 * unrolled loops, so the compiler keeps each of them in a register throughout.
 *
 *   sum[i][v] = sum_p a[p * MR + i] * b[p * b_step + v * LANES : ... + LANES]
 *   C[i, 0:nr] = alpha * sum[i] + beta * C[i, 0:nr]        for i < mr
 */

TG_TARGET static void KERNEL(int64_t kc, const T *a, const T *b, int64_t b_step, T *c,
                             int64_t ldc, T alpha, T beta, int64_t mr, int64_t nr) {
    VEC sum[ROWS][VECS];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 4
        for (int v = 0; v < VECS; v++) sum[i][v] = V_ZERO();
    /* kc rank-1 updates: row p of the B sliver (VECS vector loads)
     * times each of the ROWS numbers of column p of the A sliver (broadcasts). */
    /* unrolled 4 times: one pointer update and loop test per 4 steps, which
     * leaves the front end room on 4-wide cores (measured: float64 AVX2 +5%,
     * AVX-512 +2%, AVX2 float32 unchanged) */
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; p++) {
        /* (the loads of B are repeated for each i in the source, not in the
         * machine code: the compiler loads each vector once per p; an array of
         * B vectors here was kept on the stack by GCC instead) */
#pragma GCC unroll 16
        for (int i = 0; i < ROWS; i++) {
            VEC a_i = V_SET1(a[i]);
#pragma GCC unroll 4
            for (int v = 0; v < VECS; v++)
                sum[i][v] = V_FMA(a_i, V_LOAD(b + v * LANES), sum[i][v]);
        }
        a += MR;
        b += b_step;
    }

    /* Write the valid mr x nr corner; masked loads/stores stop at column nr,
     * so an edge tile touches no memory outside C. (V_STORE, where the
     * vocabulary has it, writes the whole vectors.) */
    VEC alpha_v = V_SET1(alpha), beta_v = V_SET1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; i++) {
        if (i >= mr) break;
#pragma GCC unroll 4
        for (int v = 0; v < VECS; v++) {
            int64_t cols = nr - v * LANES;
            if (cols <= 0) break;
            T *dst = c + i * ldc + v * LANES;
            VEC result = V_MUL(alpha_v, sum[i][v]);
#ifdef V_STORE
            if (cols >= LANES) { /* a whole vector: plain load and store (AMD's masked ones are slow) */
                if (beta != 0) result = V_FMA(beta_v, V_LOAD(dst), result);
                V_STORE(dst, result);
                continue;
            }
#endif
            MASK mask = V_MASK(cols);
            if (beta != 0) result = V_FMA(beta_v, V_MASKLOAD(mask, dst), result);
            V_MASKSTORE(dst, mask, result);
        }
    }
}
