import Foundation
import XCTest
@testable import QuiverStore

/// The system calls a fault can hit.
enum FaultCall: String, CaseIterable, Sendable {
    case create, write, fsync, rename
}

/// What the chosen call does.
enum FaultKind: String, CaseIterable, Sendable {
    /// `open(O_CREAT)`, `write`, `fsync` or `rename` fails with EIO.
    case ioError
    /// `write` stores half of its bytes and reports that; the next write to the file fails with ENOSPC.
    case shortWrite
    /// `fsync` fails with EIO and the kernel drops the file's unsynced data (truncated to the
    /// size at its last successful fsync), as Linux may after a writeback error.
    case fsyncLosesData
    /// `open(O_CREAT)` or `write` fails with ENOSPC.
    case noSpace

    /// The calls this kind applies to.
    var calls: [FaultCall] {
        switch self {
        case .ioError: return [.create, .write, .fsync, .rename]
        case .shortWrite: return [.write]
        case .fsyncLosesData: return [.fsync]
        case .noSpace: return [.create, .write]
        }
    }
}

/// A `FileSystemCalls` wrapper over the real calls that fails the `n`-th call of one kind on
/// files under `root` (the fault-injection seam; the store's logic runs unchanged), or enforces
/// a capacity on the bytes stored under `root` (a small disk).
final class FaultInjector: FileSystemCalls, @unchecked Sendable {
    let root: String
    private let real = POSIXFileSystem()
    private let lock = NSLock()
    private var counts: [FaultCall: Int] = [:]
    private var plan: (call: FaultCall, n: Int, kind: FaultKind)?
    private var synced: [Int32: off_t] = [:]
    private var failNextWrite: Set<Int32> = []
    /// Bytes the files under `root` may hold in all (nil: unlimited).
    var capacity: Int?
    /// True once the planned fault happened.
    private(set) var fired = false

    init(root: String) { self.root = root }

    /// Counts calls only (to learn how many of each an operation makes).
    func arm(_ call: FaultCall, n: Int, kind: FaultKind) {
        lock.lock(); defer { lock.unlock() }
        plan = (call, n, kind); counts = [:]; fired = false
    }

    func resetCounts() { lock.lock(); counts = [:]; plan = nil; fired = false; lock.unlock() }
    func count(_ c: FaultCall) -> Int { lock.lock(); defer { lock.unlock() }; return counts[c] ?? 0 }

    private func under(_ path: String) -> Bool { path.hasPrefix(root) }

    /// True when this call is the planned one (counts it).
    private func hit(_ call: FaultCall, _ path: String, kind: FaultKind? = nil) -> FaultKind? {
        guard under(path) else { return nil }
        lock.lock(); defer { lock.unlock() }
        counts[call, default: 0] += 1
        guard let p = plan, !fired, p.call == call, counts[call] == p.n else { return nil }
        fired = true
        return p.kind
    }

    /// Bytes held by the regular files under `root`.
    func usedBytes() -> Int {
        var total = 0
        guard let e = FileManager.default.enumerator(atPath: root) else { return 0 }
        while let f = e.nextObject() as? String {
            var st = stat()
            if lstat(root + "/" + f, &st) == 0, (st.st_mode & 0o170000) == 0o100000 { total += Int(st.st_size) }
        }
        return total
    }

    func open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
        if flags & O_CREAT != 0, let k = hit(.create, path) {
            errno = k == .noSpace ? ENOSPC : EIO
            return -1
        }
        let fd = real.open(path, flags, mode)
        if fd >= 0, under(path) {
            var st = stat()
            let size: off_t = flags & O_TRUNC != 0 ? 0 : (fstat(fd, &st) == 0 ? st.st_size : 0)
            lock.lock(); synced[fd] = size; failNextWrite.remove(fd); lock.unlock()
        }
        return fd
    }

    func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, path: String) -> Int {
        if under(path) {
            lock.lock(); let failNow = failNextWrite.remove(fd) != nil; lock.unlock()
            if failNow { errno = ENOSPC; return -1 }
        }
        if let k = hit(.write, path) {
            switch k {
            case .shortWrite:
                let half = count / 2
                if half == 0 { errno = ENOSPC; return -1 }
                let n = real.write(fd, buffer, half, path: path)
                lock.lock(); failNextWrite.insert(fd); lock.unlock()
                return n
            case .noSpace: errno = ENOSPC; return -1
            default: errno = EIO; return -1
            }
        }
        if let cap = capacity, under(path) {
            let room = cap - usedBytes()
            if room <= 0 { errno = ENOSPC; return -1 }
            if count > room { return real.write(fd, buffer, room, path: path) }
        }
        return real.write(fd, buffer, count, path: path)
    }

    func fsync(_ fd: Int32, path: String) -> Int32 {
        if let k = hit(.fsync, path) {
            if k == .fsyncLosesData {
                lock.lock(); let size = synced[fd]; lock.unlock()
                var st = stat()
                if let size, fstat(fd, &st) == 0, (st.st_mode & 0o170000) == 0o100000 { _ = real.ftruncate(fd, size, path: path) }
            }
            errno = EIO
            return -1
        }
        let rc = real.fsync(fd, path: path)
        if rc == 0, under(path) {
            var st = stat()
            if fstat(fd, &st) == 0 { lock.lock(); synced[fd] = st.st_size; lock.unlock() }
        }
        return rc
    }

    func ftruncate(_ fd: Int32, _ length: off_t, path: String) -> Int32 { real.ftruncate(fd, length, path: path) }

    func rename(_ from: String, _ to: String) -> Int32 {
        if hit(.rename, from) != nil { errno = EIO; return -1 }
        return real.rename(from, to)
    }

    func close(_ fd: Int32, path: String) {
        lock.lock(); synced[fd] = nil; failNextWrite.remove(fd); lock.unlock()
        real.close(fd, path: path)
    }

    func freeBytes(at path: String) -> Int {
        if let cap = capacity, under(path) { return max(0, cap - usedBytes()) }
        return real.freeBytes(at: path)
    }
}

/// Runs `body` with `injector` installed as the store's file system, restoring the real calls after.
func withFaults<R>(_ injector: FaultInjector, _ body: () async throws -> R) async rethrows -> R {
    StoreIO.install(injector)
    defer { StoreIO.reset() }
    return try await body()
}
