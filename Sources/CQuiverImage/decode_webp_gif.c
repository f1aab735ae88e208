// WebP (lossy, lossless, with alpha; first frame of an animation is not handled) through
// libwebp, and GIF (first frame on its logical screen) through giflib.
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
    // DGifSlurp reads every frame; the first one is all Pillow shows after open().
    if (DGifSlurp(gif) != GIF_OK || gif->ImageCount < 1) {
        const char *m = GifErrorString(gif->Error);
        qim_set_error(out, "%s", gif->ImageCount < 1 ? "GIF has no image" : (m ? m : "corrupt GIF"));
        DGifCloseFile(gif, &error);
        return QIM_ERR_CORRUPT;
    }
    SavedImage *frame = &gif->SavedImages[0];
    ColorMapObject *map = frame->ImageDesc.ColorMap ? frame->ImageDesc.ColorMap : gif->SColorMap;
    GraphicsControlBlock gcb;
    int transparent = -1;
    if (DGifSavedExtensionToGCB(gif, 0, &gcb) == GIF_OK) transparent = gcb.TransparentColor;
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

    uint8_t *pixels = qim_alloc_rgb(out);
    if (!pixels) {
        DGifCloseFile(gif, &error);
        return QIM_ERR_NO_MEMORY;
    }
    // Pillow fills the screen with the transparent index (or 0) and pastes the frame on it.
    int fill = transparent >= 0 ? transparent : 0;
    const int W = out->width, H = out->height;
    for (size_t i = 0; i < (size_t)W * (size_t)H; i++) memcpy(pixels + 3 * i, palette + 3 * fill, 3);
    const GifImageDesc *d = &frame->ImageDesc;
    for (int y = 0; y < d->Height; y++) {
        int sy = d->Top + y;
        if (sy < 0 || sy >= H) continue;
        const GifByteType *src = frame->RasterBits + (size_t)y * (size_t)d->Width;
        for (int x = 0; x < d->Width; x++) {
            int sx = d->Left + x;
            if (sx < 0 || sx >= W) continue;
            memcpy(pixels + 3 * ((size_t)sy * W + sx), palette + 3 * src[x], 3);
        }
    }
    DGifCloseFile(gif, &error);
    out->pixels = pixels;
    return QIM_OK;
}
