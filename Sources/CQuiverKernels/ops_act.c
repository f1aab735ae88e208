// Element-wise activations with a fused bias add, row softmax and exp (see qk_ops.h).
#include "qk_ops.h"
#include "ops_internal.h"

#define QK_SQRT1_2 0.70710678118654752f
#define QK_SQRT_2_PI 0.79788456080286536f

static inline float act_scalar(float x, qk_activation act) {
    switch (act) {
    case QK_ACT_NONE: return x;
    case QK_ACT_GELU_ERF: return 0.5f * x * (1.0f + qk_erf_scalar(x * QK_SQRT1_2));
    case QK_ACT_GELU_TANH: {
        float u = QK_SQRT_2_PI * (x + 0.044715f * x * x * x);
        float t = 1.0f - 2.0f / (qk_exp_scalar(2.0f * u) + 1.0f);  // tanh(u)
        return 0.5f * x * (1.0f + t);
    }
    case QK_ACT_RELU: return x > 0 ? x : 0;
    case QK_ACT_RELU6: return x < 0 ? 0 : (x > 6 ? 6 : x);
    case QK_ACT_QUICK_GELU: return x / (1.0f + qk_exp_scalar(-1.702f * x));
    case QK_ACT_SILU: return x / (1.0f + qk_exp_scalar(-x));
    }
    return x;
}

static void bias_act_scalar(float *x, long rows, long cols, long ld, const float *bias, qk_activation act) {
    for (long r = 0; r < rows; r++) {
        float *xr = x + r * ld;
        for (long c = 0; c < cols; c++) xr[c] = act_scalar(bias ? xr[c] + bias[c] : xr[c], act);
    }
}

static void softmax_scalar(float *x, long rows, long cols, long ld) {
    for (long r = 0; r < rows; r++) {
        float *xr = x + r * ld;
        float m = xr[0];
        for (long c = 1; c < cols; c++) m = xr[c] > m ? xr[c] : m;
        float s = 0;
        for (long c = 0; c < cols; c++) { xr[c] = qk_exp_scalar(xr[c] - m); s += xr[c]; }
        float inv = 1.0f / s;
        for (long c = 0; c < cols; c++) xr[c] *= inv;
    }
}

#if QK_X86
static inline QK_AVX2 __m256 act_avx2(__m256 x, qk_activation act) {
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    switch (act) {
    case QK_ACT_NONE: return x;
    case QK_ACT_GELU_ERF:
        return _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, qk_erf_avx2(_mm256_mul_ps(x, _mm256_set1_ps(QK_SQRT1_2)))));
    case QK_ACT_GELU_TANH: {
        __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
        __m256 u = _mm256_mul_ps(_mm256_set1_ps(QK_SQRT_2_PI), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
        __m256 e = qk_exp_avx2(_mm256_add_ps(u, u));
        __m256 t = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
        return _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, t));
    }
    case QK_ACT_RELU: return _mm256_max_ps(x, _mm256_setzero_ps());
    case QK_ACT_RELU6: return _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
    case QK_ACT_QUICK_GELU:
        return _mm256_div_ps(x, _mm256_add_ps(one, qk_exp_avx2(_mm256_mul_ps(x, _mm256_set1_ps(-1.702f)))));
    case QK_ACT_SILU:
        return _mm256_div_ps(x, _mm256_add_ps(one, qk_exp_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x))));
    }
    return x;
}

static QK_AVX2 void bias_act_avx2(float *x, long rows, long cols, long ld, const float *bias, qk_activation act) {
    for (long r = 0; r < rows; r++) {
        float *xr = x + r * ld;
        long c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 v = _mm256_loadu_ps(xr + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            _mm256_storeu_ps(xr + c, act_avx2(v, act));
        }
        if (c < cols) {
            __m256i m = qk_mask_avx2(cols - c);
            __m256 v = _mm256_maskload_ps(xr + c, m);
            if (bias) v = _mm256_add_ps(v, _mm256_maskload_ps(bias + c, m));
            _mm256_maskstore_ps(xr + c, m, act_avx2(v, act));
        }
    }
}

static QK_AVX2 void softmax_avx2(float *x, long rows, long cols, long ld) {
    for (long r = 0; r < rows; r++) {
        float *xr = x + r * ld;
        __m256 vm = _mm256_set1_ps(-INFINITY);
        long c = 0;
        for (; c + 8 <= cols; c += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(xr + c));
        float m = qk_hmax_avx2(vm);
        for (; c < cols; c++) m = xr[c] > m ? xr[c] : m;
        vm = _mm256_set1_ps(m);
        __m256 acc = _mm256_setzero_ps();
        for (c = 0; c + 8 <= cols; c += 8) {
            __m256 e = qk_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(xr + c), vm));
            _mm256_storeu_ps(xr + c, e);
            acc = _mm256_add_ps(acc, e);
        }
        float s = qk_hsum_avx2(acc);
        for (; c < cols; c++) { xr[c] = qk_exp_scalar(xr[c] - m); s += xr[c]; }
        __m256 vi = _mm256_set1_ps(1.0f / s);
        for (c = 0; c + 8 <= cols; c += 8) _mm256_storeu_ps(xr + c, _mm256_mul_ps(_mm256_loadu_ps(xr + c), vi));
        for (; c < cols; c++) xr[c] *= 1.0f / s;
    }
}

static QK_AVX2 void exp_avx2(const float *x, float *out, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, qk_exp_avx2(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = qk_mask_avx2(n - i);
        _mm256_maskstore_ps(out + i, m, qk_exp_avx2(_mm256_maskload_ps(x + i, m)));
    }
}

static inline QK_AVX512 __m512 act_avx512(__m512 x, qk_activation act) {
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    switch (act) {
    case QK_ACT_NONE: return x;
    case QK_ACT_GELU_ERF:
        return _mm512_mul_ps(_mm512_mul_ps(half, x), _mm512_add_ps(one, qk_erf_avx512(_mm512_mul_ps(x, _mm512_set1_ps(QK_SQRT1_2)))));
    case QK_ACT_GELU_TANH: {
        __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
        __m512 u = _mm512_mul_ps(_mm512_set1_ps(QK_SQRT_2_PI), _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
        __m512 e = qk_exp_avx512(_mm512_add_ps(u, u));
        __m512 t = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
        return _mm512_mul_ps(_mm512_mul_ps(half, x), _mm512_add_ps(one, t));
    }
    case QK_ACT_RELU: return _mm512_max_ps(x, _mm512_setzero_ps());
    case QK_ACT_RELU6: return _mm512_min_ps(_mm512_max_ps(x, _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
    case QK_ACT_QUICK_GELU:
        return _mm512_div_ps(x, _mm512_add_ps(one, qk_exp_avx512(_mm512_mul_ps(x, _mm512_set1_ps(-1.702f)))));
    case QK_ACT_SILU:
        return _mm512_div_ps(x, _mm512_add_ps(one, qk_exp_avx512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
    }
    return x;
}

static QK_AVX512 void bias_act_avx512(float *x, long rows, long cols, long ld, const float *bias, qk_activation act) {
    for (long r = 0; r < rows; r++) {
        float *xr = x + r * ld;
        long c = 0;
        for (; c + 16 <= cols; c += 16) {
            __m512 v = _mm512_loadu_ps(xr + c);
            if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + c));
            _mm512_storeu_ps(xr + c, act_avx512(v, act));
        }
        if (c < cols) {
            __mmask16 m = qk_mask_avx512(cols - c);
            __m512 v = _mm512_maskz_loadu_ps(m, xr + c);
            if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + c));
            _mm512_mask_storeu_ps(xr + c, m, act_avx512(v, act));
        }
    }
}

static QK_AVX512 void softmax_avx512(float *x, long rows, long cols, long ld) {
    for (long r = 0; r < rows; r++) {
        float *xr = x + r * ld;
        __m512 vm = _mm512_set1_ps(-INFINITY);
        for (long c = 0; c < cols; c += 16) {
            __mmask16 m = qk_mask_avx512(cols - c);
            vm = _mm512_mask_max_ps(vm, m, vm, _mm512_maskz_loadu_ps(m, xr + c));
        }
        vm = _mm512_set1_ps(_mm512_reduce_max_ps(vm));
        __m512 acc = _mm512_setzero_ps();
        for (long c = 0; c < cols; c += 16) {
            __mmask16 m = qk_mask_avx512(cols - c);
            __m512 e = qk_exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + c), vm));
            _mm512_mask_storeu_ps(xr + c, m, e);
            acc = _mm512_mask_add_ps(acc, m, acc, e);
        }
        __m512 vi = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(acc));
        for (long c = 0; c < cols; c += 16) {
            __mmask16 m = qk_mask_avx512(cols - c);
            _mm512_mask_storeu_ps(xr + c, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + c), vi));
        }
    }
}

static QK_AVX512 void exp_avx512(const float *x, float *out, long n) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = qk_mask_avx512(n - i);
        _mm512_mask_storeu_ps(out + i, m, qk_exp_avx512(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
#endif

void qk_bias_act_at(qk_level level, float *x, long rows, long cols, long ld, const float *bias, qk_activation act) {
    if (rows <= 0 || cols <= 0) return;
    if (act == QK_ACT_NONE && !bias) return;
    switch (qk_effective_level(level)) {
#if QK_X86
    case QK_LEVEL_AVX512: bias_act_avx512(x, rows, cols, ld, bias, act); return;
    case QK_LEVEL_AVX2: bias_act_avx2(x, rows, cols, ld, bias, act); return;
#endif
    default: bias_act_scalar(x, rows, cols, ld, bias, act); return;
    }
}

void qk_bias_act(float *x, long rows, long cols, long ld, const float *bias, qk_activation act) {
    qk_bias_act_at(qk_cpu_level(), x, rows, cols, ld, bias, act);
}

void qk_softmax_rows_at(qk_level level, float *x, long rows, long cols, long ld) {
    if (rows <= 0 || cols <= 0) return;
    switch (qk_effective_level(level)) {
#if QK_X86
    case QK_LEVEL_AVX512: softmax_avx512(x, rows, cols, ld); return;
    case QK_LEVEL_AVX2: softmax_avx2(x, rows, cols, ld); return;
#endif
    default: softmax_scalar(x, rows, cols, ld); return;
    }
}

void qk_softmax_rows(float *x, long rows, long cols, long ld) {
    qk_softmax_rows_at(qk_cpu_level(), x, rows, cols, ld);
}

void qk_exp_at(qk_level level, const float *x, float *out, long n) {
    if (n <= 0) return;
    switch (qk_effective_level(level)) {
#if QK_X86
    case QK_LEVEL_AVX512: exp_avx512(x, out, n); return;
    case QK_LEVEL_AVX2: exp_avx2(x, out, n); return;
#endif
    default: for (long i = 0; i < n; i++) out[i] = qk_exp_scalar(x[i]); return;
    }
}

void qk_exp(const float *x, float *out, long n) { qk_exp_at(qk_cpu_level(), x, out, n); }
