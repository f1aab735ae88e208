import Foundation
import CQuiverPDF

/// PDF text through poppler: one block per page, in poppler's reading order, with the page number.
enum PDFExtractor {
    static func extract(path: String, limits: DocumentLimits) throws -> ExtractedDocument {
        var handle: OpaquePointer?
        var err = [CChar](repeating: 0, count: 512)
        let code = qv_pdf_open(path, &handle, &err, err.count)
        let message = String(decoding: err.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch Int(code) {
        case Int(QV_PDF_OK): break
        case Int(QV_PDF_ENCRYPTED): throw DocumentError.encrypted(path: path, format: "PDF")
        case Int(QV_PDF_CANNOT_OPEN): throw DocumentError.cannotOpen(path: path, reason: message)
        default: throw DocumentError.damaged(path: path, format: "PDF", reason: "poppler: \(message)")
        }
        guard let doc = handle else { throw DocumentError.damaged(path: path, format: "PDF", reason: "poppler returned no document") }
        defer { qv_pdf_close(doc) }
        let pages = Int(qv_pdf_page_count(doc))
        guard pages <= limits.maxPages else {
            throw DocumentError.limitExceeded(path: path, format: "PDF", what: "the number of pages (\(pages))", limit: limits.maxPages)
        }
        var title: String?
        if let t = qv_pdf_title(doc) { title = String(cString: t); qv_pdf_free(t) }
        if title?.trimmingCharacters(in: .whitespaces).isEmpty == true { title = nil }
        var b = BlockBuilder(collapse: false, limits: limits, path: path, format: .pdf)
        var blank: [Int] = [], unreadable: [Int] = []
        for i in 0..<pages {
            b.page = i + 1
            guard let t = qv_pdf_page_text(doc, Int32(i)) else { unreadable.append(i + 1); continue }
            let text = String(cString: t)
            qv_pdf_free(t)
            let before = b.blocks.count
            try b.append(text)
            b.end()
            if b.blocks.count == before { blank.append(i + 1) }
        }
        var warnings: [String] = []
        if !blank.isEmpty {
            warnings.append("\(ranges(blank)) of \(pages) \(blank.count == 1 ? "has" : "have") no text layer (scanned images or blank; Quiver does no OCR)")
        }
        if !unreadable.isEmpty { warnings.append("\(ranges(unreadable)) could not be loaded by poppler") }
        return ExtractedDocument(path: path, format: .pdf, title: title, blocks: b.blocks, pageCount: pages, warnings: warnings)
    }

    /// "page 3", "pages 1–4, 7".
    static func ranges(_ pages: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < pages.count {
            var j = i
            while j + 1 < pages.count, pages[j + 1] == pages[j] + 1 { j += 1 }
            parts.append(i == j ? "\(pages[i])" : "\(pages[i])–\(pages[j])")
            i = j + 1
        }
        return (pages.count == 1 ? "page " : "pages ") + parts.joined(separator: ", ")
    }
}
