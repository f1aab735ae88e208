#include "quiver_pdf.h"
#include <poppler.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

struct qv_pdf { PopplerDocument *doc; };

static char *dup_or_null(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *o = malloc(n + 1);
    if (o) memcpy(o, s, n + 1);
    return o;
}

int qv_pdf_open(const char *path, qv_pdf **out, char *err, size_t errlen) {
    *out = NULL;
    GError *error = NULL;
    gchar *uri = g_filename_to_uri(path, NULL, &error);
    if (!uri) {
        snprintf(err, errlen, "%s", error ? error->message : "invalid path");
        if (error) g_error_free(error);
        return QV_PDF_CANNOT_OPEN;
    }
    PopplerDocument *doc = poppler_document_new_from_file(uri, NULL, &error);
    g_free(uri);
    if (!doc) {
        int code = QV_PDF_DAMAGED;
        if (error && error->domain == POPPLER_ERROR && error->code == POPPLER_ERROR_ENCRYPTED) code = QV_PDF_ENCRYPTED;
        else if (error && error->domain == G_FILE_ERROR) code = QV_PDF_CANNOT_OPEN;
        snprintf(err, errlen, "%s", error ? error->message : "poppler could not open the document");
        if (error) g_error_free(error);
        return code;
    }
    qv_pdf *d = malloc(sizeof *d);
    if (!d) { g_object_unref(doc); snprintf(err, errlen, "out of memory"); return QV_PDF_CANNOT_OPEN; }
    d->doc = doc;
    *out = d;
    return QV_PDF_OK;
}

int qv_pdf_page_count(const qv_pdf *d) { return poppler_document_get_n_pages(d->doc); }

char *qv_pdf_page_text(qv_pdf *d, int index) {
    PopplerPage *page = poppler_document_get_page(d->doc, index);
    if (!page) return NULL;
    gchar *t = poppler_page_get_text(page);
    char *o = dup_or_null(t ? t : "");
    g_free(t);
    g_object_unref(page);
    return o;
}

char *qv_pdf_title(qv_pdf *d) {
    gchar *t = poppler_document_get_title(d->doc);
    char *o = dup_or_null(t);
    g_free(t);
    return o;
}

void qv_pdf_free(char *s) { free(s); }

void qv_pdf_close(qv_pdf *d) {
    if (!d) return;
    g_object_unref(d->doc);
    free(d);
}
