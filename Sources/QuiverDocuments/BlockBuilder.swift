import Foundation

/// Collects the text of a document into blocks while a tree is walked.
struct BlockBuilder {
    var blocks: [DocumentBlock] = []
    var current = ""
    var section: String?
    var page: Int?
    /// Collapse runs of whitespace to one space (HTML outside `<pre>`).
    var collapse: Bool
    var scalars = 0
    let limit: Int
    let path: String
    let format: DocumentFormat

    init(collapse: Bool, limits: DocumentLimits, path: String, format: DocumentFormat) {
        self.collapse = collapse; limit = limits.maxTextScalars; self.path = path; self.format = format
    }

    /// Appends text to the current block.
    mutating func append(_ s: String) throws {
        current += s
        scalars += s.unicodeScalars.count
        guard scalars <= limit else {
            throw DocumentError.limitExceeded(path: path, format: format.displayName, what: "the extracted text (characters)", limit: limit)
        }
    }

    /// Ends the current block (nothing when it is blank); a heading becomes the section of what follows.
    mutating func end(heading: Bool = false, keepWhitespace: Bool = false) {
        var t = current
        current = ""
        if collapse && !keepWhitespace { t = Self.collapsed(t) }
        t = Self.cleaned(t).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty else { return }
        if heading {
            let title = Self.collapsed(t)
            section = title.count > 200 ? String(title.prefix(200)) : title
        }
        blocks.append(DocumentBlock(text: t, page: page, section: section, isHeading: heading))
    }

    /// Whitespace runs as one space.
    static func collapsed(_ s: String) -> String {
        s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Typographic ligatures (U+FB00–FB06, as PDFs often carry them) spelled out, NUL and other
    /// C0 controls but tab and newline dropped, non-breaking spaces as spaces.
    static func cleaned(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            switch u.value {
            case 0xFB00: out.append(contentsOf: "ff".unicodeScalars)
            case 0xFB01: out.append(contentsOf: "fi".unicodeScalars)
            case 0xFB02: out.append(contentsOf: "fl".unicodeScalars)
            case 0xFB03: out.append(contentsOf: "ffi".unicodeScalars)
            case 0xFB04: out.append(contentsOf: "ffl".unicodeScalars)
            case 0xFB05, 0xFB06: out.append(contentsOf: "st".unicodeScalars)
            case 0xA0: out.append(" ")
            case 0x09, 0x0A: out.append(u)
            case 0x0D: out.append("\n")
            case 0..<0x20, 0xFEFF: continue
            default: out.append(u)
            }
        }
        return String(out)
    }
}
