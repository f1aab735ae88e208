import Foundation
import QuiverTensor

/// A Hugging Face `ResNetConfig` (`config.json` with `model_type` "resnet", as microsoft/resnet-50).
/// Missing keys take the defaults of transformers' `ResNetConfig` (ResNet-50).
public struct ResNetConfig: Decodable, Sendable, Equatable {
    /// Input channels (`num_channels`, 3 for RGB).
    public var numChannels: Int = 3
    /// Width of the stem convolution.
    public var embeddingSize: Int = 64
    /// Output channels of each stage (bottleneck: 4x the inner width).
    public var hiddenSizes: [Int] = [256, 512, 1024, 2048]
    /// Blocks per stage ([3, 4, 6, 3] for ResNet-50).
    public var depths: [Int] = [3, 4, 6, 3]
    /// "basic" (ResNet-18/34) or "bottleneck" (ResNet-50/101/152).
    public var layerType: String = "bottleneck"
    /// Activation after each convolution (`hidden_act`, "relu").
    public var hiddenAct: String = "relu"
    /// Stride 2 in the first stage too.
    public var downsampleInFirstStage: Bool = false
    /// Bottleneck stride on the first 1x1 convolution instead of the 3x3.
    public var downsampleInBottleneck: Bool = false

    enum CodingKeys: String, CodingKey {
        case numChannels = "num_channels", embeddingSize = "embedding_size", hiddenSizes = "hidden_sizes", depths
        case layerType = "layer_type", hiddenAct = "hidden_act", downsampleInFirstStage = "downsample_in_first_stage"
        case downsampleInBottleneck = "downsample_in_bottleneck"
    }

    /// The transformers defaults (ResNet-50: bottleneck blocks [3, 4, 6, 3], stage widths 256...2048).
    public init() {}

    /// Decodes the snake_case keys of `config.json`; a missing key keeps its default, unknown keys are ignored.
    /// - Throws: `DecodingError` when a present key has the wrong type (``load(_:)`` turns it into `ModelsError.invalidConfig`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ResNetConfig()
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? d.numChannels
        embeddingSize = try c.decodeIfPresent(Int.self, forKey: .embeddingSize) ?? d.embeddingSize
        hiddenSizes = try c.decodeIfPresent([Int].self, forKey: .hiddenSizes) ?? d.hiddenSizes
        depths = try c.decodeIfPresent([Int].self, forKey: .depths) ?? d.depths
        layerType = try c.decodeIfPresent(String.self, forKey: .layerType) ?? d.layerType
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        downsampleInFirstStage = try c.decodeIfPresent(Bool.self, forKey: .downsampleInFirstStage) ?? d.downsampleInFirstStage
        downsampleInBottleneck = try c.decodeIfPresent(Bool.self, forKey: .downsampleInBottleneck) ?? d.downsampleInBottleneck
    }

    /// Decodes `config.json`.
    /// - Throws: `ModelsError.missingFile` / `.invalidConfig` naming the file and field.
    public static func load(_ url: URL) throws -> ResNetConfig { try decodeJSONFile(ResNetConfig.self, at: url) }

    func validate(path: String) throws {
        guard layerType == "basic" || layerType == "bottleneck" else {
            throw ModelsError.unsupported(path: path, feature: "layer_type '\(layerType)' (only 'basic' and 'bottleneck')")
        }
        guard Activation(huggingFaceName: hiddenAct) != nil else {
            throw ModelsError.unsupported(path: path, feature: "hidden_act '\(hiddenAct)'")
        }
        guard !depths.isEmpty, depths.count == hiddenSizes.count else {
            throw ModelsError.invalidConfig(path: path, reason: "depths (\(depths.count) stages) and hidden_sizes (\(hiddenSizes.count)) must have the same non-zero length")
        }
        guard depths.allSatisfy({ $0 > 0 }), hiddenSizes.allSatisfy({ $0 > 0 }), embeddingSize > 0, numChannels > 0 else {
            throw ModelsError.invalidConfig(path: path, reason: "sizes must be positive")
        }
        if layerType == "bottleneck", let bad = hiddenSizes.first(where: { $0 % 4 != 0 }) {
            throw ModelsError.invalidConfig(path: path, reason: "bottleneck hidden size \(bad) is not a multiple of 4")
        }
    }
}
