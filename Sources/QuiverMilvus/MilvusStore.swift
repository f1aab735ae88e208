import Foundation
import GRPCCore
import QuiverMilvusWire
import QuiverStore
import SwiftProtobuf
import Synchronization

/// How fresh reads (query, count, get, search) must be; the Milvus consistency levels.
public enum MilvusConsistency: String, Sendable, CaseIterable {
    /// Every read sees every write acknowledged before it, by anyone (Milvus waits for its
    /// time tick: on Milvus 2.3 about 200 ms per read). The default, like the embedded store.
    case strong = "Strong"
    /// Every read sees the writes of this ``MilvusStore`` (read your own writes), without
    /// waiting for later ones: much faster on Milvus 2.3; other clients' writes may show late.
    case session = "Session"
    /// Reads may miss the last few seconds of writes.
    case bounded = "Bounded"
    /// Reads may miss any recent write.
    case eventually = "Eventually"

    var level: Int32 {
        switch self { case .strong: return 0; case .session: return 1; case .bounded: return 2; case .eventually: return 3 }
    }
}


/// A Milvus server (or Zilliz Cloud) as a ``VectorDatabase``, over Milvus' gRPC API.
///
/// ```swift
/// let db = try await MilvusStore(address: "milvus://127.0.0.1:19530", token: "root:Milvus")
/// let docs = try await db.makeCollection("docs", schema: .quick(dimension: 384, model: model))
/// try await docs.insert(entities, models: ["vector": model])
/// ```
///
/// Behaves like the embedded ``VectorStore``: the model binding of each vector field is stored
/// with the collection (property `quiver.schema`) and checked on every insert and search; new
/// collections get Strong consistency and are indexed (FLAT, exact) and loaded so they are
/// searchable at once; reads use Strong consistency so a write is visible to the next read.
/// Differences: `query` without a filter returns entities in primary key order (not insertion
/// order); row predicates (`where:`) are not supported.
public final class MilvusStore: VectorDatabase {
    let conn: MilvusConnection
    /// Seconds to wait for a collection to load or an index to build.
    let loadTimeout: Double
    /// The consistency of reads (and of new collections).
    public let consistency: MilvusConsistency
    /// For Session reads: the newest timestamp Milvus gave a write of this store, and writes
    /// answered without a timestamp (Milvus 2.3's delete), which make reads Strong until a Strong
    /// read has seen them.
    struct WriteClock { var last: UInt64 = 0; var untimed = 0; var seen = 0 }
    let writes = Mutex(WriteClock())
    /// Collections opened by ``openCollections(_:)``, by name, with the Milvus collection id they
    /// were opened at: reused while a listing shows the same id (a collection dropped and made
    /// again gets a new id and is described afresh).
    let handles = Mutex<[String: MilvusCollection]>([:])

    func noteWrite(_ ts: UInt64) {
        writes.withLock { w in if ts == 0 { w.untimed += 1 } else { w.last = max(w.last, ts) } }
    }

    /// A read's consistency level, the timestamp it must see (0: none), and a token for ``readDone(_:)``.
    func readConsistency() -> (level: Int32, guarantee: UInt64, token: Int) {
        guard consistency == .session else { return (consistency.level, 0, 0) }
        let w = writes.withLock { $0 }
        if w.untimed > w.seen { return (MilvusConsistency.strong.level, 0, w.untimed) }
        return (consistency.level, max(w.last, 1), 0)
    }

    /// A Strong read made for untimed writes succeeded: they are visible now.
    func readDone(_ token: Int) {
        if token > 0 { writes.withLock { $0.seen = max($0.seen, token) } }
    }

    /// The server address, without credentials (e.g. `milvus://127.0.0.1:19530`).
    public var location: String { conn.server }
    /// The database used (empty: the server's default database).
    public var dbName: String { conn.dbName }

    /// Connects to a Milvus server and checks that it answers and accepts the credentials.
    /// - Parameters:
    ///   - address: `milvus://host[:port]`, `http://host[:port]` (plaintext, default port 19530),
    ///     `https://host[:port]` (TLS, default port 443: Zilliz Cloud) or `unix:/path`.
    ///   - token: `user:password` or an API key, sent as `authorization: base64(token)` on every
    ///     call; nil for a server without authorization (or `user:password@` in the address).
    ///   - dbName: the Milvus database (sent as `dbname` metadata); nil for the default (or a
    ///     path in the address, `milvus://host:port/mydb`).
    ///   - caFile: a PEM file of CA certificates to trust for `https://` instead of the system roots.
    ///   - timeout: seconds each call may take before it fails with ``MilvusError/timeout(server:collection:operation:seconds:)``.
    ///   - loadTimeout: seconds to wait for a collection to load or an index to build.
    ///   - consistency: how fresh reads must be (default Strong; Session reads this store's own
    ///     writes without waiting for Milvus' time tick).
    /// - Throws: ``MilvusError/invalidAddress(_:reason:)``, `unreachable`, `unauthenticated`,
    ///   `tls`, `timeout`.
    public init(address: String, token: String? = nil, dbName: String? = nil, caFile: String? = nil,
                timeout: Double = 30, loadTimeout: Double = 120, consistency: MilvusConsistency = .strong) async throws {
        let a = try MilvusAddress(parsing: address)
        conn = try MilvusConnection(address: a, token: token, dbName: dbName, caFile: caFile, timeout: timeout)
        self.loadTimeout = loadTimeout
        self.consistency = consistency
        do {
            _ = try await listCollections()
        } catch {
            conn.close()
            throw error
        }
    }

    /// The database a `--db` value names: a ``MilvusStore`` for a Milvus address
    /// (``MilvusAddress/isMilvusAddress(_:)``), otherwise the embedded ``VectorStore`` in that folder.
    /// - Parameters: as ``init(address:token:dbName:caFile:timeout:loadTimeout:)``; `token`,
    ///   `dbName` and `caFile` are ignored for a folder.
    public static func open(_ location: String, token: String? = nil, dbName: String? = nil, caFile: String? = nil,
                            timeout: Double = 30, consistency: MilvusConsistency = .strong) async throws -> any VectorDatabase {
        if MilvusAddress.isMilvusAddress(location) {
            return try await MilvusStore(address: location, token: token, dbName: dbName, caFile: caFile, timeout: timeout,
                                         consistency: consistency)
        }
        return try VectorStore(path: location)
    }

    /// The server's version string (e.g. `v2.3.5-lite`, `milvus_lite-3.2.2`).
    public func serverVersion() async throws -> String {
        let r = try await conn.call("GetVersion", safe: true) { s, m, o in try await s.getVersion(MVGetVersionRequest(), metadata: m, options: o) }
        try conn.check(r.status, "GetVersion", collection: nil)
        return r.version
    }

    /// Creates a collection, indexes every vector field with FLAT (exact search, the metric of
    /// the field) and loads it, so it can be searched at once; ``MilvusCollection/createIndex(field:kind:params:)``
    /// replaces that index.
    /// - Throws: `StoreError.invalidSchema`, `StoreError.collectionExists`, `MilvusError`.
    public func makeCollection(_ name: String, schema: CollectionSchema) async throws -> any VectorCollection {
        try await createCollection(name, schema: schema)
    }

    /// ``makeCollection(_:schema:)`` returning the concrete type.
    public func createCollection(_ name: String, schema: CollectionSchema) async throws -> MilvusCollection {
        try schema.validate(collection: name)
        if try await hasCollection(name) { throw StoreError.collectionExists(name) }
        var req = MVCreateCollectionRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        req.schema = try MilvusSchemaCodec.wireSchema(schema, name: name).serializedBytes()
        req.consistencyLevel = consistency.level
        req.properties = [MilvusSchemaCodec.kv(MilvusSchemaCodec.propertyKey, try MilvusSchemaCodec.encodeSchema(schema))]
        let r = try await conn.call("CreateCollection", collection: name, safe: false) { [req] s, m, o in
            try await s.createCollection(req, metadata: m, options: o)
        }
        try conn.check(r, "CreateCollection", collection: name)
        let c = try await open(name)
        try await c.ensureLoaded()
        return c
    }

    /// Opens an existing collection (made by Quiver, or by another client: then its vector
    /// fields take raw vectors, model `none`). Loads it when it is not loaded, after creating a
    /// FLAT index on vector fields that have none.
    /// - Throws: `StoreError.collectionNotFound`, `MilvusError`.
    public func openCollection(_ name: String) async throws -> any VectorCollection {
        try await collection(name)
    }

    /// ``openCollection(_:)`` returning the concrete type.
    public func collection(_ name: String) async throws -> MilvusCollection {
        let c = try await open(name)
        try await c.ensureLoaded()
        return c
    }

    func open(_ name: String) async throws -> MilvusCollection {
        var req = MVDescribeCollectionRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        let r = try await conn.call("DescribeCollection", collection: name, safe: true) { [req] s, m, o in
            try await s.describeCollection(req, metadata: m, options: o)
        }
        try conn.check(r.status, "DescribeCollection", collection: name)
        if let stored = MilvusSchemaCodec.storedSchema(r.properties) {
            return MilvusCollection(store: self, name: name, schema: stored, wire: r.schema, bound: true, id: r.collectionID)
        }
        let c = MilvusCollection(store: self, name: name, schema: MilvusSchemaCodec.foreignSchema(r.schema, metrics: [:]), wire: r.schema, bound: false)
        // Metrics of a foreign collection come from its indexes.
        let metrics = try await c.describeIndexes().reduce(into: [String: Metric]()) { $0[$1.field] = $1.metric }
        return MilvusCollection(store: self, name: name, schema: MilvusSchemaCodec.foreignSchema(r.schema, metrics: metrics), wire: r.schema, bound: false,
                                id: r.collectionID)
    }

    /// Opens those of `names` that exist with one `ShowCollections` call: a collection opened
    /// before by this method is reused when the listing shows it with the same collection id
    /// (so it is the same collection, not one dropped and made again under its name); others are
    /// described and loaded as ``collection(_:)`` does. A handle reused after someone released
    /// the collection loads it again on its next read (``MilvusCollection`` retries "not loaded").
    /// Servers that list no ids (or id 0) get no reuse: every call describes.
    public func openCollections(_ names: [String]) async throws -> [String: any VectorCollection] {
        var req = MVShowCollectionsRequest()
        req.dbName = conn.dbName
        let r = try await conn.call("ShowCollections", safe: true) { [req] s, m, o in
            try await s.showCollections(req, metadata: m, options: o)
        }
        try conn.check(r.status, "ShowCollections", collection: nil)
        var ids: [String: Int64] = [:]
        if r.collectionIds.count == r.collectionNames.count {
            for (n, id) in zip(r.collectionNames, r.collectionIds) { ids[n] = id }
        }
        let present = Set(r.collectionNames)
        var out: [String: any VectorCollection] = [:]
        for n in names where present.contains(n) && out[n] == nil {
            let listed = ids[n] ?? 0
            if listed != 0, let h = handles.withLock({ $0[n] }), h.collectionID == listed {
                out[n] = h
                continue
            }
            let c = try await collection(n)
            handles.withLock { h in
                if listed != 0 && c.collectionID == listed { h[n] = c } else { h[n] = nil }
            }
            out[n] = c
        }
        return out
    }

    /// True when the collection exists.
    public func hasCollection(_ name: String) async throws -> Bool {
        var req = MVHasCollectionRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        let r = try await conn.call("HasCollection", collection: name, safe: true) { [req] s, m, o in
            try await s.hasCollection(req, metadata: m, options: o)
        }
        try conn.check(r.status, "HasCollection", collection: name)
        return r.value
    }

    /// The collection names of the database, sorted.
    public func listCollections() async throws -> [String] {
        var req = MVShowCollectionsRequest()
        req.dbName = conn.dbName
        let r = try await conn.call("ShowCollections", safe: true) { [req] s, m, o in
            try await s.showCollections(req, metadata: m, options: o)
        }
        try conn.check(r.status, "ShowCollections", collection: nil)
        return r.collectionNames.sorted()
    }

    /// Schema, live count (`count(*)`, which excludes deleted entities) and indexes.
    public func describeCollection(_ name: String) async throws -> CollectionInfo {
        try await collection(name).describe()
    }

    /// Drops a collection and its data.
    /// - Throws: `StoreError.collectionNotFound`, `MilvusError`.
    public func dropCollection(_ name: String) async throws {
        guard try await hasCollection(name) else { throw StoreError.collectionNotFound(name) }
        var req = MVDropCollectionRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        let r = try await conn.call("DropCollection", collection: name, safe: true) { [req] s, m, o in
            try await s.dropCollection(req, metadata: m, options: o)
        }
        try conn.check(r, "DropCollection", collection: name)
        handles.withLock { $0[name] = nil }
    }

    /// Closes the connection; the store is not usable afterwards.
    public func close() async throws {
        conn.close()
    }

    deinit { conn.close() }
}
