import Foundation

/// A document format QuiverDocuments extracts text from.
public enum DocumentFormat: String, Sendable, Codable, CaseIterable {
    case pdf, docx, odt, epub, html, markdown

    /// A name for messages ("PDF", "DOCX", ...).
    public var displayName: String {
        switch self {
        case .pdf: return "PDF"
        case .docx: return "DOCX"
        case .odt: return "ODT"
        case .epub: return "EPUB"
        case .html: return "HTML"
        case .markdown: return "Markdown"
        }
    }

    /// The MIME type a server answers with for the file.
    public var contentType: String {
        switch self {
        case .pdf: return "application/pdf"
        case .docx: return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case .odt: return "application/vnd.oasis.opendocument.text"
        case .epub: return "application/epub+zip"
        case .html: return "text/plain; charset=utf-8"   // never served as a page of the server's origin
        case .markdown: return "text/markdown; charset=utf-8"
        }
    }

    /// Detects the format from the content: PDF by `%PDF-` in the first KiB; DOCX, ODT and EPUB as
    /// ZIP archives by their entries (`word/document.xml`, or the `mimetype` entry's value); HTML
    /// by a leading `<!DOCTYPE html` or `<html` (or an `.html`/`.htm`/`.xhtml` name and a leading
    /// `<`); Markdown as UTF-8 text named `.md`/`.markdown` (plain text has no magic bytes).
    /// `isText` tells whether the content is UTF-8 text (as `ContentModality` decides).
    /// - Returns: nil for anything else.
    public static func detect(data: Data, pathExtension: String, isText: Bool) -> DocumentFormat? {
        let ext = pathExtension.lowercased()
        let head = [UInt8](data.prefix(1024))
        if let r = head.firstRange(of: Array("%PDF-".utf8)), r.lowerBound < 1024 { return .pdf }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            // mimetype first and stored (ODF and OCF require it): its value at byte 38.
            let b = [UInt8](data.prefix(200))
            if b.count > 38, String(decoding: b[30..<38], as: UTF8.self) == "mimetype" {
                let value = String(decoding: b[38...], as: UTF8.self)
                if value.hasPrefix("application/epub+zip") { return .epub }
                if value.hasPrefix("application/vnd.oasis.opendocument.text") { return .odt }
            }
            if let zip = try? ZipReader(bytes: [UInt8](data), path: "", format: .docx, limits: DocumentLimits()) {
                if zip.has("word/document.xml") { return .docx }
                if zip.has("content.xml"), ext == "odt" { return .odt }
                if zip.has("META-INF/container.xml"), ext == "epub" { return .epub }
            }
            return nil
        }
        guard isText else { return nil }
        var s = String(decoding: data.prefix(512), as: UTF8.self)
        if s.hasPrefix("\u{FEFF}") { s.removeFirst() }
        let lead = s.drop(while: { $0.isWhitespace }).lowercased()
        if lead.hasPrefix("<!doctype html") || lead.hasPrefix("<html") { return .html }
        if ["html", "htm", "xhtml"].contains(ext), lead.hasPrefix("<") { return .html }
        if ["md", "markdown", "mdown", "mkd", "mkdn"].contains(ext) { return .markdown }
        return nil
    }
}

/// Bounds on what extraction reads, so hostile files end with an error, not with memory or time exhausted.
public struct DocumentLimits: Sendable, Hashable {
    /// Largest uncompressed size of one ZIP entry (DOCX, ODT, EPUB).
    public var maxEntryBytes: Int = 64 << 20
    /// Largest uncompressed size of all ZIP entries read from one file.
    public var maxTotalBytes: Int = 256 << 20
    /// Most entries in a ZIP archive.
    public var maxEntries: Int = 10_000
    /// Most characters (Unicode scalars) of text taken from one document.
    public var maxTextScalars: Int = 32 << 20
    /// Most pages of a PDF.
    public var maxPages: Int = 20_000
    /// Deepest element nesting walked in XML and HTML (libxml2 itself stops XML at 256).
    public var maxDepth: Int = 256
    /// The defaults.
    public init() {}
}

/// One block of a document's text: a paragraph, heading, list item or page.
public struct DocumentBlock: Sendable, Hashable {
    /// The text (whitespace inside kept, trimmed at the ends).
    public var text: String
    /// The 1-based page it is on (PDF; ODT where the file records page breaks), else nil.
    public var page: Int?
    /// The heading the block falls under (the block's own text for a heading), else nil.
    public var section: String?
    /// True for a heading.
    public var isHeading: Bool
    /// A block.
    public init(text: String, page: Int? = nil, section: String? = nil, isHeading: Bool = false) {
        self.text = text; self.page = page; self.section = section; self.isHeading = isHeading
    }
}

/// A run of a document's extracted text that shares one page and section, as offsets into `ExtractedDocument.text`.
public struct DocumentSegment: Sendable, Hashable {
    /// Offset of its first character, in Unicode scalars of `ExtractedDocument.text`.
    public var start: Int
    /// Offset one past its last character.
    public var end: Int
    /// 1-based page, or nil.
    public var page: Int?
    /// Section heading, or nil.
    public var section: String?
}

/// The text of a document, in reading order, with its pages and sections.
public struct ExtractedDocument: Sendable {
    /// The file it was read from.
    public var path: String
    /// Its format.
    public var format: DocumentFormat
    /// The title from the document's metadata (or HTML `<title>`), if any.
    public var title: String?
    /// The blocks in reading order.
    public var blocks: [DocumentBlock]
    /// Number of pages (PDF), else nil.
    public var pageCount: Int?
    /// What could not be read but did not stop extraction, such as pages without a text layer
    /// (scanned images: Quiver does no OCR).
    public var warnings: [String]

    /// The blocks joined by blank lines: the text the chunk offsets (`start`/`end`) refer to.
    public var text: String { layout().text }

    /// True when no block has text.
    public var isEmpty: Bool { blocks.allSatisfy { $0.text.isEmpty } }

    /// The joined text and its segments: consecutive blocks of the same page and section form one
    /// segment (a heading starts a new one), so a chunk cut inside a segment has one page and section.
    public func layout() -> (text: String, segments: [DocumentSegment]) {
        var out = String.UnicodeScalarView()
        var segments: [DocumentSegment] = []
        var offset = 0
        for b in blocks where !b.text.isEmpty {
            if offset > 0 { out.append(contentsOf: "\n\n".unicodeScalars); offset += 2 }
            let n = b.text.unicodeScalars.count
            if let last = segments.last, !b.isHeading, last.page == b.page, last.section == b.section {
                segments[segments.count - 1].end = offset + n
            } else {
                segments.append(DocumentSegment(start: offset, end: offset + n, page: b.page, section: b.section))
            }
            out.append(contentsOf: b.text.unicodeScalars)
            offset += n
        }
        return (String(out), segments)
    }
}
