// Depthwise convolution, max pooling, global average pooling and residual add (see qk_conv.h).
#include "qk_conv.h"
#include "ops_internal.h"

static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

// Valid filter taps for output coordinate o: [k0, k1) such that 0 <= o*stride - pad + k < size.
static inline void tap_range(long o, long stride, long pad, long k, long size, long *k0, long *k1) {
    long start = o * stride - pad;
    long a = start < 0 ? -start : 0;
    long b = size - start;
    if (b > k) b = k;
    if (b < a) b = a;
    *k0 = a;
    *k1 = b;
}

// ---------------------------------------------------------------- scalar

static void dw_scalar(const float *in, long h, long w, long c, const float *weight, const float *bias,
                      long kh, long kw, long stride, long pt, long pl, float *out, long oh, long ow, float lo, float hi) {
    for (long oy = 0; oy < oh; oy++) {
        long ky0, ky1;
        tap_range(oy, stride, pt, kh, h, &ky0, &ky1);
        for (long ox = 0; ox < ow; ox++) {
            long kx0, kx1;
            tap_range(ox, stride, pl, kw, w, &kx0, &kx1);
            float *o = out + (oy * ow + ox) * c;
            for (long ch = 0; ch < c; ch++) {
                float acc = bias ? bias[ch] : 0.0f;
                for (long ky = ky0; ky < ky1; ky++) {
                    long iy = oy * stride - pt + ky;
                    for (long kx = kx0; kx < kx1; kx++) {
                        long ix = ox * stride - pl + kx;
                        acc += in[(iy * w + ix) * c + ch] * weight[(ky * kw + kx) * c + ch];
                    }
                }
                o[ch] = clampf(acc, lo, hi);
            }
        }
    }
}

static void maxpool_scalar(const float *in, long h, long w, long c, long k, long stride, long pad,
                           float *out, long oh, long ow) {
    for (long oy = 0; oy < oh; oy++) {
        long ky0, ky1;
        tap_range(oy, stride, pad, k, h, &ky0, &ky1);
        for (long ox = 0; ox < ow; ox++) {
            long kx0, kx1;
            tap_range(ox, stride, pad, k, w, &kx0, &kx1);
            float *o = out + (oy * ow + ox) * c;
            for (long ch = 0; ch < c; ch++) o[ch] = -INFINITY;
            for (long ky = ky0; ky < ky1; ky++) {
                for (long kx = kx0; kx < kx1; kx++) {
                    const float *p = in + ((oy * stride - pad + ky) * w + (ox * stride - pad + kx)) * c;
                    for (long ch = 0; ch < c; ch++) o[ch] = p[ch] > o[ch] ? p[ch] : o[ch];
                }
            }
        }
    }
}

static void avgpool_scalar(const float *in, long pixels, long c, float *out) {
    for (long ch = 0; ch < c; ch++) out[ch] = 0;
    for (long p = 0; p < pixels; p++)
        for (long ch = 0; ch < c; ch++) out[ch] += in[p * c + ch];
    float inv = 1.0f / (float)(pixels > 0 ? pixels : 1);
    for (long ch = 0; ch < c; ch++) out[ch] *= inv;
}

static void add_clamp_scalar(float *x, const float *y, long n, float lo, float hi) {
    for (long i = 0; i < n; i++) x[i] = clampf(x[i] + y[i], lo, hi);
}

#if QK_X86
// ---------------------------------------------------------------- AVX2

static QK_AVX2 void dw_avx2(const float *in, long h, long w, long c, const float *weight, const float *bias,
                            long kh, long kw, long stride, long pt, long pl, float *out, long oh, long ow, float lo, float hi) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (long oy = 0; oy < oh; oy++) {
        long ky0, ky1;
        tap_range(oy, stride, pt, kh, h, &ky0, &ky1);
        for (long ox = 0; ox < ow; ox++) {
            long kx0, kx1;
            tap_range(ox, stride, pl, kw, w, &kx0, &kx1);
            float *o = out + (oy * ow + ox) * c;
            const float *base = in + ((oy * stride - pt) * w + (ox * stride - pl)) * c;
            long ch = 0;
            // Four vectors (32 channels) at a time share the tap loop.
            for (; ch + 32 <= c; ch += 32) {
                __m256 a0, a1, a2, a3;
                if (bias) {
                    a0 = _mm256_loadu_ps(bias + ch); a1 = _mm256_loadu_ps(bias + ch + 8);
                    a2 = _mm256_loadu_ps(bias + ch + 16); a3 = _mm256_loadu_ps(bias + ch + 24);
                } else {
                    a0 = a1 = a2 = a3 = _mm256_setzero_ps();
                }
                for (long ky = ky0; ky < ky1; ky++) {
                    for (long kx = kx0; kx < kx1; kx++) {
                        const float *p = base + (ky * w + kx) * c + ch;
                        const float *q = weight + (ky * kw + kx) * c + ch;
                        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(q), a0);
                        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 8), _mm256_loadu_ps(q + 8), a1);
                        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 16), _mm256_loadu_ps(q + 16), a2);
                        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 24), _mm256_loadu_ps(q + 24), a3);
                    }
                }
                _mm256_storeu_ps(o + ch, _mm256_min_ps(_mm256_max_ps(a0, vlo), vhi));
                _mm256_storeu_ps(o + ch + 8, _mm256_min_ps(_mm256_max_ps(a1, vlo), vhi));
                _mm256_storeu_ps(o + ch + 16, _mm256_min_ps(_mm256_max_ps(a2, vlo), vhi));
                _mm256_storeu_ps(o + ch + 24, _mm256_min_ps(_mm256_max_ps(a3, vlo), vhi));
            }
            for (; ch < c; ch += 8) {
                long n = c - ch < 8 ? c - ch : 8;
                __m256i m = qk_mask_avx2(n);
                __m256 a = bias ? _mm256_maskload_ps(bias + ch, m) : _mm256_setzero_ps();
                for (long ky = ky0; ky < ky1; ky++) {
                    for (long kx = kx0; kx < kx1; kx++) {
                        const float *p = base + (ky * w + kx) * c + ch;
                        const float *q = weight + (ky * kw + kx) * c + ch;
                        a = _mm256_fmadd_ps(_mm256_maskload_ps(p, m), _mm256_maskload_ps(q, m), a);
                    }
                }
                _mm256_maskstore_ps(o + ch, m, _mm256_min_ps(_mm256_max_ps(a, vlo), vhi));
            }
        }
    }
}

static QK_AVX2 void maxpool_avx2(const float *in, long h, long w, long c, long k, long stride, long pad,
                                 float *out, long oh, long ow) {
    for (long oy = 0; oy < oh; oy++) {
        long ky0, ky1;
        tap_range(oy, stride, pad, k, h, &ky0, &ky1);
        for (long ox = 0; ox < ow; ox++) {
            long kx0, kx1;
            tap_range(ox, stride, pad, k, w, &kx0, &kx1);
            float *o = out + (oy * ow + ox) * c;
            const float *base = in + ((oy * stride - pad) * w + (ox * stride - pad)) * c;
            for (long ch = 0; ch < c; ch += 8) {
                long n = c - ch < 8 ? c - ch : 8;
                __m256i m = qk_mask_avx2(n);
                __m256 a = _mm256_set1_ps(-INFINITY);
                for (long ky = ky0; ky < ky1; ky++)
                    for (long kx = kx0; kx < kx1; kx++)
                        a = _mm256_max_ps(a, _mm256_maskload_ps(base + (ky * w + kx) * c + ch, m));
                _mm256_maskstore_ps(o + ch, m, a);
            }
        }
    }
}

static QK_AVX2 void avgpool_avx2(const float *in, long pixels, long c, float *out) {
    float inv = 1.0f / (float)(pixels > 0 ? pixels : 1);
    for (long ch = 0; ch < c; ch += 8) {
        long n = c - ch < 8 ? c - ch : 8;
        __m256i m = qk_mask_avx2(n);
        __m256 a = _mm256_setzero_ps();
        for (long p = 0; p < pixels; p++) a = _mm256_add_ps(a, _mm256_maskload_ps(in + p * c + ch, m));
        _mm256_maskstore_ps(out + ch, m, _mm256_mul_ps(a, _mm256_set1_ps(inv)));
    }
}

static QK_AVX2 void add_clamp_avx2(float *x, const float *y, long n, float lo, float hi) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
        _mm256_storeu_ps(x + i, _mm256_min_ps(_mm256_max_ps(v, vlo), vhi));
    }
    for (; i < n; i++) x[i] = clampf(x[i] + y[i], lo, hi);
}

// ---------------------------------------------------------------- AVX-512

static QK_AVX512 void dw_avx512(const float *in, long h, long w, long c, const float *weight, const float *bias,
                                long kh, long kw, long stride, long pt, long pl, float *out, long oh, long ow, float lo, float hi) {
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    for (long oy = 0; oy < oh; oy++) {
        long ky0, ky1;
        tap_range(oy, stride, pt, kh, h, &ky0, &ky1);
        for (long ox = 0; ox < ow; ox++) {
            long kx0, kx1;
            tap_range(ox, stride, pl, kw, w, &kx0, &kx1);
            float *o = out + (oy * ow + ox) * c;
            const float *base = in + ((oy * stride - pt) * w + (ox * stride - pl)) * c;
            long ch = 0;
            for (; ch + 64 <= c; ch += 64) {
                __m512 a0, a1, a2, a3;
                if (bias) {
                    a0 = _mm512_loadu_ps(bias + ch); a1 = _mm512_loadu_ps(bias + ch + 16);
                    a2 = _mm512_loadu_ps(bias + ch + 32); a3 = _mm512_loadu_ps(bias + ch + 48);
                } else {
                    a0 = a1 = a2 = a3 = _mm512_setzero_ps();
                }
                for (long ky = ky0; ky < ky1; ky++) {
                    for (long kx = kx0; kx < kx1; kx++) {
                        const float *p = base + (ky * w + kx) * c + ch;
                        const float *q = weight + (ky * kw + kx) * c + ch;
                        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(p), _mm512_loadu_ps(q), a0);
                        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 16), _mm512_loadu_ps(q + 16), a1);
                        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 32), _mm512_loadu_ps(q + 32), a2);
                        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(p + 48), _mm512_loadu_ps(q + 48), a3);
                    }
                }
                _mm512_storeu_ps(o + ch, _mm512_min_ps(_mm512_max_ps(a0, vlo), vhi));
                _mm512_storeu_ps(o + ch + 16, _mm512_min_ps(_mm512_max_ps(a1, vlo), vhi));
                _mm512_storeu_ps(o + ch + 32, _mm512_min_ps(_mm512_max_ps(a2, vlo), vhi));
                _mm512_storeu_ps(o + ch + 48, _mm512_min_ps(_mm512_max_ps(a3, vlo), vhi));
            }
            for (; ch < c; ch += 16) {
                __mmask16 m = qk_mask_avx512(c - ch);
                __m512 a = bias ? _mm512_maskz_loadu_ps(m, bias + ch) : _mm512_setzero_ps();
                for (long ky = ky0; ky < ky1; ky++) {
                    for (long kx = kx0; kx < kx1; kx++) {
                        const float *p = base + (ky * w + kx) * c + ch;
                        const float *q = weight + (ky * kw + kx) * c + ch;
                        a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, p), _mm512_maskz_loadu_ps(m, q), a);
                    }
                }
                _mm512_mask_storeu_ps(o + ch, m, _mm512_min_ps(_mm512_max_ps(a, vlo), vhi));
            }
        }
    }
}

static QK_AVX512 void maxpool_avx512(const float *in, long h, long w, long c, long k, long stride, long pad,
                                     float *out, long oh, long ow) {
    for (long oy = 0; oy < oh; oy++) {
        long ky0, ky1;
        tap_range(oy, stride, pad, k, h, &ky0, &ky1);
        for (long ox = 0; ox < ow; ox++) {
            long kx0, kx1;
            tap_range(ox, stride, pad, k, w, &kx0, &kx1);
            float *o = out + (oy * ow + ox) * c;
            const float *base = in + ((oy * stride - pad) * w + (ox * stride - pad)) * c;
            for (long ch = 0; ch < c; ch += 16) {
                __mmask16 m = qk_mask_avx512(c - ch);
                __m512 a = _mm512_set1_ps(-INFINITY);
                for (long ky = ky0; ky < ky1; ky++)
                    for (long kx = kx0; kx < kx1; kx++)
                        a = _mm512_max_ps(a, _mm512_mask_loadu_ps(a, m, base + (ky * w + kx) * c + ch));
                _mm512_mask_storeu_ps(o + ch, m, a);
            }
        }
    }
}

static QK_AVX512 void avgpool_avx512(const float *in, long pixels, long c, float *out) {
    float inv = 1.0f / (float)(pixels > 0 ? pixels : 1);
    for (long ch = 0; ch < c; ch += 16) {
        __mmask16 m = qk_mask_avx512(c - ch);
        __m512 a = _mm512_setzero_ps();
        for (long p = 0; p < pixels; p++) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, in + p * c + ch));
        _mm512_mask_storeu_ps(out + ch, m, _mm512_mul_ps(a, _mm512_set1_ps(inv)));
    }
}

static QK_AVX512 void add_clamp_avx512(float *x, const float *y, long n, float lo, float hi) {
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = qk_mask_avx512(n - i);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(x + i, m, _mm512_min_ps(_mm512_max_ps(v, vlo), vhi));
    }
}
#endif

// ---------------------------------------------------------------- dispatch

void qk_depthwise_conv2d_at(qk_level level, const float *in, long h, long w, long c, const float *weight,
                            const float *bias, long kh, long kw, long stride, long pad_top, long pad_left,
                            float *out, long oh, long ow, float lo, float hi) {
    switch (qk_effective_level(level)) {
#if QK_X86
    case QK_LEVEL_AVX512: dw_avx512(in, h, w, c, weight, bias, kh, kw, stride, pad_top, pad_left, out, oh, ow, lo, hi); return;
    case QK_LEVEL_AVX2: dw_avx2(in, h, w, c, weight, bias, kh, kw, stride, pad_top, pad_left, out, oh, ow, lo, hi); return;
#endif
    default: dw_scalar(in, h, w, c, weight, bias, kh, kw, stride, pad_top, pad_left, out, oh, ow, lo, hi); return;
    }
}

void qk_depthwise_conv2d(const float *in, long h, long w, long c, const float *weight, const float *bias,
                         long kh, long kw, long stride, long pad_top, long pad_left,
                         float *out, long oh, long ow, float lo, float hi) {
    qk_depthwise_conv2d_at(qk_cpu_level(), in, h, w, c, weight, bias, kh, kw, stride, pad_top, pad_left, out, oh, ow, lo, hi);
}

void qk_maxpool2d_at(qk_level level, const float *in, long h, long w, long c, long k, long stride, long pad,
                     float *out, long oh, long ow) {
    switch (qk_effective_level(level)) {
#if QK_X86
    case QK_LEVEL_AVX512: maxpool_avx512(in, h, w, c, k, stride, pad, out, oh, ow); return;
    case QK_LEVEL_AVX2: maxpool_avx2(in, h, w, c, k, stride, pad, out, oh, ow); return;
#endif
    default: maxpool_scalar(in, h, w, c, k, stride, pad, out, oh, ow); return;
    }
}

void qk_maxpool2d(const float *in, long h, long w, long c, long k, long stride, long pad, float *out, long oh, long ow) {
    qk_maxpool2d_at(qk_cpu_level(), in, h, w, c, k, stride, pad, out, oh, ow);
}

void qk_global_avgpool_at(qk_level level, const float *in, long pixels, long c, float *out) {
    switch (qk_effective_level(level)) {
#if QK_X86
    case QK_LEVEL_AVX512: avgpool_avx512(in, pixels, c, out); return;
    case QK_LEVEL_AVX2: avgpool_avx2(in, pixels, c, out); return;
#endif
    default: avgpool_scalar(in, pixels, c, out); return;
    }
}

void qk_global_avgpool(const float *in, long pixels, long c, float *out) {
    qk_global_avgpool_at(qk_cpu_level(), in, pixels, c, out);
}

void qk_add_clamp_at(qk_level level, float *x, const float *y, long n, float lo, float hi) {
    switch (qk_effective_level(level)) {
#if QK_X86
    case QK_LEVEL_AVX512: add_clamp_avx512(x, y, n, lo, hi); return;
    case QK_LEVEL_AVX2: add_clamp_avx2(x, y, n, lo, hi); return;
#endif
    default: add_clamp_scalar(x, y, n, lo, hi); return;
    }
}

void qk_add_clamp(float *x, const float *y, long n, float lo, float hi) {
    qk_add_clamp_at(qk_cpu_level(), x, y, n, lo, hi);
}
