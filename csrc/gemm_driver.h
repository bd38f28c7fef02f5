/* The five loops around the microkernel, written once for an element type T.
 *
 * gemm.c includes this file twice: with T = float (names ending in _s) and
 * T = double (names ending in _d). Read gemm.c's header comment first; this is
 * the code it describes.
 */

/* ---- packing ---------------------------------------------------------------------
 *
 * Packing copies a block of op(A) (or op(B)) into the exact order in which the
 * microkernel will read it, so that the microkernel walks memory with unit
 * stride from aligned, cache-resident buffers. The transpose flags are
 * absorbed here: after packing, op(A) and op(B) look the same whatever the
 * layout they came from, so grad @ W^T and X^T @ grad never copy a matrix.
 */

/* The MR-row packing of op(A)[0:rows, 0:kc]:
 *   packed[s * MR * kc + p * MR + i] = op(A)[s * MR + i, p]   (0 past the last row).
 * a points at op(A)[0, 0]; op(A)[i, p] is a[i * lda + p], or a[p * lda + i] if trans. */
static void FN(pack_a)(const CONFIG *cfg, int trans, const T *a, int64_t lda, int64_t rows,
                       int64_t kc, T *packed) {
    int64_t mr_tile = cfg->mr;
    for (int64_t s = 0; s * mr_tile < rows; s++) {
        int64_t row0 = s * mr_tile;
        int64_t valid = rows - row0 < mr_tile ? rows - row0 : mr_tile;
        T *dst = packed + s * mr_tile * kc;
        if (cfg->pack_a[trans]) { /* the kernel's SIMD packing, where it has one */
            cfg->pack_a[trans](trans ? a + row0 : a + row0 * lda, lda, valid, kc, dst);
            continue;
        }
        for (int64_t p = 0; p < kc; p++) {
            const T *src = trans ? a + p * lda + row0 : a + row0 * lda + p;
            int64_t step = trans ? 1 : lda; /* distance between op(A)[i, p] and op(A)[i+1, p] */
            for (int64_t i = 0; i < valid; i++) dst[p * mr_tile + i] = src[i * step];
            for (int64_t i = valid; i < mr_tile; i++) dst[p * mr_tile + i] = 0;
        }
    }
}

/* The NR-column packing of op(B)[0:kc, 0:cols] (only the ragged last sliver if in_place):
 *   packed[s * NR * kc + p * NR + j] = op(B)[p, s * NR + j]   (0 past the last column).
 * b points at op(B)[0, 0]; op(B)[p, j] is b[p * ldb + j], or b[j * ldb + p] if trans. */
static void FN(pack_b)(const CONFIG *cfg, int trans, int in_place, const T *b, int64_t ldb,
                       int64_t cols, int64_t kc, T *packed) {
    int64_t nr_tile = cfg->nr;
    for (int64_t s = 0; s * nr_tile < cols; s++) {
        int64_t col0 = s * nr_tile;
        int64_t valid = cols - col0 < nr_tile ? cols - col0 : nr_tile;
        T *dst = packed + s * nr_tile * kc;
        if (in_place && valid == nr_tile) continue; /* the microkernel reads B itself */
        if (cfg->pack_b[trans]) { /* the kernel's SIMD packing, where it has one */
            cfg->pack_b[trans](trans ? b + col0 * ldb : b + col0, ldb, valid, kc, dst);
        } else if (trans) {
            /* column j of op(B) is row j of B: read it contiguously, scatter with stride NR */
            for (int64_t j = 0; j < valid; j++) {
                const T *src = b + (col0 + j) * ldb;
                for (int64_t p = 0; p < kc; p++) dst[p * nr_tile + j] = src[p];
            }
            for (int64_t p = 0; p < kc; p++)
                for (int64_t j = valid; j < nr_tile; j++) dst[p * nr_tile + j] = 0;
        } else {
            /* row p of op(B) is row p of B: copy NR contiguous elements */
            for (int64_t p = 0; p < kc; p++) {
                const T *src = b + p * ldb + col0;
                for (int64_t j = 0; j < valid; j++) dst[p * nr_tile + j] = src[j];
                for (int64_t j = valid; j < nr_tile; j++) dst[p * nr_tile + j] = 0;
            }
        }
    }
}

/* ---- the portable microkernel ------------------------------------------------------ */

/* C[0:mr, 0:nr] = alpha * (A sliver @ B sliver) + beta * C[0:mr, 0:nr]
 * The GENERIC_MR x GENERIC_NR sums live in a small local array that the
 * compiler keeps in (SSE2) registers; any C99 compiler builds this. */
static void FN(microkernel_generic)(int64_t kc, const T *a, const T *b, int64_t b_step, T *c,
                                    int64_t ldc, T alpha, T beta, int64_t mr, int64_t nr) {
    T ab[GENERIC_MR][GENERIC_NR] = {{0}};
    for (int64_t p = 0; p < kc; p++) {
        /* ab += (column p of the A sliver) x (row p of the B sliver): a rank-1 update */
        for (int i = 0; i < GENERIC_MR; i++)
            for (int j = 0; j < GENERIC_NR; j++) ab[i][j] += a[i] * b[j];
        a += GENERIC_MR;
        b += b_step;
    }
    for (int64_t i = 0; i < mr; i++) {
        T *c_row = c + i * ldc;
        if (beta == 0)
            for (int64_t j = 0; j < nr; j++) c_row[j] = alpha * ab[i][j];
        else
            for (int64_t j = 0; j < nr; j++) c_row[j] = alpha * ab[i][j] + beta * c_row[j];
    }
}

const CONFIG GENERIC_CONFIG = {"generic", GENERIC_MR, GENERIC_NR, 256, 128, 2048,
                               FN(microkernel_generic)};

/* ---- the loops around the microkernel ---------------------------------------------- */

/* Loops 2 and 1: every MR x NR tile of one packed mc x kc block of A times one
 * kc x nc panel of B. The inner loop walks down the A slivers, so the B sliver
 * (kc x NR, 32 KB) stays in L1 while the A slivers stream past it from L2. */
static void FN(macro_kernel)(const CONFIG *cfg, int64_t mc, int64_t nc, int64_t kc,
                             const T *a_packed, const T *b_packed, const T *b_in_place,
                             int64_t ldb, T *c, int64_t ldc, T alpha, T beta) {
    int64_t mr_tile = cfg->mr, nr_tile = cfg->nr;
    for (int64_t jr = 0; jr < nc; jr += nr_tile) {     /* loop 2: NR columns of the panel */
        int64_t nr = min64(nc - jr, nr_tile);
        int in_place = b_in_place && nr == nr_tile; /* a full sliver of an unpacked B */
        const T *b_sliver = in_place ? b_in_place + jr : b_packed + jr * kc;
        for (int64_t ir = 0; ir < mc; ir += mr_tile) { /* loop 1: MR rows of the block */
            int64_t mr = min64(mc - ir, mr_tile);
            T *c_tile = c + ir * ldc + jr;
            /* ask for the C tile's cache lines now: they arrive while the
             * microkernel's k loop runs (inside it, the prefetch addresses
             * cost registers that the tile needs) */
            for (int64_t i = 0; i < mr; i++) {
                TG_PREFETCH(c_tile + i * ldc);
                TG_PREFETCH(c_tile + i * ldc + nr - 1);
            }
            MICROKERNEL kernel = cfg->kernel;
            if (mr <= 4 && cfg->kernel_4_rows) kernel = cfg->kernel_4_rows;
            else if (mr <= 8 && cfg->kernel_8_rows) kernel = cfg->kernel_8_rows;
            kernel(kc, a_packed + ir * kc, b_sliver, in_place ? ldb : nr_tile, c_tile, ldc, alpha,
                   beta, mr, nr);
        }
    }
}

/* The whole product on one thread: loops 5, 4 and 3, packing on the way. */
static tg_status FN(gemm_serial)(const CONFIG *cfg, int trans_a, int trans_b, int64_t m,
                                 int64_t n, int64_t k, T alpha, const T *a, int64_t lda,
                                 const T *b, int64_t ldb, T beta, T *c, int64_t ldc) {
    blocking steps = balanced_blocking(m, n, k, cfg->mr, cfg->nr, cfg->kc, cfg->mc, cfg->nc);
    int b_in_place = !trans_b && m <= B_IN_PLACE_MAX_M;
    T *a_packed = aligned_buffer(steps.mc * steps.kc * (int64_t)sizeof(T));
    T *b_packed = aligned_buffer(steps.kc * steps.nc * (int64_t)sizeof(T));
    if (!a_packed || !b_packed) {
        free_aligned_buffer(a_packed);
        free_aligned_buffer(b_packed);
        return TG_ERR_NOMEM;
    }
    /* loop 5: a kc x nc panel of B ... */
    for (int64_t jc = 0; jc < n; jc += steps.nc) {
        int64_t nc = min64(n - jc, steps.nc);
        /* loop 4: ... one kc-deep slice at a time, packed (sums over p are split
         * into rounds of kc; the first round applies beta, the next ones add) */
        for (int64_t pc = 0; pc < k; pc += steps.kc) {
            int64_t kc = min64(k - pc, steps.kc);
            T beta_round = pc == 0 ? beta : 1;
            const T *b_panel = trans_b ? b + jc * ldb + pc : b + pc * ldb + jc;
            FN(pack_b)(cfg, trans_b, b_in_place, b_panel, ldb, nc, kc, b_packed);
            /* loop 3: an mc x kc block of A, packed so that it stays in L2 */
            for (int64_t ic = 0; ic < m; ic += steps.mc) {
                int64_t mc = min64(m - ic, steps.mc);
                const T *a_block = trans_a ? a + pc * lda + ic : a + ic * lda + pc;
                FN(pack_a)(cfg, trans_a, a_block, lda, mc, kc, a_packed);
                FN(macro_kernel)(cfg, mc, nc, kc, a_packed, b_packed,
                                 b_in_place ? b_panel : NULL, ldb, c + ic * ldc + jc, ldc,
                                 alpha, beta_round);
            }
        }
    }
    free_aligned_buffer(a_packed);
    free_aligned_buffer(b_packed);
    return TG_OK;
}

/* Thread `thread` of `threads`: its own panel of C, computed by gemm_serial.
 * C is cut into column panels (whole NR slivers) when it is at least as wide
 * as tall, else into row panels (whole MR slivers). Each thread packs with
 * private buffers: no barriers, no shared writes; only op(A) (or op(B)) is
 * packed once per thread instead of once. */
static tg_status FN(gemm_panel)(const CONFIG *cfg, int thread, int threads, int trans_a,
                                int trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                                const T *a, int64_t lda, const T *b, int64_t ldb, T beta, T *c,
                                int64_t ldc) {
    int64_t lo, hi;
    if (n >= m) {
        tg_share(ceil_div(n, cfg->nr), thread, threads, &lo, &hi);
        lo = min64(lo * cfg->nr, n), hi = min64(hi * cfg->nr, n);
        if (lo == hi) return TG_OK;
        const T *b_part = trans_b ? b + lo * ldb : b + lo;
        return FN(gemm_serial)(cfg, trans_a, trans_b, m, hi - lo, k, alpha, a, lda, b_part, ldb,
                               beta, c + lo, ldc);
    }
    tg_share(ceil_div(m, cfg->mr), thread, threads, &lo, &hi);
    lo = min64(lo * cfg->mr, m), hi = min64(hi * cfg->mr, m);
    if (lo == hi) return TG_OK;
    const T *a_part = trans_a ? a + lo : a + lo * lda;
    return FN(gemm_serial)(cfg, trans_a, trans_b, hi - lo, n, k, alpha, a_part, lda, b, ldb, beta,
                           c + lo * ldc, ldc);
}

/* C = beta * C (beta == 0: C = 0, even where C held NaN) */
static void FN(scale_c)(int64_t m, int64_t n, T beta, T *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
}

tg_status GEMM(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T *a,
               int64_t lda, const T *b, int64_t ldb, T beta, T *c, int64_t ldc) {
    if (m < 0 || n < 0 || k < 0) return TG_ERR_ARGUMENT;
    if (lda < max64(1, trans_a ? m : k) || ldb < max64(1, trans_b ? k : n) || ldc < max64(1, n))
        return TG_ERR_ARGUMENT;
    if (m == 0 || n == 0) return TG_OK;
    if (k == 0 || alpha == 0) {
        FN(scale_c)(m, n, beta, c, ldc);
        return TG_OK;
    }
    const CONFIG *cfg = SELECTED();
    int threads = gemm_threads(m, n, k);
    if (threads == 1)
        return FN(gemm_serial)(cfg, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                               ldc);
    tg_status status = TG_OK;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel num_threads(threads)
    {
        tg_status mine = FN(gemm_panel)(cfg, omp_get_thread_num(), omp_get_num_threads(),
                                        trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
                                        c, ldc);
        if (mine != TG_OK) {
#pragma omp critical
            status = mine;
        }
    }
#endif
    return status;
}
