import Foundation
import Quiver

/// The server's text embedding: models from the `ModelCache`, texts tokenized in the request's own
/// task, forward passes through the model's `EmbeddingBatcher` (shared with concurrent requests),
/// or run by the request alone when batching is off (`BatchingOptions.enabled`).
///
/// Used by `/v1/embeddings`, the text query of `/api/search` and the text queries of Milvus gRPC
/// searches.
struct TextEmbeddings: Sendable {
    let models: ModelCache
    let batchers: EmbeddingBatchers
    let configuration: ServerConfiguration

    init(models: ModelCache, metrics: ServerMetrics, configuration: ServerConfiguration) {
        self.models = models
        self.configuration = configuration
        self.batchers = EmbeddingBatchers(options: configuration.batching, threads: configuration.threads, metrics: metrics)
    }

    /// Vectors (in order) and the token count (after truncation, special tokens included) of `texts`.
    /// - Throws: `QuiverError.unknownPrompt` and the prompt errors of `TextEmbedder.encode`;
    ///   `APIError` 503 `server_busy` when the model's queue is full; `CancellationError`.
    func embed(_ texts: [String], with embedder: TextEmbedder, inputType: TextInputType? = nil,
               promptName: String? = nil) async throws -> (vectors: [[Float]], tokens: Int) {
        // Tokenizing is cheap next to the pass; many texts go to a worker thread (encodeBatch
        // then uses every core) so that they do not hold a cooperative thread.
        let ids: [[Int]]
        if texts.count > 32 {
            ids = try await runBlocking { try embedder.encode(texts, truncate: true, inputType: inputType, promptName: promptName).ids }
        } else {
            ids = try embedder.encode(texts, truncate: true, inputType: inputType, promptName: promptName).ids
        }
        let tokens = ids.reduce(0) { $0 + $1.count }
        guard configuration.batching.enabled else {
            let threads = configuration.threads
            // Passes of 256 texts bound the memory of one forward pass (as `quiver embed` does);
            // a client that goes away stops the rest.
            let vectors = try await ClientConnection.cancellingOnDisconnect {
                var vectors: [[Float]] = []
                vectors.reserveCapacity(ids.count)
                for start in stride(from: 0, to: ids.count, by: 256) {
                    try Task.checkCancellation()
                    let part = Array(ids[start..<min(ids.count, start + 256)])
                    vectors += try await runBlocking { try embedder.embed(tokenIDs: part, threads: threads) }
                }
                return vectors
            }
            return (vectors, tokens)
        }
        let batcher = await batchers.batcher(for: embedder)
        // Its texts leave the queue if the client goes away while they wait.
        return (try await ClientConnection.cancellingOnDisconnect { try await batcher.embed(tokenIDs: ids) }, tokens)
    }
}

/// One `EmbeddingBatcher` per loaded model, made on first use.
struct EmbeddingBatchers: Sendable {
    private let options: BatchingOptions
    private let threads: Int?
    private let metrics: ServerMetrics
    private let registry = BatcherRegistry<[Int]>()

    init(options: BatchingOptions, threads: Int?, metrics: ServerMetrics) {
        self.options = options
        self.threads = threads
        self.metrics = metrics
    }

    /// The batcher of `embedder`'s model (by its name).
    func batcher(for embedder: TextEmbedder) async -> EmbeddingBatcher<[Int]> {
        let (options, threads, metrics) = (self.options, self.threads, self.metrics)
        return await registry.batcher(for: embedder.modelName) {
            EmbeddingBatcher(model: embedder.modelName, options: options, metrics: metrics) {
                try embedder.embed(tokenIDs: $0, threads: threads)
            }
        }
    }
}
