import Foundation
import XCTest
import Quiver
import QuiverStore
import QuiverTestSupport

/// The multimodal Perceiver in the product, with the tiny random model folder of
/// Tests/Fixtures/perceiver/tiny-random: `quiver embed` gives one row per clip and the whole
/// video; `quiver ingest --video-model` writes the clips to `<collection>_video`, bound to the
/// model; a video query (`quiver search --modality video FILE`) finds its own clips.
final class PerceiverIngestTests: XCTestCase {
    let model = TestPaths.fixtures.appendingPathComponent("perceiver/tiny-random")
    let withSound = TestPaths.fixtures.appendingPathComponent("media/audio/tiny_av.mp4")
    let silent = TestPaths.reference.appendingPathComponent("media/carphone_pristine.mp4")

    func testEmbedGivesOneRowPerClipAndTheWholeVideo() throws {
        let r = try QuiverCLI.run(["embed", "--model", model.path, "--format", "jsonl", withSound.path])
        XCTAssertEqual(r.status, 0, r.err)
        let rows = try r.out.split(separator: "\n").map { line -> [String: Any] in
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { throw CocoaError(.propertyListReadCorrupt) }
            return o
        }
        guard rows.count == 9 else { return XCTFail("expected 9 rows, got \(rows.count): \(r.out.prefix(300))") }
        XCTAssertEqual(rows.count, 9, "8 clips of 0.16 s (tiny_av.mp4 is 1.2 s) and the whole video")
        XCTAssertEqual(rows.prefix(8).compactMap { $0["segment"] as? String }, Array(repeating: "clip", count: 8))
        XCTAssertEqual(rows.last?["segment"] as? String, "video")
        XCTAssertEqual((rows[1]["start"] as? Double) ?? -1, 0.16, accuracy: 1e-9)
        XCTAssertEqual((rows[0]["embedding"] as? [Double])?.count, 32)
        // The library gives the same vectors.
        let lib = try PerceiverVideoEmbedder(folder: model).embed(contentsOf: withSound)
        let first = (rows[0]["embedding"] as! [Double]).map { Float($0) }
        XCTAssertEqual(first, lib.clips[0].vector)
    }

    func testIngestedClipsAreFoundByAVideoQuery() async throws {
        _ = try TestPaths.model("efficientnet-lite0")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-perceiver-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: withSound, to: docs.appendingPathComponent("tiny_av.mp4"))
        try FileManager.default.copyItem(at: silent, to: docs.appendingPathComponent("carphone.mp4"))
        let db = dir.appendingPathComponent("db").path
        let env = ["QUIVER_DB": db]

        let ingest = try QuiverCLI.run(["ingest", "--image-model", "efficientnet-lite0", "--video-model", model.path, "--no-progress", docs.path], env: env)
        XCTAssertEqual(ingest.status, 0, ingest.err)
        XCTAssertTrue(ingest.err.contains("quiver_video"), ingest.err)

        let store = try VectorStore(path: db)
        let c = try await store.collection("quiver_video")
        let binding = c.schema.vectorFields[0].model
        XCTAssertEqual(binding.dimension, 32)
        let expected = try PerceiverVideoEmbedder(folder: model).embed(contentsOf: docs.appendingPathComponent("carphone.mp4"))
        let rows = try await c.query(filter: "path like \"%carphone.mp4\"", outputFields: ["*", "vector"])
        XCTAssertEqual(rows.count, expected.clips.count + 1, "every clip and the whole video")
        XCTAssertTrue(rows.allSatisfy { $0.fields["pieces"] == .int(Int64(expected.clips.count + 1)) })
        let whole = rows.first { $0.fields["segment"] == .string("video") }
        XCTAssertEqual(whole?.vectors["vector"], expected.whole)
        let clip2 = rows.first { $0.fields["chunk"] == .int(2) }
        XCTAssertEqual(clip2?.vectors["vector"], expected.clips[2].vector)
        XCTAssertEqual(clip2?.fields["start_s"], .double(expected.clips[2].start))
        try await store.close()

        // A video query searches the clips with the same model: the video itself comes first.
        let search = try QuiverCLI.run(["search", "--modality", "video", "--format", "json", "--limit", "3",
                                        docs.appendingPathComponent("carphone.mp4").path], env: env)
        XCTAssertEqual(search.status, 0, search.err)
        let hits = try JSONSerialization.jsonObject(with: Data(search.out.utf8)) as! [[String: Any]]
        let clipHits = hits.filter { ($0["collection"] as? String) == "quiver_video" }
        XCTAssertFalse(clipHits.isEmpty, search.out)
        XCTAssertTrue((clipHits.first?["path"] as? String)?.hasSuffix("carphone.mp4") ?? false, search.out)
        XCTAssertEqual((clipHits.first?["score"] as? Double) ?? 0, 1, accuracy: 1e-4)

        // Run again: nothing is embedded twice.
        let again = try QuiverCLI.run(["ingest", "--image-model", "efficientnet-lite0", "--video-model", model.path, "--no-progress", docs.path], env: env)
        XCTAssertEqual(again.status, 0, again.err)
        let reopened = try VectorStore(path: db)
        let count = try await reopened.collection("quiver_video").count()
        XCTAssertEqual(count, rows.count + (try PerceiverVideoEmbedder(folder: model).embed(contentsOf: withSound).clips.count + 1))
        try await reopened.close()
    }
}
