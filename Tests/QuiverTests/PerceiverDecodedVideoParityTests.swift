import Foundation
import XCTest
import Quiver
import QuiverModels
import QuiverTestSupport

/// The multimodal Perceiver end to end from decoded video files, against the reference stack:
/// Tests/Fixtures/perceiver/video_reference.json, made by
/// scripts/fixtures/perceiver_video_reference.py (PyAV decoding, 25 slots per second, centred
/// square, Pillow's antialiased bilinear resize, PyAV's resampler for the sound, transformers'
/// `PerceiverForMultimodalAutoencoding` with the tiny random model of
/// Tests/Fixtures/perceiver/tiny-random).
///
/// Quiver decodes with the system's FFmpeg libraries and the reference with PyAV's own build, so
/// pixels and samples may differ by rounding: the clip inputs are compared by their sums (pixel
/// sum within 0.1 % of the reference, sample sums within 1 % plus 0.05 absolute), the model outputs
/// by cosine. Tolerance: cosine >= 0.9999 for every clip's embedding, for the last hidden state of
/// the first clips and for the whole video's vector; clip times within 1 µs.
final class PerceiverDecodedVideoParityTests: XCTestCase {
    struct Reference: Decodable {
        struct Clip: Decodable {
            let index: Int
            let start: Double
            let end: Double
            let pixel_sum: Double
            let sample_sum: Double
            let sample_abs_sum: Double
            let embedding: [Float]
            let last_hidden_state: [Float]?
        }
        struct Video: Decodable {
            let file: String
            let slots: Int
            let sound_samples: Int
            let clips: [Clip]
            let whole: [Float]
        }
        let videos: [Video]
        let samples_per_clip: Int
    }

    func testClipsOfDecodedVideosMatchTransformers() throws {
        let fixtures = TestPaths.fixtures.appendingPathComponent("perceiver")
        let data = try Data(contentsOf: fixtures.appendingPathComponent("video_reference.json"))
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        let embedder = try PerceiverVideoEmbedder(folder: fixtures.appendingPathComponent("tiny-random"))
        let model = embedder.model
        XCTAssertEqual(reference.samples_per_clip, model.config.audioSamplesPerClip)
        XCTAssertEqual(reference.videos.count, 2)
        var checkedStates = 0, worst = 1.0
        for video in reference.videos {
            let url = TestPaths.repositoryRoot.appendingPathComponent(video.file)
            let clips = try embedder.clips(contentsOf: url)
            XCTAssertEqual(clips.count, video.clips.count, "\(video.file): clip count")
            let (embedded, whole) = try embedder.embed(contentsOf: url, threads: 2)
            XCTAssertEqual(embedded.count, video.clips.count, "\(video.file): embedded clips")
            for (k, ref) in video.clips.enumerated() where k < clips.count && k < embedded.count {
                let what = "\(video.file) clip \(k)"
                XCTAssertEqual(clips[k].start, ref.start, accuracy: 1e-6, "\(what) start")
                XCTAssertEqual(clips[k].end, ref.end, accuracy: 1e-6, "\(what) end")
                let pixelSum = clips[k].clip.frames.reduce(0.0) { $0 + Double($1) }
                XCTAssertEqual(pixelSum, ref.pixel_sum, accuracy: max(1e-3 * ref.pixel_sum, 1e-3), "\(what) pixel sum")
                let samples = clips[k].clip.audio.map(Double.init)
                XCTAssertEqual(samples.count, reference.samples_per_clip, "\(what) sample count")
                XCTAssertEqual(samples.reduce(0, +), ref.sample_sum, accuracy: 0.01 * abs(ref.sample_sum) + 0.05, "\(what) sample sum")
                XCTAssertEqual(samples.reduce(0) { $0 + abs($1) }, ref.sample_abs_sum, accuracy: 0.01 * ref.sample_abs_sum + 0.05,
                               "\(what) sample |sum|")
                let c = cosine(embedded[k].vector, ref.embedding)
                worst = min(worst, c)
                XCTAssertGreaterThanOrEqual(c, 0.9999, "\(what) embedding")
                if let state = ref.last_hidden_state {
                    let ours = try model.encode(clips[k].clip, threads: 2)
                    XCTAssertEqual(ours.count, state.count, "\(what) last hidden state size")
                    XCTAssertGreaterThanOrEqual(cosine(ours, state), 0.9999, "\(what) last hidden state")
                    checkedStates += 1
                }
            }
            XCTAssertGreaterThanOrEqual(cosine(try XCTUnwrap(whole, video.file), video.whole), 0.9999, "\(video.file) whole video")
            // The tiny model's clips of one video are close to each other (carphone's within cosine
            // 0.9998), so the per-clip gate alone would not tell one clip from the next: centred on
            // the reference's mean clip vector, the clip-to-clip differences must agree as well.
            let d = video.whole.count, n = min(embedded.count, video.clips.count)
            var mean = [Float](repeating: 0, count: d)
            for c in video.clips { for i in 0..<d { mean[i] += c.embedding[i] / Float(video.clips.count) } }
            let ours = (0..<n).flatMap { k in (0..<d).map { embedded[k].vector[$0] - mean[$0] } }
            let theirs = (0..<n).flatMap { k in (0..<d).map { video.clips[k].embedding[$0] - mean[$0] } }
            let centred = cosine(ours, theirs)
            print("\(video.file): \(n) clips, centred cosine \(centred)")
            XCTAssertGreaterThanOrEqual(centred, 0.99, "\(video.file): clip-to-clip differences")
        }
        print("decoded-video parity: worst clip embedding cosine \(worst), \(checkedStates) last hidden states checked")
        XCTAssertGreaterThan(checkedStates, 0, "the reference holds last hidden states")
        // The reference clips differ from each other: a constant output would not pass the gates.
        let first = reference.videos[0].clips
        XCTAssertLessThan(cosine(first[0].embedding, first[4].embedding), 0.9999)
    }

    private func cosine(_ a: [Float], _ b: [Float]) -> Double {
        guard a.count == b.count else { return -2 }
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in a.indices { ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i]) }
        return ab / max((aa * bb).squareRoot(), 1e-300)
    }
}
