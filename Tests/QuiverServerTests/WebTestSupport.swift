import Foundation
import Hummingbird
import HummingbirdTesting
import Quiver
import QuiverStore
import QuiverTestSupport
import XCTest
@testable import QuiverServer

/// A store ingested once per test run from four text files, three images, a speech clip and a
/// 10-second video (one row per second plus a whole-video row),
/// with all-MiniLM-L6-v2, efficientnet-lite0 and faster-whisper-base (collections
/// `quiver_text`, `quiver_image`, `quiver_audio`), for the web API and browser tests.
enum WebFixture {
    struct FixtureError: Error, CustomStringConvertible { var message: String; var description: String { message } }
    struct Prepared: Sendable {
        /// The store folder (closed: each server opens it).
        var store: String
        /// The ingested files by name (copies in a temporary folder).
        var files: [String: URL]
    }

    static let texts: [String: String] = [
        "coffee.txt": "Brewing coffee: grind the roasted beans just before brewing, heat the water to about 93 degrees and let the espresso shot extract for 25 to 30 seconds.",
        "rockets.txt": "The rocket lifted off from the launch pad, its engines roaring, carrying three astronauts toward the space station in orbit around the Earth.",
        "cats.txt": "Cats are small domesticated carnivores. A house cat sleeps up to sixteen hours a day, curled up on the sofa, and purrs when it is content.",
        "gardening.txt": "Tomatoes need full sun, rich soil and regular watering; pinch off the side shoots and tie the stems to a stake as the plants grow.",
    ]
    static let media = ["astronaut.png", "chelsea.png", "camera.png", "speech_0.wav", "bikes.mp4"]
    static let models = ["all-MiniLM-L6-v2", "efficientnet-lite0", "faster-whisper-base"]

    /// Skips (or fails under `QUIVER_REQUIRE_MODELS=1`) when a model is missing, then returns the
    /// ingested store, ingesting it on first use.
    static func prepared(file: StaticString = #filePath, line: UInt = #line) async throws -> Prepared {
        for m in models { _ = try TestPaths.model(m, file: file, line: line) }
        return try await ingest.value
    }

    private static let ingest = Task<Prepared, Error> {
        let tmp = FileManager.default.temporaryDirectory
        // Folders of earlier runs whose process is gone are removed (a run cannot remove its own at exit).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] where name.hasPrefix("quiver-web-tests-") {
            if let pid = Int32(name.dropFirst("quiver-web-tests-".count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(at: tmp.appendingPathComponent(name))
            }
        }
        let root = tmp.appendingPathComponent("quiver-web-tests-\(getpid())")
        try? FileManager.default.removeItem(at: root)
        let folder = root.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [String: URL] = [:]
        for (name, text) in texts {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            files[name] = url
        }
        for name in media {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("media/\(name)"), to: url)
            files[name] = url
        }
        let storePath = root.appendingPathComponent("store").path
        let store = try VectorStore(path: storePath)
        let options = IngestOptions(collection: "quiver", textModel: "all-MiniLM-L6-v2", imageModel: "efficientnet-lite0",
                                    audioModel: "faster-whisper-base")
        let report = try await Ingestor(store: store, options: options, home: ModelHome(root: TestPaths.modelHome)).ingest([folder.path])
        try await store.close()
        guard report.failures.isEmpty, report.added == texts.count + media.count else {
            throw FixtureError(message: "fixture ingest added \(report.added) of \(texts.count + media.count) files; failures: \(report.failures)")
        }
        return Prepared(store: storePath, files: files)
    }

    /// A server over the fixture store; its store is closed after `body`, also when `body` throws,
    /// so that the next test can open it.
    static func withServer(_ fixture: Prepared, _ configure: (inout ServerConfiguration) -> Void = { _ in },
                           _ body: (QuiverServer) async throws -> Void) async throws {
        let server = try ServerTest.server { config in
            config.databasePath = fixture.store
            configure(&config)
        }
        do {
            try await body(server)
        } catch {
            try? await server.closeStore()
            throw error
        }
        try await server.closeStore()
    }
}

extension TestClientProtocol {
    /// POSTs raw bytes to `uri`.
    func post(_ uri: String, bytes: Data, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: bytes)) { $0 }
    }
}

extension TestResponse {
    /// The body as a JSON object (fails the test with the body text when it is not one).
    func json(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let text = String(buffer: body)
        let value = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        return try XCTUnwrap(value as? [String: Any], "not a JSON object: \(text.prefix(300))", file: file, line: line)
    }

    /// The `error.message` of an error response.
    func errorMessage(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let error = try XCTUnwrap(try json(file: file, line: line)["error"] as? [String: Any], "no error object", file: file, line: line)
        return try XCTUnwrap(error["message"] as? String, "no error message", file: file, line: line)
    }

    /// The `results` array of a search response.
    func results(file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        try XCTUnwrap(try json(file: file, line: line)["results"] as? [[String: Any]], "no results: \(String(buffer: body).prefix(300))",
                      file: file, line: line)
    }
}
