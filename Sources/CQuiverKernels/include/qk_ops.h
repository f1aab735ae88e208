#ifndef QK_OPS_H
#define QK_OPS_H
// Dense float32 kernels for neural-network forward passes (transformer encoders, CNNs, Whisper).
//
// Every kernel exists in a scalar form and in SIMD forms (AVX2+FMA, AVX-512) compiled with
// function-level target attributes. The plain entry points dispatch on qk_cpu_level(); the `_at`
// forms take the level explicitly so tests can compare each SIMD form with its scalar twin.
// A level the build or the machine cannot run falls back to the best lower one it can.
//
// Conventions: row-major matrices, `ld` is the distance in floats between the starts of two
// rows (>= cols). Kernels are single-threaded; callers split rows across threads.

#include <stddef.h>
#include "qk_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Element-wise activations.
typedef enum {
    QK_ACT_NONE = 0,       // identity (bias add only)
    QK_ACT_GELU_ERF = 1,   // x * 0.5 * (1 + erf(x / sqrt(2)))           (BERT/MPNet "gelu")
    QK_ACT_GELU_TANH = 2,  // x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))  ("gelu_new")
    QK_ACT_RELU = 3,       // max(x, 0)
    QK_ACT_RELU6 = 4,      // min(max(x, 0), 6)
    QK_ACT_QUICK_GELU = 5, // x * sigmoid(1.702 x)                         (CLIP)
    QK_ACT_SILU = 6,       // x * sigmoid(x)
} qk_activation;

/// Layer normalization over the last axis, with an optional fused residual and bias:
///   s = x[r,:] + bias + residual[r,:]   (bias and residual may be NULL)
///   out[r,:] = (s - mean(s)) / sqrt(var(s) + eps) * gamma + beta
/// `x`, `residual` and `out` have `rows` rows of `cols` floats, rows `ld` apart.
/// `out` may alias `x` or `residual`. `gamma`/`beta` may be NULL (1 and 0).
void qk_layernorm(const float *x, const float *bias, const float *residual, float *out,
                  long rows, long cols, long ld, const float *gamma, const float *beta, float eps);
void qk_layernorm_at(qk_level level, const float *x, const float *bias, const float *residual, float *out,
                     long rows, long cols, long ld, const float *gamma, const float *beta, float eps);

/// In place: x[r,c] = act(x[r,c] + bias[c]) for `rows` rows of `cols` floats, rows `ld` apart.
/// `bias` may be NULL.
void qk_bias_act(float *x, long rows, long cols, long ld, const float *bias, qk_activation act);
void qk_bias_act_at(qk_level level, float *x, long rows, long cols, long ld, const float *bias, qk_activation act);

/// In place softmax of each row (numerically stable: the row maximum is subtracted first).
void qk_softmax_rows(float *x, long rows, long cols, long ld);
void qk_softmax_rows_at(qk_level level, float *x, long rows, long cols, long ld);

/// exp(x) for `n` floats (the approximation every kernel uses; relative error < 2e-7 for |x| < 87).
void qk_exp(const float *x, float *out, long n);
void qk_exp_at(qk_level level, const float *x, float *out, long n);

/// Scaled dot-product attention of one sequence, all heads at once, without padding.
///   q: q_len rows, k and v: kv_len rows; head h uses columns [h*head_dim, (h+1)*head_dim) of each
///   row; rows are `ld_q` (for q) and `ld_kv` (for k and v) floats apart (so q, k and v can live
///   interleaved in one [tokens, 3*hidden] projection output).
///   scores[h,i,j] = scale * <q[i,h], k[j,h]> + (bias ? bias[h*bias_head_stride + i*bias_row_stride + j] : 0)
///   (the strides let one [heads, L, L] relative-position table serve every shorter sequence, and a
///   row stride of 0 broadcasts one key mask over all queries)
///   out[i, h*head_dim + d] = sum_j softmax_j(scores[h,i,:]) * v[j, h*head_dim + d]
/// `out` rows are `ld_out` floats apart. `scratch` must hold qk_attention_scratch_floats(kv_len,
/// head_dim) floats (64-byte alignment not required).
void qk_attention(const float *q, long ld_q, const float *k, const float *v, long ld_kv,
                  float *out, long ld_out, long q_len, long kv_len, long heads, long head_dim,
                  float scale, const float *bias, long bias_head_stride, long bias_row_stride, float *scratch);
void qk_attention_at(qk_level level, const float *q, long ld_q, const float *k, const float *v, long ld_kv,
                     float *out, long ld_out, long q_len, long kv_len, long heads, long head_dim,
                     float scale, const float *bias, long bias_head_stride, long bias_row_stride, float *scratch);

/// Floats of scratch that qk_attention needs for a key length and head size.
size_t qk_attention_scratch_floats(long kv_len, long head_dim);

#ifdef __cplusplus
}
#endif
#endif
