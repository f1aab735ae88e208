// Cairo 2D drawing (Debian package libcairo2-dev): the bar charts of `quiver eval` (PNG and SVG).
#include <cairo.h>
#include <cairo-svg.h>
