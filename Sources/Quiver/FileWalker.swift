import Foundation

/// Lists the files under paths the way `quiver ingest` reads them.
public enum FileWalker {
    /// The regular files named by `paths` and found (recursively) in the folders among them,
    /// sorted by path within each folder. Hidden files and folders (name starting with `.`) are
    /// skipped inside folders (a hidden path given explicitly is kept). Symbolic links are followed,
    /// but a folder already visited (by its resolved path) is not entered again, so link loops end.
    /// - Returns: the files (standardized absolute URLs, each once) and the paths that could not be
    ///   listed, with the reason.
    public static func files(in paths: [String]) -> (files: [URL], problems: [(path: String, reason: String)]) {
        var files: [URL] = []
        var problems: [(String, String)] = []
        var seenDirs = Set<String>()
        var seenFiles = Set<String>()
        let fm = FileManager.default

        func visit(_ url: URL, explicit: Bool) {
            if !explicit && url.lastPathComponent.hasPrefix(".") { return }
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else {
                problems.append((url.path, explicit ? "no such file or folder" : "broken symbolic link")); return
            }
            let real = url.resolvingSymlinksInPath().path
            if isDir.boolValue {
                guard seenDirs.insert(real).inserted else { return }
                let names: [String]
                do { names = try fm.contentsOfDirectory(atPath: url.path) } catch {
                    problems.append((url.path, "cannot list the folder (no permission?)")); return
                }
                for n in names.sorted() { visit(url.appendingPathComponent(n), explicit: false) }
            } else if seenFiles.insert(real).inserted {
                files.append(url)
            }
        }
        for p in paths {
            let u = URL(fileURLWithPath: p).standardizedFileURL
            visit(u, explicit: true)
        }
        return (files, problems)
    }
}
