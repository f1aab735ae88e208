// Distance kernels: scalar twins and the run-time dispatch table (see qk_distance.h).
// The SIMD levels live in distance_x86.c and distance_neon.c.
#include "qk_distance.h"
#include "distance_internal.h"
#include <math.h>

static float dot_scalar(const float *a, const float *b, size_t n) {
    // Four partial sums, like the SIMD kernels, so rounding stays comparable.
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

static float l2sq_scalar(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1], d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
        s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
    }
    for (; i < n; i++) { float d = a[i] - b[i]; s0 += d * d; }
    return (s0 + s1) + (s2 + s3);
}

static void dot_many_scalar(const float *q, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t r = 0; r < nrows; r++) out[r] = dot_scalar(q, rows + r * dim, dim);
}

static void l2sq_many_scalar(const float *q, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t r = 0; r < nrows; r++) out[r] = l2sq_scalar(q, rows + r * dim, dim);
}

static void dot_batch_scalar(const float *qs, size_t nq, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t i = 0; i < nq; i++) dot_many_scalar(qs + i * dim, rows, nrows, dim, out + i * nrows);
}

static float sq8_dot_scalar(const float *qs, const uint8_t *codes, size_t n) {
    float s0 = 0, s1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) { s0 += qs[i] * (float)codes[i]; s1 += qs[i + 1] * (float)codes[i + 1]; }
    for (; i < n; i++) s0 += qs[i] * (float)codes[i];
    return s0 + s1;
}

static float sq8_l2sq_scalar(const float *qm, const float *scale, const uint8_t *codes, size_t n) {
    float s0 = 0, s1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        float d0 = qm[i] - scale[i] * (float)codes[i], d1 = qm[i + 1] - scale[i + 1] * (float)codes[i + 1];
        s0 += d0 * d0; s1 += d1 * d1;
    }
    for (; i < n; i++) { float d = qm[i] - scale[i] * (float)codes[i]; s0 += d * d; }
    return s0 + s1;
}

static const qk_distance_table qk_table_scalar = {
    dot_scalar, l2sq_scalar, dot_many_scalar, l2sq_many_scalar, dot_batch_scalar, sq8_dot_scalar, sq8_l2sq_scalar,
};

const qk_distance_table *qk_distance_for_level(qk_level level) {
    if (level > qk_cpu_hardware_level()) return NULL;
    switch (level) {
    case QK_LEVEL_SCALAR: return &qk_table_scalar;
#if defined(__x86_64__) || defined(_M_X64)
    case QK_LEVEL_AVX2: return &qk_table_avx2;
    case QK_LEVEL_AVX512: return &qk_table_avx512;
    case QK_LEVEL_NEON: return NULL;
#elif defined(__aarch64__)
    case QK_LEVEL_NEON: return &qk_table_neon;
    default: return NULL;
#else
    default: return NULL;
#endif
    }
    return NULL;
}

static const qk_distance_table *volatile qk_table_cached = NULL;

const qk_distance_table *qk_distance(void) {
    const qk_distance_table *t = __atomic_load_n(&qk_table_cached, __ATOMIC_ACQUIRE);
    if (t) return t;
    t = qk_distance_for_level(qk_cpu_level());
    if (!t) t = &qk_table_scalar;
    __atomic_store_n(&qk_table_cached, t, __ATOMIC_RELEASE);
    return t;
}

float qk_dot_f32(const float *a, const float *b, size_t n) { return qk_distance()->dot(a, b, n); }
float qk_l2sq_f32(const float *a, const float *b, size_t n) { return qk_distance()->l2sq(a, b, n); }

float qk_cosine_f32(const float *a, const float *b, size_t n) {
    const qk_distance_table *t = qk_distance();
    float ab = t->dot(a, b, n), aa = t->dot(a, a, n), bb = t->dot(b, b, n);
    if (aa <= 0 || bb <= 0) return 0;
    return ab / (sqrtf(aa) * sqrtf(bb));
}

float qk_normalize_f32(float *v, size_t n) {
    float nn = sqrtf(qk_distance()->dot(v, v, n));
    if (nn > 0) {
        float inv = 1.0f / nn;
        for (size_t i = 0; i < n; i++) v[i] *= inv;
    }
    return nn;
}
