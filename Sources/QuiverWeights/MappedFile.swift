import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. Unmapped when the last reference goes away.
public final class MappedFile: @unchecked Sendable {
    /// The path it was opened from.
    public let path: String
    /// First byte (nil for an empty file).
    public let base: UnsafeRawPointer?
    /// Size in bytes.
    public let count: Int
    /// True when `base` is an allocated copy rather than a mapping.
    private let ownsCopy: Bool

    /// Maps `path` read-only.
    /// - Throws: `WeightsError.cannotOpen` naming the file and the system's reason.
    public init(path: String) throws {
        self.path = path
        ownsCopy = false
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw WeightsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw WeightsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw WeightsError.cannotOpen(path: path, reason: "not a regular file") }
        count = Int(st.st_size)
        if count == 0 { base = nil; return }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw WeightsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        base = UnsafeRawPointer(p)
    }

    /// A copy of `bytes` in memory, presented as a file named `path` (for in-memory parsing,
    /// e.g. fuzzing, or data that did not come from disk).
    public init(bytes: [UInt8], path: String) {
        self.path = path
        count = bytes.count
        ownsCopy = true
        if bytes.isEmpty { base = nil; return }
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        base = UnsafeRawPointer(p)
    }

    /// `count` bytes in memory written by `fill`, presented as a file named `path` (an inflated ZIP entry).
    init(path: String, count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.path = path
        self.count = count
        ownsCopy = true
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        do { try fill(UnsafeMutableRawBufferPointer(start: p, count: count)) } catch { p.deallocate(); throw error }
        base = UnsafeRawPointer(p)
    }

    /// The bytes in `range`, bounds-checked.
    /// - Throws: `WeightsError.malformed` when the range falls outside the file.
    public func bytes(_ offset: Int, _ length: Int) throws -> UnsafeRawBufferPointer {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw WeightsError.malformed(path: path, reason: "byte range \(offset)..<\(offset &+ length) lies outside the file (\(count) bytes)")
        }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    deinit {
        guard let base else { return }
        if ownsCopy { UnsafeMutableRawPointer(mutating: base).deallocate() } else { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }
}
