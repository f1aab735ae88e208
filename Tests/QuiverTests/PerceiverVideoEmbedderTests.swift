import Foundation
import XCTest
import Quiver
import QuiverMedia
import QuiverModels
import QuiverTestSupport

/// Clips of decoded videos through the multimodal Perceiver embedder, with the tiny random model of
/// Tests/Fixtures/perceiver/tiny-random (4 frames of 24x24 per clip, 48 samples per frame: clips
/// of 0.16 s, sound at 1,200 Hz).
final class PerceiverVideoEmbedderTests: XCTestCase {
    let folder = TestPaths.fixtures.appendingPathComponent("perceiver/tiny-random")

    /// tiny_av.mp4: 64x48 at 10 frames/s, 1.2 s, with sound. 1.2 s at 25 slots/s is 30 slots:
    /// 7 full clips of 4 and a last one of 2 slots padded with its last frame.
    func testClipsOfAVideoWithSound() throws {
        let embedder = try PerceiverVideoEmbedder(folder: folder)
        XCTAssertEqual(embedder.sampleRate, 1200)
        XCTAssertEqual(embedder.clipSeconds, 0.16, accuracy: 1e-12)
        let url = TestPaths.fixtures.appendingPathComponent("media/audio/tiny_av.mp4")
        let clips = try embedder.clips(contentsOf: url)
        XCTAssertEqual(clips.count, 8)
        for (k, c) in clips.enumerated() {
            XCTAssertEqual(c.start, 0.16 * Double(k), accuracy: 1e-9, "clip \(k) start")
            XCTAssertEqual(c.end, k == 7 ? 1.2 : 0.16 * Double(k + 1), accuracy: 1e-9, "clip \(k) end")
            XCTAssertEqual(c.clip.frameCount, 4)
            XCTAssertEqual([c.clip.height, c.clip.width], [24, 24])
            XCTAssertEqual(c.clip.audio.count, 192)
            XCTAssertTrue(c.clip.frames.allSatisfy { $0 >= 0 && $0 <= 1 }, "pixels scaled to [0, 1]")
        }
        // 10 frames/s on 25 slots/s: slots 0, 1, 2 (0, 0.04, 0.08 s) show decoded frame 0, slot 3
        // (0.12 s) frame 1.
        let plane = 3 * 24 * 24, f = clips[0].clip.frames
        XCTAssertEqual(Array(f[0..<plane]), Array(f[plane..<(2 * plane)]))
        XCTAssertEqual(Array(f[0..<plane]), Array(f[(2 * plane)..<(3 * plane)]))
        // The last clip has 2 slots (1.12, 1.16 s) and repeats its last frame.
        let l = clips[7].clip.frames
        XCTAssertEqual(Array(l[(plane)..<(2 * plane)]), Array(l[(3 * plane)..<(4 * plane)]))
        // Sound: the track decoded by FFmpeg at 1,200 Hz (~1.2 s); clip k takes samples from 192 k,
        // the last clip (from sample 1,344) ends in silence.
        let sound = try AudioDecoder.decode(contentsOf: url, options: AudioDecodeOptions(sampleRate: 1200)).samples
        XCTAssertEqual(Double(sound.count), 1440, accuracy: 20)
        XCTAssertTrue(sound[0..<192].contains { $0 != 0 })
        XCTAssertEqual(clips[0].clip.audio, Array(sound[0..<192]))
        XCTAssertEqual(clips[3].clip.audio, Array(sound[576..<768]))
        let tail = sound.count - 1344
        XCTAssertEqual(Array(clips[7].clip.audio[0..<tail]), Array(sound[1344...]))
        XCTAssertTrue(clips[7].clip.audio[tail...].allSatisfy { $0 == 0 }, "silence past the end of the sound")

        let (embedded, whole) = try embedder.embed(contentsOf: url, threads: 2)
        XCTAssertEqual(embedded.count, 8)
        let model = try PerceiverMultimodalModel(folder: folder)
        for (k, e) in embedded.enumerated() {
            XCTAssertEqual(e.index, k)
            XCTAssertEqual(e.vector.count, 32)
            let direct = try model.embed(clips[k].clip, threads: 1)
            let cos = zip(e.vector, direct).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertGreaterThan(cos, 0.9999999, "clip \(k): the embedder feeds the model its clips")
        }
        let w = try XCTUnwrap(whole)
        XCTAssertEqual(w.reduce(0) { $0 + Double($1) * Double($1) }, 1, accuracy: 1e-5)
        XCTAssertLessThan(zip(embedded[0].vector, embedded[3].vector).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }, 0.9999999,
                          "different moments give different vectors")
    }

    /// carphone_pristine.mp4 has no audio stream: it is fed silence, not an error.
    func testAVideoWithoutSoundGetsSilence() throws {
        let embedder = try PerceiverVideoEmbedder(folder: folder)
        let url = TestPaths.reference.appendingPathComponent("media/carphone_pristine.mp4")
        let clips = try embedder.clips(contentsOf: url)
        // 4.004 s at 25 slots/s: 101 slots, 26 clips (the last one of 1 slot).
        XCTAssertEqual(clips.count, 26)
        XCTAssertTrue(clips.allSatisfy { $0.clip.audio.allSatisfy { $0 == 0 } })
        XCTAssertEqual(clips.last!.end, 4.004, accuracy: 1e-3)
        let (embedded, whole) = try embedder.embed(contentsOf: url)
        XCTAssertEqual(embedded.count, 26)
        XCTAssertNotNil(whole)
    }
}
