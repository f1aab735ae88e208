#ifndef QK_OPS_INTERNAL_H
#define QK_OPS_INTERNAL_H
// Shared pieces of the op kernels: the exp/erf approximations in scalar and SIMD forms, so that
// every level computes the same polynomial (the SIMD forms differ from the scalar twin only by
// FMA rounding).
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "qk_cpu.h"

#if defined(__x86_64__) || defined(_M_X64)
#define QK_X86 1
#include <immintrin.h>
#define QK_AVX2 __attribute__((target("avx2,fma")))
#define QK_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#else
#define QK_X86 0
#endif

// exp: Cody-Waite range reduction x = n ln2 + r, degree-6 polynomial on r, scale by 2^n.
#define QK_EXP_HI 88.0f
#define QK_EXP_LO (-87.33f)
#define QK_LOG2E 1.44269504088896341f
#define QK_LN2_HI 0.693359375f
#define QK_LN2_LO (-2.12194440e-4f)
#define QK_EXP_P0 1.9875691500e-4f
#define QK_EXP_P1 1.3981999507e-3f
#define QK_EXP_P2 8.3334519073e-3f
#define QK_EXP_P3 4.1665795894e-2f
#define QK_EXP_P4 1.6666665459e-1f
#define QK_EXP_P5 5.0000001201e-1f

// erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7): 1 - poly(t) exp(-x^2), t = 1 / (1 + p|x|).
#define QK_ERF_P 0.3275911f
#define QK_ERF_A1 0.254829592f
#define QK_ERF_A2 (-0.284496736f)
#define QK_ERF_A3 1.421413741f
#define QK_ERF_A4 (-1.453152027f)
#define QK_ERF_A5 1.061405429f

static inline float qk_exp_scalar(float x) {
    if (x > QK_EXP_HI) x = QK_EXP_HI;
    if (x < QK_EXP_LO) x = QK_EXP_LO;
    float fx = nearbyintf(x * QK_LOG2E);
    float r = x - fx * QK_LN2_HI;
    r = r - fx * QK_LN2_LO;
    float p = QK_EXP_P0;
    p = p * r + QK_EXP_P1;
    p = p * r + QK_EXP_P2;
    p = p * r + QK_EXP_P3;
    p = p * r + QK_EXP_P4;
    p = p * r + QK_EXP_P5;
    p = p * (r * r) + r + 1.0f;
    int32_t n = (int32_t)fx + 127;
    uint32_t bits = (uint32_t)n << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

static inline float qk_erf_scalar(float x) {
    float ax = fabsf(x);
    float t = 1.0f / (1.0f + QK_ERF_P * ax);
    float poly = QK_ERF_A5;
    poly = poly * t + QK_ERF_A4;
    poly = poly * t + QK_ERF_A3;
    poly = poly * t + QK_ERF_A2;
    poly = poly * t + QK_ERF_A1;
    poly = poly * t;
    float y = 1.0f - poly * qk_exp_scalar(-ax * ax);
    return x < 0 ? -y : y;
}

#if QK_X86
static inline QK_AVX2 __m256 qk_exp_avx2(__m256 x) {
    x = _mm256_min_ps(x, _mm256_set1_ps(QK_EXP_HI));
    x = _mm256_max_ps(x, _mm256_set1_ps(QK_EXP_LO));
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(QK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(QK_LN2_HI), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(QK_LN2_LO), r);
    __m256 p = _mm256_set1_ps(QK_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QK_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QK_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QK_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QK_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(QK_EXP_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i n = _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(n, 23)));
}

static inline QK_AVX2 __m256 qk_erf_avx2(__m256 x) {
    __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(QK_ERF_P), ax, _mm256_set1_ps(1.0f)));
    __m256 poly = _mm256_set1_ps(QK_ERF_A5);
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(QK_ERF_A4));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(QK_ERF_A3));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(QK_ERF_A2));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(QK_ERF_A1));
    poly = _mm256_mul_ps(poly, t);
    __m256 e = qk_exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)));
    __m256 y = _mm256_fnmadd_ps(poly, e, _mm256_set1_ps(1.0f));
    return _mm256_or_ps(y, sign);
}

static inline QK_AVX2 float qk_hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline QK_AVX2 float qk_hmax_avx2(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Mask with the first n (0...8) lanes set.
static inline QK_AVX2 __m256i qk_mask_avx2(long n) {
    static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(lanes + 8 - n));
}

static inline QK_AVX512 __m512 qk_exp_avx512(__m512 x) {
    x = _mm512_min_ps(x, _mm512_set1_ps(QK_EXP_HI));
    x = _mm512_max_ps(x, _mm512_set1_ps(QK_EXP_LO));
    __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(QK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(QK_LN2_HI), x);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(QK_LN2_LO), r);
    __m512 p = _mm512_set1_ps(QK_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QK_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QK_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QK_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QK_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(QK_EXP_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i n = _mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127));
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(n, 23)));
}

static inline QK_AVX512 __m512 qk_erf_avx512(__m512 x) {
    __m512 ax = _mm512_abs_ps(x);
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(QK_ERF_P), ax, _mm512_set1_ps(1.0f)));
    __m512 poly = _mm512_set1_ps(QK_ERF_A5);
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(QK_ERF_A4));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(QK_ERF_A3));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(QK_ERF_A2));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(QK_ERF_A1));
    poly = _mm512_mul_ps(poly, t);
    __m512 e = qk_exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)));
    __m512 y = _mm512_fnmadd_ps(poly, e, _mm512_set1_ps(1.0f));
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), sign));
}

static inline QK_AVX512 __mmask16 qk_mask_avx512(long n) {
    return (__mmask16)(n >= 16 ? 0xFFFF : ((1u << n) - 1u));
}
#endif

/// The level a kernel family actually runs for a requested level on this build and machine.
static inline qk_level qk_effective_level(qk_level requested) {
    qk_level hw = qk_cpu_hardware_level();
    if (requested > hw) requested = hw;
#if QK_X86
    if (requested == QK_LEVEL_NEON) requested = QK_LEVEL_SCALAR;
#else
    if (requested > QK_LEVEL_NEON) requested = QK_LEVEL_SCALAR;
    requested = QK_LEVEL_SCALAR;  // no NEON forms yet: the scalar forms auto-vectorize
#endif
    return requested;
}

#endif
