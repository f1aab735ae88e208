import Foundation
import XCTest
import Quiver
import QuiverStore
import QuiverTestSupport

/// The README's "Library" example, line for line (with the test's model home and a temporary
/// folder), so that the documented API keeps compiling and doing what the README says.
final class ReadmeLibraryExampleTests: XCTestCase {
    func testTheReadmeExampleRunsAndFindsTheRightNote() async throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        _ = try TestPaths.model("efficientnet-lite0")
        let home = ModelHome(root: TestPaths.modelHome)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-readme-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let notes = dir.appendingPathComponent("notes")
        try FileManager.default.createDirectory(at: notes, withIntermediateDirectories: true)
        try "To reset the router, hold the button on its back for ten seconds until the lights blink."
            .write(to: notes.appendingPathComponent("router.md"), atomically: true, encoding: .utf8)
        try "Water the tomatoes every morning and tie the stems to the stakes as they grow."
            .write(to: notes.appendingPathComponent("garden.txt"), atomically: true, encoding: .utf8)
        let cat = notes.appendingPathComponent("cat.png")
        try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("media/chelsea.png"), to: cat)

        // --- README ---
        let store = try VectorStore(path: dir.appendingPathComponent("quiver.db").path)

        var progressLines: [String] = []
        let report = try await Ingestor(store: store, options: IngestOptions(collection: "notes"), home: home)
            .ingest([notes.path]) { p in progressLines.append("\(p.filesDone)/\(p.filesTotal)") }
        XCTAssertEqual(report.added, 3)
        XCTAssertEqual(report.unchanged, 0)
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(progressLines.last, "3/3")
        XCTAssertEqual(report.collections, ["notes_text", "notes_image"])

        let hits = try await Searcher(store: store, collection: "notes", home: home).search(text: "router reset", limit: 5)
        let top = try XCTUnwrap(hits.results.first)
        XCTAssertEqual(URL(fileURLWithPath: top.path).lastPathComponent, "router.md")
        XCTAssertEqual(top.text?.hasPrefix("To reset the router"), true)
        XCTAssertGreaterThan(top.score, hits.results.last!.score)

        let text = try TextEmbedder(model: "all-MiniLM-L6-v2", home: home)
        let v = try text.embed(["A man is eating food."]).vectors[0]
        XCTAssertEqual(v.count, 384)
        XCTAssertEqual(v.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4, "L2-normalized, as the README says")
        let image = try ImageEmbedder(model: "efficientnet-lite0", home: home)
        let w = try image.embed(files: [cat])[0]
        XCTAssertEqual(w.count, 1280)
        let kind = try ContentModality.detect(fileAt: TestPaths.reference.appendingPathComponent("media/bikes.mp4"))
        XCTAssertEqual(kind, .video)
        try await store.close()
        // --- end ---

        // The image row holds the same vector as the embedder gives (one space per collection).
        let reopened = try VectorStore(path: dir.appendingPathComponent("quiver.db").path)
        let rows = try await reopened.collection("notes_image").query(outputFields: ["*"])
        XCTAssertEqual(rows.count, 1)
        try await reopened.close()
    }
}
