import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A headless Chromium driven through the Chrome DevTools Protocol over a pipe
/// (`--remote-debugging-pipe`: the browser reads NUL-terminated JSON commands on fd 3 and
/// writes replies and events on fd 4).
///
/// Foundation's `Process` cannot hand a child extra file descriptors, so the browser is started
/// with `posix_spawn` and `posix_spawn_file_actions_adddup2`, in its own process group, which
/// `close()` kills. Every wait has a timeout.
final class BrowserSession: @unchecked Sendable {
    enum Failure: Error, CustomStringConvertible {
        case spawn(String)
        case timeout(String)
        case protocolError(method: String, message: String)
        case closed(String)
        case script(String)

        var description: String {
            switch self {
            case let .spawn(s): return "cannot start the browser: \(s)"
            case let .timeout(s): return "timed out: \(s)"
            case let .protocolError(m, s): return "\(m) failed: \(s)"
            case let .closed(s): return "the browser closed the pipe (\(s)); see its log"
            case let .script(s): return "script error: \(s)"
            }
        }
    }

    let pid: pid_t
    /// Where the browser's standard output and error go.
    let logPath: String
    private let commands: Int32
    private let replies: Int32
    private let profile: URL
    private let lock = NSLock()
    private var answers: [Int: [String: Any]] = [:]
    private var eof = false
    private var nextID = 0
    private var finished = false

    /// The browser to run: `$QUIVER_CHROMIUM`, else the first of chromium, chromium-browser,
    /// google-chrome, google-chrome-stable on `PATH`.
    static func executable() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let path = env["QUIVER_CHROMIUM"], !path.isEmpty { return FileManager.default.isExecutableFile(atPath: path) ? path : nil }
        let dirs = (env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for dir in dirs {
                let path = "\(dir)/\(name)"
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return nil
    }

    /// Starts the browser with an empty temporary profile and a 1280×900 window.
    init(executable: String, logPath: String) throws {
        self.logPath = logPath
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-chromium-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)

        // Our ends are close-on-exec and moved above 9, so dup2 onto 3 and 4 never meets one of them.
        func pipePair() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw Failure.spawn("pipe: \(String(cString: strerror(errno)))") }
            let r = fcntl(fds[0], F_DUPFD_CLOEXEC, 10), w = fcntl(fds[1], F_DUPFD_CLOEXEC, 10)
            closeFD(fds[0]); closeFD(fds[1])
            return (r, w)
        }
        let toBrowser = try pipePair(), fromBrowser = try pipePair()

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, toBrowser.read, 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser.write, 4)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let arguments = [
            executable, "--headless=new", "--no-sandbox", "--remote-debugging-pipe",
            "--user-data-dir=\(profile.path)", "--window-size=1280,900", "--no-first-run", "--no-default-browser-check",
            "--disable-gpu", "--disable-extensions", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage", "--mute-audio", "--password-store=basic", "about:blank",
        ]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        closeFD(toBrowser.read); closeFD(fromBrowser.write)
        guard rc == 0 else {
            closeFD(toBrowser.write); closeFD(fromBrowser.read)
            try? FileManager.default.removeItem(at: profile)
            throw Failure.spawn("posix_spawn \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        commands = toBrowser.write
        replies = fromBrowser.read
        let thread = Thread { [self] in readLoop() }
        thread.name = "cdp-reader"
        thread.start()
    }

    deinit { close() }

    /// Reads NUL-terminated messages until the browser closes its end.
    private func readLoop() {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(replies, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending.append(contentsOf: buffer[0..<n])
            while let end = pending.firstIndex(of: 0) {
                let message = Data(pending[0..<end])
                pending.removeSubrange(0...end)
                guard let object = (try? JSONSerialization.jsonObject(with: message)) as? [String: Any] else { continue }
                if let id = object["id"] as? Int {
                    lock.withLock { answers[id] = object }
                }
            }
        }
        lock.withLock { eof = true }
    }

    /// Sends a command and waits for its reply.
    /// - Returns: the reply's `result` object.
    /// - Throws: `Failure.protocolError` with the browser's message, `.timeout`, `.closed`.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:], session: String? = nil,
              timeout: TimeInterval = 10) async throws -> [String: Any] {
        let id: Int = lock.withLock { nextID += 1; return nextID }
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure.closed("writing \(method): \(String(cString: strerror(errno)))") }
            offset += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let (answer, ended): ([String: Any]?, Bool) = lock.withLock { (answers.removeValue(forKey: id), eof) }
            if let answer {
                if let error = answer["error"] as? [String: Any] {
                    throw Failure.protocolError(method: method, message: "\(error["message"] ?? "?") \(error["data"] ?? "")")
                }
                return answer["result"] as? [String: Any] ?? [:]
            }
            if ended { throw Failure.closed("waiting for \(method)") }
            if Date() > deadline { throw Failure.timeout("\(method) got no reply in \(timeout) s") }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    /// Evaluates `expression` in the page (promises awaited) and returns its value as JSON.
    func evaluate(_ expression: String, session: String, timeout: TimeInterval = 10) async throws -> Any? {
        let result = try await call("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true],
                                    session: session, timeout: timeout)
        if let details = result["exceptionDetails"] as? [String: Any] {
            let exception = (details["exception"] as? [String: Any])?["description"] as? String
            throw Failure.script(exception ?? (details["text"] as? String) ?? "\(details)")
        }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Polls `condition` (a JavaScript expression) until it is true.
    /// - Throws: `.timeout` naming `what`, with `diagnostic`'s value at that moment.
    func waitUntil(_ condition: String, session: String, timeout: TimeInterval, what: String,
                   diagnostic: String = "document.body ? document.body.innerText.slice(0, 600) : ''") async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let ok = try await evaluate("!!(\(condition))", session: session) as? Bool, ok { return }
            if Date() > deadline {
                let state: String
                do { state = String(describing: try await evaluate(diagnostic, session: session) ?? "nil") } catch { state = "(\(error))" }
                throw Failure.timeout("\(what) within \(timeout) s; page: \(state)")
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// Ends the browser: a `Browser.close` command, then SIGKILL to its process group if it is
    /// still there after 2 s. Safe to call more than once.
    func close() {
        let first: Bool = lock.withLock { defer { finished = true }; return !finished }
        guard first else { return }
        var message = [UInt8](#"{"id": 999999, "method": "Browser.close", "params": {}}"#.utf8)
        message.append(0)
        _ = message.withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
        var status: Int32 = 0
        var exited = false
        for _ in 0..<40 {
            if waitpid(pid, &status, WNOHANG) == pid { exited = true; break }
            usleep(50_000)
        }
        kill(-pid, SIGKILL)   // the renderer and helper processes share the group
        if !exited { kill(pid, SIGKILL); waitpid(pid, &status, 0) }
        closeFD(commands)
        // The reader sees the end of the pipe once the browser is gone; close its end after it.
        for _ in 0..<100 where !lock.withLock({ eof }) { usleep(10_000) }
        closeFD(replies)
        try? FileManager.default.removeItem(at: profile)
    }
}

private func closeFD(_ fd: Int32) { _ = close(fd) }
