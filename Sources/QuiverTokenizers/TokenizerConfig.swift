import Foundation

/// A whole tokenizer.json (Hugging Face `tokenizers` format). Unknown keys are ignored.
public struct TokenizerConfig: Decodable, Sendable {
    public var truncation: Truncation?
    public var padding: Padding?
    public var addedTokens: [AddedToken]
    public var normalizer: NormalizerConfig?
    public var preTokenizer: PreTokenizerConfig?
    public var model: ModelConfig
    public var postProcessor: PostProcessorConfig?
    public var decoder: DecoderConfig?

    enum CodingKeys: String, CodingKey {
        case truncation, padding, normalizer, model, decoder
        case addedTokens = "added_tokens", preTokenizer = "pre_tokenizer", postProcessor = "post_processor"
    }

    public init(truncation: Truncation? = nil, padding: Padding? = nil, addedTokens: [AddedToken] = [], normalizer: NormalizerConfig? = nil,
                preTokenizer: PreTokenizerConfig? = nil, model: ModelConfig, postProcessor: PostProcessorConfig? = nil, decoder: DecoderConfig? = nil) {
        self.truncation = truncation; self.padding = padding; self.addedTokens = addedTokens; self.normalizer = normalizer
        self.preTokenizer = preTokenizer; self.model = model; self.postProcessor = postProcessor; self.decoder = decoder
    }

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

    private static func path(_ p: [CodingKey]) -> String {
        p.isEmpty ? "top level" : p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
