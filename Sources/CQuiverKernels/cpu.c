// Runtime CPU detection: one decision per process, overridable with QUIVER_SIMD.
#include "qk_cpu.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
static unsigned long long qk_xgetbv(unsigned int index) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(index));
    return ((unsigned long long)edx << 32) | eax;
}
static qk_level qk_detect(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return QK_LEVEL_SCALAR;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx || !fma) return QK_LEVEL_SCALAR;
    unsigned long long xcr0 = qk_xgetbv(0);
    if ((xcr0 & 0x6) != 0x6) return QK_LEVEL_SCALAR;  // XMM and YMM state enabled by the OS
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return QK_LEVEL_SCALAR;
    int avx2 = (b >> 5) & 1;
    if (!avx2) return QK_LEVEL_SCALAR;
    int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    if (avx512f && avx512dq && avx512bw && avx512vl && (xcr0 & 0xE6) == 0xE6) return QK_LEVEL_AVX512;
    return QK_LEVEL_AVX2;
}
#elif defined(__aarch64__)
static qk_level qk_detect(void) { return QK_LEVEL_NEON; }
#else
static qk_level qk_detect(void) { return QK_LEVEL_SCALAR; }
#endif

static qk_level qk_cap(qk_level hw) {
    const char *env = getenv("QUIVER_SIMD");
    if (!env || !*env) return hw;
    qk_level want = hw;
    if (strcmp(env, "scalar") == 0) want = QK_LEVEL_SCALAR;
    else if (strcmp(env, "neon") == 0) want = QK_LEVEL_NEON;
    else if (strcmp(env, "avx2") == 0) want = QK_LEVEL_AVX2;
    else if (strcmp(env, "avx512") == 0) want = QK_LEVEL_AVX512;
    if (want > hw) return hw;
#if defined(__aarch64__)
    if (want > QK_LEVEL_NEON) return hw;
#else
    if (want == QK_LEVEL_NEON) return QK_LEVEL_SCALAR;
#endif
    return want;
}

static volatile int qk_hw_cached = -1;
static volatile int qk_level_cached = -1;

qk_level qk_cpu_hardware_level(void) {
    int v = __atomic_load_n(&qk_hw_cached, __ATOMIC_ACQUIRE);
    if (v < 0) { v = (int)qk_detect(); __atomic_store_n(&qk_hw_cached, v, __ATOMIC_RELEASE); }
    return (qk_level)v;
}

qk_level qk_cpu_level(void) {
    int v = __atomic_load_n(&qk_level_cached, __ATOMIC_ACQUIRE);
    if (v < 0) { v = (int)qk_cap(qk_cpu_hardware_level()); __atomic_store_n(&qk_level_cached, v, __ATOMIC_RELEASE); }
    return (qk_level)v;
}

const char *qk_level_name(qk_level level) {
    switch (level) {
    case QK_LEVEL_SCALAR: return "scalar";
    case QK_LEVEL_NEON: return "neon";
    case QK_LEVEL_AVX2: return "avx2";
    case QK_LEVEL_AVX512: return "avx512";
    }
    return "unknown";
}
