import Foundation
import HTTPTypes
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
    /// Seconds after which the client may retry, sent as `Retry-After` (503 when the server is busy).
    public var retryAfter: Int?

    /// An error answered with `status` and the OpenAI-style body `{"error": {message, type, param, code}}`.
    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status; self.message = message; self.type = type; self.param = param; self.code = code
    }

    /// "STATUS TYPE: MESSAGE", as logged.
    public var description: String { "\(status.code) \(type): \(message)" }

    static func badRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// 503 `server_busy`: the work queue is full; the client should retry after `retryAfter` seconds.
    static func busy(_ message: String, retryAfter: Int) -> APIError {
        var e = APIError(status: .serviceUnavailable, message: message, type: "server_error", code: "server_busy")
        e.retryAfter = retryAfter
        return e
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
}

/// Small JSON writers for responses built by hand (faster than a generic encoder for large float arrays,
/// and floats print round-trip exact).
enum JSONText {
    /// A JSON string literal.
    static func string(_ s: String) -> String { JSONValue.quoted(s) }

    /// A float as JSON (shortest round-trip text; non-finite values, which JSON cannot carry, as null).
    static func number(_ x: Float) -> String { x.isFinite ? "\(x)" : "null" }
}
