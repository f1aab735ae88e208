import Foundation

/// Every error QuiverStore throws: the engine, filter expressions and vector indexes. Messages
/// name the store, collection, field, file and position involved so a user can act on them.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another process (or another `VectorStore` in this one) holds the store's lock.
    ///
    /// `path` is the store directory, `pid` the process id written in its `LOCK` file (-1 when
    /// it could not be read). Thrown by ``VectorStore/init(path:options:)``; close the other
    /// store (or end that process) and open again.
    case storeInUse(path: String, pid: Int32)
    /// A schema is not acceptable: `reason` names the field and the rule it breaks (name
    /// characters, duplicate names, dimension outside 1...32768, model binding of another
    /// width, default value of another type, automatic id on a string key). Thrown by
    /// ``CollectionSchema/validate(collection:)`` and ``VectorStore/createCollection(_:schema:)``.
    case invalidSchema(collection: String, reason: String)
    /// ``VectorStore/createCollection(_:schema:)`` was given the name of a collection that
    /// already exists in the store.
    case collectionExists(String)
    /// No collection of this name exists in the store (``VectorStore/collection(_:)``,
    /// ``VectorStore/dropCollection(_:)``, ``VectorStore/describeCollection(_:)``).
    case collectionNotFound(String)
    /// A vector field holds one model's vectors and these come from another (or have another width).
    ///
    /// Thrown by ``Collection/insert(_:models:)``, ``Collection/upsert(_:models:)`` and
    /// ``Collection/search(_:)`` when a given ``EmbeddingModel`` differs in id or dimension
    /// from the one the field is bound to. A model id `none` is shown as `raw`.
    case modelMismatch(collection: String, field: String, expectedModel: String, expectedDimension: Int, gotModel: String, gotDimension: Int)
    /// Data given to an operation does not fit the schema.
    case invalidData(collection: String, reason: String)
    /// A request (search, query, index) is malformed.
    ///
    /// Examples: an unknown vector or output field, a query vector of the wrong width, a
    /// negative limit or offset, an unknown or out-of-range index build parameter, too few
    /// vectors to train an IVF index, an invalid collection name.
    case invalidRequest(String)
    /// A file on disk is damaged or not what it claims to be: a checksum mismatch, a bad magic
    /// number, a row count that disagrees with the manifest, a gap in the WAL sequence, or a
    /// damaged WAL record followed by more data. (A torn *final* WAL record is not an error: it
    /// was never acknowledged and is dropped at open.)
    case corruptFile(path: String, reason: String)
    /// A system call failed: `operation` is the call (`open`, `fsync`, `rename`, ...), `reason`
    /// the `strerror` text.
    ///
    /// A failed write, fsync or rename of a collection's files makes the collection read-only:
    /// the call that hit it throws ``readOnly(collection:cause:)`` wrapping this error.
    case io(path: String, operation: String, reason: String)
    /// The file system holding the store is full (ENOSPC or a quota).
    ///
    /// `store` is the store directory, `path` the file being written, `needed` the bytes the
    /// write still had to write, `available` the bytes free when it failed (-1 when unknown).
    /// Reaching it makes the collection read-only (``readOnly(collection:cause:)``); free space
    /// (at least `needed` bytes, more for the next flush) and reopen the store.
    case diskFull(store: String, path: String, needed: Int, available: Int)
    /// The collection stopped accepting writes after a file write, fsync or rename failed (`cause`).
    ///
    /// Thrown by the call that hit the failure and by every later write, flush, compaction or
    /// index change of the collection. The failed write was not acknowledged and is not visible;
    /// writes acknowledged before it are durable. An fsync is never retried (after a failed fsync
    /// the kernel may have dropped the data, so success could not be trusted). Reads keep
    /// working. To recover, fix the cause (e.g. free disk space) and reopen the store
    /// (``VectorStore/close()`` then ``VectorStore/init(path:options:)``): opening rebuilds the
    /// collection from its manifest, segments and log.
    indirect case readOnly(collection: String, cause: StoreError)
    /// A filter expression was rejected: `column` is the 1-based character position in
    /// `expression` the problem is at, `reason` what was expected or found there and how to fix it.
    /// `expression` is empty while the filter code has not yet been told the text (it always is
    /// when the error leaves `FilterExpression`).
    case invalidFilter(expression: String, column: Int, reason: String)
    /// An index kind this build cannot create. (No code path of this build throws it: every
    /// ``IndexKind`` is available.)
    case indexUnavailable(IndexKind)
    /// The collection or store was closed (``VectorStore/close()``, or the collection was
    /// dropped); the associated text names which. Writes and store-level calls check this; open
    /// the store again to continue.
    case closed(String)
    /// An NPY file that cannot be read as a 2-D float matrix; `field` is the header field or part at fault.
    case invalidNPY(path: String, field: String, reason: String)
    /// A vector or buffer given to an index has the wrong number of floats; `what` names it.
    case dimensionMismatch(expected: Int, got: Int, what: String)
    /// An index construction or search parameter is out of range or unknown.
    case invalidIndexParameter(name: String, value: String, reason: String)
    /// A row number was added to an index twice.
    case duplicateIndexRow(UInt32)
    /// An IVF index needs training before vectors can be added, and too few vectors were given.
    case indexNotTrained(String)
    /// An index file could not be created, written or opened, or is not a Quiver index file.
    case indexFile(path: String, reason: String)
    /// An index file is damaged: a checksum, size or field check failed.
    case corruptIndex(path: String, reason: String)
    /// An index file has a format version this build does not read.
    case unsupportedIndexVersion(path: String, version: UInt32)

    /// A one-line message naming the store, collection, field, file or filter position at fault.
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
        case let .diskFull(store, p, needed, available):
            let free = available < 0 ? "unknown" : "\(available) bytes"
            return "no space left for store \(store) writing \(p): needs at least \(needed) more bytes free (free now: \(free)); free space on that file system and reopen the store"
        case let .readOnly(c, cause):
            return "collection '\(c)' is read-only after a failed write (\(cause.description)); nothing that failed was applied and every write acknowledged before it is durable; close and reopen the store to recover"
        case let .invalidFilter(e, c, r): return "invalid filter \"\(e)\": filter error at column \(c): \(r)"
        case let .indexUnavailable(k): return "index type \(k.rawValue) is not available in this build"
        case let .closed(what): return "\(what) is closed"
        case let .invalidNPY(p, f, r): return "\(p): NPY \(f): \(r)"
        case let .dimensionMismatch(e, g, w): return "\(w): expected \(e) floats, got \(g)"
        case let .invalidIndexParameter(n, v, r): return "invalid index parameter \(n)=\(v): \(r)"
        case let .duplicateIndexRow(r): return "row \(r) is already in the index"
        case let .indexNotTrained(m): return "index is not trained: \(m)"
        case let .indexFile(p, r): return "cannot use index file \(p): \(r)"
        case let .corruptIndex(p, r): return "index file \(p) is corrupt: \(r)"
        case let .unsupportedIndexVersion(p, v): return "index file \(p) has format version \(v); this build reads version \(IndexFileFormat.version)"
        }
    }

    /// For `.invalidFilter`: the 1-based column of the problem in the expression; nil for other cases.
    public var filterColumn: Int? {
        guard case let .invalidFilter(_, c, _) = self else { return nil }
        return c
    }

    /// For `.invalidFilter`: `filter error at column N: reason`, without the expression (the
    /// form to show under an expression the user can see); nil for other cases.
    public var filterMessage: String? {
        guard case let .invalidFilter(_, c, r) = self else { return nil }
        return "filter error at column \(c): \(r)"
    }

    /// The same error naming `expression` when it is a filter error that does not name one yet.
    func naming(expression: String) -> StoreError {
        guard case let .invalidFilter(e, c, r) = self, e.isEmpty else { return self }
        return .invalidFilter(expression: expression, column: c, reason: r)
    }
}

extension StoreError: LocalizedError {
    /// The same text as ``StoreError/description``, so `localizedDescription` shows it.
    public var errorDescription: String? { description }
}

/// The text of the current `errno`.
func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }
