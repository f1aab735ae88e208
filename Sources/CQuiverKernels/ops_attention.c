// Scaled dot-product attention of one unpadded sequence (see qk_ops.h).
// Per head: K is transposed into scratch ([head_dim][kv_pad]) so that the scores of one query
// against all keys are a vector FMA over keys; the softmax runs on that row in scratch; the
// output row is a vector FMA over the head dimension.
#include "qk_ops.h"
#include "ops_internal.h"

static long pad16(long n) { return (n + 15) & ~15L; }

size_t qk_attention_scratch_floats(long kv_len, long head_dim) {
    return (size_t)(pad16(kv_len) * (head_dim + 4) + 16);
}

static void attention_scalar(const float *q, long ld_q, const float *k, const float *v, long ld_kv,
                             float *out, long ld_out, long q_len, long kv_len, long heads, long head_dim,
                             float scale, const float *bias, long bias_head_stride, long bias_row_stride, float *scratch) {
    float *s = scratch;
    for (long h = 0; h < heads; h++) {
        const long off = h * head_dim;
        for (long i = 0; i < q_len; i++) {
            const float *qi = q + i * ld_q + off;
            const float *bi = bias ? bias + h * bias_head_stride + i * bias_row_stride : NULL;
            float m = -INFINITY;
            for (long j = 0; j < kv_len; j++) {
                const float *kj = k + j * ld_kv + off;
                float dot = 0;
                for (long d = 0; d < head_dim; d++) dot += qi[d] * kj[d];
                dot *= scale;
                if (bi) dot += bi[j];
                s[j] = dot;
                m = dot > m ? dot : m;
            }
            float sum = 0;
            for (long j = 0; j < kv_len; j++) { s[j] = qk_exp_scalar(s[j] - m); sum += s[j]; }
            float inv = 1.0f / sum;
            float *o = out + i * ld_out + off;
            for (long d = 0; d < head_dim; d++) o[d] = 0;
            for (long j = 0; j < kv_len; j++) {
                const float *vj = v + j * ld_kv + off;
                float p = s[j] * inv;
                for (long d = 0; d < head_dim; d++) o[d] += p * vj[d];
            }
        }
    }
}

#if QK_X86
static QK_AVX2 void attention_avx2(const float *q, long ld_q, const float *k, const float *v, long ld_kv,
                                   float *out, long ld_out, long q_len, long kv_len, long heads, long head_dim,
                                   float scale, const float *bias, long bias_head_stride, long bias_row_stride, float *scratch) {
    const long kp = pad16(kv_len);
    float *kt = scratch;                 // [head_dim][kp]
    float *s = scratch + kp * head_dim;  // [kp]
    for (long h = 0; h < heads; h++) {
        const long off = h * head_dim;
        for (long j = 0; j < kv_len; j++) {
            const float *kj = k + j * ld_kv + off;
            for (long d = 0; d < head_dim; d++) kt[d * kp + j] = kj[d] * scale;
        }
        for (long d = 0; d < head_dim; d++)
            for (long j = kv_len; j < kp; j++) kt[d * kp + j] = 0;
        for (long i = 0; i < q_len; i++) {
            const float *qi = q + i * ld_q + off;
            const float *bi = bias ? bias + h * bias_head_stride + i * bias_row_stride : NULL;
            for (long j = 0; j < kp; j += 16) {
                __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
                __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
                long d = 0;
                for (; d + 2 <= head_dim; d += 2) {
                    __m256 q0 = _mm256_broadcast_ss(qi + d), q1 = _mm256_broadcast_ss(qi + d + 1);
                    a0 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(kt + d * kp + j), a0);
                    a1 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(kt + d * kp + j + 8), a1);
                    b0 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(kt + (d + 1) * kp + j), b0);
                    b1 = _mm256_fmadd_ps(q1, _mm256_loadu_ps(kt + (d + 1) * kp + j + 8), b1);
                }
                for (; d < head_dim; d++) {
                    __m256 q0 = _mm256_broadcast_ss(qi + d);
                    a0 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(kt + d * kp + j), a0);
                    a1 = _mm256_fmadd_ps(q0, _mm256_loadu_ps(kt + d * kp + j + 8), a1);
                }
                _mm256_storeu_ps(s + j, _mm256_add_ps(a0, b0));
                _mm256_storeu_ps(s + j + 8, _mm256_add_ps(a1, b1));
            }
            if (bi) for (long j = 0; j < kv_len; j++) s[j] += bi[j];
            float m = -INFINITY;
            for (long j = 0; j < kv_len; j++) m = s[j] > m ? s[j] : m;
            __m256 vm = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
            long j = 0;
            for (; j + 8 <= kv_len; j += 8) {
                __m256 e = qk_exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
                _mm256_storeu_ps(s + j, e);
                acc = _mm256_add_ps(acc, e);
            }
            float sum = qk_hsum_avx2(acc);
            for (; j < kv_len; j++) { s[j] = qk_exp_scalar(s[j] - m); sum += s[j]; }
            const float inv = 1.0f / sum;
            float *o = out + i * ld_out + off;
            for (long d = 0; d < head_dim; d += 8) {
                const long n = head_dim - d < 8 ? head_dim - d : 8;
                __m256i mask = qk_mask_avx2(n);
                __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();
                long jj = 0;
                for (; jj + 2 <= kv_len; jj += 2) {
                    c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(s + jj), _mm256_maskload_ps(v + jj * ld_kv + off + d, mask), c0);
                    c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(s + jj + 1), _mm256_maskload_ps(v + (jj + 1) * ld_kv + off + d, mask), c1);
                }
                if (jj < kv_len) c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(s + jj), _mm256_maskload_ps(v + jj * ld_kv + off + d, mask), c0);
                _mm256_maskstore_ps(o + d, mask, _mm256_mul_ps(_mm256_add_ps(c0, c1), _mm256_set1_ps(inv)));
            }
        }
    }
}

// Scores of 4 queries against 16 keys at a time: each key-block load feeds 4 FMAs and 4-8 independent
// accumulator chains keep both FMA pipes busy even for the short sequences of sentence embedding.
#define QK_SCORES_BLOCK(JB)                                                                              \
    do {                                                                                                 \
        __m512 a[4][JB];                                                                                 \
        for (int r = 0; r < 4; r++)                                                                      \
            for (int b = 0; b < JB; b++) a[r][b] = _mm512_setzero_ps();                                  \
        for (long d = 0; d < head_dim; d++) {                                                            \
            __m512 kv[JB];                                                                               \
            for (int b = 0; b < JB; b++) kv[b] = _mm512_loadu_ps(kt + d * kp + j + 16 * b);              \
            for (int r = 0; r < 4; r++) {                                                                \
                __m512 qv = _mm512_set1_ps(qr[r][d]);                                                    \
                for (int b = 0; b < JB; b++) a[r][b] = _mm512_fmadd_ps(qv, kv[b], a[r][b]);              \
            }                                                                                            \
        }                                                                                                \
        for (int r = 0; r < 4; r++)                                                                      \
            for (int b = 0; b < JB; b++) _mm512_storeu_ps(sb + r * kp + j + 16 * b, a[r][b]);            \
    } while (0)

static QK_AVX512 void attention_avx512(const float *q, long ld_q, const float *k, const float *v, long ld_kv,
                                       float *out, long ld_out, long q_len, long kv_len, long heads, long head_dim,
                                       float scale, const float *bias, long bias_head_stride, long bias_row_stride, float *scratch) {
    const long kp = pad16(kv_len);
    float *kt = scratch;                 // [head_dim][kp]: K of this head, transposed and scaled
    float *sb = scratch + kp * head_dim;  // [4][kp]: scores of 4 queries
    const __m512i vidx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)ld_kv));
    const __m512 vscale = _mm512_set1_ps(scale);
    for (long h = 0; h < heads; h++) {
        const long off = h * head_dim;
        // Transpose K (16 keys per gather; the masked tail writes the zero padding).
        for (long j0 = 0; j0 < kp; j0 += 16) {
            const __mmask16 m = qk_mask_avx512(kv_len - j0 > 0 ? kv_len - j0 : 0);
            const float *kb = k + j0 * ld_kv + off;
            for (long d = 0; d < head_dim; d++) {
                __m512 g = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, vidx, kb + d, 4);
                _mm512_storeu_ps(kt + d * kp + j0, _mm512_mul_ps(g, vscale));
            }
        }
        for (long i0 = 0; i0 < q_len; i0 += 4) {
            const long nq = q_len - i0 < 4 ? q_len - i0 : 4;
            const float *qr[4];
            for (int r = 0; r < 4; r++) qr[r] = q + (i0 + (r < nq ? r : 0)) * ld_q + off;
            long j = 0;
            for (; j + 32 <= kp; j += 32) QK_SCORES_BLOCK(2);
            for (; j < kp; j += 16) QK_SCORES_BLOCK(1);
            for (long r = 0; r < nq; r++) {
                const long i = i0 + r;
                float *s = sb + r * kp;
                const float *bi = bias ? bias + h * bias_head_stride + i * bias_row_stride : NULL;
                __m512 vmax = _mm512_set1_ps(-INFINITY);
                for (j = 0; j < kp; j += 16) {
                    __mmask16 m = qk_mask_avx512(kv_len - j);
                    __m512 x = _mm512_loadu_ps(s + j);
                    if (bi) { x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, bi + j)); _mm512_storeu_ps(s + j, x); }
                    vmax = _mm512_mask_max_ps(vmax, m, vmax, x);
                }
                __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
                __m512 acc = _mm512_setzero_ps();
                for (j = 0; j < kp; j += 16) {
                    __mmask16 m = qk_mask_avx512(kv_len - j);
                    __m512 e = _mm512_maskz_mov_ps(m, qk_exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(s + j), vm)));
                    _mm512_storeu_ps(s + j, e);
                    acc = _mm512_add_ps(acc, e);
                }
                const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(acc));
                float *o = out + i * ld_out + off;
                for (long d = 0; d < head_dim; d += 16) {
                    __mmask16 mask = qk_mask_avx512(head_dim - d);
                    __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
                    const float *vb = v + off + d;
                    long jj = 0;
                    for (; jj + 4 <= kv_len; jj += 4) {
                        c0 = _mm512_fmadd_ps(_mm512_set1_ps(s[jj]), _mm512_maskz_loadu_ps(mask, vb + jj * ld_kv), c0);
                        c1 = _mm512_fmadd_ps(_mm512_set1_ps(s[jj + 1]), _mm512_maskz_loadu_ps(mask, vb + (jj + 1) * ld_kv), c1);
                        c2 = _mm512_fmadd_ps(_mm512_set1_ps(s[jj + 2]), _mm512_maskz_loadu_ps(mask, vb + (jj + 2) * ld_kv), c2);
                        c3 = _mm512_fmadd_ps(_mm512_set1_ps(s[jj + 3]), _mm512_maskz_loadu_ps(mask, vb + (jj + 3) * ld_kv), c3);
                    }
                    for (; jj < kv_len; jj++) c0 = _mm512_fmadd_ps(_mm512_set1_ps(s[jj]), _mm512_maskz_loadu_ps(mask, vb + jj * ld_kv), c0);
                    __m512 rsum = _mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3));
                    _mm512_mask_storeu_ps(o + d, mask, _mm512_mul_ps(rsum, inv));
                }
            }
        }
    }
}
#endif

void qk_attention_at(qk_level level, const float *q, long ld_q, const float *k, const float *v, long ld_kv,
                     float *out, long ld_out, long q_len, long kv_len, long heads, long head_dim,
                     float scale, const float *bias, long bias_head_stride, long bias_row_stride, float *scratch) {
    if (q_len <= 0 || heads <= 0 || head_dim <= 0) return;
    if (kv_len <= 0) {
        for (long i = 0; i < q_len; i++) memset(out + i * ld_out, 0, sizeof(float) * (size_t)(heads * head_dim));
        return;
    }
    switch (qk_effective_level(level)) {
#if QK_X86
    case QK_LEVEL_AVX512:
        attention_avx512(q, ld_q, k, v, ld_kv, out, ld_out, q_len, kv_len, heads, head_dim, scale, bias, bias_head_stride, bias_row_stride, scratch);
        return;
    case QK_LEVEL_AVX2:
        attention_avx2(q, ld_q, k, v, ld_kv, out, ld_out, q_len, kv_len, heads, head_dim, scale, bias, bias_head_stride, bias_row_stride, scratch);
        return;
#endif
    default:
        attention_scalar(q, ld_q, k, v, ld_kv, out, ld_out, q_len, kv_len, heads, head_dim, scale, bias, bias_head_stride, bias_row_stride, scratch);
        return;
    }
}

void qk_attention(const float *q, long ld_q, const float *k, const float *v, long ld_kv,
                  float *out, long ld_out, long q_len, long kv_len, long heads, long head_dim,
                  float scale, const float *bias, long bias_head_stride, long bias_row_stride, float *scratch) {
    qk_attention_at(qk_cpu_level(), q, ld_q, k, v, ld_kv, out, ld_out, q_len, kv_len, heads, head_dim, scale, bias, bias_head_stride, bias_row_stride, scratch);
}
