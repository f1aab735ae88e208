// Shared helpers of the decoders (private to CQuiverImage).
#ifndef QUIVER_QIM_DECODE_COMMON_H
#define QUIVER_QIM_DECODE_COMMON_H

#include "qim.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void qim_set_error(qim_image *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof out->error, fmt, ap);
    va_end(ap);
}

static inline void qim_set_mode(qim_image *out, const char *mode) {
    snprintf(out->mode, sizeof out->mode, "%s", mode);
}

/// Checks the size limit; fills width/height either way.
static inline int qim_check_size(qim_image *out, int64_t width, int64_t height, int64_t max_pixels) {
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    if (width <= 0 || height <= 0) {
        qim_set_error(out, "image has an empty size %lldx%lld", (long long)width, (long long)height);
        return QIM_ERR_CORRUPT;
    }
    if (max_pixels > 0 && width * height > max_pixels) {
        qim_set_error(out, "image is %lldx%lld = %lld pixels, above the limit of %lld pixels",
                      (long long)width, (long long)height, (long long)(width * height), (long long)max_pixels);
        return QIM_ERR_TOO_LARGE;
    }
    return QIM_OK;
}

static inline uint8_t *qim_alloc_rgb(qim_image *out) {
    size_t n = (size_t)out->width * (size_t)out->height * 3;
    uint8_t *p = (uint8_t *)malloc(n ? n : 1);
    if (!p) qim_set_error(out, "cannot allocate %zu bytes for the decoded image", n);
    return p;
}

#endif
