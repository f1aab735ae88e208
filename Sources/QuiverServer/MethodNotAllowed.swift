import Foundation
import Hummingbird

/// Answers a request for a known path with a method the path does not take with 405 and an
/// `Allow` header listing the methods it takes (RFC 9110 §15.5.6), instead of the router's 404.
/// The body is the usual JSON error (the Milvus envelope on `/v2/`).
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allowed = routes.methods(for: request.uri.path), !allowed.isEmpty else { throw error }
            let allow = allowed.sorted().joined(separator: ", ")
            let apiError = APIError(status: .methodNotAllowed, message: "\(request.method) is not allowed on \(request.uri.path); it takes \(allow)",
                                    type: "invalid_request_error", code: "method_not_allowed")
            if request.uri.path.hasPrefix("/v2/") {
                var r = JSONText.response(MilvusError.from(apiError).json, status: .methodNotAllowed)
                r.headers[.allow] = allow
                return r
            }
            return apiError.response(extraHeaders: [.allow: allow])
        }
    }
}

/// The methods of each registered path (filled once the routes are added).
final class RouteMethods: @unchecked Sendable {
    private let lock = NSLock()
    private var table: [String: Set<String>] = [:]

    func fill<C>(from router: Router<C>) {
        var t: [String: Set<String>] = [:]
        for r in router.routes { t["\(r.path)", default: []].insert(r.method.rawValue) }
        lock.withLock { table = t }
    }

    func methods(for path: String) -> Set<String>? {
        let p = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        return lock.withLock { table[p] }
    }
}
