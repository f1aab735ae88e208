import Foundation
import QuiverTensor
import QuiverWeights

/// The Whisper audio encoder as a pure forward pass (Radford et al. 2022, "Robust Speech
/// Recognition via Large-Scale Weak Supervision"; transformers' `WhisperEncoder`):
///
///     x = gelu(conv1(mel))              conv k3 s1 p1: [3000, mels] → [3000, d]
///     x = gelu(conv2(x)) + positions    conv k3 s2 p1: → [1500, d]
///     for each block: x += attn(LN(x)); x += fc2(gelu(fc1(LN(x))))
///     x = LN(x)
///
/// Computation is time-major (`[frames, d]` rows). The convolutions are three GEMMs each (one
/// per tap), attention runs per (head, block of 128 queries) with BLAS for `QKᵀ` and `PV`, and
/// every row-wise step (LayerNorm, projections, MLP) is split over row ranges, so one window
/// uses all `threads`. BLAS itself runs single-threaded (set by the model loader).
///
/// It is built by ``WhisperEncoderModel`` (which binds the weights) and reached through its
/// `encoder` property; immutable, so concurrent calls are safe as long as each uses its own `Workspace`.
///
/// ```swift
/// let model = try WhisperEncoderModel(folder: URL(fileURLWithPath: "models/faster-whisper-tiny.en"))
/// let mel = model.logMel.features(samples)                      // [80, 3000], samples: 16 kHz mono
/// let ws = Workspace()
/// let states = mel.withUnsafeBufferPointer {
///     model.encoder.forward(features: $0.baseAddress!, workspace: ws)    // [1500, 384], valid until ws is reused
/// }
/// ```
public struct WhisperEncoder: Sendable {
    /// The model dimensions (`d_model`, layers, heads, mel bins, 1500 source positions).
    public let config: WhisperConfig
    let weights: WhisperEncoderWeights

    /// Output frames (1500: 20 ms each).
    public var frames: Int { config.maxSourcePositions }
    /// Input mel frames (3000: 10 ms each).
    public var melFrames: Int { 2 * config.maxSourcePositions }
    /// Width of the output.
    public var hiddenSize: Int { config.dModel }

    /// Queries per attention task.
    static let queryBlock = 128

    init(config: WhisperConfig, weights: WhisperEncoderWeights) {
        self.config = config
        self.weights = weights
    }

    enum Slot {
        static let mel = 0, conv1 = 1, hidden = 2, normed = 3, qkv = 4, context = 5, mid = 6, scores = 16
    }

    /// Runs the encoder on one window of log-mel features.
    /// - Parameters:
    ///   - features: `[numMelBins, 3000]` floats, band-major (as `WhisperLogMel.features` returns them).
    ///   - workspace: scratch memory, reused across calls (not shared between concurrent calls).
    ///   - threads: worker threads for this window.
    /// - Returns: the last hidden state `[1500, d]`, row-major; the memory belongs to `workspace`
    ///   and is valid until its next use.
    public func forward(features: UnsafePointer<Float>, workspace ws: Workspace, threads: Int = Parallel.defaultThreads) -> UnsafeMutablePointer<Float> {
        let c = config, d = c.dModel, mels = c.numMelBins, t = frames, tm = melFrames
        let workers = max(1, threads)
        let heads = c.encoderAttentionHeads, headDim = d / heads
        let mel = ws.buffer(Slot.mel, count: (tm + 2) * mels)
        let h1 = ws.buffer(Slot.conv1, count: (tm + 2) * d)
        let x = ws.buffer(Slot.hidden, count: t * d)
        let xn = ws.buffer(Slot.normed, count: t * d)
        let qkv = ws.buffer(Slot.qkv, count: t * 3 * d)
        let ctx = ws.buffer(Slot.context, count: t * d)
        let mid = ws.buffer(Slot.mid, count: t * c.encoderFFNDim)
        let block = Self.queryBlock
        let scores = (0..<workers).map { ws.buffer(Slot.scores + $0, count: block * t) }

        // Time-major mel with a zero row on each side (the convolution's padding).
        for j in 0..<mels { mel[j] = 0; mel[(tm + 1) * mels + j] = 0 }
        for b in 0..<mels {
            let row = features + b * tm
            for f in 0..<tm { mel[(f + 1) * mels + b] = row[f] }
        }
        for j in 0..<d { h1[j] = 0; h1[(tm + 1) * d + j] = 0 }

        nonisolated(unsafe) let p = (mel: mel, h1: h1, x: x, xn: xn, qkv: qkv, ctx: ctx, mid: mid)
        nonisolated(unsafe) let scratch = scores
        let melRows = Parallel.split(tm, parts: workers), rows = Parallel.split(t, parts: workers)
        let pos = weights.positions.pointer
        Parallel.forEach(melRows.count, threads: workers) { w in
            weights.conv1.apply(paddedInput: p.mel, rows: melRows[w], into: p.h1 + d, ldOut: d)
        }
        let layers = weights.layers
        // Row-wise phases: [post-attention of layer l-1, MLP of l-1] + [LN and QKV of layer l].
        Parallel.forEach(rows.count, threads: workers) { w in
            let r = rows[w]
            weights.conv2.apply(paddedInput: p.h1, rows: r, into: p.x, ldOut: d)
            for i in r { for j in 0..<d { p.x[i * d + j] += pos[i * d + j] } }
            if let first = layers.first { Self.preAttention(first, x: p.x, xn: p.xn, qkv: p.qkv, rows: r, d: d) }
        }
        let qBlocks = (t + block - 1) / block
        for (l, layer) in layers.enumerated() {
            Parallel.forEach(workers, threads: workers) { w in
                var task = w
                while task < heads * qBlocks {
                    let h = task / qBlocks, q0 = (task % qBlocks) * block
                    Self.attentionBlock(qkv: p.qkv, out: p.ctx, d: d, frames: t, head: h, headDim: headDim,
                                        queries: q0..<min(t, q0 + block), scores: scratch[w])
                    task += workers
                }
            }
            let next = l + 1 < layers.count ? layers[l + 1] : nil
            Parallel.forEach(rows.count, threads: workers) { w in
                let r = rows[w]
                Self.postAttention(layer, x: p.x, xn: p.xn, ctx: p.ctx, mid: p.mid, rows: r, d: d)
                if let next { Self.preAttention(next, x: p.x, xn: p.xn, qkv: p.qkv, rows: r, d: d) }
                else { weights.finalNorm.apply(p.x + r.lowerBound * d, rows: r.count, into: p.x + r.lowerBound * d) }
            }
        }
        if layers.isEmpty { weights.finalNorm.apply(x, rows: t, into: x) }
        return x
    }

    /// `xn = LN₁(x)`, `qkv = xn W_qkvᵀ + b` for `rows`.
    static func preAttention(_ layer: WhisperEncoderLayer, x: UnsafeMutablePointer<Float>, xn: UnsafeMutablePointer<Float>,
                             qkv: UnsafeMutablePointer<Float>, rows r: Range<Int>, d: Int) {
        guard !r.isEmpty else { return }
        layer.attentionNorm.apply(x + r.lowerBound * d, rows: r.count, into: xn + r.lowerBound * d)
        layer.qkv.apply(xn + r.lowerBound * d, rows: r.count, into: qkv + r.lowerBound * 3 * d, ldy: 3 * d)
    }

    /// `x += ctx W_oᵀ + b_o`, then `x += fc2(gelu(fc1(LN₂(x))))` for `rows`.
    static func postAttention(_ layer: WhisperEncoderLayer, x: UnsafeMutablePointer<Float>, xn: UnsafeMutablePointer<Float>,
                              ctx: UnsafeMutablePointer<Float>, mid: UnsafeMutablePointer<Float>, rows r: Range<Int>, d: Int) {
        guard !r.isEmpty else { return }
        let n = r.count, xr = x + r.lowerBound * d, xnr = xn + r.lowerBound * d
        addLinear(layer.attentionOutput, ctx + r.lowerBound * d, rows: n, into: xr)
        layer.mlpNorm.apply(xr, rows: n, into: xnr)
        let ffn = layer.fc1.outFeatures
        let m = mid + r.lowerBound * ffn
        layer.fc1.apply(xnr, rows: n, into: m, activation: .geluErf)
        addLinear(layer.fc2, m, rows: n, into: xr)
    }

    /// `y += x Wᵀ + b` (the residual add fused into the GEMM through beta = 1).
    static func addLinear(_ linear: Linear, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        BLAS.gemm(transB: true, m: rows, n: linear.outFeatures, k: linear.inFeatures, a: x, lda: linear.inFeatures,
                  b: linear.weight.pointer, ldb: linear.inFeatures, beta: 1, c: y, ldc: linear.outFeatures)
        if let b = linear.bias {
            Kernels.biasActivation(y, rows: rows, cols: linear.outFeatures, bias: b.pointer, activation: .none)
        }
    }

    /// Attention of one head for a block of queries: `S = scale·Q Kᵀ`, row softmax, `ctx = S V`.
    static func attentionBlock(qkv: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, d: Int, frames: Int,
                               head: Int, headDim: Int, queries: Range<Int>, scores: UnsafeMutablePointer<Float>) {
        let n = queries.count, ld = 3 * d, off = head * headDim
        let scale = 1 / Float(headDim).squareRoot()
        BLAS.gemm(transB: true, m: n, n: frames, k: headDim, alpha: scale,
                  a: qkv + queries.lowerBound * ld + off, lda: ld, b: qkv + d + off, ldb: ld, c: scores, ldc: frames)
        Kernels.softmaxRows(scores, rows: n, cols: frames)
        BLAS.gemm(m: n, n: headDim, k: frames, a: scores, lda: frames, b: qkv + 2 * d + off, ldb: ld,
                  c: out + queries.lowerBound * d + off, ldc: d)
    }
}
