import Foundation
import QuiverModels
import QuiverTokenizers
import QuiverTensor

/// Numeric precision of a model's linear layers (`.float32`, the default, or `.int8`).
public typealias Precision = QuiverTensor.Precision

/// Embeds text with a sentence-transformers model (BERT or MPNet family), exactly as
/// sentence-transformers does: tokenize, truncate at `max_seq_length`, run the transformer,
/// pool (mean / cls / max / mean-sqrt-len), L2-normalize when the model says so.
///
/// Thread-safe; reuse one instance (loading maps the weights, embedding allocates only workspaces).
public final class TextEmbedder: Sendable {
    /// The model's catalog name (or the folder path it was loaded from).
    public let modelName: String
    /// Width of the vectors.
    public var dimension: Int { model.dimension }
    /// Longest token sequence the model accepts; longer texts are truncated (or rejected).
    public var maxSequenceLength: Int { model.maxSequenceLength }
    /// The precision of the model's linear layers.
    public var precision: Precision { model.precision }
    /// True when the model's own configuration L2-normalizes its embeddings.
    public var normalizesByDefault: Bool { model.normalizes }
    /// The model's prompts (instructions): from its `config_sentence_transformers.json`, completed
    /// by the catalog's query/passage prefixes (e5-small-v2, bge-small-en-v1.5).
    public let prompts: TextPrompts

    private let model: SentenceTransformer
    private let tokenizer: Tokenizer

    /// The result of `embed`: vectors in input order, and which inputs were truncated.
    public struct Result: Sendable {
        /// One vector per input text.
        public var vectors: [[Float]]
        /// Indexes of the texts that were longer than `maxSequenceLength` tokens and were cut.
        public var truncated: [Int]
        /// Tokens per input, after truncation.
        public var tokenCounts: [Int]
    }

    /// Loads a model by catalog name, hub id or folder path from `home`.
    /// - Throws: `HubError.unknownModel`, `QuiverError.modelNotInstalled` / `.unsupportedModality`,
    ///   or the loaders' errors naming the file.
    /// - Parameter precision: `.int8` for int8 linear layers (faster, cosine ≥ 0.999 to float32 on the
    ///   tested models); `.float32` (default) is the reference arithmetic.
    public convenience init(model name: String, home: ModelHome = .fromEnvironment(), precision: Precision = .float32) throws {
        let resolved = try home.installedModel(name)
        guard resolved.entry.modality == .text else {
            throw QuiverError.unsupportedModality(model: resolved.entry.name, modality: "text",
                                                  supported: [resolved.entry.modality.rawValue])
        }
        try self.init(folder: resolved.folder, name: resolved.entry.name, defaults: resolved.entry.defaults, precision: precision)
    }

    /// Loads a sentence-transformers folder (config.json, model.safetensors, tokenizer.json, modules.json...).
    /// Its prompts come from `config_sentence_transformers.json`, completed by `defaults`' query
    /// and passage prefixes (a catalog entry's); `precision` picks fp32 (exact) or int8 linear layers.
    public init(folder: URL, name: String? = nil, defaults: ModelDefaults? = nil, precision: Precision = .float32) throws {
        modelName = name ?? folder.path
        let own = try TextPrompts.load(folder: folder)
        prompts = defaults.map { own.completed(with: $0) } ?? own
        model = try SentenceTransformer(folder: folder, precision: precision)
        var tok = try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        tok.padding = nil
        tok.truncation = nil
        tokenizer = tok
    }

    /// Token ids of `text` as the model sees them (special tokens included, not truncated).
    public func tokenize(_ text: String) -> [Int] { tokenizer.encode(text).ids }

    /// A chunker cutting texts into pieces this model reads whole (see `TokenChunker`).
    public func chunker(overlap: Int = 32) -> TokenChunker {
        TokenChunker(tokenizer: tokenizer, maxTokens: maxSequenceLength, overlap: overlap)
    }

    /// Embeds `texts`.
    /// - Parameters:
    ///   - normalize: L2-normalize (default: as the model's configuration says).
    ///   - truncate: cut texts longer than `maxSequenceLength` tokens (as sentence-transformers does);
    ///     when false such a text is an error.
    ///   - threads: worker threads (default: all cores).
    ///   - inputType: query or passage: puts the model's prompt for it before each text (see
    ///     `prompts`); nil: the model's default prompt, if it has one (as sentence-transformers).
    ///   - promptName: a prompt of the model by name (wins over `inputType`).
    ///   - prompt: a literal prompt string (wins over both).
    /// - Throws: `QuiverError.textTooLong` naming the first text over the limit when `truncate` is false;
    ///   `QuiverError.unknownPrompt` for a `promptName` the model does not define.
    public func embed(_ texts: [String], normalize: Bool? = nil, truncate: Bool = true, threads: Int? = nil,
                      inputType: TextInputType? = nil, promptName: String? = nil, prompt: String? = nil) throws -> Result {
        let (ids, truncated) = try encode(texts, truncate: truncate, inputType: inputType, promptName: promptName, prompt: prompt)
        let vectors = try embed(tokenIDs: ids, normalize: normalize, threads: threads)
        return Result(vectors: vectors, truncated: truncated, tokenCounts: ids.map(\.count))
    }

    /// The token ids `embed` gives the model for `texts` (its first half: the prompt put first,
    /// special tokens added, cut at `maxSequenceLength`), for callers that tokenize in one place
    /// and run the model in another (the server tokenizes in each request and batches the
    /// forward passes of many requests).
    /// - Returns: one id sequence per text, and the indexes of the texts that were cut.
    /// - Throws: as `embed`: `QuiverError.textTooLong` when `truncate` is false, `.unknownPrompt`.
    public func encode(_ texts: [String], truncate: Bool = true, inputType: TextInputType? = nil, promptName: String? = nil,
                       prompt: String? = nil) throws -> (ids: [[Int]], truncated: [Int]) {
        let texts = try prompted(texts, inputType: inputType, promptName: promptName, prompt: prompt)
        let limit = maxSequenceLength
        // Encode one token past the limit: a longer result means the text was cut, which is then
        // re-encoded at the limit so the special tokens stay in place as the tokenizer puts them.
        var probe = tokenizer
        probe.truncation = Truncation(maxLength: limit + 1)
        var encodings = probe.encodeBatch(texts)
        var truncated: [Int] = []
        var exact = tokenizer
        exact.truncation = Truncation(maxLength: limit)
        for i in encodings.indices where encodings[i].count > limit {
            if !truncate {
                throw QuiverError.textTooLong(index: i, tokens: tokenizer.encode(texts[i]).count, limit: limit, model: modelName)
            }
            truncated.append(i)
            encodings[i] = exact.encode(texts[i])
        }
        return (encodings.map(\.ids), truncated)
    }

    /// Runs the model on token id sequences made by `encode` (the second half of `embed`); any
    /// mix of lengths (the model packs them without padding). One vector per sequence, in order.
    /// - Throws: `ModelsError.invalidTokenID` / `.sequenceTooLong` naming the sequence.
    public func embed(tokenIDs: [[Int]], normalize: Bool? = nil, threads: Int? = nil) throws -> [[Float]] {
        try model.embed(tokenIDs: tokenIDs, normalize: normalize, threads: threads ?? Parallel.defaultThreads)
    }

    /// The texts with the chosen prompt put before each (sentence-transformers prepends the
    /// prompt string before tokenizing).
    /// - Throws: `QuiverError.unknownPrompt`; `QuiverError.unsupportedModel` when a prompt would
    ///   be used with a model whose pooling excludes prompt tokens.
    public func prompted(_ texts: [String], inputType: TextInputType? = nil, promptName: String? = nil,
                         prompt: String? = nil) throws -> [String] {
        guard let p = try prompt ?? prompts.resolve(promptName: promptName, inputType: inputType, model: modelName), !p.isEmpty else {
            return texts
        }
        guard prompts.includePrompt else {
            throw QuiverError.unsupportedModel(name: modelName, reason: "its 1_Pooling/config.json sets include_prompt false (prompt tokens left out of the pooling), which Quiver does not run")
        }
        return texts.map { p + $0 }
    }

    /// Embeds texts as `Embedding` values tagged with this model.
    public func embeddings(_ texts: [String], normalize: Bool? = nil) throws -> [Embedding] {
        try embed(texts, normalize: normalize).vectors.map { Embedding(vector: $0, model: modelName, modality: .text) }
    }
}
