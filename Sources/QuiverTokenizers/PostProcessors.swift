/// One item of a TemplateProcessing template.
public enum TemplatePiece: Decodable, Sendable, Equatable {
    /// The input sequence `A` (0) or `B` (1), with its type id.
    case sequence(index: Int, typeID: Int)
    /// A special token (name looked up in `special_tokens`), with its type id.
    case special(name: String, typeID: Int)

    enum CodingKeys: String, CodingKey { case sequence = "Sequence", special = "SpecialToken" }
    enum InnerKeys: String, CodingKey { case id, typeID = "type_id" }

    /// Decodes `{"Sequence": {"id": "A"|"B", "type_id": n}}` or `{"SpecialToken": {"id": name, "type_id": n}}`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.sequence) {
            let i = try c.nestedContainer(keyedBy: InnerKeys.self, forKey: .sequence)
            let id = try i.decode(String.self, forKey: .id)
            self = .sequence(index: id == "B" ? 1 : 0, typeID: try i.decodeIfPresent(Int.self, forKey: .typeID) ?? 0)
        } else {
            let i = try c.nestedContainer(keyedBy: InnerKeys.self, forKey: .special)
            self = .special(name: try i.decode(String.self, forKey: .id), typeID: try i.decodeIfPresent(Int.self, forKey: .typeID) ?? 0)
        }
    }
}

/// A TemplateProcessing special token: its name and the ids/tokens it expands to.
public struct TemplateSpecialToken: Decodable, Sendable, Equatable {
    /// The name used in the template, and the ids/tokens it stands for.
    public var id: String
    /// The ids the special token expands to, in order (usually one).
    public var ids: [Int]
    /// The token strings matching ``ids``, one per id.
    public var tokens: [String]
}

/// The `post_processor` section of tokenizer.json.
public indirect enum PostProcessorConfig: Decodable, Sendable {
    /// `BertProcessing`: `[CLS] A [SEP]` (type 0) and `[CLS] A [SEP] B [SEP]` (B with type 1); `sep`/`cls` are (token, id).
    case bert(sep: (String, Int), cls: (String, Int))
    /// `RobertaProcessing`: `<s> A </s>` and `<s> A </s></s> B </s>` (all type 0); `trimOffsets` drops leading spaces from the
    /// offsets of byte-level tokens.
    case roberta(sep: (String, Int), cls: (String, Int), trimOffsets: Bool, addPrefixSpace: Bool)
    /// `ByteLevel`: adds no tokens; with `trimOffsets` it drops leading and trailing spaces from the offsets.
    case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
    /// `TemplateProcessing`: the `single` and `pair` templates, with `specialTokens` giving the ids of each named special token.
    case template(single: [TemplatePiece], pair: [TemplatePiece], specialTokens: [String: TemplateSpecialToken])
    /// `Sequence`: the post-processors applied one after the other.
    case sequence([PostProcessorConfig])

    enum CodingKeys: String, CodingKey {
        case type, sep, cls, single, pair, processors
        case trimOffsets = "trim_offsets", addPrefixSpace = "add_prefix_space", specialTokens = "special_tokens"
    }

    private struct TokenPair: Decodable {
        var token: String, id: Int
        init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            token = try c.decode(String.self); id = try c.decode(Int.self)
        }
    }

    /// Decodes one post-processor object by its `type` (`BertProcessing`, `RobertaProcessing`, `ByteLevel`,
    /// `TemplateProcessing`, `Sequence`); `trim_offsets` and `add_prefix_space` default to true.
    /// - Throws: `TokenizerError.unsupported` for another `type`; `DecodingError` for a missing or mistyped field.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "BertProcessing":
            let s = try c.decode(TokenPair.self, forKey: .sep), k = try c.decode(TokenPair.self, forKey: .cls)
            self = .bert(sep: (s.token, s.id), cls: (k.token, k.id))
        case "RobertaProcessing":
            let s = try c.decode(TokenPair.self, forKey: .sep), k = try c.decode(TokenPair.self, forKey: .cls)
            self = .roberta(sep: (s.token, s.id), cls: (k.token, k.id),
                            trimOffsets: try c.decodeIfPresent(Bool.self, forKey: .trimOffsets) ?? true,
                            addPrefixSpace: try c.decodeIfPresent(Bool.self, forKey: .addPrefixSpace) ?? true)
        case "ByteLevel":
            self = .byteLevel(trimOffsets: try c.decodeIfPresent(Bool.self, forKey: .trimOffsets) ?? true,
                              addPrefixSpace: try c.decodeIfPresent(Bool.self, forKey: .addPrefixSpace) ?? true)
        case "TemplateProcessing":
            self = .template(single: try c.decode([TemplatePiece].self, forKey: .single),
                             pair: try c.decodeIfPresent([TemplatePiece].self, forKey: .pair) ?? [],
                             specialTokens: try c.decodeIfPresent([String: TemplateSpecialToken].self, forKey: .specialTokens) ?? [:])
        case "Sequence": self = .sequence(try c.decode([PostProcessorConfig].self, forKey: .processors))
        default: throw TokenizerError.unsupported(component: "post_processor", type: type)
        }
    }
}

/// Adds special tokens around the encoded sequence(s) and fixes up type ids and offsets.
protocol PostProcessor: Sendable {
    /// How many tokens `process` adds (used to leave room when truncating).
    func addedTokens(isPair: Bool) -> Int
    /// Processes 1 or 2 encodings in place; the results are concatenated by the caller.
    func process(_ encodings: inout [Encoding], addSpecialTokens: Bool)
}

func makePostProcessor(_ config: PostProcessorConfig) throws -> any PostProcessor {
    switch config {
    case let .bert(sep, cls): return BertPostProcessor(sep: sep, cls: cls)
    case let .roberta(sep, cls, trim, prefix): return RobertaPostProcessor(sep: sep, cls: cls, trimOffsets: trim, addPrefixSpace: prefix)
    case let .byteLevel(trim, prefix): return ByteLevelPostProcessor(trimOffsets: trim, addPrefixSpace: prefix)
    case let .template(single, pair, specials):
        for piece in single + pair {
            if case .special(let name, _) = piece, specials[name] == nil {
                throw TokenizerError.invalidConfig(path: "post_processor", reason: "template special token \"\(name)\" is missing from special_tokens")
            }
        }
        return TemplatePostProcessor(single: single, pair: pair, specialTokens: specials)
    case .sequence(let list): return SequencePostProcessor(processors: try list.map(makePostProcessor))
    }
}

/// `[CLS] A [SEP]` and `B [SEP]` with type id 1.
struct BertPostProcessor: PostProcessor {
    let sep: (String, Int), cls: (String, Int)
    func addedTokens(isPair: Bool) -> Int { isPair ? 3 : 2 }
    func process(_ encodings: inout [Encoding], addSpecialTokens: Bool) {
        guard addSpecialTokens else { return }
        for i in encodings.indices {
            if i == 0 { encodings[i].wrap(before: cls, after: sep, typeID: 0, sequence: 0) } else { encodings[i].wrap(before: nil, after: sep, typeID: 1, sequence: 1) }
        }
    }
}

/// `<s> A </s>` and `</s> B </s>`, every type id 0; optionally trims whitespace from offsets.
struct RobertaPostProcessor: PostProcessor {
    let sep: (String, Int), cls: (String, Int)
    let trimOffsets: Bool, addPrefixSpace: Bool
    func addedTokens(isPair: Bool) -> Int { isPair ? 4 : 2 }
    func process(_ encodings: inout [Encoding], addSpecialTokens: Bool) {
        if trimOffsets { for i in encodings.indices { trimByteLevelOffsets(&encodings[i], addPrefixSpace: addPrefixSpace) } }
        for i in encodings.indices { encodings[i].setTypeIDs(0) }
        guard addSpecialTokens else { return }
        for i in encodings.indices {
            encodings[i].wrap(before: i == 0 ? cls : sep, after: sep, typeID: 0, sequence: i)
        }
    }
}

/// Byte-level offset trimming: offsets stop covering the leading/trailing spaces (`Ġ`) of a token.
struct ByteLevelPostProcessor: PostProcessor {
    let trimOffsets: Bool, addPrefixSpace: Bool
    func addedTokens(isPair: Bool) -> Int { 0 }
    func process(_ encodings: inout [Encoding], addSpecialTokens: Bool) {
        guard trimOffsets else { return }
        for i in encodings.indices { trimByteLevelOffsets(&encodings[i], addPrefixSpace: addPrefixSpace) }
    }
}

func trimByteLevelOffsets(_ e: inout Encoding, addPrefixSpace: Bool) {
    let spaceSymbol = ByteLevelTable.byteToScalar[32]
    func isSpace(_ s: Unicode.Scalar) -> Bool { s.value == spaceSymbol || s.properties.isWhitespace }
    for i in 0..<e.count {
        // Fast reject: both ends printable ASCII (neither whitespace nor the Ġ symbol).
        let utf8 = e.tokens[i].utf8
        if let f = utf8.first, let l = utf8.last, f > 32, f < 128, l > 32, l < 128 { continue }
        let scalars = e.tokens[i].unicodeScalars
        guard let first = scalars.first, let last = scalars.last, isSpace(first) || isSpace(last) else { continue }
        var leading = 0
        for s in scalars { if isSpace(s) { leading += 1 } else { break } }
        var trailing = 0
        for s in scalars.reversed() { if isSpace(s) { trailing += 1 } else { break } }
        var lo = e.offsets[i].lowerBound, hi = e.offsets[i].upperBound
        if leading > 0 {
            let isFirst = i == 0 || lo == 0
            if !(isFirst && addPrefixSpace && leading == 1) { lo = min(lo + leading, hi) }
        }
        if trailing > 0 && hi >= trailing { hi = max(hi - trailing, lo) }
        e.offsets[i] = lo..<hi
    }
}

/// HF TemplateProcessing: `single`/`pair` templates of sequences and special tokens.
struct TemplatePostProcessor: PostProcessor {
    let single: [TemplatePiece], pair: [TemplatePiece]
    let specialTokens: [String: TemplateSpecialToken]

    func addedTokens(isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { n, p in
            if case .special(let name, _) = p { return n + (specialTokens[name]?.ids.count ?? 0) }
            return n
        }
    }

    func process(_ encodings: inout [Encoding], addSpecialTokens: Bool) {
        let template = encodings.count > 1 ? pair : single
        // Fast path: at most one special token on each side of a single sequence.
        if encodings.count == 1, let k = template.firstIndex(where: { if case .sequence = $0 { return true } else { return false } }),
           k <= 1, template.count - k - 1 <= 1, case let .sequence(_, typeID) = template[k] {
            func one(_ p: TemplatePiece?) -> (String, Int)?? {
                guard let p else { return .some(nil) }
                guard case let .special(name, _) = p, let sp = specialTokens[name] else { return nil }
                if !addSpecialTokens || sp.ids.isEmpty { return .some(nil) }
                if sp.ids.count != 1 { return nil }
                return .some((sp.tokens[0], sp.ids[0]))
            }
            if let before = one(k == 1 ? template[0] : nil), let after = one(k + 1 < template.count ? template[k + 1] : nil),
               (before == nil || template[0].specialTypeID == typeID), (after == nil || template[k + 1].specialTypeID == typeID) {
                encodings[0].wrap(before: before, after: after, typeID: typeID, sequence: 0)
                return
            }
        }
        var out = Encoding(reservingCapacity: encodings.reduce(0) { $0 + $1.count } + 4)
        for piece in template {
            switch piece {
            case let .sequence(index, typeID):
                guard index < encodings.count else { continue }
                var e = encodings[index]
                e.setTypeIDs(typeID)
                e.sequenceIDs = [Int?](repeating: index, count: e.count)
                out.append(contentsOf: e)
            case let .special(name, typeID):
                guard addSpecialTokens, let sp = specialTokens[name] else { continue }
                for (id, tok) in zip(sp.ids, sp.tokens) {
                    out.append(id: id, typeID: typeID, token: tok, offset: 0..<0, special: true, sequence: nil)
                }
            }
        }
        encodings = [out]
    }
}

extension TemplatePiece {
    var specialTypeID: Int? { if case let .special(_, t) = self { return t } else { return nil } }
}

struct SequencePostProcessor: PostProcessor {
    let processors: [any PostProcessor]
    func addedTokens(isPair: Bool) -> Int { processors.reduce(0) { $0 + $1.addedTokens(isPair: isPair) } }
    func process(_ encodings: inout [Encoding], addSpecialTokens: Bool) {
        for p in processors { p.process(&encodings, addSpecialTokens: addSpecialTokens) }
    }
}
