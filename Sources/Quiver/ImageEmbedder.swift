import Foundation
import QuiverMedia
import QuiverModels
import QuiverTensor

/// Embeds images with an image model (ResNet-50, EfficientNet-Lite0, CLIP's image tower): decode
/// (JPEG, PNG, WebP, GIF; EXIF orientation applied) → the preprocessing paired with the model →
/// the model's forward pass. Vectors are as the model gives them (not normalized; the store
/// compares them by cosine).
///
/// Thread-safe; reuse one instance.
public final class ImageEmbedder: Sendable {
    /// The model's catalog name (or the folder path it was loaded from).
    public let modelName: String
    /// True for a CLIP model: its text tower embeds text into the same space.
    public let isCLIP: Bool
    private let model: any ImageEmbeddingModel

    /// Width of the vectors (1280 for EfficientNet-Lite0, 2048 for ResNet-50, 512 for CLIP ViT-B/32).
    public var dimension: Int { model.dimension }

    /// Loads an image model by catalog name, hub id or folder path from `home`.
    /// - Throws: `HubError.unknownModel`, `QuiverError.modelNotInstalled` / `.unsupportedModality`,
    ///   or the loader's `ModelsError` naming the file.
    public init(model name: String, home: ModelHome = .fromEnvironment()) throws {
        let resolved = try home.installedModel(name)
        guard resolved.entry.modality == .image || resolved.entry.modality == .imageText else {
            throw QuiverError.unsupportedModality(model: resolved.entry.name, modality: "image",
                                                  supported: [resolved.entry.modality.rawValue])
        }
        // A folder given as a path is named by its path, so a collection's model id finds it again.
        modelName = resolved.origin == .localFolder ? resolved.folder.path : resolved.entry.name
        isCLIP = resolved.entry.modality == .imageText
        model = try ImageModels.load(resolved.folder)
    }

    /// Embeds image files; one vector per file, in order.
    /// - Throws: `MediaError` naming a file that cannot be decoded.
    public func embed(files: [URL], threads: Int? = nil) throws -> [[Float]] {
        try model.embed(contentsOf: files, threads: threads ?? Parallel.defaultThreads)
    }

    /// Embeds decoded images (`RGBImage`, any size: the model's preprocessing resizes and crops).
    public func embed(images: [RGBImage], threads: Int? = nil) throws -> [[Float]] {
        try model.embed(images: images, threads: threads ?? Parallel.defaultThreads)
    }

    /// The default image model of a model home: an installed CLIP model (text and images then
    /// share a space), else `efficientnet-lite0`.
    public static func defaultModel(home: ModelHome = .fromEnvironment()) -> String {
        for name in ["clip-vit-base-patch32", "clip-vit-large-patch14"] {
            if let r = try? home.resolve(name), r.isInstalled { return r.entry.name }
        }
        return "efficientnet-lite0"
    }
}
