// JPEG through libjpeg(-turbo), as Pillow decodes it: default DCT (islow) and fancy
// upsampling; 1 component -> "L", 3 -> "RGB", 4 -> "CMYK" read with Adobe (inverted)
// polarity, then converted to RGB with Pillow's cmyk2rgb formula.
#include "decode_common.h"

#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} qim_jpeg_error;

static void qim_jpeg_error_exit(j_common_ptr cinfo) {
    qim_jpeg_error *err = (qim_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

// Warnings: a truncated stream is an error (Pillow raises "image file is truncated");
// other recoverable warnings (extraneous bytes, ...) are tolerated as Pillow does.
static void qim_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        qim_jpeg_error *err = (qim_jpeg_error *)cinfo->err;
        snprintf(err->message, sizeof err->message, "truncated JPEG data (premature end of file)");
        longjmp(err->jump, 1);
    }
}

// Pillow's MULDIV255: (a*b + 128 + ((a*b + 128) >> 8)) >> 8.
static inline int qim_muldiv255(int a, int b) {
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

int qim_decode_jpeg(const uint8_t *data, size_t size, int64_t max_pixels, qim_image *out) {
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    qim_jpeg_error jerr;
    // Both are touched after setjmp returns a second time: keep them out of registers.
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile row = NULL;
    volatile int status = QIM_OK;

    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = qim_jpeg_error_exit;
    jerr.pub.emit_message = qim_jpeg_emit_message;
    jerr.message[0] = 0;

    if (setjmp(jerr.jump)) {
        qim_set_error(out, "%s", jerr.message);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return status != QIM_OK ? status : QIM_ERR_CORRUPT;
    }

    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int components = cinfo.num_components;
    if (cinfo.data_precision != 8) {
        qim_set_error(out, "%d-bit JPEG samples are not supported", cinfo.data_precision);
        jpeg_destroy_decompress(&cinfo);
        return QIM_ERR_UNSUPPORTED;
    }
    out->bit_depth = 8;
    switch (components) {
        case 1: cinfo.out_color_space = JCS_GRAYSCALE; qim_set_mode(out, "L"); break;
        case 3: cinfo.out_color_space = JCS_RGB; qim_set_mode(out, "RGB"); break;
        case 4: cinfo.out_color_space = JCS_CMYK; qim_set_mode(out, "CMYK"); break;
        default:
            qim_set_error(out, "JPEG with %d components is not supported", components);
            jpeg_destroy_decompress(&cinfo);
            return QIM_ERR_UNSUPPORTED;
    }
    int st = qim_check_size(out, cinfo.image_width, cinfo.image_height, max_pixels);
    if (st != QIM_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    pixels = qim_alloc_rgb(out);
    row = (uint8_t *)malloc((size_t)out->width * (size_t)components);
    if (!pixels || !row) {
        free(pixels);
        free(row);
        jpeg_destroy_decompress(&cinfo);
        if (row == NULL) qim_set_error(out, "cannot allocate a JPEG row");
        return QIM_ERR_NO_MEMORY;
    }

    jpeg_start_decompress(&cinfo);
    const int width = out->width;
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = pixels + (size_t)cinfo.output_scanline * (size_t)width * 3;
        JSAMPROW rows[1];
        rows[0] = (components == 3) ? dst : row;
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
            snprintf(jerr.message, sizeof jerr.message, "JPEG decoder returned no scanline");
            longjmp(jerr.jump, 1);
        }
        if (components == 1) {
            for (int x = 0; x < width; x++) {
                uint8_t v = row[x];
                dst[3 * x] = v; dst[3 * x + 1] = v; dst[3 * x + 2] = v;
            }
        } else if (components == 4) {
            // Adobe polarity: stored values are inverted CMYK ("CMYK;I" in Pillow).
            for (int x = 0; x < width; x++) {
                int c = 255 - row[4 * x], m = 255 - row[4 * x + 1];
                int y = 255 - row[4 * x + 2], k = 255 - row[4 * x + 3];
                int nk = 255 - k;
                int r = nk - qim_muldiv255(c, nk), g = nk - qim_muldiv255(m, nk), b = nk - qim_muldiv255(y, nk);
                dst[3 * x] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
                dst[3 * x + 1] = (uint8_t)(g < 0 ? 0 : g > 255 ? 255 : g);
                dst[3 * x + 2] = (uint8_t)(b < 0 ? 0 : b > 255 ? 255 : b);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    out->pixels = pixels;
    return QIM_OK;
}

void qim_image_free(qim_image *image) {
    if (image && image->pixels) {
        free(image->pixels);
        image->pixels = NULL;
    }
}
