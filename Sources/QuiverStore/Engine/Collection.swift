import Foundation

/// What readers see: an immutable list of chunks and the deleted rows. Taken under a short lock;
/// a writer only swaps it.
struct Snapshot: Sendable {
    var segments: [Segment] = []
    var batches: [Batch] = []
    var tombstones: Set<UInt32> = []
    var nextRow: UInt32 = 0

    /// Chunks in ascending row order.
    var chunks: [RowChunk] { segments.map { $0 as RowChunk } + batches.map { $0 as RowChunk } }

    var growingRows: Int { batches.reduce(0) { $0 + $1.count } }

    /// The chunk and entry holding `row` (tombstoned or not), by binary search.
    func locate(_ row: UInt32) -> (RowChunk, Int)? {
        if let s = Self.find(row, in: segments) { return s }
        return Self.find(row, in: batches)
    }

    private static func find<C: RowChunk>(_ row: UInt32, in list: [C]) -> (RowChunk, Int)? {
        var lo = 0, hi = list.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            let c = list[mid]
            if c.count == 0 || row > c.lastRow { lo = mid + 1 } else if row < c.firstRow { hi = mid - 1 } else {
                return c.index(of: row).map { (c, $0) }
            }
        }
        return nil
    }

    /// True when `row` is present and not deleted.
    func isLive(_ row: UInt32) -> Bool { row < nextRow && (tombstones.isEmpty || !tombstones.contains(row)) }
}

/// A collection of entities in a `VectorStore`: a schema, sealed segments, growing batches, a
/// write-ahead log and the indexes of its vector fields.
///
/// Obtain one from ``VectorStore/createCollection(_:schema:)`` or ``VectorStore/collection(_:)``.
///
/// All operations are safe to call concurrently. Writers are serialized; each write is durable
/// (fsync'd, group-committed with concurrent writers) when its call returns. Reads work on a
/// snapshot of the segment list and never wait for a write's fsync or a flush.
///
/// Concurrency in detail: insert, upsert and delete hold the collection's writer lock only to
/// validate and append to the log; the fsync happens after the lock is released, and one fsync
/// acknowledges every write appended before it. ``flush()``,
/// ``compact()``, ``createIndex(field:kind:params:)`` and ``dropIndex(field:)`` hold the writer
/// lock for their whole run, so writes wait for them (reads do not). A search on an indexed field
/// shares the index's lock with other searches and waits only while a write adds or removes
/// its rows in that index. A change becomes visible to readers only once its fsync succeeded
/// (changes are applied in memory in log order as they become durable), so a reader never sees
/// a write that could still be lost. Reads do not check whether the store was closed: they keep
/// answering from the last state.
///
/// Durability: when a write call returns, its record is in the fsync'd write-ahead log and
/// survives a process or machine crash. A write that threw while validating did not change
/// anything. A write whose log append or fsync failed throws
/// ``StoreError/readOnly(collection:cause:)``: it is not acknowledged, never becomes visible,
/// the fsync is not retried, and the collection accepts no more writes until the store is
/// reopened (at a crash or reopen such a write may or may not be present, all of it or none).
/// A failed segment, manifest or index-file write during a flush, compaction, index build or
/// ``VectorStore/close()`` makes the collection read-only the same way; the data stays in the
/// log. A flush that fails after a durable write does not fail that write (it is acknowledged);
/// the next call reports the read-only state. At open the collection is rebuilt from the
/// manifest, its segments and the log; a torn final record (a write that never returned) is
/// dropped.
///
/// The `async` methods do their work synchronously on the caller's thread (blocking it on
/// I/O); they never suspend in between.
public final class Collection: @unchecked Sendable {
    /// The collection's name.
    public let name: String
    /// Its schema.
    public let schema: CollectionSchema
    let directory: String
    let options: StoreOptions
    let dimensions: [Int]
    /// Per vector field: stored as float16.
    let halfFields: [Bool]
    let scalarIndex: [String: Int]

    /// Guards writes, flushes, compaction and index changes (and `manifest`, `wal`, `lsn`).
    let writer = NSLock()
    var manifest: Manifest
    var wal: WriteAheadLog?
    var lsn: UInt64
    var nextAutoID: Int64
    var closed = false
    /// The next row number a write gets (counts appended, not yet durable writes; under `writer`).
    var writerNextRow: UInt32 = 0
    /// Writes in the log that are not yet durable, hence not yet visible (see Collection+Durability).
    let pending = Locked(PendingWrites())
    /// Serializes applying durable writes to the reader-visible state, in log order.
    let publishLock = NSLock()
    /// Set once a file write, fsync or rename failed: the collection is read-only.
    let failure = Locked<StoreError?>(nil)

    /// Reader-visible state: snapshot, primary key map, index slots.
    struct Shared {
        var snapshot = Snapshot()
        var keys: [PrimaryKey: UInt32] = [:]
        var indexes: [String: IndexSlot] = [:]
    }
    let shared: Locked<Shared>
    /// BM25 full-text indexes by field (rebuilt from the stored text at open; see Collection+FullText).
    let fullText = Locked<[String: BM25Index]>([:])

    static func directory(in storeDir: String, _ name: String) -> String { storeDir + "/collections/" + name }

    /// Creates a collection's directory and first manifest.
    static func create(name: String, schema: CollectionSchema, storeDir: String, options: StoreOptions) throws -> Collection {
        try schema.validate(collection: name)
        let dir = directory(in: storeDir, name)
        guard !FileManager.default.fileExists(atPath: dir + "/" + Manifest.fileName) else { throw StoreError.collectionExists(name) }
        try FileOps.makeDirectory(dir)
        try FileOps.syncDirectory(storeDir + "/collections")
        try Manifest(name: name, schema: schema).write(to: dir)
        return try open(name: name, storeDir: storeDir, options: options)
    }

    init(name: String, manifest: Manifest, directory: String, options: StoreOptions) {
        self.name = name
        self.schema = manifest.schema
        self.directory = directory
        self.options = options
        self.manifest = manifest
        dimensions = manifest.schema.vectorFields.map(\.dimension)
        halfFields = manifest.schema.vectorFields.map { $0.storage == .float16 }
        var si: [String: Int] = [:]
        for (i, f) in manifest.schema.scalarFields.enumerated() { si[f.name] = i }
        scalarIndex = si
        lsn = manifest.lastLSN
        nextAutoID = manifest.nextAutoID
        shared = Locked(Shared())
    }

    /// Opens a collection: reads the manifest, maps segments, loads or rebuilds indexes, replays
    /// the WAL tail (ignoring a torn final record) and removes files no manifest refers to.
    static func open(name: String, storeDir: String, options: StoreOptions) throws -> Collection {
        let dir = directory(in: storeDir, name)
        guard FileManager.default.fileExists(atPath: dir + "/" + Manifest.fileName) else { throw StoreError.collectionNotFound(name) }
        let m = try Manifest.read(from: dir)
        let c = Collection(name: name, manifest: m, directory: dir, options: options)
        try c.recover()
        return c
    }

    private func recover() throws {
        let schema = self.schema
        var snap = Snapshot()
        snap.nextRow = manifest.nextRow
        snap.tombstones = Set(manifest.tombstones)
        for e in manifest.segments {
            let seg = try Segment(path: directory + "/" + e.file, dimensions: dimensions, half: halfFields,
                                  scalarFields: schema.scalarFields.count, keyType: schema.primaryKey.type)
            guard seg.count == e.rows else {
                throw StoreError.corruptFile(path: seg.path, reason: "holds \(seg.count) rows, the manifest says \(e.rows)")
            }
            snap.segments.append(seg)
        }
        // Indexes as of the manifest.
        var slots: [String: IndexSlot] = [:]
        var rebuilt = false
        for e in manifest.indexes {
            guard let fi = schema.vectorFields.firstIndex(where: { $0.name == e.info.field }) else { continue }
            let f = schema.vectorFields[fi]
            var index: VectorIndex?
            let covered = e.coveredRows ?? manifest.nextRow
            if let file = e.file, let loaded = try? IndexFactory.load(e.info, path: directory + "/" + file, dimension: f.dimension, metric: f.metric) {
                index = loaded
                for r in e.removedSince ?? [] { loaded.remove(row: r) }
                if (try? Self.addRows(to: loaded, field: fi, f, snapshot: snap, from: covered)) == nil { index = nil }
            }
            let live = snap.segments.reduce(0) { $0 + $1.count } - snap.tombstones.count
            if let i = index, i.count != live || i.dimension != f.dimension || i.metric != f.metric || i.kind != e.info.kind { index = nil }
            let slot: IndexSlot
            if let index {
                slot = IndexSlot(info: e.info, index: index)
                slot.persistedFile = e.file
                slot.coveredRows = covered
                slot.removedSince = e.removedSince ?? []
            } else {
                do {
                    slot = IndexSlot(info: e.info, index: try Self.build(e.info, field: fi, f, snapshot: snap))
                } catch {
                    // Cannot rebuild (an IVF index whose rows were since deleted below nlist): searches
                    // scan exactly and the index is dropped from the manifest at the next checkpoint.
                    FileHandle.standardError.write(Data("quiver: collection '\(name)' field '\(f.name)': dropping \(e.info.kind.rawValue) index that cannot be rebuilt: \(error)\n".utf8))
                    rebuilt = true
                    continue
                }
                rebuilt = true
            }
            slots[f.name] = slot
        }
        // WAL tail.
        let walFiles = try listFiles(prefix: "wal-", suffix: ".log").compactMap { f -> (UInt64, String)? in
            guard let n = UInt64(f.dropFirst(4).dropLast(4)) else { return nil }
            return (n, f)
        }.filter { $0.0 >= manifest.walSequence }.sorted { $0.0 < $1.0 }
        var lastEnd: Int?
        var seq = manifest.walSequence
        var keys: [PrimaryKey: UInt32] = [:]
        for seg in snap.segments {
            for i in 0..<seg.count where !snap.tombstones.contains(seg.row(i)) { keys[seg.id(i)] = seg.row(i) }
        }
        for (n, (fseq, file)) in walFiles.enumerated() {
            let isLast = n == walFiles.count - 1
            guard fseq == manifest.walSequence + UInt64(n) else {
                throw StoreError.corruptFile(path: directory + "/" + file, reason: "WAL file sequence has a gap before it (expected \(manifest.walSequence + UInt64(n)))")
            }
            let (records, end) = try WriteAheadLog.read(path: directory + "/" + file, isLast: isLast,
                                                         dimensions: dimensions, scalarFields: schema.scalarFields.count)
            for r in records where r.lsn > lsn {
                applyRecord(r, snapshot: &snap, keys: &keys, slots: slots)
                if schema.primaryKey.autoID, let b = r.batch, case let .int(maxID)? = b.ids.max() { nextAutoID = max(nextAutoID, maxID + 1) }
                lsn = r.lsn
            }
            if isLast { lastEnd = end; seq = fseq }
        }
        wal = try WriteAheadLog(directory: directory, sequence: seq, lastLSN: lsn, validEnd: lastEnd)
        writerNextRow = snap.nextRow
        shared.withLock { $0.snapshot = snap; $0.keys = keys; $0.indexes = slots }
        try rebuildFullText(from: snap)
        try removeUnreferencedFiles()
        if rebuilt { try checkpoint() }
    }

    /// Applies a WAL record to the in-memory state (used by replay and by live writes).
    func applyRecord(_ r: WALRecord, snapshot snap: inout Snapshot, keys: inout [PrimaryKey: UInt32], slots: [String: IndexSlot]) {
        let batch = r.batch.flatMap { $0.count > 0 ? Batch($0) : nil }
        applyToIndexes(r, batch: batch, slots: slots)
        applyToState(r, batch: batch, snapshot: &snap, keys: &keys)
    }

    func applyToIndexes(_ r: WALRecord, batch: Batch?, slots: [String: IndexSlot]) {
        if !r.tombstones.isEmpty {
            for s in slots.values {
                s.lock.write { for t in r.tombstones { s.index.remove(row: t) } }
                if s.persistedFile != nil { s.removedSince += r.tombstones.filter { $0 < s.coveredRows } }
            }
        }
        if let batch {
            for (fi, f) in schema.vectorFields.enumerated() {
                guard let s = slots[f.name] else { continue }
                s.lock.write {
                    do { try s.index.add(rows: batch.data.rows, vectors: UnsafeBufferPointer(start: batch.vectors(fi), count: batch.count * f.dimension)) } catch {
                        // The rows are stored; the index misses them until it is rebuilt (its count no longer matches at open).
                        FileHandle.standardError.write(Data("quiver: collection '\(name)' field '\(f.name)': index add failed: \(error)\n".utf8))
                    }
                }
            }
        }
    }

    func applyToState(_ r: WALRecord, batch: Batch?, snapshot snap: inout Snapshot, keys: inout [PrimaryKey: UInt32]) {
        for t in r.tombstones {
            // The key whose row this was goes away (unless re-added below).
            if let (chunk, i) = snap.locate(t), keys[chunk.id(i)] == t { keys[chunk.id(i)] = nil }
            snap.tombstones.insert(t)
        }
        if let batch {
            let b = batch.data
            snap.batches.append(batch)
            for i in 0..<b.count { keys[b.ids[i]] = b.rows[i] }
            snap.nextRow = max(snap.nextRow, b.rows[b.count - 1] + 1)
        }
    }

    /// Builds an index over every live row of `snapshot` (IVF kinds train on a sample first).
    static func build(_ info: IndexInfo, field fi: Int, _ f: VectorField, snapshot: Snapshot) throws -> VectorIndex {
        let index = try IndexFactory.make(info, dimension: f.dimension, metric: f.metric)
        if let ivf = index as? IVFIndex {
            let live = snapshot.chunks.reduce(0) { $0 + $1.count } - snapshot.tombstones.count
            let need = IndexFactory.minimumRows(info)
            guard live >= need else {
                throw StoreError.invalidRequest("\(info.kind.rawValue) with nlist=\(need) trains on the stored vectors and needs at least \(need); field '\(f.name)' holds \(live)")
            }
            // An evenly spaced sample of up to 256 vectors per list.
            let want = min(live, need * 256)
            let step = max(1, live / want)
            var sample: [Float] = []
            sample.reserveCapacity(want * f.dimension)
            var seen = 0
            for chunk in snapshot.chunks {
                let base = chunk.vectors(fi)
                for i in 0..<chunk.count where !snapshot.tombstones.contains(chunk.row(i)) {
                    if seen % step == 0, sample.count < want * f.dimension {
                        sample.append(contentsOf: UnsafeBufferPointer(start: base + i * f.dimension, count: f.dimension))
                    }
                    seen += 1
                }
            }
            try sample.withUnsafeBufferPointer { try ivf.train($0) }
        }
        try addRows(to: index, field: fi, f, snapshot: snapshot, from: 0)
        return index
    }

    /// Adds the live rows numbered `from` and above to `index`, in batches of up to 65536 rows.
    static func addRows(to index: VectorIndex, field fi: Int, _ f: VectorField, snapshot: Snapshot, from: UInt32) throws {
        var rows: [UInt32] = [], vecs: [Float] = []
        func emit() throws {
            if rows.isEmpty { return }
            try vecs.withUnsafeBufferPointer { try index.add(rows: rows, vectors: $0) }
            rows.removeAll(keepingCapacity: true); vecs.removeAll(keepingCapacity: true)
        }
        for chunk in snapshot.chunks where chunk.count > 0 && chunk.lastRow >= from {
            let base = chunk.vectors(fi)
            for i in 0..<chunk.count where chunk.row(i) >= from && !snapshot.tombstones.contains(chunk.row(i)) {
                rows.append(chunk.row(i))
                vecs.append(contentsOf: UnsafeBufferPointer(start: base + i * f.dimension, count: f.dimension))
                if rows.count >= 65536 { try emit() }
            }
        }
        try emit()
    }

    func listFiles(prefix: String, suffix: String) throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }
    }

    /// Deletes segment, index and WAL files the manifest no longer refers to, and temporaries.
    func removeUnreferencedFiles() throws {
        let keep = Set(manifest.segments.map(\.file) + manifest.indexes.compactMap(\.file) + [Manifest.fileName])
        for f in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + f
            if f.hasSuffix(".tmp") { unlink(path); continue }
            if (f.hasPrefix("seg-") || f.hasPrefix("idx-")) && !keep.contains(f) { unlink(path); continue }
            if f.hasPrefix("wal-"), let n = UInt64(f.dropFirst(4).dropLast(4)), n < manifest.walSequence { unlink(path) }
        }
    }

    var snapshot: Snapshot { shared.withLock { $0.snapshot } }

    /// Runs `body` holding the writer lock.
    func withWriter<R>(_ body: () throws -> R) rethrows -> R {
        writer.lock(); defer { writer.unlock() }
        return try body()
    }

    /// Throws if closed or read-only. Call with `writer` held.
    func checkOpen() throws {
        if let f = failure.withLock({ $0 }) { throw f }
        if closed { throw StoreError.closed("collection '\(name)'") }
    }

    /// Flushes growing data, persists indexes and closes the log. Further calls fail.
    ///
    /// A failed flush leaves the collection read-only and closed (its acknowledged writes are
    /// in the log, recovered at the next open) and throws ``StoreError/readOnly(collection:cause:)``.
    func close() throws {
        writer.lock(); defer { writer.unlock() }
        guard !closed else { return }
        closed = true
        var error: Error? = failure.withLock { $0 }
        if error == nil {
            do {
                try readOnlyOnFailure {
                    try drainPending()
                    let stale = shared.withLock { s in
                        s.indexes.values.contains { $0.persistedFile == nil || $0.coveredRows < s.snapshot.nextRow || !$0.removedSince.isEmpty }
                    }
                    if !snapshot.batches.isEmpty || stale { try checkpoint(persistIndexes: true) }
                }
            } catch let e { error = e }
        }
        // The log's last fsync: a failure is reported, not ignored.
        if let e = wal?.close(), error == nil { error = readOnly(e) }
        if let error { throw error }
    }
}
