import Foundation
import QuiverTensor

/// A Hugging Face `PerceiverConfig` (`config.json` with `model_type` "perceiver") as
/// `PerceiverForMultimodalAutoencoding` (deepmind/multimodal-perceiver) uses it. A missing key takes
/// transformers' default.
///
/// The multimodal model also has settings that transformers fixes in code rather than in the
/// configuration; they are the static constants of this type (``audioFourierBands`` and the others)
/// and are checked against the checkpoint's tensor shapes when the weights are bound.
public struct PerceiverConfig: Decodable, Sendable, Equatable {
    /// Rows of the latent array (`num_latents`; the hub model: 784).
    public var numLatents = 256
    /// Width of each latent (`d_latents`; the hub model: 512); also the embedding's width.
    public var dLatents = 1280
    /// Times the block of latent self-attention layers runs, with the same weights (`num_blocks`).
    public var numBlocks = 1
    /// Latent self-attention layers in the block (`num_self_attends_per_block`).
    public var numSelfAttendsPerBlock = 26
    /// Heads of each latent self-attention layer (`num_self_attention_heads`).
    public var numSelfAttentionHeads = 8
    /// Heads of the input-to-latent cross-attention (`num_cross_attention_heads`).
    public var numCrossAttentionHeads = 8
    /// Width of queries and keys (`qk_channels`); nil: the keys' input width (cross-attention with
    /// `cross_attention_shape_for_attention` "kv") or `dLatents` (self-attention, and "q").
    public var qkChannels: Int?
    /// Width of values (`v_channels`); nil: the query/key width.
    public var vChannels: Int?
    /// "kv" or "q": which side sets the query/key width of the cross-attention when `qk_channels` is nil.
    public var crossAttentionShapeForAttention = "kv"
    /// MLP width of the self-attention layers as a multiple of `dLatents` (`self_attention_widening_factor`).
    public var selfAttentionWideningFactor = 1
    /// MLP width of the cross-attention layer as a multiple of `dLatents` (`cross_attention_widening_factor`).
    public var crossAttentionWideningFactor = 1
    /// MLP activation (`hidden_act`, "gelu": the erf form).
    public var hiddenAct = "gelu"
    /// Adds the latents to the cross-attention output (`use_query_residual`).
    public var useQueryResidual = true
    /// Resolution of the image position features along y and x (`image_size`; the hub model keeps
    /// the default 56: one position per 4x4 patch of its 224x224 frames). Not the frame size: that
    /// is ``frameSize`` (from `output_shape`).
    public var imageSize = 56
    /// Shape of the reconstructed video `[batch, frames, height, width]` (`output_shape`; the hub
    /// model: [1, 16, 224, 224]); its height and width are the frame size the model was trained on.
    public var outputShape = [1, 16, 224, 224]
    /// Frames per clip (`num_frames`, 16).
    public var numFrames = 16
    /// Audio samples per video frame (`audio_samples_per_frame`, 1920: 48 kHz at 25 frames/s).
    public var audioSamplesPerFrame = 1920
    /// Audio samples per input patch (`samples_per_patch`, 16).
    public var samplesPerPatch = 16
    /// Classes of the label modality (`num_labels`, else the size of `id2label`; the hub model: 700).
    public var numLabels = 2

    enum CodingKeys: String, CodingKey {
        case numLatents = "num_latents", dLatents = "d_latents", numBlocks = "num_blocks"
        case numSelfAttendsPerBlock = "num_self_attends_per_block", numSelfAttentionHeads = "num_self_attention_heads"
        case numCrossAttentionHeads = "num_cross_attention_heads", qkChannels = "qk_channels", vChannels = "v_channels"
        case crossAttentionShapeForAttention = "cross_attention_shape_for_attention"
        case selfAttentionWideningFactor = "self_attention_widening_factor"
        case crossAttentionWideningFactor = "cross_attention_widening_factor"
        case hiddenAct = "hidden_act", useQueryResidual = "use_query_residual", imageSize = "image_size"
        case numFrames = "num_frames", audioSamplesPerFrame = "audio_samples_per_frame", samplesPerPatch = "samples_per_patch"
        case numLabels = "num_labels", id2label, outputShape = "output_shape"
    }

    /// transformers' `PerceiverConfig()` defaults.
    public init() {}

    /// Decodes the snake_case keys of `config.json`; a missing key keeps its default.
    /// - Throws: `DecodingError` when a present key has the wrong type (``load(_:)`` turns it into `ModelsError.invalidConfig`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PerceiverConfig()
        numLatents = try c.decodeIfPresent(Int.self, forKey: .numLatents) ?? d.numLatents
        dLatents = try c.decodeIfPresent(Int.self, forKey: .dLatents) ?? d.dLatents
        numBlocks = try c.decodeIfPresent(Int.self, forKey: .numBlocks) ?? d.numBlocks
        numSelfAttendsPerBlock = try c.decodeIfPresent(Int.self, forKey: .numSelfAttendsPerBlock) ?? d.numSelfAttendsPerBlock
        numSelfAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numSelfAttentionHeads) ?? d.numSelfAttentionHeads
        numCrossAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numCrossAttentionHeads) ?? d.numCrossAttentionHeads
        qkChannels = try c.decodeIfPresent(Int.self, forKey: .qkChannels)
        vChannels = try c.decodeIfPresent(Int.self, forKey: .vChannels)
        crossAttentionShapeForAttention = try c.decodeIfPresent(String.self, forKey: .crossAttentionShapeForAttention)
            ?? d.crossAttentionShapeForAttention
        selfAttentionWideningFactor = try c.decodeIfPresent(Int.self, forKey: .selfAttentionWideningFactor) ?? d.selfAttentionWideningFactor
        crossAttentionWideningFactor = try c.decodeIfPresent(Int.self, forKey: .crossAttentionWideningFactor) ?? d.crossAttentionWideningFactor
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        useQueryResidual = try c.decodeIfPresent(Bool.self, forKey: .useQueryResidual) ?? d.useQueryResidual
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        numFrames = try c.decodeIfPresent(Int.self, forKey: .numFrames) ?? d.numFrames
        audioSamplesPerFrame = try c.decodeIfPresent(Int.self, forKey: .audioSamplesPerFrame) ?? d.audioSamplesPerFrame
        samplesPerPatch = try c.decodeIfPresent(Int.self, forKey: .samplesPerPatch) ?? d.samplesPerPatch
        outputShape = try c.decodeIfPresent([Int].self, forKey: .outputShape) ?? d.outputShape
        if let n = try c.decodeIfPresent(Int.self, forKey: .numLabels) {
            numLabels = n
        } else if let labels = try c.decodeIfPresent([String: String].self, forKey: .id2label) {
            numLabels = labels.count
        }
    }

    /// Decodes `config.json`.
    /// - Throws: `ModelsError.missingFile` / `.invalidConfig` naming the file and field.
    public static func load(_ url: URL) throws -> PerceiverConfig { try decodeJSONFile(PerceiverConfig.self, at: url) }

    // MARK: fixed by PerceiverForMultimodalAutoencoding (transformers code, not config.json)

    /// Fourier frequency bands of the audio position features (192).
    public static let audioFourierBands = 192
    /// Fourier frequency bands per axis of the image position features (32).
    public static let imageFourierBands = 32
    /// Pixels per side of a square image patch (space-to-depth `spatial_downsample`, 4).
    public static let spatialDownsample = 4
    /// Frames per image patch (`temporal_downsample`, 1).
    public static let temporalDownsample = 1
    /// Channels of trainable padding every modality gets at least (`min_padding_size`, 4).
    public static let minPaddingSize = 4

    /// Side of the square frames in pixels the model was trained on (`output_shape[2]`, 224 for
    /// the hub model; transformers' preprocessor takes the frames as given, 4x4 pixels per patch).
    public var frameSize: Int { outputShape.count == 4 ? outputShape[2] : imageSize * Self.spatialDownsample }

    /// Audio samples of a trained clip (`num_frames * audio_samples_per_frame`, 30720), also the
    /// audio position features' resolution.
    public var audioSamplesPerClip: Int { numFrames * audioSamplesPerFrame }

    /// Channels of one audio input row: the samples of a patch, its position and
    /// 2 x 192 Fourier features.
    public var audioChannels: Int { samplesPerPatch + 1 + 2 * Self.audioFourierBands }
    /// Channels of one image input row: a 4x4 patch of 3 colours, its (t, y, x) position and
    /// 2 x 3 x 32 Fourier features.
    public var imageChannels: Int {
        3 * Self.spatialDownsample * Self.spatialDownsample * Self.temporalDownsample + 3 + 2 * 3 * Self.imageFourierBands
    }
    /// Channels of every input row after padding: the widest modality plus `minPaddingSize`
    /// (the hub model: 704).
    public var inputChannels: Int { max(audioChannels, imageChannels, numLabels) + Self.minPaddingSize }

    /// Query/key width of the cross-attention.
    public var crossQKChannels: Int { qkChannels ?? (crossAttentionShapeForAttention == "q" ? dLatents : inputChannels) }
    /// Value width of the cross-attention.
    public var crossVChannels: Int { vChannels ?? crossQKChannels }
    /// Query/key width of the latent self-attention.
    public var selfQKChannels: Int { qkChannels ?? dLatents }
    /// Value width of the latent self-attention.
    public var selfVChannels: Int { vChannels ?? selfQKChannels }

    func validate(path: String) throws {
        guard Activation(huggingFaceName: hiddenAct) != nil else {
            throw ModelsError.unsupported(path: path, feature: "hidden_act '\(hiddenAct)'")
        }
        guard ["kv", "q"].contains(crossAttentionShapeForAttention) else {
            throw ModelsError.invalidConfig(path: path, reason: "cross_attention_shape_for_attention is '\(crossAttentionShapeForAttention)', expected \"kv\" or \"q\"")
        }
        let positive: [(String, Int)] = [
            ("num_latents", numLatents), ("d_latents", dLatents), ("num_blocks", numBlocks),
            ("num_self_attention_heads", numSelfAttentionHeads), ("num_cross_attention_heads", numCrossAttentionHeads),
            ("self_attention_widening_factor", selfAttentionWideningFactor),
            ("cross_attention_widening_factor", crossAttentionWideningFactor), ("image_size", imageSize),
            ("num_frames", numFrames), ("audio_samples_per_frame", audioSamplesPerFrame),
            ("samples_per_patch", samplesPerPatch), ("num_labels", numLabels),
        ]
        for (key, value) in positive where value <= 0 {
            throw ModelsError.invalidConfig(path: path, reason: "\(key) is \(value), it must be positive")
        }
        guard numSelfAttendsPerBlock >= 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "num_self_attends_per_block is \(numSelfAttendsPerBlock), it must not be negative")
        }
        let heads: [(String, Int, Int)] = [
            ("cross-attention query/key channels", crossQKChannels, numCrossAttentionHeads),
            ("cross-attention value channels", crossVChannels, numCrossAttentionHeads),
            ("self-attention query/key channels", selfQKChannels, numSelfAttentionHeads),
            ("self-attention value channels", selfVChannels, numSelfAttentionHeads),
            ("d_latents (cross-attention heads)", dLatents, numCrossAttentionHeads),
            ("d_latents (self-attention heads)", dLatents, numSelfAttentionHeads),
        ]
        for (what, channels, n) in heads where channels <= 0 || channels % n != 0 {
            throw ModelsError.invalidConfig(path: path, reason: "\(what) \(channels) is not a positive multiple of \(n) heads")
        }
        guard selfVChannels == dLatents else {
            throw ModelsError.unsupported(path: path, feature: "v_channels \(selfVChannels) different from d_latents \(dLatents) (the self-attention residual needs them equal)")
        }
        guard outputShape.count == 4, outputShape[2] == outputShape[3], frameSize % Self.spatialDownsample == 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "output_shape \(outputShape) must be [batch, frames, height, width] with square frames whose side is a multiple of \(Self.spatialDownsample)")
        }
        guard audioSamplesPerClip % samplesPerPatch == 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "num_frames * audio_samples_per_frame \(audioSamplesPerClip) a multiple of samples_per_patch \(samplesPerPatch)")
        }
    }
}
