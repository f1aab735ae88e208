import Foundation

/// A split or replace pattern from the configuration (`{"String": ...}` or `{"Regex": ...}`).
/// The regular expressions that tokenizers use most (GPT-2's, CLIP's, `\s+`, `\w+|[^\w\s]+`) are
/// recognized and run as hand-written scanners over scalars; any other regex runs on
/// `NSRegularExpression`.
public enum PatternConfig: Decodable, Sendable, Equatable {
    /// A literal string, matched exactly.
    case string(String)
    /// A regular expression; the common ones run as built-in scanners, any other on `NSRegularExpression` (ICU syntax).
    case regex(String)

    enum CodingKeys: String, CodingKey { case string = "String", regex = "Regex" }

    /// Decodes `{"String": s}` or `{"Regex": r}`.
    /// - Throws: `DecodingError.dataCorrupted` when the object has neither key.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let s = try c.decodeIfPresent(String.self, forKey: .string) { self = .string(s); return }
        if let r = try c.decodeIfPresent(String.self, forKey: .regex) { self = .regex(r); return }
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "pattern needs a \"String\" or \"Regex\" key"))
    }
}

/// GPT-2's pre-tokenization regex (also the ByteLevel pre-tokenizer's).
let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
/// CLIP's pre-tokenization regex as written in its tokenizer.json.
let clipRegex = #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#

/// A compiled pattern that finds non-overlapping matches, leftmost first, in a range of scalars.
enum CompiledPattern: @unchecked Sendable {
    case literal([UInt32])
    case gpt2
    case clip
    case whitespaceRun
    case wordOrPunctuation
    case regex(NSRegularExpression)

    init(_ config: PatternConfig) throws {
        switch config {
        case .string(let s):
            self = .literal(s.unicodeScalars.map(\.value))
        case .regex(let r):
            switch r {
            case gpt2Regex: self = .gpt2
            case clipRegex: self = .clip
            case #"\s+"#: self = .whitespaceRun
            case #"\w+|[^\w\s]+"#: self = .wordOrPunctuation
            default:
                do { self = .regex(try NSRegularExpression(pattern: r, options: [])) } catch {
                    throw TokenizerError.invalidPattern(r, reason: "\(error)")
                }
            }
        }
    }

    /// The matches, as `(lo, hi)` index pairs into `s`, inside `range`.
    func matches(_ s: [UInt32], _ range: Range<Int>) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        switch self {
        case .literal(let needle):
            guard !needle.isEmpty else { return out }
            var i = range.lowerBound
            let n = needle.count
            while i + n <= range.upperBound {
                var ok = true
                for k in 0..<n where s[i + k] != needle[k] { ok = false; break }
                if ok { out.append((i, i + n)); i += n } else { i += 1 }
            }
        case .gpt2:
            var i = range.lowerBound
            while i < range.upperBound { let e = Self.gpt2Match(s, i, range.upperBound); out.append((i, e)); i = e }
        case .clip:
            var i = range.lowerBound
            while i < range.upperBound {
                if let e = Self.clipMatch(s, i, range.upperBound) { out.append((i, e)); i = e } else { i += 1 }
            }
        case .whitespaceRun:
            var i = range.lowerBound
            while i < range.upperBound {
                if UnicodeClass.isWhitespace(s[i]) {
                    var e = i + 1
                    while e < range.upperBound && UnicodeClass.isWhitespace(s[e]) { e += 1 }
                    out.append((i, e)); i = e
                } else { i += 1 }
            }
        case .wordOrPunctuation:
            var i = range.lowerBound
            while i < range.upperBound {
                let v = s[i]
                if UnicodeClass.isWord(v) {
                    var e = i + 1
                    while e < range.upperBound && UnicodeClass.isWord(s[e]) { e += 1 }
                    out.append((i, e)); i = e
                } else if !UnicodeClass.isWhitespace(v) {
                    var e = i + 1
                    while e < range.upperBound && !UnicodeClass.isWord(s[e]) && !UnicodeClass.isWhitespace(s[e]) { e += 1 }
                    out.append((i, e)); i = e
                } else { i += 1 }
            }
        case .regex(let re):
            // Run on UTF-16 and map the offsets back to scalar indices.
            var view = String.UnicodeScalarView()
            var utf16ToScalar: [Int] = []
            utf16ToScalar.reserveCapacity(range.count + 1)
            for i in range {
                let u = Unicode.Scalar(s[i]) ?? "\u{FFFD}"
                view.append(u)
                utf16ToScalar.append(i)
                if u.value > 0xFFFF { utf16ToScalar.append(i) }
            }
            utf16ToScalar.append(range.upperBound)
            let string = String(view)
            let ns = string as NSString
            for m in re.matches(in: string, options: [], range: NSRange(location: 0, length: ns.length)) {
                let r = m.range
                if r.length == 0 { continue }
                out.append((utf16ToScalar[r.location], utf16ToScalar[r.location + r.length]))
            }
        }
        return out
    }

    @inline(__always) private static func isContraction(_ s: [UInt32], _ i: Int, _ end: Int) -> Int {
        // 's 't 're 've 'm 'll 'd (lowercase, as the regexes are written)
        guard s[i] == 39, i + 1 < end else { return 0 }
        let a = s[i + 1]
        if a == 115 || a == 116 || a == 109 || a == 100 { return 2 } // s t m d
        if i + 2 < end {
            let b = s[i + 2]
            if (a == 114 && b == 101) || (a == 118 && b == 101) || (a == 108 && b == 108) { return 3 } // re ve ll
        }
        return 0
    }

    private enum Kind { case letter, number, other, space }

    @inline(__always) private static func kind(_ v: UInt32) -> Kind {
        if UnicodeClass.isLetter(v) { return .letter }
        if UnicodeClass.isNumber(v) { return .number }
        if UnicodeClass.isWhitespace(v) { return .space }
        return .other
    }

    /// End of the GPT-2 regex match starting at `i` (the regex matches at every position).
    static func gpt2Match(_ s: [UInt32], _ i: Int, _ end: Int) -> Int {
        let c = contractionLength(s, i, end)
        if c > 0 { return i + c }
        var start = i
        var k = kind(s[i])
        if s[i] == 32 && i + 1 < end {
            let next = kind(s[i + 1])
            if next != .space { start = i + 1; k = next }
        }
        switch k {
        case .letter, .number, .other:
            var e = start + 1
            while e < end && kind(s[e]) == k { e += 1 }
            return e
        case .space:
            var e = i + 1
            while e < end && UnicodeClass.isWhitespace(s[e]) { e += 1 }
            if e == end { return e }
            return e - i >= 2 ? e - 1 : e
        }
    }

    @inline(__always) private static func contractionLength(_ s: [UInt32], _ i: Int, _ end: Int) -> Int {
        isContraction(s, i, end)
    }

    private static let clipSpecials: [[UInt32]] = ["<|startoftext|>", "<|endoftext|>"].map { $0.unicodeScalars.map(\.value) }

    /// End of CLIP's regex match at `i`, or nil when no alternative matches there (whitespace).
    static func clipMatch(_ s: [UInt32], _ i: Int, _ end: Int) -> Int? {
        if s[i] == 60 {
            for sp in clipSpecials where i + sp.count <= end {
                var ok = true
                for k in 0..<sp.count where s[i + k] != sp[k] { ok = false; break }
                if ok { return i + sp.count }
            }
        }
        let c = contractionLength(s, i, end)
        if c > 0 { return i + c }
        switch kind(s[i]) {
        case .letter:
            var e = i + 1
            while e < end && UnicodeClass.isLetter(s[e]) { e += 1 }
            return e
        case .number:
            return i + 1
        case .other:
            var e = i + 1
            while e < end && kind(s[e]) == .other { e += 1 }
            return e
        case .space:
            return nil
        }
    }
}
