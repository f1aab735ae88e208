import Foundation

/// Appends little-endian values to a growing byte buffer.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    mutating func raw(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func floats(_ f: [Float]) { f.withUnsafeBytes { bytes.append(contentsOf: $0) } }
    /// Length-prefixed (u32) UTF-8.
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        u32(UInt32(u.count)); bytes.append(contentsOf: u)
    }
    /// Pads with zeros to a multiple of `alignment`.
    mutating func align(_ alignment: Int) {
        let r = bytes.count % alignment
        if r != 0 { bytes.append(contentsOf: [UInt8](repeating: 0, count: alignment - r)) }
    }
}

/// Reads little-endian values from a byte range, throwing `StoreError.corruptFile` on overrun.
struct ByteReader {
    let base: UnsafeRawBufferPointer
    var offset: Int
    let path: String

    init(_ base: UnsafeRawBufferPointer, offset: Int = 0, path: String) {
        self.base = base; self.offset = offset; self.path = path
    }

    var remaining: Int { base.count - offset }

    private mutating func need(_ n: Int) throws {
        guard n >= 0, n <= base.count - offset else {
            throw StoreError.corruptFile(path: path, reason: "record at byte \(offset) needs \(n) bytes, only \(base.count - offset) remain")
        }
    }
    mutating func u8() throws -> UInt8 { try need(1); defer { offset += 1 }; return base[offset] }
    mutating func u32() throws -> UInt32 {
        try need(4); defer { offset += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    mutating func u64() throws -> UInt64 {
        try need(8); defer { offset += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    mutating func f64() throws -> Double { Double(bitPattern: try u64()) }
    mutating func raw(_ n: Int) throws -> UnsafeRawBufferPointer {
        try need(n); defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: base[offset..<(offset + n)])
    }
    mutating func floats(_ n: Int) throws -> [Float] {
        let r = try raw(n * 4)
        return [Float](unsafeUninitializedCapacity: n) { buf, c in
            if n > 0 { memcpy(buf.baseAddress!, r.baseAddress!, n * 4) }
            c = n
        }
    }
    mutating func string() throws -> String {
        let n = Int(try u32())
        return String(decoding: try raw(n), as: UTF8.self)
    }
}

/// File-system helpers: atomic replacement, directory sync, whole-file reads. Every call that
/// changes a file goes through ``StoreIO/fs`` (the fault-injection seam).
enum FileOps {
    /// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, fsync of the directory.
    /// On any failure the temporary file is removed and `path` keeps its old content.
    static func atomicWrite(_ bytes: [UInt8], to path: String) throws {
        let tmp = path + ".tmp"
        let fs = StoreIO.fs
        let fd = fs.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreIO.error(path: tmp, operation: "create", errno: errno, needed: bytes.count) }
        var ok = false
        defer { if !ok { fs.close(fd, path: tmp); unlink(tmp) } }
        try writeAll(fd, bytes, path: tmp)
        try fsyncFile(fd, path: tmp)
        ok = true
        fs.close(fd, path: tmp)
        guard fs.rename(tmp, path) == 0 else {
            let e = errno; unlink(tmp)
            throw StoreIO.error(path: path, operation: "rename", errno: e)
        }
        try syncDirectory(of: path)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    }

    /// Writes all of `buf`, continuing after short writes; a failed write throws (ENOSPC as
    /// ``StoreError/diskFull(store:path:needed:available:)`` naming the bytes still to write).
    static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, path: String) throws {
        let fs = StoreIO.fs
        var done = 0
        while done < buf.count {
            let n = fs.write(fd, buf.baseAddress! + done, min(buf.count - done, 1 << 30), path: path)
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                throw StoreIO.error(path: path, operation: "write", errno: e, needed: buf.count - done)
            }
            if n == 0 { throw StoreIO.error(path: path, operation: "write", errno: ENOSPC, needed: buf.count - done) }
            done += n
        }
    }

    /// fsyncs an open file; a failure is never retried (the kernel may have dropped the data).
    static func fsyncFile(_ fd: Int32, path: String) throws {
        guard StoreIO.fs.fsync(fd, path: path) == 0 else { throw StoreIO.error(path: path, operation: "fsync", errno: errno) }
    }

    /// fsyncs the directory holding `path` so a rename or create in it is durable.
    static func syncDirectory(of path: String) throws {
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    static func syncDirectory(_ dir: String) throws {
        let d = dir.isEmpty ? "." : dir
        let fs = StoreIO.fs
        let fd = fs.open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw StoreError.io(path: dir, operation: "open directory", reason: errnoText()) }
        defer { fs.close(fd, path: d) }
        guard fs.fsync(fd, path: d) == 0 else { throw StoreIO.error(path: dir, operation: "fsync directory", errno: errno) }
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw StoreError.io(path: path, operation: "read", reason: FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file")
        }
        return [UInt8](d)
    }

    static func makeDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        catch { throw StoreError.io(path: path, operation: "create directory", reason: "\(error.localizedDescription)") }
    }
}

/// A file mapped read-only. Unmapped when the last reference goes away.
final class MappedRegion: @unchecked Sendable {
    let path: String
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open", reason: errnoText()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.io(path: path, operation: "stat", reason: errnoText()) }
        let n = Int(st.st_size)
        if n == 0 { bytes = UnsafeRawBufferPointer(start: nil, count: 0); return }
        let p = mmap(nil, n, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw StoreError.io(path: path, operation: "mmap", reason: errnoText()) }
        bytes = UnsafeRawBufferPointer(start: p, count: n)
    }

    deinit { if let b = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: b), bytes.count) } }
}

/// A lock usable from synchronous code inside async functions.
final class Locked<State>: @unchecked Sendable {
    private var state: State
    private let lock = NSLock()
    init(_ s: State) { state = s }
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(&state)
    }
}

/// `close(2)`, reachable from types that have their own `close()`.
func closeFD(_ fd: Int32) { _ = close(fd) }
