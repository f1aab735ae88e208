import Foundation

/// An exclusive lock on a store directory: `flock` on `DIR/LOCK`, which holds the owner's pid.
/// The kernel drops the lock when its process dies, so a stale file is simply taken over.
final class StoreLock: @unchecked Sendable {
    let path: String
    private var fd: Int32

    init(directory: String) throws {
        path = directory + "/LOCK"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open", reason: errnoText()) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            var buf = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buf, 31, 0)
            close(fd)
            guard e == EWOULDBLOCK else { throw StoreError.io(path: path, operation: "flock", reason: errnoText(e)) }
            let pid = Int32(String(decoding: buf.prefix(max(n, 0)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            throw StoreError.storeInUse(path: directory, pid: pid)
        }
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(fd, 0) == 0, pwrite(fd, text, text.count, 0) == text.count else {
            let e = errnoText(); close(fd)
            throw StoreError.io(path: path, operation: "write", reason: e)
        }
        _ = fsync(fd)
    }

    func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
