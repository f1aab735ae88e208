/// Where Metaspace adds its replacement character in front of a piece: `always` before every piece that does not
/// start with a space, `first` only before a piece at the very start of the text, `never` not at all.
public enum PrependScheme: String, Sendable, Decodable {
    case always, first, never
}

/// The `pre_tokenizer` section of tokenizer.json.
public indirect enum PreTokenizerConfig: Decodable, Sendable {
    /// `BertPreTokenizer`: splits on whitespace (removed) and around each punctuation character (kept as its own word).
    case bert
    /// `Whitespace`: words are the matches of `\w+|[^\w\s]+`; whitespace is removed.
    case whitespace
    /// `WhitespaceSplit`: splits on whitespace only (removed).
    case whitespaceSplit
    /// `ByteLevel` (GPT-2): optionally adds a leading space, splits with GPT-2's regex when `useRegex`, and maps
    /// every byte to a printable symbol.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// `Metaspace` (SentencePiece): replaces spaces by `replacement` (`▁`), prepends one per `prependScheme`, and splits
    /// before each `replacement` when `split`.
    case metaspace(replacement: String, prependScheme: PrependScheme, split: Bool)
    /// `Punctuation`: splits at punctuation characters with the given behavior (default: isolated).
    case punctuation(SplitBehavior)
    /// `Split`: splits at the matches of `pattern` (at what does not match when `invert`) with the given behavior.
    case split(pattern: PatternConfig, behavior: SplitBehavior, invert: Bool)
    /// `Digits`: separates digits from other characters; each digit on its own when `individualDigits`.
    case digits(individualDigits: Bool)
    /// `Sequence`: the pre-tokenizers applied one after the other.
    case sequence([PreTokenizerConfig])

    enum CodingKeys: String, CodingKey {
        case type, pretokenizers, pattern, behavior, invert, replacement, split
        case addPrefixSpace = "add_prefix_space", useRegex = "use_regex", prependScheme = "prepend_scheme"
        case individualDigits = "individual_digits"
    }

    /// Decodes one pre-tokenizer object by its `type` (`BertPreTokenizer`, `Whitespace`, `WhitespaceSplit`, `ByteLevel`,
    /// `Metaspace`, `Punctuation`, `Split`, `Digits`, `Sequence`), with the `tokenizers` defaults for missing options.
    /// - Throws: `TokenizerError.unsupported` for another `type`; `DecodingError` for a missing or mistyped field.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "BertPreTokenizer": self = .bert
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try c.decodeIfPresent(Bool.self, forKey: .addPrefixSpace) ?? true,
                              useRegex: try c.decodeIfPresent(Bool.self, forKey: .useRegex) ?? true)
        case "Metaspace":
            var scheme = try c.decodeIfPresent(PrependScheme.self, forKey: .prependScheme)
            if scheme == nil, let add = try c.decodeIfPresent(Bool.self, forKey: .addPrefixSpace) { scheme = add ? .always : .never }
            self = .metaspace(replacement: try c.decodeIfPresent(String.self, forKey: .replacement) ?? "\u{2581}",
                              prependScheme: scheme ?? .always,
                              split: try c.decodeIfPresent(Bool.self, forKey: .split) ?? true)
        case "Punctuation": self = .punctuation(try c.decodeIfPresent(SplitBehavior.self, forKey: .behavior) ?? .isolated)
        case "Split":
            self = .split(pattern: try c.decode(PatternConfig.self, forKey: .pattern),
                          behavior: try c.decode(SplitBehavior.self, forKey: .behavior),
                          invert: try c.decodeIfPresent(Bool.self, forKey: .invert) ?? false)
        case "Digits": self = .digits(individualDigits: try c.decodeIfPresent(Bool.self, forKey: .individualDigits) ?? false)
        case "Sequence": self = .sequence(try c.decode([PreTokenizerConfig].self, forKey: .pretokenizers))
        default: throw TokenizerError.unsupported(component: "pre_tokenizer", type: type)
        }
    }
}

/// A pre-tokenizer splits the text pieces into smaller pieces (words), possibly rewriting them.
protocol PreTokenizer: Sendable {
    func preTokenize(_ text: inout PreTokenizedText)
}

func makePreTokenizer(_ config: PreTokenizerConfig) throws -> any PreTokenizer {
    switch config {
    case .bert: return BertPreTokenizer()
    case .whitespace: return PatternSplitPreTokenizer(pattern: .wordOrPunctuation, behavior: .removed, invert: true)
    case .whitespaceSplit: return PredicateSplitPreTokenizer(behavior: .removed) { UnicodeClass.isWhitespace($0) }
    case let .byteLevel(addPrefixSpace, useRegex): return ByteLevelPreTokenizer(addPrefixSpace: addPrefixSpace, useRegex: useRegex)
    case let .metaspace(replacement, scheme, split):
        guard let r = replacement.unicodeScalars.first, replacement.unicodeScalars.count == 1 else {
            throw TokenizerError.invalidConfig(path: "pre_tokenizer", reason: "Metaspace replacement must be one character, got \"\(replacement)\"")
        }
        return MetaspacePreTokenizer(replacement: r.value, prependScheme: scheme, split: split)
    case .punctuation(let behavior): return PredicateSplitPreTokenizer(behavior: behavior) { UnicodeClass.isBertPunctuation($0) }
    case let .split(pattern, behavior, invert): return PatternSplitPreTokenizer(pattern: try CompiledPattern(pattern), behavior: behavior, invert: invert)
    case .digits(let individual):
        return PredicateSplitPreTokenizer(behavior: individual ? .isolated : .contiguous) { UnicodeClass.isNumber($0) }
    case .sequence(let list): return SequencePreTokenizer(preTokenizers: try list.map(makePreTokenizer))
    }
}

/// Splits each piece at every scalar that satisfies a predicate (each such scalar is one delimiter).
struct PredicateSplitPreTokenizer: PreTokenizer {
    let behavior: SplitBehavior
    let predicate: @Sendable (UInt32) -> Bool

    func preTokenize(_ text: inout PreTokenizedText) {
        var segments: [(Int, Int, Bool)] = []
        var kept: [(Int, Int)] = []
        text.splitInPlace { input, range, emit in
            segments.removeAll(keepingCapacity: true)
            kept.removeAll(keepingCapacity: true)
            var pos = range.lowerBound
            for i in range where predicate(input.scalars[i]) {
                if i > pos { segments.append((pos, i, false)) }
                segments.append((i, i + 1, true))
                pos = i + 1
            }
            if pos < range.upperBound { segments.append((pos, range.upperBound, false)) }
            applySplitBehavior(segments, behavior, into: &kept)
            for (lo, hi) in kept { emit(lo, hi) }
        }
    }
}

/// Splits on a pattern's matches (HF `Split`, and `Whitespace` as `\w+|[^\w\s]+` inverted).
struct PatternSplitPreTokenizer: PreTokenizer {
    let pattern: CompiledPattern
    let behavior: SplitBehavior
    let invert: Bool

    func preTokenize(_ text: inout PreTokenizedText) {
        var kept: [(Int, Int)] = []
        text.splitInPlace { input, range, emit in
            kept.removeAll(keepingCapacity: true)
            let segments = segmentsFromMatches(pattern.matches(input.scalars, range), in: range, invert: invert)
            applySplitBehavior(segments, behavior, into: &kept)
            for (lo, hi) in kept { emit(lo, hi) }
        }
    }
}

/// BERT: split on whitespace (removed) and on punctuation (each punctuation scalar isolated).
struct BertPreTokenizer: PreTokenizer {
    func preTokenize(_ text: inout PreTokenizedText) {
        text.splitInPlace { input, range, emit in
            input.scalars.withUnsafeBufferPointer { s in
                var wordStart = -1
                for i in range {
                    let v = s[i]
                    if UnicodeClass.isWhitespace(v) {
                        if wordStart >= 0 { emit(wordStart, i); wordStart = -1 }
                    } else if UnicodeClass.isBertPunctuation(v) {
                        if wordStart >= 0 { emit(wordStart, i); wordStart = -1 }
                        emit(i, i + 1)
                    } else if wordStart < 0 {
                        wordStart = i
                    }
                }
                if wordStart >= 0 { emit(wordStart, range.upperBound) }
            }
        }
    }
}

/// GPT-2 byte-level: optional leading space, GPT-2 regex split, then every UTF-8 byte becomes
/// its printable stand-in scalar (aligned to the original scalar it belongs to).
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool

    func preTokenize(_ text: inout PreTokenizedText) {
        var work = TextBuffer()
        text.splitEach { input, range, _, out, emit in
            var src = input
            var r = range
            if addPrefixSpace && !range.isEmpty && input.scalars[range.lowerBound] != 32 {
                work.removeAll()
                work.append(32, start: input.starts[range.lowerBound], end: input.ends[range.lowerBound])
                work.append(from: input, range: range)
                src = work
                r = 0..<work.count
            }
            if useRegex {
                var i = r.lowerBound
                while i < r.upperBound {
                    let e = CompiledPattern.gpt2Match(src.scalars, i, r.upperBound)
                    let b = out.count
                    Self.appendBytes(src, i..<e, into: &out)
                    emit(b, out.count)
                    i = e
                }
            } else {
                let b = out.count
                Self.appendBytes(src, r, into: &out)
                emit(b, out.count)
            }
        }
    }

    @inline(__always) static func appendBytes(_ src: TextBuffer, _ range: Range<Int>, into out: inout TextBuffer) {
        let table = ByteLevelTable.byteToScalar
        for i in range {
            let v = src.scalars[i], s = src.starts[i], e = src.ends[i]
            if v < 0x80 {
                out.append(table[Int(v)], start: s, end: e)
            } else if v < 0x800 {
                out.append(table[Int(0xC0 | (v >> 6))], start: s, end: e)
                out.append(table[Int(0x80 | (v & 0x3F))], start: s, end: e)
            } else if v < 0x10000 {
                out.append(table[Int(0xE0 | (v >> 12))], start: s, end: e)
                out.append(table[Int(0x80 | ((v >> 6) & 0x3F))], start: s, end: e)
                out.append(table[Int(0x80 | (v & 0x3F))], start: s, end: e)
            } else {
                out.append(table[Int(0xF0 | (v >> 18))], start: s, end: e)
                out.append(table[Int(0x80 | ((v >> 12) & 0x3F))], start: s, end: e)
                out.append(table[Int(0x80 | ((v >> 6) & 0x3F))], start: s, end: e)
                out.append(table[Int(0x80 | (v & 0x3F))], start: s, end: e)
            }
        }
    }
}

/// SentencePiece style: spaces become the replacement (▁), which is prepended per the scheme and
/// starts each new piece.
struct MetaspacePreTokenizer: PreTokenizer {
    let replacement: UInt32
    let prependScheme: PrependScheme
    let split: Bool

    func preTokenize(_ text: inout PreTokenizedText) {
        var segments: [(Int, Int, Bool)] = []
        var kept: [(Int, Int)] = []
        text.splitEach { input, range, _, out, emit in
            guard !range.isEmpty else { return }
            let base = out.count
            let first = input.scalars[range.lowerBound]
            let startsWithReplacement = first == 32 || first == replacement
            let prepend: Bool
            switch prependScheme {
            case .always: prepend = !startsWithReplacement
            case .first: prepend = !startsWithReplacement && input.starts[range.lowerBound] == 0
            case .never: prepend = false
            }
            if prepend { out.append(replacement, start: input.starts[range.lowerBound], end: input.ends[range.lowerBound]) }
            for i in range {
                let v = input.scalars[i]
                out.append(v == 32 ? replacement : v, start: input.starts[i], end: input.ends[i])
            }
            if !split { emit(base, out.count); return }
            segments.removeAll(keepingCapacity: true)
            kept.removeAll(keepingCapacity: true)
            var pos = base
            for i in base..<out.count where out.scalars[i] == replacement {
                if i > pos { segments.append((pos, i, false)) }
                segments.append((i, i + 1, true))
                pos = i + 1
            }
            if pos < out.count { segments.append((pos, out.count, false)) }
            applySplitBehavior(segments, .mergedWithNext, into: &kept)
            for (lo, hi) in kept { emit(lo, hi) }
        }
    }
}

struct SequencePreTokenizer: PreTokenizer {
    let preTokenizers: [any PreTokenizer]
    func preTokenize(_ text: inout PreTokenizedText) {
        for p in preTokenizers { p.preTokenize(&text) }
    }
}
