// libxml2's XML and HTML parsers (Debian: libxml2-dev), used by QuiverDocuments for DOCX, ODT,
// EPUB and HTML.
//
// Debian builds libxml2 with ICU, so <libxml/encoding.h> would include the system's ICU headers,
// whose types clash with the ICU copy inside Swift's Foundation. Quiver never touches encoding
// handlers (they only add two pointers at the end of xmlCharEncodingHandler, which is used only
// through pointers), so the ICU part of the headers is switched off here.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
