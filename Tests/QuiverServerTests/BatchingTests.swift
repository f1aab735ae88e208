import Foundation
import Hummingbird
import HummingbirdTesting
import Quiver
import QuiverStore
import QuiverTestSupport
import XCTest
@testable import QuiverServer

/// Batching across requests (`EmbeddingBatcher`): concurrent requests share forward passes and get
/// the vectors they would get alone; a full queue answers 503 with Retry-After; a cancelled
/// request's texts are never computed; /metrics shows the batcher's series. The batches are cut
/// by the token budget with a long wait, so what is batched together does not depend on timing.
final class BatchingTests: XCTestCase {
    static let sentences = [
        "A man is eating food.", "A man is riding a horse.", "Someone in a gorilla costume is playing a set of drums.",
        "The new movie is awesome.", "A cheetah chases prey across a field.", "Two men pushed carts through the woods.",
        "The cat sits outside.", "A woman is playing the violin.", "A monkey is playing drums.",
        "An espresso shot extracts for twenty-five seconds.", "Tomatoes need full sun.", "The rocket lifted off.",
    ]

    static func embedder() throws -> TextEmbedder {
        try TextEmbedder(model: ServerTest.model, home: ModelHome(root: TestPaths.modelHome))
    }

    static func options(maxBatchTokens: Int, maxWait: Double = 60, maxQueuedTexts: Int = 4096) -> BatchingOptions {
        var o = BatchingOptions()
        o.maxBatchTokens = maxBatchTokens
        o.maxWait = maxWait
        o.maxQueuedTexts = maxQueuedTexts
        return o
    }

    /// Largest absolute difference of two vectors (infinity when their lengths differ).
    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    struct Timeout: Error, CustomStringConvertible { var description: String }

    /// Polls `condition` every millisecond for up to 30 s.
    static func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(30)
        while try await !condition() {
            guard Date() < deadline else { throw Timeout(description: "timed out waiting until \(what)") }
            try await Task.sleep(nanoseconds: 1_000_000)
        }
    }

    // MARK: the batcher

    func testConcurrentRequestsShareOneForwardPassAndGetTheirLoneVectors() async throws {
        let embedder = try Self.embedder()
        // Eight requests of 1 to 4 sentences; the budget is their total, so the batch is cut
        // exactly when the last one has arrived (the 60 s wait never ends it).
        let requests = (0..<8).map { r in (0...(r % 4)).map { Self.sentences[(r * 3 + $0) % Self.sentences.count] } }
        let ids = try requests.map { try embedder.encode($0).ids }
        let total = ids.joined().reduce(0) { $0 + $1.count }
        let metrics = ServerMetrics()
        let batcher = EmbeddingBatcher(model: "m", options: Self.options(maxBatchTokens: total), metrics: metrics) {
            try embedder.embed(tokenIDs: $0, threads: 2)
        }
        let got = try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (i, r) in ids.enumerated() { group.addTask { (i, try await batcher.embed(tokenIDs: r)) } }
            var out: [Int: [[Float]]] = [:]
            for try await (i, v) in group { out[i] = v }
            return out
        }
        let stats = metrics.batching(model: "m")
        XCTAssertEqual(stats.batches, 1, "8 concurrent requests, one forward pass")
        XCTAssertEqual(stats.texts, requests.joined().count)
        XCTAssertEqual(stats.tokens, total)
        XCTAssertEqual(stats.queued, 0)
        for (i, texts) in requests.enumerated() {
            let alone = try embedder.embed(texts, threads: 2).vectors
            let vectors = try XCTUnwrap(got[i])
            XCTAssertEqual(vectors.count, texts.count, "request \(i)")
            for (j, v) in vectors.enumerated() {
                XCTAssertLessThanOrEqual(Self.maxDifference(v, alone[j]), 1e-6, "request \(i) text \(j)")
                XCTAssertGreaterThanOrEqual(ServerTest.cosine(v, alone[j]), 1 - 1e-6, "request \(i) text \(j)")
            }
        }
    }

    func testARequestOverTheBudgetIsSplitIntoSeveralPassesInOrder() async throws {
        let embedder = try Self.embedder()
        let texts = Self.sentences
        let ids = try embedder.encode(texts).ids
        let budget = 40
        let chunks = EmbeddingBatcher.chunks(ids, budget: budget)
        XCTAssertGreaterThan(chunks.count, 2)
        XCTAssertEqual(chunks.flatMap { Array($0) }, Array(ids.indices), "chunks cover the texts once, in order")
        for c in chunks where c.count > 1 { XCTAssertLessThanOrEqual(ids[c].reduce(0) { $0 + $1.count }, budget) }
        let metrics = ServerMetrics()
        let batcher = EmbeddingBatcher(model: "m", options: Self.options(maxBatchTokens: budget, maxWait: 0), metrics: metrics) {
            try embedder.embed(tokenIDs: $0, threads: 2)
        }
        let vectors = try await batcher.embed(tokenIDs: ids)
        XCTAssertEqual(metrics.batching(model: "m").batches, chunks.count)
        XCTAssertEqual(metrics.batching(model: "m").texts, texts.count)
        let alone = try embedder.embed(texts, threads: 2).vectors
        XCTAssertEqual(vectors.count, texts.count)
        for j in texts.indices { XCTAssertLessThanOrEqual(Self.maxDifference(vectors[j], alone[j]), 1e-6, "text \(j)") }
        // A single text longer than the budget runs alone.
        XCTAssertEqual(EmbeddingBatcher.chunks([[1, 2, 3], Array(repeating: 5, count: 50), [1]], budget: 10), [0..<1, 1..<2, 2..<3])
    }

    func testACancelledWaiterIsDroppedBeforeItsForwardPass() async throws {
        let embedder = try Self.embedder()
        let waiting = try embedder.encode(["one", "two", "three"]).ids
        let later = try embedder.encode([Self.sentences[2]]).ids
        let laterTokens = later[0].count
        XCTAssertLessThan(waiting.joined().count, laterTokens)
        // The first request is below the budget and waits (60 s); the later one fills the budget alone.
        let metrics = ServerMetrics()
        let batcher = EmbeddingBatcher(model: "m", options: Self.options(maxBatchTokens: laterTokens), metrics: metrics) {
            try embedder.embed(tokenIDs: $0, threads: 2)
        }
        let task = Task { try await batcher.embed(tokenIDs: waiting) }
        try await Self.waitUntil("the texts are queued") { await batcher.waitingTexts == 3 }
        XCTAssertEqual(metrics.batching(model: "m").queued, 3)
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("a cancelled request must not get vectors")
        } catch is CancellationError {}
        var stats = metrics.batching(model: "m")
        XCTAssertEqual(stats.batches, 0, "nothing was computed")
        XCTAssertEqual(stats.texts, 0)
        XCTAssertEqual(stats.cancelled, 3)
        XCTAssertEqual(stats.queued, 0)
        let waitingNow = await batcher.waitingTexts
        XCTAssertEqual(waitingNow, 0)
        // The batcher goes on: the next request runs, alone.
        let v = try await batcher.embed(tokenIDs: later)
        XCTAssertLessThanOrEqual(Self.maxDifference(v[0], try embedder.embed([Self.sentences[2]], threads: 2).vectors[0]), 1e-6)
        stats = metrics.batching(model: "m")
        XCTAssertEqual(stats.batches, 1)
        XCTAssertEqual(stats.texts, 1)
        XCTAssertEqual(stats.tokens, laterTokens)
    }

    func testACancelledTaskDoesNotEnterTheQueue() async throws {
        let embedder = try Self.embedder()
        let ids = try embedder.encode(["one"]).ids
        let metrics = ServerMetrics()
        let batcher = EmbeddingBatcher(model: "m", options: Self.options(maxBatchTokens: 1), metrics: metrics) {
            try embedder.embed(tokenIDs: $0, threads: 2)
        }
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await batcher.embed(tokenIDs: ids)
        }
        do {
            _ = try await task.value
            XCTFail("a cancelled request must not get vectors")
        } catch is CancellationError {}
        XCTAssertEqual(metrics.batching(model: "m").batches, 0)
    }

    // MARK: rerank

    /// Concurrent rerank requests for one cross-encoder share one forward pass (the budget is
    /// their total, so the batch is cut when the last has arrived) and get the scores they would
    /// get alone; the pairs keep their token types through the batcher.
    func testConcurrentRerankRequestsShareOneForwardPass() async throws {
        let folder = TestPaths.reference.appendingPathComponent("models/tiny-random-cross-encoder")
        let reranker = try CrossEncoder(folder: folder)
        let queries = ["a small rodent", "how do rockets fly?", "espresso"]
        let documents = Self.sentences.chunked(4)
        let tokens = zip(queries, documents).reduce(0) { sum, q in
            sum + q.1.reduce(0) { $0 + reranker.tokenize(query: q.0, document: $1).ids.count }
        }
        var config = ServerConfiguration()
        config.threads = 2
        config.batching = Self.options(maxBatchTokens: tokens)
        let metrics = ServerMetrics()
        let controller = RerankController(rerankers: RerankerCache(home: ModelHome(root: TestPaths.modelHome)), metrics: metrics,
                                          configuration: config)
        let got = try await withThrowingTaskGroup(of: (Int, [Float], Int).self) { group in
            for (i, q) in queries.enumerated() {
                group.addTask {
                    let (scores, n) = try await controller.score(query: q, documents: documents[i], with: reranker)
                    return (i, scores, n)
                }
            }
            var out: [Int: ([Float], Int)] = [:]
            for try await (i, s, n) in group { out[i] = (s, n) }
            return out
        }
        let stats = metrics.batching(model: reranker.modelName)
        XCTAssertEqual(stats.batches, 1, "3 concurrent rerank requests, one forward pass")
        XCTAssertEqual(stats.texts, documents.joined().count)
        XCTAssertEqual(stats.tokens, tokens)
        for (i, q) in queries.enumerated() {
            let alone = try reranker.scores(documents[i].map { (q, $0) }, threads: 2)
            let (scores, n) = try XCTUnwrap(got[i])
            XCTAssertEqual(n, documents[i].reduce(0) { $0 + reranker.tokenize(query: q, document: $1).ids.count })
            XCTAssertEqual(scores.count, alone.count, "request \(i)")
            for (a, b) in zip(scores, alone) { XCTAssertEqual(a, b, accuracy: 1e-6, "request \(i) (\(q))") }
        }
        // Token types matter to a BERT cross-encoder: all zeros would change the scores.
        let pair = reranker.tokenize(query: queries[0], document: documents[0][0])
        XCTAssertTrue(pair.typeIDs.contains(1), "the fixture's tokenizer marks the document with type 1")
        let zeroTypes = try reranker.scores(tokenized: [(pair.ids, pair.typeIDs.map { _ in 0 })], threads: 1)
        XCTAssertNotEqual(zeroTypes[0], try XCTUnwrap(got[0]?.0.first), "token types reach the model")
    }

    // MARK: through the HTTP server

    /// POSTs `json` on a connection of its own (the test client's connection answers in order).
    static func post(port: Int, _ uri: String, json: Any) async throws -> TestClient.Response {
        let request = TestClient.Request(uri, method: .post, headers: [.contentType: "application/json"], body: ServerTest.json(json))
        return try await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.execute(request) }
    }

    static func body(_ r: TestClient.Response) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(r.body.map { Array($0.readableBytesView) } ?? []))
        return try XCTUnwrap(value as? [String: Any], "not a JSON object")
    }

    static func metricLines(_ client: some TestClientProtocol) async throws -> Set<String> {
        let r = try await client.get("/metrics")
        return Set(String(buffer: r.body).split(separator: "\n").map(String.init))
    }

    func testFullQueueAnswers503WithRetryAfterAndTheQueuedRequestsFinish() async throws {
        let embedder = try Self.embedder()
        let first = ["alpha", "beta", "gamma"]
        let last = [Self.sentences[2]]
        let firstTokens = try embedder.encode(first).ids.joined().count
        let lastTokens = try embedder.encode(last).ids.joined().count
        // At most 4 texts wait; the budget is reached when `first` (3 texts) and `last` (1) wait.
        let server = try ServerTest.server {
            $0.batching = Self.options(maxBatchTokens: firstTokens + lastTokens, maxQueuedTexts: 4)
        }
        let model = ServerTest.model
        try await ServerTest.application(server).test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let waiting = Task { try await Self.post(port: port, "/v1/embeddings", json: ["model": model, "input": first]) }
            try await Self.waitUntil("3 texts wait") {
                try await Self.metricLines(client).contains("quiver_batch_queue_texts{model=\"\(model)\"} 3")
            }
            // 3 waiting + 2 > 4: refused at once.
            let refused = try await Self.post(port: port, "/v1/embeddings", json: ["model": model, "input": ["delta", "epsilon"]])
            XCTAssertEqual(refused.status, .serviceUnavailable)
            XCTAssertEqual(refused.headers[.retryAfter], "1")
            XCTAssertEqual(refused.headers[.contentType], "application/json")
            let error = try XCTUnwrap(try Self.body(refused)["error"] as? [String: Any])
            XCTAssertEqual(error["code"] as? String, "server_busy")
            XCTAssertEqual(error["type"] as? String, "server_error")
            let message = try XCTUnwrap(error["message"] as? String)
            XCTAssertTrue(message.contains("--max-queue") && message.contains(model), message)
            // 3 + 1 fits, and fills the budget: both requests are answered by one pass.
            let fits = try await Self.post(port: port, "/v1/embeddings", json: ["model": model, "input": last])
            XCTAssertEqual(fits.status, .ok)
            let answered = try await waiting.value
            XCTAssertEqual(answered.status, .ok)
            let alone = try embedder.embed(first + last, threads: 2).vectors
            let vectors = try ((try Self.body(answered)["data"] as? [[String: Any]]) ?? []).map { try ServerTest.floats($0["embedding"]) }
                + ((try Self.body(fits)["data"] as? [[String: Any]]) ?? []).map { try ServerTest.floats($0["embedding"]) }
            XCTAssertEqual(vectors.count, 4)
            for (j, v) in vectors.enumerated() { XCTAssertLessThanOrEqual(Self.maxDifference(v, alone[j]), 1e-6, "text \(j)") }

            let lines = try await Self.metricLines(client)
            for line in ["quiver_batch_rejected_total{model=\"\(model)\"} 1",
                         "quiver_batch_queue_texts{model=\"\(model)\"} 0",
                         "quiver_batch_texts_count{model=\"\(model)\"} 1",
                         "quiver_batch_texts_sum{model=\"\(model)\"} 4",
                         "quiver_batch_tokens_sum{model=\"\(model)\"} \(firstTokens + lastTokens)",
                         "quiver_http_requests_total{method=\"POST\",route=\"/v1/embeddings\",status=\"503\"} 1"] {
                XCTAssertTrue(lines.contains(line), "missing: \(line)")
            }
        }
    }

    /// A client that hangs up while its texts wait in the queue: the server sees its connection's
    /// input end, cancels the request, and the texts leave the queue without a forward pass (the
    /// access log and metrics count the request as 499); the next request is served alone.
    func testAClientThatHangsUpLeavesTheQueueBeforeItsForwardPass() async throws {
        let embedder = try Self.embedder()
        let first = ["alpha", "beta", "gamma"], next = [Self.sentences[2]]
        let firstTokens = try embedder.encode(first).ids.joined().count
        XCTAssertGreaterThan(try embedder.encode(next).ids.joined().count, firstTokens, "the next request fills the budget alone")
        // `first` waits for more texts (below the budget, a minute's wait); `next` runs at once.
        let server = try ServerTest.server { $0.batching = Self.options(maxBatchTokens: firstTokens + 1) }
        let model = ServerTest.model
        let app = Application(router: server.buildRouter(), server: server.httpServer,
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let socket = try RawSocket(port: port)
            let body = String(decoding: try JSONSerialization.data(withJSONObject: ["model": model, "input": first]), as: UTF8.self)
            let request = "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
            XCTAssertTrue(socket.send(Array(request.utf8)))
            try await Self.waitUntil("3 texts wait") {
                try await Self.metricLines(client).contains("quiver_batch_queue_texts{model=\"\(model)\"} 3")
            }
            socket.hangUp()
            try await Self.waitUntil("the hung-up request is counted as 499") {
                try await Self.metricLines(client).contains("quiver_http_requests_total{method=\"POST\",route=\"/v1/embeddings\",status=\"499\"} 1")
            }
            var lines = try await Self.metricLines(client)
            for line in ["quiver_batch_cancelled_texts_total{model=\"\(model)\"} 3", "quiver_batch_queue_texts{model=\"\(model)\"} 0"] {
                XCTAssertTrue(lines.contains(line), "missing: \(line)")
            }
            XCTAssertFalse(lines.contains { $0.hasPrefix("quiver_batch_texts_count{model=\"\(model)\"} ") && !$0.hasSuffix(" 0") },
                           "no forward pass ran for the texts of the client that left")
            let served = try await Self.post(port: port, "/v1/embeddings", json: ["model": model, "input": next])
            XCTAssertEqual(served.status, .ok)
            lines = try await Self.metricLines(client)
            XCTAssertTrue(lines.contains("quiver_batch_texts_sum{model=\"\(model)\"} 1"), "the next pass holds only the next request's text")
        }
    }

    func testMetricsShowTheBatcherSeries() async throws {
        let server = try ServerTest.server()
        let model = ServerTest.model
        try await ServerTest.application(server).test(.router) { client in
            let r = try await client.post("/v1/embeddings", json: ["model": model, "input": ["one two", "three"]])
            XCTAssertEqual(r.status, .ok)
            let text = String(buffer: try await client.get("/metrics").body)
            let lines = Set(text.split(separator: "\n").map(String.init))
            for line in ["# TYPE quiver_batch_queue_texts gauge", "# TYPE quiver_batch_texts histogram",
                         "# TYPE quiver_batch_tokens histogram", "# TYPE quiver_batch_rejected_total counter",
                         "# TYPE quiver_batch_cancelled_texts_total counter",
                         "quiver_batch_queue_texts{model=\"\(model)\"} 0",
                         "quiver_batch_texts_bucket{model=\"\(model)\",le=\"1\"} 0",
                         "quiver_batch_texts_bucket{model=\"\(model)\",le=\"2\"} 1",
                         "quiver_batch_texts_bucket{model=\"\(model)\",le=\"+Inf\"} 1",
                         "quiver_batch_texts_sum{model=\"\(model)\"} 2",
                         "quiver_batch_tokens_bucket{model=\"\(model)\",le=\"16\"} 1",
                         "quiver_batch_tokens_sum{model=\"\(model)\"} 7",  // [CLS] one two [SEP] + [CLS] three [SEP]
                         "quiver_batch_tokens_count{model=\"\(model)\"} 1",
                         "quiver_batch_rejected_total{model=\"\(model)\"} 0",
                         "quiver_batch_cancelled_texts_total{model=\"\(model)\"} 0"] {
                XCTAssertTrue(lines.contains(line), "missing: \(line)\n\(text)")
            }
        }
    }

    func testBatchingOffRunsEachRequestAlone() async throws {
        let server = try ServerTest.server { $0.batching.enabled = false }
        try await ServerTest.application(server).test(.router) { client in
            let r = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": ["one two", "three"]])
            XCTAssertEqual(r.status, .ok)
            let alone = try Self.embedder().embed(["one two", "three"]).vectors
            let data = try XCTUnwrap(try ServerTest.decode(r)["data"] as? [[String: Any]])
            for (j, item) in data.enumerated() { XCTAssertEqual(try ServerTest.floats(item["embedding"]), alone[j], "text \(j)") }
        }
        XCTAssertEqual(server.metrics.batching(model: ServerTest.model).batches, 0)
    }

    // MARK: web search

    /// A store of four text files (collection `quiver_text` with its BM25 index) in a new folder.
    static func textStore() async throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-batching-tests-\(getpid())-\(UUID().uuidString)")
        let files = root.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        for (name, text) in WebFixture.texts { try Data(text.utf8).write(to: files.appendingPathComponent(name)) }
        let store = try VectorStore(path: root.appendingPathComponent("store").path)
        let report = try await Ingestor(store: store, options: IngestOptions(collection: "quiver", textModel: ServerTest.model),
                                        home: ModelHome(root: TestPaths.modelHome)).ingest([files.path])
        try await store.close()
        XCTAssertEqual(report.added, WebFixture.texts.count)
        return root
    }

    func testTextSearchEmbedsItsQueryInTheBatcherAndAnswersAsTheSearcher() async throws {
        _ = try TestPaths.model(ServerTest.model)
        let root = try await Self.textStore()
        defer { try? FileManager.default.removeItem(at: root) }
        let server = try ServerTest.server { $0.databasePath = root.appendingPathComponent("store").path }
        let model = ServerTest.model
        do {
            try await ServerTest.application(server).test(.router) { client in
                let searcher = Searcher(store: try await server.stores.get(), collection: "quiver", home: ModelHome(root: TestPaths.modelHome))
                var batched = 0
                for (query, mode) in [("how long should the espresso extract?", "dense"), ("tomato plants in the sun", "hybrid"),
                                      ("cats sleeping on the sofa", nil), ("rocket engines", "bm25")] as [(String, String?)] {
                    var request: [String: Any] = ["text": query, "limit": 3]
                    if let mode { request["mode"] = mode }
                    let r = try await client.post("/api/search", json: request)
                    XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                    let body = try r.json()
                    let expected = try await searcher.search(text: query, limit: 3, mode: mode.flatMap(SearchMode.init(rawValue:)))
                    let results = try r.results()
                    XCTAssertEqual(results.compactMap { $0["id"] as? String }, expected.results.map(\.id), query)
                    for (got, want) in zip(results, expected.results) {
                        let score = try XCTUnwrap((got["score"] as? NSNumber)?.floatValue)
                        XCTAssertEqual(score, want.score, accuracy: 1e-6, query)
                        XCTAssertEqual(got["collection"] as? String, want.collection)
                    }
                    XCTAssertEqual(body["searched"] as? [String], expected.searched, query)
                    XCTAssertEqual(body["notes"] as? [String], expected.notes, query)
                    // Dense and hybrid searches embed the query in the batcher; BM25 embeds nothing.
                    if mode != "bm25" { batched += 1 }
                    XCTAssertEqual(server.metrics.batching(model: model).texts, batched, query)
                }
            }
        } catch {
            try? await server.closeStore()
            throw error
        }
        try await server.closeStore()
    }
}

private extension Array where Element == String {
    /// Consecutive slices of `size` elements as arrays (the last may be shorter).
    func chunked(_ size: Int) -> [[String]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min(count, $0 + size)]) }
    }
}
