import Foundation
import QuiverStore

/// Progress of a ``DatabaseCopy`` run: rows of one collection written so far.
public struct CopyProgress: Sendable {
    /// The collection being copied.
    public var collection: String
    /// Rows written to the destination (or found there already) so far.
    public var done: Int
    /// Rows of the source collection.
    public var total: Int
}

/// What a ``DatabaseCopy`` run did, per collection.
public struct CopyReport: Sendable {
    /// One line per collection.
    public struct Entry: Sendable {
        /// The collection name.
        public var collection: String
        /// Rows copied in this run.
        public var copied: Int
        /// Rows the destination already held (an earlier, interrupted run), left as they were.
        public var alreadyThere: Int
        /// Rows of the source, equal to the destination's count at the end (verified).
        public var total: Int
    }
    /// Collections in the order they were copied.
    public var entries: [Entry] = []
}

/// Copies collections between two databases of any backend — the embedded store and Milvus,
/// either way — with their schemas, model bindings, metadata, primary keys and index types.
///
/// This is how a user outgrows one machine: `quiver copy --from quiver.db --to milvus://host:19530`.
/// The copy is resumable: rows whose primary key the destination already holds are skipped, so
/// running it again after an interruption completes it without duplicates. At the end the
/// destination's row count is compared with the source's. It streams: the source is read a page
/// of `batchSize` rows at a time (``VectorCollection/scan(after:limit:outputFields:)``), so its
/// memory does not grow with the collection.
///
/// A collection with automatic ids is created at the destination with explicit ids (autoID off),
/// so the ids survive the move.
public struct DatabaseCopy: Sendable {
    /// Rows read and written per batch.
    public var batchSize: Int
    /// A copier with `batchSize` rows per batch.
    public init(batchSize: Int = 1000) { self.batchSize = max(1, batchSize) }

    /// Copies `collections` (nil: all of the source's) from `source` to `destination`.
    /// - Throws: `QuiverError.copyMismatch` when the destination holds a collection of the same
    ///   name with another schema or model binding, or when the counts differ at the end; the
    ///   errors of either backend.
    public func copy(from source: any VectorDatabase, to destination: any VectorDatabase, collections: [String]? = nil,
                     progress: (CopyProgress) -> Void = { _ in }) async throws -> CopyReport {
        var report = CopyReport()
        var names = collections ?? []
        if collections == nil { names = try await source.listCollections() }
        for name in names {
            report.entries.append(try await copyCollection(name, from: source, to: destination, progress: progress))
        }
        return report
    }

    func copyCollection(_ name: String, from source: any VectorDatabase, to destination: any VectorDatabase,
                        progress: (CopyProgress) -> Void) async throws -> CopyReport.Entry {
        let src = try await source.openCollection(name)
        let info = try await src.describe()
        var schema = info.schema
        schema.primaryKey.autoID = false
        let dst: any VectorCollection
        if try await destination.hasCollection(name) {
            dst = try await destination.openCollection(name)
            try Self.checkCompatible(name, source: schema, destination: dst.schema, at: destination.location)
        } else {
            dst = try await destination.makeCollection(name, schema: schema)
        }
        let pk = schema.primaryKey.name
        // Streamed: a page of source rows at a time; the destination is asked which of the
        // page's keys it has (a re-run skips them: resumable), the rest is upserted.
        let total = try await src.count(filter: nil, where: nil)
        let models = Dictionary(uniqueKeysWithValues: schema.vectorFields.map { ($0.name, $0.model) })
        let output = ["*"] + schema.vectorFields.map(\.name)
        var done = 0, copied = 0, alreadyThere = 0
        progress(CopyProgress(collection: name, done: 0, total: total))
        var cursor: ScanCursor?
        repeat {
            let page = try await src.scan(after: cursor, limit: batchSize, outputFields: output)
            cursor = page.next
            guard !page.rows.isEmpty else { break }
            let present = Set(try await dst.get(ids: page.rows.map(\.id), outputFields: []).map(\.id))
            let entities = page.rows.filter { !present.contains($0.id) }.map { r in
                Entity(id: r.id, vectors: r.vectors, fields: r.fields.filter { $0.key != pk })
            }
            if !entities.isEmpty { _ = try await dst.upsert(entities, models: models) }
            copied += entities.count
            alreadyThere += page.rows.count - entities.count
            done += page.rows.count
            progress(CopyProgress(collection: name, done: done, total: max(total, done)))
        } while cursor != nil
        try await dst.flush()
        let existing = Set(try await dst.indexes().map(\.field))
        for index in try await src.indexes() where !existing.contains(index.field) {
            try await dst.createIndex(field: index.field, kind: index.kind, params: index.params)
        }
        let sourceCount = try await src.count(filter: nil, where: nil)
        let destinationCount = try await dst.count(filter: nil, where: nil)
        guard sourceCount == destinationCount else {
            throw QuiverError.copyMismatch(collection: name, reason: "the source holds \(sourceCount) rows but \(destination.location) holds \(destinationCount) after the copy")
        }
        return CopyReport.Entry(collection: name, copied: copied, alreadyThere: alreadyThere, total: sourceCount)
    }

    /// The destination collection must hold the same fields and bindings as the source.
    static func checkCompatible(_ name: String, source: CollectionSchema, destination: CollectionSchema, at location: String) throws {
        func vectors(_ s: CollectionSchema) -> [String] {
            s.vectorFields.map { "\($0.name):\($0.dimension):\($0.metric.rawValue):\($0.model.id)" }.sorted()
        }
        guard vectors(source) == vectors(destination), source.primaryKey.name == destination.primaryKey.name,
              source.primaryKey.type == destination.primaryKey.type else {
            throw QuiverError.copyMismatch(collection: name, reason: "\(location) already has a collection of this name with other vector fields, bindings or primary key (\(vectors(destination).joined(separator: ", ")) vs \(vectors(source).joined(separator: ", "))); drop it or copy into another database")
        }
    }
}
