import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import QuiverMilvusWire
import QuiverStore

/// One gRPC channel to a Milvus server, with the credentials and database sent on every call,
/// a deadline on every call, error mapping and retries for calls that are safe to repeat.
final class MilvusConnection: Sendable {
    typealias Transport = HTTP2ClientTransport.Posix
    typealias Service = MVMilvusService.Client<Transport>

    let grpc: GRPCClient<Transport>
    let service: Service
    /// The address for messages (no credentials).
    let server: String
    let tls: Bool
    /// The database (empty: the server's default).
    let dbName: String
    let metadata: Metadata
    /// Seconds per call.
    let timeout: Double
    let runner: Task<Void, Never>

    init(address: MilvusAddress, token: String?, dbName: String?, caFile: String?, timeout: Double) throws {
        server = address.description
        tls = address.tls
        self.timeout = timeout
        let db = dbName ?? address.dbNameInURL ?? ""
        self.dbName = db
        var md: Metadata = [:]
        if let t = token ?? address.tokenInURL, !t.isEmpty {
            md.addString(Data(t.utf8).base64EncodedString(), forKey: "authorization")
        }
        if !db.isEmpty { md.addString(db, forKey: "dbname") }
        metadata = md

        let security: Transport.TransportSecurity
        if address.tls {
            if let caFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else {
                    throw MilvusError.tls(server: address.description, reason: "CA file \(caFile) does not exist or is not readable")
                }
                security = .tls { $0.trustRoots = .certificates([.file(path: caFile, format: .pem)]) }
            } else {
                security = .tls
            }
        } else {
            security = .plaintext
        }
        let target: any ResolvableTarget
        switch address.endpoint {
        case let .unixSocket(p): target = .unixDomainSocket(path: p)
        case let .host(h, port):
            if h.split(separator: ".").count == 4, h.allSatisfy({ $0.isNumber || $0 == "." }) { target = .ipv4(address: h, port: port) }
            else if h.contains(":") { target = .ipv6(address: h, port: port) }
            else { target = .dns(host: h, port: port) }
        }
        var config = Transport.Config.defaults
        config.backoff.initial = .milliseconds(200)
        config.backoff.max = .seconds(2)
        let transport: Transport
        do {
            transport = try Transport(target: target, transportSecurity: security, config: config)
        } catch {
            throw MilvusError.tls(server: address.description, reason: "\(error)")
        }
        let client = GRPCClient(transport: transport)
        grpc = client
        service = Service(wrapping: client)
        runner = Task { try? await client.runConnections() }
    }

    func close() {
        grpc.beginGracefulShutdown()
    }

    /// Call options: the deadline, no waiting for a connection (so an unreachable server fails
    /// fast), large answers allowed.
    func options(_ seconds: Double? = nil) -> CallOptions {
        var o = CallOptions.defaults
        o.timeout = .milliseconds(Int64((seconds ?? timeout) * 1000))
        o.waitForReady = false
        o.maxResponseMessageBytes = 256 << 20
        o.maxRequestMessageBytes = 64 << 20
        return o
    }

    /// Runs one RPC. `safe` calls (reads, idempotent writes) are retried with backoff when the
    /// server is unavailable, within twice the call timeout in total; others run once.
    func call<R: Sendable>(_ op: String, collection: String? = nil, safe: Bool, timeout seconds: Double? = nil,
                           _ body: @Sendable (Service, Metadata, CallOptions) async throws -> R) async throws -> R {
        let budget = (seconds ?? timeout) * 2
        let start = ContinuousClock.now
        var delay = 0.25
        while true {
            do {
                return try await body(service, metadata, options(seconds))
            } catch let e as RPCError {
                let mapped = map(e, op: op, collection: collection, seconds: seconds ?? timeout)
                let elapsed = (ContinuousClock.now - start) / .seconds(1)
                if safe, e.code == .unavailable, case .unreachable = mapped, elapsed + delay < budget {
                    try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                    delay = min(delay * 2, 4)
                    continue
                }
                throw mapped
            }
        }
    }

    /// A gRPC error as a MilvusError.
    func map(_ e: RPCError, op: String, collection: String?, seconds: Double) -> MilvusError {
        let cause = e.cause.map { "\($0)" } ?? ""
        let text = cause.isEmpty ? e.message : "\(e.message) (\(cause))"
        switch e.code {
        case .deadlineExceeded:
            return .timeout(server: server, collection: collection, operation: op, seconds: seconds)
        case .unauthenticated, .permissionDenied:
            return .unauthenticated(server: server, reason: e.message)
        case .unavailable:
            let l = text.lowercased()
            if ["ssl", "tls", "certificate", "handshake", "alert"].contains(where: { l.contains($0) }) {
                return .tls(server: server, reason: text)
            }
            return .unreachable(server: server, reason: text)
        case .unimplemented:
            return .rpc(server: server, collection: collection, operation: op, reason: "the server does not implement it (\(e.message))")
        default:
            return .rpc(server: server, collection: collection, operation: op, reason: "\(e.code): \(text)")
        }
    }

    /// Throws for a Milvus status that is not success: `collectionNotFound` for Milvus' "collection
    /// not found" (code 100 / legacy CollectionNotExists), otherwise ``MilvusError/server``.
    func check(_ s: MVStatus, _ op: String, collection: String?) throws {
        guard s.errorCode != 0 || s.code != 0 else { return }
        if let c = collection, s.code == 100 || s.errorCode == 4 || s.errorCode == 28 {
            throw StoreError.collectionNotFound(c)
        }
        if s.errorCode == 3 || s.code == 1800 || s.reason.lowercased().contains("auth check failure") {
            throw MilvusError.unauthenticated(server: server, reason: s.reason)
        }
        throw MilvusError.server(server: server, collection: collection, operation: op, code: s.code != 0 ? s.code : s.errorCode,
                                 reason: s.reason.isEmpty ? s.detail : s.reason)
    }
}
