import Foundation

/// Whisper's log-mel spectrogram, computed as transformers' `WhisperFeatureExtractor` computes it
/// (numpy path, `spectrogram(..., log_mel="log10")`):
///
/// 1. pad with zeros (or trim) to 30 s: 480 000 samples at 16 kHz;
/// 2. reflect-pad 200 samples at both ends (`center=True`), cut 3001 frames of 400 samples, 160
///    apart, multiply by the periodic Hann window, 400-point FFT, power `|X|²` of bins 0...200;
/// 3. Slaney mel filter bank (80 or 128 bands, 0–8000 Hz, Slaney-normalized), floor 1e-10, log10;
/// 4. drop the last frame (3000 remain), clamp below at (global maximum − 8), then `(x + 4) / 4`.
///
/// Steps 2–3 run in double precision (numpy's FFT is double), the result is float32.
/// A 30 s window takes a few milliseconds (frames spread over the cores; all-zero frames skip the FFT).
public struct WhisperLogMel: Sendable {
    /// Input sample rate in Hz.
    public static let sampleRate = 16_000
    /// FFT length and window length in samples (25 ms).
    public static let fftLength = 400
    /// Frame step in samples (10 ms).
    public static let hopLength = 160
    /// Samples of one window: 30 s.
    public static let windowSamples = 480_000
    /// Frames of one window (`windowSamples / hopLength`).
    public static let frameCount = 3_000

    /// Number of mel bands (80, or 128 for large-v3).
    public let melCount: Int
    /// The filters.
    public let filterBank: MelFilterBank
    private let fft: ComplexFFT
    private let window: [Double]

    /// A feature extractor with `melCount` bands.
    public init(melCount: Int = 80) {
        precondition(melCount > 0, "melCount must be positive")
        self.melCount = melCount
        filterBank = MelFilterBank(melCount: melCount, binCount: Self.fftLength / 2 + 1, sampleRate: Double(Self.sampleRate),
                                   minFrequency: 0, maxFrequency: 8000, scale: .slaney, slaneyNormalized: true)
        fft = ComplexFFT(count: Self.fftLength)
        // Periodic Hann window (numpy.hanning(401)[:-1]).
        window = (0..<Self.fftLength).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(Self.fftLength)) }
    }

    /// The features of one 30 s window: `[melCount, 3000]` floats, row-major (band-major, as
    /// transformers' `input_features[0]`). Samples are mono float PCM at 16 kHz; only the first
    /// 480 000 are used, shorter input is padded with silence.
    public func features(_ samples: [Float], threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> [Float] {
        var out = [Float](repeating: 0, count: melCount * Self.frameCount)
        samples.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in features(s, into: o.baseAddress!, threads: threads) }
        }
        return out
    }

    /// Writes the features of `samples` (first 480 000 used) into `out` (`melCount * 3000` floats,
    /// `[melCount, 3000]` row-major).
    public func features(_ samples: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Float>,
                         threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        let n = Self.windowSamples, half = Self.fftLength / 2, frames = Self.frameCount
        // The padded signal of the reference: zero-pad to n, then reflect-pad `half` on both sides.
        let real = min(samples.count, n)
        var padded = [Double](repeating: 0, count: n + 2 * half)
        padded.withUnsafeMutableBufferPointer { p in
            let p = p.baseAddress!
            for i in 0..<real { p[half + i] = Double(samples[i]) }
            for j in 0..<half {
                p[j] = p[half + (half - j)]                    // x[half - j]
                p[half + n + j] = p[half + n - 2 - j]          // x[n - 2 - j]
            }
        }
        let pairs = frames / 2
        let chunks = max(1, min(threads, 8))
        padded.withUnsafeBufferPointer { p in
            nonisolated(unsafe) let signal = p.baseAddress!
            let ranges = (0..<chunks).map { i in (pairs * i / chunks)..<(pairs * (i + 1) / chunks) }
            nonisolated(unsafe) let outp = out
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                self.powerMel(signal: signal, pairs: ranges[c], out: outp)
            }
        }
        // log10 with floor, global max, clamp, scale.
        let total = melCount * frames
        var maxValue = -Float.infinity
        for i in 0..<total {
            let v = log10f(max(out[i], 1e-10))
            out[i] = v
            maxValue = max(maxValue, v)
        }
        let floorValue = maxValue - 8
        for i in 0..<total { out[i] = (max(out[i], floorValue) + 4) / 4 }
    }

    /// Mel energies (before the log) of frames `2 * pairs`, two real frames per complex FFT
    /// (`z = a + i b`, then `A[k] = (Z[k] + conj Z[n-k]) / 2`, `B[k] = (Z[k] - conj Z[n-k]) / 2i`).
    private func powerMel(signal: UnsafePointer<Double>, pairs: Range<Int>, out: UnsafeMutablePointer<Float>) {
        let n = Self.fftLength, bins = n / 2 + 1, hop = Self.hopLength, frames = Self.frameCount
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 4 * n + 2 * bins)
        defer { scratch.deallocate() }
        let re = scratch, im = scratch + n, wr = scratch + 2 * n, wi = scratch + 3 * n
        let powerA = scratch + 4 * n, powerB = powerA + bins
        window.withUnsafeBufferPointer { win in
            filterBank.weights.withUnsafeBufferPointer { weights in
                for pair in pairs {
                    let fa = 2 * pair, fb = fa + 1
                    let a = signal + fa * hop, b = signal + fb * hop
                    var nonZero = false
                    for j in 0..<n {
                        re[j] = a[j] * win[j]; im[j] = b[j] * win[j]
                        if re[j] != 0 || im[j] != 0 { nonZero = true }
                    }
                    if nonZero {
                        fft.forward(re: re, im: im, workRe: wr, workIm: wi)
                        for k in 0..<bins {
                            let c = k == 0 ? 0 : n - k
                            let zr = re[k], zi = im[k], cr = re[c], ci = -im[c]
                            let ar = (zr + cr) * 0.5, ai = (zi + ci) * 0.5
                            let dr = zr - cr, di = zi - ci
                            powerA[k] = ar * ar + ai * ai
                            powerB[k] = (dr * dr + di * di) * 0.25
                        }
                    } else {
                        for k in 0..<bins { powerA[k] = 0; powerB[k] = 0 }
                    }
                    for m in 0..<melCount {
                        var sa = 0.0, sb = 0.0
                        let row = weights.baseAddress! + m * bins
                        for k in filterBank.nonZero[m] { sa += row[k] * powerA[k]; sb += row[k] * powerB[k] }
                        out[m * frames + fa] = Float(sa)
                        out[m * frames + fb] = Float(sb)
                    }
                }
            }
        }
    }

    /// Encoder frames (20 ms each, 1500 per window) that cover `sampleCount` samples of real
    /// audio in one window: `ceil(sampleCount / 320)`, at most 1500.
    public static func encoderFrames(covering sampleCount: Int) -> Int {
        min(1500, (max(0, sampleCount) + 2 * hopLength - 1) / (2 * hopLength))
    }
}
