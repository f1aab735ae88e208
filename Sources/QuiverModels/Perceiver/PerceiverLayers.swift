import QuiverTensor
import QuiverWeights

/// transformers' Perceiver LayerNorms are plain `nn.LayerNorm` (eps 1e-5); `layer_norm_eps` of the
/// configuration is not used by them.
let perceiverLayerNormEps: Float = 1e-5

/// `y = x Wᵀ + b` for `rows` rows, the rows split across `threads`.
func perceiverLinear(_ l: Linear, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                     accumulate: Bool = false, activation: Activation = .none, threads: Int) {
    let parts = Parallel.split(rows, parts: max(1, min(threads, rows / 16)))
    Parallel.forEach(parts.count, threads: parts.count) { p in
        let r = parts[p]
        let src = x + r.lowerBound * l.inFeatures, dst = y + r.lowerBound * l.outFeatures
        if accumulate {
            PreNormEncoderLayer.addLinear(l, src, rows: r.count, into: dst)
        } else {
            l.apply(src, rows: r.count, into: dst, activation: activation)
        }
    }
}

/// The dense block after each Perceiver attention: `x += dense2(act(dense1(LayerNorm(x))))`
/// (`layernorm`, `mlp.dense1`, `mlp.dense2` of a `PerceiverLayer`).
struct PerceiverMLP: Sendable {
    let norm: LayerNorm
    let dense1: Linear, dense2: Linear
    let activation: Activation

    init(_ s: WeightScope, width: Int, wideningFactor: Int, activation: Activation) throws {
        norm = try s.scope("layernorm").layerNorm(features: width, eps: perceiverLayerNormEps)
        dense1 = try s.scope("mlp").scope("dense1").linear(in: width, out: width * wideningFactor)
        dense2 = try s.scope("mlp").scope("dense2").linear(in: width * wideningFactor, out: width)
        self.activation = activation
    }

    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, threads: Int) {
        var normed = [Float](repeating: 0, count: rows * norm.features)
        var mid = [Float](repeating: 0, count: rows * dense1.outFeatures)
        normed.withUnsafeMutableBufferPointer { n in
            mid.withUnsafeMutableBufferPointer { m in
                norm.apply(x, rows: rows, into: n.baseAddress!)
                perceiverLinear(dense1, n.baseAddress!, rows: rows, into: m.baseAddress!, activation: activation, threads: threads)
                perceiverLinear(dense2, m.baseAddress!, rows: rows, into: x, accumulate: true, threads: threads)
            }
        }
    }
}

/// The projections of a Perceiver attention (`attention.self.{layernorm1,query,key,value}` and
/// `attention.output.dense`): queries from the latents, keys and values from the inputs
/// (cross-attention, with its own `layernorm2`) or from the latents (self-attention).
struct PerceiverAttentionWeights: Sendable {
    let queryNorm: LayerNorm
    let inputNorm: LayerNorm?
    let query: Linear, key: Linear, value: Linear
    let output: Linear
    let heads: Int

    init(_ s: WeightScope, queryWidth: Int, inputWidth: Int?, qkChannels: Int, vChannels: Int, outWidth: Int, heads: Int) throws {
        let a = s.scope("attention").scope("self")
        queryNorm = try a.scope("layernorm1").layerNorm(features: queryWidth, eps: perceiverLayerNormEps)
        inputNorm = try inputWidth.map { try a.scope("layernorm2").layerNorm(features: $0, eps: perceiverLayerNormEps) }
        let kvWidth = inputWidth ?? queryWidth
        query = try a.scope("query").linear(in: queryWidth, out: qkChannels)
        key = try a.scope("key").linear(in: kvWidth, out: qkChannels)
        value = try a.scope("value").linear(in: kvWidth, out: vChannels)
        output = try s.scope("attention").scope("output").scope("dense").linear(in: vChannels, out: outWidth)
        self.heads = heads
    }

    var qkPerHead: Int { query.outFeatures / heads }
    var vPerHead: Int { value.outFeatures / heads }

    /// Scaled queries `query(LayerNorm1(x)) / sqrt(qk per head)` for `rows` latent rows.
    func scaledQueries(_ x: UnsafePointer<Float>, rows: Int, threads: Int) -> [Float] {
        var normed = [Float](repeating: 0, count: rows * queryNorm.features)
        var q = [Float](repeating: 0, count: rows * query.outFeatures)
        normed.withUnsafeMutableBufferPointer { n in
            q.withUnsafeMutableBufferPointer { qp in
                queryNorm.apply(x, rows: rows, into: n.baseAddress!)
                perceiverLinear(query, n.baseAddress!, rows: rows, into: qp.baseAddress!, threads: threads)
            }
        }
        let scale = 1 / Float(qkPerHead).squareRoot()
        for i in q.indices { q[i] *= scale }
        return q
    }

    /// `x = output(context) (+ x)`.
    func project(_ context: UnsafePointer<Float>, rows: Int, into x: UnsafeMutablePointer<Float>, residual: Bool, threads: Int) {
        perceiverLinear(output, context, rows: rows, into: x, accumulate: residual, threads: threads)
    }
}

/// One latent self-attention layer (`encoder.self_attends.N`):
///   x = x + O(attention(LN1(x)));  x = x + MLP(x).
struct PerceiverSelfAttentionLayer: Sendable {
    let attention: PerceiverAttentionWeights
    let mlp: PerceiverMLP

    init(_ s: WeightScope, config c: PerceiverConfig, activation: Activation) throws {
        attention = try PerceiverAttentionWeights(s, queryWidth: c.dLatents, inputWidth: nil, qkChannels: c.selfQKChannels,
                                                  vChannels: c.selfVChannels, outWidth: c.selfVChannels, heads: c.numSelfAttentionHeads)
        mlp = try PerceiverMLP(s, width: c.dLatents, wideningFactor: c.selfAttentionWideningFactor, activation: activation)
    }

    /// Updates the `rows` latents in `x` in place; heads are split across `threads`.
    func forward(_ x: UnsafeMutablePointer<Float>, rows: Int, threads: Int) {
        let a = attention
        let q = a.scaledQueries(x, rows: rows, threads: threads)
        var normed = [Float](repeating: 0, count: rows * a.queryNorm.features)
        let qk = a.key.outFeatures, vw = a.value.outFeatures
        var kv = [Float](repeating: 0, count: rows * (qk + vw))
        var context = [Float](repeating: 0, count: rows * vw)
        normed.withUnsafeMutableBufferPointer { n in
            kv.withUnsafeMutableBufferPointer { kvp in
                a.queryNorm.apply(x, rows: rows, into: n.baseAddress!)
                perceiverLinear(a.key, n.baseAddress!, rows: rows, into: kvp.baseAddress!, threads: threads)
                perceiverLinear(a.value, n.baseAddress!, rows: rows, into: kvp.baseAddress! + rows * qk, threads: threads)
            }
        }
        let parts = Parallel.split(a.heads, parts: max(1, min(threads, a.heads)))
        q.withUnsafeBufferPointer { qp in
            kv.withUnsafeBufferPointer { kvp in
                context.withUnsafeMutableBufferPointer { cp in
                    let qBase = qp.baseAddress!, kBase = kvp.baseAddress!, vBase = kBase + rows * qk, out = cp.baseAddress!
                    Parallel.forEach(parts.count, threads: parts.count) { p in
                        let heads = parts[p]
                        let state = OnlineAttention(queries: rows, heads: heads.count, qkPerHead: a.qkPerHead, vPerHead: a.vPerHead)
                        state.add(q: qBase + heads.lowerBound * a.qkPerHead, ldQ: qk, k: kBase + heads.lowerBound * a.qkPerHead, ldK: qk,
                                  v: vBase + heads.lowerBound * a.vPerHead, ldV: vw, count: rows)
                        state.result(into: out + heads.lowerBound * a.vPerHead, ldOut: vw)
                    }
                }
            }
        }
        context.withUnsafeBufferPointer { a.project($0.baseAddress!, rows: rows, into: x, residual: true, threads: threads) }
        mlp.apply(x, rows: rows, threads: threads)
    }
}

/// The cross-attention layer (`encoder.cross_attention`): the latents attend to the inputs,
///   x = O(attention(LN1(x), LN2(inputs))) (+ x with `use_query_residual`);  x = x + MLP(x).
///
/// The inputs are made, normalized and projected `chunkRows` rows at a time and folded into an
/// ``OnlineAttention`` state, so neither the input array, its keys and values, nor the
/// `[latents, inputs]` score matrix is ever held whole. With `threads > 1` the input rows are split
/// into one contiguous share per thread, each with its own state and buffers, merged at the end.
struct PerceiverCrossAttentionLayer: Sendable {
    let attention: PerceiverAttentionWeights
    let mlp: PerceiverMLP
    let useQueryResidual: Bool

    init(_ s: WeightScope, config c: PerceiverConfig, activation: Activation) throws {
        attention = try PerceiverAttentionWeights(s, queryWidth: c.dLatents, inputWidth: c.inputChannels, qkChannels: c.crossQKChannels,
                                                  vChannels: c.crossVChannels, outWidth: c.dLatents, heads: c.numCrossAttentionHeads)
        mlp = try PerceiverMLP(s, width: c.dLatents, wideningFactor: c.crossAttentionWideningFactor, activation: activation)
        useQueryResidual = c.useQueryResidual
    }

    /// Updates the `rows` latents in `x` in place from the clip's inputs.
    func forward(_ x: UnsafeMutablePointer<Float>, rows: Int, inputs: PerceiverInputRows, chunkRows: Int, threads: Int) {
        let a = attention
        let q = a.scaledQueries(x, rows: rows, threads: threads)
        let width = inputs.channels, qk = a.key.outFeatures, vw = a.value.outFeatures
        let shares = Parallel.split(inputs.count, parts: max(1, min(threads, inputs.count / max(1, chunkRows / 4))))
        var states = [OnlineAttention?](repeating: nil, count: shares.count)
        states.withUnsafeMutableBufferPointer { sp in
            let statesBase = sp.baseAddress!
            q.withUnsafeBufferPointer { qp in
                let qBase = qp.baseAddress!
                Parallel.forEach(shares.count, threads: shares.count) { p in
                    let share = shares[p], block = max(1, min(chunkRows, share.count))
                    let state = OnlineAttention(queries: rows, heads: a.heads, qkPerHead: a.qkPerHead, vPerHead: a.vPerHead)
                    var buffer = [Float](repeating: 0, count: block * (width + qk + vw))
                    buffer.withUnsafeMutableBufferPointer { bp in
                        let rowsBuf = bp.baseAddress!, keys = rowsBuf + block * width, values = keys + block * qk
                        for start in stride(from: share.lowerBound, to: share.upperBound, by: block) {
                            let n = min(block, share.upperBound - start)
                            inputs.fill(start..<(start + n), into: rowsBuf)
                            a.inputNorm!.apply(rowsBuf, rows: n, into: rowsBuf)
                            a.key.apply(rowsBuf, rows: n, into: keys)
                            a.value.apply(rowsBuf, rows: n, into: values)
                            state.add(q: qBase, ldQ: qk, k: keys, ldK: qk, v: values, ldV: vw, count: n)
                        }
                    }
                    (statesBase + p).pointee = state
                }
            }
        }
        let total = states[0]!
        for s in states.dropFirst() { total.merge(s!) }
        var context = [Float](repeating: 0, count: rows * vw)
        context.withUnsafeMutableBufferPointer { total.result(into: $0.baseAddress!, ldOut: vw) }
        context.withUnsafeBufferPointer { a.project($0.baseAddress!, rows: rows, into: x, residual: useQueryResidual, threads: threads) }
        mlp.apply(x, rows: rows, threads: threads)
    }
}
