import XCTest
@testable import Quiver
import QuiverMedia
import QuiverStore
import QuiverTestSupport

/// Ingest of videos with a sound track (frames in the image space, 30 s windows of the track in
/// the audio space) and of audio files longer than 30 s (one row per window), with the Whisper
/// tiny.en encoder and the tiny random CLIP (frames) to keep it fast.
final class SoundTrackIngestTests: XCTestCase {
    var dir: URL!
    var home: ModelHome!
    let clip = TestPaths.reference.appendingPathComponent("models/tiny-random-clip")
    let media = TestPaths.reference.appendingPathComponent("media")
    let audioModel = "faster-whisper-tiny.en"

    override func setUpWithError() throws {
        _ = try TestPaths.model(audioModel)
        home = ModelHome(root: TestPaths.modelHome)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-soundtrack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("docs"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    private func copy(_ name: String, as target: String? = nil) throws -> URL {
        let to = dir.appendingPathComponent("docs/\(target ?? name)")
        try? FileManager.default.removeItem(at: to)
        try FileManager.default.copyItem(at: media.appendingPathComponent(name), to: to)
        return to
    }

    private func ingest(_ store: VectorStore) async throws -> IngestReport {
        try await Ingestor(store: store, options: IngestOptions(imageModel: clip.path, audioModel: audioModel), home: home)
            .ingest([dir.appendingPathComponent("docs").path])
    }

    private func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var ab: Double = 0, aa: Double = 0, bb: Double = 0
        for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
        return Float(ab / (aa.squareRoot() * bb.squareRoot()))
    }

    private func rows(_ store: VectorStore, _ collection: String, path: URL) async throws -> [Row] {
        let c = try await store.collection(collection)
        return try await c.query(where: { $0.value(of: "path") == .string(path.path) }, outputFields: ["*", "vector"])
            .sorted { ($0.fields["chunk"].flatMap { if case let .int(i) = $0 { return i }; return nil } ?? 0)
                    < ($1.fields["chunk"].flatMap { if case let .int(i) = $0 { return i }; return nil } ?? 0) }
    }

    func testVideoSoundTrackIsFoundByAnAudioQueryWithItsTimeRange() async throws {
        let video = try copy("speech_video.mp4")
        let silent = try copy("carphone_pristine.mp4")
        _ = try copy("speech_0.wav"); _ = try copy("speech_2.wav")
        var store = try VectorStore(path: dir.appendingPathComponent("db").path)
        let report = try await ingest(store)
        XCTAssertEqual(report.failures, [], "a video without an audio stream is no failure")
        XCTAssertEqual(report.skipped, [])
        XCTAssertEqual(report.added, 4)
        XCTAssertEqual(report.soundTrackRows, 1, "one 30 s window: the 4 s track of speech_video.mp4; none for the silent video")
        XCTAssertEqual(report.collections, ["quiver_image", "quiver_audio"])

        // The sound-track row: the track decoded and embedded independently, over its whole span.
        let track = try AudioDecoder.decode(contentsOf: video).samples
        let expected = try AudioEmbedder(model: audioModel, home: home).embed(samples: track)
        let sound = try await rows(store, "quiver_audio", path: video)
        XCTAssertEqual(sound.count, 1)
        XCTAssertEqual(sound[0].fields["modality"], .string("video"))
        XCTAssertEqual(sound[0].fields["start_s"], .double(0))
        XCTAssertEqual(sound[0].fields["end_s"], .double(Double(track.count) / 16_000))
        let frameRows = try await rows(store, "quiver_image", path: video)
        XCTAssertEqual(sound[0].fields["sha256"], frameRows[0].fields["sha256"])
        XCTAssertEqual(cosine(sound[0].vectors["vector"]!, expected), 1, accuracy: 1e-5)
        let silentRows = try await rows(store, "quiver_audio", path: silent)
        XCTAssertEqual(silentRows.count, 0)
        XCTAssertEqual(frameRows.count, 5, "4 frames (one per second) and the whole-video row")

        // An audio query of the same speech (the wav the track was made from) finds the video's
        // sound track first, with its time range; --modality video keeps only video rows.
        let searcher = Searcher(store: store, home: home)
        let out = try await searcher.search(file: media.appendingPathComponent("speech_1.wav"), limit: 3)
        XCTAssertEqual(out.searched, ["quiver_audio"])
        XCTAssertEqual(out.results.count, 3)
        XCTAssertEqual(out.results[0].path, video.path)
        XCTAssertEqual(out.results[0].modality, "video")
        XCTAssertEqual(out.results[0].timeRange, 0...(Double(track.count) / 16_000))
        let q = try AudioEmbedder(model: audioModel, home: home).embed(file: media.appendingPathComponent("speech_1.wav")).vector
        XCTAssertEqual(out.results[0].score, cosine(q, expected), accuracy: 1e-5)
        let onlyVideo = try await searcher.search(file: media.appendingPathComponent("speech_1.wav"), limit: 3, modalities: [.video])
        XCTAssertEqual(onlyVideo.results.map(\.path), [video.path])
        try await store.close()

        // Unchanged: both the frames and the sound track are skipped.
        store = try VectorStore(path: dir.appendingPathComponent("db").path)
        let again = try await ingest(store)
        XCTAssertEqual(again.unchanged, 4)
        XCTAssertEqual(again.pieces, 0)
        XCTAssertEqual(again.soundTrackRows, 0)
        let soundAgain = try await rows(store, "quiver_audio", path: video)
        XCTAssertEqual(soundAgain.count, 1)

        // Changed into a video without sound: the frames are replaced and the old track is gone.
        _ = try copy("carphone_pristine.mp4", as: "speech_video.mp4")
        let changed = try await ingest(store)
        XCTAssertEqual(changed.replaced, 1)
        XCTAssertEqual(changed.unchanged, 3)
        XCTAssertEqual(changed.failures, [])
        let soundAfter = try await rows(store, "quiver_audio", path: video)
        XCTAssertEqual(soundAfter.count, 0)
        let framesAfter = try await rows(store, "quiver_image", path: video)
        let silentFrames = try await rows(store, "quiver_image", path: silent)
        XCTAssertEqual(framesAfter.count, silentFrames.count)
        XCTAssertEqual(Set(framesAfter.map { $0.fields["sha256"] }), Set(silentFrames.map { $0.fields["sha256"] }))

        // And back to the video with sound: the track returns.
        _ = try copy("speech_video.mp4")
        let back = try await ingest(store)
        XCTAssertEqual(back.replaced, 1)
        XCTAssertEqual(back.soundTrackRows, 1)
        let soundBack = try await rows(store, "quiver_audio", path: video)
        XCTAssertEqual(soundBack.count, 1)
        try await store.close()
    }

    /// A 35 s recording: two window rows (0–30 s, 30–35 s) and a whole-file row; a short file
    /// keeps its single row.
    func testLongAudioFileGetsOneRowPerWindow() async throws {
        let speech = try AudioDecoder.decode(contentsOf: media.appendingPathComponent("speech_1.wav")).samples
        var long: [Float] = []
        while long.count < 35 * 16_000 { long += speech; long += [Float](repeating: 0, count: 8_000) }
        long = Array(long.prefix(35 * 16_000))
        let url = dir.appendingPathComponent("docs/long.wav")
        try Self.wav16(long).write(to: url)
        let short = try copy("speech_0.wav")
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        let report = try await ingest(store)
        XCTAssertEqual(report.added, 2)
        XCTAssertEqual(report.pieces, 4, "2 windows + the whole long file, 1 row for the short file")

        let decoded = try AudioDecoder.decode(contentsOf: url).samples
        XCTAssertEqual(decoded.count, 35 * 16_000)
        let embedder = try AudioEmbedder(model: audioModel, home: home)
        let r = try await rows(store, "quiver_audio", path: url)
        XCTAssertEqual(r.map { $0.fields["chunk"] }, [.int(-1), .int(0), .int(1)])
        XCTAssertEqual(r.map { $0.fields["start_s"] }, [.double(0), .double(0), .double(30)])
        XCTAssertEqual(r.map { $0.fields["end_s"] }, [.double(35), .double(30), .double(35)])
        XCTAssertEqual(r.map { $0.fields["modality"] }, Array(repeating: .string("audio"), count: 3))
        let whole = try embedder.embed(samples: decoded)
        let first = try embedder.embed(samples: Array(decoded[0..<480_000]))
        let second = try embedder.embed(samples: Array(decoded[480_000...]))
        for (row, v) in zip(r, [whole, first, second]) {
            XCTAssertEqual(cosine(row.vectors["vector"]!, v), 1, accuracy: 1e-5)
        }
        let s = try await rows(store, "quiver_audio", path: short)
        XCTAssertEqual(s.count, 1)
        XCTAssertEqual(s[0].fields["chunk"], .int(0))
        try await store.close()
    }

    /// A 16 kHz mono 16-bit PCM WAV.
    static func wav16(_ samples: [Float]) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        let bytes = UInt32(samples.count * 2)
        d.append(contentsOf: Array("RIFF".utf8)); u32(36 + bytes); d.append(contentsOf: Array("WAVE".utf8))
        d.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(1); u32(16_000); u32(32_000); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(bytes)
        for x in samples { u16(UInt16(bitPattern: Int16(max(-32768, min(32767, (x * 32768).rounded()))))) }
        return d
    }
}
