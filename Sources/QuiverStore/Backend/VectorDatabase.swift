import Foundation

/// A vector database Quiver can write to and search: the embedded ``VectorStore`` or a Milvus
/// server (`QuiverMilvus.MilvusStore`).
///
/// The ingest pipeline, the `Searcher`, the `quiver` command and the server use this protocol
/// only, so they do not know which backend they talk to. Every backend keeps the embedding-space
/// rule: a vector field's ``EmbeddingModel`` binding is stored with the collection and checked on
/// every insert and search (``StoreError/modelMismatch(collection:field:expectedModel:expectedDimension:gotModel:gotDimension:)``).
public protocol VectorDatabase: AnyObject, Sendable {
    /// Where the database is, for messages: a folder path or a server URL (no credentials).
    var location: String { get }
    /// Creates a collection with a schema (the schema's vector fields carry their model binding).
    /// - Throws: ``StoreError/collectionExists(_:)`` when it exists, `invalidSchema` for a bad schema.
    func makeCollection(_ name: String, schema: CollectionSchema) async throws -> any VectorCollection
    /// Opens an existing collection.
    /// - Throws: ``StoreError/collectionNotFound(_:)``.
    func openCollection(_ name: String) async throws -> any VectorCollection
    /// True when the collection exists.
    func hasCollection(_ name: String) async throws -> Bool
    /// The collection names, sorted.
    func listCollections() async throws -> [String]
    /// Opens those of `names` that exist (the others are left out of the result), in as few round
    /// trips as the backend allows: a server backend lists its collections once and reuses the
    /// handles it opened before when the collection is still the same one (not dropped and made
    /// again), so a search does not pay for a describe and a load check every time.
    func openCollections(_ names: [String]) async throws -> [String: any VectorCollection]
    /// A collection's schema, live row count and indexes.
    func describeCollection(_ name: String) async throws -> CollectionInfo
    /// Deletes a collection and its data.
    func dropCollection(_ name: String) async throws
    /// Flushes and closes; the database is not usable afterwards.
    func close() async throws
}

/// One collection of a ``VectorDatabase``: entities with a primary key, vector fields bound to
/// models, scalar and dynamic fields. ``Collection`` (embedded) and Milvus collections conform.
///
/// Row predicates (`where:`) run in this process and are only supported by the embedded store;
/// other backends throw ``StoreError/invalidRequest(_:)`` for them and take filter expressions.
public protocol VectorCollection: AnyObject, Sendable {
    /// The collection name.
    var name: String { get }
    /// The schema, with each vector field's model binding.
    var schema: CollectionSchema { get }
    /// Inserts entities; `models` names the model that made each vector field's vectors (checked
    /// against the binding). Returns the primary keys in order.
    func insert(_ entities: [Entity], models: [String: EmbeddingModel]) async throws -> [PrimaryKey]
    /// Inserts or replaces entities by primary key; returns the keys in order.
    func upsert(_ entities: [Entity], models: [String: EmbeddingModel]) async throws -> [PrimaryKey]
    /// Deletes entities by primary key; returns how many existed.
    func delete(ids: [PrimaryKey]) async throws -> Int
    /// Deletes the entities matching a filter expression; returns how many.
    func delete(filter: String) async throws -> Int
    /// The entities with these keys (missing keys are left out), with the named output fields.
    func get(ids: [PrimaryKey], outputFields: [String]) async throws -> [Row]
    /// Entities matching a filter (nil: all), at most `limit` after skipping `offset`.
    func query(filter: String?, where predicate: RowPredicate?, limit: Int?, offset: Int, outputFields: [String]) async throws -> [Row]
    /// The number of entities matching a filter (nil: all live entities).
    func count(filter: String?, where predicate: RowPredicate?) async throws -> Int
    /// Vector search: one list of hits per query vector, best first.
    func search(_ request: SearchRequest) async throws -> [[SearchHit]]
    /// Builds an index on a vector field (nil: the only one).
    func createIndex(field: String?, kind: IndexKind, params: [String: Double]) async throws
    /// Drops a vector field's index.
    func dropIndex(field: String?) async throws
    /// The indexes, one per indexed vector field.
    func indexes() async throws -> [IndexInfo]
    /// Schema, live count and indexes.
    func describe() async throws -> CollectionInfo
    /// Makes every acknowledged write durable (and, on Milvus, sealed and searchable).
    func flush() async throws
    /// Reads every entity, a page of at most `limit` at a time, in an order that does not change
    /// while nobody writes (embedded store: insertion order; Milvus: primary key order). Start
    /// with `after: nil`; pass the returned cursor for the next page; a nil cursor means the end.
    /// Memory is one page whatever the collection's size (what `quiver copy` streams with).
    func scan(after cursor: ScanCursor?, limit: Int, outputFields: [String]) async throws -> (rows: [Row], next: ScanCursor?)
}

/// Where a ``VectorCollection/scan(after:limit:outputFields:)`` stopped.
public struct ScanCursor: Sendable, Hashable {
    /// Rows read so far (the embedded store's position in insertion order).
    public var offset: Int
    /// The last primary key read (Milvus: the next page is the keys above it).
    public var lastKey: PrimaryKey?
    /// A cursor after `offset` rows, the last of them `lastKey`.
    public init(offset: Int, lastKey: PrimaryKey?) { self.offset = offset; self.lastKey = lastKey }
}

extension VectorStore: VectorDatabase {
    /// The store's folder.
    public var location: String { path }
    /// ``createCollection(_:schema:)`` as a ``VectorCollection``.
    public func makeCollection(_ name: String, schema: CollectionSchema) async throws -> any VectorCollection {
        try await createCollection(name, schema: schema)
    }
    /// ``collection(_:)`` as a ``VectorCollection``.
    public func openCollection(_ name: String) async throws -> any VectorCollection {
        try await collection(name)
    }
}

extension Collection: VectorCollection {
    /// Pages in insertion order, by offset: skipping rows costs a scan without materializing them.
    public func scan(after cursor: ScanCursor?, limit: Int, outputFields: [String]) async throws -> (rows: [Row], next: ScanCursor?) {
        guard limit >= 1 else { throw StoreError.invalidRequest("scan limit must be at least 1") }
        let offset = cursor?.offset ?? 0
        let rows = try await query(filter: nil, where: nil, limit: limit, offset: offset, outputFields: outputFields)
        return (rows, rows.count < limit ? nil : ScanCursor(offset: offset + rows.count, lastKey: rows.last?.id))
    }
}

extension VectorDatabase {
    /// ``VectorDatabase/openCollections(_:)`` by ``hasCollection(_:)`` and ``openCollection(_:)``
    /// for each name (cheap in-process calls on the embedded store).
    public func openCollections(_ names: [String]) async throws -> [String: any VectorCollection] {
        var out: [String: any VectorCollection] = [:]
        for n in names where out[n] == nil {
            if try await hasCollection(n) { out[n] = try await openCollection(n) }
        }
        return out
    }
}

extension VectorCollection {
    /// The vector field named `name`, or the only one when `name` is nil.
    /// - Throws: ``StoreError/invalidRequest(_:)`` naming the collection's vector fields.
    public func resolveVectorField(_ name: String?) throws -> VectorField {
        let fields = schema.vectorFields
        if let name {
            if let f = fields.first(where: { $0.name == name }) { return f }
            throw StoreError.invalidRequest("collection '\(self.name)' has no vector field '\(name)' (it has \(fields.map(\.name).joined(separator: ", ")))")
        }
        guard fields.count == 1 else {
            throw StoreError.invalidRequest("collection '\(self.name)' has \(fields.count) vector fields; name one (\(fields.map(\.name).joined(separator: ", ")))")
        }
        return fields[0]
    }
}
