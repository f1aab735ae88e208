#ifndef QK_CONV_H
#define QK_CONV_H
// Convolution-network kernels on NHWC float32 images (one image: `h` rows of `w` pixels of `c`
// channels, channel fastest). Dense convolutions run as im2col + GEMM in QuiverTensor; these are
// the parts GEMM does not cover: depthwise convolution, max pooling and global average pooling.
//
// Like qk_ops.h: a scalar form plus AVX2+FMA and AVX-512 forms chosen at run time (the plain entry
// points use qk_cpu_level(); the `_at` forms take the level so tests compare each with the scalar
// twin). Single-threaded; callers split images or rows across threads.

#include "qk_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Depthwise 2-D convolution (one kxk filter per channel, PyTorch groups == channels):
///   out[oy,ox,ch] = clamp(bias[ch] + sum_{ky,kx} in[oy*stride-pad_top+ky, ox*stride-pad_left+kx, ch]
///                                                 * weight[(ky*kw + kx)*c + ch], lo, hi)
/// Pixels outside the input read as 0 (zero padding on every side; the bottom/right padding is
/// implied by `oh`/`ow`). `weight` is [kh, kw, c] (PyTorch's [c,1,kh,kw] transposed), `bias` may be
/// NULL. `lo`/`hi` fuse ReLU (0, +inf), ReLU6 (0, 6) or nothing (-inf, +inf).
void qk_depthwise_conv2d(const float *in, long h, long w, long c, const float *weight, const float *bias,
                         long kh, long kw, long stride, long pad_top, long pad_left,
                         float *out, long oh, long ow, float lo, float hi);
void qk_depthwise_conv2d_at(qk_level level, const float *in, long h, long w, long c, const float *weight,
                            const float *bias, long kh, long kw, long stride, long pad_top, long pad_left,
                            float *out, long oh, long ow, float lo, float hi);

/// Max pooling with a kxk window: out[oy,ox,ch] = max over the window of in[...] where the window
/// starts at (oy*stride - pad, ox*stride - pad); positions outside the input are ignored (PyTorch
/// MaxPool2d padding). Every window must hold at least one input pixel.
void qk_maxpool2d(const float *in, long h, long w, long c, long k, long stride, long pad,
                  float *out, long oh, long ow);
void qk_maxpool2d_at(qk_level level, const float *in, long h, long w, long c, long k, long stride, long pad,
                     float *out, long oh, long ow);

/// Global average pooling: out[ch] = mean over the `pixels` rows of in[p*c + ch].
void qk_global_avgpool(const float *in, long pixels, long c, float *out);
void qk_global_avgpool_at(qk_level level, const float *in, long pixels, long c, float *out);

/// In place x[i] = clamp(x[i] + y[i], lo, hi) for n floats (residual add with fused ReLU/ReLU6).
void qk_add_clamp(float *x, const float *y, long n, float lo, float hi);
void qk_add_clamp_at(qk_level level, float *x, const float *y, long n, float lo, float hi);

#ifdef __cplusplus
}
#endif
#endif
