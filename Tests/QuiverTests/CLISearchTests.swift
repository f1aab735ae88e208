import XCTest
import QuiverTestSupport

/// `quiver ingest` and `quiver search QUERY` end to end, through the built executable (next to
/// the test bundle: `swift build --build-tests` builds it too).
final class CLISearchTests: XCTestCase {
    private func quiver() throws -> URL {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("quiver")
        #if os(macOS)
        let url = Bundle(for: Self.self).bundleURL.deletingLastPathComponent().appendingPathComponent("quiver")
        #else
        let url = exe
        #endif
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            let m = "the quiver executable is not built at \(url.path)"
            if TestPaths.modelsRequired { XCTFail(m) }
            throw XCTSkip(m)
        }
        return url
    }

    private func run(_ args: [String], env: [String: String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try quiver()
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: r, as: UTF8.self))
    }

    func testIngestThenTextSearchAsJSON() throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        try "dog: a domesticated carnivore kept as a pet\nviolin: a bowed stringed instrument\nbank: a financial institution that accepts deposits\n"
            .write(to: docs.appendingPathComponent("glosses.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: docs.appendingPathComponent("gone.txt").path, withDestinationPath: "/nonexistent/gone")
        let env = ["QUIVER_DB": dir.appendingPathComponent("db").path, "QUIVER_HOME": TestPaths.modelHome.path]

        let ingest = try run(["ingest", "--split", "lines", "--no-progress", docs.path], env: env)
        XCTAssertEqual(ingest.status, 1, "a failed file makes the exit code 1: \(ingest.err)")
        XCTAssertTrue(ingest.err.contains("1 new"), ingest.err)
        XCTAssertTrue(ingest.err.contains("gone.txt: broken symbolic link"), ingest.err)

        let search = try run(["search", "--format", "json", "--limit", "2", "a musical instrument played with a bow"], env: env)
        XCTAssertEqual(search.status, 0, search.err)
        let hits = try JSONSerialization.jsonObject(with: Data(search.out.utf8)) as! [[String: Any]]
        XCTAssertEqual(hits.count, 2)
        XCTAssertEqual(hits[0]["text"] as? String, "violin: a bowed stringed instrument")
        XCTAssertEqual(hits[0]["start"] as? Int, 44)
        XCTAssertEqual(hits[0]["end"] as? Int, 79)
        XCTAssertEqual(hits[0]["modality"] as? String, "text")

        let table = try run(["search", "--limit", "1", "money"], env: env)
        XCTAssertTrue(table.out.contains("bank: a financial institution"), table.out)

        let none = try run(["search", "--collection", "other", "money"], env: env)
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.err.contains("run `quiver ingest` first"), none.err)
    }
}
