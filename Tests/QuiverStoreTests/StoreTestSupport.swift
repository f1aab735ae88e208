import Foundation
import XCTest
@testable import QuiverStore

/// A fresh temporary directory, removed by the test's teardown.
func makeTempDir(_ test: XCTestCase, _ name: String = "store") throws -> String {
    let dir = NSTemporaryDirectory() + "quiverstore-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// A deterministic pseudo-random vector for `seed`.
func testVector(_ seed: Int64, dimension: Int) -> [Float] {
    var x = UInt64(bitPattern: seed) &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678
    return (0..<dimension).map { _ in
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        return Float(Int64(x % 2001) - 1000) / 1000
    }
}

/// The schema most tests use: int64 id, a 8-d vector bound to a model, age/score/name/tags fields.
func docsSchema(metric: Metric = .cosine, dimension: Int = 8, model: String = "test-model") -> CollectionSchema {
    CollectionSchema(
        primaryKey: PrimaryKeyField(name: "id", type: .int64),
        vectorFields: [VectorField(name: "embedding", dimension: dimension, metric: metric,
                                   model: EmbeddingModel(id: model, dimension: dimension))],
        scalarFields: [ScalarField(name: "age", type: .int64),
                       ScalarField(name: "score", type: .double, nullable: true),
                       ScalarField(name: "name", type: .string, nullable: true, defaultValue: .string("anon")),
                       ScalarField(name: "tags", type: .json, nullable: true)])
}

func docsEntity(_ id: Int64, dimension: Int = 8) -> Entity {
    Entity(id: .int(id), vectors: ["embedding": testVector(id, dimension: dimension)],
           fields: ["age": .int(id % 50), "score": .double(Double(id) / 2), "name": .string("doc\(id)"),
                    "tags": .json(.array([.string("t\(id % 3)")])), "color": .string(id % 2 == 0 ? "red" : "blue")])
}

/// Asserts that `body` throws a `StoreError` whose message contains `text`.
func assertStoreError(_ text: String, file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> Void) async {
    do {
        try await body()
        XCTFail("expected an error containing \"\(text)\"", file: file, line: line)
    } catch let e as StoreError {
        XCTAssertTrue(e.description.contains(text), "error \"\(e.description)\" does not contain \"\(text)\"", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// Exact top-k by brute force, for checking search results.
func bruteForce(_ query: [Float], _ items: [(Int64, [Float])], metric: Metric, k: Int) -> [(Int64, Float)] {
    func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    let scored = items.map { (id, v) -> (Int64, Float) in
        switch metric {
        case .innerProduct: return (id, dot(query, v))
        case .l2: return (id, zip(query, v).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
        case .cosine: return (id, dot(query, v) / (dot(query, query).squareRoot() * dot(v, v).squareRoot()))
        }
    }
    return Array(scored.sorted { metric.higherIsCloser ? $0.1 > $1.1 : $0.1 < $1.1 }.prefix(k))
}

/// Runs this test binary again, filtered to one test, with extra environment; returns the process
/// with its stdout piped.
func launchChildTest(_ testName: String, environment: [String: String]) throws -> (Process, Pipe) {
    let p = Process()
    let exe = CommandLine.arguments[0]
    #if os(macOS)
    p.executableURL = URL(fileURLWithPath: "/usr/bin/xcrun")
    p.arguments = ["xctest", "-XCTest", testName, Bundle(for: StoreTestBundleMarker.self).bundlePath]
    #else
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = [testName]
    #endif
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle(forWritingAtPath: "/dev/null")
    try p.run()
    return (p, out)
}

final class StoreTestBundleMarker {}

/// Writes a line to stdout unbuffered (children report acknowledgements this way).
func emitLine(_ s: String) {
    let bytes = Array((s + "\n").utf8)
    bytes.withUnsafeBytes { b in var off = 0; while off < b.count { let n = write(1, b.baseAddress! + off, b.count - off); if n <= 0 { break }; off += n } }
}

/// A `kB` field of /proc/self/status (`RssAnon`, `VmRSS`, `VmHWM`; 0 when absent).
func procStatusKB(_ field: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }
    return 0
}

/// Runs `body` while a thread samples this process' anonymous resident memory (`RssAnon`) every
/// millisecond; returns the peak increase over the value before, in kB.
func peakAnonymousIncreaseKB(_ body: () async throws -> Void) async throws -> Int {
    let before = procStatusKB("RssAnon")
    let peak = Locked(before), done = Locked(false)
    let sampler = Thread {
        while !done.withLock({ $0 }) {
            let now = procStatusKB("RssAnon")
            peak.withLock { $0 = max($0, now) }
            usleep(1000)
        }
    }
    sampler.start()
    do { try await body() } catch { done.withLock { $0 = true }; throw error }
    done.withLock { $0 = true }
    usleep(5000)
    peak.withLock { $0 = max($0, procStatusKB("RssAnon")) }
    return peak.withLock { $0 } - before
}
