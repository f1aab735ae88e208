#ifndef QK_CPU_H
#define QK_CPU_H
// Runtime CPU feature detection shared by every kernel family.
// Kernels are compiled per instruction set with function-level target attributes
// (never package-wide flags) and chosen once, at first use, from qk_cpu_level().

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels, ordered: a higher level implies the lower ones on its architecture.
typedef enum {
    QK_LEVEL_SCALAR = 0,
    QK_LEVEL_NEON = 1,    // aarch64 Advanced SIMD
    QK_LEVEL_AVX2 = 2,    // x86-64 AVX2 + FMA
    QK_LEVEL_AVX512 = 3,  // x86-64 AVX-512 F + BW + DQ + VL
} qk_level;

/// The level the machine supports, capped by the QUIVER_SIMD environment variable
/// (`scalar`, `neon`, `avx2`, `avx512`) if set. Computed once; thread-safe.
qk_level qk_cpu_level(void);

/// The level the hardware supports, ignoring QUIVER_SIMD.
qk_level qk_cpu_hardware_level(void);

/// A short name for a level ("scalar", "neon", "avx2", "avx512").
const char *qk_level_name(qk_level level);

#ifdef __cplusplus
}
#endif
#endif
