import Foundation

/// The `decoder` section of tokenizer.json (turns tokens back into text).
public indirect enum DecoderConfig: Decodable, Sendable {
    /// `WordPiece`: drops `prefix` (`##`) from continuation pieces and puts a space before the others; with `cleanup`,
    /// removes the space before punctuation and inside English contractions (`clean_up_tokenization`).
    case wordPiece(prefix: String, cleanup: Bool)
    /// `ByteLevel`: maps GPT-2's printable byte symbols (`Ġ` = space) back to bytes and decodes UTF-8 (invalid bytes become U+FFFD).
    case byteLevel
    /// `Metaspace`: turns `replacement` (`▁`) back into spaces and, unless the scheme is `never`, drops the leading one.
    case metaspace(replacement: String, prependScheme: PrependScheme)
    /// `BPEDecoder`: replaces the end-of-word `suffix` (`</w>`, CLIP) by a space, by nothing after the last token.
    case bpe(suffix: String)
    /// `Replace`: replaces every match of `pattern` in each token by `content`.
    case replace(pattern: PatternConfig, content: String)
    /// `ByteFallback`: turns runs of `<0xXX>` tokens into the text their bytes spell (U+FFFD per invalid byte).
    case byteFallback
    /// `Fuse`: concatenates all tokens into one string.
    case fuse
    /// `Strip`: removes up to `start` leading and `stop` trailing occurrences of the one-character `content` from each token.
    case strip(content: String, start: Int, stop: Int)
    /// `Sequence`: the decoders applied one after the other.
    case sequence([DecoderConfig])

    enum CodingKeys: String, CodingKey {
        case type, prefix, cleanup, replacement, suffix, pattern, content, start, stop, decoders
        case prependScheme = "prepend_scheme", addPrefixSpace = "add_prefix_space"
    }

    /// Decodes one decoder object by its `type` (`WordPiece`, `ByteLevel`, `Metaspace`, `BPEDecoder`, `Replace`,
    /// `ByteFallback`, `Fuse`, `Strip`, `Sequence`), with the `tokenizers` defaults for missing options.
    /// - Throws: `TokenizerError.unsupported` for another `type`; `DecodingError` for a missing or mistyped field.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "WordPiece":
            self = .wordPiece(prefix: try c.decodeIfPresent(String.self, forKey: .prefix) ?? "##",
                              cleanup: try c.decodeIfPresent(Bool.self, forKey: .cleanup) ?? true)
        case "ByteLevel": self = .byteLevel
        case "Metaspace":
            var scheme = try c.decodeIfPresent(PrependScheme.self, forKey: .prependScheme)
            if scheme == nil, let add = try c.decodeIfPresent(Bool.self, forKey: .addPrefixSpace) { scheme = add ? .always : .never }
            self = .metaspace(replacement: try c.decodeIfPresent(String.self, forKey: .replacement) ?? "\u{2581}", prependScheme: scheme ?? .always)
        case "BPEDecoder": self = .bpe(suffix: try c.decodeIfPresent(String.self, forKey: .suffix) ?? "</w>")
        case "Replace": self = .replace(pattern: try c.decode(PatternConfig.self, forKey: .pattern), content: try c.decode(String.self, forKey: .content))
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            self = .strip(content: try c.decode(String.self, forKey: .content),
                          start: try c.decodeIfPresent(Int.self, forKey: .start) ?? 0,
                          stop: try c.decodeIfPresent(Int.self, forKey: .stop) ?? 0)
        case "Sequence": self = .sequence(try c.decode([DecoderConfig].self, forKey: .decoders))
        default: throw TokenizerError.unsupported(component: "decoder", type: type)
        }
    }
}

/// A decoder rewrites the list of token strings; the final text is their concatenation.
protocol TokenDecoder: Sendable {
    func decodeChain(_ tokens: [String]) -> [String]
}

func makeDecoder(_ config: DecoderConfig) throws -> any TokenDecoder {
    switch config {
    case let .wordPiece(prefix, cleanup): return WordPieceDecoder(prefix: prefix, cleanup: cleanup)
    case .byteLevel: return ByteLevelDecoder()
    case let .metaspace(r, scheme): return MetaspaceDecoder(replacement: r, prependScheme: scheme)
    case .bpe(let suffix): return BPESuffixDecoder(suffix: suffix)
    case let .replace(pattern, content):
        return ReplaceDecoder(pattern: try CompiledPattern(pattern), content: content.unicodeScalars.map(\.value))
    case .byteFallback: return ByteFallbackDecoder()
    case .fuse: return FuseDecoder()
    case let .strip(content, start, stop):
        guard let ch = content.unicodeScalars.first, content.unicodeScalars.count == 1 else {
            throw TokenizerError.invalidConfig(path: "decoder", reason: "Strip content must be one character, got \"\(content)\"")
        }
        return StripDecoder(content: ch, start: start, stop: stop)
    case .sequence(let list): return SequenceDecoder(decoders: try list.map(makeDecoder))
    }
}

/// Joins word pieces: continuation pieces lose their prefix, others get a space; optional cleanup
/// of spaces before punctuation and in English contractions.
struct WordPieceDecoder: TokenDecoder {
    let prefix: String, cleanup: Bool
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            var s = t
            if i != 0 { s = s.hasScalarPrefix(prefix) ? s.droppingScalars(first: prefix.unicodeScalars.count) : " " + s }
            return cleanup ? cleanUpTokenization(s) : s
        }
    }
}

/// The English detokenization cleanup of HF (`clean_up_tokenization`).
func cleanUpTokenization(_ s: String) -> String {
    var r = s
    for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                   (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
        r = r.replacingScalars(a, with: b)
    }
    return r
}

/// Maps GPT-2 byte symbols back to bytes and decodes UTF-8 (invalid sequences become U+FFFD).
struct ByteLevelDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        let table = ByteLevelTable.scalarToByte
        for t in tokens {
            for s in t.unicodeScalars {
                if s.value < 512, table[Int(s.value)] >= 0 { bytes.append(UInt8(table[Int(s.value)])) } else { bytes.append(contentsOf: Array(String(s).utf8)) }
            }
        }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

struct MetaspaceDecoder: TokenDecoder {
    let replacement: String, prependScheme: PrependScheme
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            var s = t.replacingScalars(replacement, with: " ")
            if i == 0 && prependScheme != .never && s.hasScalarPrefix(" ") { s = s.droppingScalars(first: 1) }
            return s
        }
    }
}

/// Replaces the end-of-word suffix (`</w>`) by a space (nothing after the last token).
struct BPESuffixDecoder: TokenDecoder {
    let suffix: String
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in t.replacingScalars(suffix, with: i == tokens.count - 1 ? "" : " ") }
    }
}

struct ReplaceDecoder: TokenDecoder {
    let pattern: CompiledPattern, content: [UInt32]
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { t in
            let b = TextBuffer(original: t.unicodeScalars.map(\.value)[...], base: 0)
            let r = ReplaceNormalizer(pattern: pattern, content: content).normalize(b)
            return r.string(0..<r.count)
        }
    }
}

/// Turns runs of `<0xXX>` tokens into the text their bytes spell (U+FFFD per byte when invalid).
struct ByteFallbackDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else {
                out.append(contentsOf: [String](repeating: "\u{FFFD}", count: pending.count))
            }
            pending.removeAll()
        }
        for t in tokens {
            let u = Array(t.utf8)
            if u.count == 6, t.hasScalarPrefix("<0x"), t.hasScalarSuffix(">"), let b = UInt8(t.droppingScalars(first: 3, last: 1), radix: 16) {
                pending.append(b)
            } else {
                flush(); out.append(t)
            }
        }
        flush()
        return out
    }
}

struct FuseDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

struct StripDecoder: TokenDecoder {
    let content: Unicode.Scalar, start: Int, stop: Int
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { t in
            var s = Array(t.unicodeScalars)
            var lo = 0
            while lo < min(start, s.count) && s[lo] == content { lo += 1 }
            var hi = s.count
            var n = 0
            while n < stop && hi > lo && s[hi - 1] == content { hi -= 1; n += 1 }
            s = Array(s[lo..<hi])
            var v = String.UnicodeScalarView(); v.append(contentsOf: s)
            return String(v)
        }
    }
}

struct SequenceDecoder: TokenDecoder {
    let decoders: [any TokenDecoder]
    func decodeChain(_ tokens: [String]) -> [String] {
        var t = tokens
        for d in decoders { t = d.decodeChain(t) }
        return t
    }
}
