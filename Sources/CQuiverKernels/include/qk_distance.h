#ifndef QK_DISTANCE_H
#define QK_DISTANCE_H
// Distance kernels for the vector indexes: float32 dot / squared L2 (cosine is dot on
// pre-normalized vectors), one query against a block of rows, many queries against a block
// (FLAT), and 8-bit scalar-quantized (SQ8) rows against a float query.
// Every kernel exists per instruction set (AVX-512, AVX2+FMA, NEON) with a scalar twin; the
// table for the running CPU is chosen once from qk_cpu_level().

#include <stddef.h>
#include <stdint.h>
#include "qk_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef float (*qk_pair_f32_fn)(const float *a, const float *b, size_t n);

/// One implementation per instruction-set level.
typedef struct {
    /// sum a[i]*b[i] over n floats.
    float (*dot)(const float *a, const float *b, size_t n);
    /// sum (a[i]-b[i])^2 over n floats.
    float (*l2sq)(const float *a, const float *b, size_t n);
    /// out[r] = dot(q, rows + r*dim) for r < nrows (rows row-major, contiguous).
    void (*dot_many)(const float *q, const float *rows, size_t nrows, size_t dim, float *out);
    /// out[r] = l2sq(q, rows + r*dim) for r < nrows.
    void (*l2sq_many)(const float *q, const float *rows, size_t nrows, size_t dim, float *out);
    /// out[i*nrows + r] = dot(qs + i*dim, rows + r*dim) for i < nq, r < nrows (register-blocked).
    void (*dot_batch)(const float *qs, size_t nq, const float *rows, size_t nrows, size_t dim, float *out);
    /// sum qs[i] * codes[i] (codes widened to float): the code-dependent part of an SQ8 dot product
    /// when qs = query * scale.
    float (*sq8_dot)(const float *qs, const uint8_t *codes, size_t n);
    /// sum (qm[i] - scale[i]*codes[i])^2: SQ8 squared distance when qm = query - min.
    float (*sq8_l2sq)(const float *qm, const float *scale, const uint8_t *codes, size_t n);
} qk_distance_table;

/// The table for the running CPU (qk_cpu_level()). Never NULL.
const qk_distance_table *qk_distance(void);

/// The table for `level`, or NULL when the hardware cannot run it (or it is not built for this
/// architecture). Used by tests to compare each level with the scalar twin.
const qk_distance_table *qk_distance_for_level(qk_level level);

/// Convenience calls through qk_distance().
float qk_dot_f32(const float *a, const float *b, size_t n);
float qk_l2sq_f32(const float *a, const float *b, size_t n);
/// Cosine similarity of two arbitrary vectors (0 when either has zero norm).
float qk_cosine_f32(const float *a, const float *b, size_t n);
/// Scales `v` to unit L2 norm in place; returns the original norm (a zero vector is left as is).
float qk_normalize_f32(float *v, size_t n);

#ifdef __cplusplus
}
#endif
#endif

#ifndef QK_CRC32C_DECLARED
#define QK_CRC32C_DECLARED
#ifdef __cplusplus
extern "C" {
#endif
/// CRC-32C (Castagnoli, reflected, as iSCSI/ext4) of `n` bytes continuing from `crc`
/// (start with 0). Uses the SSE4.2 instruction when the CPU level is AVX2 or higher.
uint32_t qk_crc32c(uint32_t crc, const void *data, size_t n);
/// The table-driven twin of qk_crc32c (for tests).
uint32_t qk_crc32c_scalar(uint32_t crc, const void *data, size_t n);
#ifdef __cplusplus
}
#endif
#endif
