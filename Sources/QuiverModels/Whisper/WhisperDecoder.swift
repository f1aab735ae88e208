import Foundation
import QuiverTensor
import QuiverWeights

/// The Whisper text decoder as a pure forward pass (transformers' `WhisperDecoder`), used for the
/// seed-decoder embedding: token + position embeddings, pre-LayerNorm blocks of causal
/// self-attention, cross-attention over the encoder output and a GELU MLP, final LayerNorm.
/// No KV cache: it runs a short token prefix once.
public struct WhisperDecoder: Sendable {
    /// The model dimensions (`d_model`, decoder layers and heads, vocabulary, 448 target positions).
    public let config: WhisperConfig
    let weights: WhisperDecoderWeights

    init(config: WhisperConfig, weights: WhisperDecoderWeights) {
        self.config = config
        self.weights = weights
    }

    /// The last hidden states for `tokens` over one window's encoder output.
    /// - Parameters:
    ///   - tokens: decoder input ids (positions 0..<count), at most `maxTargetPositions`.
    ///   - encoderOutput: `[frames, d]` (the encoder's last hidden state, all 1500 frames).
    ///   - frames: rows of `encoderOutput` (1500).
    ///   - threads: workers for the cross-attention key/value projections.
    /// - Returns: `[tokens.count, d]` floats, row-major.
    /// - Throws: `ModelsError.invalidTokenID` / `.sequenceTooLong` naming the position.
    public func forward(tokens: [Int], encoderOutput: UnsafePointer<Float>, frames: Int,
                        threads: Int = Parallel.defaultThreads) throws -> [Float] {
        let c = config, d = c.dModel, n = tokens.count
        guard n <= c.maxTargetPositions else { throw ModelsError.sequenceTooLong(sequence: 0, length: n, maximum: c.maxTargetPositions) }
        for (i, id) in tokens.enumerated() where id < 0 || id >= c.vocabSize {
            throw ModelsError.invalidTokenID(sequence: 0, position: i, id: id, vocabularySize: c.vocabSize)
        }
        guard n > 0 else { return [] }
        let heads = c.decoderAttentionHeads, headDim = d / heads, scale = 1 / Float(headDim).squareRoot()
        let x = Tensor(zeros: [n, d]), xn = Tensor(zeros: [n, d]), qkv = Tensor(zeros: [n, 3 * d])
        let ctx = Tensor(zeros: [n, d]), mid = Tensor(zeros: [n, c.decoderFFNDim])
        let kv = Tensor(zeros: [frames, 2 * d])
        let scratch = Tensor(zeros: [Kernels.attentionScratchCount(kvLength: max(frames, n), headDim: headDim)])
        let emb = weights.tokenEmbeddings.pointer, pos = weights.positions.pointer
        for (i, id) in tokens.enumerated() {
            for j in 0..<d { x.mutablePointer[i * d + j] = emb[id * d + j] * (c.scaleEmbedding ? Float(d).squareRoot() : 1) + pos[i * d + j] }
        }
        let rows = Parallel.split(frames, parts: max(1, threads))
        nonisolated(unsafe) let kvp = kv.mutablePointer
        for layer in weights.layers {
            // Causal self-attention: query i sees tokens 0...i.
            layer.selfNorm.apply(x.pointer, rows: n, into: xn.mutablePointer)
            layer.selfQKV.apply(xn.pointer, rows: n, into: qkv.mutablePointer, ldy: 3 * d)
            for i in 0..<n {
                Kernels.attention(q: qkv.pointer + i * 3 * d, ldQ: 3 * d, k: qkv.pointer + d, v: qkv.pointer + 2 * d, ldKV: 3 * d,
                                  out: ctx.mutablePointer + i * d, ldOut: d, qLength: 1, kvLength: i + 1,
                                  heads: heads, headDim: headDim, scale: scale, scratch: scratch.mutablePointer)
            }
            WhisperEncoder.addLinear(layer.selfOutput, ctx.pointer, rows: n, into: x.mutablePointer)
            // Cross-attention over every encoder frame.
            layer.crossNorm.apply(x.pointer, rows: n, into: xn.mutablePointer)
            layer.crossQuery.apply(xn.pointer, rows: n, into: qkv.mutablePointer, ldy: d)
            Parallel.forEach(rows.count, threads: threads) { w in
                let r = rows[w]
                layer.crossKV.apply(encoderOutput + r.lowerBound * d, rows: r.count, into: kvp + r.lowerBound * 2 * d, ldy: 2 * d)
            }
            Kernels.attention(q: qkv.pointer, ldQ: d, k: kv.pointer, v: kv.pointer + d, ldKV: 2 * d,
                              out: ctx.mutablePointer, ldOut: d, qLength: n, kvLength: frames,
                              heads: heads, headDim: headDim, scale: scale, scratch: scratch.mutablePointer)
            WhisperEncoder.addLinear(layer.crossOutput, ctx.pointer, rows: n, into: x.mutablePointer)
            // MLP.
            layer.mlpNorm.apply(x.pointer, rows: n, into: xn.mutablePointer)
            layer.fc1.apply(xn.pointer, rows: n, into: mid.mutablePointer, activation: .geluErf)
            WhisperEncoder.addLinear(layer.fc2, mid.pointer, rows: n, into: x.mutablePointer)
        }
        weights.finalNorm.apply(x.pointer, rows: n, into: x.mutablePointer)
        return x.array
    }
}
