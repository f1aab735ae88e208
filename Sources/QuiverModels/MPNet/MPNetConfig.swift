import Foundation
import QuiverTensor

/// An MPNet configuration (`config.json` of Hugging Face MPNet checkpoints such as
/// all-mpnet-base-v2). Missing keys take the `MPNetConfig` defaults of transformers.
public struct MPNetConfig: Decodable, Sendable, Equatable {
    /// Number of token ids (`vocab_size`); rows of `embeddings.word_embeddings.weight`.
    public var vocabSize: Int = 30527
    /// Width of the token states (`hidden_size`); must be a multiple of `numAttentionHeads`.
    public var hiddenSize: Int = 768
    /// Number of encoder layers (`num_hidden_layers`).
    public var numHiddenLayers: Int = 12
    /// Attention heads per layer (`num_attention_heads`); each head is `hiddenSize / numAttentionHeads` wide.
    public var numAttentionHeads: Int = 12
    /// Width of the feed-forward layer inside each encoder layer (`intermediate_size`).
    public var intermediateSize: Int = 3072
    /// Feed-forward activation (`hidden_act`): "gelu" is the erf GELU, "gelu_new" the tanh one; also "relu",
    /// "silu", "quick_gelu". Others are rejected with `ModelsError.unsupported`.
    public var hiddenAct: String = "gelu"
    /// Rows of the position table (`max_position_embeddings`), including the `pad_token_id + 1` rows before the first position.
    public var maxPositionEmbeddings: Int = 514
    /// Epsilon added to the variance in every LayerNorm (`layer_norm_eps`).
    public var layerNormEps: Float = 1e-12
    /// Buckets of the relative-position attention bias (`relative_attention_num_buckets`); an even number of at least 4.
    public var relativeAttentionNumBuckets: Int = 32
    /// Positions start after the padding id (fairseq convention): token k (0-based) uses position `pad + 1 + k`.
    public var padTokenId: Int = 1

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act", maxPositionEmbeddings = "max_position_embeddings"
        case layerNormEps = "layer_norm_eps", relativeAttentionNumBuckets = "relative_attention_num_buckets"
        case padTokenId = "pad_token_id"
    }

    /// The transformers defaults (the all-mpnet-base-v2 / mpnet-base dimensions).
    public init() {}

    /// Decodes the snake_case keys of `config.json`; a missing key keeps its default, unknown keys are ignored.
    /// - Throws: `DecodingError` when a present key has the wrong type (``load(_:)`` turns it into `ModelsError.invalidConfig`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = MPNetConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        relativeAttentionNumBuckets = try c.decodeIfPresent(Int.self, forKey: .relativeAttentionNumBuckets) ?? d.relativeAttentionNumBuckets
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? d.padTokenId
    }

    /// Decodes `config.json`.
    /// - Throws: `ModelsError.missingFile` / `.invalidConfig` naming the file and field.
    public static func load(_ url: URL) throws -> MPNetConfig { try decodeJSONFile(MPNetConfig.self, at: url) }

    func validate(path: String) throws {
        guard Activation(huggingFaceName: hiddenAct) != nil else {
            throw ModelsError.unsupported(path: path, feature: "hidden_act '\(hiddenAct)'")
        }
        guard numAttentionHeads > 0, hiddenSize > 0, hiddenSize % numAttentionHeads == 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        }
        guard relativeAttentionNumBuckets >= 4, relativeAttentionNumBuckets % 2 == 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "relative_attention_num_buckets must be an even number >= 4")
        }
        guard padTokenId >= 0, maxPositionEmbeddings > padTokenId + 1 else {
            throw ModelsError.invalidConfig(path: path, reason: "max_position_embeddings \(maxPositionEmbeddings) leaves no positions after pad_token_id \(padTokenId)")
        }
    }
}
