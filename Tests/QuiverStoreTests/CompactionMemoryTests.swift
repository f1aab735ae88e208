import Foundation
import XCTest
@testable import QuiverStore

/// Compaction streams rows from the old segments into the new one: its peak memory does not
/// grow with the row count. Each size runs in a child process (this test binary again), which
/// samples its anonymous resident memory (`RssAnon` in /proc/self/status, every millisecond)
/// while compacting and also reports the peak RSS (`VmHWM`, reset just before through
/// /proc/self/clear_refs; it includes the mapped segment pages, which the kernel can drop).
final class CompactionMemoryTests: XCTestCase {
    static let childEnv = "QUIVER_STORE_CHILD_COMPACT"
    static let dimension = 32
    /// The most anonymous memory compaction may add, whatever the row count.
    static let budgetKB = 24 * 1024

    /// Child: with `_BUILD`, builds a collection of `_ROWS` rows in sealed segments and deletes
    /// every tenth; without, opens it and compacts it while sampling its memory.
    func testChildCompact() async throws {
        guard let dir = ProcessInfo.processInfo.environment[Self.childEnv],
              let rows = Int64(ProcessInfo.processInfo.environment[Self.childEnv + "_ROWS"] ?? "") else { return }
        if ProcessInfo.processInfo.environment[Self.childEnv + "_BUILD"] != nil {
            // A process of its own, so the memory it frees stays out of the compacting process.
            let store = try VectorStore(path: dir, options: StoreOptions(flushRows: 10_000, flushBatches: 1000))
            let c = try await store.createCollection("docs", schema: docsSchema(dimension: Self.dimension))
            for from in stride(from: Int64(1), through: rows, by: 5000) {
                try await c.insert((from..<min(from + 5000, rows + 1)).map { docsEntity($0, dimension: Self.dimension) })
            }
            try await c.delete(ids: stride(from: Int64(10), through: rows, by: 10).map { .int($0) })
            try await store.close()
            emitLine("BUILT")
            return
        }
        let store = try VectorStore(path: dir)
        let c = try await store.collection("docs")
        let rssBefore = procStatusKB("VmRSS")
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let anon = try await peakAnonymousIncreaseKB { try await c.compact() }
        let hwm = procStatusKB("VmHWM")
        let n = try await c.count()
        emitLine("COMPACTED rows=\(n) anonDeltaKB=\(anon) hwmDeltaKB=\(hwm - rssBefore)")
        try await store.close()
    }

    func compactInChild(rows: Int) throws -> (anon: Int, hwm: Int) {
        let dir = try makeTempDir(self, "compact-mem")
        let (b, built) = try launchChildTest("QuiverStoreTests.CompactionMemoryTests/testChildCompact",
                                             environment: [Self.childEnv: dir, Self.childEnv + "_ROWS": "\(rows)", Self.childEnv + "_BUILD": "1"])
        let buildText = String(decoding: built.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        b.waitUntilExit()
        XCTAssertTrue(buildText.contains("BUILT"), buildText)
        let (p, out) = try launchChildTest("QuiverStoreTests.CompactionMemoryTests/testChildCompact",
                                           environment: [Self.childEnv: dir, Self.childEnv + "_ROWS": "\(rows)"])
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("COMPACTED") }) else {
            XCTFail("child printed no result: \(text)"); return (0, 0)
        }
        var values: [String: Int] = [:]
        for part in line.split(separator: " ").dropFirst() {
            let kv = part.split(separator: "=")
            if kv.count == 2 { values[String(kv[0])] = Int(kv[1]) }
        }
        XCTAssertEqual(values["rows"], rows - rows / 10, String(line))
        print("compaction of \(rows) rows (\(Self.dimension)-d, 4 scalar fields, dynamic field): peak anonymous memory +\(values["anonDeltaKB"] ?? -1) kB, peak RSS +\(values["hwmDeltaKB"] ?? -1) kB")
        return (values["anonDeltaKB"] ?? .max, values["hwmDeltaKB"] ?? .max)
    }

    func testCompactionMemoryDoesNotGrowWithRows() throws {
        #if !os(Linux)
        throw XCTSkip("reads /proc/self/status")
        #else
        let small = try compactInChild(rows: 20_000)
        let large = try compactInChild(rows: 100_000)
        XCTAssertLessThan(small.anon, Self.budgetKB)
        XCTAssertLessThan(large.anon, Self.budgetKB, "compaction of 100,000 rows added \(large.anon) kB of anonymous memory")
        // Five times the rows: the extra memory stays within a few MB of the small run's.
        XCTAssertLessThan(large.anon, small.anon + 8 * 1024)
        #endif
    }
}
