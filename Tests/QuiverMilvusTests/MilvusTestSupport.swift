import Foundation
import XCTest
import QuiverStore
@testable import QuiverMilvus

/// The backends the behavioural suite runs against: the embedded store always, each Milvus
/// server when its environment variable names it (QUIVER_MILVUS_LITE, QUIVER_MILVUS_STANDALONE
/// with QUIVER_MILVUS_STANDALONE_TOKEN). Without them the server runs are skipped, unless
/// QUIVER_REQUIRE_MILVUS=1 (then they fail).
enum Backend: String, CaseIterable, Sendable {
    case embedded, lite, standalone

    static var env: [String: String] { ProcessInfo.processInfo.environment }
    static var required: Bool { env["QUIVER_REQUIRE_MILVUS"] == "1" }

    /// `host:port` of the server, nil when not configured.
    var hostPort: String? {
        switch self {
        case .embedded: return nil
        case .lite: return Self.env["QUIVER_MILVUS_LITE"].flatMap { $0.isEmpty ? nil : $0 }
        case .standalone: return Self.env["QUIVER_MILVUS_STANDALONE"].flatMap { $0.isEmpty ? nil : $0 }
        }
    }
    var address: String? { hostPort.map { $0.contains("://") ? $0 : "milvus://" + $0 } }
    var token: String? { self == .standalone ? Self.env["QUIVER_MILVUS_STANDALONE_TOKEN"] : nil }

    /// Opens the backend, or nil when it is a server that is not configured (a failure when
    /// QUIVER_REQUIRE_MILVUS=1).
    func open(consistency: MilvusConsistency = .strong, file: StaticString = #filePath, line: UInt = #line) async throws -> (any VectorDatabase)? {
        switch self {
        case .embedded:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-mv-\(UUID().uuidString)").path
            return try VectorStore(path: dir)
        case .lite, .standalone:
            guard let address else {
                if Self.required { XCTFail("QUIVER_REQUIRE_MILVUS=1 but \(self == .lite ? "QUIVER_MILVUS_LITE" : "QUIVER_MILVUS_STANDALONE") is not set", file: file, line: line) }
                return nil
            }
            return try await MilvusStore(address: address, token: token, timeout: 20, loadTimeout: 120, consistency: consistency)
        }
    }

    static var servers: [Backend] { [.lite, .standalone] }
}

/// A collection name unique to this run and test (letters, digits, `_`).
func uniqueName(_ test: String) -> String {
    let clean = test.filter { $0.isLetter || $0.isNumber }
    return "qv_\(clean.suffix(30))_\(UInt32.random(in: 0...UInt32.max))"
}

/// Deterministic vectors with values in -1...1.
func vectors(_ n: Int, dim: Int, seed: UInt64) -> [[Float]] {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    func next() -> Float {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(s >> 33) % 2001 - 1000) / 1000
    }
    return (0..<n).map { _ in (0..<dim).map { _ in next() } }
}

/// A hit as a comparable value: id and fields exactly, score to 1e-4 (both sides score in float32).
struct HitSummary: Equatable, CustomStringConvertible {
    var id: PrimaryKey
    var score: Float
    var fields: [String: FieldValue]
    static func == (a: HitSummary, b: HitSummary) -> Bool {
        a.id == b.id && abs(a.score - b.score) <= 1e-4 && a.fields == b.fields
    }
    var description: String { "\(id):\(score) \(fields)" }
}

func summarize(_ hits: [[SearchHit]]) -> [[HitSummary]] {
    hits.map { $0.map { HitSummary(id: $0.id, score: $0.score, fields: $0.fields) } }
}
