import Foundation

/// Rows to seal into a segment, read in row order from existing chunks (growing batches or
/// sealed segments) without copying them: `count` entries, visited by `forEach` once per pass.
struct SegmentSource {
    let count: Int
    let forEach: (_ body: (RowChunk, Int) throws -> Void) throws -> Void

    /// The entries of `chunks` whose rows are not in `skip`.
    init(chunks: [RowChunk], skip: Set<UInt32>) {
        var n = 0
        for c in chunks {
            if skip.isEmpty { n += c.count } else { for i in 0..<c.count where !skip.contains(c.row(i)) { n += 1 } }
        }
        count = n
        forEach = { body in
            for c in chunks {
                for i in 0..<c.count where skip.isEmpty || !skip.contains(c.row(i)) { try body(c, i) }
            }
        }
    }
}

/// Writes a segment file (layout in ``Segment``) by streaming its sections: each column is read
/// from the source in one pass (two for variable-length columns: offsets, then values) through
/// a 1 MiB buffer, checksummed as it goes, and the header is written last at the front. Memory
/// stays bounded whatever the row count. The file is written under a temporary name, fsync'd,
/// renamed over `path` and its directory fsync'd; on failure the temporary file is removed.
enum SegmentWriter {
    static func write(_ source: SegmentSource, keyType: PrimaryKeyType, dimensions: [Int], half: [Bool],
                      scalarFields: Int, to path: String) throws {
        let n = source.count
        let nv = dimensions.count
        let nsec = 2 + nv + scalarFields + 1
        let headerLen = 8 + 1 + 4 + 4 * nv + nv + 4 + 4 + nsec * 20
        let prefix = 8 + 4 + 4 + headerLen + 4
        let tmp = path + ".tmp"
        let fs = StoreIO.fs
        let fd = fs.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreIO.error(path: tmp, operation: "create", errno: errno, needed: prefix) }
        var ok = false
        defer { if !ok { fs.close(fd, path: tmp); unlink(tmp) } }

        let out = Output(fd: fd, path: tmp)
        out.w.raw([UInt8](repeating: 0, count: prefix))
        try out.flush(checksum: false)
        var table: [(offset: Int, length: Int, crc: UInt32)] = []
        func section(_ body: () throws -> Void) throws {
            let pad = (64 - out.position % 64) % 64
            out.w.raw([UInt8](repeating: 0, count: pad))
            try out.flush(checksum: false)
            let start = out.position
            out.crc = 0; out.length = 0
            try body()
            try out.flush()
            table.append((start, out.length, out.crc))
        }
        /// offsets u64 × (n+1), then the bytes `put` writes for each entry.
        func variable(_ put: (RowChunk, Int, inout ByteWriter) -> Void) throws {
            var scratch = ByteWriter()
            var offset: UInt64 = 0
            try source.forEach { c, i in
                scratch.bytes.removeAll(keepingCapacity: true)
                put(c, i, &scratch)
                out.w.u64(offset); offset += UInt64(scratch.bytes.count)
                try out.maybeFlush()
            }
            out.w.u64(offset)
            try source.forEach { c, i in
                scratch.bytes.removeAll(keepingCapacity: true)
                put(c, i, &scratch)
                out.w.raw(scratch.bytes)
                try out.maybeFlush()
            }
        }

        try section { try source.forEach { c, i in out.w.u32(c.row(i)); try out.maybeFlush() } }
        if keyType == .int64 {
            try section { try source.forEach { c, i in if case let .int(k) = c.id(i) { out.w.i64(k) } else { out.w.i64(0) }; try out.maybeFlush() } }
        } else {
            try section { try variable { c, i, w in if case let .string(s) = c.id(i) { w.raw(Array(s.utf8)) } } }
        }
        for f in 0..<nv {
            let d = dimensions[f]
            try section {
                try source.forEach { c, i in
                    let v = UnsafeBufferPointer(start: c.vectors(f) + i * d, count: d)
                    if half[f] {
                        for x in v { let h = Half.fromFloat(x); out.w.u8(UInt8(h & 0xFF)); out.w.u8(UInt8(h >> 8)) }
                    } else {
                        out.w.raw(UnsafeRawBufferPointer(v))
                    }
                    try out.maybeFlush()
                }
            }
        }
        for s in 0..<scalarFields { try section { try variable { c, i, w in ValueCodec.put(c.scalar(s, i), &w) } } }
        try section { try variable { c, i, w in let d = c.dynamic(i); if !d.isEmpty { ValueCodec.put(d, &w) } } }

        var header = ByteWriter()
        header.u64(UInt64(n)); header.u8(keyType == .int64 ? 1 : 2)
        header.u32(UInt32(nv)); for d in dimensions { header.u32(UInt32(d)) }
        for h in half { header.u8(h ? 1 : 0) }
        header.u32(UInt32(scalarFields)); header.u32(UInt32(nsec))
        for t in table { header.u64(UInt64(t.offset)); header.u64(UInt64(t.length)); header.u32(t.crc) }
        precondition(header.bytes.count == headerLen, "segment header size")
        var head = ByteWriter(capacity: prefix)
        head.raw(Segment.magic); head.u32(Segment.version); head.u32(UInt32(headerLen))
        head.raw(header.bytes); head.u32(CRC32C.checksum(header.bytes))
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw StoreError.io(path: tmp, operation: "seek", reason: errnoText()) }
        try FileOps.writeAll(fd, head.bytes, path: tmp)
        try FileOps.fsyncFile(fd, path: tmp)
        ok = true
        fs.close(fd, path: tmp)
        guard fs.rename(tmp, path) == 0 else {
            let e = errno; unlink(tmp)
            throw StoreIO.error(path: path, operation: "rename", errno: e)
        }
        try FileOps.syncDirectory(of: path)
    }

    /// The file being written: a buffer, the bytes already written, and the running checksum
    /// and length of the current section.
    private final class Output {
        let fd: Int32
        let path: String
        var w = ByteWriter(capacity: 1 << 20 + 4096)
        var written = 0
        var crc: UInt32 = 0
        var length = 0
        init(fd: Int32, path: String) { self.fd = fd; self.path = path }
        var position: Int { written + w.bytes.count }
        func flush(checksum: Bool = true) throws {
            if w.bytes.isEmpty { return }
            if checksum { crc = w.bytes.withUnsafeBytes { CRC32C.update(crc, $0) }; length += w.bytes.count }
            try FileOps.writeAll(fd, w.bytes, path: path)
            written += w.bytes.count
            w.bytes.removeAll(keepingCapacity: true)
        }
        func maybeFlush() throws { if w.bytes.count >= 1 << 20 { try flush() } }
    }
}
