/// One item of a TemplateProcessing template.
public enum TemplatePiece: Decodable, Sendable, Equatable {
    /// The input sequence `A` (0) or `B` (1), with its type id.
    case sequence(index: Int, typeID: Int)
    /// A special token (name looked up in `special_tokens`), with its type id.
    case special(name: String, typeID: Int)

    enum CodingKeys: String, CodingKey { case sequence = "Sequence", special = "SpecialToken" }
    enum InnerKeys: String, CodingKey { case id, typeID = "type_id" }

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
    public var id: String
    public var ids: [Int]
    public var tokens: [String]
}

/// The `post_processor` section of tokenizer.json.
public indirect enum PostProcessorConfig: Decodable, Sendable {
    case bert(sep: (String, Int), cls: (String, Int))
    case roberta(sep: (String, Int), cls: (String, Int), trimOffsets: Bool, addPrefixSpace: Bool)
    case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
    case template(single: [TemplatePiece], pair: [TemplatePiece], specialTokens: [String: TemplateSpecialToken])
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
    /// Processes 1 or 2 encodings; the results are concatenated by the caller.
    func process(_ encodings: [Encoding], addSpecialTokens: Bool) -> [Encoding]
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

private func wrap(_ e: Encoding, before: [(String, Int)], after: [(String, Int)], typeID: Int, sequence: Int) -> Encoding {
    var out = Encoding()
    for (t, id) in before { out.append(id: id, typeID: typeID, token: t, offset: 0..<0, special: true, sequence: nil) }
    var body = e
    body.setTypeIDs(typeID)
    body.sequenceIDs = [Int?](repeating: sequence, count: body.count)
    out.append(contentsOf: body)
    for (t, id) in after { out.append(id: id, typeID: typeID, token: t, offset: 0..<0, special: true, sequence: nil) }
    return out
}

/// `[CLS] A [SEP]` and `B [SEP]` with type id 1.
struct BertPostProcessor: PostProcessor {
    let sep: (String, Int), cls: (String, Int)
    func addedTokens(isPair: Bool) -> Int { isPair ? 3 : 2 }
    func process(_ encodings: [Encoding], addSpecialTokens: Bool) -> [Encoding] {
        guard addSpecialTokens else { return encodings }
        return encodings.enumerated().map { i, e in
            i == 0 ? wrap(e, before: [cls], after: [sep], typeID: 0, sequence: 0) : wrap(e, before: [], after: [sep], typeID: 1, sequence: 1)
        }
    }
}

/// `<s> A </s>` and `</s> B </s>`, every type id 0; optionally trims whitespace from offsets.
struct RobertaPostProcessor: PostProcessor {
    let sep: (String, Int), cls: (String, Int)
    let trimOffsets: Bool, addPrefixSpace: Bool
    func addedTokens(isPair: Bool) -> Int { isPair ? 4 : 2 }
    func process(_ encodings: [Encoding], addSpecialTokens: Bool) -> [Encoding] {
        var encs = encodings
        if trimOffsets { for i in encs.indices { trimByteLevelOffsets(&encs[i], addPrefixSpace: addPrefixSpace) } }
        for i in encs.indices { encs[i].setTypeIDs(0) }
        guard addSpecialTokens else { return encs }
        return encs.enumerated().map { i, e in
            i == 0 ? wrap(e, before: [cls], after: [sep], typeID: 0, sequence: 0) : wrap(e, before: [sep], after: [sep], typeID: 0, sequence: 1)
        }
    }
}

/// Byte-level offset trimming: offsets stop covering the leading/trailing spaces (`Ġ`) of a token.
struct ByteLevelPostProcessor: PostProcessor {
    let trimOffsets: Bool, addPrefixSpace: Bool
    func addedTokens(isPair: Bool) -> Int { 0 }
    func process(_ encodings: [Encoding], addSpecialTokens: Bool) -> [Encoding] {
        guard trimOffsets else { return encodings }
        var encs = encodings
        for i in encs.indices { trimByteLevelOffsets(&encs[i], addPrefixSpace: addPrefixSpace) }
        return encs
    }
}

func trimByteLevelOffsets(_ e: inout Encoding, addPrefixSpace: Bool) {
    let spaceSymbol = ByteLevelTable.byteToScalar[32]
    func isSpace(_ s: Unicode.Scalar) -> Bool { s.value == spaceSymbol || s.properties.isWhitespace }
    for i in 0..<e.count {
        let scalars = e.tokens[i].unicodeScalars
        var leading = 0
        for s in scalars { if isSpace(s) { leading += 1 } else { break } }
        var trailing = 0
        for s in scalars.reversed() { if isSpace(s) { trailing += 1 } else { break } }
        if leading == 0 && trailing == 0 { continue }
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

    func process(_ encodings: [Encoding], addSpecialTokens: Bool) -> [Encoding] {
        let template = encodings.count > 1 ? pair : single
        var out = Encoding()
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
        return [out]
    }
}

struct SequencePostProcessor: PostProcessor {
    let processors: [any PostProcessor]
    func addedTokens(isPair: Bool) -> Int { processors.reduce(0) { $0 + $1.addedTokens(isPair: isPair) } }
    func process(_ encodings: [Encoding], addSpecialTokens: Bool) -> [Encoding] {
        var e = encodings
        for p in processors { e = p.process(e, addSpecialTokens: addSpecialTokens) }
        return e
    }
}
