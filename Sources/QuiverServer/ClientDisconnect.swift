import Hummingbird
import HummingbirdCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// The request context of Quiver's router: Hummingbird's core context and the connection the
/// request came on, so that work a request waits for can stop when its client goes away.
public struct QuiverRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's connection.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Whether a connection's client is still there: closed once its input ends (the client closed
/// or shut down its side) or the connection closes. Callbacks registered with `onClose` run once,
/// at that moment (or at once if it has passed).
///
/// A client that half-closes its side on purpose after sending a request and still waits for
/// the answer counts as gone too, as with Go's `net/http` and uvicorn: HTTP/1.1 clients do not
/// do that in practice, and one that leaves must not keep a forward pass queued.
final class ClientConnectionState: Sendable {
    private struct State {
        var closed = false
        var nextID: UInt64 = 0
        var callbacks: [UInt64: @Sendable () -> Void] = [:]
    }
    private let state = NIOLockedValueBox(State())

    /// True once the client went away.
    var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Marks the connection closed and runs the callbacks (once).
    func close() {
        let callbacks: [@Sendable () -> Void] = state.withLockedValue { s in
            guard !s.closed else { return [] }
            s.closed = true
            defer { s.callbacks = [:] }
            return Array(s.callbacks.values)
        }
        for c in callbacks { c() }
    }

    /// Registers `callback` for the close; runs it now (and returns nil) when already closed.
    func onClose(_ callback: @escaping @Sendable () -> Void) -> UInt64? {
        let id: UInt64? = state.withLockedValue { s in
            guard !s.closed else { return nil }
            s.nextID += 1
            s.callbacks[s.nextID] = callback
            return s.nextID
        }
        if id == nil { callback() }
        return id
    }

    /// Forgets a callback that is no longer needed.
    func remove(_ id: UInt64) { _ = state.withLockedValue { $0.callbacks.removeValue(forKey: id) } }
}

/// Watches one connection for its client going away (`ChannelEvent.inputClosed`, which Hummingbird's
/// half-closure setting turns a client's close into, or the channel going inactive) and tells its
/// `ClientConnectionState`. One per connection, added by `QuiverServer.httpServer`.
final class ClientDisconnectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let state = ClientConnectionState()

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed { state.close() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.close()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { state.close() }
}

@available(*, unavailable)
extension ClientDisconnectHandler: Sendable {}

/// The client connection of the request the current task serves (set by
/// `ClientConnectionMiddleware`) and the wait that ends when that client goes away.
enum ClientConnection {
    /// The current request's connection, or nil outside a request (or in a context without one).
    @TaskLocal static var channel: (any Channel)?

    /// The disconnect state of `channel`'s connection (nil when it has no `ClientDisconnectHandler`).
    static func state(of channel: any Channel) async -> ClientConnectionState? {
        try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: ClientDisconnectHandler.self).state
        }.get()
    }

    /// Runs `work` in a task that is cancelled when the current request's client goes away (or
    /// when the calling task is cancelled), so that what it waits for (a queued forward pass in an
    /// `EmbeddingBatcher`) is dropped instead of computed for nobody.
    /// - Throws: `CancellationError` when cancelled that way; `work`'s errors.
    static func cancellingOnDisconnect<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let channel, let state = await state(of: channel) else { return try await work() }
        let task = Task { try await work() }
        let id = state.onClose { task.cancel() }
        defer { if let id { state.remove(id) } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}

/// Makes the request's connection known to the code it runs (`ClientConnection.channel`).
struct ClientConnectionMiddleware: RouterMiddleware {
    typealias Context = QuiverRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await ClientConnection.$channel.withValue(context.channel) { try await next(request, context) }
    }
}
