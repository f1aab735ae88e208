import XCTest
@testable import Quiver
import QuiverStore
import QuiverTestSupport

/// The facade's image path (file → decode → preprocessing → model) against the reference features.
final class ImageEmbedderTests: XCTestCase {
    private struct Reference: Decodable { let images: [String]; let features_1280: [[Float]] }

    /// Same features as the PIL + PyTorch reference, cosine ≥ 0.9999 per image (the model's own
    /// parity bound), and each image is its own nearest neighbour among the six.
    func testEfficientNetFilesMatchReference() throws {
        _ = try TestPaths.model("efficientnet-lite0")
        let ref: Reference = try TestPaths.referenceJSON("image/efficientnet-lite0.json")
        let e = try ImageEmbedder(model: "efficientnet-lite0", home: ModelHome(root: TestPaths.modelHome))
        XCTAssertEqual(e.dimension, 1280)
        XCTAssertFalse(e.isCLIP)
        let urls = ref.images.map { TestPaths.reference.appendingPathComponent($0) }
        let got = try e.embed(files: urls)
        func cos(_ a: [Float], _ b: [Float]) -> Float {
            let d = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
            return d / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
        }
        for i in got.indices { XCTAssertGreaterThanOrEqual(cos(got[i], ref.features_1280[i]), 0.9999, ref.images[i]) }
    }

    func testTextModelIsRefusedForImages() throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        XCTAssertThrowsError(try ImageEmbedder(model: "all-MiniLM-L6-v2", home: ModelHome(root: TestPaths.modelHome))) { e in
            XCTAssertEqual(e as? QuiverError, .unsupportedModality(model: "all-MiniLM-L6-v2", modality: "image", supported: ["text"]))
        }
    }

    /// Ingest a folder with images, then an image query finds the same picture first, and a text
    /// query over efficientnet images says why it cannot reach them.
    func testIngestImagesThenSearchByImage() async throws {
        _ = try TestPaths.model("efficientnet-lite0")
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let home = ModelHome(root: TestPaths.modelHome)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-img-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        for n in ["chelsea.png", "coffee.png", "rocket.jpg", "camera.png"] {
            try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("media/\(n)"), to: docs.appendingPathComponent(n))
        }
        try "Notes about a cup of coffee.".write(to: docs.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: docs.appendingPathComponent("broken.jpg"))
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        let report = try await Ingestor(store: store, options: IngestOptions(imageModel: "efficientnet-lite0"), home: home).ingest([docs.path])
        XCTAssertEqual(report.collections, ["quiver_text", "quiver_image"])
        XCTAssertEqual(report.added, 5)
        XCTAssertEqual(report.failures.map { URL(fileURLWithPath: $0.path).lastPathComponent }, ["broken.jpg"])
        let image = try await store.collection("quiver_image")
        XCTAssertEqual(image.schema.vectorFields[0].model, EmbeddingModel(id: "efficientnet-lite0", dimension: 1280, normalized: false))
        let count = try await image.count()
        XCTAssertEqual(count, 4)

        let searcher = Searcher(store: store, home: home)
        let out = try await searcher.search(file: TestPaths.reference.appendingPathComponent("media/rocket.jpg"), limit: 2)
        XCTAssertEqual(out.searched, ["quiver_image"])
        XCTAssertEqual(URL(fileURLWithPath: out.results[0].path).lastPathComponent, "rocket.jpg")
        XCTAssertEqual(out.results[0].score, 1, accuracy: 1e-4)
        XCTAssertEqual(out.results[0].modality, "image")

        let text = try await searcher.search(text: "coffee", limit: 3)
        XCTAssertEqual(text.searched, ["quiver_text"])
        XCTAssertEqual(text.notes.count, 1)
        XCTAssertTrue(text.notes[0].hasPrefix("no CLIP model installed: images were embedded with efficientnet-lite0"), text.notes[0])
        try await store.close()
    }
}
