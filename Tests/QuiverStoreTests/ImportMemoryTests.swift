import Foundation
import XCTest
@testable import QuiverStore

/// `quiver import` streams its files: the vectors from the memory-mapped NPY file and the ids and
/// metadata files a batch at a time, so its peak memory does not grow with the file size. Each size
/// runs in a child process (this test binary again) that samples its anonymous resident memory
/// (`RssAnon`: the mapped file pages, which the kernel can drop, are not in it) while importing.
final class ImportMemoryTests: XCTestCase {
    static let childEnv = "QUIVER_STORE_CHILD_IMPORT"
    static let dimension = 128
    /// The most anonymous memory an import may add, whatever the row count (the store's own
    /// per-row bookkeeping, its primary key map, grows a little with the rows).
    static let budgetKB = 32 * 1024

    /// Child: imports the files of `_DIR` into a store there while sampling its memory.
    func testChildImport() async throws {
        guard let dir = ProcessInfo.processInfo.environment[Self.childEnv] else { return }
        let store = try VectorStore(path: dir + "/db", options: StoreOptions(flushRows: 5000, flushBatches: 1000))
        let options = RawVectorTools.ImportOptions(database: dir + "/db", collection: "vectors", vectorsPath: dir + "/v.npy",
                                                   idsPath: dir + "/ids.txt", metadataPath: dir + "/meta.jsonl", batchSize: 2000)
        var imported = 0
        let anon = try await peakAnonymousIncreaseKB {
            imported = try await RawVectorTools.importVectors(options, into: store)
        }
        let c = try await store.collection("vectors")
        let n = try await c.count()
        let probe = try await c.get(ids: [.string("doc-7")], outputFields: ["*"]).first
        let tag: String
        if case let .string(t)? = probe?.fields["tag"] { tag = t } else { tag = "none" }
        emitLine("IMPORTED imported=\(imported) rows=\(n) tag7=\(tag) anonDeltaKB=\(anon)")
        try await store.close()
    }

    func importInChild(rows: Int) throws -> Int {
        let dir = try makeTempDir(self, "import-mem")
        let values = (0..<rows * Self.dimension).map { Float(($0 * 7919) % 1000) / 1000 }
        try NPY.write(NPYMatrix(rows: rows, columns: Self.dimension, values: values), to: dir + "/v.npy")
        try (0..<rows).map { "doc-\($0)" }.joined(separator: "\n").write(toFile: dir + "/ids.txt", atomically: true, encoding: .utf8)
        try (0..<rows).map { "{\"tag\": \"t\($0 % 10)\", \"n\": \($0)}" }.joined(separator: "\n")
            .write(toFile: dir + "/meta.jsonl", atomically: true, encoding: .utf8)
        let (p, out) = try launchChildTest("QuiverStoreTests.ImportMemoryTests/testChildImport", environment: [Self.childEnv: dir])
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("IMPORTED") }) else {
            XCTFail("child printed no result: \(text)"); return .max
        }
        var fields: [String: String] = [:]
        for part in line.split(separator: " ").dropFirst() {
            let kv = part.split(separator: "=")
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        XCTAssertEqual(fields["imported"], "\(rows)", String(line))
        XCTAssertEqual(fields["rows"], "\(rows)", String(line))
        XCTAssertEqual(fields["tag7"], "t7", "metadata line 8 belongs to id doc-7")
        let anon = Int(fields["anonDeltaKB"] ?? "") ?? .max
        print("import of \(rows) rows (\(Self.dimension)-d float32, string ids, JSON metadata): peak anonymous memory +\(anon) kB")
        return anon
    }

    func testImportMemoryDoesNotGrowWithRows() throws {
        #if !os(Linux)
        throw XCTSkip("reads /proc/self/status")
        #else
        let small = try importInChild(rows: 20_000)
        let large = try importInChild(rows: 100_000)   // a 51 MB vectors file
        XCTAssertLessThan(small, Self.budgetKB)
        XCTAssertLessThan(large, Self.budgetKB, "an import of 100,000 rows added \(large) kB of anonymous memory")
        // Five times the rows: the extra memory stays within a few MB of the small import's.
        XCTAssertLessThan(large, small + 10 * 1024)
        #endif
    }
}
