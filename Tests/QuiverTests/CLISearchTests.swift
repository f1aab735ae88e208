import XCTest
import Quiver
import QuiverTestSupport

/// `quiver ingest` and `quiver search QUERY` end to end, through the built executable (next to
/// the test bundle: `swift build --build-tests` builds it too).
final class CLISearchTests: XCTestCase {
    private func run(_ args: [String], env: [String: String], cwd: URL? = nil) throws -> (status: Int32, out: String, err: String) {
        let r = try QuiverCLI.run(args, env: env, cwd: cwd)
        return (r.status, r.out, r.err)
    }

    func testIngestThenTextSearchAsJSON() throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        try "dog: a domesticated carnivore kept as a pet\nviolin: a bowed stringed instrument\nbank: a financial institution that accepts deposits\n"
            .write(to: docs.appendingPathComponent("glosses.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: docs.appendingPathComponent("gone.txt").path, withDestinationPath: "/nonexistent/gone")
        let env = ["QUIVER_DB": dir.appendingPathComponent("db").path, "QUIVER_HOME": TestPaths.modelHome.path]

        let ingest = try run(["ingest", "--split", "lines", "--no-progress", docs.path], env: env)
        XCTAssertEqual(ingest.status, 1, "a failed file makes the exit code 1: \(ingest.err)")
        XCTAssertTrue(ingest.err.contains("1 new"), ingest.err)
        XCTAssertTrue(ingest.err.contains("gone.txt: broken symbolic link"), ingest.err)

        let search = try run(["search", "--format", "json", "--limit", "2", "a musical instrument played with a bow"], env: env)
        XCTAssertEqual(search.status, 0, search.err)
        let hits = try JSONSerialization.jsonObject(with: Data(search.out.utf8)) as! [[String: Any]]
        XCTAssertEqual(hits.count, 2)
        XCTAssertEqual(hits[0]["text"] as? String, "violin: a bowed stringed instrument")
        XCTAssertEqual(hits[0]["start"] as? Int, 44)
        XCTAssertEqual(hits[0]["end"] as? Int, 79)
        XCTAssertEqual(hits[0]["modality"] as? String, "text")

        let table = try run(["search", "--limit", "1", "money"], env: env, cwd: dir)
        XCTAssertTrue(table.out.contains("bank: a financial institution"), table.out)
        XCTAssertTrue(table.out.contains(" docs/glosses.txt "), "paths relative to the current folder: \(table.out)")
        let deep = dir.appendingPathComponent("docs")
        let elsewhere = try run(["search", "--limit", "1", "money"], env: env, cwd: deep)
        XCTAssertTrue(elsewhere.out.contains(" glosses.txt "), elsewhere.out)

        let none = try run(["search", "--collection", "other", "money"], env: env)
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.err.contains("run `quiver ingest` first"), none.err)
    }

    /// Text → image through `quiver search` with images ingested by a CLIP model given as a folder:
    /// the scores are the cosines of CLIP's text and image vectors, best first.
    func testTextSearchFindsImagesIngestedWithCLIP() throws {
        let clip = TestPaths.reference.appendingPathComponent("models/tiny-random-clip")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-cli-clip-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        let names = ["chelsea.png", "coffee.png", "rocket.jpg"]
        for n in names { try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("media/\(n)"), to: docs.appendingPathComponent(n)) }
        let home = dir.appendingPathComponent("home")
        let env = ["QUIVER_DB": dir.appendingPathComponent("db").path, "QUIVER_HOME": home.path]

        let ingest = try run(["ingest", "--image-model", clip.path, "--no-progress", docs.path], env: env)
        XCTAssertEqual(ingest.status, 0, ingest.err)
        XCTAssertTrue(ingest.err.contains("3 new"), ingest.err)
        XCTAssertTrue(ingest.err.contains("3 rows written to quiver_image"), ingest.err)

        let query = "a cat sitting on a chair"
        let search = try run(["search", "--format", "json", "--limit", "3", query], env: env)
        XCTAssertEqual(search.status, 0, search.err)
        XCTAssertEqual(search.err, "", "no note: the image collection has a text tower")
        let hits = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(search.out.utf8)) as? [[String: Any]])
        let embedder = try CLIPEmbedder(model: clip.path, home: ModelHome(root: home))
        let t = try embedder.embed(texts: [query])
        let files = names.map { docs.appendingPathComponent($0) }
        let cos = CLIPSimilarity.compute(texts: t, images: try embedder.embed(imageFiles: files), logitScale: 0).cosines[0]
        let expected = zip(files.map(\.path), cos).sorted { $0.1 > $1.1 }
        XCTAssertEqual(hits.map { $0["path"] as? String }, expected.map { Optional($0.0) })
        for (h, e) in zip(hits, expected) {
            XCTAssertEqual(h["modality"] as? String, "image")
            XCTAssertEqual(h["collection"] as? String, "quiver_image")
            XCTAssertEqual(h["score"] as? Double ?? .nan, Double(e.1), accuracy: 1e-5)
        }
        let table = try run(["search", "--limit", "1", query], env: env)
        XCTAssertTrue(table.out.contains(URL(fileURLWithPath: expected[0].0).lastPathComponent), table.out)
        XCTAssertTrue(table.out.contains(" image "), table.out)
    }

    /// A video with a sound track: the ingest summary counts the sound-track rows, and an audio
    /// query prints the track's time range (table) and start_s/end_s (JSON).
    func testAudioSearchShowsTheVideoSoundTrackTimeRange() throws {
        _ = try TestPaths.model("faster-whisper-tiny.en")
        let clip = TestPaths.reference.appendingPathComponent("models/tiny-random-clip")
        let media = TestPaths.reference.appendingPathComponent("media")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-cli-sound-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: media.appendingPathComponent("speech_video.mp4"), to: docs.appendingPathComponent("talk.mp4"))
        try FileManager.default.copyItem(at: media.appendingPathComponent("speech_0.wav"), to: docs.appendingPathComponent("other.wav"))
        let env = ["QUIVER_DB": dir.appendingPathComponent("db").path, "QUIVER_HOME": TestPaths.modelHome.path]

        let ingest = try run(["ingest", "--image-model", clip.path, "--audio-model", "faster-whisper-tiny.en", "--no-progress", docs.path], env: env)
        XCTAssertEqual(ingest.status, 0, ingest.err)
        XCTAssertTrue(ingest.err.contains("2 new"), ingest.err)
        XCTAssertTrue(ingest.err.contains("7 rows written (1 of them video sound-track windows)"), ingest.err)

        let query = media.appendingPathComponent("speech_1.wav").path
        let json = try run(["search", "--format", "json", "--modality", "video", query], env: env)
        XCTAssertEqual(json.status, 0, json.err)
        let hits = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]])
        XCTAssertEqual(hits.count, 1, "only the sound track: frames are in the image space")
        XCTAssertEqual(hits[0]["modality"] as? String, "video")
        XCTAssertEqual(hits[0]["collection"] as? String, "quiver_audio")
        XCTAssertEqual(hits[0]["start_s"] as? Double, 0)
        let end = try XCTUnwrap(hits[0]["end_s"] as? Double)
        XCTAssertEqual(end, 4, accuracy: 0.05, "the 4 s track")

        let table = try run(["search", "--limit", "2", query], env: env)
        XCTAssertEqual(table.status, 0, table.err)
        let line = try XCTUnwrap(table.out.split(separator: "\n").first { $0.contains("talk.mp4") }, table.out)
        XCTAssertTrue(line.contains(" video "), String(line))
        XCTAssertTrue(line.hasSuffix("sound track, 0:00–0:04"), String(line))
    }

    /// `quiver search --mode bm25` and `--rerank` with the tiny cross-encoder fixture: the shown
    /// scores are the cross-encoder's for (query, chunk text), best first.
    func testBM25ModeAndRerank() throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-cli-rerank-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        try "any of numerous small rodents typically resembling diminutive rats\na financial institution that accepts deposits\na bowed stringed instrument\n"
            .write(to: docs.appendingPathComponent("glosses.txt"), atomically: true, encoding: .utf8)
        let env = ["QUIVER_DB": dir.appendingPathComponent("db").path, "QUIVER_HOME": TestPaths.modelHome.path]
        XCTAssertEqual(try run(["ingest", "--split", "lines", "--no-progress", docs.path], env: env).status, 0)
        let bm25 = try run(["search", "--mode", "bm25", "--format", "json", "rodents"], env: env)
        XCTAssertEqual(bm25.status, 0, bm25.err)
        let bh = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bm25.out.utf8)) as? [[String: Any]])
        XCTAssertEqual(bh.map { $0["text"] as? String }, ["any of numerous small rodents typically resembling diminutive rats"])

        let ce = TestPaths.reference.appendingPathComponent("models/tiny-random-cross-encoder")
        let query = "a small rodent"
        let r = try run(["search", "--rerank", ce.path, "--rerank-depth", "3", "--limit", "2", "--format", "json", query], env: env)
        XCTAssertEqual(r.status, 0, r.err)
        let hits = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        XCTAssertEqual(hits.count, 2)
        let model = try CrossEncoder(folder: ce)
        let texts = ["any of numerous small rodents typically resembling diminutive rats", "a financial institution that accepts deposits", "a bowed stringed instrument"]
        let expected = try model.rerank(query: query, documents: texts)
        XCTAssertEqual(hits.map { $0["text"] as? String }, expected.prefix(2).map { texts[$0.index] })
        for (h, e) in zip(hits, expected) { XCTAssertEqual(h["score"] as? Double ?? .nan, Double(e.score), accuracy: 1e-6) }
    }
}
