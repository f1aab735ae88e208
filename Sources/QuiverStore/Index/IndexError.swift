import Foundation

/// Errors of the vector indexes: every case names what the caller can fix (file, field, value).
public enum IndexError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A vector or buffer has the wrong number of floats.
    case dimensionMismatch(expected: Int, got: Int, what: String)
    /// A construction or search parameter is out of range or unknown.
    case invalidParameter(name: String, value: String, reason: String)
    /// A row number was added twice.
    case duplicateRow(UInt32)
    /// The index needs training (IVF) before vectors can be added, and too few vectors were given.
    case notTrained(String)
    /// An index file could not be read or is not a Quiver index file.
    case io(path: String, reason: String)
    /// An index file is damaged: a checksum, size or field check failed.
    case corrupt(path: String, reason: String)
    /// An index file has a format version this build does not read.
    case unsupportedVersion(path: String, version: UInt32)

    public var description: String {
        switch self {
        case let .dimensionMismatch(e, g, w): return "\(w): expected \(e) floats, got \(g)"
        case let .invalidParameter(n, v, r): return "invalid index parameter \(n)=\(v): \(r)"
        case let .duplicateRow(r): return "row \(r) is already in the index"
        case let .notTrained(m): return "index is not trained: \(m)"
        case let .io(p, r): return "cannot use index file \(p): \(r)"
        case let .corrupt(p, r): return "index file \(p) is corrupt: \(r)"
        case let .unsupportedVersion(p, v): return "index file \(p) has format version \(v); this build reads version \(IndexFileFormat.version)"
        }
    }
}
