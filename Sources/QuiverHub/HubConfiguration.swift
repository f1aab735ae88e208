import Foundation

/// Settings of hub downloads, normally read from the environment as `huggingface_hub` does.
public struct HubConfiguration: Sendable {
    /// Hub base URL: `HF_ENDPOINT`, default `https://huggingface.co`.
    public var endpoint: URL
    /// Access token sent as `Authorization: Bearer …`: `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, or the token file
    /// (`HF_TOKEN_PATH`, default `HF_HOME/token`).
    public var token: String?
    /// Never use the network: `HF_HUB_OFFLINE` set to 1/true/yes/on.
    public var offline: Bool
    /// The Hugging Face cache whose files are reused: `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`.
    public var huggingFaceCache: URL
    /// torch hub's checkpoint folder, reused for `url` sources: `TORCH_HOME/hub/checkpoints`, default `~/.cache/torch/hub/checkpoints`.
    public var torchHubCheckpoints: URL
    /// Attempts per file for transfers cut in the middle (each resumes where the previous stopped).
    public var maxAttempts: Int
    /// Seconds without data before a request fails.
    public var timeout: TimeInterval
    /// `User-Agent` header.
    public var userAgent: String

    /// Creates a configuration from explicit values, ignoring the environment (tests, embedders that manage their own paths).
    /// - Parameters:
    ///   - endpoint: hub base URL, without a trailing slash.
    ///   - token: access token sent as `Authorization: Bearer …` to the hub (not to other hosts after a redirect); nil sends none.
    ///   - offline: when true no request is made; pulls succeed only from the model folder and the local caches.
    ///   - huggingFaceCache: a `huggingface_hub` cache folder whose blobs are linked instead of downloaded.
    ///   - torchHubCheckpoints: torch hub's checkpoint folder, looked up for `url` sources.
    ///   - maxAttempts: attempts per file (values below 1 become 1).
    ///   - timeout: seconds without data before a request fails.
    ///   - userAgent: the `User-Agent` header value.
    public init(endpoint: URL = URL(string: "https://huggingface.co")!, token: String? = nil, offline: Bool = false,
                huggingFaceCache: URL, torchHubCheckpoints: URL, maxAttempts: Int = 3, timeout: TimeInterval = 60,
                userAgent: String = "quiver/0.1") {
        self.endpoint = endpoint; self.token = token; self.offline = offline
        self.huggingFaceCache = huggingFaceCache; self.torchHubCheckpoints = torchHubCheckpoints
        self.maxAttempts = max(1, maxAttempts); self.timeout = timeout; self.userAgent = userAgent
    }

    /// The configuration the environment describes (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`, `HF_HUB_CACHE`,
    /// `HF_HOME`, `TORCH_HOME`, `HOME`).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> HubConfiguration {
        let home = ModelHome.homeDirectory(env)
        func path(_ p: String) -> URL { URL(fileURLWithPath: p.hasPrefix("~") ? home + p.dropFirst() : p) }
        let hfHome = env["HF_HOME"].flatMap { $0.isEmpty ? nil : path($0) }
            ?? URL(fileURLWithPath: env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.cache").appendingPathComponent("huggingface")
        let cache = env["HF_HUB_CACHE"].flatMap { $0.isEmpty ? nil : path($0) } ?? hfHome.appendingPathComponent("hub")
        let torchHome = env["TORCH_HOME"].flatMap { $0.isEmpty ? nil : path($0) }
            ?? URL(fileURLWithPath: home).appendingPathComponent(".cache/torch")
        var endpoint = URL(string: "https://huggingface.co")!
        if let e = env["HF_ENDPOINT"], !e.isEmpty, let u = URL(string: e.hasSuffix("/") ? String(e.dropLast()) : e) { endpoint = u }
        var token = [env["HF_TOKEN"], env["HUGGING_FACE_HUB_TOKEN"]].compactMap { $0 }.first { !$0.isEmpty }
        if token == nil {
            let file = env["HF_TOKEN_PATH"].flatMap { $0.isEmpty ? nil : path($0) } ?? hfHome.appendingPathComponent("token")
            if let t = try? String(contentsOf: file, encoding: .utf8) {
                let s = t.trimmingCharacters(in: .whitespacesAndNewlines)
                if !s.isEmpty { token = s }
            }
        }
        let offline = ["1", "true", "yes", "on"].contains((env["HF_HUB_OFFLINE"] ?? "").lowercased())
        return HubConfiguration(endpoint: endpoint, token: token, offline: offline, huggingFaceCache: cache,
                                torchHubCheckpoints: torchHome.appendingPathComponent("hub/checkpoints"))
    }
}

/// Read access to a Hugging Face hub cache laid out by `huggingface_hub`:
/// `models--ORG--NAME/refs/REVISION` holds a commit id, `models--ORG--NAME/snapshots/COMMIT/FILE` links to `blobs/ETAG`.
public struct HuggingFaceCache: Sendable {
    /// The cache folder that holds the `models--ORG--NAME` folders (for example `~/.cache/huggingface/hub`).
    public let root: URL

    /// Reads the cache at `root`. Nothing is checked or created; lookups in a missing folder find nothing.
    public init(root: URL) { self.root = root }

    /// `models--ORG--NAME`.
    public func repoFolder(_ repo: String) -> URL {
        root.appendingPathComponent("models--" + repo.replacingOccurrences(of: "/", with: "--"), isDirectory: true)
    }

    /// The commit a revision names: the revision itself when it is a 40-digit commit id, else `refs/REVISION`.
    public func commit(repo: String, revision: String) -> String? {
        if revision.count == 40, revision.allSatisfy(\.isHexDigit) { return revision.lowercased() }
        let ref = repoFolder(repo).appendingPathComponent("refs").appendingPathComponent(revision)
        guard let s = try? String(contentsOf: ref, encoding: .utf8) else { return nil }
        let c = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return c.isEmpty ? nil : c
    }

    /// The cached file (symbolic links resolved to the blob) for `path` at `revision`, if present.
    public func file(repo: String, revision: String, path: String) -> URL? {
        guard let commit = commit(repo: repo, revision: revision) else { return nil }
        let url = repoFolder(repo).appendingPathComponent("snapshots").appendingPathComponent(commit).appendingPathComponent(path)
        let resolved = url.resolvingSymlinksInPath()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved.path, isDirectory: &isDir), !isDir.boolValue else { return nil }
        return resolved
    }

    /// All files of the cached snapshot at `revision` (relative paths), empty when none is cached.
    public func files(repo: String, revision: String) -> [String] {
        guard let commit = commit(repo: repo, revision: revision) else { return [] }
        let base = repoFolder(repo).appendingPathComponent("snapshots").appendingPathComponent(commit)
        guard let e = FileManager.default.enumerator(atPath: base.path) else { return [] }
        var out: [String] = []
        while let p = e.nextObject() as? String {
            var isDir: ObjCBool = false
            let full = base.appendingPathComponent(p).resolvingSymlinksInPath().path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
        }
        return out.sorted()
    }
}
