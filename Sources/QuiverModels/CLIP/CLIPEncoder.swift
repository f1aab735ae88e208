import QuiverTensor
import QuiverWeights

/// Workspace slots of the CLIP towers (after the convolution slots).
enum CLIPSlot {
    static let hidden = ImageSlot.tokens, normed = ImageSlot.tokens + 1, qkv = ImageSlot.tokens + 2
    static let context = ImageSlot.tokens + 3, intermediate = ImageSlot.tokens + 4, scratch = ImageSlot.tokens + 5
    static let mask = ImageSlot.tokens + 6, patches = ImageSlot.tokens + 7
}

/// One pre-LayerNorm transformer layer (CLIP, ViT):
///   x = x + O(attention(LN1(x)))
///   x = x + W2 act(W1 LN2(x))
struct PreNormEncoderLayer: Sendable {
    let norm1: LayerNorm
    let query: Linear, key: Linear, value: Linear, output: Linear
    let norm2: LayerNorm
    let fc1: Linear, fc2: Linear
    let heads: Int
    let activation: Activation

    var hidden: Int { query.outFeatures }

    /// Loads `self_attn.{q,k,v,out}_proj`, `layer_norm1/2`, `mlp.fc1/fc2` (Hugging Face CLIP names).
    init(_ s: WeightScope, hidden h: Int, intermediate: Int, heads: Int, eps: Float, activation: Activation) throws {
        let att = s.scope("self_attn")
        norm1 = try s.scope("layer_norm1").layerNorm(features: h, eps: eps)
        query = try att.scope("q_proj").linear(in: h, out: h)
        key = try att.scope("k_proj").linear(in: h, out: h)
        value = try att.scope("v_proj").linear(in: h, out: h)
        output = try att.scope("out_proj").linear(in: h, out: h)
        norm2 = try s.scope("layer_norm2").layerNorm(features: h, eps: eps)
        fc1 = try s.scope("mlp").scope("fc1").linear(in: h, out: intermediate)
        fc2 = try s.scope("mlp").scope("fc2").linear(in: intermediate, out: h)
        self.heads = heads
        self.activation = activation
    }

    /// Updates `x` ([length, hidden]) in place. `mask` is an additive `[length, length]` score
    /// bias (the causal mask of the text tower) or nil.
    func forward(_ x: UnsafeMutablePointer<Float>, length t: Int, mask: UnsafePointer<Float>?, workspace ws: Workspace) {
        let h = hidden, headDim = h / heads
        let normed = ws.buffer(CLIPSlot.normed, count: t * h)
        let qkv = ws.buffer(CLIPSlot.qkv, count: t * 3 * h)
        let context = ws.buffer(CLIPSlot.context, count: t * h)
        let mid = ws.buffer(CLIPSlot.intermediate, count: t * fc1.outFeatures)
        let scratch = ws.buffer(CLIPSlot.scratch, count: Kernels.attentionScratchCount(kvLength: t, headDim: headDim))

        norm1.apply(x, rows: t, into: normed)
        query.apply(normed, rows: t, into: qkv, ldy: 3 * h)
        key.apply(normed, rows: t, into: qkv + h, ldy: 3 * h)
        value.apply(normed, rows: t, into: qkv + 2 * h, ldy: 3 * h)
        Kernels.attention(q: qkv, ldQ: 3 * h, k: qkv + h, v: qkv + 2 * h, ldKV: 3 * h, out: context, ldOut: h,
                          qLength: t, kvLength: t, heads: heads, headDim: headDim, scale: 1 / Float(headDim).squareRoot(),
                          bias: mask, biasHeadStride: mask == nil ? nil : 0, biasRowStride: mask == nil ? nil : t, scratch: scratch)
        Self.addLinear(output, context, rows: t, into: x)
        norm2.apply(x, rows: t, into: normed)
        fc1.apply(normed, rows: t, into: mid, activation: activation)
        Self.addLinear(fc2, mid, rows: t, into: x)
    }

    /// `x += input Wᵀ + b` (the residual accumulates in the GEMM).
    static func addLinear(_ l: Linear, _ input: UnsafePointer<Float>, rows: Int, into x: UnsafeMutablePointer<Float>) {
        BLAS.gemm(transB: true, m: rows, n: l.outFeatures, k: l.inFeatures, a: input, lda: l.inFeatures,
                  b: l.weight.pointer, ldb: l.inFeatures, beta: 1, c: x, ldc: l.outFeatures)
        if let b = l.bias { Kernels.biasActivation(x, rows: rows, cols: l.outFeatures, bias: b.pointer, activation: .none) }
    }
}
