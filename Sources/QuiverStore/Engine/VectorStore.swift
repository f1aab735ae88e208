import Foundation

/// An embedded vector database in a directory: collections of entities with vector, scalar and
/// dynamic fields, durable through a write-ahead log and checksummed segment files.
///
/// One `VectorStore` per directory at a time: opening a directory another process (or another
/// `VectorStore` here) holds fails with `StoreError.storeInUse`. Layout: `DIR/STORE` (identity),
/// `DIR/LOCK` (owner pid), `DIR/collections/NAME/` (manifest, WAL files, segments, index files).
///
/// The lock is an advisory `flock` that the kernel drops when the process dies, so a crashed
/// owner never leaves the store locked. All methods may be called concurrently from any thread
/// or task; the `async` ones do their work synchronously on the caller's thread (they block it
/// on disk I/O and fsync) and never suspend in between. Collections are opened once and shared:
/// every ``collection(_:)`` call for a name returns the same ``Collection`` object.
public final class VectorStore: @unchecked Sendable {
    /// The store directory.
    public let path: String
    /// The tuning every collection of this store uses (flush thresholds).
    public let options: StoreOptions
    private let lock: StoreLock
    private let state = Locked<(open: [String: Collection], closed: Bool)>(([:], false))

    static let magic: [UInt8] = Array("QVSTORE\0".utf8)

    /// Opens the store at `path`, creating it when missing.
    ///
    /// Takes the directory lock and checks (or writes) the `STORE` identity file. Collections are
    /// not read here: each is opened and recovered on first use.
    /// - Parameters:
    ///   - path: the store directory (created with its parents when missing).
    ///   - options: flush thresholds for its collections.
    /// - Throws: `StoreError.storeInUse` when another process holds it; `corruptFile` when `path`
    ///   holds something else; `io` when the directory or lock file cannot be created.
    public init(path: String, options: StoreOptions = StoreOptions()) throws {
        self.path = path
        self.options = options
        try FileOps.makeDirectory(path)
        lock = try StoreLock(directory: path)
        let id = path + "/STORE"
        if FileManager.default.fileExists(atPath: id) {
            let b = try FileOps.readAll(id)
            guard b.count >= 12, Array(b[0..<8]) == Self.magic else {
                throw StoreError.corruptFile(path: id, reason: "not a QuiverStore store identity file")
            }
        } else {
            var w = ByteWriter(); w.raw(Self.magic); w.u32(1)
            try FileOps.atomicWrite(w.bytes, to: id)
        }
        try FileOps.makeDirectory(path + "/collections")
    }

    private func check() throws { if state.withLock({ $0.closed }) { throw StoreError.closed("store \(path)") } }

    /// Creates a collection.
    ///
    /// The collection's directory and manifest are written and fsync'd before this returns, so
    /// the (empty) collection survives a crash from then on.
    /// - Parameters:
    ///   - name: 1 to 255 ASCII letters, digits, `_` or `-` (not first).
    ///   - schema: its fields; fixed for the collection's lifetime.
    /// - Returns: the open collection.
    /// - Throws: `invalidSchema` naming the field at fault, `collectionExists`, `invalidRequest`
    ///   for an invalid name, `closed` after ``close()``, `io` when a file cannot be written.
    @discardableResult
    public func createCollection(_ name: String, schema: CollectionSchema) async throws -> Collection {
        try check()
        try schema.validate(collection: name)
        return try state.withLock { s in
            if s.open[name] != nil { throw StoreError.collectionExists(name) }
            let c = try Collection.create(name: name, schema: schema, storeDir: path, options: options)
            s.open[name] = c
            return c
        }
    }

    /// The collection named `name` (opened and recovered on first use).
    ///
    /// The first call reads the manifest, maps the segments, loads the index files (rebuilding an
    /// index whose file is missing or damaged, which can take a while for large collections) and
    /// replays the write-ahead log; later calls return the same object at once. While one
    /// collection is being opened, other calls that open, create or drop collections of this
    /// store (and ``close()``) wait for it.
    /// - Throws: `collectionNotFound`; `invalidRequest` for an invalid name; `corruptFile` when a
    ///   segment, the manifest or the middle of the log is damaged; `closed` after ``close()``.
    public func collection(_ name: String) async throws -> Collection {
        try check()
        try CollectionSchema.validateName(name, what: "collection name")
        return try state.withLock { s in
            if let c = s.open[name] { return c }
            let c = try Collection.open(name: name, storeDir: path, options: options)
            s.open[name] = c
            return c
        }
    }

    /// True when a collection of this name exists on disk (opened or not).
    public func hasCollection(_ name: String) -> Bool {
        // An invalid name (e.g. one holding NUL, which would cut the path short) names no collection.
        guard (try? CollectionSchema.validateName(name, what: "collection name")) != nil else { return false }
        return FileManager.default.fileExists(atPath: Collection.directory(in: path, name) + "/" + Manifest.fileName)
    }

    /// Names of all collections, sorted.
    /// - Throws: `closed` after ``close()``.
    public func listCollections() async throws -> [String] {
        try check()
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: path + "/collections")) ?? []
        return dirs.filter { hasCollection($0) }.sorted()
    }

    /// Schema, count, indexes of a collection (opening it if needed).
    /// - Throws: as ``collection(_:)``.
    public func describeCollection(_ name: String) async throws -> CollectionInfo {
        try await collection(name).describe()
    }

    /// Deletes a collection and its files.
    ///
    /// The directory is renamed away and the rename fsync'd (the drop is durable when this
    /// returns), then removed. An open ``Collection`` object for it is closed: its writes then
    /// throw `closed`.
    /// - Throws: `collectionNotFound`, `invalidRequest` for an invalid name, `closed` after
    ///   ``close()``, `io` when the rename fails.
    public func dropCollection(_ name: String) async throws {
        try check()
        try CollectionSchema.validateName(name, what: "collection name")
        try state.withLock { s in
            guard hasCollection(name) else { throw StoreError.collectionNotFound(name) }
            if let c = s.open.removeValue(forKey: name) {
                c.writer.lock(); c.closed = true; c.wal?.close(); c.writer.unlock()
            }
            let dir = Collection.directory(in: path, name)
            let trash = path + "/collections/.drop-\(name)-\(getpid())"
            guard StoreIO.fs.rename(dir, trash) == 0 else { throw StoreError.io(path: dir, operation: "rename", reason: errnoText()) }
            try FileOps.syncDirectory(path + "/collections")
            try? FileManager.default.removeItem(atPath: trash)
        }
    }

    /// Flushes and closes every collection and releases the directory lock.
    ///
    /// Each open collection seals its growing rows into a segment and writes its index files,
    /// so the next open replays no log and rebuilds no index. Later calls on the store (and
    /// writes to its collections) throw `closed`; a second `close()` does nothing. The lock is
    /// released even when a collection fails to flush.
    /// - Throws: the first error a collection raised while flushing, a `readOnly` error (its
    ///   acknowledged writes are still in its log and are recovered at the next open).
    public func close() async throws {
        let cols = state.withLock { s -> [Collection] in
            if s.closed { return [] }
            s.closed = true
            return Array(s.open.values)
        }
        var firstError: Error?
        for c in cols { do { try c.close() } catch { firstError = firstError ?? error } }
        lock.release()
        if let firstError { throw firstError }
    }

    deinit { lock.release() }
}
