import Foundation
import Hummingbird
import Quiver

/// `POST /v1/rerank`, in the shape of the Cohere, Jina and TEI-style rerank APIs.
///
/// Request: `model` (a cross-encoder: catalog name, hub id or folder), `query`, `documents`
/// (strings, or objects with a `text` field), `top_n` (default: all), `return_documents`
/// (default false). Response: `{"model": name, "results": [{"index": i, "relevance_score": s,
/// "document": {"text": ...}}], "usage": {"total_tokens": n}}`, best first; `relevance_score` is
/// sentence-transformers' `CrossEncoder.predict` score (sigmoid of the logit).
///
/// The pairs are tokenized in the request; their forward passes go through the cross-encoder's
/// `EmbeddingBatcher` (shared with concurrent rerank requests for the same model, with the same
/// token budget, wait and queue limit as the embedding models), or run by the request alone when
/// batching is off.
struct RerankController: Sendable {
    let rerankers: RerankerCache
    let metrics: ServerMetrics
    let configuration: ServerConfiguration
    private let batchers = BatcherRegistry<TokenPair>()

    init(rerankers: RerankerCache, metrics: ServerMetrics, configuration: ServerConfiguration) {
        self.rerankers = rerankers
        self.metrics = metrics
        self.configuration = configuration
    }

    static let knownFields: Set<String> = ["model", "query", "documents", "top_n", "return_documents", "max_chunks_per_doc", "rank_fields"]

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/v1/rerank") { request, _ in try await self.rerank(request) }
    }

    func rerank(_ request: Request) async throws -> Response {
        let body = try JSONBody(bytes: try await request.bodyBytes(limit: configuration.maxBodyBytes))
        if let unknown = body.object.keys.sorted().first(where: { !Self.knownFields.contains($0) }) {
            throw APIError.badRequest("unrecognized request argument '\(unknown)' (accepted: model, query, documents, top_n, return_documents)", param: unknown)
        }
        guard let model = try body.string("model", required: true), !model.isEmpty else {
            throw APIError.badRequest("'model' must not be empty (a cross-encoder, e.g. \"cross-encoder/ms-marco-MiniLM-L6-v2\")", param: "model")
        }
        guard let query = try body.string("query", required: true) else { throw APIError.badRequest("missing 'query'", param: "query") }
        guard let raw = body.object["documents"] as? [Any] else {
            throw APIError.badRequest("'documents' must be an array of strings (or of objects with a 'text' field)", param: "documents")
        }
        var documents: [String] = []
        for (i, d) in raw.enumerated() {
            if let s = d as? String { documents.append(s) }
            else if let o = d as? [String: Any], let s = o["text"] as? String { documents.append(s) }
            else { throw APIError.badRequest("documents[\(i)] must be a string or an object with a 'text' string, got \(JSONBody.typeName(d))", param: "documents") }
        }
        if documents.count > configuration.maxInputs {
            throw APIError.badRequest("'documents' has \(documents.count) items, more than this server's limit of \(configuration.maxInputs) (quiver serve --max-inputs)", param: "documents")
        }
        let topN = try body.int("top_n") ?? documents.count
        guard topN >= 1 else { throw APIError.badRequest("'top_n' must be at least 1, got \(topN)", param: "top_n") }
        var returnDocuments = false
        if body.has("return_documents") {
            guard let b = body.object["return_documents"], JSONBody.isBool(b), let v = b as? Bool else {
                throw APIError.badRequest("'return_documents' must be true or false", param: "return_documents")
            }
            returnDocuments = v
        }
        let reranker = try await rerankers.reranker(for: model)
        let (scores, tokens) = try await score(query: query, documents: documents, with: reranker)
        let ranked = CrossEncoder.ranked(scores)
        var items: [String] = []
        for r in ranked.prefix(topN) {
            var s = "{\"index\": \(r.index), \"relevance_score\": \(JSONText.number(r.score))"
            if returnDocuments { s += ", \"document\": {\"text\": \(JSONText.string(documents[r.index]))}" }
            items.append(s + "}")
        }
        return JSONText.response("{\"model\": \(JSONText.string(reranker.modelName)), \"results\": [" + items.joined(separator: ", ")
                                 + "], \"usage\": {\"total_tokens\": \(tokens)}}")
    }
}

extension RerankController {
    /// The score of each document against `query` (in order) and the pairs' token count.
    /// - Throws: `APIError` 503 `server_busy` when the model's queue is full; the model's errors.
    func score(query: String, documents: [String], with reranker: CrossEncoder) async throws -> (scores: [Float], tokens: Int) {
        let threads = configuration.threads
        // Tokenizing is cheap next to the pass; many pairs go to a worker thread.
        let tokenize: @Sendable () -> [TokenPair] = {
            documents.map { let e = reranker.tokenize(query: query, document: $0); return TokenPair(ids: e.ids, typeIDs: e.typeIDs) }
        }
        let pairs = documents.count > 32 ? try await runBlocking(tokenize) : tokenize()
        let tokens = pairs.reduce(0) { $0 + $1.tokenCount }
        guard configuration.batching.enabled else {
            let scores = try await runBlocking { try reranker.scores(tokenized: pairs.map { ($0.ids, $0.typeIDs) }, threads: threads) }
            return (scores, tokens)
        }
        let (options, metrics) = (configuration.batching, self.metrics)
        let batcher = await batchers.batcher(for: reranker.modelName) {
            EmbeddingBatcher(model: reranker.modelName, options: options, metrics: metrics) { pairs in
                try reranker.scores(tokenized: pairs.map { ($0.ids, $0.typeIDs) }, threads: threads).map { [$0] }
            }
        }
        let scores = try await ClientConnection.cancellingOnDisconnect { try await batcher.embed(tokenIDs: pairs) }.map { $0[0] }
        return (scores, tokens)
    }
}

/// Cross-encoders loaded on first use and kept for the life of the server.
actor RerankerCache {
    private let home: ModelHome
    private var loaded: [String: CrossEncoder] = [:]

    init(home: ModelHome) { self.home = home }

    func reranker(for name: String) async throws -> CrossEncoder {
        if let e = loaded[name] { return e }
        let home = self.home
        let e: CrossEncoder
        do { e = try await runBlocking { try CrossEncoder(model: name, home: home) } } catch {
            throw ModelCache.apiError(error, requested: name)
        }
        loaded[name] = e
        return e
    }
}
