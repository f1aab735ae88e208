import Foundation

/// One BM25 hit: a row's primary key, score and requested fields.
public typealias FullTextHit = SearchHit

extension Collection {
    /// Creates (or replaces) the BM25 full-text index on a text field.
    ///
    /// Durability: the index's options are written to the collection's manifest (atomically),
    /// and the index itself is built from the stored text: now, and at every open from the
    /// segments and the write-ahead log, so it holds exactly the rows the collection holds after
    /// a crash. Writes and deletes update it as they are applied; compaction purges the
    /// postings of deleted rows. Holds the writer lock while it builds (writes wait; reads do not).
    /// - Throws: `invalidRequest` when the field is not a string field (nor a dynamic field of a
    ///   collection with the dynamic field), k1 < 0, b outside 0...1, or the stemmer is unknown;
    ///   `closed`; `readOnly` when the manifest cannot be written.
    public func createFullTextIndex(_ options: FullTextOptions) async throws {
        try withWriter {
            try checkOpen()
            if let si = scalarIndex[options.field] {
                let f = schema.scalarFields[si]
                guard f.type == .string else {
                    throw StoreError.invalidRequest("collection '\(name)': field '\(options.field)' is \(f.type.rawValue); a full-text index needs a string field")
                }
            } else if !schema.enableDynamicField || options.field == schema.primaryKey.name || schema.vectorField(named: options.field) != nil {
                throw StoreError.invalidRequest("collection '\(name)' has no string field '\(options.field)' to index (string fields: \(schema.scalarFields.filter { $0.type == .string }.map(\.name).joined(separator: ", ")))")
            }
            guard options.k1.isFinite, options.k1 >= 0 else { throw StoreError.invalidRequest("BM25 k1 must be finite and at least 0, got \(options.k1)") }
            guard options.b >= 0, options.b <= 1 else { throw StoreError.invalidRequest("BM25 b must be between 0 and 1, got \(options.b)") }
            let index = try BM25Index(options: options)
            try readOnlyOnFailure { try drainPending() }
            fill(index, from: snapshot)
            var m = manifest
            m.fullText = (m.fullText ?? []).filter { $0.field != options.field } + [options]
            m.generation += 1
            try readOnlyOnFailure { try m.write(to: directory) }
            manifest = m
            fullText.withLock { $0[options.field] = index }
        }
    }

    /// Drops the full-text index of `field`; returns false when there was none.
    public func dropFullTextIndex(field: String) async throws -> Bool {
        try withWriter {
            try checkOpen()
            guard manifest.fullText?.contains(where: { $0.field == field }) == true else { return false }
            var m = manifest
            m.fullText = m.fullText?.filter { $0.field != field }
            m.generation += 1
            try readOnlyOnFailure { try m.write(to: directory) }
            manifest = m
            fullText.withLock { $0[field] = nil }
            return true
        }
    }

    /// The options of the full-text indexes, by field name order.
    public func fullTextIndexes() -> [FullTextOptions] {
        fullText.withLock { $0.values.map(\.options) }.sorted { $0.field < $1.field }
    }

    /// Indexed documents (rows whose text has a term), their mean term count and the distinct terms.
    public func fullTextStatistics(field: String) -> (documents: Int, averageLength: Double, terms: Int)? {
        fullText.withLock { $0[field] }?.statistics
    }

    /// The index terms the full-text index of `field` makes of `text` (its analyzer's output).
    public func fullTextTerms(_ text: String, field: String? = nil) throws -> [String] {
        try fullTextIndex(field).analyzer.terms(text)
    }

    /// BM25 search of a full-text index: the best rows for `query`, best first, with BM25 scores
    /// (see ``FullTextOptions``; Lucene's formula). Rows with no query term are not returned.
    /// - Parameters:
    ///   - field: the indexed field (nil: the collection's only full-text index).
    ///   - filter: a filter expression the rows must match.
    ///   - outputFields: as in ``SearchRequest/outputFields``.
    /// - Throws: `invalidRequest` when there is no such index (naming the indexed fields), for
    ///   `limit` < 1 or a negative `offset`; `invalidFilter`.
    public func fullTextSearch(_ query: String, field: String? = nil, limit: Int = 10, offset: Int = 0, filter: String? = nil,
                               outputFields: [String] = ["*"]) async throws -> [FullTextHit] {
        guard limit >= 1, offset >= 0 else { throw StoreError.invalidRequest("search limit must be at least 1 and offset not negative") }
        let index = try fullTextIndex(field)
        let p = try combinedPredicate(filter, nil)
        let out = try resolveOutput(outputFields)
        let snap = snapshot
        let hits = index.search(query, k: limit + offset) { row in
            guard snap.isLive(row) else { return false }
            guard let p else { return true }
            guard let (chunk, i) = snap.locate(row) else { return false }
            return p(RowView(chunk: chunk, i: i, schema: self.schema, scalarIndex: self.scalarIndex))
        }
        return hits.dropFirst(offset).compactMap { h in
            guard let (chunk, i) = snap.locate(h.row) else { return nil }
            let r = materialize(chunk, i, out)
            return SearchHit(id: r.id, score: h.score, fields: r.fields, vectors: r.vectors)
        }
    }

    func fullTextIndex(_ field: String?) throws -> BM25Index {
        let all = fullText.withLock { $0 }
        if let field {
            guard let i = all[field] else {
                throw StoreError.invalidRequest("collection '\(name)' has no full-text index on '\(field)'" +
                    (all.isEmpty ? " (create one with createFullTextIndex)" : " (indexed: \(all.keys.sorted().joined(separator: ", ")))"))
            }
            return i
        }
        guard all.count == 1, let only = all.values.first else {
            throw StoreError.invalidRequest(all.isEmpty ? "collection '\(name)' has no full-text index (create one with createFullTextIndex)"
                                                        : "collection '\(name)' has several full-text indexes (\(all.keys.sorted().joined(separator: ", "))); name the field")
        }
        return only
    }

    /// The text of `field` in entry `i` of `chunk` (nil when absent or not a string).
    func fullTextValue(_ chunk: RowChunk, _ i: Int, field: String) -> String? {
        let v = scalarIndex[field].map { chunk.scalar($0, i) } ?? chunk.dynamic(i)[field]
        if case let .string(s)? = v { return s }
        return nil
    }

    /// Adds the live rows of `snap` to `index`.
    func fill(_ index: BM25Index, from snap: Snapshot) {
        var docs: [(row: UInt32, text: String?)] = []
        forEachLive(snap) { chunk, i in
            docs.append((chunk.row(i), fullTextValue(chunk, i, field: index.options.field)))
            if docs.count >= 8192 { index.add(docs); docs.removeAll(keepingCapacity: true) }
            return true
        }
        index.add(docs)
    }

    /// Rebuilds the full-text indexes named in the manifest from the recovered rows (at open).
    func rebuildFullText(from snap: Snapshot) throws {
        var built: [String: BM25Index] = [:]
        for o in manifest.fullText ?? [] {
            let index = try BM25Index(options: o)
            fill(index, from: snap)
            built[o.field] = index
        }
        fullText.withLock { $0 = built }
    }

    /// Applies a write (its tombstones, then its rows) to the full-text indexes.
    func applyToFullText(_ r: WALRecord, batch: Batch?) {
        let indexes = fullText.withLock { $0 }
        guard !indexes.isEmpty else { return }
        for index in indexes.values {
            index.remove(r.tombstones)
            if let batch {
                index.add((0..<batch.count).map { (batch.row($0), fullTextValue(batch, $0, field: index.options.field)) })
            }
        }
    }

    /// Purges deleted rows' postings (after compaction).
    func compactFullText() {
        for index in fullText.withLock({ $0.values }) { index.purge() }
    }
}
