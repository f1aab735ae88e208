import Foundation

/// A bank of triangular mel filters over the bins of a one-sided spectrum, computed as
/// transformers' `audio_utils.mel_filter_bank` computes it (which follows librosa):
/// band edges equally spaced on the mel scale between `minFrequency` and `maxFrequency`,
/// triangles over the FFT bin frequencies `linspace(0, sampleRate/2, bins)`, and with Slaney
/// normalization each triangle scaled by `2 / (upper edge - lower edge)` (constant energy per band).
public struct MelFilterBank: Sendable, Equatable {
    /// The mel scale.
    public enum Scale: Sendable, Equatable {
        /// Slaney's (librosa's default, Whisper's): linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
        case slaney
        /// HTK: `2595 log10(1 + f / 700)`.
        case htk
    }

    /// Number of filters (mel bands).
    public let melCount: Int
    /// Number of spectrum bins (`nFFT / 2 + 1`).
    public let binCount: Int
    /// Weights `[melCount][binCount]`, row-major.
    public let weights: [Double]
    /// Per band, the range of bins with a non-zero weight (empty when the band falls between bins).
    public let nonZero: [Range<Int>]

    /// Builds the filters.
    /// - Parameters:
    ///   - melCount: number of bands (80 for Whisper up to large-v2, 128 for large-v3).
    ///   - binCount: spectrum bins, `nFFT / 2 + 1` (201 for Whisper's 400-point FFT).
    ///   - sampleRate: in Hz (16000).
    ///   - minFrequency: lower edge of the lowest band in Hz (0 for Whisper).
    ///   - maxFrequency: upper edge of the highest band in Hz (8000 for Whisper); above `minFrequency`.
    ///   - scale: `.slaney` (Whisper) or `.htk`.
    ///   - slaneyNormalized: scale each triangle to unit area in Hz (`norm="slaney"`).
    public init(melCount: Int, binCount: Int, sampleRate: Double, minFrequency: Double = 0, maxFrequency: Double,
                scale: Scale = .slaney, slaneyNormalized: Bool = true) {
        precondition(melCount > 0 && binCount > 1 && maxFrequency > minFrequency, "invalid mel filter bank parameters")
        self.melCount = melCount
        self.binCount = binCount
        let melMin = Self.hertzToMel(minFrequency, scale), melMax = Self.hertzToMel(maxFrequency, scale)
        // numpy.linspace(melMin, melMax, melCount + 2): start + i * step, the last point exact.
        let step = (melMax - melMin) / Double(melCount + 1)
        let edges: [Double] = (0..<(melCount + 2)).map { i in
            Self.melToHertz(i == melCount + 1 ? melMax : melMin + Double(i) * step, scale)
        }
        // numpy.linspace(0, sampleRate // 2, binCount)
        let nyquist = Double(Int(sampleRate) / 2)
        let binStep = nyquist / Double(binCount - 1)
        let binFrequencies: [Double] = (0..<binCount).map { $0 == binCount - 1 ? nyquist : Double($0) * binStep }
        var w = [Double](repeating: 0, count: melCount * binCount)
        var ranges: [Range<Int>] = []
        for m in 0..<melCount {
            let lower = edges[m], center = edges[m + 1], upper = edges[m + 2]
            let norm = slaneyNormalized ? 2.0 / (upper - lower) : 1.0
            var first = binCount, last = -1
            for k in 0..<binCount {
                let f = binFrequencies[k]
                let down = -(lower - f) / (center - lower)   // rising edge
                let up = (upper - f) / (upper - center)      // falling edge
                let v = max(0, min(down, up))
                if v > 0 {
                    w[m * binCount + k] = v * norm
                    first = min(first, k); last = k
                }
            }
            ranges.append(last >= first ? first..<(last + 1) : 0..<0)
        }
        weights = w
        nonZero = ranges
    }

    /// Frequency in Hz to mels.
    public static func hertzToMel(_ f: Double, _ scale: Scale) -> Double {
        switch scale {
        case .htk: return 2595 * log10(1 + f / 700)
        case .slaney:
            let minLogHertz = 1000.0, minLogMel = 15.0, logStep = 27.0 / log(6.4)
            return f >= minLogHertz ? minLogMel + log(f / minLogHertz) * logStep : 3 * f / 200
        }
    }

    /// Mels to frequency in Hz.
    public static func melToHertz(_ mel: Double, _ scale: Scale) -> Double {
        switch scale {
        case .htk: return 700 * (pow(10, mel / 2595) - 1)
        case .slaney:
            let minLogHertz = 1000.0, minLogMel = 15.0, logStep = log(6.4) / 27.0
            return mel >= minLogMel ? minLogHertz * exp(logStep * (mel - minLogMel)) : 200 * mel / 3
        }
    }
}
