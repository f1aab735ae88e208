// CQuiverImage: image decoding wrappers and Pillow-compatible resampling kernels.
//
// Decoders turn a whole file held in memory into interleaved RGB8 (alpha dropped, palette
// expanded, CMYK converted) exactly as Pillow's `Image.open(...).convert("RGB")` does.
// Every libjpeg / libpng error is caught by setjmp inside the C function that started the
// decode, so no longjmp ever crosses a Swift frame; errors come back as a status code and
// a message in `qim_image.error`.
#ifndef QUIVER_QIM_H
#define QUIVER_QIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes of the decoders.
enum {
    QIM_OK = 0,
    QIM_ERR_CORRUPT = 1,      ///< the codec rejected the data (message in `error`)
    QIM_ERR_TOO_LARGE = 2,    ///< width*height exceeds `max_pixels` (dimensions are filled in)
    QIM_ERR_UNSUPPORTED = 3,  ///< a valid file of a kind not handled (message in `error`)
    QIM_ERR_NO_MEMORY = 4,
};

/// The result of a decode. `pixels` (width*height*3 bytes, row-major RGB) is malloc'ed by the
/// decoder and released with `qim_image_free`.
typedef struct qim_image {
    int32_t width;
    int32_t height;
    int32_t bit_depth;        ///< bits per sample in the file (1..16)
    int32_t has_alpha;        ///< 1 when the file carries an alpha channel or transparency
    char mode[8];             ///< the Pillow mode of the source ("RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "1")
    uint8_t *pixels;
    char error[200];
} qim_image;

void qim_image_free(qim_image *image);

int qim_decode_jpeg(const uint8_t *data, size_t size, int64_t max_pixels, qim_image *out);
int qim_decode_png(const uint8_t *data, size_t size, int64_t max_pixels, qim_image *out);
int qim_decode_webp(const uint8_t *data, size_t size, int64_t max_pixels, qim_image *out);
int qim_decode_gif(const uint8_t *data, size_t size, int64_t max_pixels, qim_image *out);

/// Pillow's fixed-point precision for 8-bit resampling (32 - 8 - 2).
#define QIM_PRECISION_BITS 22

/// Horizontal pass of a fixed-point 8-bit convolution on RGB8 rows (Pillow: precision 22;
/// PyTorch's uint8 antialiased resize: int16 weights at a per-axis precision).
/// For each of `rows` rows and each output column `x` in [0, out_width):
/// out = clamp(((1 << (precision-1)) + sum_{t < bounds[2x+1]} src[bounds[2x] + t] * coeffs[x*ksize + t]) >> precision, 0, 255).
void qim_resample_horizontal_rgb8(const uint8_t *src, ptrdiff_t src_stride, int32_t rows,
                                  uint8_t *dst, ptrdiff_t dst_stride, int32_t out_width,
                                  const int32_t *bounds, const int32_t *coeffs, int32_t ksize,
                                  int32_t precision);

/// Vertical pass (same arithmetic): each output row `y` in [0, out_rows) is the fixed-point combination of source
/// rows bounds[2y] ..< bounds[2y] + bounds[2y+1]; `row_bytes` bytes per row are processed.
/// `accumulator` is caller-provided scratch of `row_bytes` int32 values.
void qim_resample_vertical_u8(const uint8_t *src, ptrdiff_t src_stride, uint8_t *dst,
                              ptrdiff_t dst_stride, int32_t out_rows, int32_t row_bytes,
                              const int32_t *bounds, const int32_t *coeffs, int32_t ksize,
                              int32_t precision, int32_t *accumulator);

#ifdef __cplusplus
}
#endif
#endif
