import Foundation

/// A parsed Milvus address: where to connect and whether to use TLS.
///
/// Accepted forms: `milvus://host[:port]` and `http://host[:port]` (plaintext, default port
/// 19530), `https://host[:port]` (TLS, default port 443, e.g. Zilliz Cloud), `unix:/path` or
/// `unix:///path` (a Unix domain socket). `user:password@` in the URL is taken as the token when
/// none is given, and a path `/name` as the database name.
public struct MilvusAddress: Sendable, Hashable, CustomStringConvertible {
    /// Where the server listens.
    public enum Endpoint: Sendable, Hashable {
        /// A host name or IP literal (IPv6 without brackets) and port.
        case host(String, port: Int)
        /// A Unix domain socket path.
        case unixSocket(String)
    }
    /// Host and port, or socket path.
    public var endpoint: Endpoint
    /// True for `https://`.
    public var tls: Bool
    /// The token found in the URL (`user:password@host`), if any.
    public var tokenInURL: String?
    /// The database named by the URL path, if any.
    public var dbNameInURL: String?

    /// The address as shown in messages (scheme, host and port; never credentials).
    public var description: String {
        switch endpoint {
        case let .host(h, p):
            let host = h.contains(":") ? "[\(h)]" : h
            return "\(tls ? "https" : "milvus")://\(host):\(p)"
        case let .unixSocket(p): return "unix:\(p)"
        }
    }

    /// True when `s` looks like a Milvus address rather than a folder path (has one of the
    /// accepted schemes).
    public static func isMilvusAddress(_ s: String) -> Bool {
        let l = s.lowercased()
        return l.hasPrefix("milvus://") || l.hasPrefix("http://") || l.hasPrefix("https://") || l.hasPrefix("unix:")
    }

    /// Parses an address.
    /// - Throws: ``MilvusError/invalidAddress(_:reason:)`` naming what is wrong.
    public init(parsing s: String) throws {
        func bad(_ r: String) -> MilvusError { .invalidAddress(Self.redacted(s), reason: r) }
        let lower = s.lowercased()
        if lower.hasPrefix("unix:") {
            var path = String(s.dropFirst(5))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard path.hasPrefix("/"), path.count > 1 else { throw bad("a Unix socket address needs an absolute path, e.g. unix:/tmp/milvus.sock") }
            endpoint = .unixSocket(path); tls = false; tokenInURL = nil; dbNameInURL = nil
            return
        }
        guard let c = URLComponents(string: s), let scheme = c.scheme?.lowercased() else { throw bad("it is not a URL") }
        switch scheme {
        case "milvus", "http", "grpc", "tcp": tls = false
        case "https", "grpcs": tls = true
        default: throw bad("unknown scheme '\(scheme)'")
        }
        guard var host = c.host, !host.isEmpty else { throw bad("no host") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = c.port ?? (tls ? 443 : 19530)
        guard (1...65535).contains(port) else { throw bad("port \(port) is outside 1...65535") }
        endpoint = .host(host, port: port)
        if let u = c.user, !u.isEmpty {
            let user = u.removingPercentEncoding ?? u
            let pw = (c.password?.removingPercentEncoding ?? c.password).map { ":" + $0 } ?? ""
            tokenInURL = user + pw
        } else { tokenInURL = nil }
        let path = c.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        dbNameInURL = path.isEmpty ? nil : path
        guard !path.contains("/") else { throw bad("the path may only name a database, e.g. milvus://host:19530/mydb") }
    }

    /// `s` with any `user:password@` replaced by `***@`.
    static func redacted(_ s: String) -> String {
        guard let at = s.firstIndex(of: "@"), let scheme = s.range(of: "://"), scheme.upperBound < at else { return s }
        return String(s[..<scheme.upperBound]) + "***" + String(s[at...])
    }
}
