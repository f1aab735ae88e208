import Foundation

/// The system calls through which the store changes files: every create, write, fsync, truncate
/// and rename of a segment, manifest, write-ahead log or index file, and every directory sync.
///
/// The default, ``POSIXFileSystem``, makes the real calls. Tests install a wrapper (see
/// ``StoreIO/install(_:)``) that fails chosen calls: a failing or short write, a failing fsync,
/// a failing rename, a full disk. The store's own logic is never replaced, only the calls under
/// it. Methods follow the POSIX convention: a negative result with `errno` set is a failure.
protocol FileSystemCalls: Sendable {
    /// `open(2)`.
    func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32
    /// `write(2)` of up to `count` bytes to `fd` (the file at `path`); may write fewer.
    func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, path: String) -> Int
    /// `fsync(2)` of `fd`, a file or directory at `path`.
    func fsync(_ fd: Int32, path: String) -> Int32
    /// `ftruncate(2)`.
    func ftruncate(_ fd: Int32, _ length: off_t, path: String) -> Int32
    /// `rename(2)`.
    func rename(_ from: String, _ to: String) -> Int32
    /// `close(2)`.
    func close(_ fd: Int32, path: String)
    /// Bytes free to an unprivileged writer on the file system holding `path` (-1 when unknown).
    func freeBytes(at path: String) -> Int
}

/// The real system calls.
struct POSIXFileSystem: FileSystemCalls {
    func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { sysOpen(path, flags, mode) }
    func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, path: String) -> Int { sysWrite(fd, buffer, count) }
    func fsync(_ fd: Int32, path: String) -> Int32 { sysFsync(fd) }
    func ftruncate(_ fd: Int32, _ length: off_t, path: String) -> Int32 { sysFtruncate(fd, length) }
    func rename(_ from: String, _ to: String) -> Int32 { sysRename(from, to) }
    func close(_ fd: Int32, path: String) { closeFD(fd) }
    func freeBytes(at path: String) -> Int {
        var dir = path
        var s = statvfs()
        while !dir.isEmpty {
            if statvfs(dir, &s) == 0 { return Int(s.f_bavail) * Int(s.f_frsize) }
            let up = (dir as NSString).deletingLastPathComponent
            if up == dir { break }
            dir = up
        }
        return -1
    }
}

// The C calls under names the methods above do not shadow.
private func sysOpen(_ p: String, _ f: Int32, _ m: mode_t) -> Int32 { open(p, f, m) }
private func sysWrite(_ fd: Int32, _ b: UnsafeRawPointer, _ n: Int) -> Int { write(fd, b, n) }
private func sysFsync(_ fd: Int32) -> Int32 { fsync(fd) }
private func sysFtruncate(_ fd: Int32, _ n: off_t) -> Int32 { ftruncate(fd, n) }
private func sysRename(_ a: String, _ b: String) -> Int32 { rename(a, b) }

/// The file-system layer the store uses (process-wide; tests swap it for a fault injector).
enum StoreIO {
    private static let current = Locked<any FileSystemCalls>(POSIXFileSystem())

    /// The calls in use.
    static var fs: any FileSystemCalls { current.withLock { $0 } }

    /// Replaces the calls (for fault-injection tests); returns the previous ones.
    @discardableResult
    static func install(_ calls: any FileSystemCalls) -> any FileSystemCalls {
        current.withLock { c in let old = c; c = calls; return old }
    }

    /// Restores the real calls.
    static func reset() { install(POSIXFileSystem()) }

    /// The error for a failed call: ``StoreError/diskFull(store:path:needed:available:)`` for
    /// ENOSPC/EDQUOT (`needed` bytes were being written), else ``StoreError/io(path:operation:reason:)``.
    static func error(path: String, operation: String, errno e: Int32, needed: Int = 0) -> StoreError {
        if e == ENOSPC || e == EDQUOT {
            return .diskFull(store: storeDirectory(of: path), path: path, needed: max(needed, 1), available: fs.freeBytes(at: path))
        }
        return .io(path: path, operation: operation, reason: errnoText(e))
    }

    /// The store directory a file belongs to (`STORE/collections/NAME/file` → `STORE`), else the file's directory.
    static func storeDirectory(of path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if let i = parts.lastIndex(of: "collections"), i > 0 { return parts[..<i].joined(separator: "/") }
        return (path as NSString).deletingLastPathComponent
    }

}
