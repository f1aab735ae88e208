import Foundation

/// SentencePiece's compiled normalization rules (`precompiled_charsmap` of a `Precompiled`
/// normalizer, as XLM-RoBERTa, bge-reranker-base, mT5 or ALBERT tokenizer.json files carry them;
/// usually SentencePiece's `nmt_nfkc` rules: NFKC plus whitespace and control-character clean-up).
///
/// The binary layout is a little-endian `UInt32` byte count of the trie, the trie itself (a Darts
/// double array of `UInt32` units over UTF-8 bytes), then the replacement strings, each ended by
/// a NUL byte; a key's leaf value is the byte offset of its replacement.
///
/// Normalization follows the Hugging Face `tokenizers` library rather than SentencePiece itself
/// (they differ on a few rare inputs): the text is walked one extended grapheme cluster at a
/// time; a cluster shorter than 6 UTF-8 bytes whose start matches a key is replaced as a whole by
/// the replacement of the *shortest* matching key (so `ﬁ` + U+0301 becomes `fi`); any other cluster
/// is normalized scalar by scalar. A NUL byte ends a key lookup.
public struct PrecompiledCharsMap: Sendable {
    private let trie: [UInt32]
    private let strings: [UInt8]
    /// The replacement of each ASCII scalar as a one-byte key (nil: unchanged).
    private let ascii: [[UInt32]?]

    /// Parses a charsmap (the base64-decoded `precompiled_charsmap`).
    /// - Throws: `TokenizerError.invalidConfig` (naming `precompiled_charsmap`) when the data is
    ///   shorter than its trie size says, the trie is empty, or the replacement strings are not UTF-8.
    public init(_ bytes: [UInt8]) throws {
        func invalid(_ reason: String) -> TokenizerError {
            TokenizerError.invalidConfig(path: "precompiled_charsmap", reason: reason)
        }
        guard bytes.count >= 4 else { throw invalid("\(bytes.count) bytes; a charsmap starts with a 4-byte trie size") }
        let trieBytes = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        let units = trieBytes / 4
        guard units >= 1, 4 + units * 4 <= bytes.count else {
            throw invalid("the trie size \(trieBytes) does not fit the \(bytes.count) bytes of the charsmap")
        }
        var t = [UInt32](repeating: 0, count: units)
        for i in 0..<units {
            let o = 4 + 4 * i
            t[i] = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        let replacements = Array(bytes[(4 + units * 4)...])
        trie = t
        strings = replacements
        guard String(validating: replacements, as: UTF8.self) != nil else {
            throw invalid("the replacement strings after the trie are not valid UTF-8")
        }
        var table: [[UInt32]?] = []
        table.reserveCapacity(128)
        for b in 0..<128 {
            table.append([UInt8(b)].withUnsafeBufferPointer { Self.lookup(t, replacements, $0) })
        }
        ascii = table
    }

    /// Decodes and parses the base64 text of a `precompiled_charsmap` field.
    /// - Throws: `TokenizerError.invalidConfig` when it is not base64, or as ``init(_:)``.
    public init(base64: String) throws {
        guard let data = Data(base64Encoded: base64) else {
            throw TokenizerError.invalidConfig(path: "precompiled_charsmap", reason: "not valid base64 (\(base64.utf8.count) characters)")
        }
        try self.init([UInt8](data))
    }

    /// The replacement of the shortest key that is a prefix of `key` (the first result of Darts'
    /// common prefix search), as scalars; nil when no key matches.
    private static func lookup(_ trie: [UInt32], _ strings: [UInt8], _ key: UnsafeBufferPointer<UInt8>) -> [UInt32]? {
        @inline(__always) func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }
        var pos = offset(trie[0])
        for c in key {
            if c == 0 { break }
            pos ^= Int(c)
            guard pos < trie.count else { return nil }
            let unit = trie[pos]
            guard unit & (0x8000_0000 | 0xFF) == UInt32(c) else { return nil }
            pos ^= offset(unit)
            if (unit >> 8) & 1 == 1 {
                guard pos < trie.count else { return nil }
                let start = Int(trie[pos] & 0x7FFF_FFFF)
                guard start <= strings.count else { return nil }
                var end = start
                while end < strings.count && strings[end] != 0 { end += 1 }
                return String(decoding: strings[start..<end], as: UTF8.self).unicodeScalars.map(\.value)
            }
        }
        return nil
    }

    /// The replacement for a run of scalars (their UTF-8 bytes as the key), nil when no key matches.
    fileprivate func replacement(_ scalars: ArraySlice<UInt32>) -> [UInt32]? {
        if scalars.count == 1, let v = scalars.first, v < 128 { return ascii[Int(v)] }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: scalars.count * 4) { buffer in
            var n = 0
            for v in scalars { n += writeUTF8(v, to: buffer, at: n) }
            return Self.lookup(trie, strings, UnsafeBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// UTF-8 length of a run of scalars.
    fileprivate static func utf8Count(_ scalars: ArraySlice<UInt32>) -> Int {
        var n = 0
        for v in scalars { n += v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4 }
        return n
    }

    /// Normalizes `text` as the `Precompiled` normalizer of the `tokenizers` library does.
    public func normalize(_ text: String) -> String {
        let scalars = text.unicodeScalars.map(\.value)
        let out = normalize(TextBuffer(original: scalars[...], base: 0))
        return out.string(0..<out.count)
    }

    /// Normalizes a buffer with HF's alignment rules (see ``PrecompiledNormalizer``).
    func normalize(_ text: TextBuffer) -> TextBuffer {
        // The new scalars with HF's `change` per scalar: 0 replaces one original scalar, 1 is an
        // insertion, -n replaces one and removes the n after it.
        var changes: [(UInt32, Int)] = []
        changes.reserveCapacity(text.count + 8)
        var modified = false
        func replace(_ oldCount: Int, _ new: [UInt32]) {
            modified = true
            for v in new { changes.append((v, 0)) }
            let diff = new.count - oldCount
            if diff > 0 {
                for k in (changes.count - diff)..<changes.count { changes[k].1 = 1 }
            } else if diff < 0, !changes.isEmpty {
                changes[changes.count - 1].1 += diff
            }
        }
        func cluster(_ range: Range<Int>) {
            let s = text.scalars[range]
            if Self.utf8Count(s) < 6, let r = replacement(s) { replace(s.count, r); return }
            // A one-scalar cluster was just looked up.
            if s.count == 1 { changes.append((s[s.startIndex], 0)); return }
            for i in range {
                if let r = replacement(text.scalars[i...i]) { replace(1, r) } else { changes.append((text.scalars[i], 0)) }
            }
        }
        forEachCluster(text.scalars, cluster)
        guard modified else { return text }
        return Self.apply(changes, to: text)
    }

    /// Calls `body` with the range of each extended grapheme cluster of `scalars`. Runs of ASCII
    /// are split without Unicode's rules (two ASCII scalars always have a boundary between them,
    /// except CR LF); the rest goes through Swift's `Character` segmentation.
    private func forEachCluster(_ scalars: [UInt32], _ body: (Range<Int>) -> Void) {
        let n = scalars.count
        var i = 0
        while i < n {
            let v = scalars[i]
            if v < 0x80 && (i + 1 == n || (scalars[i + 1] < 0x80 && !(v == 13 && scalars[i + 1] == 10))) {
                body(i..<(i + 1)); i += 1; continue
            }
            if v == 13 && i + 1 < n && scalars[i + 1] == 10 && (i + 2 == n || scalars[i + 2] < 0x80) {
                body(i..<(i + 2)); i += 2; continue
            }
            // A stretch that ends at a sure boundary: between two ASCII scalars (not CR LF), or the end.
            var j = i + 1
            while j < n && !(scalars[j - 1] < 0x80 && scalars[j] < 0x80 && !(scalars[j - 1] == 13 && scalars[j] == 10)) { j += 1 }
            var view = String.UnicodeScalarView()
            for k in i..<j { view.append(Unicode.Scalar(scalars[k]) ?? "\u{FFFD}") }
            var start = i
            for character in String(view) {
                let count = character.unicodeScalars.count
                body(start..<(start + count))
                start += count
            }
            i = j
        }
    }

    /// HF's `NormalizedString::transform` on scalar alignments: a replacing scalar takes the
    /// alignment of the next original scalar (and skips the ones it removes), an inserted one the
    /// alignment of the scalar before.
    private static func apply(_ changes: [(UInt32, Int)], to text: TextBuffer) -> TextBuffer {
        var out = TextBuffer(reservingCapacity: changes.count)
        guard text.count > 0 else { return out }
        var offset = 0
        let last = text.count - 1
        for (v, change) in changes {
            if change > 0 {
                if offset >= 1 {
                    let i = min(offset - 1, last)
                    out.append(v, start: text.starts[i], end: text.ends[i])
                } else {
                    out.append(v, start: text.starts[0], end: text.starts[0])
                }
            } else {
                let i = min(offset, last)
                out.append(v, start: text.starts[i], end: text.ends[i])
                offset += 1 - change
            }
        }
        return out
    }
}

/// Writes the UTF-8 encoding of a scalar value at `i`; returns its length.
@inline(__always) private func writeUTF8(_ v: UInt32, to b: UnsafeMutableBufferPointer<UInt8>, at i: Int) -> Int {
    switch v {
    case ..<0x80:
        b[i] = UInt8(v); return 1
    case ..<0x800:
        b[i] = UInt8(0xC0 | v >> 6); b[i + 1] = UInt8(0x80 | v & 0x3F); return 2
    case ..<0x10000:
        b[i] = UInt8(0xE0 | v >> 12); b[i + 1] = UInt8(0x80 | (v >> 6) & 0x3F); b[i + 2] = UInt8(0x80 | v & 0x3F); return 3
    default:
        b[i] = UInt8(0xF0 | v >> 18); b[i + 1] = UInt8(0x80 | (v >> 12) & 0x3F)
        b[i + 2] = UInt8(0x80 | (v >> 6) & 0x3F); b[i + 3] = UInt8(0x80 | v & 0x3F); return 4
    }
}

/// The `Precompiled` normalizer: SentencePiece's compiled rules (see ``PrecompiledCharsMap``).
struct PrecompiledNormalizer: Normalizer {
    let map: PrecompiledCharsMap
    func normalize(_ text: TextBuffer) -> TextBuffer { map.normalize(text) }
}
