import XCTest
@testable import Quiver
import QuiverStore
import QuiverTestSupport

/// Text → image and text → video-frame search when the images were ingested with a CLIP model
/// (the tiny random CLIP of the fixtures, loaded from its folder), and the message when they were not.
final class CLIPSearchTests: XCTestCase {
    var dir: URL!
    let clip = TestPaths.reference.appendingPathComponent("models/tiny-random-clip")
    let images = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.jpg"]

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-clip-search-\(UUID().uuidString)")
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        for name in images {
            try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("media/\(name)"), to: docs.appendingPathComponent(name))
        }
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    /// An empty model home: the CLIP model comes from its folder path, nothing else is needed.
    private var emptyHome: ModelHome { ModelHome(root: dir.appendingPathComponent("home")) }

    private func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var ab: Double = 0, aa: Double = 0, bb: Double = 0
        for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
        return Float(ab / (aa.squareRoot() * bb.squareRoot()))
    }

    func testTextQueryRanksImagesByCLIPCosine() async throws {
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        let report = try await Ingestor(store: store, options: IngestOptions(imageModel: clip.path), home: emptyHome)
            .ingest([dir.appendingPathComponent("docs").path])
        XCTAssertEqual(report.added, images.count)
        XCTAssertEqual(report.failures, [])
        let c = try await store.collection("quiver_image")
        XCTAssertEqual(c.schema.vectorFields[0].model.id, clip.standardizedFileURL.path,
                       "a folder model is recorded by its path, so search can load its text tower")

        // The reference: the CLIP towers run directly, cosine of the text and each image vector.
        let embedder = try CLIPEmbedder(model: clip.path, home: emptyHome)
        let files = images.map { dir.appendingPathComponent("docs/\($0)") }
        let imageVectors = try embedder.embed(imageFiles: files)
        let searcher = Searcher(store: store, home: emptyHome)
        for query in ["a photo of a cat", "a rocket on the launch pad", "coffee"] {
            let t = try embedder.embed(texts: [query])[0]
            let expected = zip(files, imageVectors).map { ($0.path, cosine(t, $1)) }.sorted { $0.1 > $1.1 }
            let out = try await searcher.search(text: query, limit: images.count)
            XCTAssertEqual(out.searched, ["quiver_image"])
            XCTAssertEqual(out.notes, [])
            XCTAssertEqual(out.results.map(\.path), expected.map(\.0), query)
            for (hit, (_, score)) in zip(out.results, expected) {
                XCTAssertEqual(hit.score, score, accuracy: 1e-5, "\(query): \(hit.path)")
                XCTAssertEqual(hit.modality, "image")
            }
            XCTAssertEqual(out.results.map(\.rank), Array(1...images.count))
        }
        // --modality video finds no image rows (the filter is applied to the rows).
        let videosOnly = try await searcher.search(text: "a cat", modalities: [.video])
        XCTAssertEqual(videosOnly.results.count, 0)
        try await store.close()
    }

    func testTextQueryFindsVideoFrames() async throws {
        let video = TestPaths.reference.appendingPathComponent("media/carphone_pristine.mp4")
        try FileManager.default.copyItem(at: video, to: dir.appendingPathComponent("docs/carphone.mp4"))
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        let report = try await Ingestor(store: store, options: IngestOptions(imageModel: clip.path), home: emptyHome)
            .ingest([dir.appendingPathComponent("docs").path])
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(report.soundTrackRows, 0, "the video has no audio stream")
        XCTAssertEqual(report.collections, ["quiver_image"], "no audio collection for a silent video")

        let embedder = try CLIPEmbedder(model: clip.path, home: emptyHome)
        let frames = try VideoEmbedder(images: ImageEmbedder(model: clip.path, home: emptyHome)).embedFrames(contentsOf: video)
        let t = try embedder.embed(texts: ["a man talking on a phone"])[0]
        var expected = frames.map { (start: $0.start, score: cosine(t, $0.vector)) }
        expected.append((start: frames[0].start, score: cosine(t, VideoEmbedder.mean(frames)!)))   // the whole-video row
        expected.sort { $0.score > $1.score }
        let out = try await Searcher(store: store, home: emptyHome).search(text: "a man talking on a phone", limit: 20, modalities: [.video])
        XCTAssertEqual(out.results.count, frames.count + 1)
        for (hit, e) in zip(out.results, expected) {
            XCTAssertEqual(hit.modality, "video")
            XCTAssertEqual(hit.score, e.score, accuracy: 1e-5)
        }
        try await store.close()
    }

    /// Text and image hits live in two spaces: they are interleaved by rank, not by raw score.
    func testTextAndImageHitsAreInterleavedByRank() async throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let home = ModelHome(root: TestPaths.modelHome)
        try "A cat sleeps on the sofa.".write(to: dir.appendingPathComponent("docs/cat.txt"), atomically: true, encoding: .utf8)
        try "Interest rates rose again.".write(to: dir.appendingPathComponent("docs/rates.txt"), atomically: true, encoding: .utf8)
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        _ = try await Ingestor(store: store, options: IngestOptions(imageModel: clip.path), home: home).ingest([dir.appendingPathComponent("docs").path])
        let out = try await Searcher(store: store, home: home).search(text: "a cat", limit: 4)
        XCTAssertEqual(Set(out.searched), ["quiver_text", "quiver_image"])
        XCTAssertEqual(out.results.map(\.rank), [1, 1, 2, 2])
        XCTAssertEqual(Set(out.results.prefix(2).map(\.collection)), ["quiver_text", "quiver_image"])
        XCTAssertGreaterThanOrEqual(out.results[0].score, out.results[1].score, "equal ranks are ordered by score")
        XCTAssertTrue(out.results.contains { $0.path.hasSuffix("cat.txt") && $0.rank == 1 })
        try await store.close()
    }

    /// Images embedded by a model without a text encoder: the error says why and what to do.
    func testTextQueryOnEfficientNetImagesExplainsWhatToDo() async throws {
        _ = try TestPaths.model("efficientnet-lite0")
        let home = ModelHome(root: TestPaths.modelHome)
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        _ = try await Ingestor(store: store, options: IngestOptions(imageModel: "efficientnet-lite0"), home: home)
            .ingest([dir.appendingPathComponent("docs/rocket.jpg").path])
        do {
            _ = try await Searcher(store: store, home: home).search(text: "a rocket")
            XCTFail("EfficientNet vectors cannot be searched with text")
        } catch let QuiverError.noCompatibleCollection(query, reason) {
            XCTAssertEqual(query, "a text query")
            XCTAssertTrue(reason.contains("images were embedded with efficientnet-lite0, which has no text encoder, so a text query cannot be compared with quiver_image"), reason)
            XCTAssertTrue(reason.contains("--image-model clip-vit-"), reason)
            XCTAssertTrue(reason.contains("another collection") && reason.contains("--collection NAME"), reason)
            // `quiver models pull` is proposed only when no CLIP model is installed, and offers that name.
            let clipInstalled = ImageEmbedder.defaultModel(home: home) != "efficientnet-lite0"
            XCTAssertEqual(reason.contains("no CLIP model installed: "), !clipInstalled, reason)
            XCTAssertEqual(reason.contains("quiver models pull clip-vit-base-patch32"), !clipInstalled, reason)
            XCTAssertEqual(ModelCatalog.standard.entry(named: "clip-vit-base-patch32")?.modality, .imageText)
            XCTAssertFalse(ModelCatalog.standard.entry(named: "clip-vit-base-patch32")?.sources.isEmpty ?? true, "pullable")
        }
        // The re-ingest the message proposes works: another collection takes CLIP vectors.
        let r = try await Ingestor(store: store, options: IngestOptions(collection: "clip", imageModel: clip.path), home: home)
            .ingest([dir.appendingPathComponent("docs/rocket.jpg").path])
        XCTAssertEqual(r.added, 1)
        let hits = try await Searcher(store: store, collection: "clip", home: home).search(text: "a rocket")
        XCTAssertEqual(hits.results.map { URL(fileURLWithPath: $0.path).lastPathComponent }, ["rocket.jpg"])
        try await store.close()
    }
}
