import Foundation
import Hummingbird
import QuiverStore

/// An error answered to the client as JSON. OpenAI-compatible routes render it as
/// `{"error": {"message", "type", "param", "code"}}`, as OpenAI's API does.
public struct APIError: Error, Sendable, CustomStringConvertible {
    /// HTTP status.
    public var status: HTTPResponse.Status
    /// What went wrong and how to fix it.
    public var message: String
    /// OpenAI's error type (`invalid_request_error`, `authentication_error`, `server_error`...).
    public var type: String
    /// The request field at fault, if one is.
    public var param: String?
    /// A machine-readable code (`model_not_found`, `invalid_api_key`...), if one applies.
    public var code: String?

    /// An error answered with `status` and the OpenAI-style body `{"error": {message, type, param, code}}`.
    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status; self.message = message; self.type = type; self.param = param; self.code = code
    }

    /// "STATUS TYPE: MESSAGE", as logged.
    public var description: String { "\(status.code) \(type): \(message)" }

    static func badRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    static func notFound(_ message: String, code: String? = nil) -> APIError {
        APIError(status: .notFound, message: message, type: "invalid_request_error", code: code)
    }

    /// The OpenAI error body.
    var openAIJSON: String {
        var s = "{\"error\": {\"message\": \(JSONText.string(message)), \"type\": \(JSONText.string(type)), \"param\": "
        s += param.map(JSONText.string) ?? "null"
        s += ", \"code\": " + (code.map(JSONText.string) ?? "null") + "}}"
        return s
    }

    func response(extraHeaders: HTTPFields = [:]) -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: openAIJSON + "\n")))
    }
}

/// Small JSON writers for responses built by hand (faster than a generic encoder for large float arrays,
/// and floats print round-trip exact).
enum JSONText {
    /// A JSON string literal.
    static func string(_ s: String) -> String { JSONValue.quoted(s) }

    /// A float as JSON (shortest round-trip text; non-finite values, which JSON cannot carry, as null).
    static func number(_ x: Float) -> String { x.isFinite ? "\(x)" : "null" }

    /// A JSON response with status `status`.
    static func response(_ json: String, status: HTTPResponse.Status = .ok, contentType: String = "application/json") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}

/// Turns every error (ours, Hummingbird's, or unexpected ones) into an OpenAI-style JSON response,
/// so no failure reaches the client as an empty body and none stops the server.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let apiError: APIError
        do {
            return try await next(request, context)
        } catch let error as APIError {
            apiError = error
        } catch let error as HTTPError {
            apiError = Self.apiError(for: error, request: request)
        } catch let error as any HTTPResponseError {
            apiError = APIError(status: error.status, message: "\(error)", type: error.status.code >= 500 ? "server_error" : "invalid_request_error")
        } catch {
            context.logger.error("unhandled error on \(request.method) \(request.uri.path): \(error)")
            apiError = APIError(status: .internalServerError, message: "internal error: \(error)", type: "server_error")
        }
        // Milvus-compatible routes answer in Milvus' envelope, keeping the HTTP status.
        if request.uri.path.hasPrefix("/v2/") {
            return JSONText.response(MilvusError.from(apiError).json, status: apiError.status)
        }
        return apiError.response()
    }

    static func apiError(for error: HTTPError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            return .notFound("no route \(request.method) \(request.uri.path); routes: GET / (web page), GET /api/collections, POST /api/search, POST /api/search/file, GET /api/media?id=, POST /v1/embeddings, GET /healthz, GET /metrics, POST /v2/vectordb/collections/{create,describe,list,has,drop}, POST /v2/vectordb/entities/{insert,upsert,delete,get,query,search}",
                             code: "unknown_url")
        case .methodNotAllowed:
            return APIError(status: .methodNotAllowed, message: "\(request.method) is not allowed on \(request.uri.path)",
                            type: "invalid_request_error")
        default:
            let message = error.body ?? error.status.reasonPhrase
            return APIError(status: error.status, message: message, type: error.status.code >= 500 ? "server_error" : "invalid_request_error")
        }
    }
}
