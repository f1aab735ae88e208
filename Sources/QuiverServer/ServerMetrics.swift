import Foundation

/// Counters behind `GET /metrics`, rendered in the Prometheus text exposition format (0.0.4).
/// Thread-safe (one lock; updates are a few additions).
public final class ServerMetrics: @unchecked Sendable {
    /// Upper bounds (seconds) of the request latency histogram buckets.
    public static let latencyBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    /// Upper bounds of the batch size histogram (texts per forward pass of the request batcher).
    public static let batchTextBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    /// Upper bounds of the batch tokens histogram (tokens per forward pass of the request batcher).
    public static let batchTokenBuckets: [Double] = [16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384]

    private struct RouteKey: Hashable, Comparable {
        var method: String, route: String, status: Int
        static func < (a: RouteKey, b: RouteKey) -> Bool {
            (a.route, a.method, a.status) < (b.route, b.method, b.status)
        }
    }
    private struct Histogram {
        var buckets: [UInt64]
        var count: UInt64 = 0
        var sum: Double = 0

        init(bounds: Int = ServerMetrics.latencyBuckets.count) { buckets = [UInt64](repeating: 0, count: bounds) }

        mutating func add(_ x: Double, bounds: [Double]) {
            for (i, bound) in bounds.enumerated() where x <= bound { buckets[i] += 1 }
            count += 1
            sum += x
        }
    }
    /// The request batcher's series of one model.
    private struct Batching {
        var texts = Histogram(bounds: ServerMetrics.batchTextBuckets.count)
        var tokens = Histogram(bounds: ServerMetrics.batchTokenBuckets.count)
        var queued = 0
        var rejected: UInt64 = 0
        var cancelled: UInt64 = 0
    }

    /// What the request batcher of one model has done so far (see ``batching(model:)``).
    public struct BatchingSnapshot: Sendable, Equatable {
        /// Forward passes run.
        public var batches: Int
        /// Texts computed, over all batches.
        public var texts: Int
        /// Tokens computed, over all batches.
        public var tokens: Int
        /// Texts waiting now.
        public var queued: Int
        /// Requests refused with 503 (queue full).
        public var rejected: Int
        /// Texts dropped from the queue because their request was cancelled.
        public var cancelled: Int
    }

    private let lock = NSLock()
    private var requests: [RouteKey: UInt64] = [:]
    private var latency: [String: Histogram] = [:]
    private var embeddings: [String: UInt64] = [:]
    private var tokens: [String: UInt64] = [:]
    private var inFlight = 0
    private var batchStats: [String: Batching] = [:]

    /// Counters at zero.
    public init() {}

    func requestStarted() { lock.withLock { inFlight += 1 } }

    /// Records a finished request. `route` is the matched route pattern (bounded cardinality).
    func record(method: String, route: String, status: Int, seconds: Double) {
        lock.withLock {
            inFlight -= 1
            requests[RouteKey(method: method, route: route, status: status), default: 0] += 1
            var h = latency[route] ?? Histogram()
            h.add(seconds, bounds: Self.latencyBuckets)
            latency[route] = h
        }
    }

    /// Records one forward pass of `model`'s batcher over `texts` texts of `tokens` tokens in all.
    func recordBatch(model: String, texts: Int, tokens n: Int) {
        lock.withLock {
            batchStats[model, default: Batching()].texts.add(Double(texts), bounds: Self.batchTextBuckets)
            batchStats[model, default: Batching()].tokens.add(Double(n), bounds: Self.batchTokenBuckets)
        }
    }

    /// Sets the number of texts waiting in `model`'s batcher.
    func setQueued(model: String, texts: Int) {
        lock.withLock { batchStats[model, default: Batching()].queued = texts }
    }

    /// Counts a request refused with 503 because `model`'s queue was full.
    func recordRejected(model: String) {
        lock.withLock { batchStats[model, default: Batching()].rejected += 1 }
    }

    /// Counts `texts` texts dropped from `model`'s queue because their request was cancelled.
    func recordCancelled(model: String, texts: Int) {
        lock.withLock { batchStats[model, default: Batching()].cancelled += UInt64(texts) }
    }

    /// The batcher counters of `model` (zeros when it has not batched anything).
    public func batching(model: String) -> BatchingSnapshot {
        lock.withLock {
            let b = batchStats[model] ?? Batching()
            return BatchingSnapshot(batches: Int(b.texts.count), texts: Int(b.texts.sum), tokens: Int(b.tokens.sum),
                                    queued: b.queued, rejected: Int(b.rejected), cancelled: Int(b.cancelled))
        }
    }

    /// Records `count` embeddings made by `model` from `tokens` tokens.
    func recordEmbeddings(model: String, count: Int, tokens n: Int) {
        lock.withLock {
            embeddings[model, default: 0] += UInt64(count)
            tokens[model, default: 0] += UInt64(n)
        }
    }

    /// The exposition text. `modelsLoaded` is read from the model cache by the caller.
    func render(modelsLoaded: [String]) -> String {
        lock.withLock {
            var out = ""
            out += "# HELP quiver_http_requests_total HTTP requests answered, by method, route and status.\n"
            out += "# TYPE quiver_http_requests_total counter\n"
            for (key, n) in requests.sorted(by: { $0.key < $1.key }) {
                out += "quiver_http_requests_total{method=\(Self.label(key.method)),route=\(Self.label(key.route)),status=\"\(key.status)\"} \(n)\n"
            }
            out += "# HELP quiver_http_requests_in_flight HTTP requests being handled.\n"
            out += "# TYPE quiver_http_requests_in_flight gauge\n"
            out += "quiver_http_requests_in_flight \(inFlight)\n"
            out += "# HELP quiver_http_request_duration_seconds Time from request to response, by route.\n"
            out += "# TYPE quiver_http_request_duration_seconds histogram\n"
            for (route, h) in latency.sorted(by: { $0.key < $1.key }) {
                out += Self.histogram("quiver_http_request_duration_seconds", labels: "route=\(Self.label(route))", h, bounds: Self.latencyBuckets)
            }
            out += "# HELP quiver_embeddings_total Embeddings computed, by model.\n"
            out += "# TYPE quiver_embeddings_total counter\n"
            for (model, n) in embeddings.sorted(by: { $0.key < $1.key }) {
                out += "quiver_embeddings_total{model=\(Self.label(model))} \(n)\n"
            }
            out += "# HELP quiver_tokens_total Tokens processed (after truncation, special tokens included), by model.\n"
            out += "# TYPE quiver_tokens_total counter\n"
            for (model, n) in tokens.sorted(by: { $0.key < $1.key }) {
                out += "quiver_tokens_total{model=\(Self.label(model))} \(n)\n"
            }
            let batched = batchStats.sorted(by: { $0.key < $1.key })
            out += "# HELP quiver_batch_queue_texts Texts waiting for a forward pass in the request batcher, by model.\n"
            out += "# TYPE quiver_batch_queue_texts gauge\n"
            for (model, b) in batched { out += "quiver_batch_queue_texts{model=\(Self.label(model))} \(b.queued)\n" }
            out += "# HELP quiver_batch_texts Texts per forward pass of the request batcher (batch size), by model.\n"
            out += "# TYPE quiver_batch_texts histogram\n"
            for (model, b) in batched { out += Self.histogram("quiver_batch_texts", labels: "model=\(Self.label(model))", b.texts, bounds: Self.batchTextBuckets) }
            out += "# HELP quiver_batch_tokens Tokens per forward pass of the request batcher, by model.\n"
            out += "# TYPE quiver_batch_tokens histogram\n"
            for (model, b) in batched { out += Self.histogram("quiver_batch_tokens", labels: "model=\(Self.label(model))", b.tokens, bounds: Self.batchTokenBuckets) }
            out += "# HELP quiver_batch_rejected_total Requests answered 503 because the model's queue was full, by model.\n"
            out += "# TYPE quiver_batch_rejected_total counter\n"
            for (model, b) in batched { out += "quiver_batch_rejected_total{model=\(Self.label(model))} \(b.rejected)\n" }
            out += "# HELP quiver_batch_cancelled_texts_total Texts dropped from the queue before their forward pass because the request was cancelled, by model.\n"
            out += "# TYPE quiver_batch_cancelled_texts_total counter\n"
            for (model, b) in batched { out += "quiver_batch_cancelled_texts_total{model=\(Self.label(model))} \(b.cancelled)\n" }
            out += "# HELP quiver_models_loaded Models loaded in memory.\n"
            out += "# TYPE quiver_models_loaded gauge\n"
            out += "quiver_models_loaded \(modelsLoaded.count)\n"
            out += "# HELP quiver_model_loaded 1 for each model loaded in memory.\n"
            out += "# TYPE quiver_model_loaded gauge\n"
            for model in modelsLoaded { out += "quiver_model_loaded{model=\(Self.label(model))} 1\n" }
            return out
        }
    }

    /// The `_bucket` (cumulative, then `+Inf`), `_sum` and `_count` lines of one histogram.
    private static func histogram(_ name: String, labels: String, _ h: Histogram, bounds: [Double]) -> String {
        var out = ""
        for (i, bound) in bounds.enumerated() {
            out += "\(name)_bucket{\(labels),le=\"\(number(bound))\"} \(h.buckets[i])\n"
        }
        out += "\(name)_bucket{\(labels),le=\"+Inf\"} \(h.count)\n"
        out += "\(name)_sum{\(labels)} \(number(h.sum))\n"
        out += "\(name)_count{\(labels)} \(h.count)\n"
        return out
    }

    /// A quoted label value with Prometheus' escapes (backslash, quote, newline).
    static func label(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
    }
}
