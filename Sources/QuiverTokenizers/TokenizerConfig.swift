import Foundation

/// A whole tokenizer.json (Hugging Face `tokenizers` format). Unknown keys are ignored.
public struct TokenizerConfig: Decodable, Sendable {
    /// The file's `truncation` section (nil: none).
    public var truncation: Truncation?
    /// The file's `padding` section (nil: none).
    public var padding: Padding?
    /// `added_tokens`.
    public var addedTokens: [AddedToken]
    /// Pipeline stages; nil where the file has `null`.
    public var normalizer: NormalizerConfig?
    /// How the normalized text is split into words before the model runs (`pre_tokenizer`); nil: the whole text is one word.
    public var preTokenizer: PreTokenizerConfig?
    /// The subword model that turns each word into tokens (`model`: WordPiece, BPE or Unigram); required.
    public var model: ModelConfig
    /// Adds the special tokens and type ids around the encoded sequence(s) (`post_processor`); nil adds none.
    public var postProcessor: PostProcessorConfig?
    /// Turns token strings back into text for ``Tokenizer/decode(_:skipSpecialTokens:)`` (`decoder`); nil joins them with spaces.
    public var decoder: DecoderConfig?

    enum CodingKeys: String, CodingKey {
        case truncation, padding, normalizer, model, decoder
        case addedTokens = "added_tokens", preTokenizer = "pre_tokenizer", postProcessor = "post_processor"
    }

    /// A configuration built in code (for example by `CLIPTokenizer`).
    public init(truncation: Truncation? = nil, padding: Padding? = nil, addedTokens: [AddedToken] = [], normalizer: NormalizerConfig? = nil,
                preTokenizer: PreTokenizerConfig? = nil, model: ModelConfig, postProcessor: PostProcessorConfig? = nil, decoder: DecoderConfig? = nil) {
        self.truncation = truncation; self.padding = padding; self.addedTokens = addedTokens; self.normalizer = normalizer
        self.preTokenizer = preTokenizer; self.model = model; self.postProcessor = postProcessor; self.decoder = decoder
    }

    /// Decodes the top-level sections; `model` is required, the others may be missing or `null`.
    /// Prefer ``init(contentsOf:)`` or ``init(data:source:)``, which map decoding failures to `TokenizerError`
    /// and re-read vocabularies whose keys Swift's dictionary merged.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        truncation = try c.decodeIfPresent(Truncation.self, forKey: .truncation)
        padding = try c.decodeIfPresent(Padding.self, forKey: .padding)
        addedTokens = try c.decodeIfPresent([AddedToken].self, forKey: .addedTokens) ?? []
        normalizer = try c.decodeIfPresent(NormalizerConfig.self, forKey: .normalizer)
        preTokenizer = try c.decodeIfPresent(PreTokenizerConfig.self, forKey: .preTokenizer)
        model = try c.decode(ModelConfig.self, forKey: .model)
        postProcessor = try c.decodeIfPresent(PostProcessorConfig.self, forKey: .postProcessor)
        self.decoder = try c.decodeIfPresent(DecoderConfig.self, forKey: .decoder)
    }

    /// Reads and decodes a tokenizer.json file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        try self.init(data: data, source: url.path)
    }

    /// Decodes tokenizer.json content; `source` names it in error messages.
    public init(data: Data, source: String = "<data>") throws {
        do {
            self = try JSONDecoder().decode(TokenizerConfig.self, from: data)
            if let v = model.vocabulary, v.hasMissingIDs { try rereadVocabulary(data, source: source) }
        } catch let e as TokenizerError {
            throw e
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw TokenizerError.invalidConfig(path: source, reason: "missing key \"\(key.stringValue)\" at \(Self.path(ctx.codingPath))")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw TokenizerError.invalidConfig(path: source, reason: "wrong type at \(Self.path(ctx.codingPath)): \(ctx.debugDescription)")
        } catch let DecodingError.valueNotFound(_, ctx) {
            throw TokenizerError.invalidConfig(path: source, reason: "null value at \(Self.path(ctx.codingPath))")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw TokenizerError.invalidConfig(path: source, reason: "\(ctx.debugDescription) at \(Self.path(ctx.codingPath))")
        } catch {
            throw TokenizerError.invalidConfig(path: source, reason: "\(error)")
        }
    }

    /// Re-reads `model.vocab` with exact keys (see `Vocabulary`).
    private mutating func rereadVocabulary(_ data: Data, source: String) throws {
        let root: ExactJSON.Value
        do { root = try ExactJSON.parse(data) } catch let e as ExactJSON.ParseError {
            throw TokenizerError.invalidConfig(path: source, reason: "\(e.message) at byte \(e.offset)")
        }
        guard case .object(let members)? = root["model"]?["vocab"] else { return }
        var pairs: [(String, Int)] = []
        pairs.reserveCapacity(members.count)
        for member in members {
            let key = member.key
            guard case .number(let n) = member.value, let id = Int(exactly: n) else {
                throw TokenizerError.invalidConfig(path: source, reason: "model.vocab[\"\(key)\"] is not an integer id")
            }
            pairs.append((key, id))
        }
        model.setVocabulary(Vocabulary(pairs: pairs))
    }

    private static func path(_ p: [CodingKey]) -> String {
        p.isEmpty ? "top level" : p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
