import QuiverTensor
import QuiverWeights

/// Workspace slots of the CLIP towers (after the convolution slots).
enum CLIPSlot {
    static let hidden = ImageSlot.tokens, normed = ImageSlot.tokens + 1, qkv = ImageSlot.tokens + 2
    static let context = ImageSlot.tokens + 3, intermediate = ImageSlot.tokens + 4, scratch = ImageSlot.tokens + 5
    static let mask = ImageSlot.tokens + 6, patches = ImageSlot.tokens + 7, input = ImageSlot.tokens + 8
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

    /// Updates `x` in place: `count` sequences of `length` tokens each, back to back
    /// (`[count * length, hidden]`; several images of a batch share the projections' GEMMs, each
    /// attends only to itself). `mask` is an additive `[length, length]` score bias or nil.
    func forward(_ x: UnsafeMutablePointer<Float>, count: Int = 1, length t: Int, mask: UnsafePointer<Float>?,
                 workspace ws: Workspace, threads: Int = 1) {
        forward(x, offsets: (0...count).map { $0 * t }, mask: mask, maskStride: t, workspace: ws, threads: threads)
    }

    /// Updates `x` in place: sequence `s` is rows `offsets[s] ..< offsets[s+1]` (packed, any
    /// lengths). `mask` is an additive score bias, element `[i, j]` at `i * maskStride + j`, shared
    /// by every sequence (the causal mask of the text tower), or nil. With `threads > 1` the
    /// projections are split by rows and the attention by sequence and head.
    func forward(_ x: UnsafeMutablePointer<Float>, offsets: [Int], mask: UnsafePointer<Float>?, maskStride: Int,
                 workspace ws: Workspace, threads: Int = 1) {
        let count = offsets.count - 1, rows = offsets.last ?? 0
        guard count > 0, rows > 0 else { return }
        let h = hidden, headDim = h / heads
        let longest = (0..<count).map { offsets[$0 + 1] - offsets[$0] }.max() ?? 0
        let normed = ws.buffer(CLIPSlot.normed, count: rows * h)
        let qkv = ws.buffer(CLIPSlot.qkv, count: rows * 3 * h)
        let context = ws.buffer(CLIPSlot.context, count: rows * h)
        let mid = ws.buffer(CLIPSlot.intermediate, count: rows * fc1.outFeatures)
        let scratchCount = Kernels.attentionScratchCount(kvLength: longest, headDim: headDim)
        let headParts = Parallel.split(heads, parts: max(1, min(threads, heads)))
        let tasks = count * headParts.count
        let scratch = ws.buffer(CLIPSlot.scratch, count: scratchCount * tasks)
        let rowParts = Parallel.split(rows, parts: max(1, min(threads, rows)))

        norm1.apply(x, rows: rows, into: normed)
        Parallel.forEach(rowParts.count, threads: rowParts.count) { p in
            let r = rowParts[p]
            let src = normed + r.lowerBound * h, dst = qkv + r.lowerBound * 3 * h
            query.apply(src, rows: r.count, into: dst, ldy: 3 * h)
            key.apply(src, rows: r.count, into: dst + h, ldy: 3 * h)
            value.apply(src, rows: r.count, into: dst + 2 * h, ldy: 3 * h)
        }
        Parallel.forEach(tasks, threads: min(threads, tasks)) { task in
            let s = task / headParts.count, hs = headParts[task % headParts.count], col = hs.lowerBound * headDim
            let start = offsets[s], n = offsets[s + 1] - start
            guard n > 0 else { return }
            let base = qkv + start * 3 * h
            Kernels.attention(q: base + col, ldQ: 3 * h, k: base + h + col, v: base + 2 * h + col, ldKV: 3 * h,
                              out: context + start * h + col, ldOut: h, qLength: n, kvLength: n, heads: hs.count, headDim: headDim,
                              scale: 1 / Float(headDim).squareRoot(), bias: mask, biasHeadStride: mask == nil ? nil : 0,
                              biasRowStride: mask == nil ? nil : maskStride, scratch: scratch + task * scratchCount)
        }
        Parallel.forEach(rowParts.count, threads: rowParts.count) { p in
            let r = rowParts[p]
            Self.addLinear(output, context + r.lowerBound * h, rows: r.count, into: x + r.lowerBound * h)
        }
        norm2.apply(x, rows: rows, into: normed)
        Parallel.forEach(rowParts.count, threads: rowParts.count) { p in
            let r = rowParts[p]
            fc1.apply(normed + r.lowerBound * h, rows: r.count, into: mid + r.lowerBound * fc1.outFeatures, activation: activation)
            Self.addLinear(fc2, mid + r.lowerBound * fc1.outFeatures, rows: r.count, into: x + r.lowerBound * h)
        }
    }

    /// `x += input Wᵀ + b` (the residual accumulates in the GEMM).
    static func addLinear(_ l: Linear, _ input: UnsafePointer<Float>, rows: Int, into x: UnsafeMutablePointer<Float>) {
        BLAS.gemm(transB: true, m: rows, n: l.outFeatures, k: l.inFeatures, a: input, lda: l.inFeatures,
                  b: l.weight.pointer, ldb: l.inFeatures, beta: 1, c: x, ldc: l.outFeatures)
        if let b = l.bias { Kernels.biasActivation(x, rows: rows, cols: l.outFeatures, bias: b.pointer, activation: .none) }
    }
}
