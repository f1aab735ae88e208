import Foundation

/// How a file of a pull got into the model folder.
public enum FileOutcome: String, Sendable, Codable {
    /// Downloaded from the start.
    case downloaded
    /// Downloaded from where an earlier, interrupted transfer stopped.
    case resumed
    /// Hard-linked (or copied) from the Hugging Face or torch hub cache; no request made.
    case fromCache = "from-cache"
    /// Already in the model folder with the right size and checksum.
    case present
}

/// A progress report of a pull, sent many times per file while bytes arrive.
public struct PullProgress: Sendable {
    /// Where a file is in its transfer; each file reports `started` (unless it is already present or linked from a cache),
    /// any number of `transferring`, then one `finished`.
    public enum Phase: String, Sendable {
        /// A file is starting (`fileBytes` is what an interrupted transfer left, if any).
        case started
        /// Bytes arrived.
        case transferring
        /// The file is verified and in place; `outcome` says how.
        case finished
    }

    /// Path of the file inside the model folder.
    public let file: String
    /// What happened to ``file``: it started, received bytes, or is finished.
    public let phase: Phase
    /// How the file got into the folder; set only when ``phase`` is `.finished`, nil before.
    public let outcome: FileOutcome?
    /// Bytes of this file on disk so far.
    public let fileBytes: Int64
    /// This file's size when known.
    public let fileTotal: Int64?
    /// Bytes of all files of the pull done so far (finished files plus this one's bytes).
    public let bytesDone: Int64
    /// Size of all files of the pull when every size is known.
    public let totalBytes: Int64?
    /// 1-based position of the file in the pull and the number of files.
    public let fileIndex: Int
    /// Number of files in this pull (``fileIndex`` runs from 1 to this).
    public let fileCount: Int
}

/// One file of a finished pull.
public struct PulledFile: Sendable, Codable, Hashable {
    /// Path of the file inside the model folder (and the hub repository), e.g. `1_Pooling/config.json`.
    public let path: String
    /// Whether it was downloaded, resumed, linked from a local cache or already present.
    public let outcome: FileOutcome
    /// Size in bytes.
    public let size: Int64
}

/// What a pull did.
public struct PullResult: Sendable {
    /// The model, now installed.
    public let model: ResolvedModel
    /// The hub commit the files come from, when known (`X-Repo-Commit`, the API's `sha`, or the cache's ref).
    public let commit: String?
    /// Every file of the install in pull order, with how each got there and its size.
    public let files: [PulledFile]
    /// Bytes received over the network.
    public let bytesDownloaded: Int64
}

/// One file to get: where from, what it must hash to, and how big it is.
struct PlannedFile: Sendable {
    let path: String
    let url: URL
    var expected: ExpectedChecksum?
    var size: Int64?
    /// The hub's ETag (normalized), recorded to skip re-hashing files already installed.
    var etag: String?
}

/// The record `quiver models pull` leaves in a model folder (`.quiver-pull.json`).
struct PullManifest: Codable, Sendable {
    struct Entry: Codable, Sendable { var size: Int64; var etag: String? }
    var source: String
    var revision: String?
    var commit: String?
    var files: [String: Entry]

    static let fileName = ".quiver-pull.json"

    static func load(_ folder: URL) -> PullManifest? {
        guard let d = try? Data(contentsOf: folder.appendingPathComponent(fileName)) else { return nil }
        return try? JSONDecoder().decode(PullManifest.self, from: d)
    }

    func save(_ folder: URL) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let d = try? enc.encode(self) else { return }
        try? d.write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }
}

/// Normalizes an ETag header: drops `W/` and quotes.
func normalizedETag(_ raw: String?) -> String? {
    guard var s = raw?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { return nil }
    if s.hasPrefix("W/") { s.removeFirst(2) }
    s = s.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    return s.isEmpty ? nil : s
}
