/* Which microkernel runs: chosen at run time from the CPU's features.
 *
 * One binary serves every x86-64 CPU: the AVX-512 and AVX2 microkernels are
 * compiled with per-function target attributes (no -march=native), and this
 * file picks the widest one the running CPU supports. On AArch64 the NEON
 * microkernel needs no test (every AArch64 CPU has NEON). The portable C kernel is
 * always there; TINYGRAD_EDU_KERNEL=generic (read at first use) or
 * tg_set_kernel("generic") forces it, so tests can cover every path.
 */
#include <stdlib.h>
#include <string.h>

#include "gemm_kernels.h"
#include "kernels.h"

enum { KERNEL_GENERIC, KERNEL_AVX2, KERNEL_AVX512, KERNEL_NEON, KERNEL_COUNT };
static const char *const kernel_names[KERNEL_COUNT] = {"generic", "avx2", "avx512", "neon"};

/* The chosen kernel, or -1 before the first use. Read and written atomically
 * because GEMMs run with the GIL released while Python may change it. */
static int selected_kernel = -1;

static int cpu_supports(int kernel) {
#ifdef TG_HAVE_X86_KERNELS
    __builtin_cpu_init();
    if (kernel == KERNEL_AVX512) return __builtin_cpu_supports("avx512f");
    if (kernel == KERNEL_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#ifdef TG_HAVE_NEON_KERNELS
    if (kernel == KERNEL_NEON) return 1;
#endif
    return kernel == KERNEL_GENERIC;
}

static int kernel_index(const char *name) {
    for (int kernel = 0; kernel < KERNEL_COUNT; kernel++)
        if (name && strcmp(name, kernel_names[kernel]) == 0) return kernel;
    return -1;
}

static int best_kernel(void) {
    for (int kernel = KERNEL_COUNT - 1; kernel > KERNEL_GENERIC; kernel--)
        if (cpu_supports(kernel)) return kernel;
    return KERNEL_GENERIC;
}

int tg_kernel_supported(const char *name) {
    int kernel = kernel_index(name);
    return kernel >= 0 && cpu_supports(kernel);
}

tg_status tg_set_kernel(const char *name) {
    int kernel = name == NULL ? best_kernel() : kernel_index(name);
    if (kernel < 0 || !cpu_supports(kernel)) return TG_ERR_ARGUMENT;
    __atomic_store_n(&selected_kernel, kernel, __ATOMIC_RELAXED);
    return TG_OK;
}

/* The selected kernel; on first use, TINYGRAD_EDU_KERNEL's if it names a
 * supported one, else the best the CPU runs. */
static int current_kernel(void) {
    int kernel = __atomic_load_n(&selected_kernel, __ATOMIC_RELAXED);
    if (kernel < 0) {
        if (tg_set_kernel(getenv("TINYGRAD_EDU_KERNEL")) != TG_OK) tg_set_kernel(NULL);
        kernel = __atomic_load_n(&selected_kernel, __ATOMIC_RELAXED);
    }
    return kernel;
}

const char *tg_get_kernel(void) { return kernel_names[current_kernel()]; }

const tg_sgemm_config *tg_sgemm_selected(void) {
    switch (current_kernel()) {
#ifdef TG_HAVE_X86_KERNELS
        case KERNEL_AVX512: return &tg_sgemm_avx512;
        case KERNEL_AVX2: return &tg_sgemm_avx2;
#endif
#ifdef TG_HAVE_NEON_KERNELS
        case KERNEL_NEON: return &tg_sgemm_neon;
#endif
        default: return &tg_sgemm_generic;
    }
}

const tg_dgemm_config *tg_dgemm_selected(void) {
    switch (current_kernel()) {
#ifdef TG_HAVE_X86_KERNELS
        case KERNEL_AVX512: return &tg_dgemm_avx512;
        case KERNEL_AVX2: return &tg_dgemm_avx2;
#endif
#ifdef TG_HAVE_NEON_KERNELS
        case KERNEL_NEON: return &tg_dgemm_neon;
#endif
        default: return &tg_dgemm_generic;
    }
}
