#ifndef QK_INT8_H
#define QK_INT8_H
// int8 inference kernels: weights quantized symmetrically per output channel (s8 in [-127, 127]),
// activations quantized dynamically per row, asymmetrically (u8 with a zero point), and an
// u8 x s8 -> s32 matrix product in AVX-512 VNNI (vpdpbusd), AVX2 (exact 16-bit products, no
// saturation) and scalar forms over one packed weight layout. Every level gives the same int32
// sums exactly; the dequantizing epilogue uses the same float operations (no FMA) at every level.
//
// Packed weights: N is split into panels of 64 output channels and K into groups of 4; byte
//   packed[((p * k4 + g) * 64 + j) * 4 + t] = w[64 p + j][4 g + t]   (0 past N or K)
// with k4 = ceil(K / 4), so qk_int8_packed_bytes(n, k) = ceil(N / 64) * 64 * k4 * 4.
// Quantized activation rows hold at least 4 * k4 bytes (qk_int8_row_bytes); the bytes past K are 0.

#include <stddef.h>
#include <stdint.h>
#include "qk_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Bytes of packed weights for an [n, k] matrix.
size_t qk_int8_packed_bytes(long n, long k);
/// Bytes of one quantized activation row of k values (k rounded up to a multiple of 4).
long qk_int8_row_bytes(long k);

/// True when the hardware runs AVX-512 VNNI (used at the avx512 level; without it the avx512
/// level runs the AVX2 form).
int qk_int8_has_vnni(void);
/// The form the int8 product runs at `level` on this machine: 0 scalar, 2 avx2, 3 avx512 vnni.
int qk_int8_effective_level(qk_level level);

/// Quantizes an fp32 [n, k] weight (rows `ldw` floats apart) per output channel:
///   scale[j] = max_i |w[j,i]| / 127 (1 for an all-zero row), q = clamp(round(w / scale), -127, 127),
/// writes the packed layout (qk_int8_packed_bytes(n, k) bytes), `scales[n]` and `colsums[n]` = sum_i q[j,i].
void qk_int8_quantize_weights(const float *w, long n, long k, long ldw, int8_t *packed, float *scales, int32_t *colsums);

/// Packs an int8 [n, k] matrix (rows `ldw` bytes apart) and computes its column sums (for tests).
void qk_int8_pack(const int8_t *w, long n, long k, long ldw, int8_t *packed, int32_t *colsums);

/// Quantizes `m` rows of `k` floats (rows `ldx` floats apart) into u8 rows `ldq` bytes apart
/// (ldq >= qk_int8_row_bytes(k)): per row lo = min(0, min x), hi = max(0, max x),
/// scale = (hi - lo) / 255 (1 when hi == lo), zero = clamp(round(-lo / scale), 0, 255),
/// q = clamp(round(x * (1 / scale)) + zero, 0, 255).
void qk_int8_quantize_rows(const float *x, long m, long k, long ldx, uint8_t *q, long ldq, float *scales, int32_t *zeros);
void qk_int8_quantize_rows_at(qk_level level, const float *x, long m, long k, long ldx, uint8_t *q, long ldq,
                              float *scales, int32_t *zeros);

/// qk_int8_quantize_rows with outlier channels split off: the row range and the rounding see
/// x[r, c] * keep[c] (`keep` is 1 for the int8 channels and 0 for the outliers; NULL: all 1), and
/// the `o` channels `outliers[]` are copied to xo[r * ldxo + i] = x[r, outliers[i]] unchanged.
void qk_int8_quantize_rows_split_at(qk_level level, const float *x, long m, long k, long ldx, const float *keep,
                                    const int32_t *outliers, long o, uint8_t *q, long ldq, float *scales, int32_t *zeros,
                                    float *xo, long ldxo);

/// Floats of packed float32 outlier weights for n output channels and o outlier input channels.
size_t qk_int8_outlier_packed_floats(long n, long o);
/// Packs the float32 weight columns `outliers[0..o)` of an [n, k] weight (rows `ldw` floats apart):
///   packed[(p * o + c) * 64 + j] = w[64 p + j][outliers[c]]   (0 past N).
void qk_int8_pack_outliers(const float *w, long n, long k, long ldw, const int32_t *outliers, long o, float *packed);

/// c[r, j] = sum_i a[r, i] * w[j, i] (int32) for r < m, j < n; `a` rows `lda` bytes apart,
/// `packed` from qk_int8_pack / qk_int8_quantize_weights, `c` rows `ldc` int32 apart.
void qk_int8_gemm_s32_at(qk_level level, const uint8_t *a, long lda, const int8_t *packed,
                         long m, long n, long k, int32_t *c, long ldc);

/// The dequantized product:
///   y[r, j] = (float)(acc[r, j] - zeros[r] * colsums[j]) * (a_scales[r] * w_scales[j]) + bias[j]
/// (`bias` may be NULL), `y` rows `ldy` floats apart.
void qk_int8_gemm_f32(const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k,
                      const float *a_scales, const int32_t *zeros, const float *w_scales, const int32_t *colsums,
                      const float *bias, float *y, long ldy);
void qk_int8_gemm_f32_at(qk_level level, const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k,
                         const float *a_scales, const int32_t *zeros, const float *w_scales, const int32_t *colsums,
                         const float *bias, float *y, long ldy);

/// qk_int8_gemm_f32 plus the float32 product of the outlier channels, fused into the epilogue:
///   y[r, j] = fma(xo[r, o-1], wo[o-1, j], ... fma(xo[r, 0], wo[0, j], int8 part + bias[j]))
/// in channel order at every level (`xo` from qk_int8_quantize_rows_split_at, `wo` from
/// qk_int8_pack_outliers; o = 0: the plain product).
void qk_int8_gemm_f32_split_at(qk_level level, const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k,
                               const float *a_scales, const int32_t *zeros, const float *w_scales, const int32_t *colsums,
                               const float *bias, const float *xo, long ldxo, const float *wo, long o, float *y, long ldy);

#ifdef __cplusplus
}
#endif
#endif
