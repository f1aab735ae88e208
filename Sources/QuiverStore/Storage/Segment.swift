import Foundation

/// A sealed segment: a columnar, checksummed, memory-mapped file.
///
/// Layout (little-endian): magic `QVSEG\0\0\0` (8 bytes), version u32, header length u32, header,
/// header CRC32C u32, then sections each starting on a 64-byte boundary:
/// rows (u32 × n), ids (int64 × n, or offsets u64 × (n+1) + UTF-8 bytes for string keys),
/// one block (n × dimension) per vector field (float32, or IEEE half for float16 storage), one variable-length column
/// (offsets u64 × (n+1) + encoded values) per scalar field, and the dynamic field column.
/// The header holds the row count, the key type and each section's offset, length and CRC32C.
final class Segment: RowChunk, @unchecked Sendable {
    static let magic: [UInt8] = Array("QVSEG\0\0\0".utf8)
    static let version: UInt32 = 1

    let path: String
    let count: Int
    private let region: MappedRegion
    private let rowsPtr: UnsafePointer<UInt32>
    private let stringKeys: Bool
    private let idSection: UnsafeRawBufferPointer
    private let vectorPtrs: [UnsafePointer<Float>]
    private let scalarSections: [UnsafeRawBufferPointer]
    private let dynamicSection: UnsafeRawBufferPointer
    private let owned: [UnsafeMutablePointer<Float>]

    /// Writes `data` as a segment file at `path` atomically (see ``SegmentWriter``).
    static func write(_ data: ColumnData, keyType: PrimaryKeyType, dimensions: [Int], half: [Bool], to path: String) throws {
        try SegmentWriter.write(SegmentSource(chunks: [Batch(data)], skip: []), keyType: keyType, dimensions: dimensions,
                                half: half, scalarFields: data.scalars.count, to: path)
    }

    /// Maps and verifies the segment at `path` (every section's checksum is checked).
    init(path: String, dimensions: [Int], half: [Bool], scalarFields: Int, keyType: PrimaryKeyType) throws {
        self.path = path
        region = try MappedRegion(path: path)
        let b = region.bytes
        func bad(_ r: String) -> StoreError { .corruptFile(path: path, reason: r) }
        guard b.count >= 16, Array(b[0..<8]) == Self.magic else { throw bad("not a QuiverStore segment (bad magic)") }
        var r = ByteReader(b, offset: 8, path: path)
        let version = try r.u32()
        guard version == Self.version else { throw bad("segment version \(version), this build reads \(Self.version)") }
        let hl = Int(try r.u32())
        let hbytes = try r.raw(hl)
        let hcrc = try r.u32()
        guard CRC32C.checksum(hbytes) == hcrc else { throw bad("header checksum mismatch") }
        var h = ByteReader(hbytes, path: path)
        let n = Int(try h.u64())
        let kt = try h.u8()
        guard (kt == 1 ? PrimaryKeyType.int64 : .string) == keyType else { throw bad("key type differs from the schema") }
        let nv = Int(try h.u32())
        var dims: [Int] = []
        for _ in 0..<nv { dims.append(Int(try h.u32())) }
        guard dims == dimensions else { throw bad("vector dimensions \(dims) differ from the schema's \(dimensions)") }
        var storedHalf: [Bool] = []
        for _ in 0..<nv { storedHalf.append(try h.u8() == 1) }
        guard storedHalf == half else { throw bad("vector storage (float16 flags \(storedHalf)) differs from the schema's \(half)") }
        let ns = Int(try h.u32())
        guard ns == scalarFields else { throw bad("\(ns) scalar columns, the schema has \(scalarFields)") }
        let nsec = Int(try h.u32())
        guard nsec == 2 + nv + ns + 1 else { throw bad("\(nsec) sections, expected \(2 + nv + ns + 1)") }
        var secs: [UnsafeRawBufferPointer] = []
        for i in 0..<nsec {
            let off = Int(try h.u64()), len = Int(try h.u64()), crc = try h.u32()
            guard off >= 0, len >= 0, off <= b.count, len <= b.count - off else {
                throw bad("section \(i) (\(off)+\(len)) lies outside the file (\(b.count) bytes)")
            }
            let s = UnsafeRawBufferPointer(rebasing: b[off..<(off + len)])
            guard CRC32C.checksum(s) == crc else { throw bad("section \(i) at byte \(off) fails its checksum") }
            secs.append(s)
        }
        count = n
        guard secs[0].count == n * 4 else { throw bad("rows column holds \(secs[0].count) bytes for \(n) rows") }
        rowsPtr = n == 0 ? UnsafePointer(bitPattern: 4)! : secs[0].baseAddress!.assumingMemoryBound(to: UInt32.self)
        stringKeys = keyType == .string
        idSection = secs[1]
        if !stringKeys, secs[1].count != n * 8 { throw bad("id column holds \(secs[1].count) bytes for \(n) rows") }
        var vp: [UnsafePointer<Float>] = []
        var decoded: [UnsafeMutablePointer<Float>] = []
        for f in 0..<nv {
            let width = half[f] ? 2 : 4
            guard secs[2 + f].count == n * dims[f] * width else { throw bad("vector field \(f) holds \(secs[2 + f].count) bytes for \(n) rows") }
            if half[f] {
                // float16 on disk, float32 in memory for the distance kernels.
                let count = n * dims[f]
                let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
                let src = secs[2 + f]
                for i in 0..<count { p[i] = Half.toFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                decoded.append(p)
                vp.append(UnsafePointer(p))
            } else {
                vp.append(n == 0 ? UnsafePointer(bitPattern: 4)! : secs[2 + f].baseAddress!.assumingMemoryBound(to: Float.self))
            }
        }
        vectorPtrs = vp
        owned = decoded
        scalarSections = Array(secs[(2 + nv)..<(2 + nv + ns)])
        dynamicSection = secs[2 + nv + ns]
        for s in scalarSections + [dynamicSection] + (stringKeys ? [idSection] : []) {
            guard s.count >= (n + 1) * 8 else { throw bad("variable-length column too short for \(n) rows") }
            let end = Int(s.loadUnaligned(fromByteOffset: n * 8, as: UInt64.self))
            guard end == s.count - (n + 1) * 8 else { throw bad("variable-length column size mismatch") }
        }
        for i in 1..<max(n, 1) where rowsPtr[i] <= rowsPtr[i - 1] { throw bad("row numbers not ascending at entry \(i)") }
    }

    deinit { for p in owned { p.deallocate() } }

    private func slot(_ s: UnsafeRawBufferPointer, _ i: Int) -> UnsafeRawBufferPointer {
        let a = Int(s.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
        let e = Int(s.loadUnaligned(fromByteOffset: (i + 1) * 8, as: UInt64.self))
        let base = (count + 1) * 8
        return UnsafeRawBufferPointer(rebasing: s[(base + a)..<(base + e)])
    }

    func row(_ i: Int) -> UInt32 { rowsPtr[i] }
    func id(_ i: Int) -> PrimaryKey {
        if stringKeys { return .string(String(decoding: slot(idSection, i), as: UTF8.self)) }
        return .int(idSection.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
    }
    func vectors(_ field: Int) -> UnsafePointer<Float> { vectorPtrs[field] }
    func scalar(_ field: Int, _ i: Int) -> FieldValue {
        var r = ByteReader(slot(scalarSections[field], i), path: path)
        return (try? ValueCodec.field(&r)) ?? .null
    }
    func dynamic(_ i: Int) -> [String: FieldValue] {
        let s = slot(dynamicSection, i)
        if s.isEmpty { return [:] }
        var r = ByteReader(s, path: path)
        return (try? ValueCodec.dynamic(&r)) ?? [:]
    }
}
