import Foundation

/// One piece of a text file, with its position in the file.
public struct TextChunk: Sendable, Hashable {
    /// The chunk's text.
    public var text: String
    /// Offset of its first character, in Unicode scalars (code points, as Python's `str` counts).
    public var start: Int
    /// Offset one past its last character, in Unicode scalars.
    public var end: Int
    /// A chunk of `text` spanning Unicode-scalar offsets `start..<end` of its file.
    public init(text: String, start: Int, end: Int) { self.text = text; self.start = start; self.end = end }
}

/// How `quiver ingest` splits text files into the pieces it embeds.
public enum TextSplit: Sendable, Hashable {
    /// Overlapping windows of at most `size` characters (Unicode scalars), each starting
    /// `size - overlap` characters after the previous one, moved back to a whitespace boundary
    /// when one lies in the last fifth of the window so words are not cut. A text of at most
    /// `size` characters is one chunk. 1000 characters is ~200-250 word-piece tokens of English,
    /// under the 256-token limit of all-MiniLM-L6-v2.
    case characters(size: Int, overlap: Int)
    /// One chunk per non-empty line (line-per-record files such as WordNet's data files).
    case lines
    /// Chunks cut by the text model's own tokens (`TokenChunker`): each fits the model's maximum
    /// sequence length with its special tokens, overlapping by `overlap` tokens, cut at paragraph
    /// and sentence ends where possible. This is what `quiver ingest` does by default; without a
    /// tokenizer (`chunks(of:)`) it falls back to `TextSplit.default`.
    case tokens(overlap: Int)

    /// The default: 1000-character windows overlapping by 200.
    public static let `default` = TextSplit.characters(size: 1000, overlap: 200)

    /// Splits `text`. Chunks that are only whitespace are dropped.
    public func chunks(of text: String) -> [TextChunk] {
        let scalars = Array(text.unicodeScalars)
        func piece(_ a: Int, _ b: Int) -> String {
            var s = String.UnicodeScalarView(); s.append(contentsOf: scalars[a..<b]); return String(s)
        }
        func blank(_ a: Int, _ b: Int) -> Bool { scalars[a..<b].allSatisfy { $0.properties.isWhitespace } }
        var out: [TextChunk] = []
        switch self {
        case .lines:
            var a = 0
            while a < scalars.count {
                var b = a
                while b < scalars.count, scalars[b] != "\n" { b += 1 }
                var e = b
                if e > a, scalars[e - 1] == "\r" { e -= 1 }
                if !blank(a, e) { out.append(TextChunk(text: piece(a, e), start: a, end: e)) }
                a = b + 1
            }
        case .tokens:
            return TextSplit.default.chunks(of: text)
        case let .characters(size, overlap):
            let size = max(1, size), overlap = min(max(0, overlap), size - 1)
            var a = 0
            while a < scalars.count {
                var e = min(scalars.count, a + size)
                if e < scalars.count {
                    var k = e
                    while k > a + size * 4 / 5, !scalars[k - 1].properties.isWhitespace { k -= 1 }
                    if k > a + size * 4 / 5 { e = k }
                }
                if !blank(a, e) { out.append(TextChunk(text: piece(a, e), start: a, end: e)) }
                if e >= scalars.count { break }
                a = max(a + 1, e - overlap)
            }
        }
        return out
    }
}
