import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on `models/.locks/FOLDER.lock`, held while a model is pulled, so two processes
/// never write the same `.incomplete` files. Released by `release()` or when the process ends.
struct PullLock: Sendable {
    let path: String
    private let fd: Int32

    /// Takes the lock or throws `HubError.busy` at once when another process holds it.
    init(home: ModelHome, folderName: String, model: String) throws {
        let dir = home.modelsDirectory.appendingPathComponent(".locks", isDirectory: true)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw HubError.fileSystem(path: dir.path, message: "cannot create the lock folder: \(error.localizedDescription)")
        }
        path = dir.appendingPathComponent(folderName + ".lock").path
        fd = open(path, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw HubError.fileSystem(path: path, message: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw HubError.busy(model: model, lockFile: path)
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
