/// One entry of tokenizer.json's `added_tokens`.
public struct AddedToken: Decodable, Sendable, Equatable {
    /// The token's id.
    public var id: Int
    /// The text that is matched.
    public var content: String
    /// Match only when not inside a word (neighbours are not `\w`).
    public var singleWord: Bool
    /// Also take the whitespace on the left / right into the token.
    public var lstrip: Bool
    /// See `lstrip`.
    public var rstrip: Bool
    /// Matched on the normalized text (true) or on the original text (false).
    public var normalized: Bool
    /// A special token (skipped by `decode(skipSpecialTokens: true)`).
    public var special: Bool

    enum CodingKeys: String, CodingKey {
        case id, content, lstrip, rstrip, normalized, special
        case singleWord = "single_word"
    }

    /// An added token (defaults: a special token matched on the original text).
    public init(id: Int, content: String, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false,
                normalized: Bool = false, special: Bool = true) {
        self.id = id; self.content = content; self.singleWord = singleWord; self.lstrip = lstrip
        self.rstrip = rstrip; self.normalized = normalized; self.special = special
    }

    /// Decodes an `added_tokens` entry: `id` and `content` are required; the flags default to false, and `normalized`
    /// defaults to `!special`, as in `tokenizers`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        content = try c.decode(String.self, forKey: .content)
        singleWord = try c.decodeIfPresent(Bool.self, forKey: .singleWord) ?? false
        lstrip = try c.decodeIfPresent(Bool.self, forKey: .lstrip) ?? false
        rstrip = try c.decodeIfPresent(Bool.self, forKey: .rstrip) ?? false
        special = try c.decodeIfPresent(Bool.self, forKey: .special) ?? false
        normalized = try c.decodeIfPresent(Bool.self, forKey: .normalized) ?? !special
    }
}

/// Finds added tokens in text: leftmost-longest, non-overlapping (as Aho-Corasick in HF).
struct AddedTokenMatcher: Sendable {
    private struct Entry: Sendable { var scalars: [UInt32]; var token: AddedToken }
    /// Candidates by first scalar, longest first.
    private var byFirst: [UInt32: [Entry]] = [:]
    /// ASCII first scalars as a bitmap, so that most positions are rejected without hashing.
    private var asciiLow: UInt64 = 0, asciiHigh: UInt64 = 0
    private var anyNonASCIIFirst = false
    var isEmpty: Bool { byFirst.isEmpty }

    init(_ tokens: [(pattern: [UInt32], token: AddedToken)]) {
        for (p, t) in tokens where !p.isEmpty {
            byFirst[p[0], default: []].append(Entry(scalars: p, token: t))
            let v = p[0]
            if v < 64 { asciiLow |= 1 << UInt64(v) } else if v < 128 { asciiHigh |= 1 << UInt64(v - 64) } else { anyNonASCIIFirst = true }
        }
        for k in byFirst.keys { byFirst[k]!.sort { $0.scalars.count > $1.scalars.count } }
    }

    @inline(__always) private func mayStart(_ v: UInt32) -> Bool {
        if v < 64 { return (asciiLow >> UInt64(v)) & 1 != 0 }
        if v < 128 { return (asciiHigh >> UInt64(v - 64)) & 1 != 0 }
        return anyNonASCIIFirst
    }

    /// Splits `s[range]` into `(lo, hi, tokenID or -1)` segments tiling the range.
    func split(_ s: [UInt32], _ range: Range<Int>) -> [(Int, Int, Int32)] {
        var out: [(Int, Int, Int32)] = []
        var startOffset = range.lowerBound
        var pos = range.lowerBound
        let end = range.upperBound
        while pos < end {
            guard mayStart(s[pos]), let cands = byFirst[s[pos]] else { pos += 1; continue }
            var matched: Entry?
            for c in cands where pos + c.scalars.count <= end {
                var ok = true
                for k in 1..<c.scalars.count where s[pos + k] != c.scalars[k] { ok = false; break }
                if ok { matched = c; break }
            }
            guard let m = matched else { pos += 1; continue }
            var start = pos, stop = pos + m.scalars.count
            pos = stop
            if m.token.singleWord {
                let startOK = start == range.lowerBound || !UnicodeClass.isWord(s[start - 1])
                let stopOK = stop == end || !UnicodeClass.isWord(s[stop])
                if !startOK || !stopOK { continue }
            }
            if m.token.lstrip {
                var ns = start
                while ns > range.lowerBound && UnicodeClass.isWhitespace(s[ns - 1]) { ns -= 1 }
                start = max(ns, startOffset)
            }
            if m.token.rstrip {
                while stop < end && UnicodeClass.isWhitespace(s[stop]) { stop += 1 }
                pos = stop
            }
            if startOffset < start { out.append((startOffset, start, -1)) }
            out.append((start, stop, Int32(m.token.id)))
            startOffset = stop
        }
        if startOffset < end || out.isEmpty { out.append((startOffset, end, -1)) }
        return out
    }
}
