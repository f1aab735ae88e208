import Foundation

/// Markdown: paragraphs split at blank lines, ATX (`# Title`) and setext (`Title` over `===`/`---`)
/// headings as sections; fenced code blocks are kept as text and never read as headings.
enum MarkdownExtractor {
    static func extract(text: String, path: String, limits: DocumentLimits) throws -> ExtractedDocument {
        guard text.unicodeScalars.count <= limits.maxTextScalars else {
            throw DocumentError.limitExceeded(path: path, format: "Markdown", what: "the text (characters)", limit: limits.maxTextScalars)
        }
        var b = BlockBuilder(collapse: false, limits: limits, path: path, format: .markdown)
        var fence: String?
        var paragraph: [Substring] = []
        var title: String?
        func flush() throws {
            if !paragraph.isEmpty { try b.append(paragraph.joined(separator: "\n")); b.end(); paragraph = [] }
        }
        func heading(_ t: String) throws {
            try flush()
            try b.append(t); b.end(heading: true)
            if title == nil { title = t }
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        if lines.first?.hasPrefix("\u{FEFF}") == true { lines[0] = lines[0].dropFirst() }
        // YAML front matter is metadata, not text.
        var i = 0
        if lines.first == "---", let close = lines.dropFirst().firstIndex(where: { $0 == "---" || $0 == "..." }) { i = close + 1 }
        while i < lines.count {
            let line = lines[i]
            let trimmed = line.drop(while: { $0 == " " })
            let indent = line.count - trimmed.count
            if let f = fence {
                paragraph.append(line)
                if indent < 4, trimmed.hasPrefix(f) { fence = nil; try flush() }
                i += 1; continue
            }
            if indent < 4, trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                try flush(); fence = String(trimmed.prefix(3)); paragraph.append(line); i += 1; continue
            }
            if indent < 4, trimmed.hasPrefix("#") {
                let hashes = trimmed.prefix(while: { $0 == "#" }).count
                let rest = trimmed.dropFirst(hashes)
                if hashes <= 6, rest.isEmpty || rest.first == " " || rest.first == "\t" {
                    var t = rest.trimmingCharacters(in: .whitespaces)
                    while t.hasSuffix("#") { t.removeLast() }
                    try heading(t.trimmingCharacters(in: .whitespaces)); i += 1; continue
                }
            }
            if trimmed.trimmingCharacters(in: .whitespaces).isEmpty { try flush(); i += 1; continue }
            // Setext: a one-line paragraph underlined with === or ---.
            if paragraph.isEmpty, i + 1 < lines.count {
                let u = lines[i + 1].trimmingCharacters(in: .whitespaces)
                if u.count >= 2, u.allSatisfy({ $0 == "=" }) || u.allSatisfy({ $0 == "-" }) {
                    try heading(trimmed.trimmingCharacters(in: .whitespaces)); i += 2; continue
                }
            }
            paragraph.append(line)
            i += 1
        }
        try flush()
        return ExtractedDocument(path: path, format: .markdown, title: title, blocks: b.blocks, pageCount: nil, warnings: [])
    }
}

/// Extracts the text of documents: PDF (poppler), DOCX and ODT (ZIP + libxml2), EPUB, HTML
/// (libxml2's HTML parser) and Markdown, with pages and sections kept.
///
/// ```swift
/// if let format = DocumentFormat.detect(data: data, pathExtension: "pdf", isText: false) {
///     let doc = try DocumentExtractor().extract(path: "/docs/manual.pdf", data: data, format: format)
///     for block in doc.blocks { print(block.page ?? 0, block.section ?? "", block.text) }
/// }
/// ```
public struct DocumentExtractor: Sendable {
    /// The safety limits applied.
    public var limits: DocumentLimits

    /// An extractor with `limits` (the defaults suit ordinary documents).
    public init(limits: DocumentLimits = DocumentLimits()) { self.limits = limits }

    /// Extracts `data`, the content of the file at `path`, as `format`.
    /// - Throws: `DocumentError` naming the file: damaged or truncated files, encrypted PDFs,
    ///   files beyond `limits` (zip bombs, deep nesting, huge text).
    public func extract(path: String, data: Data, format: DocumentFormat) throws -> ExtractedDocument {
        switch format {
        case .pdf:
            return try PDFExtractor.extract(path: path, limits: limits)
        case .docx:
            return try OfficeExtractor.docx(bytes: [UInt8](data), path: path, limits: limits)
        case .odt:
            return try OfficeExtractor.odt(bytes: [UInt8](data), path: path, limits: limits)
        case .epub:
            return try EPUBExtractor.extract(bytes: [UInt8](data), path: path, limits: limits)
        case .html:
            guard !data.isEmpty else { return ExtractedDocument(path: path, format: .html, title: nil, blocks: [], pageCount: nil, warnings: []) }
            var b = BlockBuilder(collapse: true, limits: limits, path: path, format: .html)
            let title = try HTMLExtractor.extract(bytes: [UInt8](data), path: path, limits: limits, into: &b)
            return ExtractedDocument(path: path, format: .html, title: title, blocks: b.blocks, pageCount: nil, warnings: [])
        case .markdown:
            guard let s = String(data: data, encoding: .utf8) else {
                throw DocumentError.damaged(path: path, format: "Markdown", reason: "not valid UTF-8 text")
            }
            return try MarkdownExtractor.extract(text: s, path: path, limits: limits)
        }
    }

    /// Reads and extracts the file at `url`, detecting its format.
    /// - Returns: nil when the file is of none of the formats.
    /// - Throws: `DocumentError.cannotOpen` when it cannot be read, and as `extract(path:data:format:)`.
    public func extract(fileAt url: URL) throws -> ExtractedDocument? {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DocumentError.cannotOpen(path: url.path, reason: "missing, or no permission")
        }
        let isText = String(data: data.prefix(1 << 16), encoding: .utf8) != nil || String(data: data, encoding: .utf8) != nil
        guard let f = DocumentFormat.detect(data: data, pathExtension: url.pathExtension, isText: isText) else { return nil }
        return try extract(path: url.path, data: data, format: f)
    }
}
