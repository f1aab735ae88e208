// WebP (lossy, lossless, with alpha; first frame of an animation is not handled) through
// libwebp, and GIF (first frame on its logical screen, later frames are not read) through giflib.
#include "decode_common.h"

#include <webp/decode.h>
#include <gif_lib.h>

int qim_decode_webp(const uint8_t *data, size_t size, int64_t max_pixels, qim_image *out) {
    memset(out, 0, sizeof *out);
    WebPBitstreamFeatures features;
    VP8StatusCode code = WebPGetFeatures(data, size, &features);
    if (code != VP8_STATUS_OK) {
        qim_set_error(out, code == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated WebP data" : "invalid WebP header (status %d)", (int)code);
        return QIM_ERR_CORRUPT;
    }
    if (features.has_animation) {
        qim_set_error(out, "animated WebP is not supported");
        return QIM_ERR_UNSUPPORTED;
    }
    out->bit_depth = 8;
    out->has_alpha = features.has_alpha;
    qim_set_mode(out, features.has_alpha ? "RGBA" : "RGB");
    int st = qim_check_size(out, features.width, features.height, max_pixels);
    if (st != QIM_OK) return st;
    uint8_t *pixels = qim_alloc_rgb(out);
    if (!pixels) return QIM_ERR_NO_MEMORY;
    size_t stride = (size_t)out->width * 3;
    // Alpha is not premultiplied in MODE_RGB: the colour samples are the stored ones.
    if (!WebPDecodeRGBInto(data, size, pixels, stride * (size_t)out->height, (int)stride)) {
        free(pixels);
        qim_set_error(out, "corrupt or truncated WebP data");
        return QIM_ERR_CORRUPT;
    }
    out->pixels = pixels;
    return QIM_OK;
}

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t position;
} qim_gif_source;

static int qim_gif_read(GifFileType *gif, GifByteType *dst, int count) {
    qim_gif_source *src = (qim_gif_source *)gif->UserData;
    size_t available = src->size - src->position;
    size_t n = count < 0 ? 0 : (size_t)count;
    if (n > available) n = available;
    memcpy(dst, src->data + src->position, n);
    src->position += n;
    return (int)n;
}

int qim_decode_gif(const uint8_t *data, size_t size, int64_t max_pixels, qim_image *out) {
    memset(out, 0, sizeof *out);
    qim_gif_source source = {data, size, 0};
    int error = 0;
    GifFileType *gif = DGifOpen(&source, qim_gif_read, &error);
    if (!gif) {
        const char *m = GifErrorString(error);
        qim_set_error(out, "%s", m ? m : "cannot open GIF");
        return QIM_ERR_CORRUPT;
    }
    out->bit_depth = 8;
    int st = qim_check_size(out, gif->SWidth, gif->SHeight, max_pixels);
    if (st != QIM_OK) {
        DGifCloseFile(gif, &error);
        return st;
    }
    // Only the first frame is read (it is all Pillow shows after open()): later frames may even
    // be truncated. Extensions before it may carry the transparent index (graphics control).
    int transparent = -1;
    GifImageDesc desc;
    int found = 0;
    while (!found) {
        GifRecordType record;
        if (DGifGetRecordType(gif, &record) != GIF_OK) goto corrupt;
        if (record == IMAGE_DESC_RECORD_TYPE) {
            if (DGifGetImageDesc(gif) != GIF_OK) goto corrupt;
            desc = gif->Image;
            found = 1;
        } else if (record == EXTENSION_RECORD_TYPE) {
            int code = 0;
            GifByteType *ext = NULL;
            if (DGifGetExtension(gif, &code, &ext) != GIF_OK) goto corrupt;
            if (code == GRAPHICS_EXT_FUNC_CODE && ext != NULL && ext[0] >= 4) {
                GraphicsControlBlock gcb;
                if (DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK) transparent = gcb.TransparentColor;
            }
            while (ext != NULL) {
                if (DGifGetExtensionNext(gif, &ext) != GIF_OK) goto corrupt;
            }
        } else if (record == TERMINATE_RECORD_TYPE) {
            qim_set_error(out, "GIF has no image");
            DGifCloseFile(gif, &error);
            return QIM_ERR_CORRUPT;
        }
    }
    ColorMapObject *map = desc.ColorMap ? desc.ColorMap : gif->SColorMap;
    out->has_alpha = transparent >= 0;
    qim_set_mode(out, map ? "P" : "L");

    uint8_t palette[256 * 3];
    memset(palette, 0, sizeof palette);
    if (map) {
        int n = map->ColorCount > 256 ? 256 : map->ColorCount;
        for (int i = 0; i < n; i++) {
            palette[3 * i] = map->Colors[i].Red;
            palette[3 * i + 1] = map->Colors[i].Green;
            palette[3 * i + 2] = map->Colors[i].Blue;
        }
    } else {
        for (int i = 0; i < 256; i++) palette[3 * i] = palette[3 * i + 1] = palette[3 * i + 2] = (uint8_t)i;
    }
    if (desc.Width <= 0 || desc.Height <= 0) {
        qim_set_error(out, "GIF frame has an empty size");
        DGifCloseFile(gif, &error);
        return QIM_ERR_CORRUPT;
    }

    uint8_t *pixels = qim_alloc_rgb(out);
    GifByteType *line = (GifByteType *)malloc((size_t)desc.Width);
    if (!pixels || !line) {
        free(pixels);
        free(line);
        DGifCloseFile(gif, &error);
        return QIM_ERR_NO_MEMORY;
    }
    // Pillow fills the screen with the transparent index (or 0) and pastes the frame on it.
    int fill = transparent >= 0 ? transparent : 0;
    const int W = out->width, H = out->height;
    for (size_t i = 0; i < (size_t)W * (size_t)H; i++) memcpy(pixels + 3 * i, palette + 3 * fill, 3);
    static const int start_row[4] = {0, 4, 2, 1}, step_row[4] = {8, 8, 4, 2};
    const int passes = desc.Interlace ? 4 : 1;
    for (int pass = 0; pass < passes; pass++) {
        int y0 = desc.Interlace ? start_row[pass] : 0, dy = desc.Interlace ? step_row[pass] : 1;
        for (int y = y0; y < desc.Height; y += dy) {
            if (DGifGetLine(gif, line, desc.Width) != GIF_OK) {
                free(pixels);
                free(line);
                goto corrupt;
            }
            int sy = desc.Top + y;
            if (sy < 0 || sy >= H) continue;
            for (int x = 0; x < desc.Width; x++) {
                int sx = desc.Left + x;
                if (sx < 0 || sx >= W) continue;
                memcpy(pixels + 3 * ((size_t)sy * W + sx), palette + 3 * line[x], 3);
            }
        }
    }
    free(line);
    DGifCloseFile(gif, &error);
    out->pixels = pixels;
    return QIM_OK;

corrupt: {
        const char *m = GifErrorString(gif->Error);
        qim_set_error(out, "%s", m ? m : "corrupt GIF");
        DGifCloseFile(gif, &error);
        return QIM_ERR_CORRUPT;
    }
}
