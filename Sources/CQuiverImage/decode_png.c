// PNG through libpng, mapped to RGB the way Pillow opens and converts it:
//   gray 1/2/4/8-bit -> "1"/"L" (scaled to 0..255), gray 16-bit -> "I;16" (convert("RGB") clamps
//   values above 255 to 255), 16-bit color -> high byte ("RGB;16B"/"RGBA;16B"/"LA;16B"),
//   palette -> expanded, alpha and tRNS are dropped (no compositing), gAMA is ignored.
#include "decode_common.h"

#include <png.h>
#include <setjmp.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
    char message[160];
} qim_png_source;

static void qim_png_read(png_structp png, png_bytep dst, size_t count) {
    qim_png_source *src = (qim_png_source *)png_get_io_ptr(png);
    if (count > src->size - src->position) {
        png_error(png, "truncated PNG data (file ends inside a chunk)");
    }
    memcpy(dst, src->data + src->position, count);
    src->position += count;
}

static void qim_png_error(png_structp png, png_const_charp message) {
    qim_png_source *src = (qim_png_source *)png_get_error_ptr(png);
    snprintf(src->message, sizeof src->message, "%s", message);
    png_longjmp(png, 1);
}

static void qim_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

int qim_decode_png(const uint8_t *data, size_t size, int64_t max_pixels, qim_image *out) {
    memset(out, 0, sizeof *out);
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        qim_set_error(out, "not a PNG signature");
        return QIM_ERR_CORRUPT;
    }
    qim_png_source source = {data, size, 0, {0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, qim_png_error, qim_png_warning);
    if (!png) {
        qim_set_error(out, "cannot create a PNG reader");
        return QIM_ERR_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        qim_set_error(out, "cannot create a PNG reader");
        return QIM_ERR_NO_MEMORY;
    }
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    volatile int status = QIM_ERR_CORRUPT;

    if (setjmp(png_jmpbuf(png))) {
        qim_set_error(out, "%s", source.message);
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(buffer);
        free(rows);
        return status;
    }

    png_set_read_fn(png, &source, qim_png_read);
    // The limit below is checked by us with a clear message; libpng's own is raised to match.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, NULL, NULL, NULL);
    int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    out->bit_depth = bit_depth;
    out->has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) != 0 || has_trns;

    int clamp16 = 0;
    switch (color_type) {
        case PNG_COLOR_TYPE_GRAY:
            if (bit_depth == 16) { qim_set_mode(out, "I;16"); clamp16 = 1; }
            else qim_set_mode(out, bit_depth == 1 ? "1" : "L");
            if (bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
            break;
        case PNG_COLOR_TYPE_GRAY_ALPHA:
            qim_set_mode(out, bit_depth == 16 ? "RGBA" : "LA");
            break;
        case PNG_COLOR_TYPE_PALETTE:
            qim_set_mode(out, "P");
            png_set_palette_to_rgb(png);
            break;
        case PNG_COLOR_TYPE_RGB:
            qim_set_mode(out, "RGB");
            break;
        case PNG_COLOR_TYPE_RGB_ALPHA:
            qim_set_mode(out, "RGBA");
            break;
        default:
            break;
    }
    if (bit_depth == 16 && !clamp16) png_set_strip_16(png);  // keeps the high byte, as Pillow's ;16B unpackers
    png_set_interlace_handling(png);

    int st = qim_check_size(out, width, height, max_pixels);
    if (st != QIM_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return st;
    }
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    int depth_out = png_get_bit_depth(png, info);

    pixels = qim_alloc_rgb(out);
    buffer = (uint8_t *)malloc(rowbytes * (size_t)height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)height);
    if (!pixels || !buffer || !rows) {
        status = QIM_ERR_NO_MEMORY;
        snprintf(source.message, sizeof source.message, "cannot allocate %zu bytes for PNG rows", rowbytes * (size_t)height);
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = buffer + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    for (png_uint_32 y = 0; y < height; y++) {
        const uint8_t *src = rows[y];
        uint8_t *dst = pixels + (size_t)y * (size_t)width * 3;
        if (channels == 1 && depth_out == 16) {
            for (png_uint_32 x = 0; x < width; x++) {
                unsigned v = ((unsigned)src[2 * x] << 8) | src[2 * x + 1];
                uint8_t c = (uint8_t)(v > 255 ? 255 : v);
                dst[3 * x] = c; dst[3 * x + 1] = c; dst[3 * x + 2] = c;
            }
        } else if (channels == 1 || channels == 2) {
            for (png_uint_32 x = 0; x < width; x++) {
                uint8_t c = src[channels * x];
                dst[3 * x] = c; dst[3 * x + 1] = c; dst[3 * x + 2] = c;
            }
        } else if (channels == 3) {
            memcpy(dst, src, (size_t)width * 3);
        } else {
            for (png_uint_32 x = 0; x < width; x++) {
                dst[3 * x] = src[4 * x]; dst[3 * x + 1] = src[4 * x + 1]; dst[3 * x + 2] = src[4 * x + 2];
            }
        }
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(buffer);
    free(rows);
    out->pixels = pixels;
    return QIM_OK;
}
