import Foundation
import XCTest
@testable import QuiverStore
import QuiverTestSupport

/// A store on a full disk: inserting until the file system is full stops with a clear error
/// naming the store and the space needed; every acknowledged row survives a reopen; nothing is
/// half-written; after space is freed, re-running the job completes it without duplicates.
///
/// `testDiskFullOnSmallFileSystem` mounts a real 4 MB tmpfs (needs root; skipped when mounting
/// is not permitted); `testDiskFullThroughTheSeam` gives the same job a 4 MB budget through the
/// fault-injection seam, so ENOSPC is covered on any machine.
final class FaultDiskFullTests: XCTestCase {
    static let rows: Int64 = 8000, batch: Int64 = 200, dimension = 32
    static let options = StoreOptions(flushRows: 2000, flushBatches: 1000)

    func entities(_ from: Int64) -> [Entity] {
        (from..<min(from + Self.batch, Self.rows + 1)).map { docsEntity($0, dimension: Self.dimension) }
    }

    func testDiskFullOnSmallFileSystem() async throws {
        guard let fs = SmallFileSystem.mount(megabytes: 4, label: "store-full") else {
            throw XCTSkip("mounting a tmpfs is not permitted here; testDiskFullThroughTheSeam covers ENOSPC")
        }
        defer { fs.unmount() }
        try await fillFreeAndRerun(root: fs.path)
    }

    func testDiskFullThroughTheSeam() async throws {
        let root = NSTemporaryDirectory() + "quiverstore-full-seam-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        let injector = FaultInjector(root: root)
        injector.capacity = 4 << 20
        StoreIO.install(injector)
        defer { StoreIO.reset() }
        try await fillFreeAndRerun(root: root)
    }

    func fillFreeAndRerun(root: String) async throws {
        // Ballast takes most of the space; removing it later is "freeing space".
        let ballast = root + "/ballast"
        XCTAssertTrue(FileManager.default.createFile(atPath: ballast, contents: Data(count: 2_600_000)))
        let dir = root + "/store"
        var store = try VectorStore(path: dir, options: Self.options)
        var c = try await store.createCollection("docs", schema: docsSchema(dimension: Self.dimension))
        var acked: Set<Int64> = []
        var failure: Error?
        for from in stride(from: Int64(1), through: Self.rows, by: Int(Self.batch)) {
            let batch = entities(from)
            do {
                try await c.insert(batch)
                for e in batch { if case let .int(i) = e.id { acked.insert(i) } }
            } catch { failure = error; break }
        }
        guard let failure else { return XCTFail("the disk never filled (\(acked.count) rows acknowledged)") }
        print("disk full after \(acked.count) acknowledged rows: \(failure)")
        guard case let .readOnly(collection, cause)? = failure as? StoreError, case let .diskFull(storePath, file, needed, _) = cause else {
            return XCTFail("expected readOnly(diskFull), got \(failure)")
        }
        XCTAssertEqual(collection, "docs")
        XCTAssertEqual(storePath, dir)
        XCTAssertTrue(file.hasPrefix(dir + "/collections/docs/"), file)
        XCTAssertGreaterThan(needed, 0)
        let message = "\(failure)"
        XCTAssertTrue(message.contains("store \(dir)") && message.contains("needs at least \(needed) more bytes free"), message)
        XCTAssertTrue(message.contains("reopen"), message)
        XCTAssertLessThan(acked.count, Int(Self.rows))
        XCTAssertGreaterThan(acked.count, 0)
        _ = try? await store.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/collections/docs")
        XCTAssertEqual(files.filter { $0.contains(".tmp") }, [], "a temporary file was left behind")

        // Still full: reopening shows every acknowledged row and nothing else.
        store = try VectorStore(path: dir, options: Self.options)
        c = try await store.collection("docs")
        try await assertRows(c, acked)
        _ = try? await store.close()

        // Free space and re-run the whole job; like `quiver ingest`, it skips what is stored.
        try FileManager.default.removeItem(atPath: ballast)
        store = try VectorStore(path: dir, options: Self.options)
        c = try await store.collection("docs")
        for from in stride(from: Int64(1), through: Self.rows, by: Int(Self.batch)) {
            let batch = entities(from)
            let have = Set(try await c.get(ids: batch.compactMap(\.id), outputFields: []).map(\.id))
            let missing = batch.filter { !have.contains($0.id!) }
            if !missing.isEmpty { try await c.insert(missing) }
        }
        try await store.close()
        store = try VectorStore(path: dir, options: Self.options)
        c = try await store.collection("docs")
        try await assertRows(c, Set(1...Self.rows))
        let hit = try await c.search(SearchRequest(vectors: [testVector(77, dimension: Self.dimension)], limit: 1))
        XCTAssertEqual(hit[0].first?.id, .int(77))
        try await store.close()
    }

    /// `c` holds exactly `ids`, each once, with its entity's vector.
    func assertRows(_ c: Collection, _ ids: Set<Int64>, file: StaticString = #filePath, line: UInt = #line) async throws {
        let n = try await c.count()
        XCTAssertEqual(n, ids.count, file: file, line: line)
        let rows = try await c.query(outputFields: ["age", "embedding"])
        var seen: Set<Int64> = []
        for r in rows {
            guard case let .int(i) = r.id else { continue }
            XCTAssertTrue(seen.insert(i).inserted, "duplicate id \(i)", file: file, line: line)
            if i % 97 == 0 { XCTAssertEqual(r.vectors["embedding"], testVector(i, dimension: Self.dimension), file: file, line: line) }
        }
        XCTAssertEqual(seen, ids, file: file, line: line)
    }
}
