// The two passes of an 8-bit separable convolution with fixed-point coefficients: accumulator
// seeded with half an LSB, shifted by the precision and clipped to 0...255 after each pass
// (Pillow's libImaging/Resample.c with precision 22; PyTorch's uint8 antialiased resize with
// int16 weights at a per-axis precision). Plain C loops that the compiler vectorizes; the
// vertical pass runs over whole rows so it vectorizes across pixels.
#include "qim.h"

static inline uint8_t qim_clip8(int32_t v, int32_t precision) {
    int32_t s = v >> precision;
    return (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
}

void qim_resample_horizontal_rgb8(const uint8_t *src, ptrdiff_t src_stride, int32_t rows,
                                  uint8_t *dst, ptrdiff_t dst_stride, int32_t out_width,
                                  const int32_t *bounds, const int32_t *coeffs, int32_t ksize,
                                  int32_t precision) {
    const int32_t half = 1 << (precision - 1);
    for (int32_t y = 0; y < rows; y++) {
        const uint8_t *in = src + y * src_stride;
        uint8_t *o = dst + y * dst_stride;
        for (int32_t x = 0; x < out_width; x++) {
            const int32_t xmin = bounds[2 * x], count = bounds[2 * x + 1];
            const int32_t *k = coeffs + (ptrdiff_t)x * ksize;
            const uint8_t *p = in + 3 * (ptrdiff_t)xmin;
            int32_t s0 = half, s1 = half, s2 = half;
            for (int32_t t = 0; t < count; t++) {
                const int32_t w = k[t];
                s0 += p[3 * t] * w;
                s1 += p[3 * t + 1] * w;
                s2 += p[3 * t + 2] * w;
            }
            o[3 * x] = qim_clip8(s0, precision);
            o[3 * x + 1] = qim_clip8(s1, precision);
            o[3 * x + 2] = qim_clip8(s2, precision);
        }
    }
}

void qim_resample_vertical_u8(const uint8_t *src, ptrdiff_t src_stride, uint8_t *dst,
                              ptrdiff_t dst_stride, int32_t out_rows, int32_t row_bytes,
                              const int32_t *bounds, const int32_t *coeffs, int32_t ksize,
                              int32_t precision, int32_t *restrict acc) {
    const int32_t half = 1 << (precision - 1);
    for (int32_t y = 0; y < out_rows; y++) {
        const int32_t ymin = bounds[2 * y], count = bounds[2 * y + 1];
        const int32_t *k = coeffs + (ptrdiff_t)y * ksize;
        for (int32_t i = 0; i < row_bytes; i++) acc[i] = half;
        for (int32_t t = 0; t < count; t++) {
            const uint8_t *restrict in = src + (ptrdiff_t)(ymin + t) * src_stride;
            const int32_t w = k[t];
            for (int32_t i = 0; i < row_bytes; i++) acc[i] += in[i] * w;
        }
        uint8_t *restrict o = dst + (ptrdiff_t)y * dst_stride;
        for (int32_t i = 0; i < row_bytes; i++) o[i] = qim_clip8(acc[i], precision);
    }
}
