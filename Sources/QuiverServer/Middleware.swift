import Dispatch
import Foundation
import Hummingbird

/// Counts every request into `ServerMetrics` and writes one line per request to standard error:
/// `METHOD PATH STATUS MILLISECONDS ms`.
struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let log: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        metrics.requestStarted()
        var status = 500
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            // The matched route pattern (bounded label set); requests no route matched share one label.
            let route = context.endpointPath.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "unmatched"
            metrics.record(method: request.method.rawValue, route: route, status: status, seconds: seconds)
            if log {
                let line = "\(Self.timestamp()) \(request.method.rawValue) \(request.uri.path) \(status) \(String(format: "%.1f", seconds * 1000)) ms\n"
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
        let response = try await next(request, context)
        status = response.status.code
        return response
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601)
    }
}

/// Requires `Authorization: Bearer <key>` on every route but `/healthz` when an API key is set.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/healthz" { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw APIError(status: .unauthorized,
                           message: "missing API key: send the header 'Authorization: Bearer KEY' (the key given to `quiver serve` by --api-key or QUIVER_API_KEY)",
                           type: "invalid_request_error", code: "missing_api_key")
        }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix("bearer "),
              Self.constantTimeEqual(Array(header.utf8.dropFirst(prefix.utf8.count)), Array(key.utf8)) else {
            throw APIError(status: .unauthorized, message: "incorrect API key in the Authorization header",
                           type: "invalid_request_error", code: "invalid_api_key")
        }
        return try await next(request, context)
    }

    /// Compares without an early exit, so response time does not reveal how much of the key matched.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}

extension Request {
    /// The body as bytes, at most `limit` of them.
    /// - Throws: `APIError` 413 when the body (or its declared Content-Length) is larger.
    func bodyBytes(limit: Int) async throws -> [UInt8] {
        let tooLarge = APIError(status: .contentTooLarge,
                                message: "the request body is larger than the server's limit of \(limit) bytes (quiver serve --max-body)",
                                type: "invalid_request_error", code: "request_too_large")
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        do {
            let buffer = try await body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge
        }
    }
}
