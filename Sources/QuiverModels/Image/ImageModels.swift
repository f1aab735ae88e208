import Foundation
import QuiverMedia
import QuiverWeights

/// Recognizes an image model on disk and loads it with its preprocessing.
public enum ImageModels {
    /// The kinds of image model Quiver loads.
    public enum Kind: String, Sendable, Equatable {
        /// Hugging Face folder, `config.json` `model_type` "resnet".
        case resnetHuggingFace
        /// torchvision ResNet state dict (`conv1.weight`, `layer1.0.conv1.weight`, ...).
        case resnetTorchvision
        /// EfficientNet-Lite PyTorch state dict (`_conv_stem.weight`, `_blocks.0._depthwise_conv.weight`, ...).
        case efficientNetLite
        /// Hugging Face folder, `config.json` `model_type` "clip".
        case clip
    }

    /// What `path` holds: a Hugging Face folder (by `config.json`'s `model_type`), or a checkpoint
    /// file (or a folder with exactly one `.pth`/`.pt`/`.bin`/`.safetensors` file and no
    /// `config.json`) recognized by its tensor names.
    /// - Returns: the kind and the file or folder to load.
    /// - Throws: `ModelsError.missingFile` or `.unsupported` naming the path and what was found.
    public static func detect(_ url: URL) throws -> (kind: Kind, location: URL) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelsError.missingFile(path: url.path)
        }
        if isDirectory.boolValue {
            let configURL = url.appendingPathComponent("config.json")
            if FileManager.default.fileExists(atPath: configURL.path) {
                let type = try decodeJSONFile(ModelTypeField.self, at: configURL).model_type ?? ""
                switch type {
                case "resnet": return (.resnetHuggingFace, url)
                case "clip": return (.clip, url)
                default: throw ModelsError.unsupported(path: configURL.path, feature: "model_type '\(type)' as an image model (supported: resnet, clip)")
                }
            }
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [])
                .filter { ["pth", "pt", "bin", "safetensors"].contains(($0 as NSString).pathExtension) }.sorted()
            guard files.count == 1 else {
                throw ModelsError.unsupported(path: url.path, feature: files.isEmpty
                    ? "a folder without config.json or a checkpoint file"
                    : "a folder without config.json and with several checkpoints (\(files.joined(separator: ", "))); name the file")
            }
            return try detect(url.appendingPathComponent(files[0]))
        }
        let source = try WeightFiles.open(path: url.path)
        if source.info("_conv_stem.weight") != nil && source.info("_blocks.0._depthwise_conv.weight") != nil {
            return (.efficientNetLite, url)
        }
        if source.info("conv1.weight") != nil && source.info("layer1.0.conv1.weight") != nil {
            return (.resnetTorchvision, url)
        }
        let sample = source.names.prefix(4).joined(separator: ", ")
        throw ModelsError.unsupported(path: url.path, feature: "a checkpoint with tensors \(sample)… (not a torchvision ResNet or an EfficientNet-Lite state dict)")
    }

    /// Loads the image model at `url` (see `detect`) with its preprocessing: the folder's
    /// `preprocessor_config.json`, or the torchvision ImageNet recipe for torchvision ResNets and
    /// the TF-Lite recipe for EfficientNet-Lite.
    public static func load(_ url: URL) throws -> any ImageEmbeddingModel {
        let (kind, location) = try detect(url)
        switch kind {
        case .resnetHuggingFace: return try ResNet(folder: location)
        case .clip: return try CLIPModel(folder: location)
        case .efficientNetLite: return try EfficientNetLite(file: location)
        case .resnetTorchvision: return try ResNet(torchvisionWeights: try WeightFiles.open(path: location.path))
        }
    }

    /// The checkpoint of a Hugging Face folder: `model.safetensors`, else `pytorch_model.bin`.
    /// - Throws: `ModelsError.missingFile` naming the folder when it has neither.
    static func openWeights(in folder: URL) throws -> any WeightSource { try Checkpoint.open(in: folder) }

    private struct ModelTypeField: Decodable { let model_type: String? }
}
