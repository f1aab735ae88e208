// NEON (aarch64 Advanced SIMD) distance kernels.
#include "distance_internal.h"
#if defined(__aarch64__)
#include <arm_neon.h>

static float dot_neon(const float *a, const float *b, size_t n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static float l2sq_neon(const float *a, const float *b, size_t n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t d0 = vsubq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
        float32x4_t d1 = vsubq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s0 = vfmaq_f32(s0, d0, d0); s1 = vfmaq_f32(s1, d1, d1);
    }
    for (; i + 4 <= n; i += 4) { float32x4_t d = vsubq_f32(vld1q_f32(a + i), vld1q_f32(b + i)); s0 = vfmaq_f32(s0, d, d); }
    float s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < n; i++) { float d = a[i] - b[i]; s += d * d; }
    return s;
}

static void dot_many_neon(const float *q, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t r = 0; r < nrows; r++) out[r] = dot_neon(q, rows + r * dim, dim);
}
static void l2sq_many_neon(const float *q, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t r = 0; r < nrows; r++) out[r] = l2sq_neon(q, rows + r * dim, dim);
}
static void dot_batch_neon(const float *qs, size_t nq, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t i = 0; i < nq; i++) dot_many_neon(qs + i * dim, rows, nrows, dim, out + i * nrows);
}

static float sq8_dot_neon(const float *qs, const uint8_t *codes, size_t n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint16x8_t c = vmovl_u8(vld1_u8(codes + i));
        float32x4_t c0 = vcvtq_f32_u32(vmovl_u16(vget_low_u16(c))), c1 = vcvtq_f32_u32(vmovl_u16(vget_high_u16(c)));
        s0 = vfmaq_f32(s0, vld1q_f32(qs + i), c0); s1 = vfmaq_f32(s1, vld1q_f32(qs + i + 4), c1);
    }
    float s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < n; i++) s += qs[i] * (float)codes[i];
    return s;
}

static float sq8_l2sq_neon(const float *qm, const float *scale, const uint8_t *codes, size_t n) {
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint16x8_t c = vmovl_u8(vld1_u8(codes + i));
        float32x4_t c0 = vcvtq_f32_u32(vmovl_u16(vget_low_u16(c))), c1 = vcvtq_f32_u32(vmovl_u16(vget_high_u16(c)));
        float32x4_t d0 = vfmsq_f32(vld1q_f32(qm + i), vld1q_f32(scale + i), c0);
        float32x4_t d1 = vfmsq_f32(vld1q_f32(qm + i + 4), vld1q_f32(scale + i + 4), c1);
        s0 = vfmaq_f32(s0, d0, d0); s1 = vfmaq_f32(s1, d1, d1);
    }
    float s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < n; i++) { float d = qm[i] - scale[i] * (float)codes[i]; s += d * d; }
    return s;
}

const qk_distance_table qk_table_neon = {
    dot_neon, l2sq_neon, dot_many_neon, l2sq_many_neon, dot_batch_neon, sq8_dot_neon, sq8_l2sq_neon,
};
#endif
