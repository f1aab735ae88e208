import Foundation
import XCTest
import Quiver
import QuiverStore
import QuiverTestSupport

/// `quiver ingest` and `quiver import` into a store on a real, nearly full 4 MB file system (a
/// tmpfs mounted by the test; needs root, skipped otherwise): the command stops with an error
/// naming the store and the free space needed; after reopening, everything acknowledged is there
/// and nothing is half-written; after freeing space, running the same command again completes
/// the job without duplicates. (The data is kept under half the file system: a flush writes a
/// segment before it drops the log records it holds, so the store needs about twice the data
/// while it flushes.)
final class CLIDiskFullTests: XCTestCase {
    func mount() throws -> SmallFileSystem {
        guard let fs = SmallFileSystem.mount(megabytes: 4, label: "cli-full") else {
            throw XCTSkip("mounting a tmpfs is not permitted here (the store's disk-full behaviour is covered by FaultDiskFullTests)")
        }
        addTeardownBlock { fs.unmount() }
        return fs
    }

    func assertDiskFullMessage(_ err: String, store: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(err.contains("store \(store)"), "the error names the store: \(err)", file: file, line: line)
        XCTAssertTrue(err.range(of: #"needs at least \d+ more bytes free"#, options: .regularExpression) != nil,
                      "the error says how much space is needed: \(err)", file: file, line: line)
    }

    func testIngestOnAFullDiskStopsThenCompletesAfterSpaceIsFreed() async throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let fs = try mount()
        let docs = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-full-docs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: docs) }
        let files = 20, lines = 30, batch = 32
        for f in 0..<files {
            let text = (0..<lines).map { "file \(f) line \($0): notes about subject \(f * lines + $0) of the archive" }.joined(separator: "\n")
            try text.write(to: docs.appendingPathComponent(String(format: "notes-%02d.txt", f)), atomically: true, encoding: .utf8)
        }
        let store = fs.path + "/store"
        try fs.addBallast(leaving: 600_000)
        let args = ["ingest", "--db", store, "--split", "lines", "--batch-size", "\(batch)", "--no-progress", docs.path]

        let full = try QuiverCLI.run(args)
        XCTAssertNotEqual(full.status, 0, "a full disk fails the command: \(full.err)")
        assertDiskFullMessage(full.err, store: store)

        // Reopened on the still-full disk: whole batches only, each row intact.
        var db = try VectorStore(path: store)
        var c = try await db.collection("quiver_text")
        let stored = try await c.count()
        XCTAssertGreaterThan(stored, 0)
        XCTAssertLessThan(stored, files * lines)
        XCTAssertEqual(stored % batch, 0, "every write is a whole batch of \(batch) rows, never part of one")
        let rows = try await c.query(outputFields: ["*"])
        XCTAssertEqual(Set(rows.map(\.id)).count, rows.count, "no id twice")
        let embedder = try TextEmbedder(model: "all-MiniLM-L6-v2", home: ModelHome(root: TestPaths.modelHome))
        for r in rows.prefix(3) {
            guard case let .string(t)? = r.fields["text"], case let .int(chunk)? = r.fields["chunk"] else { return XCTFail("row \(r.id) lacks text or chunk") }
            XCTAssertTrue(t.contains(" line \(chunk): "), "row \(r.id) holds its own line: \(t)")
            let v = try embedder.embed([t], inputType: .passage).vectors[0]
            let stored = try await c.get(ids: [r.id], outputFields: ["vector"]).first?.vectors["vector"] ?? []
            XCTAssertEqual(stored.count, 384)
            let dot = zip(v, stored).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(dot, 1, accuracy: 1e-5, "row \(r.id)'s vector is its text's embedding")
        }
        try? await db.close()   // its flush may fail on the still-full disk: nothing is lost

        // Space freed: the same command completes the job; nothing twice.
        try fs.freeBallast()
        let again = try QuiverCLI.run(args)
        XCTAssertEqual(again.status, 0, again.err)
        db = try VectorStore(path: store)
        c = try await db.collection("quiver_text")
        let complete = try await c.count()
        XCTAssertEqual(complete, files * lines)
        var perFile: [String: [Int64]] = [:]
        for r in try await c.query(outputFields: ["path", "chunk"]) {
            if case let .string(p)? = r.fields["path"], case let .int(i)? = r.fields["chunk"] { perFile[p, default: []].append(i) }
        }
        XCTAssertEqual(perFile.count, files)
        for (p, chunks) in perFile { XCTAssertEqual(chunks.sorted(), (0..<Int64(lines)).map { $0 }, p) }
        try await db.close()
    }

    func testImportOnAFullDiskStopsThenCompletesAfterSpaceIsFreed() async throws {
        let fs = try mount()
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-full-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: input, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: input) }
        let rows = 3000, dimension = 128, batch = 200
        let values = (0..<rows * dimension).map { Float(($0 * 7919) % 997) / 997 - 0.5 }
        let npy = input.appendingPathComponent("v.npy").path
        try NPY.write(NPYMatrix(rows: rows, columns: dimension, values: values), to: npy)
        let store = fs.path + "/store"
        try fs.addBallast(leaving: 900_000)
        var args = ["import", "--db", store, "--collection", "raw", "--vectors", npy, "--metric", "L2", "--batch-size", "\(batch)"]

        let full = try QuiverCLI.run(args)
        XCTAssertNotEqual(full.status, 0, "a full disk fails the command: \(full.err)")
        assertDiskFullMessage(full.err, store: store)
        // The progress line counts acknowledged rows; exactly those are stored.
        let acked = full.err.split(whereSeparator: { $0 == "\r" || $0 == "\n" })
            .compactMap { $0.hasPrefix("imported ") && $0.hasSuffix("/\(rows)") ? Int($0.dropFirst(9).prefix { $0 != "/" }) : nil }.max() ?? 0
        XCTAssertGreaterThan(acked, 0, full.err)
        XCTAssertLessThan(acked, rows)
        // The batch whose call failed is absent or, when its log record was written and the
        // segment flush after it failed, present whole (as after a crash): never part of it.
        var db = try VectorStore(path: store)
        var c = try await db.collection("raw")
        let afterFailure = try await c.count()
        XCTAssertTrue(afterFailure == acked || afterFailure == acked + batch, "\(afterFailure) rows stored, \(acked) acknowledged")
        let ids = Set(try await c.query(outputFields: []).map(\.id))
        XCTAssertEqual(ids, Set((0..<afterFailure).map { PrimaryKey.int(Int64($0)) }))
        try? await db.close()   // its flush may fail on the still-full disk: nothing is lost

        try fs.freeBallast()
        args.append("--upsert")   // ids already there are replaced, not refused
        let again = try QuiverCLI.run(args)
        XCTAssertEqual(again.status, 0, again.err)
        db = try VectorStore(path: store)
        c = try await db.collection("raw")
        let afterRerun = try await c.count()
        XCTAssertEqual(afterRerun, rows)
        let probe = try await c.get(ids: [.int(2999)], outputFields: ["vector"]).first
        XCTAssertEqual(probe?.vectors["vector"], Array(values[(2999 * dimension)..<(3000 * dimension)]))
        try await db.close()
    }
}
