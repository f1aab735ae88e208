import Foundation

/// Errors of the Milvus backend: every one names the server (and the collection where there is
/// one) and quotes Milvus' own reason.
public enum MilvusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A `--db` value that is not a Milvus address.
    case invalidAddress(String, reason: String)

    /// What went wrong and how to fix it.
    public var description: String {
        switch self {
        case let .invalidAddress(a, r): return "'\(a)' is not a Milvus address: \(r)"
        }
    }
}
