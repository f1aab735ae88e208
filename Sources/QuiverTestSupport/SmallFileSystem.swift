import Foundation

/// A real, small file system for disk-full tests: a tmpfs of a few MB mounted on a fresh
/// directory (needs root and /bin/mount; tests skip where mounting is not permitted).
public final class SmallFileSystem: @unchecked Sendable {
    /// Where it is mounted.
    public let path: String
    private var mounted = true

    /// Mounts a tmpfs of `megabytes` MB on a new directory under the temporary directory; nil when
    /// this process may not mount file systems.
    public static func mount(megabytes: Int, label: String = "small") -> SmallFileSystem? {
        guard getuid() == 0, FileManager.default.fileExists(atPath: "/bin/mount") else { return nil }
        let dir = NSTemporaryDirectory() + "quiver-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        guard (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil else { return nil }
        guard run(["/bin/mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", dir]) == 0 else {
            try? FileManager.default.removeItem(atPath: dir)
            return nil
        }
        return SmallFileSystem(path: dir)
    }

    private init(path: String) { self.path = path }

    /// Unmounts it and removes the directory (also done when the object goes away).
    public func unmount() {
        guard mounted else { return }
        mounted = false
        _ = Self.run(["/bin/umount", path])
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { unmount() }

    /// Fills all but about `leaving` bytes with a ballast file (removed by ``freeBallast()``:
    /// "freeing space").
    public func addBallast(leaving: Int) throws {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { throw CocoaError(.fileWriteUnknown) }
        let free = Int(s.f_bavail) * Int(s.f_frsize)
        guard FileManager.default.createFile(atPath: ballastPath, contents: Data(count: max(0, free - leaving))) else {
            throw CocoaError(.fileWriteOutOfSpace)
        }
    }

    /// Removes the ballast file.
    public func freeBallast() throws { try FileManager.default.removeItem(atPath: ballastPath) }

    var ballastPath: String { path + "/ballast" }

    @discardableResult
    static func run(_ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
