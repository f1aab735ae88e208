import XCTest
@testable import QuiverStore

final class PersistenceTests: XCTestCase {
    /// Copies a live store directory: what a crash at this moment leaves on disk (every write
    /// acknowledged so far has been fsync'd, nothing was flushed at close).
    func crashImage(of dir: String) throws -> String {
        let copy = try makeTempDir(self, "crash")
        try FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: dir, toPath: copy)
        return copy
    }

    func walFiles(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("wal-") }.sorted().map { dir + "/" + $0 }
    }

    func flipByte(_ path: String, at offset: Int) throws {
        var b = try Data(contentsOf: URL(fileURLWithPath: path))
        b[offset] ^= 0x5A
        try b.write(to: URL(fileURLWithPath: path))
    }

    func testPersistenceAcrossCloseAndReopen() async throws {
        let dir = try makeTempDir(self)
        var store = try VectorStore(path: dir)
        var c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert((1...50).map { docsEntity($0) })
        try await c.createIndex(kind: .flat)
        try await c.insert((51...80).map { docsEntity($0) })
        try await c.delete(ids: [.int(3), .int(60)])
        try await c.upsert([docsEntity(4)])
        let query = SearchRequest(vectors: [testVector(999, dimension: 8), testVector(5, dimension: 8)], limit: 5, outputFields: ["*"])
        let before = try await c.search(query)
        try await store.close()

        store = try VectorStore(path: dir)
        c = try await store.collection("docs")
        let n = try await c.count()
        XCTAssertEqual(n, 78)
        let after = try await c.search(query)
        XCTAssertEqual(after, before)
        let rows = try await c.get(ids: [.int(3), .int(60), .int(80)], outputFields: ["*", "embedding"])
        XCTAssertEqual(rows.map(\.id), [.int(80)])
        XCTAssertEqual(rows[0].vectors["embedding"], testVector(80, dimension: 8))
        XCTAssertEqual(rows[0].fields["tags"], .json(.array([.string("t2")])))
        XCTAssertEqual(c.indexes(), [IndexInfo(field: "embedding", kind: .flat)])
        // Closing flushed everything: no growing data after reopen.
        XCTAssertTrue(c.snapshot.batches.isEmpty)
        try await store.close()
    }

    func testWALReplayAfterCrashWithTornTail() async throws {
        let dir = try makeTempDir(self)
        let store = try VectorStore(path: dir)
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert((1...10).map { docsEntity($0) })
        try await c.flush()
        XCTAssertEqual(c.snapshot.segments.count, 1)
        for i in Int64(11)...20 { try await c.insert([docsEntity(i)]) }  // one WAL record each
        try await c.delete(ids: [.int(2)])
        let image = try crashImage(of: dir)
        try await store.close()

        // The image replays the WAL over the manifest.
        let colDir = image + "/collections/docs"
        let wal = try walFiles(colDir)
        XCTAssertEqual(wal.count, 1)
        do {
            let s = try VectorStore(path: image)
            let c2 = try await s.collection("docs")
            let n = try await c2.count()
            XCTAssertEqual(n, 19)
            let gone = try await c2.get(ids: [.int(2)])
            XCTAssertTrue(gone.isEmpty)
            try await s.close()
        }
        try await tornTailScenario()
    }

    /// Writes records, takes a crash image, cuts its last WAL record short, and reopens.
    func tornTailScenario() async throws {
        let dir = try makeTempDir(self)
        let store = try VectorStore(path: dir)
        let c = try await store.createCollection("docs", schema: docsSchema())
        for i in Int64(1)...12 { try await c.insert([docsEntity(i)]) }
        let image = try crashImage(of: dir)
        try await store.close()
        let wal = try walFiles(image + "/collections/docs").last!
        let size = try FileManager.default.attributesOfItem(atPath: wal)[.size] as! Int
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: wal))
        try h.truncate(atOffset: UInt64(size - 7))
        try h.close()
        let s = try VectorStore(path: image)
        let c2 = try await s.collection("docs")
        var n = try await c2.count()
        XCTAssertEqual(n, 11, "the torn 12th insert is dropped, the first 11 stay")
        // Writing after recovery appends at the truncated end and survives another reopen.
        try await c2.insert([docsEntity(12), docsEntity(13)])
        let image2 = try crashImage(of: image)
        try await s.close()
        let s2 = try VectorStore(path: image2)
        let c3 = try await s2.collection("docs")
        n = try await c3.count()
        XCTAssertEqual(n, 13)
        try await s2.close()
    }

    func testCorruptMiddleWALRecordIsAnError() async throws {
        let dir = try makeTempDir(self)
        let store = try VectorStore(path: dir)
        let c = try await store.createCollection("docs", schema: docsSchema())
        for i in Int64(1)...5 { try await c.insert([docsEntity(i)]) }
        let image = try crashImage(of: dir)
        let image2 = try crashImage(of: dir)
        try await store.close()
        let wal = try walFiles(image + "/collections/docs").last!
        try flipByte(wal, at: WriteAheadLog.headerSize + 8 + 20)  // inside the first record's payload
        await assertStoreError("fails its checksum and") {
            let s = try VectorStore(path: image)
            _ = try await s.collection("docs")
        }
        // A zero-filled tail (file extended, data never written) is a torn write, not corruption.
        let wal2 = try walFiles(image2 + "/collections/docs").last!
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: wal2))
        try h.seekToEnd(); try h.write(contentsOf: Data(count: 100)); try h.close()
        let s = try VectorStore(path: image2)
        let c2 = try await s.collection("docs")
        let n = try await c2.count()
        XCTAssertEqual(n, 5)
        try await s.close()
    }

    func testCorruptSegmentAndManifestAreDetected() async throws {
        let dir = try makeTempDir(self)
        let store = try VectorStore(path: dir)
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert((1...30).map { docsEntity($0) })
        try await store.close()
        let colDir = dir + "/collections/docs"
        let seg = try FileManager.default.contentsOfDirectory(atPath: colDir).first { $0.hasPrefix("seg-") }!
        let segPath = colDir + "/" + seg
        let size = try FileManager.default.attributesOfItem(atPath: segPath)[.size] as! Int
        let original = try Data(contentsOf: URL(fileURLWithPath: segPath))
        try flipByte(segPath, at: size - 3)
        await assertStoreError("fails its checksum") {
            let s = try VectorStore(path: dir)
            _ = try await s.collection("docs")
        }
        try flipByte(segPath, at: size - 3)
        try flipByte(segPath, at: 2)
        await assertStoreError("bad magic") {
            let s = try VectorStore(path: dir)
            _ = try await s.collection("docs")
        }
        try original.write(to: URL(fileURLWithPath: segPath))
        try flipByte(colDir + "/MANIFEST", at: 40)
        await assertStoreError("MANIFEST is corrupt: checksum mismatch") {
            let s = try VectorStore(path: dir)
            _ = try await s.collection("docs")
        }
    }

    func testIndexRebuiltWhenMissingOrInvalid() async throws {
        let dir = try makeTempDir(self)
        var store = try VectorStore(path: dir)
        var c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert((1...40).map { docsEntity($0) })
        try await c.createIndex(kind: .flat)
        let q = SearchRequest(vectors: [testVector(7, dimension: 8)], limit: 4)
        let want = try await c.search(q)
        try await store.close()
        let colDir = dir + "/collections/docs"
        func indexFiles() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: colDir).filter { $0.hasPrefix("idx-") } }
        for damage in ["delete", "corrupt"] {
            let idx = try indexFiles()
            XCTAssertEqual(idx.count, 1)
            if damage == "delete" { try FileManager.default.removeItem(atPath: colDir + "/" + idx[0]) } else { try flipByte(colDir + "/" + idx[0], at: 30) }
            store = try VectorStore(path: dir)
            c = try await store.collection("docs")
            let got = try await c.search(q)
            XCTAssertEqual(got, want, damage)
            XCTAssertEqual(try indexFiles().count, 1, "the rebuilt index was persisted (\(damage))")
            XCTAssertNotEqual(try indexFiles()[0], idx[0])
            try await store.close()
        }
    }

    /// Auto-flushes do not rewrite a fresh index file; reopening loads the older file and brings
    /// it up to date (rows added and deleted since), without a rebuild.
    func testIndexFileIsCaughtUpIncrementallyAtOpen() async throws {
        let dir = try makeTempDir(self)
        let store = try VectorStore(path: dir, options: StoreOptions(flushRows: 50, flushBatches: 1000))
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert((1...3000).map { docsEntity($0) })
        try await c.createIndex(kind: .flat)
        let colDir = c.directory
        func indexFiles() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: colDir).filter { $0.hasPrefix("idx-") } }
        let first = try indexFiles()
        XCTAssertEqual(first.count, 1)
        for b in Int64(0)..<8 { try await c.insert((1...25).map { docsEntity(3000 + b * 25 + $0) }) }  // 4 auto-flushes
        try await c.delete(ids: (1...40).map { PrimaryKey.int($0 * 7) })
        try await c.upsert([docsEntity(3001), docsEntity(5)])
        XCTAssertEqual(try indexFiles(), first, "small changes do not rewrite the index file")
        let query = SearchRequest(vectors: (0..<4).map { testVector(50_000 + Int64($0), dimension: 8) }, limit: 10)
        let want = try await c.search(query)
        let image = try crashImage(of: dir)
        try await store.close()
        let s2 = try VectorStore(path: image)
        let c2 = try await s2.collection("docs")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: c2.directory).filter { $0.hasPrefix("idx-") }, first,
                       "the old index file was caught up, not rebuilt")
        let got = try await c2.search(query)
        XCTAssertEqual(got, want)
        let n = try await c2.count()
        XCTAssertEqual(n, 3200 - 40)
        try await s2.close()
    }
}
