import Foundation
import QuiverWeights

/// The weights file of a Hugging Face model folder.
enum Checkpoint {
    /// Opens `model.safetensors` in `folder`, else `pytorch_model.bin` (a PyTorch zip or legacy
    /// pickle; the format is recognized by its content).
    /// - Throws: `ModelsError.missingFile` naming the folder's expected files when it has neither,
    ///   or the reader's `WeightsError` naming the file.
    static func open(in folder: URL) throws -> any WeightSource {
        for name in ["model.safetensors", "pytorch_model.bin"] {
            let url = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return try WeightFiles.open(path: url.path) }
        }
        throw ModelsError.missingFile(path: folder.appendingPathComponent("model.safetensors").path + " (or pytorch_model.bin)")
    }
}
