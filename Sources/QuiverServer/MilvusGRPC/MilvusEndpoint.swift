import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import QuiverMilvusWire

/// The Milvus gRPC endpoint of `quiver serve` (`--milvus-port`, 19530 by default): a grpc-swift
/// server (HTTP/2, plaintext) answering `milvus.proto.milvus.MilvusService` over the same store
/// and model cache as the HTTP routes, so pymilvus' `MilvusClient("http://HOST:PORT")` works
/// against Quiver. Behaviour follows Milvus 2.5/2.6 as pymilvus 3.0.2 speaks it; see
/// ``MilvusGRPCService`` for what is answered and what is not.
///
/// ```swift
/// let endpoint = server.makeMilvusEndpoint()
/// async let serving: Void = endpoint.run()
/// let port = try await endpoint.listeningPort()
/// ...
/// endpoint.stop()
/// ```
public final class MilvusEndpoint: Sendable {
    /// Address it listens on.
    public let host: String
    private let transport: HTTP2ServerTransport.Posix
    private let server: GRPCServer<NamingUnimplementedTransport<HTTP2ServerTransport.Posix>>

    init(host: String, port: Int, service: MilvusGRPCService, apiKey: String?) {
        self.host = host
        let address: GRPCNIOTransportCore.SocketAddress = host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host == "localhost" ? "127.0.0.1" : host, port: port)
        var config = HTTP2ServerTransport.Posix.Config.defaults
        // Milvus accepts large inserts and search results; grpc's default 4 MiB is too small.
        config.rpc.maxRequestPayloadSize = 256 << 20
        transport = HTTP2ServerTransport.Posix(address: address, transportSecurity: .plaintext, config: config)
        var interceptors: [any ServerInterceptor] = []
        if let apiKey, !apiKey.isEmpty { interceptors.append(MilvusTokenInterceptor(key: apiKey)) }
        server = GRPCServer(transport: NamingUnimplementedTransport(base: transport), services: [service], interceptors: interceptors)
    }

    /// Serves until ``stop()`` (which lets the calls under way finish).
    /// - Throws: when the address cannot be bound (e.g. the port is in use).
    public func run() async throws { try await server.serve() }

    /// The bound port, once listening (waits for the bind).
    /// - Throws: when binding failed or the server stopped.
    public func listeningPort() async throws -> Int {
        let address = try await transport.listeningAddress
        if let v4 = address.ipv4 { return v4.port }
        if let v6 = address.ipv6 { return v6.port }
        return 0
    }

    /// Stops accepting calls; ``run()`` returns once the calls under way are answered.
    public func stop() { server.beginGracefulShutdown() }
}

/// Checks Milvus' token: pymilvus sends `authorization: base64(token)` (or
/// `base64(user:password)`); with an API key on the server the token, or the password of a
/// `user:password` pair, must equal the key. Otherwise the call fails with gRPC UNAUTHENTICATED,
/// as Milvus' authentication interceptor answers.
struct MilvusTokenInterceptor: ServerInterceptor {
    let key: String

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let given = request.metadata[stringValues: "authorization"].first { _ in true }
        guard let given else {
            throw RPCError(code: .unauthenticated, message: "auth check failure, please check username and password are correct: "
                           + "this Quiver server needs its API key as the Milvus token (MilvusClient(uri, token=KEY))")
        }
        guard Self.matches(given, key: key) else {
            throw RPCError(code: .unauthenticated, message: "auth check failure, please check username and password are correct: "
                           + "the Milvus token is not this Quiver server's API key")
        }
        return try await next(request, context)
    }

    /// True when the base64 `authorization` value decodes to the key, or to `user:key`.
    static func matches(_ value: String, key: String) -> Bool {
        var text = value.trimmingCharacters(in: .whitespaces)
        if text.lowercased().hasPrefix("bearer ") { text = String(text.dropFirst(7)) }
        guard let data = Data(base64Encoded: text), let token = String(data: data, encoding: .utf8) else { return text == key }
        if token == key { return true }
        if let colon = token.firstIndex(of: ":") { return token[token.index(after: colon)...] == key[...] }
        return false
    }
}

/// Wraps the HTTP/2 transport so that a call of a method Quiver does not serve is answered
/// UNIMPLEMENTED naming the method (grpc-swift's own answer does not name it).
struct NamingUnimplementedTransport<Base: ServerTransport>: ServerTransport {
    typealias Bytes = Base.Bytes
    let base: Base
    private let methods = LockedMethods()

    init(base: Base) { self.base = base }

    func configure(context: GRPCServerContext) {
        methods.set(Set(context.methods))
        base.configure(context: context)
    }

    func listen(streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void) async throws {
        let methods = self.methods
        try await base.listen { stream, context in
            if methods.contains(context.descriptor) {
                await streamHandler(stream, context)
            } else {
                let status = Status(code: .unimplemented, message: "Quiver's Milvus endpoint does not implement "
                                    + "\(context.descriptor.fullyQualifiedMethod); it answers pymilvus MilvusClient's collection, "
                                    + "index, load, insert/upsert/delete, query and search calls (see `quiver serve --help`)")
                try? await stream.outbound.write(.status(status, [:]))
                await stream.outbound.finish()
            }
        }
    }

    func beginGracefulShutdown() { base.beginGracefulShutdown() }
}

/// The registered methods, set once before listening.
final class LockedMethods: @unchecked Sendable {
    private let lock = NSLock()
    private var methods: Set<MethodDescriptor> = []
    func set(_ m: Set<MethodDescriptor>) { lock.withLock { methods = m } }
    func contains(_ m: MethodDescriptor) -> Bool { lock.withLock { methods.isEmpty || methods.contains(m) } }
}

/// The Milvus gRPC endpoint could not listen.
public struct MilvusEndpointError: Error, CustomStringConvertible {
    /// The address asked for.
    public var host: String
    /// The port asked for.
    public var port: Int
    /// What the transport reported.
    public var underlying: Error
    /// One line naming the address and the way out.
    public var description: String {
        "cannot listen for Milvus gRPC on \(host):\(port) (\(underlying)); is another Milvus or quiver serve using it? "
            + "Give another --milvus-port (0 picks a free one) or --no-milvus"
    }
}
