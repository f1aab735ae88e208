import Foundation

/// A vector search: one or more queries against one vector field.
///
/// ```swift
/// let hits = try await docs.search(SearchRequest(vectors: [q], limit: 5,
///                                                filter: "year >= 2020", outputFields: ["title"]))
/// ```
public struct SearchRequest: Sendable {
    /// The vector field; may be nil when the collection has one.
    public var field: String?
    /// The query vectors, each `dimension` floats.
    public var vectors: [[Float]]
    /// The model that produced the queries; checked against the field's binding when given.
    public var model: EmbeddingModel?
    /// Hits per query (top-k), at least 1.
    public var limit: Int
    /// Best hits skipped before `limit` are returned (paging); not negative. The search finds
    /// the best `offset + limit` and drops the first `offset`.
    public var offset: Int
    /// A filter expression (Milvus syntax, see ``FilterExpression``) entities must match; nil or
    /// blank for none.
    public var filter: String?
    /// A predicate entities must match (in addition to `filter`). It may run on several threads
    /// at once.
    public var predicate: RowPredicate?
    /// Fields to return with each hit: scalar, dynamic or vector field names, or `*` for all scalar and dynamic fields.
    ///
    /// Vectors are returned only when named. The primary key is always in ``SearchHit/id``
    /// (naming it here is allowed and changes nothing). An unknown name is an error unless the
    /// collection has the dynamic field (then hits without that dynamic key simply lack it).
    public var outputFields: [String]
    /// Range search: only hits with score beyond `radius` (IP/COSINE: score > radius; L2: distance < radius)...
    ///
    /// Scores are those of ``SearchHit/score`` (L2: squared distance), as Milvus' `radius`.
    /// Without an index the whole collection is scanned and the result is exact; with one, the
    /// index is asked for its best `max(4 × (offset + limit), 256)` hits and those outside the
    /// range are dropped, so hits beyond that depth can be missed.
    public var radius: Float?
    /// ...and within `rangeFilter` (IP/COSINE: score <= rangeFilter; L2: distance >= rangeFilter).
    public var rangeFilter: Float?
    /// Index search parameters (`ef` for HNSW, `nprobe` for IVF).
    ///
    /// Checked by the field's index: a key it does not take, or a value out of range, throws
    /// ``StoreError/invalidIndexParameter(name:value:reason:)``. Ignored when the field has no
    /// index (the search is then an exact scan).
    public var params: IndexParams

    /// A search request; only `vectors` is required.
    /// - Parameters:
    ///   - field: the vector field; nil when the collection has exactly one.
    ///   - vectors: the queries, each as wide as the field.
    ///   - model: the model the queries come from, checked against the field's binding.
    ///   - limit: hits per query.
    ///   - offset: best hits to skip.
    ///   - filter: a filter expression.
    ///   - predicate: an extra condition in code.
    ///   - outputFields: fields to return with each hit.
    ///   - radius: range search bound (exclusive), see ``radius``.
    ///   - rangeFilter: range search bound (inclusive), see ``rangeFilter``.
    ///   - params: index search parameters.
    public init(field: String? = nil, vectors: [[Float]], model: EmbeddingModel? = nil, limit: Int = 10, offset: Int = 0,
                filter: String? = nil, predicate: RowPredicate? = nil, outputFields: [String] = [],
                radius: Float? = nil, rangeFilter: Float? = nil, params: IndexParams = [:]) {
        self.field = field; self.vectors = vectors; self.model = model; self.limit = limit; self.offset = offset
        self.filter = filter; self.predicate = predicate; self.outputFields = outputFields
        self.radius = radius; self.rangeFilter = rangeFilter; self.params = params
    }
}

extension Collection {
    /// The number of entities, optionally only those matching a filter or predicate.
    ///
    /// Without a condition this is a constant-time read of the key map; with one it scans the
    /// live entities of a snapshot (or looks up the keys an `id in [...]` filter names).
    /// - Throws: `invalidFilter` for a bad filter.
    public func count(filter: String? = nil, where predicate: RowPredicate? = nil) async throws -> Int {
        let p = try combinedPredicate(filter, predicate)
        if p == nil { return shared.withLock { $0.keys.count } }
        var n = 0
        let (snap, rows) = snapshotAndCandidates(filter)
        scan(snap, rows: rows) { chunk, i in
            if p!(RowView(chunk: chunk, i: i, schema: schema, scalarIndex: scalarIndex)) { n += 1 }
            return true
        }
        return n
    }

    /// The entities with these ids, in the order asked; ids that do not exist are skipped.
    /// - Parameters:
    ///   - ids: primary keys to read (a key repeated is returned repeatedly).
    ///   - outputFields: as ``SearchRequest/outputFields``; default all scalar and dynamic fields.
    /// - Throws: `invalidRequest` for an unknown output field.
    public func get(ids: [PrimaryKey], outputFields: [String] = ["*"]) async throws -> [Row] {
        let out = try resolveOutput(outputFields)
        let (snap, rows) = shared.withLock { s in (s.snapshot, ids.map { s.keys[$0] }) }
        return rows.compactMap { r in
            guard let r, let (chunk, i) = snap.locate(r) else { return nil }
            return materialize(chunk, i, out)
        }
    }

    /// Entities matching a filter (or all), in insertion order, after skipping `offset`, at most `limit`.
    ///
    /// Insertion order is the order rows were written: an upserted entity moves to the end.
    /// Reads one snapshot: writes that land during the call are not seen.
    /// - Parameters:
    ///   - filter: a filter expression; nil or blank for all entities.
    ///   - predicate: an extra condition in code (both must hold).
    ///   - limit: the most rows to return; nil for no limit.
    ///   - offset: matching rows to skip first.
    ///   - outputFields: as ``SearchRequest/outputFields``; default all scalar and dynamic fields.
    /// - Throws: `invalidRequest` for a negative limit or offset or an unknown output field,
    ///   `invalidFilter` for a bad filter.
    public func query(filter: String? = nil, where predicate: RowPredicate? = nil, limit: Int? = nil, offset: Int = 0,
                      outputFields: [String] = ["*"]) async throws -> [Row] {
        guard offset >= 0, (limit ?? 0) >= 0 else { throw StoreError.invalidRequest("query limit and offset must not be negative") }
        let p = try combinedPredicate(filter, predicate)
        let out = try resolveOutput(outputFields)
        var rows: [Row] = []
        var skipped = 0
        let (snap, candidates) = snapshotAndCandidates(filter)
        scan(snap, rows: candidates) { chunk, i in
            if let p, !p(RowView(chunk: chunk, i: i, schema: schema, scalarIndex: scalarIndex)) { return true }
            if skipped < offset { skipped += 1; return true }
            if let limit, rows.count >= limit { return false }
            rows.append(materialize(chunk, i, out))
            return true
        }
        return rows
    }

    /// Searches the nearest entities to each query; one list of hits per query, closest first.
    ///
    /// Exact (every live vector scored) when the field has no index; otherwise the index's
    /// approximate search, with deleted and filtered-out entities excluded inside the index
    /// search. Several queries run in parallel on all cores. Each call reads one snapshot.
    /// Ties in score are broken by insertion order.
    /// - Returns: `request.vectors.count` lists of at most `limit` hits, best first (see
    ///   ``SearchHit/score`` for the units).
    /// - Throws: `modelMismatch` when `request.model` is not the field's model; `invalidRequest`
    ///   for an unknown field (or no field named with several), `limit` < 1, negative `offset`,
    ///   a query of the wrong width or an unknown output field; `invalidFilter`;
    ///   `invalidIndexParameter` for index parameters the index does not take, or more than
    ///   1 000 000 hits asked of an index.
    public func search(_ request: SearchRequest) async throws -> [[SearchHit]] {
        let f = try vectorField(request.field)
        if let m = request.model {
            if m.id != f.model.id || m.dimension != f.dimension {
                throw StoreError.modelMismatch(collection: name, field: f.name, expectedModel: f.model.id, expectedDimension: f.dimension,
                                               gotModel: m.id, gotDimension: m.dimension)
            }
        }
        guard request.limit >= 1, request.offset >= 0 else { throw StoreError.invalidRequest("search limit must be at least 1 and offset not negative") }
        for (qi, q) in request.vectors.enumerated() where q.count != f.dimension {
            throw StoreError.invalidRequest("collection '\(name)' field '\(f.name)' holds \(f.model.id) vectors (\(f.dimension)-d); query \(qi) has \(q.count) values")
        }
        let p = try combinedPredicate(request.filter, request.predicate)
        let out = try resolveOutput(request.outputFields)
        let fi = schema.vectorFields.firstIndex { $0.name == f.name }!
        let (snap, slot) = shared.withLock { ($0.snapshot, $0.indexes[f.name]) }
        let k = request.limit + request.offset
        let inRange: @Sendable (Float) -> Bool = { s in
            if f.metric.higherIsCloser {
                if let r = request.radius, !(s > r) { return false }
                if let rf = request.rangeFilter, !(s <= rf) { return false }
            } else {
                if let r = request.radius, !(s < r) { return false }
                if let rf = request.rangeFilter, !(s >= rf) { return false }
            }
            return true
        }
        let ranged = request.radius != nil || request.rangeFilter != nil
        let rangeCheck: (@Sendable (Float) -> Bool)? = ranged ? inRange : nil
        let metric = f.metric
        let one: @Sendable (Int) throws -> [IndexHit] = { (qi: Int) throws -> [IndexHit] in
            try self.searchOne(request.vectors[qi], field: fi, metric: metric, k: k, snapshot: snap, slot: slot,
                               predicate: p, params: request.params, inRange: rangeCheck)
        }
        let raw = try Self.parallelMap(request.vectors.count, one)
        return raw.map { hits in
            hits.dropFirst(request.offset).prefix(request.limit).compactMap { h in
                guard let (chunk, i) = snap.locate(h.row) else { return nil }
                let r = materialize(chunk, i, out)
                return SearchHit(id: r.id, score: h.score, fields: r.fields, vectors: r.vectors)
            }
        }
    }

    /// `body(0..<n)` spread over the CPU cores, results in order; the first error is rethrown.
    static func parallelMap<T: Sendable>(_ n: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        if n <= 1 { return try (0..<n).map(body) }
        let results = Locked<[Result<T, Error>?]>(Array(repeating: nil, count: n))
        let workers = min(n, ProcessInfo.processInfo.activeProcessorCount)
        let next = Locked(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.withLock { v -> Int in defer { v += 1 }; return v }
                if i >= n { return }
                let r = Result { try body(i) }
                results.withLock { $0[i] = r }
            }
        }
        return try results.withLock { $0 }.map { try $0!.get() }
    }

    func searchOne(_ q: [Float], field fi: Int, metric: Metric, k: Int, snapshot snap: Snapshot, slot: IndexSlot?,
                   predicate p: RowPredicate?, params: IndexParams, inRange: (@Sendable (Float) -> Bool)?) throws -> [IndexHit] {
        guard let slot else { return exactScan(q, field: fi, metric: metric, k: k, snapshot: snap, predicate: p, inRange: inRange) }
        let allow: (UInt32) -> Bool = { row in
            guard snap.isLive(row) else { return false }
            guard let p else { return true }
            guard let (chunk, i) = snap.locate(row) else { return false }
            return p(RowView(chunk: chunk, i: i, schema: self.schema, scalarIndex: self.scalarIndex))
        }
        let want = inRange != nil ? max(k * 4, 256) : k
        let hits = try q.withUnsafeBufferPointer { qp in
            try slot.lock.read { try slot.index.search(qp, k: want, params: params, allow: allow) }
        }
        guard let inRange else { return hits }
        return Array(hits.filter { inRange($0.score) }.prefix(k))
    }

    func exactScan(_ query: [Float], field fi: Int, metric: Metric, k: Int, snapshot snap: Snapshot,
                   predicate: RowPredicate?, inRange: ((Float) -> Bool)?) -> [IndexHit] {
        let d = dimensions[fi]
        let q = metric == .cosine ? ScanMath.normalized(query) : query
        var top = ScanTopK(k: k, higherIsCloser: metric.higherIsCloser)
        let hasTombstones = !snap.tombstones.isEmpty
        q.withUnsafeBufferPointer { qb in
            let qp = qb.baseAddress!
            for chunk in snap.chunks {
                let base = chunk.vectors(fi)
                for i in 0..<chunk.count {
                    let row = chunk.row(i)
                    if hasTombstones, snap.tombstones.contains(row) { continue }
                    if let predicate, !predicate(RowView(chunk: chunk, i: i, schema: schema, scalarIndex: scalarIndex)) { continue }
                    let s = ScanMath.score(metric, qp, base + i * d, d)
                    if let inRange, !inRange(s) { continue }
                    top.push(row, s)
                }
            }
        }
        return top.sorted()
    }

    /// The primary keys a filter restricts entities to (`id in [...]`, `id == v`), or nil.
    func candidateKeys(_ filter: String?) -> [PrimaryKey]? {
        guard let filter, !filter.trimmingCharacters(in: .whitespaces).isEmpty,
              let f = try? FilterExpression(parsing: filter),
              let lookup = f.primaryKeyLookup(field: schema.primaryKey.name) else { return nil }
        switch (lookup.keys, schema.primaryKey.type) {
        case let (.ints(v), .int64): return v.map { .int($0) }
        case let (.strings(v), .string): return v.map { .string($0) }
        default: return []  // keys of the other type never match
        }
    }

    /// A snapshot and, when the filter names primary keys, their rows in it (looked up together).
    func snapshotAndCandidates(_ filter: String?) -> (Snapshot, [UInt32]?) {
        let keys = candidateKeys(filter)
        return shared.withLock { s in (s.snapshot, keys.map { $0.compactMap { s.keys[$0] }.sorted() }) }
    }

    /// Visits the live entries of `snap` in row order (only `rows` when given) until `body` returns false.
    func scan(_ snap: Snapshot, rows: [UInt32]?, _ body: (RowChunk, Int) -> Bool) {
        guard let rows else { forEachLive(snap, body); return }
        for r in rows where !snap.tombstones.contains(r) {
            guard let (chunk, i) = snap.locate(r) else { continue }
            if !body(chunk, i) { return }
        }
    }

    func combinedPredicate(_ filter: String?, _ predicate: RowPredicate?) throws -> RowPredicate? {
        let compiled = try filter.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : try FilterCompiler.compile($0, schema: schema) }
        switch (compiled, predicate) {
        case (nil, nil): return nil
        case let (a?, nil): return a
        case let (nil, b?): return b
        case let (a?, b?): return { a($0) && b($0) }
        }
    }

    /// Which fields a result carries.
    struct OutputSpec {
        var scalars: [(String, Int)] = []
        var vectors: [(String, Int)] = []
        var dynamicAll = false
        var dynamicKeys: [String] = []
    }

    func resolveOutput(_ names: [String]) throws -> OutputSpec {
        var o = OutputSpec()
        for n in names {
            if n == "*" {
                o.scalars = schema.scalarFields.enumerated().map { ($0.element.name, $0.offset) }
                o.dynamicAll = schema.enableDynamicField
            } else if n == schema.primaryKey.name {
                continue
            } else if let i = scalarIndex[n] {
                if !o.scalars.contains(where: { $0.0 == n }) { o.scalars.append((n, i)) }
            } else if let vi = schema.vectorFields.firstIndex(where: { $0.name == n }) {
                o.vectors.append((n, vi))
            } else if schema.enableDynamicField {
                o.dynamicKeys.append(n)
            } else {
                throw StoreError.invalidRequest("collection '\(name)' has no field '\(n)' to output")
            }
        }
        return o
    }

    func materialize(_ chunk: RowChunk, _ i: Int, _ o: OutputSpec) -> Row {
        var row = Row(id: chunk.id(i))
        for (n, si) in o.scalars { row.fields[n] = chunk.scalar(si, i) }
        if o.dynamicAll || !o.dynamicKeys.isEmpty {
            let dyn = chunk.dynamic(i)
            if o.dynamicAll { for (k, v) in dyn { row.fields[k] = v } }
            for k in o.dynamicKeys { if let v = dyn[k] { row.fields[k] = v } }
        }
        for (n, vi) in o.vectors {
            let d = dimensions[vi]
            row.vectors[n] = Array(UnsafeBufferPointer(start: chunk.vectors(vi) + i * d, count: d))
        }
        return row
    }

    /// Name, schema, entity count, indexes and segment count, as of now.
    public func describe() -> CollectionInfo {
        let (snap, n) = shared.withLock { ($0.snapshot, $0.keys.count) }
        return CollectionInfo(name: name, schema: schema, count: n, indexes: indexes(), segments: snap.segments.count)
    }
}
