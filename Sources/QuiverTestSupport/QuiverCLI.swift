import Foundation
import XCTest

/// The built `quiver` executable, run as a user runs it (next to the test bundle:
/// `swift build --build-tests` builds it too).
public enum QuiverCLI {
    /// What a run printed and its exit code.
    public struct Outcome: Sendable {
        /// The exit code.
        public var status: Int32
        /// Standard output.
        public var out: String
        /// Standard error.
        public var err: String
    }

    /// The executable; skips the test when it is not built (fails it with `QUIVER_REQUIRE_MODELS=1`).
    public static func executable(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        #if os(macOS)
        let url = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL.deletingLastPathComponent()
            .appendingPathComponent("quiver") ?? URL(fileURLWithPath: "quiver")
        #else
        let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("quiver")
        #endif
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            let m = "the quiver executable is not built at \(url.path)"
            if TestPaths.modelsRequired { XCTFail(m, file: file, line: line) }
            throw XCTSkip(m)
        }
        return url
    }

    /// Runs `quiver ARGS` with `QUIVER_HOME` set to the test model home, `env` added to this
    /// process' environment, in `cwd` (default: this process'), and waits for it.
    public static func run(_ args: [String], env: [String: String] = [:], cwd: URL? = nil,
                           file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let p = Process()
        p.executableURL = try executable(file: file, line: line)
        if let cwd { p.currentDirectoryURL = cwd }
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        e["QUIVER_HOME"] = TestPaths.modelHome.path
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        // Read both pipes at once: a child that fills one while the other is read would block.
        let errText = PipeText(err)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: errText.wait())
    }
}

/// A pipe read to its end on a thread of its own.
final class PipeText: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    init(_ pipe: Pipe) {
        Thread { [self] in data = pipe.fileHandleForReading.readDataToEndOfFile(); done.signal() }.start()
    }
    /// Waits for the end of the pipe; its text.
    func wait() -> String { done.wait(); return String(decoding: data, as: UTF8.self) }
}
