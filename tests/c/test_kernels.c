/* The C core tested from C: every kernel against plain reference loops, no Python.
 *
 * GEMM over many shapes (0 and 1 sizes, edge tiles, products crossing the
 * cache blocks), all four transpose combinations, several alpha/beta, padded
 * leading dimensions, float32 and float64, once per microkernel this CPU runs
 * (generic and every SIMD one); then ReLU forward/backward, softmax
 * cross-entropy forward/backward, axpy, column sums and the linear layer.
 * This is how the NEON path is tested: cross-compiled and run under qemu
 * (.ci/arm64.sh); natively it runs in .ci/native_c_tests.sh.
 *
 *   test_kernels [--quick] [--expect-kernel=NAME]
 *     --quick               fewer GEMM shapes (for an emulator)
 *     --expect-kernel=NAME  fail unless NAME is the kernel selected by default
 * Prints the selected kernel ("selected kernel: NAME"); exits 1 on any mismatch.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

static int quick;               /* --quick: fewer GEMM shapes */
static long checks, failures;   /* calls checked, mismatches found */
static char context[200];       /* what is being checked, for failure messages */

static void set_context(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(context, sizeof context, format, args);
    va_end(args);
}

/* Count a mismatch; print the first 30 of them. */
static void failure(const char *format, ...) {
    if (++failures > 30) return;
    va_list args;
    va_start(args, format);
    printf("FAIL [%s] ", context);
    vprintf(format, args);
    printf("\n");
    va_end(args);
}

static void expect_status(tg_status got, tg_status expected, const char *what) {
    if (got != expected) failure("%s: status %d, expected %d", what, (int)got, (int)expected);
}

/* Reproducible numbers in [-1, 1) on every platform (splitmix64). */
static double uniform(void) {
    static uint64_t state = 0x9E3779B97F4A7C15u;
    uint64_t z = (state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    return (double)(z >> 11) / 4503599627370496.0 - 1.0; /* 53 bits / 2^52 - 1 */
}

static int64_t max64(int64_t x, int64_t y) { return x > y ? x : y; }

/* malloc, or the end of the test run (one spare byte: a 0-length array is not NULL) */
static void *allocate(size_t bytes) {
    void *memory = malloc(bytes + 1);
    if (!memory) {
        printf("FAIL: out of memory for %zu bytes\n", bytes);
        exit(1);
    }
    return memory;
}

/* One GEMM to check: C = alpha * op(A) @ op(B) + beta * C, each leading
 * dimension `pad` elements longer than needed; threads: compare 1 and 3 threads. */
typedef struct {
    int trans_a, trans_b;
    int64_t m, n, k;
    double alpha, beta;
    int64_t pad;
    int threads;
} gemm_case;

#define TG_CAT2(a, b) a##b
#define TG_CAT(a, b) TG_CAT2(a, b)
#define FN(name) TG_CAT(name, SUFFIX)

#define T float
#define SUFFIX _s
#define TYPE_NAME "float32"
#define EPS ((double)FLT_EPSILON)
#define TINY ((double)FLT_MIN)
#define GEMM tg_sgemm
#define LINEAR tg_linear_f32
#define RELU tg_relu_f32
#define RELU_BACKWARD tg_relu_backward_f32
#define XENT tg_softmax_xent_f32
#define XENT_BACKWARD tg_softmax_xent_backward_f32
#define AXPY tg_axpy_f32
#define COLUMN_SUM tg_column_sum_f32
#include "typed_checks.inc"
#undef T
#undef SUFFIX
#undef TYPE_NAME
#undef EPS
#undef TINY
#undef GEMM
#undef LINEAR
#undef RELU
#undef RELU_BACKWARD
#undef XENT
#undef XENT_BACKWARD
#undef AXPY
#undef COLUMN_SUM

#define T double
#define SUFFIX _d
#define TYPE_NAME "float64"
#define EPS DBL_EPSILON
#define TINY DBL_MIN
#define GEMM tg_dgemm
#define LINEAR tg_linear_f64
#define RELU tg_relu_f64
#define RELU_BACKWARD tg_relu_backward_f64
#define XENT tg_softmax_xent_f64
#define XENT_BACKWARD tg_softmax_xent_backward_f64
#define AXPY tg_axpy_f64
#define COLUMN_SUM tg_column_sum_f64
#include "typed_checks.inc"

/* ---- the GEMM cases -------------------------------------------------------------- */

/* (alpha, beta): plain, accumulate, scaled, alpha = 0 (only C scaled), beta = 0 with
 * alpha != 1, and both zero (C cleared, NaN included) */
static const double alpha_beta[][2] = {{1, 0}, {1, 1}, {-0.5, 2}, {0, 0.5}, {1.5, 0}, {0, 0}};

/* Sizes around every register tile edge (MR, NR of 4, 6, 8, 12, 16, 32, +-1)
 * and k from empty to a few dozen. */
static const int64_t edge_sizes[] = {0,  1,  2,  3,  4,  5,  6,  7,  8, 9,
                                     11, 12, 13, 15, 16, 17, 25, 31, 33};
static const int64_t edge_sizes_quick[] = {0, 1, 3, 4, 5, 6, 7, 12, 13, 17, 25, 33};
static const int64_t depths[] = {0, 1, 2, 3, 8, 17, 40};
static const int64_t depths_quick[] = {0, 1, 3, 17};

/* Products around fixed sizes (B is read in place only for m <= 96 and a B of
 * at most 32 KB: the edge sizes above), k longer than a kc round, the MLP's
 * shapes, and vectors. (The block sizes
 * come from the CPU's caches, so the shapes that cross them are made at run
 * time: block_crossing_shape.) */
static const int64_t block_shapes[][3] = {{96, 200, 300}, {97, 300, 520}, {150, 70, 600},
                                          {13, 4200, 20}, {32, 784, 256}, {128, 256, 784},
                                          {260, 260, 260}, {1, 500, 300}, {500, 1, 300}};
static const int64_t block_shapes_quick[][3] = {{96, 40, 20}, {97, 50, 300}, {150, 30, 270},
                                                {13, 4200, 9}};

#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

/* A product crossing the selected kernel's blocks (float32's or float64's,
 * the larger): more than 2 A blocks of rows, so that each of 3 threads' row
 * parts has 2 and reads B slivers packed on the first block's pass; 2 kc
 * rounds; a ragged last NR sliver. Taller than wide, so threads split rows. */
static void block_crossing_shape(int64_t shape[3]) {
    int64_t mc = 0, kc = 0, nr = 0;
    for (int64_t size = 4; size <= 8; size += 4) {
        int64_t mr_here, nr_here;
        tg_block_sizes sizes;
        if (tg_gemm_blocking(size, &mr_here, &nr_here, &sizes) != TG_OK) continue;
        if (sizes.mc > mc) mc = sizes.mc;
        if (sizes.kc > kc) kc = sizes.kc;
        if (nr_here > nr) nr = nr_here;
    }
    shape[0] = 3 * mc + 7, shape[1] = kc + 3, shape[2] = nr + 5;
}

/* Every case, each in all four transpose combinations, given to check(). */
static void for_each_gemm_case(void (*check)(const gemm_case *)) {
    const int64_t *sizes = quick ? edge_sizes_quick : edge_sizes;
    const int64_t *ks = quick ? depths_quick : depths;
    int size_count = quick ? COUNT(edge_sizes_quick) : COUNT(edge_sizes);
    int k_count = quick ? COUNT(depths_quick) : COUNT(depths);
    long index = 0;
    for (int mi = 0; mi < size_count; mi++)
        for (int ni = 0; ni < size_count; ni++)
            for (int ki = 0; ki < k_count; ki++)
                for (int trans = 0; trans < 4; trans++, index++) {
                    /* alpha/beta and padding change every 4 cases, so each meets every transpose */
                    const double *ab = alpha_beta[(index / 4) % COUNT(alpha_beta)];
                    gemm_case g = {trans >> 1, trans & 1, sizes[mi], sizes[ni], ks[ki],
                                   ab[0], ab[1], (index / 24) % 2 ? 3 : 0, 0};
                    check(&g);
                }
    int shape_count = quick ? COUNT(block_shapes_quick) : COUNT(block_shapes);
    int64_t crossing[3];
    block_crossing_shape(crossing);
    for (int s = 0; s <= shape_count; s++) { /* the fixed shapes, then the crossing one */
        const int64_t *shape = s == shape_count ? crossing
                               : quick          ? block_shapes_quick[s]
                                                : block_shapes[s];
        for (int trans = 0; trans < 4; trans++) {
            const double *ab = alpha_beta[trans % 2 ? 2 : 0];
            gemm_case g = {trans >> 1, trans & 1, shape[0], shape[1], shape[2],
                           ab[0], ab[1], trans % 2 ? 5 : 0, 1};
            check(&g);
        }
    }
}

/* The whole GEMM suite on each microkernel this CPU can run. */
static void check_every_kernel(void) {
    static const char *const names[] = {"generic", "avx2", "avx512", "neon"};
    const char *selected = tg_get_kernel();
    for (int i = 0; i < COUNT(names); i++) {
        if (!tg_kernel_supported(names[i])) continue;
        long before = checks, failed_before = failures;
        set_context("kernel %s", names[i]);
        expect_status(tg_set_kernel(names[i]), TG_OK, "tg_set_kernel");
        if (strcmp(tg_get_kernel(), names[i]) != 0)
            failure("tg_get_kernel() = %s", tg_get_kernel());
        for_each_gemm_case(check_gemm_s);
        for_each_gemm_case(check_gemm_d);
        printf("kernel %-8s %6ld GEMM checks, %ld failures\n", names[i], checks - before,
               failures - failed_before);
    }
    set_context("kernel choice");
    expect_status(tg_set_kernel("no-such-kernel"), TG_ERR_ARGUMENT, "an unknown kernel");
    expect_status(tg_set_kernel(selected), TG_OK, "back to the default");
}

int main(int argc, char **argv) {
    const char *expected_kernel = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strncmp(argv[i], "--expect-kernel=", 16) == 0) expected_kernel = argv[i] + 16;
        else {
            fprintf(stderr, "usage: %s [--quick] [--expect-kernel=NAME]\n", argv[0]);
            return 2;
        }
    }
    const char *selected = tg_get_kernel();
    printf("selected kernel: %s\n", selected);
    printf("openmp: %s%s\n", tg_have_openmp() ? "yes" : "no", quick ? ", quick shapes" : "");
    if (expected_kernel && strcmp(selected, expected_kernel) != 0) {
        set_context("kernel choice");
        failure("selected %s, expected %s", selected, expected_kernel);
    }
    check_every_kernel();
    check_gemm_arguments_s();
    check_gemm_arguments_d();
    check_elementwise_s();
    check_elementwise_d();
    printf("%ld checks, %ld failures: %s\n", checks, failures, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
