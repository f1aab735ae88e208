import Foundation

/// Errors of QuiverDocuments. Every case names the file, and what to do where something can be done.
public enum DocumentError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file cannot be opened or read (missing, no permission).
    case cannotOpen(path: String, reason: String)
    /// The document is encrypted and needs a password.
    case encrypted(path: String, format: String)
    /// The file is not a well-formed document of its format (truncated, corrupt).
    case damaged(path: String, format: String, reason: String)
    /// The document is larger than a safety limit allows (a zip bomb, a huge page, a deeply
    /// nested tree): reading stopped there, with bounded memory.
    case limitExceeded(path: String, format: String, what: String, limit: Int)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open \(path): \(reason)"
        case let .encrypted(path, format):
            return "\(path) is an encrypted \(format) document; Quiver reads no password-protected files (save an unencrypted copy)"
        case let .damaged(path, format, reason):
            return "cannot read \(path) as \(format): \(reason) (the file is truncated or corrupt)"
        case let .limitExceeded(path, format, what, limit):
            return "stopped reading \(path) (\(format)): \(what) exceeds the limit of \(limit) (a zip bomb or a hostile file? DocumentLimits raises it)"
        }
    }
}
