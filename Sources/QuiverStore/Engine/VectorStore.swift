import Foundation

/// An embedded vector database in a directory: collections of entities with vector, scalar and
/// dynamic fields, durable through a write-ahead log and checksummed segment files.
///
/// One `VectorStore` per directory at a time: opening a directory another process (or another
/// `VectorStore` here) holds fails with `StoreError.storeInUse`. Layout: `DIR/STORE` (identity),
/// `DIR/LOCK` (owner pid), `DIR/collections/NAME/` (manifest, WAL files, segments, index files).
public final class VectorStore: @unchecked Sendable {
    /// The store directory.
    public let path: String
    public let options: StoreOptions
    private let lock: StoreLock
    private let state = Locked<(open: [String: Collection], closed: Bool)>(([:], false))

    static let magic: [UInt8] = Array("QVSTORE\0".utf8)

    /// Opens the store at `path`, creating it when missing.
    /// - Throws: `StoreError.storeInUse` when another process holds it; `corruptFile` when `path`
    ///   holds something else.
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
    /// - Throws: `invalidSchema` naming the field at fault, `collectionExists`.
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

    /// True when the collection exists.
    public func hasCollection(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: Collection.directory(in: path, name) + "/" + Manifest.fileName)
    }

    /// Names of all collections, sorted.
    public func listCollections() async throws -> [String] {
        try check()
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: path + "/collections")) ?? []
        return dirs.filter { hasCollection($0) }.sorted()
    }

    /// Schema, count, indexes of a collection.
    public func describeCollection(_ name: String) async throws -> CollectionInfo {
        try await collection(name).describe()
    }

    /// Deletes a collection and its files.
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
            guard rename(dir, trash) == 0 else { throw StoreError.io(path: dir, operation: "rename", reason: errnoText()) }
            try FileOps.syncDirectory(path + "/collections")
            try? FileManager.default.removeItem(atPath: trash)
        }
    }

    /// Flushes and closes every collection and releases the directory lock.
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
