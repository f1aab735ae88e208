import Foundation

/// Errors raised by QuiverTokenizers. Each message names the file, field or position involved.
public enum TokenizerError: Error, CustomStringConvertible, Sendable {
    /// The tokenizer file could not be read.
    case unreadableFile(path: String, reason: String)
    /// The tokenizer JSON is malformed or misses a required field.
    case invalidConfig(path: String, reason: String)
    /// A component `type` that this implementation does not support.
    case unsupported(component: String, type: String)
    /// A special token named by a post-processor or the API is not in the vocabulary.
    case unknownToken(String, context: String)
    /// A regular expression in the configuration does not compile.
    case invalidPattern(String, reason: String)
    /// A BPE merge names a symbol that is not in the vocabulary.
    case invalidMerge(line: Int, merge: String, reason: String)
    /// A CLIP merges file is malformed.
    case invalidMergesFile(path: String, reason: String)

    /// A message naming the file, field or value involved.
    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case let .invalidConfig(path, reason):
            return "invalid tokenizer configuration in \(path): \(reason)"
        case let .unsupported(component, type):
            return "unsupported \(component) type \"\(type)\" (see QuiverTokenizers documentation for the supported types)"
        case let .unknownToken(token, context):
            return "token \"\(token)\" used by \(context) is not in the vocabulary"
        case let .invalidPattern(pattern, reason):
            return "regular expression \"\(pattern)\" does not compile: \(reason)"
        case let .invalidMerge(line, merge, reason):
            return "BPE merge #\(line) \"\(merge)\": \(reason)"
        case let .invalidMergesFile(path, reason):
            return "invalid BPE merges file \(path): \(reason)"
        }
    }
}

extension TokenizerError: LocalizedError {
    /// The same text as ``description``, so `localizedDescription` shows it too.
    public var errorDescription: String? { description }
}
