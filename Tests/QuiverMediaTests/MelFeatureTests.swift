import Foundation
import XCTest
import QuiverMedia
import QuiverTestSupport

/// Whisper log-mel features against transformers' WhisperFeatureExtractor (reference outputs in
/// Tests/Fixtures/reference/audio/*.json, computed on the speech files decoded with FFmpeg), and the FFT
/// against a direct DFT.
final class MelFeatureTests: XCTestCase {
    struct Reference: Decodable {
        struct Item: Decodable {
            let file: String
            let num_samples_16k: Int
            let log_mel_first_frame_first8: [Float]
            let log_mel_mean: Double
            let log_mel_max: Float
        }
        let items: [Item]
    }

    /// Tolerances: the reference is float32 (torch STFT in transformers 5 when torch is installed),
    /// Quiver computes the spectrum in double precision; values are rounded to 6 decimals.
    static let valueTolerance: Float = 2e-4
    static let meanTolerance = 2e-5

    func testFFTMatchesDirectDFT() {
        for n in [1, 2, 3, 4, 5, 8, 12, 25, 30, 49, 400] {
            let plan = ComplexFFT(count: n)
            var g = SystemRandomNumberGenerator()
            let xr = (0..<n).map { _ in Double.random(in: -1...1, using: &g) }
            let xi = (0..<n).map { _ in Double.random(in: -1...1, using: &g) }
            var re = xr, im = xi
            var wr = [Double](repeating: 0, count: n), wi = wr
            re.withUnsafeMutableBufferPointer { r in im.withUnsafeMutableBufferPointer { i in
                wr.withUnsafeMutableBufferPointer { a in wi.withUnsafeMutableBufferPointer { b in
                    plan.forward(re: r.baseAddress!, im: i.baseAddress!, workRe: a.baseAddress!, workIm: b.baseAddress!)
                } }
            } }
            var worst = 0.0
            for k in 0..<n {
                var sr = 0.0, si = 0.0
                for j in 0..<n {
                    let angle = -2 * Double.pi * Double(j * k % n) / Double(n)
                    sr += xr[j] * cos(angle) - xi[j] * sin(angle)
                    si += xr[j] * sin(angle) + xi[j] * cos(angle)
                }
                worst = max(worst, abs(sr - re[k]), abs(si - im[k]))
            }
            XCTAssertLessThan(worst, 1e-10 * Double(max(n, 4)), "FFT of length \(n) (radices \(plan.radices)): max error \(worst)")
        }
    }

    func testSlaneyFilterBankProperties() {
        let bank = MelFilterBank(melCount: 80, binCount: 201, sampleRate: 16000, maxFrequency: 8000)
        // Slaney scale: 1000 Hz is 15 mels; the scale inverts.
        XCTAssertEqual(MelFilterBank.hertzToMel(1000, .slaney), 15, accuracy: 1e-12)
        for f in [0.0, 300, 999, 1000, 4321, 8000] {
            XCTAssertEqual(MelFilterBank.melToHertz(MelFilterBank.hertzToMel(f, .slaney), .slaney), f, accuracy: 1e-9)
        }
        // Each Slaney-normalized triangle has area 1 in Hz: sum(weights) * 40 Hz bin spacing ≈ 1
        // for bands wide enough to be sampled well (the upper ones).
        for m in 40..<80 {
            let s = (0..<201).reduce(0.0) { $0 + bank.weights[m * 201 + $1] } * 40
            XCTAssertEqual(s, 1, accuracy: 0.1, "band \(m)")
        }
        XCTAssertTrue(bank.nonZero.allSatisfy { !$0.isEmpty }, "every band covers at least one bin")
        XCTAssertEqual(bank.weights.count, 80 * 201)
    }

    func testLogMelMatchesTransformers() throws {
        let extractor = WhisperLogMel(melCount: 80)
        for model in ["faster-whisper-base", "faster-whisper-tiny.en"] {
            let ref: Reference = try TestPaths.referenceJSON("audio/\(model).json")
            for item in ref.items {
                // FFmpeg decoding (and for the 44.1 kHz stereo file resampling), as the reference.
                let samples = try AudioDecoder.decode(contentsOf: TestPaths.reference.appendingPathComponent(item.file)).samples
                XCTAssertEqual(samples.count, item.num_samples_16k, item.file)
                let f = extractor.features(samples)
                XCTAssertEqual(f.count, 80 * 3000)
                let mean = f.reduce(0.0) { $0 + Double($1) } / Double(f.count)
                XCTAssertEqual(mean, item.log_mel_mean, accuracy: Self.meanTolerance, "\(item.file) mean")
                XCTAssertEqual(f.max()!, item.log_mel_max, accuracy: Self.valueTolerance, "\(item.file) max")
                // First frame, bands 0..<8 (input_features[0, :8, 0]).
                for b in 0..<8 {
                    XCTAssertEqual(f[b * 3000], item.log_mel_first_frame_first8[b], accuracy: Self.valueTolerance, "\(item.file) band \(b) frame 0")
                }
            }
        }
    }

    func testSilenceAndLongInput() {
        let extractor = WhisperLogMel(melCount: 128)
        // Silence: every value is log10(1e-10) = -10, so the clamp leaves it and (x + 4) / 4 = -1.5.
        let silent = extractor.features([])
        XCTAssertEqual(silent.count, 128 * 3000)
        XCTAssertTrue(silent.allSatisfy { $0 == -1.5 })
        // Input beyond 30 s is ignored.
        var g = SystemRandomNumberGenerator()
        let long = (0..<500_000).map { _ in Float.random(in: -0.5...0.5, using: &g) }
        XCTAssertEqual(extractor.features(long), extractor.features(Array(long.prefix(480_000))))
        XCTAssertEqual(WhisperLogMel.encoderFrames(covering: 0), 0)
        XCTAssertEqual(WhisperLogMel.encoderFrames(covering: 1), 1)
        XCTAssertEqual(WhisperLogMel.encoderFrames(covering: 320), 1)
        XCTAssertEqual(WhisperLogMel.encoderFrames(covering: 321), 2)
        XCTAssertEqual(WhisperLogMel.encoderFrames(covering: 10_000_000), 1500)
    }

    func testThreadCountDoesNotChangeResult() {
        let extractor = WhisperLogMel()
        let tone = (0..<100_000).map { Float(sin(Double($0) * 0.07) * 0.3) }
        XCTAssertEqual(extractor.features(tone, threads: 1), extractor.features(tone, threads: 3))
    }
}
