import Foundation

/// Counters behind `GET /metrics`, rendered in the Prometheus text exposition format (0.0.4).
/// Thread-safe (one lock; updates are a few additions).
public final class ServerMetrics: @unchecked Sendable {
    /// Upper bounds (seconds) of the request latency histogram buckets.
    public static let latencyBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    private struct RouteKey: Hashable, Comparable {
        var method: String, route: String, status: Int
        static func < (a: RouteKey, b: RouteKey) -> Bool {
            (a.route, a.method, a.status) < (b.route, b.method, b.status)
        }
    }
    private struct Histogram {
        var buckets = [UInt64](repeating: 0, count: ServerMetrics.latencyBuckets.count)
        var count: UInt64 = 0
        var sum: Double = 0
    }

    private let lock = NSLock()
    private var requests: [RouteKey: UInt64] = [:]
    private var latency: [String: Histogram] = [:]
    private var embeddings: [String: UInt64] = [:]
    private var tokens: [String: UInt64] = [:]
    private var inFlight = 0

    /// Counters at zero.
    public init() {}

    func requestStarted() { lock.withLock { inFlight += 1 } }

    /// Records a finished request. `route` is the matched route pattern (bounded cardinality).
    func record(method: String, route: String, status: Int, seconds: Double) {
        lock.withLock {
            inFlight -= 1
            requests[RouteKey(method: method, route: route, status: status), default: 0] += 1
            var h = latency[route] ?? Histogram()
            for (i, bound) in Self.latencyBuckets.enumerated() where seconds <= bound { h.buckets[i] += 1 }
            h.count += 1
            h.sum += seconds
            latency[route] = h
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
                let r = Self.label(route)
                for (i, bound) in Self.latencyBuckets.enumerated() {
                    out += "quiver_http_request_duration_seconds_bucket{route=\(r),le=\"\(Self.number(bound))\"} \(h.buckets[i])\n"
                }
                out += "quiver_http_request_duration_seconds_bucket{route=\(r),le=\"+Inf\"} \(h.count)\n"
                out += "quiver_http_request_duration_seconds_sum{route=\(r)} \(Self.number(h.sum))\n"
                out += "quiver_http_request_duration_seconds_count{route=\(r)} \(h.count)\n"
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
            out += "# HELP quiver_models_loaded Models loaded in memory.\n"
            out += "# TYPE quiver_models_loaded gauge\n"
            out += "quiver_models_loaded \(modelsLoaded.count)\n"
            out += "# HELP quiver_model_loaded 1 for each model loaded in memory.\n"
            out += "# TYPE quiver_model_loaded gauge\n"
            for model in modelsLoaded { out += "quiver_model_loaded{model=\(Self.label(model))} 1\n" }
            return out
        }
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
