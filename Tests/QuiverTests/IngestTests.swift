import XCTest
@testable import Quiver
import QuiverStore
import QuiverTestSupport

/// Ingest of a small folder and search over it, with the all-MiniLM-L6-v2 text model.
final class IngestTests: XCTestCase {
    var dir: URL!
    var home: ModelHome!

    override func setUpWithError() throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        _ = try TestPaths.model("efficientnet-lite0")
        _ = try TestPaths.model("faster-whisper-base")
        home = ModelHome(root: TestPaths.modelHome)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-ingest-\(UUID().uuidString)")
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs.appendingPathComponent("sub/.hidden"), withIntermediateDirectories: true)
        try "The cat curled up on the warm windowsill and purred in the sun.".write(to: docs.appendingPathComponent("cat.txt"), atomically: true, encoding: .utf8)
        try "# Markets\n\nStock prices fell sharply after the central bank raised interest rates.".write(to: docs.appendingPathComponent("sub/finance.md"), atomically: true, encoding: .utf8)
        try "Add the flour and sugar, then bake the cake for forty minutes.".write(to: docs.appendingPathComponent("sub/recipe.txt"), atomically: true, encoding: .utf8)
        try "hidden".write(to: docs.appendingPathComponent("sub/.hidden/secret.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: docs.appendingPathComponent("sub/loop").path, withDestinationPath: "..")
        try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("media/astronaut.png"), to: docs.appendingPathComponent("astronaut.png"))
        try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("media/speech_0.wav"), to: docs.appendingPathComponent("speech.wav"))
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    private func ingest(_ store: VectorStore, options: IngestOptions = IngestOptions()) async throws -> IngestReport {
        try await Ingestor(store: store, options: options, home: home).ingest([dir.appendingPathComponent("docs").path])
    }

    func testIngestThenSearchFindsTheRightFileFirst() async throws {
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        var progressCalls = 0
        let report = try await Ingestor(store: store, home: home).ingest([dir.appendingPathComponent("docs").path]) { p in
            progressCalls += 1
            XCTAssertLessThanOrEqual(p.filesDone, p.filesTotal)
        }
        XCTAssertEqual(report.added, 5, "three texts, the image and the wav")
        XCTAssertEqual(report.pieces, 5)
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(report.skipped, [])
        XCTAssertEqual(progressCalls, 5, "once per file; hidden files and the symlink loop are not visited")
        XCTAssertEqual(report.collections, ["quiver_text", "quiver_image", "quiver_audio"])
        // The wav is one row of the audio space, spanning its duration.
        let audio = try await store.collection("quiver_audio")
        let arow = try await audio.query(outputFields: ["*"])
        XCTAssertEqual(arow.count, 1)
        XCTAssertEqual(audio.schema.vectorFields[0].model.id, "faster-whisper-base")
        let byAudio = try await Searcher(store: store, home: home).search(file: dir.appendingPathComponent("docs/speech.wav"), limit: 1)
        XCTAssertEqual(byAudio.results.first?.score ?? 0, 1, accuracy: 1e-4)
        XCTAssertEqual(byAudio.results.first?.modality, "audio")

        let c = try await store.collection("quiver_text")
        XCTAssertEqual(c.schema.vectorFields[0].model, EmbeddingModel(id: "all-MiniLM-L6-v2", dimension: 384, normalized: true))
        let searcher = Searcher(store: store, home: home)
        for (query, file) in [("a kitten sleeping", "cat.txt"), ("the economy and banks", "finance.md"), ("baking dessert in the oven", "recipe.txt")] {
            let out = try await searcher.search(text: query, limit: 3)
            XCTAssertEqual(out.results.count, 3)
            XCTAssertEqual(URL(fileURLWithPath: out.results[0].path).lastPathComponent, file, query)
            XCTAssertGreaterThan(out.results[0].score, out.results[1].score)
        }
        let hit = try await searcher.search(text: "stock market", limit: 1).results[0]
        XCTAssertEqual(hit.modality, "text")
        XCTAssertEqual(hit.int("start"), 0)
        // Markdown is read as a document: offsets are in its extracted text, where the heading's
        // "# " markup is gone ("Markets\n\nStock ...", 80 characters of the 82-byte file).
        XCTAssertEqual(hit.int("end"), 80)
        XCTAssertEqual(hit.int("size"), 82)
        XCTAssertTrue(hit.text?.hasPrefix("Markets\n\nStock prices") ?? false, hit.text ?? "nil")
        // The query vector is the model's: searching with it directly gives the same best hit and score.
        let q = try TextEmbedder(model: "all-MiniLM-L6-v2", home: home).embed(["stock market"]).vectors[0]
        let byVector = try await searcher.search(vector: q, limit: 1).results[0]
        XCTAssertEqual(byVector.id, hit.id)
        XCTAssertEqual(byVector.score, hit.score, accuracy: 1e-6)
        // Filters apply to the row fields.
        let filtered = try await searcher.search(text: "a kitten sleeping", limit: 5, filter: "path like \"%/sub/%\"")
        XCTAssertEqual(filtered.results.count, 2)
        XCTAssertFalse(filtered.results.contains { $0.path.hasSuffix("cat.txt") })
        try await store.close()
    }

    /// A long text file is many batches: progress is reported inside it, rows and bytes rising.
    func testProgressInsideALongFile() async throws {
        let long = dir.appendingPathComponent("long")
        try FileManager.default.createDirectory(at: long, withIntermediateDirectories: true)
        let lines = (0..<200).map { "line \($0): the quick brown fox number \($0) jumps over the lazy dog" }
        try lines.joined(separator: "\n").write(to: long.appendingPathComponent("lines.txt"), atomically: true, encoding: .utf8)
        let store = try VectorStore(path: dir.appendingPathComponent("db-long").path)
        var seen: [IngestProgress] = []
        let report = try await Ingestor(store: store, options: IngestOptions(split: .lines, batchSize: 64), home: home)
            .ingest([long.path]) { seen.append($0) }
        XCTAssertEqual(report.pieces, 200)
        let inside = seen.filter { $0.filesDone == 0 }
        XCTAssertEqual(inside.map(\.pieces), [64, 128, 192], "one report per full batch of 64 inside the file")
        XCTAssertEqual(inside.map(\.bytesDone), inside.map(\.bytesDone).sorted())
        XCTAssertTrue(inside.allSatisfy { $0.bytesDone > 0 && $0.bytesDone < $0.bytesTotal })
        XCTAssertEqual(seen.last?.filesDone, 1)
        XCTAssertEqual(seen.last?.bytesDone, seen.last?.bytesTotal)
        try await store.close()
    }

    /// A file the last run stored only partly (its later batches never written: a crash or a full
    /// disk) is written again on the next run, not skipped as unchanged; complete files are skipped.
    func testReingestCompletesAFileStoredOnlyPartly() async throws {
        let long = dir.appendingPathComponent("partial")
        try FileManager.default.createDirectory(at: long, withIntermediateDirectories: true)
        let lines = (0..<150).map { "line \($0): a sentence about topic number \($0) and nothing else" }
        try lines.joined(separator: "\n").write(to: long.appendingPathComponent("lines.txt"), atomically: true, encoding: .utf8)
        try "A short complete file.".write(to: long.appendingPathComponent("short.txt"), atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("db-partial").path
        let options = IngestOptions(split: .lines, batchSize: 64)
        var store = try VectorStore(path: db)
        _ = try await Ingestor(store: store, options: options, home: home).ingest([long.path])
        var c = try await store.collection("quiver_text")
        let first = try await c.count()
        XCTAssertEqual(first, 151)
        let path = long.appendingPathComponent("lines.txt").path
        let pieces = try await c.get(ids: [.string("\(path)#0")], outputFields: ["pieces"]).first?.fields["pieces"]
        XCTAssertEqual(pieces, .int(150))
        // What a run stopped after its second batch leaves: the rows of the third batch missing.
        let removed = try await c.delete(ids: (128..<150).map { .string("\(path)#\($0)") })
        XCTAssertEqual(removed, 22)
        try await store.close()

        store = try VectorStore(path: db)
        let report = try await Ingestor(store: store, options: options, home: home).ingest([long.path])
        XCTAssertEqual(report.unchanged, 1, "the short file is complete")
        XCTAssertEqual(report.replaced, 1, "the partial file is written again")
        XCTAssertEqual(report.pieces, 150)
        c = try await store.collection("quiver_text")
        let second = try await c.count()
        XCTAssertEqual(second, 151)
        let chunks = try await c.query(filter: "path == \"\(path)\"", outputFields: ["chunk"]).compactMap { r -> Int64? in
            if case let .int(i)? = r.fields["chunk"] { return i }; return nil
        }
        XCTAssertEqual(chunks.sorted(), Array(0..<150), "every chunk once")
        // A third run skips both.
        let again = try await Ingestor(store: store, options: options, home: home).ingest([long.path])
        XCTAssertEqual(again.unchanged, 2)
        try await store.close()
    }

    func testReingestSkipsUnchangedAndReplacesChanged() async throws {
        let db = dir.appendingPathComponent("db").path
        var store = try VectorStore(path: db)
        _ = try await ingest(store, options: IngestOptions(split: .characters(size: 40, overlap: 10)))
        let c0 = try await store.collection("quiver_text")
        let before = try await c0.count()
        try await store.close()

        let recipe = dir.appendingPathComponent("docs/sub/recipe.txt")
        try "Whisk two eggs.".write(to: recipe, atomically: true, encoding: .utf8)
        store = try VectorStore(path: db)
        let report = try await ingest(store, options: IngestOptions(split: .characters(size: 40, overlap: 10)))
        XCTAssertEqual(report.unchanged, 4, "two texts, the image and the wav")
        XCTAssertEqual(report.replaced, 1)
        XCTAssertEqual(report.added, 0)
        XCTAssertEqual(report.pieces, 1)
        let c = try await store.collection("quiver_text")
        let rows = try await c.query(where: { $0.value(of: "path") == .string(recipe.path) })
        XCTAssertEqual(rows.map { $0.fields["text"] }, [.string("Whisk two eggs.")])
        let recipeBefore = 2   // 62 characters in 40-character windows overlapping by 10
        let after = try await c.count()
        XCTAssertEqual(after, before - recipeBefore + 1)
        try await store.close()
    }

    func testUnreadableFileIsReportedWithoutStopping() async throws {
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createSymbolicLink(atPath: docs.appendingPathComponent("dangling.txt").path, withDestinationPath: "/nonexistent/x")
        var bad = Data("valid start ".utf8); bad.append(contentsOf: [0x00, 0xFF, 0xFE])
        try Data(repeating: 0x61, count: 1 << 16).followed(by: bad).write(to: docs.appendingPathComponent("broken.txt"))
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        let report = try await ingest(store)
        XCTAssertEqual(report.added, 5, "the readable files are ingested")
        XCTAssertEqual(Set(report.failures.map { URL(fileURLWithPath: $0.path).lastPathComponent }), ["dangling.txt", "broken.txt"])
        XCTAssertTrue(report.failures.contains { $0.reason == "not valid UTF-8 text" })
        try await store.close()
    }

    /// A collection holding another model's vectors is never written to with this one.
    func testMixingSpacesIsRefused() async throws {
        _ = try TestPaths.model("all-mpnet-base-v2")
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        _ = try await ingest(store)
        do {
            _ = try await ingest(store, options: IngestOptions(textModel: "all-mpnet-base-v2"))
            XCTFail("ingest with another model into the same collection must fail")
        } catch let e as QuiverError {
            XCTAssertEqual(e, .embeddingSpaceMismatch(collection: "quiver_text", storedModel: "all-MiniLM-L6-v2 (384-d)",
                                                      requestedModel: "all-mpnet-base-v2 (768-d)"))
        }
        // Another base name makes another collection.
        let r = try await ingest(store, options: IngestOptions(collection: "mpnet", textModel: "all-mpnet-base-v2"))
        XCTAssertEqual(r.collections, ["mpnet_text", "mpnet_image", "mpnet_audio"])
        // A vector of the wrong width is refused by name, not silently compared.
        do {
            _ = try await Searcher(store: store, home: home).search(vector: [Float](repeating: 0.1, count: 100))
            XCTFail("a 100-d query has no collection")
        } catch let QuiverError.noCompatibleCollection(_, reason) {
            XCTAssertTrue(reason.contains("384-d all-MiniLM-L6-v2"), reason)
        }
        try await store.close()
    }

    func testSearchWithoutIngestSaysSo() async throws {
        let store = try VectorStore(path: dir.appendingPathComponent("empty").path)
        do {
            _ = try await Searcher(store: store, home: home).search(text: "anything")
            XCTFail("no collections")
        } catch let QuiverError.noCompatibleCollection(_, reason) {
            XCTAssertTrue(reason.contains("quiver ingest"), reason)
        }
        try await store.close()
    }
}

private extension Data {
    func followed(by other: Data) -> Data { var d = self; d.append(other); return d }
}
