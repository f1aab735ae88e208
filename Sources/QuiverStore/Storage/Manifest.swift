import Foundation

/// The durable state of a collection at its last checkpoint. Replaced atomically; the WAL files
/// from `walSequence` on hold everything after it.
///
/// File `MANIFEST`: magic `QVMANIF\0`, version u32, body length u64, body (JSON), CRC32C u32 of the body.
struct Manifest: Codable, Sendable {
    struct SegmentEntry: Codable, Sendable { var file: String; var rows: Int }
    /// An index and its file; the file holds every row below `coveredRows` except `removedSince`
    /// (later rows are added from the segments at open).
    struct IndexEntry: Codable, Sendable {
        var info: IndexInfo
        var file: String?
        var coveredRows: UInt32?
        var removedSince: [UInt32]?
    }

    var name: String
    var schema: CollectionSchema
    var generation: UInt64 = 0
    var segments: [SegmentEntry] = []
    /// Deleted rows that still sit in sealed segments.
    var tombstones: [UInt32] = []
    var nextRow: UInt32 = 0
    var nextAutoID: Int64 = 1
    var lastLSN: UInt64 = 0
    var walSequence: UInt64 = 1
    var nextSegmentID: UInt64 = 1
    var indexes: [IndexEntry] = []
    /// BM25 full-text indexes (options only: they are rebuilt from the stored text at open).
    var fullText: [FullTextOptions]?
    var createdAt: Double = Date().timeIntervalSince1970

    static let magic: [UInt8] = Array("QVMANIF\0".utf8)
    static let version: UInt32 = 1
    static let fileName = "MANIFEST"

    func write(to dir: String) throws {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        let body: [UInt8]
        do { body = [UInt8](try enc.encode(self)) } catch {
            throw StoreError.io(path: dir + "/" + Self.fileName, operation: "encode manifest", reason: "\(error)")
        }
        var w = ByteWriter(capacity: body.count + 24)
        w.raw(Self.magic); w.u32(Self.version); w.u64(UInt64(body.count)); w.raw(body); w.u32(CRC32C.checksum(body))
        try FileOps.atomicWrite(w.bytes, to: dir + "/" + Self.fileName)
    }

    static func read(from dir: String) throws -> Manifest {
        let path = dir + "/" + fileName
        let bytes = try FileOps.readAll(path)
        return try bytes.withUnsafeBytes { b in
            func bad(_ r: String) -> StoreError { .corruptFile(path: path, reason: r) }
            guard b.count >= 24, Array(b[0..<8]) == magic else { throw bad("not a QuiverStore manifest (bad magic)") }
            var r = ByteReader(b, offset: 8, path: path)
            let v = try r.u32()
            guard v == version else { throw bad("manifest version \(v), this build reads \(version)") }
            let n = Int(try r.u64())
            guard n <= r.remaining - 4 else { throw bad("body of \(n) bytes runs past the end (\(b.count) bytes)") }
            let body = try r.raw(n)
            let crc = try r.u32()
            guard CRC32C.checksum(body) == crc else { throw bad("checksum mismatch") }
            do { return try JSONDecoder().decode(Manifest.self, from: Data(body)) } catch {
                throw bad("cannot decode: \(error)")
            }
        }
    }
}
