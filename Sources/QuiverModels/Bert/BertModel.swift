import Foundation
import QuiverTensor
import QuiverWeights

/// BERT encoder (absolute positions, token types, post-LayerNorm layers) as a pure forward pass.
///
/// Weights: Hugging Face `BertModel` names (`embeddings.*`, `encoder.layer.N.*`), optionally under
/// a `bert.` prefix (checkpoints saved from a task model). Not used, and therefore accepted without
/// error: `embeddings.position_ids` (a buffer), `pooler.*` (sentence-transformers never reads the
/// pooler), and with a `bert.` prefix the task heads `cls.*`. Every other tensor must be consumed.
/// All sequences use token type 0 (single-segment input, as sentence-transformers encodes a text).
public struct BertModel: TextEncoder {
    /// The configuration the weights were bound with.
    public let config: BertConfig
    let wordEmbeddings: Tensor
    let positionEmbeddings: Tensor
    let tokenTypeEmbeddings: Tensor
    let embeddingNorm: LayerNorm
    var layers: [EncoderLayer]
    /// The precision of the linear layers (`.float32` unless asked otherwise).
    public let precision: Precision

    /// Width of each token state (`hidden_size`: 384 for all-MiniLM-L6-v2, 768 for base models).
    public var hiddenSize: Int { config.hiddenSize }
    /// Number of token ids the embedding table holds (`vocab_size`, 30522 for the uncased English vocabulary).
    public var vocabularySize: Int { config.vocabSize }
    /// Longest sequence in tokens the position table allows (`max_position_embeddings`, 512), special tokens included.
    public var maxSequenceLength: Int { config.maxPositionEmbeddings }

    /// Binds the weights of `source` (tensors must match `config` exactly).
    /// - Parameter precision: `.int8` quantizes the linear layers' weights per output channel at load
    ///   time (see `QuantizedLinear`); `.float32` (the default) keeps the checkpoint's arithmetic.
    ///   `calibration`: token id sequences (with special tokens) the float32 model runs once under
    ///   `.int8` to find each projection's outlier input channels, which then stay float32
    ///   (`Int8Calibration`; ``SentenceTransformer`` passes its built-in texts). Empty: every
    ///   channel in int8.
    ///   `modelPrefix`: the base-model prefix of task checkpoints (`bert`; `roberta` for XLM-R ones).
    /// - Throws: `WeightsError` naming a missing, misshapen or unused tensor; `ModelsError` for an
    ///   unsupported configuration.
    public init(config: BertConfig, weights source: WeightSource, precision: Precision = .float32, modelPrefix: String = "bert", calibration: [[Int]] = []) throws {
        try config.validate(path: source.path)
        self.config = config
        let (loader, root) = WeightLoader.encoder(source, modelPrefix: modelPrefix, head: "cls")
        let h = config.hiddenSize
        let emb = root.scope("embeddings")
        wordEmbeddings = try emb.scope("word_embeddings").tensor("weight", [config.vocabSize, h])
        positionEmbeddings = try emb.scope("position_embeddings").tensor("weight", [config.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try emb.scope("token_type_embeddings").tensor("weight", [config.typeVocabSize, h])
        embeddingNorm = try emb.scope("LayerNorm").layerNorm(features: h, eps: config.layerNormEps)
        let act = Activation(huggingFaceName: config.hiddenAct) ?? .geluErf
        let built = try (0..<config.numHiddenLayers).map { i in
            let l = root.scope("encoder").scope("layer").scope(i)
            let att = l.scope("attention")
            return EncoderLayer(
                query: try att.scope("self").scope("query").linear(in: h, out: h),
                key: try att.scope("self").scope("key").linear(in: h, out: h),
                value: try att.scope("self").scope("value").linear(in: h, out: h),
                attentionOutput: try att.scope("output").scope("dense").linear(in: h, out: h),
                attentionNorm: try att.scope("output").scope("LayerNorm").layerNorm(features: h, eps: config.layerNormEps),
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
        let config = try BertConfig.load(folder.appendingPathComponent("config.json"))
        try self.init(config: config, weights: try Checkpoint.open(in: folder), precision: precision, calibration: calibration)
    }

    /// Runs the encoder on a packed batch (validated by the caller with `TokenBatch.validate`) on the calling thread.
    /// Every token gets token type 0; positions restart at 0 in each sequence.
    /// - Returns: the last hidden states `[batch.tokenCount, hiddenSize]`, row-major, in the order of `batch.ids`;
    ///   the memory belongs to `workspace` and stays valid until its next use.
    public func forward(_ batch: TokenBatch, workspace ws: Workspace) -> UnsafeMutablePointer<Float> {
        forward(batch, workspace: ws, ranges: nil)
    }

    /// `forward(_:workspace:)`, recording every projection's input into `ranges` when given (calibration).
    func forward(_ batch: TokenBatch, workspace ws: Workspace, ranges: ProjectionInputRanges?) -> UnsafeMutablePointer<Float> {
        let h = config.hiddenSize, t = batch.tokenCount
        let x = ws.buffer(EncoderSlot.hidden, count: max(t, 1) * h)
        let word = wordEmbeddings.pointer, pos = positionEmbeddings.pointer
        batch.ids.withUnsafeBufferPointer { ids in
            for s in 0..<batch.count {
                let start = batch.offsets[s]
                for p in 0..<batch.length(s) {
                    let row = x + (start + p) * h, w = word + Int(ids[start + p]) * h, q = pos + p * h
                    for c in 0..<h { row[c] = w[c] + q[c] }
                }
            }
        }
        // Token type 0 for every token: its row is the LayerNorm's fused bias.
        embeddingNorm.apply(x, addBias: tokenTypeEmbeddings.pointer, rows: t, into: x)
        for (i, layer) in layers.enumerated() { layer.forward(x, batch: batch, bias: nil, workspace: ws, ranges: ranges, index: i) }
        return x
    }
}
