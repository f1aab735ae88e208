// The system image codecs Quiver decodes with (Debian: libjpeg62-turbo-dev, libpng-dev,
// libwebp-dev, libgif-dev). Swift code never calls them directly: their error handling
// (setjmp/longjmp in libjpeg and libpng) is confined to the C wrappers in CQuiverImage.
#ifndef QUIVER_CIMAGECODECS_SHIM_H
#define QUIVER_CIMAGECODECS_SHIM_H
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>
#include <gif_lib.h>
#endif
