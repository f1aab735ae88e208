import Foundation
import GRPCCore
import QuiverMilvusWire
import QuiverStore
import SwiftProtobuf
import Synchronization

/// An index as Milvus reports it (with its Milvus type name, e.g. `AUTOINDEX`).
public struct MilvusIndexInfo: Sendable, Hashable {
    /// The vector field.
    public var field: String
    /// Milvus' index name.
    public var indexName: String
    /// Milvus' index type (`FLAT`, `HNSW`, `IVF_FLAT`, `IVF_SQ8`, `AUTOINDEX`, ...).
    public var indexType: String
    /// The metric the index was built with.
    public var metric: Metric
    /// Numeric build parameters (`M`, `efConstruction`, `nlist`, ...).
    public var params: [String: Double]
    /// True for the FLAT index Quiver creates so a collection can be loaded (not shown by ``MilvusCollection/indexes()``).
    public var isDefault: Bool
}

/// A collection on a Milvus server, as a ``VectorCollection``.
///
/// Obtain one from ``MilvusStore/createCollection(_:schema:)`` or ``MilvusStore/collection(_:)``.
/// Writes are checked against the schema and the model bindings before anything is sent (same
/// errors as the embedded store); reads use Strong consistency.
public final class MilvusCollection: VectorCollection {
    /// The collection name.
    public let name: String
    /// The schema (for a collection made outside Quiver: raw-vector bindings, see ``isBound``).
    public let schema: CollectionSchema
    /// True when the collection carries Quiver's schema with model bindings; false for one made
    /// by another client (its vector fields take raw vectors, model `none`).
    public let isBound: Bool
    let store: MilvusStore
    var conn: MilvusConnection { store.conn }
    /// Milvus data type of every field by name.
    let wireTypes: [String: Int32]
    let pk: PrimaryKeyField
    /// Milvus' id of the collection when it was described (0 when the server gave none); a
    /// collection dropped and made again under the same name has a new id.
    let collectionID: Int64
    /// Set when the collection was released by ``dropIndex(field:)``; the next read loads it again.
    let needsLoad = Mutex(false)

    /// Largest encoded size of one insert message (Milvus' default gRPC limit is 4 MiB... with room for headers).
    static let maxMessageBytes = 3_500_000
    /// Milvus' limit on offset + limit of a query or search.
    static let maxWindow = 16384
    static let defaultIndexPrefix = "quiver_default_"

    init(store: MilvusStore, name: String, schema: CollectionSchema, wire: MVCollectionSchema, bound: Bool, id: Int64 = 0) {
        self.store = store; self.name = name; self.schema = schema; self.isBound = bound; self.collectionID = id
        var t: [String: Int32] = [:]
        for f in wire.fields { t[f.name] = f.dataType }
        wireTypes = t
        pk = schema.primaryKey
    }

    // MARK: - helpers

    func bad(_ r: String) -> StoreError { .invalidData(collection: name, reason: r) }

    func vectorField(_ n: String?) throws -> VectorField {
        if let n {
            guard let f = schema.vectorFields.first(where: { $0.name == n }) else {
                throw StoreError.invalidRequest("collection '\(name)' has no vector field '\(n)' (it has \(schema.vectorFields.map(\.name).joined(separator: ", ")))")
            }
            return f
        }
        guard schema.vectorFields.count == 1 else {
            throw StoreError.invalidRequest("collection '\(name)' has \(schema.vectorFields.count) vector fields; name one (\(schema.vectorFields.map(\.name).joined(separator: ", ")))")
        }
        return schema.vectorFields[0]
    }

    func noPredicate(_ p: RowPredicate?) throws {
        if p != nil {
            throw StoreError.invalidRequest("collection '\(name)' is on Milvus (\(conn.server)): row predicates run only on the embedded store; use a filter expression")
        }
    }

    static func literal(_ k: PrimaryKey) -> String {
        switch k { case let .int(i): return String(i); case let .string(s): return JSONValue.quoted(s) }
    }

    func idsExpression(_ ids: [PrimaryKey]) -> String {
        "\(pk.name) in [\(ids.map(Self.literal).joined(separator: ","))]"
    }

    /// An expression every entity matches.
    var allExpression: String {
        pk.type == .int64 ? "\(pk.name) >= -9223372036854775807 || \(pk.name) < -9223372036854775806" : "\(pk.name) >= \"\""
    }

    static func blank(_ s: String?) -> Bool { s?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true }

    /// Runs a read; loads the collection first when it was released, and once more when Milvus
    /// says it is not loaded.
    func whileLoaded<R>(_ body: () async throws -> R) async throws -> R {
        if needsLoad.withLock({ $0 }) { try await ensureLoaded() }
        do { return try await body() } catch let MilvusError.server(_, _, _, _, reason) where reason.lowercased().contains("not loaded") || reason.lowercased().contains("not load") {
            try await ensureLoaded()
            return try await body()
        }
    }

    // MARK: - load and indexes

    /// Makes the collection searchable: FLAT indexes on vector fields without one, then load
    /// and wait (up to the store's load timeout).
    public func ensureLoaded() async throws {
        if try await loadState() == 3 { needsLoad.withLock { $0 = false }; return }
        let existing = Set(try await describeIndexes().map(\.field))
        for f in schema.vectorFields where !existing.contains(f.name) {
            try await createWireIndex(field: f, type: "FLAT", params: [:], indexName: Self.defaultIndexPrefix + f.name)
        }
        var req = MVLoadCollectionRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        let r = try await conn.call("LoadCollection", collection: name, safe: true) { [req] s, m, o in
            try await s.loadCollection(req, metadata: m, options: o)
        }
        try conn.check(r, "LoadCollection", collection: name)
        let deadline = ContinuousClock.now + .milliseconds(Int64(store.loadTimeout * 1000))
        while try await loadState() != 3 {
            guard ContinuousClock.now < deadline else {
                throw MilvusError.timeout(server: conn.server, collection: name, operation: "loading the collection", seconds: store.loadTimeout)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        needsLoad.withLock { $0 = false }
    }

    /// 0 not exist, 1 not loaded, 2 loading, 3 loaded.
    func loadState() async throws -> Int32 {
        var req = MVGetLoadStateRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        let r = try await conn.call("GetLoadState", collection: name, safe: true) { [req] s, m, o in
            try await s.getLoadState(req, metadata: m, options: o)
        }
        try conn.check(r.status, "GetLoadState", collection: name)
        return r.state
    }

    func release() async throws {
        var req = MVReleaseCollectionRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        let r = try await conn.call("ReleaseCollection", collection: name, safe: true) { [req] s, m, o in
            try await s.releaseCollection(req, metadata: m, options: o)
        }
        try conn.check(r, "ReleaseCollection", collection: name)
    }

    /// Every index Milvus has on this collection, including Quiver's default FLAT indexes.
    public func describeIndexes() async throws -> [MilvusIndexInfo] {
        var req = MVDescribeIndexRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        let r = try await conn.call("DescribeIndex", collection: name, safe: true) { [req] s, m, o in
            try await s.describeIndex(req, metadata: m, options: o)
        }
        // No index: legacy IndexNotExist (25) or code 700 ("index not found").
        if r.status.errorCode == 25 || r.status.code == 700 || r.status.reason.lowercased().contains("index not found")
            || r.status.reason.lowercased().contains("index doesn't exist") { return [] }
        try conn.check(r.status, "DescribeIndex", collection: name)
        return r.indexDescriptions.map { d in
            var type = "", metric = Metric.cosine, params: [String: Double] = [:]
            for kv in d.params {
                switch kv.key {
                case "index_type": type = kv.value
                case "metric_type": metric = Metric(rawValue: kv.value.uppercased()) ?? .cosine
                case "params":
                    if let data = kv.value.data(using: .utf8), let o = try? JSONDecoder().decode([String: JSONValue].self, from: data) {
                        for (k, v) in o {
                            if case let .number(n) = v { params[k] = n } else if case let .string(s) = v, let n = Double(s) { params[k] = n }
                        }
                    }
                default: if let n = Double(kv.value) { params[kv.key] = n }
                }
            }
            return MilvusIndexInfo(field: d.fieldName, indexName: d.indexName, indexType: type, metric: metric, params: params,
                                   isDefault: d.indexName.hasPrefix(Self.defaultIndexPrefix))
        }
    }

    func createWireIndex(field f: VectorField, type: String, params: [String: Double], indexName: String) async throws {
        var req = MVCreateIndexRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        req.fieldName = f.name
        req.indexName = indexName
        var p: [String: JSONValue] = [:]
        for (k, v) in params { p[k] = .number(v) }
        let pjson = String(decoding: try JSONEncoder().encode(p), as: UTF8.self)
        req.extraParams = [MilvusSchemaCodec.kv("index_type", type), MilvusSchemaCodec.kv("metric_type", f.metric.rawValue),
                           MilvusSchemaCodec.kv("params", pjson)]
        for (k, v) in params { req.extraParams.append(MilvusSchemaCodec.kv(k, v == v.rounded() ? String(Int64(v)) : String(v))) }
        let r = try await conn.call("CreateIndex", collection: name, safe: true) { [req] s, m, o in
            try await s.createIndex(req, metadata: m, options: o)
        }
        try conn.check(r, "CreateIndex", collection: name)
        // Wait until the index is built (state 3 Finished; 4 Failed).
        let deadline = ContinuousClock.now + .milliseconds(Int64(store.loadTimeout * 1000))
        while true {
            var dreq = MVDescribeIndexRequest()
            dreq.dbName = conn.dbName
            dreq.collectionName = name
            dreq.indexName = indexName
            let d = try await conn.call("DescribeIndex", collection: name, safe: true) { [dreq] s, m, o in
                try await s.describeIndex(dreq, metadata: m, options: o)
            }
            try conn.check(d.status, "DescribeIndex", collection: name)
            guard let desc = d.indexDescriptions.first(where: { $0.indexName == indexName }) else { return }
            if desc.state == 3 || desc.state == 0 { return }
            if desc.state == 4 {
                throw MilvusError.server(server: conn.server, collection: name, operation: "building index \(type) on '\(f.name)'", code: 4,
                                         reason: desc.indexStateFailReason)
            }
            guard ContinuousClock.now < deadline else {
                throw MilvusError.timeout(server: conn.server, collection: name, operation: "building index \(type) on '\(f.name)'", seconds: store.loadTimeout)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func dropWireIndex(field: String, indexName: String) async throws {
        var req = MVDropIndexRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        req.fieldName = field
        req.indexName = indexName
        let r = try await conn.call("DropIndex", collection: name, safe: true) { [req] s, m, o in
            try await s.dropIndex(req, metadata: m, options: o)
        }
        try conn.check(r, "DropIndex", collection: name)
    }

    /// Builds an index of a Milvus type on a vector field (replacing any index it has), with the
    /// field's metric, and loads the collection. `indexType` may be any type the server knows
    /// (`AUTOINDEX`, `DISKANN`, `SCANN`, ...); ``createIndex(field:kind:params:)`` takes Quiver's kinds.
    /// - Parameters:
    ///   - field: the vector field; nil when there is one.
    ///   - indexType: Milvus' index type name.
    ///   - params: build parameters as Milvus names them (`M`, `efConstruction`, `nlist`).
    public func createIndex(field: String?, indexType: String, params: [String: Double] = [:]) async throws {
        let f = try vectorField(field)
        let existing = try await describeIndexes().filter { $0.field == f.name }
        try await release()
        needsLoad.withLock { $0 = true }
        for e in existing { try await dropWireIndex(field: f.name, indexName: e.indexName) }
        try await createWireIndex(field: f, type: indexType, params: params, indexName: f.name)
        try await ensureLoaded()
    }

    /// Builds Milvus' AUTOINDEX (the server picks the type and parameters) on a vector field.
    public func createAutoIndex(field: String? = nil) async throws {
        try await createIndex(field: field, indexType: "AUTOINDEX", params: [:])
    }

    /// Builds an index (FLAT, HNSW, IVF_FLAT, IVF_SQ8) with the field's metric, replacing the
    /// field's index, then loads the collection. Parameters go to Milvus as given (`M`,
    /// `efConstruction`, `nlist`).
    ///
    /// Milvus needs every build parameter: missing ones get the embedded store's defaults (HNSW
    /// `M` 16, `efConstruction` 200; IVF `nlist` 128), and IVF_SQ8's `rerank` (an embedded-store
    /// parameter Milvus does not have) is left out.
    public func createIndex(field: String?, kind: IndexKind, params: [String: Double]) async throws {
        var p = params
        switch kind {
        case .hnsw:
            if p["M"] == nil { p["M"] = 16 }
            if p["efConstruction"] == nil { p["efConstruction"] = 200 }
        case .ivfFlat, .ivfSQ8:
            if p["nlist"] == nil { p["nlist"] = 128 }
            p["rerank"] = nil
        case .flat: break
        }
        try await createIndex(field: field, indexType: kind.rawValue, params: p)
    }

    /// Drops a vector field's index. The collection is released; the next read indexes it with
    /// FLAT (exact search, like the embedded store without an index) and loads it again.
    /// - Throws: `StoreError.invalidRequest` when the field has no index of its own.
    public func dropIndex(field: String?) async throws {
        let f = try vectorField(field)
        let existing = try await describeIndexes().filter { $0.field == f.name }
        guard existing.contains(where: { !$0.isDefault }) else {
            throw StoreError.invalidRequest("collection '\(name)' field '\(f.name)' has no index")
        }
        try await release()
        needsLoad.withLock { $0 = true }
        for e in existing { try await dropWireIndex(field: f.name, indexName: e.indexName) }
    }

    /// The indexes made with ``createIndex(field:kind:params:)`` (or by other clients), sorted
    /// by field; Quiver's default FLAT indexes are left out, as the embedded store reports no
    /// index before one is created. A Milvus type Quiver has no kind for (`AUTOINDEX`, ...) is
    /// reported as HNSW; ``describeIndexes()`` has the real name.
    public func indexes() async throws -> [IndexInfo] {
        try await describeIndexes().filter { !$0.isDefault }.map { i in
            IndexInfo(field: i.field, kind: IndexKind(rawValue: i.indexType) ?? .hnsw, params: i.params)
        }.sorted { $0.field < $1.field }
    }

    /// Schema, live count and indexes.
    public func describe() async throws -> CollectionInfo {
        CollectionInfo(name: name, schema: schema, count: try await count(filter: nil, where: nil), indexes: try await indexes())
    }

    /// Seals the collection's growing segments (Milvus Flush) and waits until they are flushed.
    public func flush() async throws {
        var req = MVFlushRequest()
        req.dbName = conn.dbName
        req.collectionNames = [name]
        let r = try await conn.call("Flush", collection: name, safe: true) { [req] s, m, o in
            try await s.flush(req, metadata: m, options: o)
        }
        try conn.check(r.status, "Flush", collection: name)
        let segs = (r.collSegIds[name]?.data ?? []) + (r.flushCollSegIds[name]?.data ?? [])
        guard !segs.isEmpty else { return }
        var f = MVGetFlushStateRequest()
        f.segmentIds = segs
        f.flushTs = r.collFlushTs[name] ?? 0
        f.dbName = conn.dbName
        f.collectionName = name
        let deadline = ContinuousClock.now + .milliseconds(Int64(store.loadTimeout * 1000))
        while true {
            let s: MVGetFlushStateResponse
            do {
                s = try await conn.call("GetFlushState", collection: name, safe: true) { [f] sv, m, o in
                    try await sv.getFlushState(f, metadata: m, options: o)
                }
            } catch MilvusError.rpc { return }  // not implemented (Lite): Flush was synchronous
            try conn.check(s.status, "GetFlushState", collection: name)
            if s.flushed { return }
            guard ContinuousClock.now < deadline else {
                throw MilvusError.timeout(server: conn.server, collection: name, operation: "flushing", seconds: store.loadTimeout)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
