import CQuiverKernels
import Foundation

/// The on-disk layout shared by every index kind (all integers little-endian):
///
/// - bytes 0..<256, the header: magic `QUIVERIX` (8), format version u32, header size u32 (256),
///   kind u32, metric u32, dimension u32, section count u32, slots u64 (rows ever added, tombstones
///   included), live rows u64, file size u64, 16 kind-specific parameters u64 (doubles as their
///   bit pattern), zero padding, and at 252 the CRC-32C of bytes 0..<252;
/// - the section table at 256: per section tag u32, CRC-32C u32 of its bytes, offset u64, length u64,
///   reserved u64; followed by the table's CRC-32C (u32);
/// - the sections, each starting at a multiple of 64 bytes (so float data can be used in place).
///
/// Kind codes: 1 FLAT, 2 HNSW, 3 IVF_FLAT, 4 IVF_SQ8. Metric codes: 1 COSINE, 2 IP, 3 L2.
/// Section tags are four ASCII bytes read as a little-endian u32: `ROWS` (u32 caller row per
/// slot), `DEAD` (u64 tombstone bitmap words), `VECS` (f32 slots × dimension; normalized for
/// COSINE), `LVLS`/`LNK0`/`LPPR` (HNSW levels and links), `CENT` (IVF centroids), `LIST` (IVF
/// list of each slot), `SQQ8`/`SQ8P` (SQ8 codes and per-dimension min and scale).
/// A reader checks every checksum before using a byte; the file is written to a temporary name,
/// fsync'd and renamed into place.
public enum IndexFileFormat {
    /// The first 8 bytes of every index file: ASCII `QUIVERIX`.
    public static let magic: [UInt8] = Array("QUIVERIX".utf8)
    /// The format version this build writes and the only one it reads.
    public static let version: UInt32 = 1
    /// Bytes of the fixed header; the section table starts here.
    public static let headerSize = 256
    /// Number of u64 kind-specific parameters in the header (at byte 56).
    public static let paramCount = 16
    static let sectionEntrySize = 32
    static let maxSections = 64
}

/// Section tags (four ASCII characters).
enum SectionTag: UInt32 {
    case rows = 0x53574F52      // "ROWS": u32 caller row per slot
    case dead = 0x44414544      // "DEAD": u64 tombstone bitmap words
    case vectors = 0x53434556   // "VECS": f32 slots × dimension
    case links0 = 0x304B4E4C    // "LNK0": HNSW level-0 adjacency
    case levels = 0x534C564C    // "LVLS": HNSW level per slot (u8)
    case upper = 0x5250504C     // "LPPR": HNSW upper-level adjacency (u32 stream)
    case centroids = 0x544E4543 // "CENT": IVF centroids f32 nlist × dimension
    case lists = 0x5453494C     // "LIST": IVF list of each slot (u32)
    case sq8 = 0x38515153       // "SQQ8": SQ8 codes u8 slots × dimension
    case sq8Params = 0x50385153 // "SQ8P": SQ8 per-dimension min and scale f32

    var name: String {
        withUnsafeBytes(of: rawValue.littleEndian) { String(decoding: $0, as: UTF8.self) }
    }
}

extension IndexKind {
    var code: UInt32 { switch self { case .flat: 1; case .hnsw: 2; case .ivfFlat: 3; case .ivfSQ8: 4 } }
    init?(code: UInt32) {
        switch code { case 1: self = .flat; case 2: self = .hnsw; case 3: self = .ivfFlat; case 4: self = .ivfSQ8; default: return nil }
    }
}

extension Metric {
    var code: UInt32 { switch self { case .cosine: 1; case .innerProduct: 2; case .l2: 3 } }
    init?(code: UInt32) {
        switch code { case 1: self = .cosine; case 2: self = .innerProduct; case 3: self = .l2; default: return nil }
    }
}

/// The fixed header fields.
struct IndexFileHeader {
    var kind: IndexKind
    var metric: Metric
    var dimension: Int
    var slots: Int
    var live: Int
    var params: [UInt64] = Array(repeating: 0, count: IndexFileFormat.paramCount)
}

/// Writes an index file atomically: a temporary file beside the target, fsync, rename, fsync of
/// the directory. Sections are written straight from the caller's buffers.
struct IndexFileWriter {
    var header: IndexFileHeader
    private var sections: [(tag: SectionTag, data: UnsafeRawBufferPointer)] = []

    init(header: IndexFileHeader) { self.header = header }

    mutating func add(_ tag: SectionTag, _ data: UnsafeRawBufferPointer) { sections.append((tag, data)) }

    func write(to path: String) throws {
        let align = 64
        let tableEnd = IndexFileFormat.headerSize + sections.count * IndexFileFormat.sectionEntrySize + 4
        var offset = (tableEnd + align - 1) / align * align
        var table = [UInt8]()
        var placed: [(Int, UnsafeRawBufferPointer)] = []
        for s in sections {
            let crc = s.data.count == 0 ? 0 : qk_crc32c(0, s.data.baseAddress, s.data.count)
            table.appendLE(s.tag.rawValue); table.appendLE(crc)
            table.appendLE(UInt64(offset)); table.appendLE(UInt64(s.data.count)); table.appendLE(UInt64(0))
            placed.append((offset, s.data))
            offset = (offset + s.data.count + align - 1) / align * align
        }
        let fileSize = offset
        table.appendLE(table.withUnsafeBytes { qk_crc32c(0, $0.baseAddress, $0.count) })

        var head = [UInt8]()
        head.append(contentsOf: IndexFileFormat.magic)
        head.appendLE(IndexFileFormat.version); head.appendLE(UInt32(IndexFileFormat.headerSize))
        head.appendLE(header.kind.code); head.appendLE(header.metric.code)
        head.appendLE(UInt32(header.dimension)); head.appendLE(UInt32(sections.count))
        head.appendLE(UInt64(header.slots)); head.appendLE(UInt64(header.live)); head.appendLE(UInt64(fileSize))
        for p in header.params { head.appendLE(p) }
        head.append(contentsOf: repeatElement(0, count: 252 - head.count))
        head.appendLE(head.withUnsafeBytes { qk_crc32c(0, $0.baseAddress, $0.count) })

        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fs = StoreIO.fs
        /// ENOSPC as `diskFull`, anything else as `indexFile`.
        func failure(_ what: String, _ e: Int32, needed: Int = 0) -> StoreError {
            if e == ENOSPC || e == EDQUOT { return StoreIO.error(path: path, operation: what, errno: e, needed: needed) }
            return .indexFile(path: path, reason: "\(what) failed: \(String(cString: strerror(e)))")
        }
        let fd = fs.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            let e = errno
            if e == ENOSPC || e == EDQUOT { throw failure("create", e, needed: fileSize) }
            throw StoreError.indexFile(path: path, reason: "cannot create \(tmp): \(String(cString: strerror(e)))")
        }
        var ok = false
        defer { if !ok { fs.close(fd, path: tmp); unlink(tmp) } }
        var pos = 0
        func put(_ p: UnsafeRawPointer?, _ n: Int) throws {
            var done = 0
            while done < n {
                let w = fs.write(fd, p! + done, min(n - done, 1 << 30), path: tmp)
                if w < 0 {
                    let e = errno
                    if e == EINTR { continue }
                    throw failure("write", e, needed: fileSize - pos - done)
                }
                if w == 0 { throw failure("write", ENOSPC, needed: fileSize - pos - done) }
                done += w
            }
            pos += n
        }
        let zeros = [UInt8](repeating: 0, count: align)
        func pad(to target: Int) throws { if target > pos { try zeros.withUnsafeBytes { try put($0.baseAddress, target - pos) } } }
        try head.withUnsafeBytes { try put($0.baseAddress, $0.count) }
        try table.withUnsafeBytes { try put($0.baseAddress, $0.count) }
        for (off, data) in placed {
            try pad(to: off)
            if data.count > 0 { try put(data.baseAddress, data.count) }
        }
        try pad(to: fileSize)
        // Never retried: after a failed fsync the written pages may be gone.
        if fs.fsync(fd, path: tmp) != 0 { throw failure("fsync", errno) }
        fs.close(fd, path: tmp)
        ok = true
        if fs.rename(tmp, path) != 0 {
            let e = errno; unlink(tmp)
            throw failure("rename", e)
        }
        do { try FileOps.syncDirectory(of: path) } catch let e as StoreError {
            if case .diskFull = e { throw e }
            throw StoreError.indexFile(path: path, reason: "fsync of its directory failed: \(e)")
        }
    }
}

/// A read-only memory map of an index file whose header, section table and every section
/// checksum were verified. Section bytes stay valid while this object lives.
final class MappedIndexFile: @unchecked Sendable {
    let path: String
    let header: IndexFileHeader
    private let base: UnsafeRawPointer
    private let size: Int
    private var sections: [UInt32: (offset: Int, length: Int)] = [:]

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw StoreError.indexFile(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw StoreError.indexFile(path: path, reason: String(cString: strerror(errno))) }
        size = Int(st.st_size)
        if size < IndexFileFormat.headerSize {
            throw StoreError.corruptIndex(path: path, reason: "file has \(size) bytes, shorter than the \(IndexFileFormat.headerSize)-byte header")
        }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw StoreError.indexFile(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(m)
        do {
            header = try Self.parse(base: base, size: size, path: path, sections: &sections)
        } catch {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    private static func parse(base: UnsafeRawPointer, size: Int, path: String,
                              sections: inout [UInt32: (offset: Int, length: Int)]) throws -> IndexFileHeader {
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        func bad(_ r: String) -> StoreError { .corruptIndex(path: path, reason: r) }
        if !IndexFileFormat.magic.elementsEqual(UnsafeRawBufferPointer(start: base, count: 8)) {
            throw StoreError.indexFile(path: path, reason: "not a Quiver index file (bad magic)")
        }
        let version = u32(8)
        if version != IndexFileFormat.version { throw StoreError.unsupportedIndexVersion(path: path, version: version) }
        if qk_crc32c(0, base, 252) != u32(252) { throw bad("header checksum mismatch") }
        if u32(12) != UInt32(IndexFileFormat.headerSize) { throw bad("header size \(u32(12)) is not \(IndexFileFormat.headerSize)") }
        guard let kind = IndexKind(code: u32(16)) else { throw bad("unknown index kind code \(u32(16))") }
        guard let metric = Metric(code: u32(20)) else { throw bad("unknown metric code \(u32(20))") }
        let dim = Int(u32(24)), nsec = Int(u32(28))
        if dim < 1 || dim > 65536 { throw bad("dimension \(dim) out of range 1...65536") }
        if nsec > IndexFileFormat.maxSections { throw bad("section count \(nsec) exceeds \(IndexFileFormat.maxSections)") }
        let slots = u64(32), live = u64(40), fileSize = u64(48)
        if fileSize != UInt64(size) { throw bad("file is \(size) bytes but its header says \(fileSize) (truncated or extended)") }
        if slots > UInt64(UInt32.max) || live > slots { throw bad("row counts out of range (slots \(slots), live \(live))") }
        var h = IndexFileHeader(kind: kind, metric: metric, dimension: dim, slots: Int(slots), live: Int(live))
        for i in 0..<IndexFileFormat.paramCount { h.params[i] = u64(56 + 8 * i) }
        let tableStart = IndexFileFormat.headerSize
        let tableLen = nsec * IndexFileFormat.sectionEntrySize
        if tableStart + tableLen + 4 > size { throw bad("section table runs past the end of the file") }
        if qk_crc32c(0, base + tableStart, tableLen) != u32(tableStart + tableLen) { throw bad("section table checksum mismatch") }
        for i in 0..<nsec {
            let e = tableStart + i * IndexFileFormat.sectionEntrySize
            let tag = u32(e), crc = u32(e + 4), off = u64(e + 8), len = u64(e + 16)
            let name = SectionTag(rawValue: tag)?.name ?? String(format: "0x%08x", tag)
            if off % 64 != 0 || off < UInt64(tableStart + tableLen + 4) || off > UInt64(size) || len > UInt64(size) - off {
                throw bad("section \(name) (offset \(off), length \(len)) lies outside the file")
            }
            if len > 0 && qk_crc32c(0, base + Int(off), Int(len)) != crc { throw bad("section \(name) checksum mismatch") }
            sections[tag] = (Int(off), Int(len))
        }
        return h
    }

    /// The bytes of section `tag`, which must hold exactly `count` elements of `T`.
    func section<T>(_ tag: SectionTag, _ type: T.Type, count: Int) throws -> UnsafeBufferPointer<T> {
        guard let s = sections[tag.rawValue] else { throw StoreError.corruptIndex(path: path, reason: "section \(tag.name) is missing") }
        if s.length != count * MemoryLayout<T>.stride {
            throw StoreError.corruptIndex(path: path, reason: "section \(tag.name) has \(s.length) bytes, expected \(count * MemoryLayout<T>.stride)")
        }
        return UnsafeBufferPointer(start: (base + s.offset).assumingMemoryBound(to: T.self), count: count)
    }

    /// The raw bytes of section `tag`.
    func rawSection(_ tag: SectionTag) throws -> UnsafeRawBufferPointer {
        guard let s = sections[tag.rawValue] else { throw StoreError.corruptIndex(path: path, reason: "section \(tag.name) is missing") }
        return UnsafeRawBufferPointer(start: base + s.offset, count: s.length)
    }

    func corrupt(_ reason: String) -> StoreError { .corruptIndex(path: path, reason: reason) }
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }
}

/// Loading any index file.
public enum IndexFiles {
    /// Opens the index file at `path` (memory-mapped; float vectors are used in place), verifying
    /// magic, version, every header field and all checksums.
    /// - Throws: `StoreError.indexFile` / `.corruptIndex` / `.unsupportedIndexVersion`, naming the file.
    public static func load(path: String) throws -> any VectorIndex {
        let file = try MappedIndexFile(path: path)
        switch file.header.kind {
        case .flat: return try FlatIndex(file: file)
        case .hnsw: return try HNSWIndex(file: file)
        case .ivfFlat: return try IVFFlatIndex(file: file)
        case .ivfSQ8: return try IVFSQ8Index(file: file)
        }
    }
}
