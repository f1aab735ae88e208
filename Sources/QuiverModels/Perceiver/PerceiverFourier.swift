import Foundation

/// The Perceiver's Fourier position features, as transformers' `generate_fourier_features` makes
/// them (linear frequency bands, sine and cosine, raw position concatenated).
///
/// For a point with coordinates `p_d` in [-1, 1] (one per axis d of the index grid) and frequencies
/// `f_{d,k} = linspace(1, resolution_d / 2, bands)[k]`, the row is
/// `[p_1 … p_D, sin(π f_{1,k} p_1)ₖ … sin(π f_{D,k} p_D)ₖ, cos(π f_{1,k} p_1)ₖ … cos(π f_{D,k} p_D)ₖ]`:
/// `D + 2·D·bands` values. Everything is float32 in the same order of operations as PyTorch
/// (`p·f` rounded, then times π rounded to float), because at the audio resolution (30720)
/// the argument reaches ~48000 and float rounding there moves the sine by ~1e-3.
///
/// The features of one axis depend only on that axis' coordinate, so ``PerceiverFourierAxis``
/// precomputes them per coordinate and a row is assembled by copying; the full
/// `[points, features]` array is never built.
struct PerceiverFourierAxis: Sendable {
    /// The coordinates `linspace(-1, 1, count)`.
    let positions: [Float]
    /// `sin(π f_k p_i)` at `[i * bands + k]`.
    let sines: [Float]
    /// `cos(π f_k p_i)` at `[i * bands + k]`.
    let cosines: [Float]
    let bands: Int

    /// The features of `count` points along an axis whose trained resolution is `resolution`.
    init(count: Int, resolution: Int, bands: Int) {
        self.bands = bands
        positions = torchLinspace(from: -1, to: 1, count: count)
        let frequencies = torchLinspace(from: 1, to: Float(Double(resolution) / 2), count: bands)
        let pi = Float(Double.pi)   // PyTorch rounds the Python scalar to float32 (3.1415927, not Float.pi)
        var s = [Float](repeating: 0, count: count * bands), c = s
        for i in 0..<count {
            for k in 0..<bands {
                let x = pi * (positions[i] * frequencies[k])
                s[i * bands + k] = sin(x)
                c[i * bands + k] = cos(x)
            }
        }
        sines = s
        cosines = c
    }

    /// Writes the features of the point with index `indices[d]` on axis `d` (the row layout above).
    static func writeRow(_ axes: [PerceiverFourierAxis], indices: [Int], into out: UnsafeMutablePointer<Float>) {
        let dims = axes.count
        var o = out
        for d in 0..<dims { o[d] = axes[d].positions[indices[d]] }
        o += dims
        for d in 0..<dims {
            let b = axes[d].bands
            axes[d].sines.withUnsafeBufferPointer { o.update(from: $0.baseAddress! + indices[d] * b, count: b) }
            o += b
        }
        for d in 0..<dims {
            let b = axes[d].bands
            axes[d].cosines.withUnsafeBufferPointer { o.update(from: $0.baseAddress! + indices[d] * b, count: b) }
            o += b
        }
    }

    /// Features per row for `dims` axes of `bands` bands.
    static func width(dims: Int, bands: Int) -> Int { dims + 2 * dims * bands }
}

/// `torch.linspace(start, end, count)` in float32 exactly as PyTorch's CPU kernel computes it:
/// `step = (end - start) / (count - 1)`, the first half `fma(step, i, start)`, the second half
/// `fma(-step, count - 1 - i, end)` (fused multiply-adds: checked bit for bit against torch 2.13
/// for 2 to 400 points and the hub model's sizes). One ulp matters here: at the audio resolution
/// it moves a sine by up to 3e-3.
func torchLinspace(from start: Float, to end: Float, count: Int) -> [Float] {
    guard count > 1 else { return count == 1 ? [start] : [] }
    let step = (end - start) / Float(count - 1)
    let half = count / 2
    return (0..<count).map { i in
        i < half ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(count - 1 - i))
    }
}
