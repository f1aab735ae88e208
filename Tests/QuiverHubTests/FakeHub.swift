import Foundation
@testable import QuiverHub

/// A hub repository served the way huggingface.co serves it:
/// `GET /api/models/ORG/NAME/revision/REV` → `{sha, siblings}`;
/// `HEAD|GET /ORG/NAME/resolve/REV/FILE` → small files directly with `ETag` = git blob id,
/// large (LFS) files as a 302 to `/cdn/SHA256` carrying `X-Linked-Etag`, `X-Linked-Size`, `X-Repo-Commit`;
/// `GET /cdn/SHA256` honours `Range: bytes=N-` with 206. Faults are switched on per test.
final class FakeHub: @unchecked Sendable {
    let repo: String
    let commit = "0123456789abcdef0123456789abcdef01234567"
    let files: [String: Data]
    /// Files served through the LFS redirect.
    let lfs: Set<String>
    private let lock = NSLock()
    private var _cutOnce: [String: Int] = [:]
    private var _corrupt: Set<String> = []
    private var _ignoreRange = false
    private var _requiredToken: String?
    private var _cdnBase = ""
    private(set) var server: TestHTTPServer!

    /// SHA-256 and git blob id of each file, computed once.
    private let sha: [String: String]
    private let blob: [String: String]

    init(repo: String, files: [String: Data], lfs: Set<String>) throws {
        self.repo = repo; self.files = files; self.lfs = lfs
        sha = files.mapValues { Self.sha256($0) }
        blob = files.mapValues { Self.gitBlob($0) }
        server = try TestHTTPServer { [unowned self] in self.handle($0) }
    }

    deinit { server.stop() }

    /// The next CDN transfer of `path` stops after `bytes` body bytes.
    func cutOnce(_ path: String, after bytes: Int) { lock.lock(); _cutOnce[path] = bytes; lock.unlock() }
    /// Serve `path` with one byte changed (the advertised checksum stays the real one).
    func corrupt(_ path: String) { lock.lock(); _corrupt.insert(path); lock.unlock() }
    /// Answer 200 with the whole file to `Range` requests.
    func ignoreRange() { lock.lock(); _ignoreRange = true; lock.unlock() }
    /// Redirect LFS files to another host (e.g. `http://localhost:PORT`) instead of a path on this one.
    func cdnOnOtherHost(_ base: String) { lock.lock(); _cdnBase = base; lock.unlock() }
    /// Answer 401 unless `Authorization: Bearer token`.
    func requireToken(_ token: String) { lock.lock(); _requiredToken = token; lock.unlock() }

    static func sha256(_ d: Data) -> String { var h = SHA256Hasher(); h.update(d); return h.finalize() }
    static func gitBlob(_ d: Data) -> String { var h = SHA1Hasher(); h.update(Data("blob \(d.count)\0".utf8)); h.update(d); return h.finalize() }

    private func content(_ path: String) -> Data? {
        guard var d = files[path] else { return nil }
        lock.lock(); let bad = _corrupt.contains(path); lock.unlock()
        if bad, !d.isEmpty { d[d.startIndex + d.count / 2] ^= 0xFF }
        return d
    }

    private func handle(_ r: RecordedRequest) -> TestResponse {
        lock.lock(); let token = _requiredToken, cdnBase = _cdnBase; lock.unlock()
        let path = r.path.removingPercentEncoding ?? r.path
        if !path.hasPrefix("/cdn/"), let token, r.headers["authorization"] != "Bearer \(token)" {
            return TestResponse(status: 401, headers: ["X-Error-Message": "Access to model \(repo) is restricted."], body: Data("unauthorized".utf8))
        }
        if path.hasPrefix("/api/models/\(repo)/revision/") {
            let rev = String(path.dropFirst("/api/models/\(repo)/revision/".count))
            guard rev == "main" || rev == commit else { return TestResponse(status: 404, body: Data("{\"error\":\"Revision Not Found\"}".utf8)) }
            let siblings = files.keys.sorted().map { ["rfilename": $0] }
            let json = try! JSONSerialization.data(withJSONObject: ["id": repo, "sha": commit, "siblings": siblings])
            return TestResponse(status: 200, headers: ["Content-Type": "application/json"], body: json)
        }
        let resolvePrefix = "/\(repo)/resolve/"
        if path.hasPrefix(resolvePrefix) {
            let rest = path.dropFirst(resolvePrefix.count)
            guard let slash = rest.firstIndex(of: "/") else { return TestResponse(status: 404) }
            let rev = String(rest[..<slash]), file = String(rest[rest.index(after: slash)...])
            guard rev == "main" || rev == commit, let real = files[file] else {
                return TestResponse(status: 404, headers: ["X-Error-Code": "EntryNotFound"], body: Data("Entry not found".utf8))
            }
            if lfs.contains(file) {
                let sha = self.sha[file]!
                return TestResponse(status: 302, headers: [
                    "Location": "\(cdnBase)/cdn/\(sha)?file=\(file)", "X-Linked-Etag": "\"\(sha)\"", "X-Linked-Size": String(real.count),
                    "X-Repo-Commit": commit, "ETag": "\"\(Self.gitBlob(Data("lfs pointer of \(file)".utf8)))\""])
            }
            return TestResponse(status: 200, headers: ["ETag": "\"\(blob[file]!)\"", "X-Repo-Commit": commit], body: content(file)!)
        }
        if path.hasPrefix("/cdn/") {
            let query = path.split(separator: "?").dropFirst().first.map(String.init) ?? ""
            let file = query.hasPrefix("file=") ? String(query.dropFirst(5)) : ""
            guard let body = content(file) else { return TestResponse(status: 404) }
            lock.lock()
            let cut = _cutOnce.removeValue(forKey: file)
            let ignore = _ignoreRange
            lock.unlock()
            let etag = "\"\(sha[file]!)\""
            if !ignore, let range = r.headers["range"], range.hasPrefix("bytes="), let start = Int(range.dropFirst(6).split(separator: "-").first ?? "") {
                guard start < body.count else { return TestResponse(status: 416, headers: ["Content-Range": "bytes */\(body.count)"]) }
                let slice = body.subdata(in: start..<body.count)
                return TestResponse(status: 206, headers: ["Content-Range": "bytes \(start)-\(body.count - 1)/\(body.count)", "ETag": etag],
                                    body: slice, cutAfter: cut)
            }
            return TestResponse(status: 200, headers: ["ETag": etag, "Accept-Ranges": "bytes"], body: body, cutAfter: cut)
        }
        if path.hasPrefix("/torch/") {
            let name = String(path.dropFirst("/torch/".count))
            guard let body = content(name) else { return TestResponse(status: 404) }
            return TestResponse(status: 200, body: body)
        }
        return TestResponse(status: 404)
    }
}
