import Foundation

/// Every error QuiverStore throws. Messages name the store, collection, field, file and position
/// involved so a user can act on them.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another process (or another `VectorStore` in this one) holds the store's lock.
    case storeInUse(path: String, pid: Int32)
    /// A schema is not acceptable.
    case invalidSchema(collection: String, reason: String)
    case collectionExists(String)
    case collectionNotFound(String)
    /// A vector field holds one model's vectors and these come from another (or have another width).
    case modelMismatch(collection: String, field: String, expectedModel: String, expectedDimension: Int, gotModel: String, gotDimension: Int)
    /// Data given to an operation does not fit the schema.
    case invalidData(collection: String, reason: String)
    /// A request (search, query, index) is malformed.
    case invalidRequest(String)
    /// A file on disk is damaged or not what it claims to be.
    case corruptFile(path: String, reason: String)
    /// A system call failed.
    case io(path: String, operation: String, reason: String)
    /// A filter expression could not be parsed or evaluated.
    case invalidFilter(expression: String, reason: String)
    /// An index kind this build cannot create.
    case indexUnavailable(IndexKind)
    /// The collection or store was closed.
    case closed(String)
    /// An NPY file that cannot be read as a 2-D float matrix; `field` is the header field or part at fault.
    case invalidNPY(path: String, field: String, reason: String)

    public var description: String {
        switch self {
        case let .storeInUse(path, pid): return "store \(path) is in use by pid \(pid)"
        case let .invalidSchema(c, r): return "collection '\(c)': invalid schema: \(r)"
        case let .collectionExists(c): return "collection '\(c)' already exists"
        case let .collectionNotFound(c): return "collection '\(c)' does not exist"
        case let .modelMismatch(c, f, em, ed, gm, gd):
            func named(_ m: String) -> String { m == "none" ? "raw" : m }
            return "collection '\(c)' field '\(f)' holds \(named(em)) vectors (\(ed)-d); these come from \(named(gm)) (\(gd)-d)"
        case let .invalidData(c, r): return "collection '\(c)': \(r)"
        case let .invalidRequest(r): return r
        case let .corruptFile(p, r): return "\(p) is corrupt: \(r)"
        case let .io(p, op, r): return "\(op) \(p) failed: \(r)"
        case let .invalidFilter(e, r): return "invalid filter \"\(e)\": \(r)"
        case let .indexUnavailable(k): return "index type \(k.rawValue) is not available in this build"
        case let .closed(what): return "\(what) is closed"
        case let .invalidNPY(p, f, r): return "\(p): NPY \(f): \(r)"
        }
    }
}

extension StoreError: LocalizedError {
    public var errorDescription: String? { description }
}

/// The text of the current `errno`.
func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }
