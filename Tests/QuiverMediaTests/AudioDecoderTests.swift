import Foundation
import QuiverMedia
import QuiverTestSupport
import XCTest

/// Tests/Fixtures/media/av_reference.json, written by scripts/fixtures/make_av_fixtures.py with
/// PyAV 18 (FFmpeg 8): the Whisper reference loader for audio, `to_ndarray("rgb24")` for video.
struct AVReference: Decodable {
    struct Source: Decodable {
        let codec: String
        let sample_rate: Int
        let channels: Int
    }
    struct Audio: Decodable {
        let file: String
        let rate: Int
        let source: Source
        let num_samples: Int
        let mean: Double
        let std: Double
        let max_abs: Double
        let segment_sums: [Double]
        let positions: [Int]
        let values: [Double]
    }
    struct Video: Decodable {
        let file: String
        let width: Int
        let height: Int
        let codec: String
        let stream_frames: Int
        let average_rate: Double
        let has_audio: Bool
        let frame_times: [Double]
        let frame_rgb_means: [Double]
    }
    let audio: [Audio]
    let video: [Video]

    static func load() throws -> AVReference {
        try JSONDecoder().decode(AVReference.self, from: Data(contentsOf: TestPaths.fixtures.appendingPathComponent("media/av_reference.json")))
    }

    static func url(_ file: String) -> URL { TestPaths.fixtures.appendingPathComponent(file) }
}

final class AudioDecoderTests: XCTestCase {
    /// The Whisper reference (Tests/Fixtures/reference/audio/*.json) decoded these files to
    /// exactly these many 16 kHz samples; the log-mel and encoder parity depends on it.
    func testSampleCountsMatchWhisperReference() throws {
        struct Item: Decodable { let file: String; let num_samples_16k: Int }
        struct Ref: Decodable { let items: [Item] }
        for model in ["faster-whisper-base", "faster-whisper-tiny.en"] {
            let ref: Ref = try TestPaths.referenceJSON("audio/\(model).json")
            XCTAssertFalse(ref.items.isEmpty)
            for item in ref.items {
                let audio = try AudioDecoder.decode(contentsOf: TestPaths.reference.appendingPathComponent(item.file))
                XCTAssertEqual(audio.samples.count, item.num_samples_16k, "\(model) \(item.file)")
                XCTAssertEqual(audio.sampleRate, 16_000)
            }
        }
    }

    /// Every test file (WAV 16/44.1/8 kHz mono and stereo, FLAC, Ogg Vorbis, Ogg Opus, MP3, M4A/AAC
    /// and the AAC track of an MP4) against the reference loader: sample count, mean, std, max |x|,
    /// sums over 8 segments and 16 sampled values. The same libswresample defaults give the same
    /// samples: measured identical for PCM/FLAC/MP3 and within 3e-8 for AAC/Vorbis/Opus between
    /// this FFmpeg (Debian 5.1) and PyAV's (8.0); tolerance 1e-6 on values, 1e-7 on mean/std.
    func testMatchesReferenceLoader() throws {
        let ref = try AVReference.load()
        XCTAssertGreaterThanOrEqual(ref.audio.count, 14)
        var worst: [String: Double] = [:]
        for item in ref.audio {
            let what = "\(item.file) @ \(item.rate) Hz"
            let audio = try AudioDecoder.decode(contentsOf: AVReference.url(item.file), options: AudioDecodeOptions(sampleRate: item.rate))
            let x = audio.samples
            XCTAssertEqual(x.count, item.num_samples, "\(what): sample count")
            guard x.count == item.num_samples else { continue }
            let tol = 1e-7
            let n = Double(x.count)
            let mean = x.reduce(0.0) { $0 + Double($1) } / n
            let std = (x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
            let maxAbs = Double(x.map { abs($0) }.max() ?? 0)
            XCTAssertEqual(mean, item.mean, accuracy: tol, "\(what): mean")
            XCTAssertEqual(std, item.std, accuracy: tol, "\(what): std")
            XCTAssertEqual(maxAbs, item.max_abs, accuracy: tol * 10, "\(what): max |x|")
            var diff = 0.0
            for (p, v) in zip(item.positions, item.values) { diff = max(diff, abs(Double(x[p]) - v)) }
            // The same split as numpy.array_split: the first count % 8 segments get one extra sample.
            var start = 0
            for (s, expected) in item.segment_sums.enumerated() {
                let len = x.count / 8 + (s < x.count % 8 ? 1 : 0)
                let sum = x[start..<(start + len)].reduce(0.0) { $0 + Double($1) }
                XCTAssertEqual(sum, expected, accuracy: tol * 100, "\(what): sum of segment \(s)")
                start += len
            }
            XCTAssertLessThanOrEqual(diff, tol * 10, "\(what): largest difference at the sampled positions")
            worst[what] = diff
        }
        print("[audio parity] largest sampled difference per file: \(worst.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" })")
    }

    func testSourceInfo() throws {
        let ref = try AVReference.load()
        for item in ref.audio where item.rate == 16_000 {
            let info = try AudioDecoder.info(contentsOf: AVReference.url(item.file))
            XCTAssertEqual(info.sampleRate, item.source.sample_rate, item.file)
            XCTAssertEqual(info.channels, item.source.channels, item.file)
            XCTAssertTrue(info.decoder == item.source.codec || info.codec == item.source.codec,
                          "\(item.file): codec \(info.codec) / decoder \(info.decoder) vs \(item.source.codec)")
            let seconds = Double(item.num_samples) / 16_000
            XCTAssertEqual(info.duration ?? -1, seconds, accuracy: 0.1, "\(item.file): duration")
        }
        let stereo = try AudioDecoder.info(contentsOf: TestPaths.reference.appendingPathComponent("media/speech_1_44k_stereo.wav"))
        XCTAssertEqual(stereo.container, "wav")
        XCTAssertEqual(stereo.codec, "pcm_s16le")
        let mp3 = try AudioDecoder.info(contentsOf: AVReference.url("media/audio/speech_mp3.mp3"))
        XCTAssertEqual(mp3.codec, "mp3")
        XCTAssertEqual(mp3.decoder, "mp3float")
    }

    /// Chunks of any size concatenate to exactly the whole-buffer result.
    func testStreamingEqualsWholeDecode() throws {
        for file in ["reference/media/speech_1_44k_stereo.wav", "media/audio/speech_opus.ogg", "media/audio/speech_mp3.mp3"] {
            let url = AVReference.url(file)
            let whole = try AudioDecoder.decode(contentsOf: url).samples
            for chunk in [1, 997, 16_000] {
                let reader = try AudioReader(contentsOf: url)
                var joined: [Float] = []
                var reads = 0
                while true {
                    let part = try reader.read(maxSamples: chunk)
                    if part.isEmpty { break }
                    XCTAssertLessThanOrEqual(part.count, chunk)
                    joined += part
                    reads += 1
                }
                XCTAssertEqual(joined, whole, "\(file) in chunks of \(chunk)")
                XCTAssertEqual(reads, (whole.count + chunk - 1) / chunk, "\(file): chunks of \(chunk)")
                XCTAssertEqual(try reader.read(maxSamples: 10), [], "\(file): reading after the end")
            }
        }
    }

    func testResampledLengthFollowsTheRate() throws {
        let url = TestPaths.reference.appendingPathComponent("media/speech_1_44k_stereo.wav")
        let info = try AudioDecoder.info(contentsOf: url)
        let sourceSamples = (info.duration ?? 0) * 44_100
        for rate in [8_000, 16_000, 22_050, 48_000] {
            let audio = try AudioDecoder.decode(contentsOf: url, options: AudioDecodeOptions(sampleRate: rate))
            XCTAssertEqual(Double(audio.samples.count), sourceSamples * Double(rate) / 44_100, accuracy: 1, "rate \(rate)")
            XCTAssertEqual(audio.duration, info.duration ?? 0, accuracy: 1e-4)
        }
        XCTAssertThrowsError(try AudioDecoder.decode(contentsOf: url, options: AudioDecodeOptions(sampleRate: 0))) { error in
            XCTAssertTrue("\(error)".contains("sampleRate"), "\(error)")
        }
    }

    // MARK: errors name the file and never crash

    private func temporaryCopy(of url: URL, keeping fraction: Double? = nil, overwrite: (Int, [UInt8])? = nil, suffix: String) throws -> URL {
        var bytes = [UInt8](try Data(contentsOf: url))
        if let f = fraction { bytes = Array(bytes.prefix(Int(Double(bytes.count) * f))) }
        if let (at, junk) = overwrite { for (i, b) in junk.enumerated() where at + i < bytes.count { bytes[at + i] = b } }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-av-\(UUID().uuidString).\(suffix)")
        try Data(bytes).write(to: out)
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        return out
    }

    func testMissingAndNonMediaFiles() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/speech.wav")
        XCTAssertThrowsError(try AudioDecoder.decode(contentsOf: missing)) { error in
            guard case let MediaError.unreadableFile(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing.path)
        }
        let text = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-av-\(UUID().uuidString).mp3")
        try Data("this is not audio, just a few words of text\n".utf8).write(to: text)
        defer { try? FileManager.default.removeItem(at: text) }
        XCTAssertThrowsError(try AudioDecoder.decode(contentsOf: text)) { error in
            guard case let MediaError.unreadableMedia(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, text.path)
            XCTAssertTrue("\(error)".contains(text.path))
        }
        let silentVideo = TestPaths.reference.appendingPathComponent("media/bikes.mp4")
        XCTAssertThrowsError(try AudioDecoder.decode(contentsOf: silentVideo)) { error in
            XCTAssertEqual(error as? MediaError, .missingStream(path: silentVideo.path, kind: "audio"))
            XCTAssertEqual("\(error)", "\(silentVideo.path) has no audio stream")
        }
    }

    /// A WAV cut to 60 % (between two samples): FFmpeg reads what is there; the header's length
    /// exposes the truncation. Cut inside a sample, the last packet is rejected by the decoder.
    func testTruncatedWAV() throws {
        let wav = TestPaths.reference.appendingPathComponent("media/speech_2.wav")
        let size = try Data(contentsOf: wav).count
        let cut = try temporaryCopy(of: wav, keeping: Double((size * 6 / 10) & ~1) / Double(size) + 1e-9, suffix: "wav")
        XCTAssertThrowsError(try AudioDecoder.decode(contentsOf: cut)) { error in
            guard case let MediaError.truncatedMedia(path, kind, declared, decoded) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, cut.path)
            XCTAssertEqual(kind, "audio")
            XCTAssertEqual(declared, 85_804.0 / 16_000, accuracy: 0.01)
            XCTAssertEqual(decoded, declared * 0.6, accuracy: 0.05)
        }
        let lenient = try AudioDecoder.decode(contentsOf: cut, options: AudioDecodeOptions(tolerateDamage: true))
        XCTAssertEqual(Double(lenient.samples.count), 85_804 * 0.6, accuracy: 200)

        let odd = try temporaryCopy(of: wav, keeping: Double((size * 6 / 10) | 1) / Double(size) + 1e-9, suffix: "wav")
        XCTAssertThrowsError(try AudioDecoder.decode(contentsOf: odd)) { error in
            guard case let MediaError.corruptMedia(path, kind, seconds, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, odd.path)
            XCTAssertEqual(kind, "audio")
            XCTAssertEqual(seconds, 85_804.0 / 16_000 * 0.6, accuracy: 0.3)
        }
        let oddLenient = try AudioDecoder.decode(contentsOf: odd, options: AudioDecodeOptions(tolerateDamage: true))
        XCTAssertEqual(Double(oddLenient.samples.count), 85_804 * 0.6, accuracy: 5000)
    }

    /// Cut or damaged compressed files: either a MediaError naming the file, or (damage the codec
    /// conceals) a decode that still returns audio; never a crash.
    func testTruncatedAndCorruptCompressedFiles() throws {
        var errors = 0
        for file in ["speech_aac.m4a", "speech_mp3.mp3", "speech_opus.ogg", "speech_vorbis.ogg", "speech_22k_mono.flac", "tiny_av.mp4"] {
            let src = AVReference.url("media/audio/\(file)")
            let ext = src.pathExtension
            let size = try Data(contentsOf: src).count
            let damaged = [
                try temporaryCopy(of: src, keeping: 0.5, suffix: ext),
                try temporaryCopy(of: src, keeping: 0.03, suffix: ext),
                try temporaryCopy(of: src, overwrite: (size / 3, [UInt8](repeating: 0xA5, count: 300)), suffix: ext),
            ]
            for url in damaged {
                do {
                    let audio = try AudioDecoder.decode(contentsOf: url)
                    XCTAssertTrue(audio.samples.allSatisfy { $0.isFinite }, "\(file): non-finite samples")
                } catch let error as MediaError {
                    errors += 1
                    XCTAssertTrue("\(error)".contains(url.path), "\(file): \(error)")
                }
            }
        }
        XCTAssertGreaterThan(errors, 3, "truncated files should mostly be reported")
    }
}
