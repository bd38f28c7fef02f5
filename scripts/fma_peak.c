/* The FMA peak of one core: what no GEMM can beat, measured rather than looked up.
 *
 * CHAINS independent multiply-add chains (acc[i] = acc[i] * x + y), each with its
 * own starting value, so the compiler can neither merge them nor drop them. An
 * FMA's result is ready after its latency (4 cycles on Intel since Skylake and on
 * AMD Zen) and a core starts up to 2 per cycle, so at least 4 x 2 = 8 chains are
 * needed to keep both pipes busy; 12 (AVX2: 12 of the 16 ymm registers) and 24
 * (AVX-512: 24 of 32 zmm) leave a margin. Check the machine code before trusting
 * the number: the loop must be CHAINS `vfmadd...` instructions on distinct
 * registers and nothing that touches memory:
 *   gcc -O2 -std=c99 scripts/fma_peak.c -o fma_peak && objdump -d --no-show-raw-insn fma_peak | grep -A40 '<chains_avx2_s>:'
 *   ./fma_peak [SECONDS]
 * Prints GFLOP/s (2 flops per lane per FMA) for each ISA the CPU has, float32 and
 * float64, the best of several runs measured in thread CPU time (a shared
 * machine's other jobs then only cost wall time).
 */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define AVX2_CHAINS 12
#define AVX512_CHAINS 24
#define STEPS 4096 /* FMAs per chain per call */

static double cpu_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

/* Each function runs its chains for STEPS steps and returns their sum (so that
 * none is dead code). x < 1 and y small: the values converge, never overflow
 * and never become subnormal. */
#define DEFINE_CHAINS(NAME, TARGET, VEC, T, CHAINS, SET1, FMA, STORE, LANES)          \
    __attribute__((target(TARGET), noinline)) static double NAME(T start) {          \
        VEC acc[CHAINS];                                                                \
        for (int i = 0; i < CHAINS; i++) acc[i] = SET1(start + (T)i);                 \
        VEC x = SET1((T)0.999999), y = SET1((T)1e-6);                                  \
        for (int step = 0; step < STEPS; step++) {                                      \
            _Pragma("GCC unroll 32") for (int i = 0; i < CHAINS; i++) acc[i] =        \
                FMA(acc[i], x, y);                                                      \
        }                                                                               \
        T lanes[LANES];                                                                 \
        double sum = 0;                                                                 \
        for (int i = 0; i < CHAINS; i++) {                                              \
            STORE(lanes, acc[i]);                                                       \
            for (int l = 0; l < LANES; l++) sum += lanes[l];                            \
        }                                                                               \
        return sum;                                                                     \
    }

DEFINE_CHAINS(chains_avx2_s, "avx2,fma", __m256, float, AVX2_CHAINS, _mm256_set1_ps,
              _mm256_fmadd_ps, _mm256_storeu_ps, 8)
DEFINE_CHAINS(chains_avx2_d, "avx2,fma", __m256d, double, AVX2_CHAINS, _mm256_set1_pd,
              _mm256_fmadd_pd, _mm256_storeu_pd, 4)
DEFINE_CHAINS(chains_avx512_s, "avx512f", __m512, float, AVX512_CHAINS, _mm512_set1_ps,
              _mm512_fmadd_ps, _mm512_storeu_ps, 16)
DEFINE_CHAINS(chains_avx512_d, "avx512f", __m512d, double, AVX512_CHAINS, _mm512_set1_pd,
              _mm512_fmadd_pd, _mm512_storeu_pd, 8)

/* GFLOP/s of one chains function: the best of `runs` runs of `seconds` each. */
static double measure(double (*chains)(float), int flops_per_step, double seconds, int runs) {
    double best = 0, keep = 0;
    for (int run = 0; run < runs; run++) {
        long calls = 0;
        double start = cpu_seconds(), elapsed;
        do {
            keep += chains((float)(calls % 7));
            calls++;
        } while ((elapsed = cpu_seconds() - start) < seconds);
        double gflops = (double)calls * STEPS * flops_per_step / elapsed / 1e9;
        if (gflops > best) best = gflops;
    }
    if (keep == 12345.678) printf("(never printed; keeps the sums alive)\n");
    return best;
}

/* float and double versions share one signature for measure() */
static double avx2_s(float start) { return chains_avx2_s(start); }
static double avx2_d(float start) { return chains_avx2_d(start); }
static double avx512_s(float start) { return chains_avx512_s(start); }
static double avx512_d(float start) { return chains_avx512_d(start); }

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 0.2;
    int runs = 7;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        printf("avx2   float32: %6.1f GFLOP/s (%d chains of 8 lanes)\n",
               measure(avx2_s, AVX2_CHAINS * 8 * 2, seconds, runs), AVX2_CHAINS);
        printf("avx2   float64: %6.1f GFLOP/s (%d chains of 4 lanes)\n",
               measure(avx2_d, AVX2_CHAINS * 4 * 2, seconds, runs), AVX2_CHAINS);
    }
    if (__builtin_cpu_supports("avx512f")) {
        printf("avx512 float32: %6.1f GFLOP/s (%d chains of 16 lanes)\n",
               measure(avx512_s, AVX512_CHAINS * 16 * 2, seconds, runs), AVX512_CHAINS);
        printf("avx512 float64: %6.1f GFLOP/s (%d chains of 8 lanes)\n",
               measure(avx512_d, AVX512_CHAINS * 8 * 2, seconds, runs), AVX512_CHAINS);
    }
    return 0;
}
