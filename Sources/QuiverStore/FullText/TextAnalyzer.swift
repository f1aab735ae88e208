import CStemmer
import Foundation

/// How a full-text index turns text into terms, and its BM25 parameters.
///
/// Stored in the collection's manifest, so an index is rebuilt the same way at every open.
public struct FullTextOptions: Codable, Sendable, Hashable {
    /// The string field whose text is indexed (a scalar field of type string, or a dynamic field).
    public var field: String
    /// Snowball stemmer (libstemmer algorithm name or ISO 639 code: `english`, `french`, `de`, ...);
    /// nil: no stemming.
    public var language: String?
    /// Terms dropped after lowercasing (before stemming). Empty: none.
    public var stopWords: [String]
    /// Lowercase the words (Unicode full case mapping) before the stop-word check and stemming.
    public var lowercase: Bool
    /// BM25 term-frequency saturation (Lucene's default 1.2).
    public var k1: Double
    /// BM25 document-length normalization, 0...1 (Lucene's default 0.75).
    public var b: Double

    /// Options of a full-text index on `field`; the defaults are Lucene's BM25 parameters
    /// (k1 = 1.2, b = 0.75), lowercasing, Lucene's English stop words and the Snowball English
    /// stemmer.
    public init(field: String, language: String? = "english", stopWords: [String] = TextAnalyzer.englishStopWords,
                lowercase: Bool = true, k1: Double = 1.2, b: Double = 0.75) {
        self.field = field; self.language = language; self.stopWords = stopWords
        self.lowercase = lowercase; self.k1 = k1; self.b = b
    }
}

/// Splits text into index terms: Unicode word splitting, lowercasing, optional stop words and
/// Snowball stemming (Debian's libstemmer).
///
/// Words are maximal runs of Unicode letters (L*), marks (M*), numbers (N*) and connector
/// punctuation (Pc, such as `_`); an apostrophe (' or ’, kept as ') between two word characters
/// stays inside the word ("don't"). Everything else separates words. Thread-safe.
public final class TextAnalyzer: @unchecked Sendable {
    /// Lucene's English stop words (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`).
    public static let englishStopWords: [String] = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with",
    ]

    /// The options it was made from.
    public let options: FullTextOptions
    private let stop: Set<String>
    private let stemmer: Stemmer?

    /// An analyzer for `options`.
    /// - Throws: `StoreError.invalidRequest` naming the stemmers libstemmer has when `language`
    ///   is not one of them.
    public init(_ options: FullTextOptions) throws {
        self.options = options
        stop = Set(options.stopWords.map { options.lowercase ? $0.lowercased() : $0 })
        stemmer = try options.language.map { try Stemmer(algorithm: $0) }
    }

    /// The names of the Snowball stemmers available (libstemmer's canonical names).
    public static var stemmerLanguages: [String] {
        guard let list = sb_stemmer_list() else { return [] }
        var out: [String] = []
        var i = 0
        while let p = list[i] { out.append(String(cString: p)); i += 1 }
        return out
    }

    /// The words of `text`, before lowercasing, stop words and stemming.
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        var current = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        for (k, s) in scalars.enumerated() {
            if isWordScalar(s) { current.append(s); continue }
            if (s == "'" || s == "\u{2019}"), !current.isEmpty, k + 1 < scalars.count, isWordScalar(scalars[k + 1]) {
                current.append("'"); continue
            }
            if !current.isEmpty { out.append(String(current)); current = String.UnicodeScalarView() }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }

    static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber, .connectorPunctuation:
            return true
        default:
            return false
        }
    }

    /// The index terms of `text`, in order (repeats kept: they are the term frequencies).
    public func terms(_ text: String) -> [String] {
        var out: [String] = []
        for w in Self.words(text) {
            let word = options.lowercase ? w.lowercased() : w
            if stop.contains(word) { continue }
            out.append(stemmer?.stem(word) ?? word)
        }
        return out
    }
}

/// One libstemmer stemmer (not reentrant: used under a lock), with a cache of stems.
final class Stemmer: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = NSLock()
    private var cache: [String: String] = [:]

    init(algorithm: String) throws {
        guard let h = sb_stemmer_new(algorithm, "UTF_8") else {
            throw StoreError.invalidRequest("no Snowball stemmer '\(algorithm)' (libstemmer has: \(TextAnalyzer.stemmerLanguages.joined(separator: ", ")))")
        }
        handle = h
    }

    deinit { sb_stemmer_delete(handle) }

    func stem(_ word: String) -> String {
        lock.lock(); defer { lock.unlock() }
        if let s = cache[word] { return s }
        let bytes = Array(word.utf8)
        let stemmed: String = bytes.withUnsafeBufferPointer { b in
            guard let p = sb_stemmer_stem(handle, b.baseAddress, Int32(b.count)) else { return word }
            let n = Int(sb_stemmer_length(handle))
            return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        }
        if cache.count < 1 << 20 { cache[word] = stemmed }
        return stemmed
    }
}
