import QuiverTensor
import QuiverWeights

/// Projections whose outputs sit side by side in one matrix: Q, K and V of self-attention (one
/// fused CTranslate2 matrix, or three Hugging Face ones), or K and V of cross-attention.
struct FusedProjection: Sendable {
    let parts: [Linear]
    var outFeatures: Int { parts.reduce(0) { $0 + $1.outFeatures } }

    /// `y[:, block i] = x Wᵢᵀ + bᵢ` for `rows` rows; `y` rows are `ldy` floats apart.
    func apply(_ x: UnsafePointer<Float>, ldx: Int? = nil, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int) {
        var column = 0
        for p in parts {
            p.apply(x, ldx: ldx, rows: rows, into: y + column, ldy: ldy)
            column += p.outFeatures
        }
    }
}

/// A 1-D convolution over time with kernel 3 and padding 1 (Whisper's stem), computed as three
/// GEMMs on time-major data: `out[t] = b + Σ_k in[stride·t + k − 1] W_kᵀ`.
struct WhisperConv1D: Sendable {
    /// `[3][out][in]`: the checkpoint's `[out, in, 3]` weight regrouped per tap, so each tap is a
    /// plain `[out, in]` matrix applied to time-major rows.
    let taps: Tensor
    let bias: Tensor
    let inChannels: Int
    let outChannels: Int
    let stride: Int

    /// From a PyTorch `Conv1d` weight `[out, in, 3]` (copied and regrouped) and bias `[out]`.
    init(weight: Tensor, bias: Tensor, stride: Int) {
        precondition(weight.rank == 3 && weight.shape[2] == 3, "Conv1d weight must be [out, in, 3], got \(weight.shape)")
        outChannels = weight.shape[0]; inChannels = weight.shape[1]
        self.stride = stride
        self.bias = bias
        let t = Tensor(zeros: [3, outChannels, inChannels])
        let src = weight.pointer, dst = t.mutablePointer
        for o in 0..<outChannels {
            for c in 0..<inChannels {
                for k in 0..<3 { dst[(k * outChannels + o) * inChannels + c] = src[(o * inChannels + c) * 3 + k] }
            }
        }
        taps = t
    }

    /// Output rows `range` of `gelu(conv(input))`. `paddedInput` holds the input time-major with
    /// one zero row before the first step (row `r` of the padded buffer is step `r - 1`) and
    /// enough rows after the last one (zero) for the last output's taps.
    func apply(paddedInput: UnsafePointer<Float>, rows range: Range<Int>, into out: UnsafeMutablePointer<Float>, ldOut: Int) {
        guard !range.isEmpty else { return }
        for k in 0..<3 {
            BLAS.gemm(transB: true, m: range.count, n: outChannels, k: inChannels, alpha: 1,
                      a: paddedInput + (stride * range.lowerBound + k) * inChannels, lda: stride * inChannels,
                      b: taps.pointer + k * outChannels * inChannels, ldb: inChannels,
                      beta: k == 0 ? 0 : 1, c: out + range.lowerBound * ldOut, ldc: ldOut)
        }
        Kernels.biasActivation(out + range.lowerBound * ldOut, rows: range.count, cols: outChannels, ld: ldOut,
                               bias: bias.pointer, activation: .geluErf)
    }
}

/// One pre-LayerNorm transformer block of the Whisper encoder:
///   x += O(attention(LN₁(x)));  x += W₂ gelu(W₁ LN₂(x))
struct WhisperEncoderLayer: Sendable {
    let attentionNorm: LayerNorm
    let qkv: FusedProjection
    let attentionOutput: Linear
    let mlpNorm: LayerNorm
    let fc1: Linear
    let fc2: Linear
}

/// One pre-LayerNorm block of the Whisper decoder: causal self-attention, cross-attention over
/// the encoder output, MLP.
struct WhisperDecoderLayer: Sendable {
    let selfNorm: LayerNorm
    let selfQKV: FusedProjection
    let selfOutput: Linear
    let crossNorm: LayerNorm
    let crossQuery: Linear
    let crossKV: FusedProjection
    let crossOutput: Linear
    let mlpNorm: LayerNorm
    let fc1: Linear
    let fc2: Linear
}
