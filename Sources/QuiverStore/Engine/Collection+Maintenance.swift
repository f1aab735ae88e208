import Foundation

extension Collection {
    /// Seals growing data into a segment, persists indexes and writes a new manifest, after which
    /// the WAL files before it are deleted. Normally automatic (see `StoreOptions`).
    ///
    /// Not needed for durability (every acknowledged write is already in the log); it shortens
    /// the next open, which then replays no log and rebuilds no index. Holds the writer lock
    /// throughout: concurrent writes wait, reads do not. The new segment and index files are
    /// fsync'd and the manifest replaced atomically, so a crash at any point leaves either the
    /// old or the new state, both complete.
    /// - Throws: `closed`; ``StoreError/readOnly(collection:cause:)`` when a file cannot be
    ///   written, fsync'd or renamed (the data stays in the log; the collection is then read-only
    ///   until the store is reopened).
    public func flush() async throws {
        try withWriter { try checkOpen(); try readOnlyOnFailure { try checkpoint(persistIndexes: true) } }
    }

    /// Rewrites sealed segments without deleted entities (one segment results).
    ///
    /// Flushes first, then streams every live entity into one new segment (memory stays bounded
    /// whatever the row count) and switches the manifest to it atomically; the old segment files are then removed. Does nothing when
    /// there is one segment and no deletion. Holds the writer lock throughout (writes wait; reads
    /// keep using their snapshot, whose mapped files stay valid). Index files are not rebuilt:
    /// deleted rows stay tombstoned in them.
    /// - Throws: `closed`; ``StoreError/readOnly(collection:cause:)`` when a file cannot be
    ///   written (the old segments stay in use; the collection is then read-only until reopened).
    public func compact() async throws { try withWriter { try checkOpen(); try readOnlyOnFailure { try compactLocked() } } }

    private func compactLocked() throws {
        try checkOpen()
        try checkpoint()
        let snap = snapshot
        guard !snap.tombstones.isEmpty || snap.segments.count > 1 else { return }
        // Streamed from the mapped segments into the new file: memory does not grow with the row count.
        let live = SegmentSource(chunks: snap.segments, skip: snap.tombstones)
        var m = manifest
        var newSegments: [Segment] = []
        m.segments = []
        if live.count > 0 {
            let file = String(format: "seg-%08llu.qseg", m.nextSegmentID)
            m.nextSegmentID += 1
            try SegmentWriter.write(live, keyType: schema.primaryKey.type, dimensions: dimensions, half: halfFields,
                                    scalarFields: schema.scalarFields.count, to: directory + "/" + file)
            newSegments.append(try Segment(path: directory + "/" + file, dimensions: dimensions, half: halfFields,
                                           scalarFields: schema.scalarFields.count, keyType: schema.primaryKey.type))
            m.segments = [.init(file: file, rows: live.count)]
        }
        m.tombstones = []
        m.generation += 1
        try m.write(to: directory)
        manifest = m
        shared.withLock { $0.snapshot.segments = newSegments; $0.snapshot.tombstones = [] }
        compactFullText()
        try removeUnreferencedFiles()
    }

    /// Writes growing data as a segment, rotates the WAL and writes the manifest; rewrites index
    /// files that lag far behind (or all of them with `persistIndexes`). Call with `writer` held.
    func checkpoint(persistIndexes: Bool = false) throws {
        try drainPending()
        let snap = snapshot
        var m = manifest
        var sealed: Segment?
        var dropped = Set<UInt32>()
        if !snap.batches.isEmpty {
            for b in snap.batches {
                for i in 0..<b.count where snap.tombstones.contains(b.row(i)) { dropped.insert(b.row(i)) }
            }
            let rows = SegmentSource(chunks: snap.batches, skip: dropped)
            if rows.count > 0 {
                let file = String(format: "seg-%08llu.qseg", m.nextSegmentID)
                m.nextSegmentID += 1
                try SegmentWriter.write(rows, keyType: schema.primaryKey.type, dimensions: dimensions, half: halfFields,
                                        scalarFields: schema.scalarFields.count, to: directory + "/" + file)
                sealed = try Segment(path: directory + "/" + file, dimensions: dimensions, half: halfFields,
                                     scalarFields: schema.scalarFields.count, keyType: schema.primaryKey.type)
                m.segments.append(.init(file: file, rows: rows.count))
            }
        }
        try wal!.rotate()
        m.generation += 1
        let slots = shared.withLock { $0.indexes }
        m.indexes = []
        for (field, slot) in slots.sorted(by: { $0.key < $1.key }) {
            if persistIndexes || slot.isStale(nextRow: snap.nextRow) {
                let file = "idx-\(field)-\(m.generation).qidx"
                try slot.lock.read { try slot.index.write(to: directory + "/" + file) }
                slot.persistedFile = file
                slot.coveredRows = snap.nextRow
                slot.removedSince = []
            }
            m.indexes.append(.init(info: slot.info, file: slot.persistedFile, coveredRows: slot.coveredRows, removedSince: slot.removedSince))
        }
        let tomb = snap.tombstones.subtracting(dropped)
        m.tombstones = tomb.sorted()
        m.nextRow = snap.nextRow
        m.nextAutoID = nextAutoID
        m.lastLSN = lsn
        m.walSequence = wal!.sequence
        try m.write(to: directory)
        manifest = m
        shared.withLock { s in
            if let sealed { s.snapshot.segments.append(sealed) }
            s.snapshot.batches.removeFirst(snap.batches.count)
            s.snapshot.tombstones.subtract(dropped)
        }
        try removeUnreferencedFiles()
    }

    /// Builds an index on a vector field (replacing any index on it) from the stored vectors and
    /// persists it. Build parameters: HNSW `M`, `efConstruction`; IVF `nlist`.
    ///
    /// IVF kinds first train k-means on an evenly spaced sample of up to 256 × `nlist` stored
    /// vectors. The build runs under the writer lock on the caller's thread (HNSW inserts use all
    /// cores): writes wait for it, searches keep using the previous index or the exact scan. When
    /// it returns, the index file is written and named in the manifest; later writes are added to
    /// the index as they happen.
    /// - Parameters:
    ///   - field: the vector field; nil when the collection has exactly one.
    ///   - kind: the index type.
    ///   - params: build parameters, integers (see ``IndexInfo/params`` for ranges and defaults).
    /// - Throws: `invalidRequest` for an unknown field, an unknown or out-of-range parameter, or
    ///   fewer stored entities than `nlist` for IVF; `closed`; ``StoreError/readOnly(collection:cause:)``
    ///   when the index file or manifest cannot be written (the collection is then read-only).
    public func createIndex(field: String? = nil, kind: IndexKind, params: [String: Double] = [:]) async throws {
        let f = try vectorField(field)
        try withWriter {
        try checkOpen()
        try readOnlyOnFailure { try drainPending() }
        let info = IndexInfo(field: f.name, kind: kind, params: params)
        let fi = schema.vectorFields.firstIndex { $0.name == f.name }!
        let index = try Self.build(info, field: fi, f, snapshot: snapshot)
        shared.withLock { $0.indexes[f.name] = IndexSlot(info: info, index: index) }
        try readOnlyOnFailure { try checkpoint() }
        }
    }

    /// Drops the index of a vector field; searches then scan exactly.
    ///
    /// The manifest no longer names the index when this returns; its file is deleted.
    /// - Parameter field: the vector field; nil when the collection has exactly one.
    /// - Throws: `invalidRequest` for an unknown field or a field without an index, `closed`,
    ///   ``StoreError/readOnly(collection:cause:)`` when the manifest cannot be written.
    public func dropIndex(field: String? = nil) async throws {
        let f = try vectorField(field)
        try withWriter {
        try checkOpen()
        let had = shared.withLock { $0.indexes.removeValue(forKey: f.name) != nil }
        guard had else { throw StoreError.invalidRequest("collection '\(name)' field '\(f.name)' has no index") }
        try readOnlyOnFailure { try checkpoint() }
        }
    }

    /// The indexes of this collection, sorted by field name.
    public func indexes() -> [IndexInfo] {
        shared.withLock { $0.indexes.values.map(\.info) }.sorted { $0.field < $1.field }
    }

    /// The named vector field, or the only one when `name` is nil.
    func vectorField(_ name: String?) throws -> VectorField { try resolveVectorField(name) }
}
