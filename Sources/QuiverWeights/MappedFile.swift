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

    /// Maps `path` read-only.
    /// - Throws: `WeightsError.cannotOpen` naming the file and the system's reason.
    public init(path: String) throws {
        self.path = path
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

    /// The bytes in `range`, bounds-checked.
    /// - Throws: `WeightsError.malformed` when the range falls outside the file.
    public func bytes(_ offset: Int, _ length: Int) throws -> UnsafeRawBufferPointer {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw WeightsError.malformed(path: path, reason: "byte range \(offset)..<\(offset &+ length) lies outside the file (\(count) bytes)")
        }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    deinit { if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) } }
}
