import Foundation

/// Errors of the Quiver facade. Lower layers' errors (`HubError`, `ModelsError`, `WeightsError`,
/// `TokenizerError`, `StoreError`, `MediaError`) pass through unchanged: they already name the
/// file, field or position.
public enum QuiverError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The model is known but its files are not in the model home.
    case modelNotInstalled(name: String, folder: String, missing: [String], hint: String)
    /// The model cannot embed this kind of input.
    case unsupportedModality(model: String, modality: String, supported: [String])
    /// The model's architecture or files are not ones Quiver runs.
    case unsupportedModel(name: String, reason: String)
    /// A text is longer than the model accepts and truncation was turned off.
    case textTooLong(index: Int, tokens: Int, limit: Int, model: String)
    /// An input file could not be read or is of no kind Quiver embeds.
    case unreadableInput(path: String, reason: String)
    /// A collection already holds vectors of another model: spaces are never mixed.
    case embeddingSpaceMismatch(collection: String, storedModel: String, requestedModel: String)
    /// A query cannot be compared with anything in the store, and why.
    case noCompatibleCollection(query: String, reason: String)
    /// `quiver copy` could not copy a collection faithfully, and why.
    case copyMismatch(collection: String, reason: String)
    /// A prompt name that the model's `config_sentence_transformers.json` (or catalog entry) does not define.
    case unknownPrompt(model: String, name: String, available: [String])
    /// A retrieval test set (`quiver eval`) that cannot be read: the file (and line) and what is wrong.
    case invalidDataset(path: String, reason: String)
    /// An evaluation that cannot run as asked (a chart that cannot be written, no mode to run), and why.
    case invalidEvaluation(reason: String)

    /// The message shown to the user: what failed, naming the file, model or collection, and
    /// what to do about it.
    public var description: String {
        switch self {
        case let .modelNotInstalled(name, folder, missing, hint):
            let files = missing.isEmpty ? "" : " (missing: \(missing.prefix(5).joined(separator: ", ")))"
            return "model \(name) is not installed in \(folder)\(files); \(hint)"
        case let .unsupportedModality(model, modality, supported):
            return "model \(model) does not embed \(modality) (it embeds: \(supported.joined(separator: ", ")))"
        case let .unsupportedModel(name, reason):
            return "model \(name) cannot be run by Quiver: \(reason)"
        case let .textTooLong(index, tokens, limit, model):
            return "text \(index) has \(tokens) tokens, more than the \(limit) that \(model) accepts (drop --no-truncate to truncate it)"
        case let .unreadableInput(path, reason):
            return "cannot embed \(path): \(reason)"
        case let .embeddingSpaceMismatch(c, stored, requested):
            return "collection '\(c)' holds \(stored) vectors; \(requested) vectors live in another space and cannot be added to it (use another --collection, or the same model)"
        case let .noCompatibleCollection(q, r):
            return "cannot search with \(q): \(r)"
        case let .copyMismatch(c, r):
            return "cannot copy collection '\(c)': \(r)"
        case let .unknownPrompt(model, name, available):
            let list = available.isEmpty ? "it defines no prompts (config_sentence_transformers.json `prompts`)"
                                         : "its prompts are: \(available.joined(separator: ", "))"
            return "model \(model) has no prompt named '\(name)'; \(list)"
        case let .invalidDataset(path, reason):
            return "cannot read the retrieval test set at \(path): \(reason)"
        case let .invalidEvaluation(reason):
            return "cannot evaluate: \(reason)"
        }
    }
}
