// Layer normalization with a fused bias + residual add (see qk_ops.h).
#include "qk_ops.h"
#include "ops_internal.h"

static void layernorm_scalar(const float *x, const float *bias, const float *residual, float *out,
                             long rows, long cols, long ld, const float *gamma, const float *beta, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        const float *rr = residual ? residual + r * ld : NULL;
        float *o = out + r * ld;
        float sum = 0;
        for (long c = 0; c < cols; c++) {
            float s = xr[c];
            if (bias) s += bias[c];
            if (rr) s += rr[c];
            o[c] = s;
            sum += s;
        }
        float mean = sum / (float)cols;
        float var = 0;
        for (long c = 0; c < cols; c++) { float d = o[c] - mean; var += d * d; }
        float inv = 1.0f / sqrtf(var / (float)cols + eps);
        for (long c = 0; c < cols; c++) {
            float v = (o[c] - mean) * inv;
            if (gamma) v *= gamma[c];
            if (beta) v += beta[c];
            o[c] = v;
        }
    }
}

#if QK_X86
static QK_AVX2 void layernorm_avx2(const float *x, const float *bias, const float *residual, float *out,
                                   long rows, long cols, long ld, const float *gamma, const float *beta, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        const float *rr = residual ? residual + r * ld : NULL;
        float *o = out + r * ld;
        __m256 acc = _mm256_setzero_ps();
        long c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 s = _mm256_loadu_ps(xr + c);
            if (bias) s = _mm256_add_ps(s, _mm256_loadu_ps(bias + c));
            if (rr) s = _mm256_add_ps(s, _mm256_loadu_ps(rr + c));
            _mm256_storeu_ps(o + c, s);
            acc = _mm256_add_ps(acc, s);
        }
        float sum = qk_hsum_avx2(acc);
        for (; c < cols; c++) {
            float s = xr[c];
            if (bias) s += bias[c];
            if (rr) s += rr[c];
            o[c] = s;
            sum += s;
        }
        float mean = sum / (float)cols;
        __m256 vm = _mm256_set1_ps(mean);
        acc = _mm256_setzero_ps();
        for (c = 0; c + 8 <= cols; c += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(o + c), vm);
            acc = _mm256_fmadd_ps(d, d, acc);
        }
        float var = qk_hsum_avx2(acc);
        for (; c < cols; c++) { float d = o[c] - mean; var += d * d; }
        float inv = 1.0f / sqrtf(var / (float)cols + eps);
        __m256 vi = _mm256_set1_ps(inv);
        for (c = 0; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(o + c), vm), vi);
            if (gamma) v = _mm256_mul_ps(v, _mm256_loadu_ps(gamma + c));
            if (beta) v = _mm256_add_ps(v, _mm256_loadu_ps(beta + c));
            _mm256_storeu_ps(o + c, v);
        }
        for (; c < cols; c++) {
            float v = (o[c] - mean) * inv;
            if (gamma) v *= gamma[c];
            if (beta) v += beta[c];
            o[c] = v;
        }
    }
}

static QK_AVX512 void layernorm_avx512(const float *x, const float *bias, const float *residual, float *out,
                                       long rows, long cols, long ld, const float *gamma, const float *beta, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * ld;
        const float *rr = residual ? residual + r * ld : NULL;
        float *o = out + r * ld;
        __m512 acc = _mm512_setzero_ps();
        for (long c = 0; c < cols; c += 16) {
            __mmask16 m = qk_mask_avx512(cols - c);
            __m512 s = _mm512_maskz_loadu_ps(m, xr + c);
            if (bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, bias + c));
            if (rr) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, rr + c));
            _mm512_mask_storeu_ps(o + c, m, s);
            acc = _mm512_add_ps(acc, s);
        }
        float mean = _mm512_reduce_add_ps(acc) / (float)cols;
        __m512 vm = _mm512_set1_ps(mean);
        acc = _mm512_setzero_ps();
        for (long c = 0; c < cols; c += 16) {
            __mmask16 m = qk_mask_avx512(cols - c);
            __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, o + c), vm);
            acc = _mm512_fmadd_ps(d, d, acc);
        }
        float inv = 1.0f / sqrtf(_mm512_reduce_add_ps(acc) / (float)cols + eps);
        __m512 vi = _mm512_set1_ps(inv);
        for (long c = 0; c < cols; c += 16) {
            __mmask16 m = qk_mask_avx512(cols - c);
            __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, o + c), vm), vi);
            if (gamma) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, gamma + c));
            if (beta) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, beta + c));
            _mm512_mask_storeu_ps(o + c, m, v);
        }
    }
}
#endif

void qk_layernorm_at(qk_level level, const float *x, const float *bias, const float *residual, float *out,
                     long rows, long cols, long ld, const float *gamma, const float *beta, float eps) {
    if (rows <= 0 || cols <= 0) return;
    switch (qk_effective_level(level)) {
#if QK_X86
    case QK_LEVEL_AVX512: layernorm_avx512(x, bias, residual, out, rows, cols, ld, gamma, beta, eps); return;
    case QK_LEVEL_AVX2: layernorm_avx2(x, bias, residual, out, rows, cols, ld, gamma, beta, eps); return;
#endif
    default: layernorm_scalar(x, bias, residual, out, rows, cols, ld, gamma, beta, eps); return;
    }
}

void qk_layernorm(const float *x, const float *bias, const float *residual, float *out,
                  long rows, long cols, long ld, const float *gamma, const float *beta, float eps) {
    qk_layernorm_at(qk_cpu_level(), x, bias, residual, out, rows, cols, ld, gamma, beta, eps);
}
