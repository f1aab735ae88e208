import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One HTTP request as the test server saw it (header names lowercased).
struct RecordedRequest: Sendable {
    let method: String
    let path: String
    let headers: [String: String]
}

/// What the test server answers. `cutAfter` sends the headers (with the full Content-Length) and only
/// that many body bytes, then closes the connection: a transfer cut in the middle.
struct TestResponse: Sendable {
    var status: Int
    var headers: [String: String] = [:]
    var body: Data = Data()
    var cutAfter: Int? = nil
    /// For HEAD: send the headers (including Content-Length of `body`) but no body.
    var headOnly = false
}

/// A minimal HTTP/1.1 server on 127.0.0.1 with an ephemeral port, on plain POSIX sockets: one thread
/// accepts, one thread per connection answers one request and closes (`Connection: close`). Enough for
/// the client under test and fully in the test's control (byte-exact cuts), with no package dependency.
final class TestHTTPServer: @unchecked Sendable {
    private let listenFD: Int32
    let port: Int
    private let lock = NSLock()
    private var recorded: [RecordedRequest] = []
    private let handler: @Sendable (RecordedRequest) -> TestResponse

    init(handler: @escaping @Sendable (RecordedRequest) -> TestResponse) throws {
        self.handler = handler
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        listenFD = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    /// `http://127.0.0.1:PORT`.
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Requests received so far, in order.
    var requests: [RecordedRequest] { lock.lock(); defer { lock.unlock() }; return recorded }

    func stop() {
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listenFD, nil, nil)
            if client < 0 { return }
            let t = Thread { [self] in serve(client) }
            t.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return }
            buffer.append(contentsOf: chunk[0..<n])
            if buffer.count >= 4, (0...(buffer.count - 4)).contains(where: { Array(buffer[$0..<$0 + 4]) == end }) { break }
            if buffer.count > 65536 { return }
        }
        let text = String(decoding: buffer, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = RecordedRequest(method: String(parts[0]), path: String(parts[1]), headers: headers)
        lock.lock(); recorded.append(request); lock.unlock();

        let response = handler(request)
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        var h = response.headers
        h["Content-Length"] = h["Content-Length"] ?? String(response.body.count)
        h["Connection"] = "close"
        for (k, v) in h.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        guard sendAll(fd, Data(head.utf8)) else { return }
        if request.method == "HEAD" || response.headOnly { return }
        var body = response.body
        if let cut = response.cutAfter { body = body.prefix(cut) }
        _ = sendAll(fd, body)
        if response.cutAfter != nil { usleep(50_000) }
    }

    private func sendAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                #if canImport(Glibc)
                let n = send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                #else
                let n = send(fd, raw.baseAddress! + off, raw.count - off, 0)
                #endif
                if n <= 0 { return false }
                off += n
            }
            return true
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 206: return "Partial Content"
        case 302: return "Found"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 416: return "Range Not Satisfiable"
        default: return "Status"
        }
    }
}
