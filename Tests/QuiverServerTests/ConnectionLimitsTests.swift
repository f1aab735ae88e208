import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import QuiverServer
#if canImport(Glibc)
import Glibc
#endif

/// Slow-loris and oversized headers: the server closes such connections within its limits while
/// it keeps answering other clients.
final class ConnectionLimitsTests: XCTestCase {
    /// A server with short limits, served on a loopback port.
    func withServer(_ body: @escaping @Sendable (Int, any TestClientProtocol) async throws -> Void) async throws {
        var config = ServerConfiguration()
        config.logRequests = false
        config.databasePath = NSTemporaryDirectory() + "quiver-limits-\(UUID().uuidString).db"
        config.idleTimeout = 1
        config.requestReadTimeout = 2
        config.maxHeaderBytes = 16 << 10
        let server = QuiverServer(configuration: config)
        let app = Application(router: server.buildRouter(), server: server.httpServer,
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await body(try XCTUnwrap(client.port), client)
        }
    }

    /// The answer to `GET /healthz` on a new connection.
    static func healthzOnFreshConnection(_ port: Int) throws -> String {
        let s = try RawSocket(port: port)
        _ = s.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        return String(decoding: s.readUntilClosed(seconds: 5).bytes, as: UTF8.self)
    }

    func testHeadersSentByteByByteAreCutOffWhileOthersAreServed() async throws {
        try await withServer { port, client in
            let socket = try RawSocket(port: port)
            let started = Date()
            let head = Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
            var closed = false
            var sent = 0
            // One byte every 100 ms: the head would take minutes; the 1 s idle limit must end it.
            while Date().timeIntervalSince(started) < 10 {
                let byte = sent < head.count ? head[sent] : UInt8(ascii: "a")
                if !socket.send([byte]) { closed = true; break }
                sent += 1
                if sent % 5 == 0 {
                    let r = try await client.get("/healthz")
                    XCTAssertEqual(r.status, .ok, "another client is served meanwhile")
                }
                if socket.peerClosed() { closed = true; break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            let elapsed = Date().timeIntervalSince(started)
            XCTAssertTrue(closed, "the server kept a connection trickling its headers for \(elapsed) s")
            XCTAssertLessThan(elapsed, 5, "closed only after \(elapsed) s (idle limit 1 s)")
        }
    }

    func testSlowBodyIsCutOffAtTheReadDeadline() async throws {
        try await withServer { port, client in
            let socket = try RawSocket(port: port)
            let started = Date()
            XCTAssertTrue(socket.send(Array("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nContent-Type: application/json\r\n\r\n".utf8)))
            var closed = false
            // A byte every 200 ms keeps the connection active (never idle 1 s), so only the 2 s
            // read deadline can end it.
            while Date().timeIntervalSince(started) < 10 {
                if !socket.send([UInt8(ascii: " ")]) || socket.peerClosed() { closed = true; break }
                try await Task.sleep(nanoseconds: 200_000_000)
            }
            let elapsed = Date().timeIntervalSince(started)
            XCTAssertTrue(closed, "a body trickled for \(elapsed) s was not cut off")
            XCTAssertLessThan(elapsed, 6)
            // Another client is served: on a fresh connection, since the test client's keep-alive
            // connection sat idle past the 1 s limit meanwhile and was (rightly) closed.
            let other = try Self.healthzOnFreshConnection(port)
            XCTAssertTrue(other.hasPrefix("HTTP/1.1 200"), other)
        }
    }

    func testOversizedHeaderClosesTheConnection() async throws {
        try await withServer { port, client in
            let socket = try RawSocket(port: port)
            let huge = String(repeating: "a", count: 64 << 10)
            _ = socket.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(huge)\r\n\r\n".utf8))
            let answer = socket.readUntilClosed(seconds: 5)
            XCTAssertTrue(answer.closed, "the connection stayed open after a 64 KiB header (limit 16 KiB)")
            let text = String(decoding: answer.bytes, as: UTF8.self)
            XCTAssertFalse(text.hasPrefix("HTTP/1.1 200"), "a 64 KiB header was answered: \(text.prefix(80))")
            let other = try await client.get("/healthz")
            XCTAssertEqual(other.status, .ok, "other clients are still served")
            // A request within the limit on a new connection is answered.
            let ok = try RawSocket(port: port)
            _ = ok.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Small: \(String(repeating: "a", count: 1000))\r\nConnection: close\r\n\r\n".utf8))
            XCTAssertTrue(String(decoding: ok.readUntilClosed(seconds: 5).bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        }
    }
}

/// A blocking loopback TCP socket for sending requests byte by byte.
final class RawSocket: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 { throw XCTSkip("cannot connect to 127.0.0.1:\(port)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// Hangs up as a client that goes away does: shuts both directions (the server reads EOF).
    func hangUp() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// False when the peer has closed (EPIPE/ECONNRESET).
    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// True when the peer closed the connection (a read sees EOF or a reset, without waiting).
    func peerClosed() -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return false }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Reads until EOF or `seconds` pass.
    func readUntilClosed(seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        let end = Date().addingTimeInterval(seconds)
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while Date() < end {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return (out, true) }
            out += buf[0..<n]
        }
        return (out, false)
    }
}
