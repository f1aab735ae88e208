/// BPE merges as tokenizer.json writes them: `"a b"` strings (older files) or `["a", "b"]` pairs.
public struct MergeList: Decodable, Sendable {
    /// The merges in rank order (first = applied first).
    public var pairs: [(String, String)]

    /// Merges from pairs in rank order.
    public init(pairs: [(String, String)]) { self.pairs = pairs }

    /// Decodes the `merges` array, accepting both forms.
    /// - Throws: `DecodingError.dataCorrupted` naming the merge number when a string has no space or a pair does not have two symbols.
    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        var pairs: [(String, String)] = []
        if let n = c.count { pairs.reserveCapacity(n) }
        while !c.isAtEnd {
            if let s = try? c.decode(String.self) {
                guard let space = s.firstIndex(of: " ") else {
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "merge #\(pairs.count) \"\(s)\" has no space between its two symbols")
                }
                pairs.append((String(s[..<space]), String(s[s.index(after: space)...])))
            } else {
                let p = try c.decode([String].self)
                guard p.count == 2 else {
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "merge #\(pairs.count) has \(p.count) symbols, expected 2")
                }
                pairs.append((p[0], p[1]))
            }
        }
        self.pairs = pairs
    }
}

/// One Unigram vocabulary entry `[piece, score]`.
public struct UnigramPiece: Decodable, Sendable {
    /// The piece text and its log-probability.
    public var piece: String
    /// Log-probability of the piece; segmentation maximizes the sum over the pieces.
    public var score: Double
    /// A piece and its score.
    public init(piece: String, score: Double) { self.piece = piece; self.score = score }
    /// Decodes a `[piece, score]` array.
    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        piece = try c.decode(String.self)
        score = try c.decode(Double.self)
    }
}

/// The `model` section of tokenizer.json.
public enum ModelConfig: Decodable, Sendable {
    /// `WordPiece` (BERT): greedy longest-match-first pieces; continuation pieces carry `continuingSubwordPrefix` (`##`);
    /// a word with no segmentation, or longer than `maxInputCharsPerWord` characters, becomes `unkToken`.
    case wordPiece(vocab: Vocabulary, unkToken: String, continuingSubwordPrefix: String, maxInputCharsPerWord: Int)
    /// `BPE` (GPT-2, RoBERTa, CLIP): merges symbol pairs in rank order.
    case bpe(BPEConfig)
    /// `Unigram` (SentencePiece, e.g. T5, XLM-R): the segmentation with the highest total piece score (Viterbi); pieces
    /// not in the vocabulary map to `unkID`, or to `<0xXX>` byte pieces with `byteFallback`.
    case unigram(vocab: [UnigramPiece], unkID: Int?, byteFallback: Bool)

    /// BPE settings (HF key names in the coding keys).
    public struct BPEConfig: Decodable, Sendable {
        /// Token → id.
        public var vocab: Vocabulary
        /// Merge rules in rank order.
        public var merges: MergeList
        /// Token for characters not in the vocabulary (nil: such characters are dropped).
        public var unkToken: String?
        /// Prefix of non-initial symbols (e.g. `##`).
        public var continuingSubwordPrefix: String?
        /// Suffix of a word's last symbol (e.g. CLIP's `</w>`).
        public var endOfWordSuffix: String?
        /// Merge consecutive unknown characters into one unk token.
        public var fuseUnk: Bool
        /// Unknown characters become `<0xXX>` byte tokens when those exist.
        public var byteFallback: Bool
        /// Take a whole word from the vocabulary before merging.
        public var ignoreMerges: Bool
        /// Read but ignored: encoding is deterministic (no dropout), as at inference time.
        public var dropout: Double?

        enum CodingKeys: String, CodingKey {
            case vocab, merges, dropout
            case unkToken = "unk_token", continuingSubwordPrefix = "continuing_subword_prefix", endOfWordSuffix = "end_of_word_suffix"
            case fuseUnk = "fuse_unk", byteFallback = "byte_fallback", ignoreMerges = "ignore_merges"
        }

        /// BPE settings.
        public init(vocab: Vocabulary, merges: MergeList, unkToken: String? = nil, continuingSubwordPrefix: String? = nil,
                    endOfWordSuffix: String? = nil, fuseUnk: Bool = false, byteFallback: Bool = false, ignoreMerges: Bool = false) {
            self.vocab = vocab; self.merges = merges; self.unkToken = unkToken
            self.continuingSubwordPrefix = continuingSubwordPrefix; self.endOfWordSuffix = endOfWordSuffix
            self.fuseUnk = fuseUnk; self.byteFallback = byteFallback; self.ignoreMerges = ignoreMerges
        }

        /// Decodes a BPE `model` object (`vocab` required; `merges` default empty, flags default false, `dropout` read but not applied).
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            vocab = try c.decode(Vocabulary.self, forKey: .vocab)
            merges = try c.decodeIfPresent(MergeList.self, forKey: .merges) ?? MergeList(pairs: [])
            unkToken = try c.decodeIfPresent(String.self, forKey: .unkToken)
            continuingSubwordPrefix = try c.decodeIfPresent(String.self, forKey: .continuingSubwordPrefix)
            endOfWordSuffix = try c.decodeIfPresent(String.self, forKey: .endOfWordSuffix)
            fuseUnk = try c.decodeIfPresent(Bool.self, forKey: .fuseUnk) ?? false
            byteFallback = try c.decodeIfPresent(Bool.self, forKey: .byteFallback) ?? false
            ignoreMerges = try c.decodeIfPresent(Bool.self, forKey: .ignoreMerges) ?? false
            dropout = try c.decodeIfPresent(Double.self, forKey: .dropout)
        }
    }

    enum CodingKeys: String, CodingKey {
        case type, vocab, merges
        case unkToken = "unk_token", continuingSubwordPrefix = "continuing_subword_prefix"
        case maxInputCharsPerWord = "max_input_chars_per_word", unkID = "unk_id", byteFallback = "byte_fallback"
    }

    /// Decodes the `model` object by its `type` (`WordPiece`, `BPE`, `Unigram`); without a `type`, a model with
    /// `merges` is BPE, one whose `vocab` is a list of `[piece, score]` is Unigram, else WordPiece.
    /// - Throws: `TokenizerError.unsupported` for another `type`; `DecodingError` for a missing or mistyped field.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var type = try c.decodeIfPresent(String.self, forKey: .type)
        if type == nil {
            if c.contains(.merges) { type = "BPE" } else if (try? c.decode([UnigramPiece].self, forKey: .vocab)) != nil { type = "Unigram" } else { type = "WordPiece" }
        }
        switch type! {
        case "WordPiece":
            self = .wordPiece(vocab: try c.decode(Vocabulary.self, forKey: .vocab),
                              unkToken: try c.decodeIfPresent(String.self, forKey: .unkToken) ?? "[UNK]",
                              continuingSubwordPrefix: try c.decodeIfPresent(String.self, forKey: .continuingSubwordPrefix) ?? "##",
                              maxInputCharsPerWord: try c.decodeIfPresent(Int.self, forKey: .maxInputCharsPerWord) ?? 100)
        case "BPE": self = .bpe(try BPEConfig(from: decoder))
        case "Unigram":
            self = .unigram(vocab: try c.decode([UnigramPiece].self, forKey: .vocab),
                            unkID: try c.decodeIfPresent(Int.self, forKey: .unkID),
                            byteFallback: try c.decodeIfPresent(Bool.self, forKey: .byteFallback) ?? false)
        case let other: throw TokenizerError.unsupported(component: "model", type: other)
        }
    }
}

/// Where a model appends its tokens: ids and the buffer range each covers.
struct TokenSink {
    var ids: [Int32] = []
    var los: [Int32] = []
    var his: [Int32] = []
    /// Token strings that differ from the vocabulary entry (Unigram's unknown pieces), by index.
    var overrides: [Int: String] = [:]

    mutating func reserve(_ n: Int) { ids.reserveCapacity(n); los.reserveCapacity(n); his.reserveCapacity(n) }

    @inline(__always) mutating func append(_ id: Int32, _ lo: Int, _ hi: Int) {
        ids.append(id); los.append(Int32(lo)); his.append(Int32(hi))
    }
}

/// A tokenization model maps one pre-tokenized piece to vocabulary ids.
protocol TokenModel: Sendable {
    /// The vocabulary, indexed by id (holes are empty strings).
    var idToToken: [String] { get }
    func tokenize(_ buffer: TextBuffer, _ range: Range<Int>, into sink: inout TokenSink)
}

func makeModel(_ config: ModelConfig) throws -> any TokenModel {
    switch config {
    case let .wordPiece(vocab, unk, prefix, maxChars):
        return try WordPieceModel(vocab: vocab, unkToken: unk, continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars)
    case .bpe(let c): return try BPEModel(c)
    case let .unigram(vocab, unkID, byteFallback): return try UnigramModel(vocab: vocab, unkID: unkID, byteFallback: byteFallback)
    }
}

extension ModelConfig {
    /// The WordPiece/BPE vocabulary (nil for Unigram).
    var vocabulary: Vocabulary? {
        switch self {
        case let .wordPiece(vocab, _, _, _): return vocab
        case .bpe(let c): return c.vocab
        case .unigram: return nil
        }
    }

    /// Replaces the WordPiece/BPE vocabulary.
    mutating func setVocabulary(_ v: Vocabulary) {
        switch self {
        case let .wordPiece(_, unk, prefix, maxChars): self = .wordPiece(vocab: v, unkToken: unk, continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars)
        case .bpe(var c): c.vocab = v; self = .bpe(c)
        case .unigram: break
        }
    }
}

/// The `<0xXX>` byte tokens' ids (-1 where absent).
func byteFallbackIDs(_ table: ScalarTable) -> [Int32] {
    (0..<256).map { b in
        let hex = String(b, radix: 16, uppercase: true)
        return table.lookup("<0x" + (hex.count == 1 ? "0" + hex : hex) + ">") ?? -1
    }
}

@inline(__always) func utf8Bytes(_ v: UInt32) -> (count: Int, bytes: (UInt8, UInt8, UInt8, UInt8)) {
    if v < 0x80 { return (1, (UInt8(v), 0, 0, 0)) }
    if v < 0x800 { return (2, (UInt8(0xC0 | (v >> 6)), UInt8(0x80 | (v & 0x3F)), 0, 0)) }
    if v < 0x10000 { return (3, (UInt8(0xE0 | (v >> 12)), UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F)), 0)) }
    return (4, (UInt8(0xF0 | (v >> 18)), UInt8(0x80 | ((v >> 12) & 0x3F)), UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F))))
}
