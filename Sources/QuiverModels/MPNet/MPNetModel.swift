import Foundation
import QuiverTensor
import QuiverWeights

/// MPNet encoder (all-mpnet-base-v2) as a pure forward pass: BERT-like post-LayerNorm layers, no
/// token types, absolute positions offset past the padding id, and a relative-position attention
/// bias shared by all layers (T5-style log buckets, computed once per batch).
///
/// Weights: Hugging Face `MPNetModel` names, optionally under an `mpnet.` prefix. Accepted unused:
/// `embeddings.position_ids`, `pooler.*` and, with the prefix, `lm_head.*`.
public struct MPNetModel: TextEncoder {
    /// The configuration the weights were bound with.
    public let config: MPNetConfig
    let wordEmbeddings: Tensor
    let positionEmbeddings: Tensor
    let embeddingNorm: LayerNorm
    /// `[buckets, heads]`.
    let relativeAttentionBias: Tensor
    var layers: [EncoderLayer]
    /// The precision of the linear layers (`.float32` unless asked otherwise).
    public let precision: Precision

    /// Width of each token state (`hidden_size`, 768 for all-mpnet-base-v2).
    public var hiddenSize: Int { config.hiddenSize }
    /// Number of token ids the embedding table holds (`vocab_size`, 30527).
    public var vocabularySize: Int { config.vocabSize }
    /// Longest sequence, in tokens, that the position table allows: `max_position_embeddings - pad_token_id - 1`
    /// (512 for all-mpnet-base-v2), since positions start after the padding id.
    public var maxSequenceLength: Int { config.maxPositionEmbeddings - config.padTokenId - 1 }

    /// Binds the weights of `source` (tensors must match `config` exactly).
    /// - Parameter precision: `.int8` quantizes the linear layers' weights per output channel at load
    ///   time (see `QuantizedLinear`); `.float32` (the default) keeps the checkpoint's arithmetic.
    ///   `calibration`: token id sequences (with special tokens) the float32 model runs once under
    ///   `.int8` to find each projection's outlier input channels, which then stay float32
    ///   (`Int8Calibration`; ``SentenceTransformer`` passes its built-in texts). Empty: every
    ///   channel in int8.
    /// - Throws: `WeightsError` naming a missing, misshapen or unused tensor; `ModelsError` for an
    ///   unsupported configuration.
    public init(config: MPNetConfig, weights source: WeightSource, precision: Precision = .float32, calibration: [[Int]] = []) throws {
        try config.validate(path: source.path)
        self.config = config
        let (loader, root) = WeightLoader.encoder(source, modelPrefix: "mpnet", head: "lm_head")
        let h = config.hiddenSize
        let emb = root.scope("embeddings")
        wordEmbeddings = try emb.scope("word_embeddings").tensor("weight", [config.vocabSize, h])
        positionEmbeddings = try emb.scope("position_embeddings").tensor("weight", [config.maxPositionEmbeddings, h])
        embeddingNorm = try emb.scope("LayerNorm").layerNorm(features: h, eps: config.layerNormEps)
        relativeAttentionBias = try root.scope("encoder").scope("relative_attention_bias")
            .tensor("weight", [config.relativeAttentionNumBuckets, config.numAttentionHeads])
        let act = Activation(huggingFaceName: config.hiddenAct) ?? .geluErf
        let built = try (0..<config.numHiddenLayers).map { i in
            let l = root.scope("encoder").scope("layer").scope(i)
            let att = l.scope("attention")
            return EncoderLayer(
                query: try att.scope("attn").scope("q").linear(in: h, out: h),
                key: try att.scope("attn").scope("k").linear(in: h, out: h),
                value: try att.scope("attn").scope("v").linear(in: h, out: h),
                attentionOutput: try att.scope("attn").scope("o").linear(in: h, out: h),
                attentionNorm: try att.scope("LayerNorm").layerNorm(features: h, eps: config.layerNormEps),
                intermediate: try l.scope("intermediate").scope("dense").linear(in: h, out: config.intermediateSize),
                output: try l.scope("output").scope("dense").linear(in: config.intermediateSize, out: h),
                outputNorm: try l.scope("output").scope("LayerNorm").layerNorm(features: h, eps: config.layerNormEps),
                heads: config.numAttentionHeads, activation: act)
        }
        self.precision = precision
        layers = built
        if precision == .int8 {
            let model = self
            let ranges = try ProjectionInputRanges.calibrate(
                layers: built, sequences: calibration, vocabularySize: config.vocabSize, maxLength: model.maxSequenceLength,
                forward: { batch, ws, ranges in _ = model.forward(batch, workspace: ws, ranges: ranges) })
            layers = EncoderLayer.quantizedInParallel(built, ranges: ranges)
        }
        try loader.finish()
    }

    /// Loads `config.json` and `model.safetensors` (else `pytorch_model.bin`) from a Hugging Face model folder.
    /// `calibration` as for ``init(config:weights:precision:calibration:)``.
    public init(folder: URL, precision: Precision = .float32, calibration: [[Int]] = []) throws {
        let config = try MPNetConfig.load(folder.appendingPathComponent("config.json"))
        try self.init(config: config, weights: try Checkpoint.open(in: folder), precision: precision, calibration: calibration)
    }

    /// The bucket of a relative position `memory - context` (MPNet's `relative_position_bucket`,
    /// max distance 128): half the buckets for keys before the query, half after; exact buckets for
    /// distances below a quarter of the buckets, logarithmic ones beyond. Computed in Float32 as
    /// the reference does, so the truncation lands on the same bucket at the boundaries (16, 32, 64).
    public static func relativePositionBucket(_ relativePosition: Int, buckets: Int = 32, maxDistance: Int = 128) -> Int {
        let half = buckets / 2
        let n = -relativePosition
        var bucket = n < 0 ? half : 0
        let distance = abs(n)
        let maxExact = half / 2
        if distance < maxExact { return bucket + distance }
        let scaled = Foundation.log(Float(distance) / Float(maxExact)) / Float(Foundation.log(Double(maxDistance) / Double(maxExact))) * Float(half - maxExact)
        bucket += min(maxExact + Int(scaled), half - 1)
        return bucket
    }

    /// Runs the encoder on a packed batch (validated by the caller with `TokenBatch.validate`) on the calling thread.
    /// Positions count up from `pad_token_id + 1` in each sequence (a padding id inside a sequence keeps position
    /// `pad_token_id`, as transformers does); the relative-position bias is built once for the longest sequence.
    /// - Returns: the last hidden states `[batch.tokenCount, hiddenSize]`, row-major, in the order of `batch.ids`;
    ///   the memory belongs to `workspace` and stays valid until its next use.
    public func forward(_ batch: TokenBatch, workspace ws: Workspace) -> UnsafeMutablePointer<Float> {
        forward(batch, workspace: ws, ranges: nil)
    }

    /// `forward(_:workspace:)`, recording every projection's input into `ranges` when given (calibration).
    func forward(_ batch: TokenBatch, workspace ws: Workspace, ranges: ProjectionInputRanges?) -> UnsafeMutablePointer<Float> {
        let h = config.hiddenSize, t = batch.tokenCount, pad = Int32(config.padTokenId)
        let x = ws.buffer(EncoderSlot.hidden, count: max(t, 1) * h)
        let word = wordEmbeddings.pointer, pos = positionEmbeddings.pointer
        batch.ids.withUnsafeBufferPointer { ids in
            for s in 0..<batch.count {
                let start = batch.offsets[s]
                var seen = 0
                for p in 0..<batch.length(s) {
                    // create_position_ids_from_input_ids: padding ids keep position `pad`, others count up from pad + 1.
                    let id = ids[start + p]
                    var position = Int(pad)
                    if id != pad { seen += 1; position += seen }
                    let row = x + (start + p) * h, w = word + Int(id) * h, q = pos + position * h
                    for c in 0..<h { row[c] = w[c] + q[c] }
                }
            }
        }
        embeddingNorm.apply(x, rows: t, into: x)

        // [heads, L, L] bias for the longest sequence; shorter ones read its top-left block.
        let heads = config.numAttentionHeads, l = batch.maxLength
        let bias = ws.buffer(EncoderSlot.positionBias, count: max(1, heads * l * l))
        if l > 0 {
            let table = relativeAttentionBias.pointer
            let bucketOf = (0..<(2 * l - 1)).map { Self.relativePositionBucket($0 - (l - 1), buckets: config.relativeAttentionNumBuckets) }
            for i in 0..<l {
                for j in 0..<l {
                    let b = bucketOf[j - i + l - 1]
                    for hd in 0..<heads { bias[(hd * l + i) * l + j] = table[b * heads + hd] }
                }
            }
        }
        let shared = EncoderLayer.Bias(pointer: UnsafePointer(bias), headStride: l * l, rowStride: l)
        for (i, layer) in layers.enumerated() { layer.forward(x, batch: batch, bias: shared, workspace: ws, ranges: ranges, index: i) }
        return x
    }
}
