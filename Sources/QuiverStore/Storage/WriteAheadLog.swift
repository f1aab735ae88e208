import Foundation

/// One WAL record: rows to tombstone and rows to add, applied together (an upsert is one record).
struct WALRecord: Sendable {
    var lsn: UInt64
    var tombstones: [UInt32]
    var batch: ColumnData?

    func encode() -> [UInt8] {
        var w = ByteWriter()
        w.u64(lsn)
        w.u32(UInt32(tombstones.count)); for t in tombstones { w.u32(t) }
        if let batch { w.u8(1); batch.encode(&w) } else { w.u8(0) }
        return w.bytes
    }

    static func decode(_ b: UnsafeRawBufferPointer, path: String, dimensions: [Int], scalarFields: Int) throws -> WALRecord {
        var r = ByteReader(b, path: path)
        let lsn = try r.u64()
        let n = Int(try r.u32())
        guard n <= r.remaining / 4 else { throw StoreError.corruptFile(path: path, reason: "tombstone count \(n) in LSN \(lsn)") }
        var t: [UInt32] = []; t.reserveCapacity(n)
        for _ in 0..<n { t.append(try r.u32()) }
        let has = try r.u8()
        let batch = has == 1 ? try ColumnData.decode(&r, dimensions: dimensions, scalarFields: scalarFields) : nil
        return WALRecord(lsn: lsn, tombstones: t, batch: batch)
    }
}

/// The write-ahead log of one collection: numbered files `wal-NNNNNNNN.log`, each a header
/// (magic `QVWAL\0\0\0`, version u32, file sequence u64, CRC32C u32) then frames
/// `[payload length u32][CRC32C of payload u32][payload]`.
///
/// Group commit: writers append under the collection's writer lock, then wait for durability
/// outside it; one writer at a time runs fsync and every record appended before that fsync
/// started is acknowledged by it.
final class WriteAheadLog: @unchecked Sendable {
    static let magic: [UInt8] = Array("QVWAL\0\0\0".utf8)
    static let version: UInt32 = 1
    static let headerSize = 24

    let directory: String
    private let cond = NSCondition()
    private var fd: Int32 = -1
    private(set) var sequence: UInt64
    private var written: UInt64 = 0
    private var durable: UInt64 = 0
    private var syncing = false
    private var failure: StoreError?
    /// Number of fsync calls made on log files (for tests of group commit).
    private(set) var syncCount = 0

    static func fileName(_ seq: UInt64) -> String { String(format: "wal-%08llu.log", seq) }
    var currentPath: String { directory + "/" + Self.fileName(sequence) }

    /// Opens file `sequence` for appending at `validEnd` (truncating a torn tail), or creates it.
    init(directory: String, sequence: UInt64, lastLSN: UInt64, validEnd: Int?) throws {
        self.directory = directory
        self.sequence = sequence
        written = lastLSN; durable = lastLSN
        try openFile(truncateTo: validEnd)
    }

    private func openFile(truncateTo validEnd: Int?) throws {
        let path = currentPath
        let fs = StoreIO.fs
        if let validEnd, validEnd >= Self.headerSize {
            fd = fs.open(path, O_WRONLY | O_CLOEXEC, 0)
            guard fd >= 0 else { throw StoreError.io(path: path, operation: "open", reason: errnoText()) }
            guard fs.ftruncate(fd, off_t(validEnd), path: path) == 0, lseek(fd, off_t(validEnd), SEEK_SET) >= 0 else {
                throw StoreIO.error(path: path, operation: "truncate", errno: errno)
            }
            try FileOps.fsyncFile(fd, path: path)
            return
        }
        fd = fs.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreIO.error(path: path, operation: "create", errno: errno, needed: Self.headerSize) }
        var h = ByteWriter()
        h.raw(Self.magic); h.u32(Self.version); h.u64(sequence)
        h.u32(CRC32C.checksum(h.bytes))
        try FileOps.writeAll(fd, h.bytes, path: path)
        try FileOps.fsyncFile(fd, path: path)
        try FileOps.syncDirectory(directory)
    }

    /// The last LSN known to be on stable storage.
    var durableLSN: UInt64 { cond.lock(); defer { cond.unlock() }; return durable }

    /// The failure that stopped this log, if any (every later append and wait throws it).
    var failed: StoreError? { cond.lock(); defer { cond.unlock() }; return failure }

    /// Appends a record (no fsync). Call with writers serialized.
    func append(_ record: WALRecord) throws {
        let payload = record.encode()
        var frame = ByteWriter(capacity: payload.count + 8)
        frame.u32(UInt32(payload.count)); frame.u32(CRC32C.checksum(payload)); frame.raw(payload)
        cond.lock(); defer { cond.unlock() }
        if let failure { throw failure }
        do { try FileOps.writeAll(fd, frame.bytes, path: currentPath) } catch let e as StoreError {
            // Part of the frame may be in the file: it is a torn tail, dropped at the next open
            // (nothing is appended after it, since the log stays failed).
            failure = e; throw e
        }
        written = record.lsn
    }

    /// Returns once every record up to `lsn` is on stable storage (group commit).
    func waitDurable(_ lsn: UInt64) throws {
        cond.lock(); defer { cond.unlock() }
        while durable < lsn {
            if let failure { throw failure }
            if syncing { cond.wait(); continue }
            syncing = true
            let target = written, f = fd
            cond.unlock()
            let rc = StoreIO.fs.fsync(f, path: currentPath)
            let err = errno
            cond.lock()
            syncing = false
            syncCount += 1
            // A failed fsync is final: never retried, since the kernel may already have dropped
            // the dirty pages and a second fsync could report success for lost data.
            if rc == 0 { durable = max(durable, target) } else {
                failure = StoreIO.error(path: currentPath, operation: "fsync", errno: err)
            }
            cond.broadcast()
        }
    }

    /// Makes everything durable, closes the current file and starts file `sequence + 1`.
    func rotate() throws {
        cond.lock(); defer { cond.unlock() }
        while syncing { cond.wait() }
        if let failure { throw failure }
        syncCount += 1
        do { try FileOps.fsyncFile(fd, path: currentPath) } catch let e as StoreError { failure = e; throw e }
        durable = written
        StoreIO.fs.close(fd, path: currentPath)
        fd = -1
        sequence += 1
        do { try openFile(truncateTo: nil) } catch let e as StoreError { failure = e; throw e }
    }

    /// fsyncs and closes the current file; returns the error when that fsync fails (or the log had failed before).
    @discardableResult
    func close() -> StoreError? {
        cond.lock(); defer { cond.unlock() }
        while syncing { cond.wait() }
        guard fd >= 0 else { return failure }
        if failure == nil {
            if StoreIO.fs.fsync(fd, path: currentPath) == 0 { durable = written } else {
                failure = StoreIO.error(path: currentPath, operation: "fsync", errno: errno)
            }
        }
        StoreIO.fs.close(fd, path: currentPath); fd = -1
        return failure
    }

    /// Reads the frames of one file. A damaged or partial final frame is a torn write and is
    /// reported through `validEnd`; a damaged frame followed by more data is corruption.
    static func read(path: String, isLast: Bool, dimensions: [Int], scalarFields: Int) throws -> (records: [WALRecord], validEnd: Int) {
        let region = try MappedRegion(path: path)
        let b = region.bytes
        func bad(_ r: String) -> StoreError { .corruptFile(path: path, reason: r) }
        if b.count < headerSize {
            if isLast { return ([], 0) }  // created but header never completed
            throw bad("file of \(b.count) bytes is shorter than the WAL header")
        }
        guard Array(b[0..<8]) == magic else { throw bad("not a QuiverStore WAL file (bad magic)") }
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<20])) == b.loadUnaligned(fromByteOffset: 20, as: UInt32.self) else {
            if isLast { return ([], 0) }
            throw bad("header checksum mismatch")
        }
        var records: [WALRecord] = []
        var o = headerSize
        while o < b.count {
            let rest = b.count - o
            let tail = UnsafeRawBufferPointer(rebasing: b[o...])
            let zeros = tail.allSatisfy { $0 == 0 }
            if rest < 8 || zeros {
                guard isLast else { throw bad("\(rest) stray bytes at byte \(o) after the last record") }
                break
            }
            let len = Int(b.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian)
            let crc = b.loadUnaligned(fromByteOffset: o + 4, as: UInt32.self).littleEndian
            if len > rest - 8 {
                guard isLast else { throw bad("record at byte \(o) claims \(len) bytes, only \(rest - 8) remain") }
                break  // torn tail
            }
            let payload = UnsafeRawBufferPointer(rebasing: b[(o + 8)..<(o + 8 + len)])
            if len < 13 || CRC32C.checksum(payload) != crc {
                if isLast && o + 8 + len == b.count { break }  // torn final record
                throw bad("record \(records.count + 1) at byte \(o) fails its checksum and \(b.count - o - 8 - len) bytes follow it; the log is damaged in the middle")
            }
            let rec = try decode(payload, path: path, at: o, dimensions: dimensions, scalarFields: scalarFields)
            records.append(rec)
            o += 8 + len
        }
        return (records, o)
    }

    private static func decode(_ p: UnsafeRawBufferPointer, path: String, at o: Int, dimensions: [Int], scalarFields: Int) throws -> WALRecord {
        do { return try WALRecord.decode(p, path: path, dimensions: dimensions, scalarFields: scalarFields) } catch let StoreError.corruptFile(_, reason) {
            throw StoreError.corruptFile(path: path, reason: "record at byte \(o): \(reason)")
        }
    }
}
