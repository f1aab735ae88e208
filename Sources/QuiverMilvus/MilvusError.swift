import Foundation

/// Errors of the Milvus backend: every one names the server (and the collection where there is
/// one) and quotes Milvus' own reason.
///
/// Errors that mean the same on every backend are thrown as `StoreError` instead, so callers
/// handle both backends alike: `collectionNotFound`, `collectionExists`, `modelMismatch`,
/// `invalidSchema`, `invalidData` (checked before anything is sent) and `invalidRequest`.
public enum MilvusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A `--db` value that is not a Milvus address.
    case invalidAddress(String, reason: String)
    /// The server cannot be reached (refused, no route, DNS failure, connection lost).
    case unreachable(server: String, reason: String)
    /// The server refused the credentials (wrong `--token` / `MILVUS_TOKEN`, or none given to a
    /// server with authorization on).
    case unauthenticated(server: String, reason: String)
    /// The TLS handshake failed (certificate not trusted, wrong host name, not a TLS server), or
    /// the CA file could not be used.
    case tls(server: String, reason: String)
    /// A call (or a wait for load, index or flush) did not finish within its deadline.
    case timeout(server: String, collection: String?, operation: String, seconds: Double)
    /// Milvus answered with an error status: `code` is the status code (the newer `code`, or
    /// the legacy `error_code` when `code` is 0), `reason` Milvus' text.
    case server(server: String, collection: String?, operation: String, code: Int32, reason: String)
    /// The gRPC call failed for another reason (e.g. the server does not implement the method).
    case rpc(server: String, collection: String?, operation: String, reason: String)
    /// The server's answer does not have the shape Quiver expects (a column of the wrong length
    /// or type); `reason` says what.
    case unexpectedResponse(server: String, collection: String?, operation: String, reason: String)

    /// What went wrong and how to fix it.
    public var description: String {
        func coll(_ c: String?) -> String { c.map { " collection '\($0)'" } ?? "" }
        switch self {
        case let .invalidAddress(a, r):
            return "'\(a)' is not a Milvus address: \(r) (use milvus://host:port, http://host:port, https://host[:port] or unix:/path)"
        case let .unreachable(s, r):
            return "Milvus at \(s) cannot be reached: \(r); check that the server is running and the address and port are right"
        case let .unauthenticated(s, r):
            return "Milvus at \(s) refused the credentials: \"\(r)\"; give --token user:password (or an API key) or set MILVUS_TOKEN"
        case let .tls(s, r):
            return "TLS with Milvus at \(s) failed: \(r); check the address (https:// needs a TLS server) and --ca-file"
        case let .timeout(s, c, op, secs):
            return "Milvus at \(s)\(coll(c)): \(op) did not finish within \(Self.seconds(secs)); the server may be overloaded or starting (raise the timeout)"
        case let .server(s, c, op, code, r):
            return "Milvus at \(s)\(coll(c)): \(op) failed (code \(code)): \"\(r)\""
        case let .rpc(s, c, op, r):
            return "Milvus at \(s)\(coll(c)): \(op) failed: \(r)"
        case let .unexpectedResponse(s, c, op, r):
            return "Milvus at \(s)\(coll(c)): unexpected answer to \(op): \(r)"
        }
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }
}

extension MilvusError: LocalizedError {
    /// The same text as ``MilvusError/description``.
    public var errorDescription: String? { description }
}
