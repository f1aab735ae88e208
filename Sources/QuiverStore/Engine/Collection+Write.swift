import Foundation

extension Collection {
    /// Inserts entities; returns their primary keys (assigned ones for an automatic id).
    ///
    /// All entities of one call are one log record: either all are stored or none is. The call
    /// returns once the record is fsync'd (see ``Collection``); when the growing rows reach the
    /// ``StoreOptions`` thresholds it then also flushes them into a segment.
    ///
    /// - Parameters:
    ///   - entities: one value per vector field (`dimension` floats each), declared scalar fields
    ///     (nullable ones may be absent), and any other fields for the dynamic field.
    ///   - models: the embedding model that produced each vector field's values (field name →
    ///     model); a field not listed is taken as raw vectors for the bound model and only its
    ///     dimension is checked.
    /// - Returns: the primary keys in the order of `entities`; an empty array for no entities.
    /// - Throws: `StoreError.modelMismatch` when a model differs from the field's binding,
    ///   `StoreError.invalidData` for an id that already exists or repeats within the call, a
    ///   missing or extra vector, a vector of the wrong width or holding NaN/infinity (or beyond
    ///   ±65504 for float16 storage), a missing required field, a value of the wrong type, a string
    ///   over `maxLength`, an undeclared field without the dynamic field, an id given with
    ///   automatic ids (the error names the entity's position and field); `closed` after the
    ///   store was closed; ``StoreError/readOnly(collection:cause:)`` when the log cannot be
    ///   written or fsync'd (the write is not acknowledged and not visible) and for every write
    ///   after such a failure until the store is reopened.
    @discardableResult
    public func insert(_ entities: [Entity], models: [String: EmbeddingModel] = [:]) async throws -> [PrimaryKey] {
        try write(entities, models: models, upsert: false)
    }

    /// Inserts entities, replacing any existing entity with the same primary key.
    ///
    /// The replacement is atomic: deleting the old entities and adding the new ones is one log
    /// record. Every entity needs its id, also with automatic ids (ids that do not exist yet are
    /// inserted as given). Durability and errors as ``insert(_:models:)``, except that an
    /// existing id is not an error.
    /// - Parameters:
    ///   - entities: the full new entities (fields not given are not kept from the old ones).
    ///   - models: the model of each vector field's values, as for ``insert(_:models:)``.
    /// - Returns: the primary keys in the order of `entities`.
    @discardableResult
    public func upsert(_ entities: [Entity], models: [String: EmbeddingModel] = [:]) async throws -> [PrimaryKey] {
        try write(entities, models: models, upsert: true)
    }

    /// Deletes the entities with these ids; returns how many existed.
    ///
    /// Durable when it returns (one fsync'd log record); ids that do not exist are ignored, and
    /// when none exists nothing is written. Space is reclaimed by ``compact()``.
    /// - Throws: `closed`, `readOnly` (see ``insert(_:models:)``).
    @discardableResult
    public func delete(ids: [PrimaryKey]) async throws -> Int {
        try deleteRows {
            let unique = Array(Set(ids))
            return zip(currentRows(unique), unique).compactMap { r, k in r.map { ($0, k) } }
        }
    }

    /// Deletes the entities matching a filter expression (Milvus syntax); returns how many.
    ///
    /// The filter is evaluated under the writer lock, so no write can slip in between the
    /// match and the delete; `id in [...]` / `id == v` filters look the keys up instead of
    /// scanning. Durable when it returns.
    /// - Parameter filter: a ``FilterExpression`` over the schema's fields; an empty string
    ///   matches (and deletes) every entity.
    /// - Throws: `invalidFilter` naming the column of the problem, `closed`, `readOnly`.
    @discardableResult
    public func delete(filter: String) async throws -> Int {
        let p = try FilterCompiler.compile(filter, schema: schema)
        return try deleteRows {
            let (snap, candidates) = snapshotAndCandidates(filter)
            var rows: [(row: UInt32, key: PrimaryKey)] = []
            scan(snap, rows: candidates) { chunk, i in
                if p(RowView(chunk: chunk, i: i, schema: schema, scalarIndex: scalarIndex)) { rows.append((chunk.row(i), chunk.id(i))) }
                return true
            }
            return excludingPendingRemovals(rows)
        }
    }

    /// Deletes the entities for which `predicate` is true; returns how many.
    ///
    /// The predicate runs on every live entity under the writer lock (writes wait; reads do not).
    /// Durable when it returns.
    /// - Throws: `closed`, `readOnly`.
    @discardableResult
    public func delete(where predicate: RowPredicate) async throws -> Int {
        try deleteRows {
            // The writer lock is held: the snapshot cannot change while it is scanned, and
            // readers are not blocked by the scan.
            var rows: [(row: UInt32, key: PrimaryKey)] = []
            forEachLive(snapshot) { chunk, i in
                if predicate(RowView(chunk: chunk, i: i, schema: schema, scalarIndex: scalarIndex)) { rows.append((chunk.row(i), chunk.id(i))) }
                return true
            }
            return excludingPendingRemovals(rows)
        }
    }

    /// Tombstones the rows `select` picks (called with the writer lock held): (row, its key) pairs.
    private func deleteRows(_ select: () -> [(row: UInt32, key: PrimaryKey)]) throws -> Int {
        writer.lock()
        let target: UInt64
        let n: Int
        do {
            defer { writer.unlock() }
            try checkOpen()
            var seen = Set<UInt32>()
            let picked = select().filter { seen.insert($0.row).inserted }.sorted { $0.row < $1.row }
            guard !picked.isEmpty else { return 0 }
            n = picked.count
            lsn += 1
            target = lsn
            try commit(WALRecord(lsn: lsn, tombstones: picked.map(\.row), batch: nil), keyChanges: picked.map { ($0.key, nil) })
        }
        try acknowledge(target)
        flushIfDue()
        return n
    }

    /// Seals growing data when it has passed the thresholds of `StoreOptions`. Called by writers
    /// after their write is durable and visible: a failing flush does not fail that write (it is
    /// acknowledged, in the log); it makes the collection read-only, which the next call reports.
    func flushIfDue() {
        withWriter {
            guard !closed, failure.withLock({ $0 }) == nil else { return }
            let due = shared.withLock { s in
                s.snapshot.growingRows >= options.flushRows || s.snapshot.batches.count >= options.flushBatches
            }
            guard due else { return }
            do { try checkpoint() } catch {
                let e = readOnly(error)
                FileHandle.standardError.write(Data("quiver: \(e)\n".utf8))
            }
        }
    }

    /// The synchronous body of insert and upsert.
    func write(_ entities: [Entity], models: [String: EmbeddingModel], upsert: Bool) throws -> [PrimaryKey] {
        guard !entities.isEmpty else { return [] }
        try checkModels(models)
        var data = try columns(entities, upsert: upsert)
        writer.lock()
        let target: UInt64
        do {
            defer { writer.unlock() }
            try checkOpen()
            let base = writerNextRow
            guard UInt64(base) + UInt64(data.count) < UInt64(UInt32.max) else {
                throw StoreError.invalidData(collection: name, reason: "the collection is full (\(base) rows ever written); compact it into a new collection")
            }
            data.rows = (0..<data.count).map { base + UInt32($0) }
            if schema.primaryKey.autoID && !upsert {
                data.ids = (0..<data.count).map { .int(nextAutoID + Int64($0)) }
            }
            var seen = Set<PrimaryKey>()
            for (i, k) in data.ids.enumerated() where !seen.insert(k).inserted {
                throw StoreError.invalidData(collection: name, reason: "entity \(i) repeats primary key \(k) within one call")
            }
            let ids = data.ids
            var old: [UInt32] = [], dup: PrimaryKey?
            for (k, r) in zip(ids, currentRows(ids)) { if let r { old.append(r); if dup == nil { dup = k } } }
            if !upsert, let dup {
                throw StoreError.invalidData(collection: name, reason: "primary key \(dup) already exists; use upsert to replace it")
            }
            lsn += 1
            target = lsn
            let rows = data.rows
            try commit(WALRecord(lsn: lsn, tombstones: upsert ? old.sorted() : [], batch: data),
                       keyChanges: zip(ids, rows).map { ($0, $1) })
        }
        try acknowledge(target)
        flushIfDue()
        return data.ids
    }

    /// Rejects vectors from another model than the field's binding.
    func checkModels(_ models: [String: EmbeddingModel]) throws {
        for (field, m) in models {
            guard let f = schema.vectorField(named: field) else {
                throw StoreError.invalidData(collection: name, reason: "no vector field '\(field)'; vector fields: \(schema.vectorFields.map(\.name).joined(separator: ", "))")
            }
            if m.id != f.model.id || m.dimension != f.dimension {
                throw StoreError.modelMismatch(collection: name, field: field, expectedModel: f.model.id, expectedDimension: f.dimension,
                                               gotModel: m.id, gotDimension: m.dimension)
            }
        }
    }

    /// Validates entities against the schema and lays them out as columns (rows and automatic ids unset).
    func columns(_ entities: [Entity], upsert: Bool) throws -> ColumnData {
        var c = ColumnData(vectorFields: schema.vectorFields.count, scalarFields: schema.scalarFields.count)
        let pk = schema.primaryKey
        func bad(_ r: String) -> StoreError { .invalidData(collection: name, reason: r) }
        for (fi, f) in schema.vectorFields.enumerated() { c.vectors[fi].reserveCapacity(entities.count * f.dimension) }
        for (e, entity) in entities.enumerated() {
            var id = entity.id
            if id == nil, let v = entity.fields[pk.name] {
                switch v {
                case let .int(i): id = .int(i)
                case let .string(s): id = .string(s)
                default: throw bad("entity \(e) field '\(pk.name)' (the primary key) must be \(pk.type.rawValue), got \(v)")
                }
            }
            if pk.autoID && !upsert {
                if id != nil { throw bad("primary key '\(pk.name)' is automatic; entity \(e) must not give one") }
            } else {
                guard let k = id else { throw bad("entity \(e) has no primary key '\(pk.name)'") }
                switch (k, pk.type) {
                case (.int, .int64): break
                case let (.string(s), .string): guard !s.isEmpty else { throw bad("entity \(e) has an empty string primary key") }
                default: throw bad("entity \(e) primary key \(k) is not of type \(pk.type.rawValue)")
                }
                c.ids.append(k)
            }
            for (name, _) in entity.vectors where schema.vectorField(named: name) == nil {
                throw bad("entity \(e) gives vector field '\(name)' which is not in the schema (vector fields: \(schema.vectorFields.map(\.name).joined(separator: ", ")))")
            }
            for (fi, f) in schema.vectorFields.enumerated() {
                guard let v = entity.vectors[f.name] else { throw bad("entity \(e) has no vector for field '\(f.name)'") }
                guard v.count == f.dimension else {
                    throw bad("field '\(f.name)' holds \(f.model.id) vectors (\(f.dimension)-d); entity \(e) has a \(v.count)-d vector")
                }
                guard v.allSatisfy(\.isFinite) else { throw bad("entity \(e) field '\(f.name)' holds a NaN or infinite value") }
                if f.storage == .float16 {
                    guard v.allSatisfy({ abs($0) <= 65504 }) else {
                        throw bad("entity \(e) field '\(f.name)' stores float16 and holds a value beyond ±65504")
                    }
                    c.vectors[fi].append(contentsOf: v.map(Half.round))
                } else {
                    c.vectors[fi].append(contentsOf: v)
                }
            }
            var dyn: [String: FieldValue] = [:]
            for (key, value) in entity.fields where key != pk.name {
                if scalarIndex[key] != nil { continue }
                if schema.vectorField(named: key) != nil { throw bad("entity \(e) gives vector field '\(key)' among its scalar fields") }
                guard schema.enableDynamicField else {
                    throw bad("entity \(e) field '\(key)' is not in the schema and the collection has no dynamic field")
                }
                if value != .null { dyn[key] = value }
            }
            c.dynamic.append(dyn)
            c.rows.append(0)  // assigned under the writer lock
            for (si, f) in schema.scalarFields.enumerated() {
                var v = entity.fields[f.name] ?? .null
                if v == .null {
                    if let d = f.defaultValue { v = d } else if !f.nullable {
                        throw bad("entity \(e) lacks required field '\(f.name)' (\(f.type.rawValue))")
                    }
                } else {
                    if case let .int(i) = v, f.type == .double { v = .double(Double(i)) }
                    if f.type == .json, case .json = v {} else if f.type == .json { v = .json(v.jsonValue) }
                    guard CollectionSchema.value(v, fits: f.type) else {
                        throw bad("entity \(e) field '\(f.name)' must be \(f.type.rawValue), got \(v)")
                    }
                    if let m = f.maxLength, case let .string(s) = v, s.utf8.count > m {
                        throw bad("entity \(e) field '\(f.name)' is \(s.utf8.count) bytes long, the limit is \(m)")
                    }
                }
                c.scalars[si].append(v)
            }
        }
        if pk.autoID && !upsert { c.ids = [] }
        return c
    }

    /// Calls `body` for each live entry of `snap` in row order until it returns false.
    func forEachLive(_ snap: Snapshot, _ body: (RowChunk, Int) -> Bool) {
        for chunk in snap.chunks {
            for i in 0..<chunk.count where !snap.tombstones.contains(chunk.row(i)) {
                if !body(chunk, i) { return }
            }
        }
    }
}
