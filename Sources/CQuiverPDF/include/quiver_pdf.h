#ifndef QUIVER_PDF_H
#define QUIVER_PDF_H
// A small C face of poppler-glib for QuiverDocuments: open a PDF, count its pages, get each
// page's text in reading order. Strings returned are malloc'd UTF-8; free them with qv_pdf_free.
#include <stddef.h>

typedef struct qv_pdf qv_pdf;

enum {
    QV_PDF_OK = 0,
    QV_PDF_CANNOT_OPEN = 1,   // missing file, permission
    QV_PDF_ENCRYPTED = 2,     // needs a password
    QV_PDF_DAMAGED = 3,       // not a PDF, or broken beyond poppler's repair
};

/// Opens `path`; on failure returns a QV_PDF_* code and writes poppler's message to `err`.
int qv_pdf_open(const char *path, qv_pdf **out, char *err, size_t errlen);
/// Number of pages.
int qv_pdf_page_count(const qv_pdf *doc);
/// The text of page `index` (0-based) in reading order, or NULL when the page cannot be loaded.
char *qv_pdf_page_text(qv_pdf *doc, int index);
/// The document's Title metadata, or NULL.
char *qv_pdf_title(qv_pdf *doc);
void qv_pdf_free(char *s);
void qv_pdf_close(qv_pdf *doc);

#endif
