import Foundation
import QuiverTensor

/// A Hugging Face `CLIPConfig` (`config.json` with `model_type` "clip": openai/clip-vit-base-patch32,
/// clip-vit-large-patch14...). Missing keys take transformers' defaults (ViT-B/32).
public struct CLIPConfig: Decodable, Sendable, Equatable {
    /// The text transformer.
    public struct Text: Decodable, Sendable, Equatable {
        /// Number of token ids (`vocab_size`, 49408 for the OpenAI BPE vocabulary).
        public var vocabSize = 49408
        /// Width of the text token states (`hidden_size`); a multiple of `numAttentionHeads`.
        public var hiddenSize = 512
        /// Width of the MLP inside each text layer (`intermediate_size`).
        public var intermediateSize = 2048
        /// Number of text transformer layers (`num_hidden_layers`).
        public var numHiddenLayers = 12
        /// Attention heads per text layer (`num_attention_heads`).
        public var numAttentionHeads = 8
        /// Context length in tokens (`max_position_embeddings`, 77), start and end tokens included; longer inputs are rejected.
        public var maxPositionEmbeddings = 77
        /// MLP activation of the text layers (`hidden_act`, "quick_gelu": `x * sigmoid(1.702 x)`).
        public var hiddenAct = "quick_gelu"
        /// Epsilon of the text tower's LayerNorms (`layer_norm_eps`).
        public var layerNormEps: Float = 1e-5
        /// Pooling takes the first position of this id (or, when it is 2 as in old configs, the
        /// position of the largest id), as transformers does.
        public var eosTokenId = 49407

        enum CodingKeys: String, CodingKey {
            case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
            case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
            case maxPositionEmbeddings = "max_position_embeddings", hiddenAct = "hidden_act"
            case layerNormEps = "layer_norm_eps", eosTokenId = "eos_token_id"
        }

        /// The transformers defaults (the ViT-B/32 text tower).
        public init() {}

        /// Decodes the snake_case keys of `text_config`; a missing key keeps its default.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Text()
            vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
            hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
            intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
            numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
            numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
            maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
            hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
            layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
            eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? d.eosTokenId
        }
    }

    /// The vision transformer (ViT).
    public struct Vision: Decodable, Sendable, Equatable {
        /// Width of the patch token states (`hidden_size`); a multiple of `numAttentionHeads`.
        public var hiddenSize = 768
        /// Width of the MLP inside each vision layer (`intermediate_size`).
        public var intermediateSize = 3072
        /// Number of vision transformer layers (`num_hidden_layers`).
        public var numHiddenLayers = 12
        /// Attention heads per vision layer (`num_attention_heads`).
        public var numAttentionHeads = 12
        /// Input channels (`num_channels`, 3 for RGB).
        public var numChannels = 3
        /// Side of the square input in pixels (`image_size`); a multiple of `patchSize`.
        public var imageSize = 224
        /// Side of each square patch in pixels (`patch_size`: 32 for ViT-B/32, 14 for ViT-L/14).
        public var patchSize = 32
        /// MLP activation of the vision layers (`hidden_act`, "quick_gelu").
        public var hiddenAct = "quick_gelu"
        /// Epsilon of the vision tower's LayerNorms (`layer_norm_eps`).
        public var layerNormEps: Float = 1e-5

        enum CodingKeys: String, CodingKey {
            case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", numHiddenLayers = "num_hidden_layers"
            case numAttentionHeads = "num_attention_heads", numChannels = "num_channels", imageSize = "image_size"
            case patchSize = "patch_size", hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
        }

        /// The transformers defaults (the ViT-B/32 vision tower: 224 px, 32 px patches, 50 tokens).
        public init() {}

        /// Decodes the snake_case keys of `vision_config`; a missing key keeps its default.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Vision()
            hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
            intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
            numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
            numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
            numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? d.numChannels
            imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
            patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
            hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
            layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        }

        /// Patches per side.
        public var gridSize: Int { imageSize / patchSize }
        /// Tokens per image: one per patch plus the class token.
        public var tokenCount: Int { gridSize * gridSize + 1 }
    }

    /// The text tower (`text_config`).
    public var text = Text()
    /// The vision tower (`vision_config`).
    public var vision = Vision()
    /// Width of the shared embedding space.
    public var projectionDim = 512

    enum CodingKeys: String, CodingKey {
        case text = "text_config", vision = "vision_config", projectionDim = "projection_dim"
    }

    /// The ViT-B/32 configuration (same as ``vitB32``).
    public init() {}

    /// Decodes `text_config`, `vision_config` and `projection_dim`; missing parts keep the ViT-B/32 defaults.
    /// - Throws: `DecodingError` when a present key has the wrong type (``load(_:)`` turns it into `ModelsError.invalidConfig`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decodeIfPresent(Text.self, forKey: .text) ?? Text()
        vision = try c.decodeIfPresent(Vision.self, forKey: .vision) ?? Vision()
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? 512
    }

    /// openai/clip-vit-base-patch32.
    public static let vitB32 = CLIPConfig()

    /// openai/clip-vit-large-patch14 (224 px).
    public static let vitL14: CLIPConfig = {
        var c = CLIPConfig()
        c.projectionDim = 768
        c.text.hiddenSize = 768; c.text.intermediateSize = 3072; c.text.numAttentionHeads = 12
        c.vision.hiddenSize = 1024; c.vision.intermediateSize = 4096; c.vision.numHiddenLayers = 24
        c.vision.numAttentionHeads = 16; c.vision.patchSize = 14
        return c
    }()

    /// Decodes `config.json`.
    /// - Throws: `ModelsError.missingFile` / `.invalidConfig` naming the file and field.
    public static func load(_ url: URL) throws -> CLIPConfig { try decodeJSONFile(CLIPConfig.self, at: url) }

    func validate(path: String) throws {
        for (tower, act, h, heads) in [("text_config", text.hiddenAct, text.hiddenSize, text.numAttentionHeads),
                                       ("vision_config", vision.hiddenAct, vision.hiddenSize, vision.numAttentionHeads)] {
            guard Activation(huggingFaceName: act) != nil else {
                throw ModelsError.unsupported(path: path, feature: "\(tower).hidden_act '\(act)'")
            }
            guard heads > 0, h > 0, h % heads == 0 else {
                throw ModelsError.invalidConfig(path: path, reason: "\(tower).hidden_size \(h) is not a multiple of num_attention_heads \(heads)")
            }
        }
        guard vision.patchSize > 0, vision.imageSize >= vision.patchSize, vision.imageSize % vision.patchSize == 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "vision_config.image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
        }
        guard projectionDim > 0, text.vocabSize > 0, text.maxPositionEmbeddings > 0, text.intermediateSize > 0,
              vision.intermediateSize > 0, vision.numChannels > 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "sizes must be positive")
        }
    }
}
