import QuiverTensor
import QuiverWeights

/// CLIP's vision transformer: patch embedding (a stride-`patch` convolution without bias, done as
/// one GEMM over gathered patches), class token, learned positions, pre-LayerNorm ("pre_layrnorm"),
/// encoder, post-LayerNorm of the class token, then the visual projection.
struct CLIPVisionTower: Sendable {
    let config: CLIPConfig.Vision
    /// `[hidden, channels * patch * patch]` (the PyTorch conv weight flattened).
    let patchWeight: Tensor
    let classEmbedding: Tensor
    let positionEmbedding: Tensor
    let preNorm: LayerNorm
    let layers: [PreNormEncoderLayer]
    let postNorm: LayerNorm
    let projection: Linear

    init(_ s: WeightScope, projection p: WeightScope, config c: CLIPConfig.Vision, projectionDim: Int) throws {
        config = c
        let h = c.hiddenSize, e = s.scope("embeddings")
        patchWeight = try e.scope("patch_embedding").tensor("weight", [h, c.numChannels, c.patchSize, c.patchSize])
            .reshaped([h, c.numChannels * c.patchSize * c.patchSize])
        classEmbedding = try e.tensor("class_embedding", [h])
        positionEmbedding = try e.scope("position_embedding").tensor("weight", [c.tokenCount, h])
        preNorm = try s.scope("pre_layrnorm").layerNorm(features: h, eps: c.layerNormEps)
        let act = Activation(huggingFaceName: c.hiddenAct) ?? .quickGelu
        layers = try (0..<c.numHiddenLayers).map {
            try PreNormEncoderLayer(s.scope("encoder").scope("layers").scope($0), hidden: h, intermediate: c.intermediateSize,
                                    heads: c.numAttentionHeads, eps: c.layerNormEps, activation: act)
        }
        postNorm = try s.scope("post_layernorm").layerNorm(features: h, eps: c.layerNormEps)
        projection = try p.linear(in: h, out: projectionDim, bias: false)
    }

    /// Embeds CHW images of `imageSize`² pixels, all at once (their tokens share the GEMMs),
    /// writing `projectionDim` floats to `outs[i]` for `images[i]`.
    func forward(images: [UnsafePointer<Float>], into outs: [UnsafeMutablePointer<Float>], workspace ws: Workspace, threads: Int = 1) {
        let h = config.hiddenSize, p = config.patchSize, g = config.gridSize, size = config.imageSize
        let ch = config.numChannels, k = ch * p * p, n = g * g, t = n + 1, count = images.count
        guard count > 0 else { return }
        let patches = ws.buffer(CLIPSlot.patches, count: count * n * k)
        let x = ws.buffer(CLIPSlot.hidden, count: count * t * h)
        for (i, chw) in images.enumerated() {
            // Patch (py, px) as a row in the conv weight's (channel, ky, kx) order.
            for py in 0..<g {
                for px in 0..<g {
                    var dst = patches + ((i * g + py) * g + px) * k
                    for c in 0..<ch {
                        for ky in 0..<p {
                            dst.update(from: chw + (c * size + py * p + ky) * size + px * p, count: p)
                            dst += p
                        }
                    }
                }
            }
        }
        // Each image's patches become its tokens 1...n (contiguous rows of x).
        Parallel.forEach(count, threads: min(threads, count)) { i in
            BLAS.gemm(transB: true, m: n, n: h, k: k, a: patches + i * n * k, lda: k, b: patchWeight.pointer, ldb: k,
                      c: x + (i * t + 1) * h, ldc: h)
        }
        let pos = positionEmbedding.pointer
        for i in 0..<count {
            let xi = x + i * t * h
            xi.update(from: classEmbedding.pointer, count: h)
            for j in 0..<(t * h) { xi[j] += pos[j] }
        }
        preNorm.apply(x, rows: count * t, into: x)
        for layer in layers { layer.forward(x, count: count, length: t, mask: nil, workspace: ws, threads: threads) }
        let pooled = ws.buffer(CLIPSlot.normed, count: count * h)
        for i in 0..<count { postNorm.apply(x + i * t * h, rows: 1, into: pooled + i * h) }
        let projected = ws.buffer(CLIPSlot.context, count: count * projection.outFeatures)
        projection.apply(pooled, rows: count, into: projected)
        for i in 0..<count { outs[i].update(from: projected + i * projection.outFeatures, count: projection.outFeatures) }
    }
}

/// CLIP's text transformer: token and position embeddings, causal pre-LayerNorm encoder, final
/// LayerNorm, the hidden state at the end-of-text token, then the text projection.
struct CLIPTextTower: Sendable {
    let config: CLIPConfig.Text
    let tokenEmbedding: Tensor
    let positionEmbedding: Tensor
    let layers: [PreNormEncoderLayer]
    let finalNorm: LayerNorm
    let projection: Linear

    init(_ s: WeightScope, projection p: WeightScope, config c: CLIPConfig.Text, projectionDim: Int) throws {
        config = c
        let h = c.hiddenSize, e = s.scope("embeddings")
        tokenEmbedding = try e.scope("token_embedding").tensor("weight", [c.vocabSize, h])
        positionEmbedding = try e.scope("position_embedding").tensor("weight", [c.maxPositionEmbeddings, h])
        let act = Activation(huggingFaceName: c.hiddenAct) ?? .quickGelu
        layers = try (0..<c.numHiddenLayers).map {
            try PreNormEncoderLayer(s.scope("encoder").scope("layers").scope($0), hidden: h, intermediate: c.intermediateSize,
                                    heads: c.numAttentionHeads, eps: c.layerNormEps, activation: act)
        }
        finalNorm = try s.scope("final_layer_norm").layerNorm(features: h, eps: c.layerNormEps)
        projection = try p.linear(in: h, out: projectionDim, bias: false)
    }

    /// The pooled position: the first `eos_token_id`, or the largest id when `eos_token_id` is 2
    /// (configs written before transformers fixed it), as `CLIPTextTransformer` does.
    func poolIndex(_ ids: [Int32]) -> Int { Self.poolIndex(ids, eosTokenId: config.eosTokenId) }

    static func poolIndex(_ ids: [Int32], eosTokenId: Int) -> Int {
        if eosTokenId == 2 {
            var best = 0
            for (i, v) in ids.enumerated() where v > ids[best] { best = i }
            return best
        }
        return ids.firstIndex(of: Int32(eosTokenId)) ?? 0
    }

    /// Embeds validated, non-empty id sequences, all in one pass (packed without padding; their
    /// tokens share the GEMMs), writing `projectionDim` floats to `outs[i]` for `sequences[i]`.
    func forward(sequences all: [[Int32]], into outs: [UnsafeMutablePointer<Float>], workspace ws: Workspace, threads: Int = 1) {
        // With the causal mask, the pooled token sees only the tokens up to itself: the rest
        // (padding, text after the end token) cannot change the result and is not computed.
        let sequences = all.map { Array($0[...poolIndex($0)]) }
        let count = sequences.count
        guard count > 0 else { return }
        var offsets = [0]
        for s in sequences { offsets.append(offsets.last! + s.count) }
        let h = config.hiddenSize, rows = offsets.last!, longest = sequences.map(\.count).max()!
        let x = ws.buffer(CLIPSlot.hidden, count: rows * h)
        let tok = tokenEmbedding.pointer, pos = positionEmbedding.pointer
        for (s, ids) in sequences.enumerated() {
            for (i, id) in ids.enumerated() {
                let row = x + (offsets[s] + i) * h, w = tok + Int(id) * h, q = pos + i * h
                for c in 0..<h { row[c] = w[c] + q[c] }
            }
        }
        let mask = ws.buffer(CLIPSlot.mask, count: longest * longest)
        for i in 0..<longest { for j in 0..<longest { mask[i * longest + j] = j > i ? -1e30 : 0 } }
        for layer in layers { layer.forward(x, offsets: offsets, mask: mask, maskStride: longest, workspace: ws, threads: threads) }
        // Only the pooled rows (each sequence's last) need the final LayerNorm.
        let pooled = ws.buffer(CLIPSlot.normed, count: count * h)
        for s in 0..<count { finalNorm.apply(x + (offsets[s + 1] - 1) * h, rows: 1, into: pooled + s * h) }
        let projected = ws.buffer(CLIPSlot.context, count: count * projection.outFeatures)
        projection.apply(pooled, rows: count, into: projected)
        for s in 0..<count { outs[s].update(from: projected + s * projection.outFeatures, count: projection.outFeatures) }
    }
}
