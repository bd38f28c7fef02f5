/* The CPU's data caches, and the GEMM block sizes they imply.
 *
 * The five GEMM loops (gemm.c) keep one operand in each cache level: a B
 * sliver in L1, a packed block of A in L2, a packed panel of B in L3. How big
 * those may be depends on the cache, not on the instruction set, so the sizes
 * are computed here at run time from what the CPU reports, by the analytical
 * model of BLIS (Low, Igual, Smith, Quintana-Orti, "Analytical modeling is
 * enough for high-performance BLIS", ACM TOMS 2016), instead of constants
 * tuned on one chip. docs/gemm.md works the rule through for two machines.
 */
#include <stdio.h>
#include <string.h>

#include "kernels.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define TG_HAVE_CPUID 1
#endif

/* ---- what the CPU reports ---------------------------------------------------------- */

/* Used for a level nothing reports: common sizes on today's CPUs, on the small side. */
static const tg_cache_level default_l1d = {32 << 10, 8, 64};
static const tg_cache_level default_l2 = {256 << 10, 8, 64};
static const tg_cache_level default_l3 = {2 << 20, 16, 64};

static int level_known(const tg_cache_level *level) {
    return level->size > 0 && level->ways > 0 && level->line > 0 &&
           level->size % (level->ways * level->line) == 0;
}

/* Store a reported data (or unified) cache of level 1-3 into caches. */
static void record(tg_cache_info *caches, int level, tg_cache_level found) {
    if (!level_known(&found)) return;
    if (level == 1) caches->l1d = found;
    if (level == 2) caches->l2 = found;
    if (level == 3) caches->l3 = found;
}

#ifdef TG_HAVE_CPUID
/* Intel's leaf 4 and AMD's leaf 0x8000001D list the caches one subleaf each, in
 * the same format: type (0 = no more, 1 data, 2 instruction, 3 unified), level,
 * and ways, partitions, line size and sets, each stored minus one. */
static int read_cpuid_caches(tg_cache_info *caches) {
    unsigned eax, ebx, ecx, edx;
    char vendor[13] = {0};
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
    memcpy(vendor, &ebx, 4), memcpy(vendor + 4, &edx, 4), memcpy(vendor + 8, &ecx, 4);
    unsigned max_leaf = eax, leaf = 4;
    if (strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0) {
        leaf = 0x8000001D;
        max_leaf = __get_cpuid_max(0x80000000, NULL);
    }
    if (max_leaf < leaf) return 0;
    int found = 0;
    for (unsigned index = 0; index < 16; index++) {
        if (!__get_cpuid_count(leaf, index, &eax, &ebx, &ecx, &edx)) break;
        unsigned type = eax & 0x1F, level = (eax >> 5) & 0x7;
        if (type == 0) break;
        if (type == 2) continue; /* instruction cache */
        int64_t line = (ebx & 0xFFF) + 1, partitions = ((ebx >> 12) & 0x3FF) + 1;
        int64_t ways = ((ebx >> 22) & 0x3FF) + 1, sets = (int64_t)ecx + 1;
        if (eax & (1u << 9)) ways *= sets, sets = 1; /* fully associative */
        tg_cache_level cache = {ways * partitions * line * sets, ways * partitions, line};
        record(caches, (int)level, cache);
        found = 1;
    }
    return found;
}
#endif

/* One number from a sysfs file ("48K", "12", "2048K"); 0 if unreadable. */
static int64_t sysfs_number(int index, const char *name) {
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", index, name);
    FILE *file = fopen(path, "r");
    if (!file) return 0;
    long long value = 0;
    char unit = 0;
    int read = fscanf(file, "%lld%c", &value, &unit);
    fclose(file);
    if (read < 1 || value < 0) return 0;
    return unit == 'K' ? value << 10 : unit == 'M' ? value << 20 : value;
}

/* Linux describes each cache of cpu0 in /sys/devices/system/cpu/cpu0/cache/index*
 * (on every architecture, ARM included). */
static int read_sysfs_caches(tg_cache_info *caches) {
    int found = 0;
    for (int index = 0; index < 16; index++) {
        char path[96], type[16] = {0};
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", index);
        FILE *file = fopen(path, "r");
        if (!file) break;
        int read = fscanf(file, "%15s", type);
        fclose(file);
        if (read != 1 || strcmp(type, "Instruction") == 0) continue;
        tg_cache_level cache = {sysfs_number(index, "size"),
                                sysfs_number(index, "ways_of_associativity"),
                                sysfs_number(index, "coherency_line_size")};
        record(caches, (int)sysfs_number(index, "level"), cache);
        found = 1;
    }
    return found;
}

static tg_cache_info detect_caches(void) {
    tg_cache_info caches;
    memset(&caches, 0, sizeof caches);
    caches.source = "default";
#ifdef TG_HAVE_CPUID
    if (read_cpuid_caches(&caches)) caches.source = "cpuid";
#endif
    if (!level_known(&caches.l1d) && read_sysfs_caches(&caches)) caches.source = "sysfs";
    if (!level_known(&caches.l1d)) caches.l1d = default_l1d;
    if (!level_known(&caches.l2)) caches.l2 = default_l2;
    if (!level_known(&caches.l3)) caches.l3 = default_l3;
    return caches;
}

/* Detected on first use. Two threads racing here compute the same numbers;
 * the flag is published last (release), so a reader that sees it set (acquire)
 * sees the finished struct. */
static tg_cache_info detected;
static int detected_ready = 0;

tg_cache_info tg_cache_sizes(void) {
    if (!__atomic_load_n(&detected_ready, __ATOMIC_ACQUIRE)) {
        static int claimed = 0;
        if (__atomic_exchange_n(&claimed, 1, __ATOMIC_ACQ_REL) == 0) {
            detected = detect_caches();
            __atomic_store_n(&detected_ready, 1, __ATOMIC_RELEASE);
        } else {
            return detect_caches(); /* another thread is detecting right now */
        }
    }
    return detected;
}

/* ---- the rule ------------------------------------------------------------------------ */

static int64_t max64(int64_t x, int64_t y) { return x > y ? x : y; }
static int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

/* One way of a set-associative cache holds size / ways bytes, spread over every
 * set: data that fills w ways can never evict data in the other ways (LRU). */
static int64_t way_bytes(const tg_cache_level *cache) { return cache->size / cache->ways; }

/* Low et al., section 4 (S = element size, W = ways, one way = N sets x line):
 *   kc (L1): the B sliver (kc x nr) must stay in L1 while A slivers (mr x kc)
 *       stream through it. Give A's slivers C_A ways and B's sliver nr/mr times
 *       as many, keeping one way for the C tile and everything else:
 *       C_A = floor((W1 - 1) / (1 + nr/mr)),  kc = C_A * way1 / (mr * S).
 *   mc (L2): the packed mc x kc block of A stays in L2 beside one B sliver:
 *       C_A = W2 - 1 - ceil(kc * nr * S / way2),  mc = C_A * way2 / (kc * S), a multiple of mr.
 *   nc (L3): the packed kc x nc panel of B stays in L3 beside the A block:
 *       C_B = W3 - 1 - ceil(mc * kc * S / way3),  nc = C_B * way3 / (kc * S), a multiple of nr.
 * Each share is at least one way, so a tiny or odd cache still gives usable sizes. */
tg_block_sizes tg_blocking_rule(const tg_cache_info *caches, int64_t mr, int64_t nr,
                                int64_t element_size) {
    const tg_cache_level *l1 = &caches->l1d, *l2 = &caches->l2, *l3 = &caches->l3;
    int64_t s = element_size;
    tg_block_sizes sizes;

    int64_t ways_a1 = max64(1, (l1->ways - 1) * mr / (mr + nr));
    sizes.kc = max64(8, ways_a1 * way_bytes(l1) / (mr * s));

    int64_t ways_a2 = max64(1, l2->ways - 1 - ceil_div(sizes.kc * nr * s, way_bytes(l2)));
    sizes.mc = max64(1, ways_a2 * way_bytes(l2) / (sizes.kc * s) / mr) * mr;

    int64_t ways_b3 = max64(1, l3->ways - 1 - ceil_div(sizes.mc * sizes.kc * s, way_bytes(l3)));
    sizes.nc = max64(1, ways_b3 * way_bytes(l3) / (sizes.kc * s) / nr) * nr;
    return sizes;
}
