/* One GEMM case, run N times from C, by our kernel or by OpenBLAS: for callgrind
 * and cachegrind, whose instruction and cache-miss counts do not move with the
 * machine's load (wall-clock times on a shared machine do).
 *
 *   gcc -O3 -std=c99 -Icsrc -fopenmp -DTG_HAVE_OPENMP=1 scripts/gemm_probe.c csrc/[a-z]*.c \
 *       -o probe -ldl -lm
 *   probe WHO[,WHO...] DTYPE M K N TRANS_A TRANS_B REPS [THREADS] [ROUNDS]
 *     WHO: a kernel name (generic, avx2, avx512) or "openblas" (the library in
 *     $OPENBLAS_SO, NumPy's scipy_openblas64_ build; honours OPENBLAS_CORETYPE)
 *   valgrind --tool=callgrind probe avx2 float32 128 256 784 0 0 20
 * Several WHOs take turns, ROUNDS times REPS calls each (interleaved, so a
 * neighbour's load hits them alike); printed per WHO: the median over rounds of
 * the wall and the process CPU time per call, and the medians of the same-round
 * ratios of the first WHO's times to this one's (> 1: this one is faster).
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"

/* cblas_?gemm of the ILP64 scipy_openblas build: row-major = 101, no transpose = 111. */
typedef void (*cblas_sgemm_fn)(int, int, int, int64_t, int64_t, int64_t, float, const float *,
                               int64_t, const float *, int64_t, float, float *, int64_t);
typedef void (*cblas_dgemm_fn)(int, int, int, int64_t, int64_t, int64_t, double, const double *,
                               int64_t, const double *, int64_t, double, double *, int64_t);
typedef void (*set_threads_fn)(int);

static double seconds(clockid_t clock) {
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static void *openblas_symbol(const char *name) {
    static void *library;
    if (!library) {
        const char *path = getenv("OPENBLAS_SO");
        library = path ? dlopen(path, RTLD_NOW) : NULL;
        if (!library) {
            fprintf(stderr, "set OPENBLAS_SO to NumPy's libscipy_openblas64_*.so\n");
            exit(2);
        }
    }
    void *symbol = dlsym(library, name);
    if (!symbol) fprintf(stderr, "no %s in OPENBLAS_SO\n", name), exit(2);
    return symbol;
}

typedef struct {
    int is_double, trans_a, trans_b, threads;
    int64_t m, k, n, lda, ldb;
    void *a, *b, *c;
} problem;

/* One call of C = op(A) @ op(B) by `who`. */
static void run_once(const char *who, const problem *q) {
    if (strcmp(who, "openblas") == 0) {
        int ta = q->trans_a ? 112 : 111, tb = q->trans_b ? 112 : 111;
        if (q->is_double)
            ((cblas_dgemm_fn)openblas_symbol("scipy_cblas_dgemm64_"))(
                101, ta, tb, q->m, q->n, q->k, 1, q->a, q->lda, q->b, q->ldb, 0, q->c, q->n);
        else
            ((cblas_sgemm_fn)openblas_symbol("scipy_cblas_sgemm64_"))(
                101, ta, tb, q->m, q->n, q->k, 1, q->a, q->lda, q->b, q->ldb, 0, q->c, q->n);
        return;
    }
    if (tg_set_kernel(who) != TG_OK) fprintf(stderr, "kernel %s is not available\n", who), exit(2);
    if (q->is_double)
        tg_dgemm(q->trans_a, q->trans_b, q->m, q->n, q->k, 1, q->a, q->lda, q->b, q->ldb, 0,
                 q->c, q->n);
    else
        tg_sgemm(q->trans_a, q->trans_b, q->m, q->n, q->k, 1, q->a, q->lda, q->b, q->ldb, 0,
                 q->c, q->n);
}

static int compare_doubles(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *values, int count) {
    qsort(values, count, sizeof *values, compare_doubles);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

#define MAX_WHO 4
#define MAX_ROUNDS 999

int main(int argc, char **argv) {
    if (argc < 9) {
        fprintf(stderr, "usage: %s WHO[,WHO] DTYPE M K N TRANS_A TRANS_B REPS [THREADS] [ROUNDS]\n",
                argv[0]);
        return 2;
    }
    char *names[MAX_WHO];
    int whos = 0;
    for (char *name = strtok(argv[1], ","); name && whos < MAX_WHO; name = strtok(NULL, ","))
        names[whos++] = name;
    problem q;
    q.is_double = strcmp(argv[2], "float64") == 0;
    q.m = atoll(argv[3]), q.k = atoll(argv[4]), q.n = atoll(argv[5]);
    q.trans_a = atoi(argv[6]), q.trans_b = atoi(argv[7]);
    int reps = atoi(argv[8]);
    q.threads = argc > 9 ? atoi(argv[9]) : 1;
    int rounds = argc > 10 ? atoi(argv[10]) : 1;
    if (rounds < 1 || rounds > MAX_ROUNDS || reps < 1) return 2;
    tg_set_num_threads(q.threads);
    for (int w = 0; w < whos; w++)
        if (strcmp(names[w], "openblas") == 0)
            ((set_threads_fn)openblas_symbol("scipy_openblas_set_num_threads64_"))(q.threads);
    size_t size = q.is_double ? sizeof(double) : sizeof(float);
    q.a = malloc(q.m * q.k * size), q.b = malloc(q.k * q.n * size), q.c = malloc(q.m * q.n * size);
    for (int64_t i = 0; i < q.m * q.k; i++) {
        if (q.is_double) ((double *)q.a)[i] = (double)(i % 7) - 3;
        else ((float *)q.a)[i] = (float)(i % 7) - 3;
    }
    for (int64_t i = 0; i < q.k * q.n; i++) {
        if (q.is_double) ((double *)q.b)[i] = (double)(i % 5) - 2;
        else ((float *)q.b)[i] = (float)(i % 5) - 2;
    }
    q.lda = q.trans_a ? q.m : q.k, q.ldb = q.trans_b ? q.k : q.n;
    static double wall[MAX_WHO][MAX_ROUNDS], cpu[MAX_WHO][MAX_ROUNDS], ratio[MAX_WHO][MAX_ROUNDS],
        cpu_ratio[MAX_WHO][MAX_ROUNDS];
    for (int w = 0; w < whos; w++) run_once(names[w], &q); /* warm-up */
    for (int r = 0; r < rounds; r++)
        for (int w = 0; w < whos; w++) {
            double wall0 = seconds(CLOCK_MONOTONIC), cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
            for (int rep = 0; rep < reps; rep++) run_once(names[w], &q);
            wall[w][r] = (seconds(CLOCK_MONOTONIC) - wall0) / reps;
            cpu[w][r] = (seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / reps;
            ratio[w][r] = wall[0][r] / wall[w][r];
            cpu_ratio[w][r] = cpu[0][r] / cpu[w][r];
        }
    double checksum = 0;
    for (int64_t i = 0; i < q.m * q.n; i++)
        checksum += q.is_double ? ((double *)q.c)[i] : ((float *)q.c)[i];
    double flops = 2.0 * (double)q.m * (double)q.n * (double)q.k;
    for (int w = 0; w < whos; w++) {
        double wall_median = median(wall[w], rounds), cpu_median = median(cpu[w], rounds);
        printf("%-9s %s %lldx%lldx%lld ta=%d tb=%d threads=%d: %.1f us (%.2f GFLOP/s), "
               "cpu %.1f us; %s/this %.3f (cpu %.3f)\n",
               names[w], argv[2], (long long)q.m, (long long)q.k, (long long)q.n, q.trans_a,
               q.trans_b, q.threads, wall_median * 1e6, flops / wall_median / 1e9,
               cpu_median * 1e6, names[0], median(ratio[w], rounds), median(cpu_ratio[w], rounds));
    }
    printf("checksum of the last C: %.6g\n", checksum);
    free(q.a), free(q.b), free(q.c);
    return 0;
}
