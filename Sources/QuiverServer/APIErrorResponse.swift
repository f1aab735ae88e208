import Foundation
import Hummingbird

// The Hummingbird side of `APIError` (kept apart from APIError.swift so that the request
// decoders build without Hummingbird, e.g. in scripts/fuzz/run-server-fuzzer.sh).

extension APIError {
    func response(extraHeaders: HTTPFields = [:]) -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/json"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: openAIJSON + "\n")))
    }
}

extension JSONText {
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
        } catch is CancellationError {
            // The client went away (ClientConnection) or the server is stopping: nobody reads
            // this answer; the access log and metrics count it as nginx's 499.
            apiError = APIError(status: .init(code: 499, reasonPhrase: "Client Closed Request"),
                                message: "the request was cancelled: its client closed the connection", type: "invalid_request_error",
                                code: "client_closed_request")
        } catch let error as any HTTPResponseError {
            apiError = APIError(status: error.status, message: "\(error)", type: error.status.code >= 500 ? "server_error" : "invalid_request_error")
        } catch {
            context.logger.error("unhandled error on \(request.method) \(request.uri.path): \(error)")
            apiError = APIError(status: .internalServerError, message: "internal error: \(error)", type: "server_error")
        }
        // Milvus-compatible routes answer in Milvus' envelope, keeping the HTTP status.
        if request.uri.path.hasPrefix("/v2/") {
            var response = JSONText.response(MilvusError.from(apiError).json, status: apiError.status)
            if let retryAfter = apiError.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
            return response
        }
        return apiError.response()
    }

    static func apiError(for error: HTTPError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            return .notFound("no route \(request.method) \(request.uri.path); routes: GET / (web page), GET /api/collections, POST /api/search, POST /api/search/file, GET /api/media?id=, POST /v1/embeddings, POST /v1/rerank, GET /healthz, GET /metrics, GET /openapi.json, POST /v2/vectordb/collections/{create,describe,list,has,drop}, POST /v2/vectordb/entities/{insert,upsert,delete,get,query,search}",
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
