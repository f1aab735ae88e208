import Foundation
import XCTest
import QuiverStore
@testable import QuiverMilvus

/// A Milvus Lite server killed in the middle of an ingest and started again: writes fail with
/// a clear error (no hang), the same store reconnects, and re-running the ingest with upsert
/// completes without duplicates. The test starts and kills its own server, from the
/// milvus-lite named by QUIVER_MILVUS_LITE_BIN (scripts/milvus-servers.sh writes it).
final class MilvusRestartTests: XCTestCase {
    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: a.sin_port))
    }

    func startLite(_ bin: String, data: String, port: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = ["server", "--data-dir", data, "--host", "127.0.0.1", "--port", String(port)]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func waitUntilUp(_ address: String) async throws -> MilvusStore {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do { return try await MilvusStore(address: address, timeout: 5) } catch {
                if ContinuousClock.now > deadline { throw error }
                try await Task.sleep(for: .milliseconds(300))
            }
        }
    }

    func testServerKilledMidIngestThenRestarted() async throws {
        guard let bin = ProcessInfo.processInfo.environment["QUIVER_MILVUS_LITE_BIN"] else {
            if Backend.required { XCTFail("QUIVER_REQUIRE_MILVUS=1 but QUIVER_MILVUS_LITE_BIN is not set") }
            throw XCTSkip("QUIVER_MILVUS_LITE_BIN not set (scripts/milvus-servers.sh writes it)")
        }
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-mv-restart-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let port = freePort()
        let address = "milvus://127.0.0.1:\(port)"
        var server = try startLite(bin, data: data, port: port)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() } }
        let db = try await waitUntilUp(address)
        let c = try await db.createCollection("restart", schema: .quick(dimension: 8))
        let vs = vectors(400, dim: 8, seed: 21)
        let batches = stride(from: 0, to: 400, by: 40).map { s in (s..<(s + 40)).map { Entity(id: .int(Int64($0)), vector: vs[$0], fields: ["i": .int(Int64($0))]) } }

        // Ingest half, then the server dies.
        for b in batches.prefix(5) { _ = try await c.upsert(b, models: [:]) }
        kill(server.processIdentifier, SIGKILL)  // killed, as by a crash (Lite ignores SIGTERM while clients are connected)
        server.waitUntilExit()
        let start = ContinuousClock.now
        do {
            _ = try await c.upsert(batches[5], models: [:])
            XCTFail("a write to a stopped server succeeded")
        } catch let e as MilvusError {
            guard case let .unreachable(s, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(s, address)
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(15))  // retried within 2 × timeout, no hang

        // Restarted on the same data: the same store and collection reconnect; the re-run of
        // the whole ingest completes and nothing is duplicated.
        server = try startLite(bin, data: data, port: port)
        let probe = try await waitUntilUp(address)
        try await probe.close()
        for b in batches { _ = try await c.upsert(b, models: [:]) }
        let n = try await c.count(filter: nil, where: nil)
        XCTAssertEqual(n, 400)
        let rows = try await c.query(filter: "i >= 395", where: nil, limit: nil, offset: 0, outputFields: ["i"])
        XCTAssertEqual(rows.map(\.id), (395..<400).map { .int(Int64($0)) })
        let hits = try await c.search(SearchRequest(vectors: [vs[123]], limit: 1))
        XCTAssertEqual(hits[0].first?.id, .int(123))
        try await db.close()
    }
}
