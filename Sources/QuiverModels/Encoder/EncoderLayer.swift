import QuiverTensor

/// One post-LayerNorm transformer encoder layer (BERT, RoBERTa, MPNet):
///   a = LN(x + O(attention(Q x, K x, V x)))
///   x' = LN(a + W2 act(W1 a))
/// Weights are the checkpoint's own (mapped) matrices.
struct EncoderLayer: Sendable {
    let query: Linear
    let key: Linear
    let value: Linear
    let attentionOutput: Linear
    let attentionNorm: LayerNorm
    let intermediate: Linear
    let output: Linear
    let outputNorm: LayerNorm
    let heads: Int
    let activation: Activation

    var hidden: Int { query.outFeatures }

    /// A relative-position (or other additive) attention bias: element `[h, i, j]` at
    /// `pointer[h * headStride + i * rowStride + j]`, shared by every sequence of the batch.
    struct Bias {
        let pointer: UnsafePointer<Float>
        let headStride: Int
        let rowStride: Int
    }

    /// Updates `x` ([batch.tokenCount, hidden]) in place.
    func forward(_ x: UnsafeMutablePointer<Float>, batch: TokenBatch, bias: Bias?, workspace ws: Workspace) {
        let t = batch.tokenCount, h = hidden, headDim = h / heads
        let qkv = ws.buffer(EncoderSlot.qkv, count: t * 3 * h)
        let context = ws.buffer(EncoderSlot.context, count: t * h)
        let projected = ws.buffer(EncoderSlot.projected, count: t * h)
        let mid = ws.buffer(EncoderSlot.intermediate, count: t * intermediate.outFeatures)
        let scratch = ws.buffer(EncoderSlot.scratch, count: Kernels.attentionScratchCount(kvLength: batch.maxLength, headDim: headDim))

        // Q, K and V side by side in one [t, 3h] matrix: each sequence's attention reads them with stride 3h.
        query.apply(x, rows: t, into: qkv, ldy: 3 * h)
        key.apply(x, rows: t, into: qkv + h, ldy: 3 * h)
        value.apply(x, rows: t, into: qkv + 2 * h, ldy: 3 * h)
        let scale = 1 / Float(headDim).squareRoot()
        for s in 0..<batch.count {
            let start = batch.offsets[s], n = batch.length(s)
            guard n > 0 else { continue }
            let base = qkv + start * 3 * h
            Kernels.attention(q: base, ldQ: 3 * h, k: base + h, v: base + 2 * h, ldKV: 3 * h,
                              out: context + start * h, ldOut: h, qLength: n, kvLength: n,
                              heads: heads, headDim: headDim, scale: scale,
                              bias: bias?.pointer, biasHeadStride: bias?.headStride, biasRowStride: bias?.rowStride,
                              scratch: scratch)
        }
        // Output projection; its bias and the residual are fused into the LayerNorm.
        attentionOutput.apply(context, rows: t, into: projected, addBias: false)
        attentionNorm.apply(projected, addBias: attentionOutput.bias?.pointer, residual: x, rows: t, into: x)
        intermediate.apply(x, rows: t, into: mid, activation: activation)
        output.apply(mid, rows: t, into: projected, addBias: false)
        outputNorm.apply(projected, addBias: output.bias?.pointer, residual: x, rows: t, into: x)
    }
}
