/// The `normalizer` section of tokenizer.json.
public indirect enum NormalizerConfig: Decodable, Sendable {
    /// `BertNormalizer`: `cleanText` removes control characters and maps whitespace to spaces, `handleChineseChars`
    /// puts spaces around CJK ideographs, `stripAccents` (nil: follows `lowercase`) removes combining marks after NFD,
    /// `lowercase` lowercases.
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool?, lowercase: Bool)
    /// `NFC`, `NFD`, `NFKC` or `NFKD` Unicode normalization.
    case unicode(UnicodeForm)
    /// `Lowercase`: Unicode lowercase mapping.
    case lowercase
    /// `Strip`: removes whitespace at the left and/or right end of the text.
    case strip(left: Bool, right: Bool)
    /// `StripAccents`: removes combining marks (expects decomposed text, e.g. after NFD).
    case stripAccents
    /// `Replace`: replaces every match of `pattern` by `content`.
    case replace(pattern: PatternConfig, content: String)
    /// `Prepend`: puts this string before the text (SentencePiece-style `▁`).
    case prepend(String)
    /// `Sequence`: the normalizers applied one after the other.
    case sequence([NormalizerConfig])
    /// `Precompiled`: SentencePiece's compiled rules from `precompiled_charsmap` (XLM-RoBERTa, mT5, ALBERT).
    case precompiled(PrecompiledCharsMap)

    enum CodingKeys: String, CodingKey {
        case type, normalizers, pattern, content, prepend
        case cleanText = "clean_text", handleChineseChars = "handle_chinese_chars"
        case stripAccents = "strip_accents", lowercase
        case stripLeft = "strip_left", stripRight = "strip_right"
        case precompiledCharsmap = "precompiled_charsmap"
    }

    /// Decodes one normalizer object by its `type` (`BertNormalizer`, `NFC`, `NFD`, `NFKC`, `NFKD`, `Lowercase`, `Strip`,
    /// `StripAccents`, `Replace`, `Prepend`, `Sequence`, `Precompiled`), with the `tokenizers` defaults for missing
    /// options. A `Precompiled` normalizer whose `precompiled_charsmap` is `null` or empty changes nothing.
    /// - Throws: `TokenizerError.unsupported` for another `type`; `DecodingError` for a missing or mistyped field
    ///   or a `precompiled_charsmap` that is not base64 of a SentencePiece charsmap.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "BertNormalizer":
            self = .bert(cleanText: try c.decodeIfPresent(Bool.self, forKey: .cleanText) ?? true,
                         handleChineseChars: try c.decodeIfPresent(Bool.self, forKey: .handleChineseChars) ?? true,
                         stripAccents: try c.decodeIfPresent(Bool.self, forKey: .stripAccents),
                         lowercase: try c.decodeIfPresent(Bool.self, forKey: .lowercase) ?? true)
        case "NFC", "NFD", "NFKC", "NFKD": self = .unicode(UnicodeForm(rawValue: type)!)
        case "Lowercase": self = .lowercase
        case "Strip":
            self = .strip(left: try c.decodeIfPresent(Bool.self, forKey: .stripLeft) ?? true,
                          right: try c.decodeIfPresent(Bool.self, forKey: .stripRight) ?? true)
        case "StripAccents": self = .stripAccents
        case "Replace": self = .replace(pattern: try c.decode(PatternConfig.self, forKey: .pattern), content: try c.decode(String.self, forKey: .content))
        case "Prepend": self = .prepend(try c.decode(String.self, forKey: .prepend))
        case "Sequence": self = .sequence(try c.decode([NormalizerConfig].self, forKey: .normalizers))
        case "Precompiled":
            guard let text = try c.decodeIfPresent(String.self, forKey: .precompiledCharsmap), !text.isEmpty else {
                self = .sequence([]); return
            }
            do { self = .precompiled(try PrecompiledCharsMap(base64: text)) } catch let e as TokenizerError {
                guard case let .invalidConfig(_, reason) = e else { throw e }
                throw DecodingError.dataCorruptedError(forKey: .precompiledCharsmap, in: c, debugDescription: "Precompiled normalizer: \(reason)")
            }
        default: throw TokenizerError.unsupported(component: "normalizer", type: type)
        }
    }
}

/// A normalizer transforms the text and keeps each scalar's alignment to the original text.
protocol Normalizer: Sendable {
    func normalize(_ text: TextBuffer) -> TextBuffer
}

func makeNormalizer(_ config: NormalizerConfig) throws -> any Normalizer {
    switch config {
    case let .bert(clean, chinese, strip, lower):
        return BertNormalizer(cleanText: clean, handleChineseChars: chinese, stripAccents: strip ?? lower, lowercase: lower)
    case .unicode(let form): return UnicodeNormalizer(form: form)
    case .lowercase: return LowercaseNormalizer()
    case let .strip(left, right): return StripNormalizer(left: left, right: right)
    case .stripAccents: return StripAccentsNormalizer()
    case let .replace(pattern, content): return ReplaceNormalizer(pattern: try CompiledPattern(pattern), content: content.unicodeScalars.map(\.value))
    case .prepend(let s): return PrependNormalizer(prefix: s.unicodeScalars.map(\.value))
    case .sequence(let list): return SequenceNormalizer(normalizers: try list.map(makeNormalizer))
    case .precompiled(let map): return PrecompiledNormalizer(map: map)
    }
}

/// BERT's normalizer: clean control characters, space out CJK ideographs, strip accents, lowercase.
struct BertNormalizer: Normalizer {
    let cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool

    func normalize(_ text: TextBuffer) -> TextBuffer {
        var out = TextBuffer(reservingCapacity: text.count + 8)
        var ascii = true
        for i in 0..<text.count {
            var v = text.scalars[i]
            let s = text.starts[i], e = text.ends[i]
            if cleanText {
                if v == 0 || v == 0xFFFD || UnicodeClass.isBertControl(v) { continue }
                if UnicodeClass.isBertWhitespace(v) { v = 32 }
            }
            if v >= 128 { ascii = false }
            if handleChineseChars && v >= 0x3400 && UnicodeClass.isChineseChar(v) {
                out.append(32, start: s, end: e); out.append(v, start: s, end: e); out.append(32, start: s, end: e)
                continue
            }
            if ascii && lowercase && v >= 65 && v <= 90 { v += 32 }
            out.append(v, start: s, end: e)
        }
        if ascii { return out }
        if stripAccents {
            let d = out.unicodeNormalized(.nfd)
            var f = TextBuffer(reservingCapacity: d.count)
            for i in 0..<d.count where !UnicodeClass.isNonspacingMark(d.scalars[i]) { f.append(from: d, i) }
            out = f
        }
        if lowercase { out = out.lowercased() }
        return out
    }
}

struct UnicodeNormalizer: Normalizer {
    let form: UnicodeForm
    func normalize(_ text: TextBuffer) -> TextBuffer { text.unicodeNormalized(form) }
}

struct LowercaseNormalizer: Normalizer {
    func normalize(_ text: TextBuffer) -> TextBuffer { text.lowercased() }
}

struct StripNormalizer: Normalizer {
    let left: Bool, right: Bool
    func normalize(_ text: TextBuffer) -> TextBuffer {
        var lo = 0, hi = text.count
        if left { while lo < hi && UnicodeClass.isWhitespace(text.scalars[lo]) { lo += 1 } }
        if right { while hi > lo && UnicodeClass.isWhitespace(text.scalars[hi - 1]) { hi -= 1 } }
        if lo == 0 && hi == text.count { return text }
        var out = TextBuffer(reservingCapacity: hi - lo)
        out.append(from: text, range: lo..<hi)
        return out
    }
}

/// Removes combining marks (Mn, Mc, Me); usually placed after NFD.
struct StripAccentsNormalizer: Normalizer {
    func normalize(_ text: TextBuffer) -> TextBuffer {
        var out = TextBuffer(reservingCapacity: text.count)
        for i in 0..<text.count {
            let v = text.scalars[i]
            if v >= 0x300, let s = Unicode.Scalar(v) {
                switch s.properties.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: continue
                default: break
                }
            }
            out.append(from: text, i)
        }
        return out
    }
}

/// Replaces every match of a pattern with `content`; the new scalars take the alignment of the
/// last matched scalar (as HF's `NormalizedString::replace`).
struct ReplaceNormalizer: Normalizer {
    let pattern: CompiledPattern
    let content: [UInt32]
    func normalize(_ text: TextBuffer) -> TextBuffer {
        var matches = pattern.matches(text.scalars, 0..<text.count)
        // A match that already equals the content is left as is (same text, same alignment).
        if content.count == 1 { matches.removeAll { $0.1 - $0.0 == 1 && text.scalars[$0.0] == content[0] } }
        if matches.isEmpty { return text }
        var out = TextBuffer(reservingCapacity: text.count)
        var pos = 0
        for (lo, hi) in matches {
            out.append(from: text, range: pos..<lo)
            let s = text.starts[hi - 1], e = text.ends[hi - 1]
            for v in content { out.append(v, start: s, end: e) }
            pos = hi
        }
        out.append(from: text, range: pos..<text.count)
        return out
    }
}

/// Prepends a string to non-empty text; the new scalars align to the first scalar.
struct PrependNormalizer: Normalizer {
    let prefix: [UInt32]
    func normalize(_ text: TextBuffer) -> TextBuffer {
        guard !text.isEmpty else { return text }
        var out = TextBuffer(reservingCapacity: text.count + prefix.count)
        for v in prefix { out.append(v, start: text.starts[0], end: text.ends[0]) }
        out.append(from: text, range: 0..<text.count)
        return out
    }
}

struct SequenceNormalizer: Normalizer {
    let normalizers: [any Normalizer]
    func normalize(_ text: TextBuffer) -> TextBuffer {
        var t = text
        for n in normalizers { t = n.normalize(t) }
        return t
    }
}
