import Foundation
import QuiverModels
import QuiverTensor
import QuiverTokenizers

/// Scores (query, document) pairs with a cross-encoder (a `BertForSequenceClassification`
/// reranker such as cross-encoder/ms-marco-MiniLM-L6-v2, or an
/// `XLMRobertaForSequenceClassification` one such as BAAI/bge-reranker-base), as
/// sentence-transformers' `CrossEncoder.predict` does: the pair is tokenized together by the
/// model's tokenizer (BERT: `[CLS] query [SEP] document [SEP]`, token types 0 and 1; XLM-R:
/// `<s> query </s></s> document </s>`), truncated longest-first to `maxLength` tokens, and the
/// classifier's logit goes through a sigmoid (one label; more labels give the logits of label 0).
///
/// Thread-safe; reuse one instance.
public final class CrossEncoder: Sendable {
    /// The model's name (or folder).
    public let modelName: String
    /// Longest pair in tokens (special tokens included); longer pairs are truncated.
    public let maxLength: Int
    private let model: any SequenceClassifier
    private let tokenizer: Tokenizer

    /// Loads a cross-encoder by catalog name, hub id or folder path from `home`.
    /// - Throws: `QuiverError.modelNotInstalled`, the loaders' errors naming the file.
    public convenience init(model name: String, home: ModelHome = .fromEnvironment()) throws {
        let resolved = try home.installedModel(name)
        try self.init(folder: resolved.folder, name: resolved.entry.name)
    }

    /// Loads a Hugging Face folder (config.json with `BertForSequenceClassification` or
    /// `XLMRobertaForSequenceClassification`, model.safetensors, tokenizer.json).
    /// - Throws: `QuiverError.unsupportedModel` for another architecture; loader errors naming the file.
    public init(folder: URL, name: String? = nil, maxLength: Int? = nil) throws {
        modelName = name ?? folder.path
        if let data = FileManager.default.contents(atPath: folder.appendingPathComponent("config.json").path),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let architectures = object["architectures"] as? [String],
           !architectures.contains(where: SequenceClassifiers.supported.contains) {
            throw QuiverError.unsupportedModel(name: modelName, reason: "a cross-encoder must be \(SequenceClassifiers.supported.joined(separator: " or ")); \(folder.path)/config.json says \(architectures.joined(separator: ", "))")
        }
        model = try SequenceClassifiers.load(folder: folder)
        var tok = try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        tok.padding = nil
        let limit = min(maxLength ?? Self.modelMaxLength(folder) ?? 512, model.maxSequenceLength)
        tok.truncation = Truncation(maxLength: limit)
        tokenizer = tok
        self.maxLength = limit
    }

    /// `model_max_length` of tokenizer_config.json (when it is a real limit).
    static func modelMaxLength(_ folder: URL) -> Int? {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("tokenizer_config.json").path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let n = (object["model_max_length"] as? NSNumber)?.intValue, n > 0, n < 1_000_000 else { return nil }
        return n
    }

    /// The token ids and token types of a pair, as the model sees it.
    public func tokenize(query: String, document: String) -> (ids: [Int], typeIDs: [Int]) {
        let e = tokenizer.encode(query, pair: document)
        return (e.ids, e.typeIDs)
    }

    /// Raw logits (`num_labels` each) of the pairs.
    public func logits(_ pairs: [(query: String, document: String)], threads: Int? = nil) throws -> [[Float]] {
        try logits(tokenized: pairs.map { tokenize(query: $0.query, document: $0.document) }, threads: threads)
    }

    /// Raw logits (`num_labels` each) of pairs already tokenized with ``tokenize(query:document:)``.
    /// - Throws: `ModelsError` for an invalid id or a pair that is too long.
    public func logits(tokenized encodings: [(ids: [Int], typeIDs: [Int])], threads: Int? = nil) throws -> [[Float]] {
        let batch = TokenBatch(encodings.map(\.ids))
        try batch.validate(vocabularySize: model.vocabularySize, maxLength: model.maxSequenceLength)
        // Sequences split over the workers, 16 per forward pass.
        let chunks = Parallel.split(encodings.count, parts: max(1, (encodings.count + 15) / 16))
        let results = Locked<[[Float]]>(Array(repeating: [], count: encodings.count))
        Parallel.forEach(chunks.count, threads: threads ?? Parallel.defaultThreads) { ci in
            let range = chunks[ci]
            guard !range.isEmpty else { return }
            let part = TokenBatch(range.map { encodings[$0].ids })
            let types = range.flatMap { encodings[$0].typeIDs.map(Int32.init) }
            let out = model.logits(part, typeIDs: types, workspace: Workspace())
            results.withLock { r in for (k, i) in range.enumerated() { r[i] = out[k] } }
        }
        return results.withLock { $0 }
    }

    /// Relevance scores of the pairs (sigmoid of the first logit), as `CrossEncoder.predict`.
    public func scores(_ pairs: [(query: String, document: String)], threads: Int? = nil) throws -> [Float] {
        try logits(pairs, threads: threads).map(score)
    }

    /// Relevance scores of pairs already tokenized with ``tokenize(query:document:)`` (the server
    /// tokenizes in the request and batches the passes across requests).
    public func scores(tokenized encodings: [(ids: [Int], typeIDs: [Int])], threads: Int? = nil) throws -> [Float] {
        try logits(tokenized: encodings, threads: threads).map(score)
    }

    /// The score of one pair's logits: sigmoid of the logit for one label, else the first logit.
    private func score(_ logits: [Float]) -> Float {
        model.labels == 1 ? 1 / (1 + Foundation.exp(-logits[0])) : logits[0]
    }

    /// Scores `documents` against `query`; returns the document indexes with their scores, best first.
    public func rerank(query: String, documents: [String], threads: Int? = nil) throws -> [(index: Int, score: Float)] {
        Self.ranked(try scores(documents.map { (query, $0) }, threads: threads))
    }

    /// The indexes of `scores` with their scores, best first (ties in index order).
    public static func ranked(_ scores: [Float]) -> [(index: Int, score: Float)] {
        scores.enumerated().map { (index: $0.offset, score: $0.element) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.index < $1.index }
    }
}

/// A value guarded by a lock (for results filled in by worker threads).
final class Locked<State>: @unchecked Sendable {
    private var state: State
    private let lock = NSLock()
    init(_ s: State) { state = s }
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(&state)
    }
}
