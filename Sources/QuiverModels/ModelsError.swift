import Foundation

/// Every failure of model loading and inference. Messages name the file, field or input position.
public enum ModelsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A configuration file is missing or cannot be read.
    case missingFile(path: String)
    /// A configuration file is not valid JSON of the expected form.
    case invalidConfig(path: String, reason: String)
    /// The configuration asks for something this implementation does not do.
    case unsupported(path: String, feature: String)
    /// A token id outside the vocabulary.
    case invalidTokenID(sequence: Int, position: Int, id: Int, vocabularySize: Int)
    /// A sequence longer than the model's position table allows.
    case sequenceTooLong(sequence: Int, length: Int, maximum: Int)
    /// An input the model cannot embed (for example audio without samples).
    case invalidInput(reason: String)
    /// A preprocessed image the model cannot take (wrong channel count or size).
    case invalidImage(index: Int, reason: String)
    /// An empty token sequence where the model needs at least one token.
    case emptySequence(sequence: Int)

    /// A one-line message naming the file, field or input position and, where possible, the fix.
    public var description: String {
        switch self {
        case let .missingFile(path):
            return "\(path) does not exist or cannot be read"
        case let .invalidConfig(path, reason):
            return "\(path) is not a valid configuration: \(reason)"
        case let .unsupported(path, feature):
            return "\(path): \(feature) is not supported by Quiver"
        case let .invalidTokenID(sequence, position, id, vocabularySize):
            return "token id \(id) at position \(position) of sequence \(sequence) is outside the vocabulary (size \(vocabularySize)); the tokenizer does not match the model"
        case let .sequenceTooLong(sequence, length, maximum):
            return "sequence \(sequence) has \(length) tokens, the model accepts at most \(maximum); truncate it (max_seq_length)"
        case let .invalidInput(reason):
            return reason
        case let .invalidImage(index, reason):
            return "image \(index): \(reason)"
        case let .emptySequence(sequence):
            return "sequence \(sequence) has no tokens; tokenize it with the model's tokenizer (which adds the start and end tokens)"
        }
    }
}

/// Reads and decodes a JSON file, mapping failures to `ModelsError`.
func decodeJSONFile<T: Decodable>(_ type: T.Type, at url: URL) throws -> T {
    guard let data = FileManager.default.contents(atPath: url.path) else { throw ModelsError.missingFile(path: url.path) }
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
        let field = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw ModelsError.invalidConfig(path: url.path, reason: "field '\(field)': \(context.debugDescription)")
    } catch let DecodingError.dataCorrupted(context) {
        throw ModelsError.invalidConfig(path: url.path, reason: context.debugDescription)
    } catch {
        throw ModelsError.invalidConfig(path: url.path, reason: "\(error)")
    }
}
