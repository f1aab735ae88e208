import Foundation

/// Log records appended but not yet fsync'd, and what they do to primary keys, so writers that
/// validate later (under the writer lock) see them while readers do not.
struct PendingWrites {
    /// In LSN order.
    var records: [WALRecord] = []
    /// Key → its row after the pending writes (nil: deleted), and the LSN of the last pending write that set it.
    var keys: [PrimaryKey: (row: UInt32?, lsn: UInt64)] = [:]
}

extension Collection {
    /// The current row of each key as writers see it: pending (appended, not yet durable) writes
    /// first, then the published state. Call with `writer` held.
    func currentRows(_ ids: [PrimaryKey]) -> [UInt32?] {
        var overlay: [PrimaryKey: UInt32?] = [:]
        pending.withLock { p in
            guard !p.keys.isEmpty else { return }
            // updateValue: a deleted key (nil row) must stay in the overlay, not fall through.
            for k in ids { if let e = p.keys[k] { overlay.updateValue(e.row, forKey: k) } }
        }
        return shared.withLock { s in ids.map { k in if let o = overlay[k] { return o }; return s.keys[k] } }
    }

    /// Drops the rows of `candidates` (read from the published snapshot) that a pending write
    /// already deleted or replaced. Call with `writer` held.
    func excludingPendingRemovals(_ candidates: [(row: UInt32, key: PrimaryKey)]) -> [(row: UInt32, key: PrimaryKey)] {
        pending.withLock { p in
            if p.keys.isEmpty { return candidates }
            return candidates.filter { c in
                guard let e = p.keys[c.key] else { return true }
                return e.row == c.row
            }
        }
    }

    /// Appends `record` to the log and queues it for publication once durable; `keyChanges`
    /// are the keys it sets (a row) or deletes (nil). Call with `writer` held. An append failure
    /// makes the collection read-only.
    func commit(_ record: WALRecord, keyChanges: [(PrimaryKey, UInt32?)]) throws {
        do { try wal!.append(record) } catch { throw readOnly(error) }
        pending.withLock { p in
            p.records.append(record)
            for (k, r) in keyChanges { p.keys[k] = (r, record.lsn) }
        }
        if let b = record.batch, b.count > 0 {
            writerNextRow = max(writerNextRow, b.rows[b.count - 1] + 1)
            if schema.primaryKey.autoID, case let .int(maxID)? = b.ids.max() { nextAutoID = max(nextAutoID, maxID + 1) }
        }
    }

    /// Waits until record `target` is fsync'd, then makes it (and every durable record before
    /// it) visible. A failed fsync is not retried: the collection becomes read-only and the
    /// write, never acknowledged, never becomes visible.
    func acknowledge(_ target: UInt64) throws {
        do { try wal!.waitDurable(target) } catch { throw readOnly(error) }
        publishDurable()
    }

    /// Applies every durable pending record to indexes, full-text indexes and the snapshot, in LSN order.
    func publishDurable() {
        publishLock.lock(); defer { publishLock.unlock() }
        guard let durable = wal?.durableLSN else { return }
        let ready = pending.withLock { p -> [WALRecord] in
            let n = p.records.prefix { $0.lsn <= durable }.count
            let r = Array(p.records.prefix(n))
            p.records.removeFirst(n)
            return r
        }
        guard let last = ready.last?.lsn else { return }
        for r in ready {
            let batch = r.batch.flatMap { $0.count > 0 ? Batch($0) : nil }
            let slots = shared.withLock { $0.indexes }
            applyToIndexes(r, batch: batch, slots: slots)
            applyToFullText(r, batch: batch)
            shared.withLock { s in applyToState(r, batch: batch, snapshot: &s.snapshot, keys: &s.keys) }
        }
        pending.withLock { p in
            if p.records.isEmpty { p.keys.removeAll() } else if p.keys.count > 4096 { p.keys = p.keys.filter { $0.value.lsn > last } }
        }
    }

    /// Makes every appended record durable and visible (before a flush, compaction or index
    /// build reads the snapshot). Call with `writer` held.
    func drainPending() throws {
        if let w = wal, w.durableLSN < lsn { try acknowledge(lsn) } else { publishDurable() }
    }

    /// Marks the collection read-only after a file-system failure and returns the error to
    /// throw (``StoreError/readOnly(collection:cause:)``); other errors pass through unchanged.
    func readOnly(_ error: Error) -> Error {
        guard let e = error as? StoreError else { return error }
        switch e {
        case .io, .diskFull, .indexFile, .corruptFile, .corruptIndex:
            let ro = StoreError.readOnly(collection: name, cause: e)
            return failure.withLock { f in
                if f == nil { f = ro }
                return f!
            }
        default: return e
        }
    }

    /// Runs `body`; a file-system failure inside it makes the collection read-only.
    func readOnlyOnFailure<R>(_ body: () throws -> R) throws -> R {
        do { return try body() } catch { throw readOnly(error) }
    }
}
