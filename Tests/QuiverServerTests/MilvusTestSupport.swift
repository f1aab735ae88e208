import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import QuiverServer

/// The fixture of the Milvus REST tests: a server over a new store folder per test, removed after.
class MilvusTestCase: XCTestCase {
    var dbPath = ""

    override func setUp() {
        dbPath = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-milvus-\(getpid())-\(UUID().uuidString)").path
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dbPath) }

    func makeServer() -> QuiverServer {
        var config = ServerConfiguration()
        config.databasePath = dbPath
        config.logRequests = false
        return QuiverServer(configuration: config)
    }

    /// Runs `body` with a client of a new server, then closes the server's store.
    func withClient(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let server = makeServer()
        try await ServerTest.application(server).test(.router) { client in try await body(client) }
        try await server.closeStore()
    }

    /// The custom schema of https://milvus.io/docs/create-collection.md, as the page writes it
    /// (`enabledDynamicField` is the docs' spelling, which Milvus ignores).
    static var docsCustomSchema: [String: Any] {
        [
            "autoId": false,
            "enabledDynamicField": false,
            "fields": [
                ["fieldName": "my_id", "dataType": "Int64", "isPrimary": true],
                ["fieldName": "my_vector", "dataType": "FloatVector", "elementTypeParams": ["dim": "5"]],
                ["fieldName": "my_varchar", "dataType": "VarChar", "isClusteringKey": true, "elementTypeParams": ["max_length": 512]],
            ],
        ]
    }

    static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        var d = 0.0, na = 0.0, nb = 0.0
        for i in a.indices { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
        return d / (na.squareRoot() * nb.squareRoot())
    }
}
