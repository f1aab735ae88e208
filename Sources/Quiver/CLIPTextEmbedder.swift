import Foundation
import QuiverModels
import QuiverTensor

/// A CLIP model's two towers behind one facade: text and image vectors in one space, and the
/// similarity scores CLIP was trained with (`exp(logit_scale) × cosine`).
///
/// Thread-safe; reuse one instance.
public final class CLIPEmbedder: Sendable {
    /// The model's catalog name (or the folder path it was loaded from).
    public let modelName: String
    /// The underlying model (its `logitScale` is the stored, un-exponentiated temperature).
    public let model: CLIPModel

    /// The stored temperature (`logit_scale`); logits are `exp(logitScale) × cosine`.
    public var logitScale: Float { model.logitScale }

    /// Width of text and image vectors (`projection_dim`).
    public var dimension: Int { model.dimension }

    /// Loads a CLIP model by catalog name, hub id or folder path from `home`.
    /// - Throws: `QuiverError.unsupportedModality` (modality "image+text") for a model that is not
    ///   CLIP, `HubError.unknownModel`, `QuiverError.modelNotInstalled`, or the loader's errors.
    public init(model name: String, home: ModelHome = .fromEnvironment()) throws {
        let resolved = try home.installedModel(name)
        guard resolved.entry.modality == .imageText else {
            throw QuiverError.unsupportedModality(model: resolved.entry.name, modality: "image+text (a CLIP model is needed)",
                                                  supported: [resolved.entry.modality.rawValue])
        }
        // A folder given as a path is named by its path, so a collection's model id finds it again.
        modelName = resolved.origin == .localFolder ? resolved.folder.path : resolved.entry.name
        model = try CLIPModel(folder: resolved.folder)
    }

    /// Embeds texts with the text tower: one unnormalized `dimension`-float vector per text.
    /// Texts longer than the context (77 tokens) are truncated by the tokenizer.
    public func embed(texts: [String], threads: Int? = nil) throws -> [[Float]] {
        try model.embed(texts: texts, threads: threads ?? Parallel.defaultThreads)
    }

    /// Embeds image files with the image tower: one unnormalized `dimension`-float vector per file.
    /// - Throws: `MediaError` naming a file that cannot be decoded.
    public func embed(imageFiles: [URL], threads: Int? = nil) throws -> [[Float]] {
        try model.embed(contentsOf: imageFiles, threads: threads ?? Parallel.defaultThreads)
    }

    /// CLIP scores of texts against image files (see `CLIPSimilarity.compute`).
    public func similarity(texts: [String], imageFiles: [URL], threads: Int? = nil) throws -> CLIPSimilarity {
        let t = try embed(texts: texts, threads: threads)
        let i = try embed(imageFiles: imageFiles, threads: threads)
        return CLIPSimilarity.compute(texts: t, images: i, logitScale: model.logitScale)
    }
}

/// CLIP scores of texts × images.
public struct CLIPSimilarity: Sendable, Equatable {
    /// `logits[t][i] = exp(logitScale) × cos(text t, image i)` (transformers' `logits_per_text`).
    public var logits: [[Float]]
    /// Softmax of each text's logits across the images (each row sums to 1).
    public var probabilities: [[Float]]
    /// The cosine similarities themselves, `[text][image]`.
    public var cosines: [[Float]]

    /// Scores from text and image vectors (any norm) and the stored temperature `logitScale`.
    public static func compute(texts: [[Float]], images: [[Float]], logitScale: Float) -> CLIPSimilarity {
        func unit(_ v: [Float]) -> [Float] {
            let n = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            return n > 0 ? v.map { $0 / n } : v
        }
        let tu = texts.map(unit), iu = images.map(unit)
        let scale = Float(exp(Double(logitScale)))
        let cos = tu.map { t in iu.map { i in zip(t, i).reduce(Float(0)) { $0 + $1.0 * $1.1 } } }
        let logits = cos.map { $0.map { $0 * scale } }
        let probs = logits.map { row -> [Float] in
            guard let m = row.max() else { return [] }
            let e = row.map { Float(exp(Double($0 - m))) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
        return CLIPSimilarity(logits: logits, probabilities: probs, cosines: cos)
    }
}

extension CLIPEmbedder {
    /// Checks that every path is an image file (by content) and returns their URLs.
    /// - Throws: `QuiverError.unreadableInput` naming a missing file or one that is not an image.
    public static func imageFiles(_ paths: [String]) throws -> [URL] {
        try paths.map { p in
            let url = URL(fileURLWithPath: p)
            let kind = try ContentModality.detect(fileAt: url)
            guard kind == .image else {
                throw QuiverError.unreadableInput(path: p, reason: "not an image (detected: \(kind?.rawValue ?? "unknown content")); similarity scores images")
            }
            return url
        }
    }
}
