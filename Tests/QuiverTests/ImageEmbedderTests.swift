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

/// Video ingest: one row per sampled second (frame_index, start_s, end_s) plus the whole-video
/// mean, in the image model's space; a frame of the video finds its own moment first.
final class VideoIngestTests: XCTestCase {
    func testVideoFramesIngestedAndFoundByMoment() async throws {
        _ = try TestPaths.model("efficientnet-lite0")
        let home = ModelHome(root: TestPaths.modelHome)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-vid-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        let video = TestPaths.reference.appendingPathComponent("media/bikes.mp4")
        try FileManager.default.copyItem(at: video, to: docs.appendingPathComponent("bikes.mp4"))
        try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("media/chelsea.png"), to: docs.appendingPathComponent("chelsea.png"))
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        let report = try await Ingestor(store: store, options: IngestOptions(imageModel: "efficientnet-lite0"), home: home).ingest([docs.path])
        XCTAssertEqual(report.failures, [])
        let c = try await store.collection("quiver_image")
        let rows = try await c.query(filter: "modality == \"video\"", outputFields: ["*"])
        let frames = rows.filter { $0.fields["chunk"] != .int(-1) }
        // Frames at one per second, each covering [k, k+1) s; the reference sampler gives the same spans.
        let expected = try VideoDecoderSpans.fps1(video)
        XCTAssertEqual(frames.count, expected.count)
        XCTAssertEqual(rows.count, frames.count + 1, "plus the whole-video row")
        for (row, (index, start)) in zip(frames.sorted { ($0.fields["start_s"].flatMap(Self.double) ?? 0) < ($1.fields["start_s"].flatMap(Self.double) ?? 0) }, expected) {
            XCTAssertEqual(row.fields["frame_index"], .int(Int64(index)))
            XCTAssertEqual(row.fields["start_s"].flatMap(Self.double) ?? -1, start, accuracy: 1e-6)
        }
        let out = try await Searcher(store: store, home: home).search(file: video, limit: 2, modalities: [.video], videoTime: 2.5)
        XCTAssertEqual(out.results[0].score, 1, accuracy: 1e-4)
        XCTAssertEqual(out.results[0].fields["start_s"].flatMap(Self.double) ?? -1, 2, accuracy: 0.05)
        XCTAssertTrue(out.results.allSatisfy { $0.modality == "video" })
        try await store.close()
    }

    static func double(_ v: FieldValue) -> Double? { if case let .double(d) = v { return d }; return nil }
}

import QuiverMedia
/// The frames `VideoSampling.fps(1)` picks, straight from the decoder (index, start).
enum VideoDecoderSpans {
    static func fps1(_ url: URL) throws -> [(Int, Double)] {
        var out: [(Int, Double)] = []
        _ = try VideoDecoder(contentsOf: url).frames(.fps(1)) { out.append(($0.index, $0.start)) }
        return out
    }
}
