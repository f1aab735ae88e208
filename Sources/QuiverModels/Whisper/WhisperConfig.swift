import Foundation
import QuiverWeights

/// The dimensions of a Whisper model: Hugging Face `WhisperConfig` keys (`config.json` of
/// openai/whisper-*), or inferred from the tensor shapes of a CTranslate2 `model.bin`
/// (faster-whisper's `config.json` holds only decoding options).
public struct WhisperConfig: Decodable, Sendable, Equatable {
    /// Hidden width (384 tiny, 512 base, 768 small, 1024 medium, 1280 large).
    public var dModel: Int = 384
    /// Encoder blocks (`encoder_layers`: 4 tiny, 6 base, 12 small, 24 medium, 32 large).
    public var encoderLayers: Int = 4
    /// Attention heads per encoder block (`encoder_attention_heads`); `dModel` must be a multiple of it.
    public var encoderAttentionHeads: Int = 6
    /// Width of the encoder MLP (`encoder_ffn_dim`, 4 x `dModel`).
    public var encoderFFNDim: Int = 1536
    /// Decoder blocks (`decoder_layers`); 0 when a CTranslate2 checkpoint has no decoder.
    public var decoderLayers: Int = 4
    /// Attention heads per decoder block (`decoder_attention_heads`).
    public var decoderAttentionHeads: Int = 6
    /// Width of the decoder MLP (`decoder_ffn_dim`).
    public var decoderFFNDim: Int = 1536
    /// Mel bands of the input features (80; 128 for large-v3).
    public var numMelBins: Int = 80
    /// Encoder positions: 1500 frames of 20 ms (the conv stem halves the 3000 mel frames).
    public var maxSourcePositions: Int = 1500
    /// Decoder positions (448).
    public var maxTargetPositions: Int = 448
    /// Token ids of the decoder vocabulary (`vocab_size`: 51864 English-only, 51865 multilingual, 51866 large-v3).
    public var vocabSize: Int = 51865
    /// The `<|startoftranscript|>` id (50258 multilingual, 50257 English-only).
    public var decoderStartTokenID: Int = 50258
    /// `activation_function` ("gelu").
    public var activationFunction: String = "gelu"
    /// Multiply token embeddings by sqrt(d_model) (false for every released Whisper).
    public var scaleEmbedding: Bool = false

    enum CodingKeys: String, CodingKey {
        case dModel = "d_model", encoderLayers = "encoder_layers", encoderAttentionHeads = "encoder_attention_heads"
        case encoderFFNDim = "encoder_ffn_dim", decoderLayers = "decoder_layers", decoderAttentionHeads = "decoder_attention_heads"
        case decoderFFNDim = "decoder_ffn_dim", numMelBins = "num_mel_bins", maxSourcePositions = "max_source_positions"
        case maxTargetPositions = "max_target_positions", vocabSize = "vocab_size", decoderStartTokenID = "decoder_start_token_id"
        case activationFunction = "activation_function", scaleEmbedding = "scale_embedding"
    }

    /// The whisper-tiny dimensions (d_model 384, 4 + 4 layers, 6 heads, 80 mel bins).
    public init() {}

    /// Decodes the snake_case keys of a Hugging Face `config.json`; a missing key keeps its default.
    /// - Throws: `DecodingError` when a present key has the wrong type (``load(_:)`` turns it into `ModelsError.invalidConfig`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = WhisperConfig()
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? d.dModel
        encoderLayers = try c.decodeIfPresent(Int.self, forKey: .encoderLayers) ?? d.encoderLayers
        encoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .encoderAttentionHeads) ?? d.encoderAttentionHeads
        encoderFFNDim = try c.decodeIfPresent(Int.self, forKey: .encoderFFNDim) ?? d.encoderFFNDim
        decoderLayers = try c.decodeIfPresent(Int.self, forKey: .decoderLayers) ?? d.decoderLayers
        decoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .decoderAttentionHeads) ?? d.decoderAttentionHeads
        decoderFFNDim = try c.decodeIfPresent(Int.self, forKey: .decoderFFNDim) ?? d.decoderFFNDim
        numMelBins = try c.decodeIfPresent(Int.self, forKey: .numMelBins) ?? d.numMelBins
        maxSourcePositions = try c.decodeIfPresent(Int.self, forKey: .maxSourcePositions) ?? d.maxSourcePositions
        maxTargetPositions = try c.decodeIfPresent(Int.self, forKey: .maxTargetPositions) ?? d.maxTargetPositions
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        decoderStartTokenID = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenID) ?? d.decoderStartTokenID
        activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? d.activationFunction
        scaleEmbedding = try c.decodeIfPresent(Bool.self, forKey: .scaleEmbedding) ?? d.scaleEmbedding
    }

    /// Decodes a Hugging Face `config.json`.
    /// - Throws: `ModelsError.missingFile` / `.invalidConfig` naming the file and field.
    public static func load(_ url: URL) throws -> WhisperConfig { try decodeJSONFile(WhisperConfig.self, at: url) }

    /// The dimensions of a CTranslate2 Whisper model, read from its tensor shapes and its
    /// `encoder/num_heads` / `decoder/num_heads` scalars.
    /// - Throws: `WeightsError.missingTensor` naming the first tensor it needs and cannot find.
    public static func inferred(fromCTranslate2 source: WeightSource) throws -> WhisperConfig {
        var c = WhisperConfig()
        func shape(_ name: String) throws -> [Int] {
            guard let info = source.info(name) else { _ = try source.tensor(name); return [] }
            return info.shape
        }
        func scalar(_ name: String) throws -> Int { Int(try source.tensor(name).withValues { $0.first ?? 0 }) }
        let conv1 = try shape("encoder/conv1/weight")
        guard conv1.count == 3 else { throw ModelsError.invalidConfig(path: source.path, reason: "encoder/conv1/weight has shape \(conv1), expected [d_model, mels, 3]") }
        c.dModel = conv1[0]
        c.numMelBins = conv1[1]
        c.maxSourcePositions = try shape("encoder/position_encodings/encodings")[0]
        c.encoderLayers = Self.layerCount(source, prefix: "encoder/layer_")
        c.decoderLayers = Self.layerCount(source, prefix: "decoder/layer_")
        c.encoderAttentionHeads = try scalar("encoder/num_heads")
        c.encoderFFNDim = try shape("encoder/layer_0/ffn/linear_0/weight")[0]
        if source.info("decoder/embeddings/weight") != nil {
            c.decoderAttentionHeads = try scalar("decoder/num_heads")
            c.vocabSize = try shape("decoder/embeddings/weight")[0]
            c.maxTargetPositions = try shape("decoder/position_encodings/encodings")[0]
            c.decoderFFNDim = c.decoderLayers > 0 ? try shape("decoder/layer_0/ffn/linear_0/weight")[0] : c.encoderFFNDim
        } else {
            c.decoderLayers = 0
        }
        // As openai-whisper decides: English-only vocabularies have 51864 entries, their
        // <|startoftranscript|> is 50257; multilingual ones (51865, 51866) use 50258.
        c.decoderStartTokenID = c.vocabSize >= 51865 ? 50258 : 50257
        return c
    }

    static func layerCount(_ source: WeightSource, prefix: String) -> Int {
        var n = 0
        let names = Set(source.names.compactMap { name -> Int? in
            guard name.hasPrefix(prefix) else { return nil }
            return Int(name.dropFirst(prefix.count).prefix { $0.isNumber })
        })
        while names.contains(n) { n += 1 }
        return n
    }

    /// Checks the values the forward pass relies on.
    func validate(path: String) throws {
        guard activationFunction == "gelu" else {
            throw ModelsError.unsupported(path: path, feature: "activation_function '\(activationFunction)' (only 'gelu')")
        }
        for (name, width, heads) in [("encoder", dModel, encoderAttentionHeads), ("decoder", dModel, decoderAttentionHeads)] {
            guard heads > 0, width % heads == 0 else {
                throw ModelsError.invalidConfig(path: path, reason: "d_model \(width) is not a multiple of \(name)_attention_heads \(heads)")
            }
        }
        guard dModel > 0, numMelBins > 0, maxSourcePositions > 0, encoderLayers >= 0, encoderFFNDim > 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "sizes must be positive")
        }
    }
}
