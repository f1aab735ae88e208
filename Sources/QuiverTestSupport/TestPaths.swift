import Foundation
import XCTest

/// Locations the tests read: committed fixtures (Tests/Fixtures) and the model home that
/// `scripts/fetch-models.sh` fills. Tests never read outside the repository except the model home.
public enum TestPaths {
    /// The repository root, found from this file's location.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures`.
    public static let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// `Tests/Fixtures/reference` (a copy of the reference outputs made with the Python implementations).
    public static let reference = fixtures.appendingPathComponent("reference")

    /// The model home: `QUIVER_HOME` or `~/.cache/quiver`.
    public static var modelHome: URL {
        if let h = ProcessInfo.processInfo.environment["QUIVER_HOME"], !h.isEmpty { return URL(fileURLWithPath: h) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/quiver")
    }

    /// True when the run must not skip tests for missing models (`QUIVER_REQUIRE_MODELS=1`, set by `make test`).
    public static var modelsRequired: Bool { ProcessInfo.processInfo.environment["QUIVER_REQUIRE_MODELS"] == "1" }

    /// The installed model folder `models/NAME` (for example `all-MiniLM-L6-v2`).
    /// Skips the test when it is missing, or fails it when `QUIVER_REQUIRE_MODELS=1`.
    public static func model(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let url = modelHome.appendingPathComponent("models").appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        let message = "model \(name) is not installed in \(modelHome.path); run `make models`"
        if modelsRequired { XCTFail(message, file: file, line: line); throw XCTSkip(message) }
        throw XCTSkip(message)
    }

    /// A sample media file from the model home (`media/skimage/chelsea.png`) with the same skip/fail rule.
    public static func media(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let url = modelHome.appendingPathComponent("media").appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        let message = "sample media \(relative) is not installed in \(modelHome.path); run `make models`"
        if modelsRequired { XCTFail(message, file: file, line: line); throw XCTSkip(message) }
        throw XCTSkip(message)
    }

    /// Decodes a JSON fixture under `Tests/Fixtures/reference`.
    public static func referenceJSON<T: Decodable>(_ relative: String, as type: T.Type = T.self) throws -> T {
        let data = try Data(contentsOf: reference.appendingPathComponent(relative))
        return try JSONDecoder().decode(T.self, from: data)
    }
}
