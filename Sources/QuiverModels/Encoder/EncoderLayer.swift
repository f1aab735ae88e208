import Foundation
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
    /// The int8 forms of the linear layers (nil: float32, the default).
    var int8: Int8Projections? = nil

    /// The projections quantized to int8 (Q, K and V as one product over the same input); a nil one
    /// stays float32.
    struct Int8Projections: Sendable {
        let qkv: QuantizedLinear?
        let attentionOutput: QuantizedLinear?
        let intermediate: QuantizedLinear?
        let output: QuantizedLinear?
    }

    /// Projections kept in float32 under `.int8`: `QUIVER_INT8_FLOAT_LAYERS`, a comma-separated list of
    /// `qkv`, `attention-output`, `intermediate`, `output` (a tuning knob; default: the built-in choice).
    static let floatLayers: Set<String> = {
        if let v = ProcessInfo.processInfo.environment["QUIVER_INT8_FLOAT_LAYERS"] {
            return Set(v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        return []
    }()

    /// This layer with int8 linear layers (attention scores, softmax and layer norms stay float32).
    /// - Parameter ranges: calibration maxima of this layer's projection inputs (`index` is the
    ///   layer's position); their outlier channels stay float32 (`QuantizedLinear`). Nil: none.
    func quantized(ranges: ProjectionInputRanges? = nil, index: Int = 0) -> EncoderLayer {
        var copy = self
        let keep = Self.floatLayers
        func m(_ site: Int8Calibration.Site) -> [Float]? { ranges?.maxima(layer: index, site: site) }
        copy.int8 = Int8Projections(
            qkv: keep.contains("qkv") ? nil : QuantizedLinear(concatenating: [query, key, value], inputMaxAbs: m(.qkv)),
            attentionOutput: keep.contains("attention-output") ? nil : QuantizedLinear(attentionOutput, inputMaxAbs: m(.attentionOutput)),
            intermediate: keep.contains("intermediate") ? nil : QuantizedLinear(intermediate, inputMaxAbs: m(.intermediate)),
            output: keep.contains("output") ? nil : QuantizedLinear(output, inputMaxAbs: m(.output)))
        return copy
    }

    var hidden: Int { query.outFeatures }

    /// A relative-position (or other additive) attention bias: element `[h, i, j]` at
    /// `pointer[h * headStride + i * rowStride + j]`, shared by every sequence of the batch.
    struct Bias {
        let pointer: UnsafePointer<Float>
        let headStride: Int
        let rowStride: Int
    }

    /// `layers`, each quantized (`quantized(ranges:index:)`), on all cores.
    static func quantizedInParallel(_ layers: [EncoderLayer], ranges: ProjectionInputRanges? = nil) -> [EncoderLayer] {
        let out = UnsafeMutableBufferPointer<EncoderLayer?>.allocate(capacity: layers.count)
        out.initialize(repeating: nil)
        defer { out.deallocate() }
        nonisolated(unsafe) let slots = out
        Parallel.forEach(layers.count) { i in slots[i] = layers[i].quantized(ranges: ranges, index: i) }
        return out.map { $0! }
    }

    /// Updates `x` ([batch.tokenCount, hidden]) in place. With `ranges`, the input of every
    /// projection is recorded there as layer `index` (calibration; the float32 path only).
    func forward(_ x: UnsafeMutablePointer<Float>, batch: TokenBatch, bias: Bias?, workspace ws: Workspace,
                 ranges: ProjectionInputRanges? = nil, index: Int = 0) {
        let t = batch.tokenCount, h = hidden, headDim = h / heads
        let qkv = ws.buffer(EncoderSlot.qkv, count: t * 3 * h)
        let context = ws.buffer(EncoderSlot.context, count: t * h)
        let projected = ws.buffer(EncoderSlot.projected, count: t * h)
        let mid = ws.buffer(EncoderSlot.intermediate, count: t * intermediate.outFeatures)
        let scratch = ws.buffer(EncoderSlot.scratch, count: Kernels.attentionScratchCount(kvLength: batch.maxLength, headDim: headDim))

        ranges?.observe(layer: index, site: .qkv, x, rows: t, cols: h, ld: h)
        // Q, K and V side by side in one [t, 3h] matrix: each sequence's attention reads them with stride 3h.
        if let q8 = int8?.qkv {
            q8.apply(x, rows: t, into: qkv, workspace: ws, slot: EncoderSlot.int8Scratch)
        } else {
            query.apply(x, rows: t, into: qkv, ldy: 3 * h)
            key.apply(x, rows: t, into: qkv + h, ldy: 3 * h)
            value.apply(x, rows: t, into: qkv + 2 * h, ldy: 3 * h)
        }
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
        ranges?.observe(layer: index, site: .attentionOutput, context, rows: t, cols: h, ld: h)
        // Output projection; its bias and the residual are fused into the LayerNorm.
        if let q8 = int8?.attentionOutput {
            q8.apply(context, rows: t, into: projected, addBias: false, workspace: ws, slot: EncoderSlot.int8Scratch)
        } else {
            attentionOutput.apply(context, rows: t, into: projected, addBias: false)
        }
        attentionNorm.apply(projected, addBias: attentionOutput.bias?.pointer, residual: x, rows: t, into: x)
        ranges?.observe(layer: index, site: .intermediate, x, rows: t, cols: h, ld: h)
        if let q8 = int8?.intermediate {
            q8.apply(x, rows: t, into: mid, activation: activation, workspace: ws, slot: EncoderSlot.int8Scratch)
        } else {
            intermediate.apply(x, rows: t, into: mid, activation: activation)
        }
        ranges?.observe(layer: index, site: .output, mid, rows: t, cols: intermediate.outFeatures, ld: intermediate.outFeatures)
        if let q8 = int8?.output {
            q8.apply(mid, rows: t, into: projected, addBias: false, workspace: ws, slot: EncoderSlot.int8Scratch)
        } else {
            output.apply(mid, rows: t, into: projected, addBias: false)
        }
        outputNorm.apply(projected, addBias: output.bias?.pointer, residual: x, rows: t, into: x)
    }
}
