// Poppler's C API (poppler-glib; Debian: libpoppler-glib-dev). Only CQuiverPDF includes it, so
// GLib's macros never reach Swift.
#include <poppler.h>
