import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// The per-connection limits of `quiver serve` against slow or oversized requests (slow-loris):
///
/// - Headers: at most `maxHeaderBytes` for all header lines of a request (NIO's decoder refuses
///   more and the connection is closed), so one connection holds at most that much before its
///   body, and the body is bounded by `maxBodyBytes` (413 past it).
/// - Idle time: a connection with no complete request head for `idleTimeout` (one that trickles
///   its headers a byte at a time, or sends nothing) is closed; so is a keep-alive connection idle
///   that long after its last response.
/// - Request read time: a request whose body has not fully arrived `requestReadTimeout` after its
///   head is closed (`RequestReadDeadlineHandler`); the time spent answering is not counted.
/// - A client that goes away: its queued forward passes are dropped (`ClientDisconnectHandler`).
extension QuiverServer {
    /// The HTTP/1.1 server with `configuration`'s limits.
    public var httpServer: HTTPServerBuilder {
        let readTimeout = TimeAmount.nanoseconds(Int64(configuration.requestReadTimeout * 1e9))
        let headerBytes = configuration.maxHeaderBytes
        return .http1(configuration: .init(
            additionalChannelHandlers: [RequestReadDeadlineHandler(timeout: readTimeout), ClientDisconnectHandler()],
            idleTimeout: .nanoseconds(Int64(configuration.idleTimeout * 1e9)),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: headerBytes, maxHeaderListSize: headerBytes, maxHeaderFieldCount: 1000)))
    }
}

/// Closes a connection whose request body is not complete `timeout` after its head arrived.
final class RequestReadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                context.close(promise: nil)
            }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}

@available(*, unavailable)
extension RequestReadDeadlineHandler: Sendable {}
