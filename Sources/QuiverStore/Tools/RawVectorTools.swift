import Foundation

/// The library side of the raw-vector CLI (`quiver import`, `quiver index`, `quiver search`):
/// bring-your-own vectors from NPY files into a store and back out as JSON lines.
public enum RawVectorTools {
    /// Options of `quiver import`.
    public struct ImportOptions: Sendable {
        /// The store directory (created when missing).
        public var database: String
        /// The collection to fill (created when missing).
        public var collection: String
        /// An `.npy` file of shape (n, dimension).
        public var vectorsPath: String
        /// Metric of a new collection (ignored when it exists).
        public var metric: Metric
        /// One primary key per line (int64 when every line is an integer, else strings); nil: row numbers 0..<n.
        public var idsPath: String?
        /// One JSON object per line, fields of each entity (kept in the dynamic field).
        public var metadataPath: String?
        /// Model id the vectors come from (`none` for raw vectors).
        public var model: String
        /// Entities per insert call.
        public var batchSize: Int
        /// Replace entities whose id exists instead of failing.
        public var upsert: Bool

        /// Import options; the defaults match `quiver import`.
        /// - Parameters:
        ///   - database: store directory.
        ///   - collection: collection name.
        ///   - vectorsPath: `.npy` file of the vectors.
        ///   - metric: metric of a new collection.
        ///   - idsPath: ids file, one per line; nil numbers the rows from 0.
        ///   - metadataPath: JSON-lines file of fields; nil for none.
        ///   - model: model id the vectors come from.
        ///   - batchSize: entities per write (values below 1 act as 1).
        ///   - upsert: replace existing ids instead of failing.
        public init(database: String, collection: String, vectorsPath: String, metric: Metric = .cosine, idsPath: String? = nil,
                    metadataPath: String? = nil, model: String = "none", batchSize: Int = 5000, upsert: Bool = false) {
            self.database = database; self.collection = collection; self.vectorsPath = vectorsPath; self.metric = metric
            self.idsPath = idsPath; self.metadataPath = metadataPath; self.model = model; self.batchSize = batchSize; self.upsert = upsert
        }
    }

    /// Imports vectors (and ids and metadata) into a collection, creating it when missing
    /// (primary key `id`, vector field `vector`, dynamic field on). Returns the number imported.
    /// `progress(done, total)` is called after each batch.
    ///
    /// Opens the store for the duration of the call (so it fails with `storeInUse` while another
    /// process holds it) and closes it, flushed, before returning. Each batch is one durable
    /// write: after a failure the batches before it stay imported.
    /// - Throws: `invalidNPY` for the vectors file; `invalidRequest` when the ids or metadata file
    ///   cannot be read, has another number of lines than the vectors have rows, or holds an empty
    ///   id or a line that is not a JSON object; `modelMismatch` when an existing collection is
    ///   bound to another model or width; any error of ``Collection/insert(_:models:)``.
    @discardableResult
    public static func importVectors(_ o: ImportOptions, progress: (Int, Int) -> Void = { _, _ in }) async throws -> Int {
        var source = try ImportSource(o)
        let store = try VectorStore(path: o.database)
        do {
            let n = try await importVectors(o, source: &source, into: store, progress: progress)
            try await store.close()
            return n
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// ``importVectors(_:progress:)`` into an open database of any backend (the embedded store or
    /// Milvus); `o.database` is not used and the database is left open.
    ///
    /// The files are streamed: checked in a first pass, then read a batch at a time from memory
    /// maps, so the memory used is one batch whatever their size.
    @discardableResult
    public static func importVectors(_ o: ImportOptions, into store: any VectorDatabase,
                                     progress: (Int, Int) -> Void = { _, _ in }) async throws -> Int {
        var source = try ImportSource(o)
        return try await importVectors(o, source: &source, into: store, progress: progress)
    }

    static func importVectors(_ o: ImportOptions, source: inout ImportSource,
                              into store: any VectorDatabase, progress: (Int, Int) -> Void) async throws -> Int {
        let rows = source.vectors.rows, columns = source.vectors.columns
        let c: any VectorCollection
        if try await store.hasCollection(o.collection) {
            c = try await store.openCollection(o.collection)
        } else {
            let schema = CollectionSchema(primaryKey: PrimaryKeyField(name: "id", type: source.keyType),
                                          vectorFields: [VectorField(name: "vector", dimension: columns, metric: o.metric,
                                                                     model: EmbeddingModel(id: o.model, dimension: columns))])
            c = try await store.makeCollection(o.collection, schema: schema)
        }
        let field = try c.resolveVectorField(nil)
        let models = [field.name: EmbeddingModel(id: o.model, dimension: columns)]
        while source.done < rows {
            let batch = try source.next(max(o.batchSize, 1), field: field.name)
            if o.upsert { _ = try await c.upsert(batch, models: models) } else { _ = try await c.insert(batch, models: models) }
            progress(source.done, rows)
        }
        try await c.flush()
        return rows
    }

    /// Builds an index on the collection's (only) vector field.
    ///
    /// Opens the store, runs ``Collection/createIndex(field:kind:params:)`` and closes it.
    /// - Throws: `storeInUse`, `collectionNotFound`, and the errors of `createIndex`.
    public static func createIndex(database: String, collection: String, kind: IndexKind, params: [String: Double]) async throws {
        let store = try VectorStore(path: database)
        do {
            try await createIndex(in: store, collection: collection, kind: kind, params: params)
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// ``createIndex(database:collection:kind:params:)`` in an open database of any backend.
    public static func createIndex(in store: any VectorDatabase, collection: String, kind: IndexKind, params: [String: Double]) async throws {
        let c = try await store.openCollection(collection)
        try await c.createIndex(field: nil, kind: kind, params: params)
    }

    /// Searches every row of an `.npy` query file; one hit list per query.
    ///
    /// Opens the store, searches the collection's only vector field and closes the store.
    /// - Parameters:
    ///   - database: store directory.
    ///   - collection: collection name.
    ///   - queriesPath: `.npy` file of shape (queries, dimension).
    ///   - limit: hits per query.
    ///   - params: index search parameters (`ef`, `nprobe`).
    ///   - filter: a filter expression.
    ///   - outputFields: fields to return with each hit.
    ///   - model: the model id the queries come from, checked against the field's binding.
    /// - Throws: `invalidRequest` when the queries' width differs from the field's; otherwise as
    ///   ``Collection/search(_:)``.
    public static func search(database: String, collection: String, queriesPath: String, limit: Int,
                              params: [String: Double] = [:], filter: String? = nil, outputFields: [String] = [],
                              model: String? = nil) async throws -> [[SearchHit]] {
        let store = try VectorStore(path: database)
        do {
            let hits = try await search(in: store, collection: collection, queriesPath: queriesPath, limit: limit,
                                        params: params, filter: filter, outputFields: outputFields, model: model)
            try await store.close()
            return hits
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// ``search(database:collection:queriesPath:limit:params:filter:outputFields:model:)`` in an
    /// open database of any backend (left open).
    public static func search(in store: any VectorDatabase, collection: String, queriesPath: String, limit: Int,
                              params: [String: Double] = [:], filter: String? = nil, outputFields: [String] = [],
                              model: String? = nil) async throws -> [[SearchHit]] {
        let q = try NPY.read(path: queriesPath)
            let c = try await store.openCollection(collection)
            let f = try c.resolveVectorField(nil)
            guard q.columns == f.dimension else {
                throw StoreError.invalidRequest("\(queriesPath) holds \(q.columns)-d queries; collection '\(collection)' field '\(f.name)' holds \(f.model.id) vectors (\(f.dimension)-d)")
            }
            let req = SearchRequest(field: f.name, vectors: (0..<q.rows).map { q.row($0) },
                                    model: model.map { EmbeddingModel(id: $0, dimension: q.columns) },
                                    limit: limit, filter: filter, outputFields: outputFields, params: params)
            return try await c.search(req)
    }

    /// `{"query": i, "ids": [...], "scores": [...]}` for one query.
    ///
    /// Integer ids are JSON numbers, string ids JSON strings; a non-finite score is `null`.
    /// No trailing newline.
    public static func jsonLine(query: Int, hits: [SearchHit]) -> String {
        let ids = hits.map { h -> String in
            switch h.id {
            case let .int(i): return String(i)
            case let .string(s): return JSONValue.quoted(s)
            }
        }
        let scores = hits.map { $0.score.isFinite ? "\($0.score)" : "null" }
        return "{\"query\": \(query), \"ids\": [\(ids.joined(separator: ", "))], \"scores\": [\(scores.joined(separator: ", "))]}"
    }

    /// Parses `KEY=NUMBER` parameters (`M=16`, `efConstruction=200`, `ef=64`).
    ///
    /// Names are not checked here (the index does that); a repeated name keeps the last value.
    /// - Throws: `StoreError.invalidRequest` quoting an item without `=`, with an empty name or a
    ///   value that is not a number.
    public static func parseParams(_ items: [String]) throws -> [String: Double] {
        var out: [String: Double] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let v = Double(parts[1]) else {
                throw StoreError.invalidRequest("parameter '\(item)' must look like NAME=NUMBER (for example M=16)")
            }
            out[parts[0]] = v
        }
        return out
    }
}
