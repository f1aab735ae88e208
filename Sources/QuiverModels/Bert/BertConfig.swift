import Foundation
import QuiverTensor

/// A BERT configuration (`config.json` of Hugging Face `BertModel` checkpoints: all-MiniLM-L6-v2,
/// BGE, E5, GTE...). Missing keys take the `BertConfig` defaults of transformers.
public struct BertConfig: Decodable, Sendable, Equatable {
    /// Number of token ids (`vocab_size`); rows of `embeddings.word_embeddings.weight`.
    public var vocabSize: Int = 30522
    /// Width of the token states (`hidden_size`); must be a multiple of `numAttentionHeads`.
    public var hiddenSize: Int = 768
    /// Number of encoder layers (`num_hidden_layers`: 6 for MiniLM-L6, 12 for base models).
    public var numHiddenLayers: Int = 12
    /// Attention heads per layer (`num_attention_heads`); each head is `hiddenSize / numAttentionHeads` wide.
    public var numAttentionHeads: Int = 12
    /// Width of the feed-forward layer inside each encoder layer (`intermediate_size`).
    public var intermediateSize: Int = 3072
    /// `hidden_act` name ("gelu" = erf GELU).
    public var hiddenAct: String = "gelu"
    /// Rows of the absolute position table (`max_position_embeddings`): the longest sequence in tokens.
    public var maxPositionEmbeddings: Int = 512
    /// Rows of the token type table (`type_vocab_size`); only type 0 is used.
    public var typeVocabSize: Int = 2
    /// Epsilon added to the variance in every LayerNorm (`layer_norm_eps`).
    public var layerNormEps: Float = 1e-12
    /// Only "absolute" is supported.
    public var positionEmbeddingType: String = "absolute"
    /// The padding id (`pad_token_id`). Read for completeness; the forward pass packs sequences without padding and does not use it.
    public var padTokenId: Int = 0

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act", maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size", layerNormEps = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type", padTokenId = "pad_token_id"
    }

    /// The transformers defaults (bert-base: 12 layers, 768 wide, 12 heads).
    public init() {}

    /// Decodes the snake_case keys of `config.json`; a missing key keeps its default, unknown keys are ignored.
    /// - Throws: `DecodingError` when a present key has the wrong type (``load(_:)`` turns it into `ModelsError.invalidConfig`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BertConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? d.typeVocabSize
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? d.positionEmbeddingType
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? d.padTokenId
    }

    /// Decodes `config.json`.
    /// - Throws: `ModelsError.missingFile` / `.invalidConfig` naming the file and field.
    public static func load(_ url: URL) throws -> BertConfig { try decodeJSONFile(BertConfig.self, at: url) }

    /// Checks the values the forward pass relies on.
    func validate(path: String) throws {
        guard positionEmbeddingType == "absolute" else {
            throw ModelsError.unsupported(path: path, feature: "position_embedding_type '\(positionEmbeddingType)' (only 'absolute')")
        }
        guard Activation(huggingFaceName: hiddenAct) != nil else {
            throw ModelsError.unsupported(path: path, feature: "hidden_act '\(hiddenAct)'")
        }
        guard numAttentionHeads > 0, hiddenSize > 0, hiddenSize % numAttentionHeads == 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
        }
        guard vocabSize > 0, maxPositionEmbeddings > 0, typeVocabSize > 0, intermediateSize > 0, numHiddenLayers >= 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "sizes must be positive")
        }
    }
}
