import Foundation
import QuiverMedia
import QuiverTestSupport
import XCTest

// The EfficientNet-Lite0 features of the sampled frames are checked in
// Tests/QuiverModelsTests/VideoFrameParityTests.swift, where the model lives.

final class VideoDecoderTests: XCTestCase {
    private func mean(_ image: RGBImage) -> Double {
        Double(image.pixels.reduce(0) { $0 + Int($1) }) / Double(image.pixels.count)
    }

    /// Tests/Fixtures/reference/video/*.json (PyAV `to_ndarray(format="rgb24")`): frame count,
    /// the times of the sampled frames, and their RGB means within 0.5.
    func testReferenceVideos() throws {
        struct Ref: Decodable {
            let file: String
            let num_frames: Int
            let width: Int
            let height: Int
            let frame_indices: [Int]
            let frame_times_s: [Double]
            let frame_rgb_mean: [Double]
            let has_audio: Bool
        }
        for name in ["bikes.mp4", "carphone_pristine.mp4"] {
            let ref: Ref = try TestPaths.referenceJSON("video/\(name).json")
            let decoder = try VideoDecoder(contentsOf: TestPaths.reference.appendingPathComponent(ref.file))
            XCTAssertEqual(decoder.info.width, ref.width)
            XCTAssertEqual(decoder.info.height, ref.height)
            XCTAssertEqual(decoder.info.hasAudio, ref.has_audio)
            XCTAssertEqual(decoder.info.declaredFrameCount, ref.num_frames)
            var checked = 0
            while let f = try decoder.nextFrame() {
                guard let k = ref.frame_indices.firstIndex(of: f.index) else { continue }
                XCTAssertEqual(f.time, ref.frame_times_s[k], accuracy: 1e-6, "\(name) frame \(f.index) time")
                let image = try decoder.currentImage()
                XCTAssertEqual(image.width, ref.width)
                XCTAssertEqual(image.height, ref.height)
                XCTAssertEqual(mean(image), ref.frame_rgb_mean[k], accuracy: 0.5, "\(name) frame \(f.index) RGB mean")
                checked += 1
            }
            XCTAssertEqual(decoder.decodedFrames, ref.num_frames, name)
            XCTAssertEqual(checked, ref.frame_indices.count, name)
        }
    }

    /// Every frame of the two sample videos and of an MPEG-4 Part 2 clip against PyAV
    /// (Tests/Fixtures/media/av_reference.json): times exact to 1e-6 s, RGB means within 0.5
    /// (measured: within 0.02 levels on every frame; swscale of Debian's FFmpeg 5.1 vs PyAV's 8.0).
    func testEveryFrameMatchesPyAV() throws {
        let ref = try AVReference.load()
        XCTAssertEqual(ref.video.count, 3)
        for item in ref.video {
            let url = AVReference.url(item.file)
            let frames = try VideoDecoder.sample(contentsOf: url, sampling: .everyFrame)
            XCTAssertEqual(frames.count, item.frame_times.count, item.file)
            var worst = 0.0
            for (f, (t, m)) in zip(frames, zip(item.frame_times, item.frame_rgb_means)) {
                XCTAssertEqual(f.time, t, accuracy: 1e-6, "\(item.file) frame \(f.index)")
                worst = max(worst, abs(mean(f.image) - m))
            }
            XCTAssertLessThan(worst, 0.5, "\(item.file): largest RGB mean difference")
            print("[video parity] \(item.file): \(frames.count) frames, largest RGB mean difference \(worst)")
            // every-frame spans: start = own time, end = next frame's time (the last: + its duration).
            XCTAssertEqual(frames.map(\.index), Array(0..<frames.count))
            for (a, b) in zip(frames, frames.dropFirst()) {
                XCTAssertEqual(a.start, a.time)
                XCTAssertEqual(a.end, b.time)
            }
            XCTAssertEqual(frames.last!.end, frames.last!.time + 1 / item.average_rate, accuracy: 1e-6)
        }
    }

    func testInfo() throws {
        let bikes = try VideoDecoder(contentsOf: TestPaths.reference.appendingPathComponent("media/bikes.mp4")).info
        XCTAssertEqual(bikes.codec, "h264")
        XCTAssertEqual(bikes.pixelFormat, "yuv420p")
        XCTAssertEqual(bikes.frameRate ?? 0, 25, accuracy: 1e-9)
        XCTAssertEqual(bikes.duration ?? 0, 10, accuracy: 1e-6)
        XCTAssertEqual(bikes.startTime, 0)
        XCTAssertFalse(bikes.hasAudio)
        let carphone = try VideoDecoder(contentsOf: TestPaths.reference.appendingPathComponent("media/carphone_pristine.mp4")).info
        XCTAssertEqual(carphone.frameRate ?? 0, 30_000.0 / 1001, accuracy: 1e-9)
        XCTAssertEqual(carphone.declaredFrameCount, 120)
        let tiny = try VideoDecoder(contentsOf: AVReference.url("media/audio/tiny_av.mp4")).info
        XCTAssertEqual(tiny.codec, "mpeg4")
        XCTAssertTrue(tiny.hasAudio)
        XCTAssertEqual(tiny.width, 64)
        XCTAssertEqual(tiny.height, 48)
        XCTAssertEqual(try VideoDecoder.countFrames(contentsOf: TestPaths.reference.appendingPathComponent("media/bikes.mp4")), 250)
    }

    /// fps:1 on a 25 fps, 250-frame, 10 s video: frames 0, 25, ..., 225, spans [k, k+1) s.
    func testFPSSampling() throws {
        let url = TestPaths.reference.appendingPathComponent("media/bikes.mp4")
        let frames = try VideoDecoder.sample(contentsOf: url)  // default fps:1
        XCTAssertEqual(frames.map(\.index), stride(from: 0, to: 250, by: 25).map { $0 })
        for (k, f) in frames.enumerated() {
            XCTAssertEqual(f.time, Double(k), accuracy: 1e-9)
            XCTAssertEqual(f.start, Double(k), accuracy: 1e-9)
            XCTAssertEqual(f.end, Double(k + 1), accuracy: 1e-9)
        }
        // fps:3 on 29.97 fps: interval k = [k/3, (k+1)/3) picks the first frame at or after k/3.
        let carphone = TestPaths.reference.appendingPathComponent("media/carphone_pristine.mp4")
        let three = try VideoDecoder.sample(contentsOf: carphone, sampling: .fps(3))
        let rate = 30_000.0 / 1001
        let expected = (0..<12).map { k in Int((Double(k) / 3 * rate).rounded(.up)) }
        XCTAssertEqual(three.map(\.index), expected)
        XCTAssertEqual(three.last!.end, 4, accuracy: 1e-9, "interval 11 ends at 12/3 s, before the video (4.004 s)")
        let slow = try VideoDecoder.sample(contentsOf: carphone, sampling: .fps(0.3))
        XCTAssertEqual(slow.map(\.index), [0, 100])
        XCTAssertEqual(slow.last!.end, 120 / rate, accuracy: 1e-6, "the last span is clipped to the end of the video")
        // A rate above the video's returns each frame once.
        let tiny = try VideoDecoder.sample(contentsOf: AVReference.url("media/audio/tiny_av.mp4"), sampling: .fps(100))
        XCTAssertEqual(tiny.map(\.index), Array(0..<12))
        XCTAssertEqual(tiny[3].start, 0.3, accuracy: 1e-9)
        XCTAssertEqual(tiny[3].end, 0.31, accuracy: 1e-9)
    }

    /// uniform:6 on 120 frames: segments of 20, middle frames 9, 29, ..., 109.
    func testUniformSampling() throws {
        let url = TestPaths.reference.appendingPathComponent("media/carphone_pristine.mp4")
        let rate = 30_000.0 / 1001
        let frames = try VideoDecoder.sample(contentsOf: url, sampling: .uniform(6))
        XCTAssertEqual(frames.map(\.index), [9, 29, 49, 69, 89, 109])
        for (k, f) in frames.enumerated() {
            XCTAssertEqual(f.start, Double(20 * k) / rate, accuracy: 1e-6)
            XCTAssertEqual(f.end, Double(20 * (k + 1)) / rate, accuracy: 1e-6)
            XCTAssertEqual(f.time, Double(f.index) / rate, accuracy: 1e-6)
        }
        // Uneven split: 250 frames in 7 segments (bounds 0, 35, 71, 107, 142, 178, 214, 250;
        // lengths 35 or 36, middle = bound + (length - 1) / 2).
        let bikes = try VideoDecoder.sample(contentsOf: TestPaths.reference.appendingPathComponent("media/bikes.mp4"), sampling: .uniform(7))
        XCTAssertEqual(bikes.map(\.index), [17, 52, 88, 124, 159, 195, 231])
        for (f, b) in zip(bikes, [0, 35, 71, 107, 142, 178, 214]) { XCTAssertEqual(f.start, Double(b) / 25, accuracy: 1e-9) }
        XCTAssertEqual(bikes.last!.end, 10, accuracy: 1e-9)
        // More samples than frames: each frame once.
        let tiny = try VideoDecoder.sample(contentsOf: AVReference.url("media/audio/tiny_av.mp4"), sampling: .uniform(20))
        XCTAssertEqual(tiny.map(\.index), Array(0..<12))
        let one = try VideoDecoder.sample(contentsOf: AVReference.url("media/audio/tiny_av.mp4"), sampling: .uniform(1))
        XCTAssertEqual(one.map(\.index), [5])
        XCTAssertEqual(one[0].start, 0)
        XCTAssertEqual(one[0].end, 1.2, accuracy: 1e-9)
    }

    func testSamplingParsing() throws {
        XCTAssertEqual(try VideoSampling(parsing: "every-frame"), .everyFrame)
        XCTAssertEqual(try VideoSampling(parsing: "fps:0.5"), .fps(0.5))
        XCTAssertEqual(try VideoSampling(parsing: " FPS:2 "), .fps(2))
        XCTAssertEqual(try VideoSampling(parsing: "uniform:8"), .uniform(8))
        XCTAssertEqual(VideoSampling.default, .fps(1))
        XCTAssertEqual("\(VideoSampling.fps(2))", "fps:2")
        XCTAssertEqual("\(VideoSampling.fps(0.5))", "fps:0.5")
        XCTAssertEqual("\(VideoSampling.uniform(8))", "uniform:8")
        for bad in ["fps:0", "fps:-1", "fps:x", "uniform:0", "uniform:2.5", "every", ""] {
            XCTAssertThrowsError(try VideoSampling(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("every-frame, fps:R"), "\(error)")
            }
        }
        let url = AVReference.url("media/audio/tiny_av.mp4")
        XCTAssertThrowsError(try VideoDecoder.sample(contentsOf: url, sampling: .uniform(0)))
        XCTAssertThrowsError(try VideoDecoder.sample(contentsOf: url, sampling: .fps(.nan)))
    }

    /// The frames are ordinary RGBImages: the image preprocessing applies unchanged.
    func testFramesFeedTheImagePreprocessor() throws {
        let frames = try VideoDecoder.sample(contentsOf: TestPaths.reference.appendingPathComponent("media/carphone_pristine.mp4"), sampling: .uniform(1))
        let tensor = try ImagePreprocessor.efficientNetLite0(frames[0].image)
        XCTAssertEqual(tensor.shape, [3, 224, 224])
    }

    func testErrors() throws {
        let audioOnly = AVReference.url("media/audio/speech_mp3.mp3")
        XCTAssertThrowsError(try VideoDecoder(contentsOf: audioOnly)) { error in
            XCTAssertEqual(error as? MediaError, .missingStream(path: audioOnly.path, kind: "video"))
        }
        let missing = URL(fileURLWithPath: "/nonexistent/clip.mp4")
        XCTAssertThrowsError(try VideoDecoder(contentsOf: missing)) { error in
            XCTAssertEqual(error as? MediaError, .unreadableFile(path: missing.path, reason: "no such file"))
        }
        XCTAssertThrowsError(try VideoDecoder(contentsOf: missing).currentImage())
        let decoder = try VideoDecoder(contentsOf: AVReference.url("media/audio/tiny_av.mp4"))
        XCTAssertThrowsError(try decoder.currentImage()) { error in
            XCTAssertTrue("\(error)".contains("nextFrame()"), "\(error)")
        }
        // Truncated / damaged H.264: a MediaError naming the file, or (concealed damage) frames; never a crash.
        let src = TestPaths.reference.appendingPathComponent("media/bikes.mp4")
        let bytes = [UInt8](try Data(contentsOf: src))
        var damaged: [[UInt8]] = [Array(bytes.prefix(bytes.count / 2)), Array(bytes.prefix(2000))]
        var overwritten = bytes
        for i in (bytes.count / 3)..<(bytes.count / 3 + 4000) { overwritten[i] = UInt8(truncatingIfNeeded: i &* 7919) }
        damaged.append(overwritten)
        var errors = 0
        for (n, data) in damaged.enumerated() {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-video-\(UUID().uuidString).mp4")
            try Data(data).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            do {
                let frames = try VideoDecoder.sample(contentsOf: url, sampling: .fps(5))
                XCTAssertFalse(frames.isEmpty, "case \(n)")
            } catch let error as MediaError {
                errors += 1
                XCTAssertTrue("\(error)".contains(url.path), "case \(n): \(error)")
            }
        }
        XCTAssertGreaterThanOrEqual(errors, 1, "the 2000-byte prefix cannot decode")
    }
}
