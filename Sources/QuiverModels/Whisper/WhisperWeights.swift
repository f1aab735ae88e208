import Foundation
import QuiverTensor
import QuiverWeights

/// The two checkpoint layouts of Whisper that Quiver reads.
public enum WhisperLayout: String, Sendable, Equatable {
    /// Hugging Face transformers (`model.encoder.layers.N.self_attn.q_proj.weight`..., separate
    /// Q/K/V with no K bias), `model.safetensors` + `config.json` (openai/whisper-*).
    case huggingFace
    /// CTranslate2 (`encoder/layer_N/self_attention/linear_0/weight` with fused QKV, layer norms as
    /// `gamma`/`beta`), faster-whisper's `model.bin`.
    case ctranslate2
}

/// Weights of the Whisper encoder, bound from either layout.
struct WhisperEncoderWeights: Sendable {
    let conv1: WhisperConv1D
    let conv2: WhisperConv1D
    /// `[maxSourcePositions, d]`.
    let positions: Tensor
    let layers: [WhisperEncoderLayer]
    let finalNorm: LayerNorm
}

/// Weights of the Whisper decoder (for the seed-decoder pooling).
struct WhisperDecoderWeights: Sendable {
    /// `[vocab, d]`.
    let tokenEmbeddings: Tensor
    /// `[maxTargetPositions, d]`.
    let positions: Tensor
    let layers: [WhisperDecoderLayer]
    let finalNorm: LayerNorm
}

/// Binds tensors by full name with shape checks (names differ too much between the layouts for
/// `WeightScope`'s dotted prefixes).
private struct Binder {
    let loader: WeightLoader
    static let eps: Float = 1e-5

    func tensor(_ name: String, _ shape: [Int]) throws -> Tensor { try loader.take(name, shape: shape).tensor }
    func optional(_ name: String, _ shape: [Int]) throws -> Tensor? { loader.has(name) ? try tensor(name, shape) : nil }
    func linear(_ prefix: String, in i: Int, out o: Int, optionalBias: Bool = false) throws -> Linear {
        Linear(weight: try tensor(prefix + "weight", [o, i]),
               bias: optionalBias ? try optional(prefix + "bias", [o]) : try tensor(prefix + "bias", [o]))
    }
    func norm(_ prefix: String, _ d: Int, ct2: Bool) throws -> LayerNorm {
        LayerNorm(weight: try tensor(prefix + (ct2 ? "gamma" : "weight"), [d]), bias: try tensor(prefix + (ct2 ? "beta" : "bias"), [d]),
                  features: d, eps: Self.eps)
    }
    func conv(_ prefix: String, in i: Int, out o: Int, stride: Int) throws -> WhisperConv1D {
        WhisperConv1D(weight: try tensor(prefix + "weight", [o, i, 3]), bias: try tensor(prefix + "bias", [o]), stride: stride)
    }
    /// A scalar CTranslate2 variable (`num_heads`, `pre_norm`...).
    func scalar(_ name: String) throws -> Float { try loader.take(name, shape: nil).withValues { $0.first ?? .nan } }
}

/// Whisper's sinusoidal position table `[length, channels]`: sin in the first half, cos in the
/// second, timescales from 1 to 10000 (openai-whisper `sinusoids`, what transformers initializes
/// `embed_positions` with).
func whisperSinusoids(length: Int, channels: Int) -> Tensor {
    let t = Tensor(zeros: [length, channels])
    let half = channels / 2
    let increment = log(10000.0) / Double(max(half - 1, 1))
    for p in 0..<length {
        for i in 0..<half {
            let angle = Double(p) * exp(-increment * Double(i))
            t.mutablePointer[p * channels + i] = Float(sin(angle))
            t.mutablePointer[p * channels + half + i] = Float(cos(angle))
        }
    }
    return t
}

extension WhisperEncoderWeights {
    static func bind(_ loader: WeightLoader, layout: WhisperLayout, prefix: String, config c: WhisperConfig) throws -> WhisperEncoderWeights {
        let b = Binder(loader: loader), d = c.dModel, ffn = c.encoderFFNDim
        switch layout {
        case .huggingFace:
            let e = prefix + "encoder."
            let positions = try b.optional(e + "embed_positions.weight", [c.maxSourcePositions, d])
                ?? whisperSinusoids(length: c.maxSourcePositions, channels: d)
            return WhisperEncoderWeights(
                conv1: try b.conv(e + "conv1.", in: c.numMelBins, out: d, stride: 1),
                conv2: try b.conv(e + "conv2.", in: d, out: d, stride: 2),
                positions: positions,
                layers: try (0..<c.encoderLayers).map { i in
                    let l = e + "layers.\(i)."
                    return WhisperEncoderLayer(
                        attentionNorm: try b.norm(l + "self_attn_layer_norm.", d, ct2: false),
                        qkv: FusedProjection(parts: [try b.linear(l + "self_attn.q_proj.", in: d, out: d),
                                                     try b.linear(l + "self_attn.k_proj.", in: d, out: d, optionalBias: true),
                                                     try b.linear(l + "self_attn.v_proj.", in: d, out: d)]),
                        attentionOutput: try b.linear(l + "self_attn.out_proj.", in: d, out: d),
                        mlpNorm: try b.norm(l + "final_layer_norm.", d, ct2: false),
                        fc1: try b.linear(l + "fc1.", in: d, out: ffn),
                        fc2: try b.linear(l + "fc2.", in: ffn, out: d))
                },
                finalNorm: try b.norm(e + "layer_norm.", d, ct2: false))
        case .ctranslate2:
            let heads = try b.scalar("encoder/num_heads")
            guard Int(heads) == c.encoderAttentionHeads else {
                throw ModelsError.invalidConfig(path: loader.source.path, reason: "encoder/num_heads is \(heads), expected \(c.encoderAttentionHeads)")
            }
            return WhisperEncoderWeights(
                conv1: try b.conv("encoder/conv1/", in: c.numMelBins, out: d, stride: 1),
                conv2: try b.conv("encoder/conv2/", in: d, out: d, stride: 2),
                positions: try b.tensor("encoder/position_encodings/encodings", [c.maxSourcePositions, d]),
                layers: try (0..<c.encoderLayers).map { i in
                    let l = "encoder/layer_\(i)/"
                    return WhisperEncoderLayer(
                        attentionNorm: try b.norm(l + "self_attention/layer_norm/", d, ct2: true),
                        qkv: FusedProjection(parts: [try b.linear(l + "self_attention/linear_0/", in: d, out: 3 * d)]),
                        attentionOutput: try b.linear(l + "self_attention/linear_1/", in: d, out: d),
                        mlpNorm: try b.norm(l + "ffn/layer_norm/", d, ct2: true),
                        fc1: try b.linear(l + "ffn/linear_0/", in: d, out: ffn),
                        fc2: try b.linear(l + "ffn/linear_1/", in: ffn, out: d))
                },
                finalNorm: try b.norm("encoder/layer_norm/", d, ct2: true))
        }
    }
}

extension WhisperDecoderWeights {
    static func bind(_ loader: WeightLoader, layout: WhisperLayout, prefix: String, config c: WhisperConfig) throws -> WhisperDecoderWeights {
        let b = Binder(loader: loader), d = c.dModel, ffn = c.decoderFFNDim
        switch layout {
        case .huggingFace:
            let e = prefix + "decoder."
            return WhisperDecoderWeights(
                tokenEmbeddings: try b.tensor(e + "embed_tokens.weight", [c.vocabSize, d]),
                positions: try b.tensor(e + "embed_positions.weight", [c.maxTargetPositions, d]),
                layers: try (0..<c.decoderLayers).map { i in
                    let l = e + "layers.\(i)."
                    return WhisperDecoderLayer(
                        selfNorm: try b.norm(l + "self_attn_layer_norm.", d, ct2: false),
                        selfQKV: FusedProjection(parts: [try b.linear(l + "self_attn.q_proj.", in: d, out: d),
                                                         try b.linear(l + "self_attn.k_proj.", in: d, out: d, optionalBias: true),
                                                         try b.linear(l + "self_attn.v_proj.", in: d, out: d)]),
                        selfOutput: try b.linear(l + "self_attn.out_proj.", in: d, out: d),
                        crossNorm: try b.norm(l + "encoder_attn_layer_norm.", d, ct2: false),
                        crossQuery: try b.linear(l + "encoder_attn.q_proj.", in: d, out: d),
                        crossKV: FusedProjection(parts: [try b.linear(l + "encoder_attn.k_proj.", in: d, out: d, optionalBias: true),
                                                         try b.linear(l + "encoder_attn.v_proj.", in: d, out: d)]),
                        crossOutput: try b.linear(l + "encoder_attn.out_proj.", in: d, out: d),
                        mlpNorm: try b.norm(l + "final_layer_norm.", d, ct2: false),
                        fc1: try b.linear(l + "fc1.", in: d, out: ffn),
                        fc2: try b.linear(l + "fc2.", in: ffn, out: d))
                },
                finalNorm: try b.norm(e + "layer_norm.", d, ct2: false))
        case .ctranslate2:
            let path = loader.source.path
            func expect(_ name: String, _ value: Float, _ what: String) throws {
                let v = try b.scalar(name)
                guard v == value else { throw ModelsError.unsupported(path: path, feature: "\(name) = \(v) (\(what))") }
            }
            try expect("decoder/num_heads", Float(c.decoderAttentionHeads), "expected \(c.decoderAttentionHeads) heads")
            try expect("decoder/pre_norm", 1, "only pre-LayerNorm decoders")
            try expect("decoder/activation", 3, "only GELU")
            try expect("decoder/alibi", 0, "ALiBi is not Whisper's")
            try expect("decoder/scale_embeddings", 0, "Whisper does not scale embeddings")
            try expect("decoder/start_from_zero_embedding", 0, "Whisper does not start from a zero embedding")
            // Alignment heads only serve word timestamps.
            for n in ["decoder/alignment_heads", "decoder/alignment_layer"] where loader.has(n) { loader.markUsed(n) }
            return WhisperDecoderWeights(
                tokenEmbeddings: try b.tensor("decoder/embeddings/weight", [c.vocabSize, d]),
                positions: try b.tensor("decoder/position_encodings/encodings", [c.maxTargetPositions, d]),
                layers: try (0..<c.decoderLayers).map { i in
                    let l = "decoder/layer_\(i)/"
                    return WhisperDecoderLayer(
                        selfNorm: try b.norm(l + "self_attention/layer_norm/", d, ct2: true),
                        selfQKV: FusedProjection(parts: [try b.linear(l + "self_attention/linear_0/", in: d, out: 3 * d)]),
                        selfOutput: try b.linear(l + "self_attention/linear_1/", in: d, out: d),
                        crossNorm: try b.norm(l + "attention/layer_norm/", d, ct2: true),
                        crossQuery: try b.linear(l + "attention/linear_0/", in: d, out: d),
                        crossKV: FusedProjection(parts: [try b.linear(l + "attention/linear_1/", in: d, out: 2 * d)]),
                        crossOutput: try b.linear(l + "attention/linear_2/", in: d, out: d),
                        mlpNorm: try b.norm(l + "ffn/layer_norm/", d, ct2: true),
                        fc1: try b.linear(l + "ffn/linear_0/", in: d, out: ffn),
                        fc2: try b.linear(l + "ffn/linear_1/", in: ffn, out: d))
                },
                finalNorm: try b.norm("decoder/layer_norm/", d, ct2: true))
        }
    }
}
