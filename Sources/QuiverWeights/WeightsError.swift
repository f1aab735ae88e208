import Foundation

/// Every failure of the weight readers. Messages name the file and, where it applies, the tensor.
public enum WeightsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file could not be opened or mapped.
    case cannotOpen(path: String, reason: String)
    /// The file's structure is wrong: truncated, bad header, bad offsets, hostile sizes.
    case malformed(path: String, reason: String)
    /// A data type the reader does not convert to float32.
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A model asked for a tensor the checkpoint does not have.
    case missingTensor(path: String, tensor: String, similar: [String])
    /// A tensor exists but its shape is not the one the model expects.
    case shapeMismatch(path: String, tensor: String, expected: [Int], actual: [Int])
    /// Tensors in the checkpoint that the model never used (usually a wrong architecture or config).
    case unusedTensors(path: String, tensors: [String])
    /// The file's SHA-256 differs from the expected one.
    case checksumMismatch(path: String, expected: String, actual: String)

    /// A one-line message naming the file and, where it applies, the tensor, the expected and actual values.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open weights file \(path): \(reason)"
        case let .malformed(path, reason):
            return "\(path) is not a valid weights file: \(reason)"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has data type \(dtype), which Quiver cannot convert to float32"
        case let .missingTensor(path, tensor, similar):
            let hint = similar.isEmpty ? "" : " (similar names: \(similar.prefix(5).joined(separator: ", ")))"
            return "\(path): the model needs tensor '\(tensor)', which the checkpoint does not contain\(hint)"
        case let .shapeMismatch(path, tensor, expected, actual):
            return "\(path): tensor '\(tensor)' has shape \(actual), the model's configuration expects \(expected)"
        case let .unusedTensors(path, tensors):
            let shown = tensors.prefix(8).joined(separator: ", ")
            let more = tensors.count > 8 ? " and \(tensors.count - 8) more" : ""
            return "\(path): \(tensors.count) tensors were not used by the model (\(shown)\(more)); the configuration probably does not match the checkpoint"
        case let .checksumMismatch(path, expected, actual):
            return "\(path): sha256 is \(actual), expected \(expected); the file is corrupt or not the one expected"
        }
    }
}
