import Foundation
import Hummingbird
import HummingbirdTesting
import QuiverTestSupport
import XCTest
@testable import QuiverServer
import Quiver

/// Helpers shared by the server tests: an in-process application over the installed model home,
/// JSON requests, and response decoding.
enum ServerTest {
    static let model = "all-MiniLM-L6-v2"

    struct Reference: Decodable {
        var texts: [String]
        var token_ids: [[Int]]
        var embeddings: [[Float]]
    }

    /// A server over the test model home (skips when the model is missing, per TestPaths' rule).
    static func server(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> QuiverServer {
        _ = try TestPaths.model(model)
        var config = ServerConfiguration()
        config.modelHome = ModelHome(root: TestPaths.modelHome)
        config.logRequests = false
        config.databasePath = "/tmp/quiver-server-tests.db"
        config.port = 0
        configure(&config)
        return QuiverServer(configuration: config)
    }

    static func application(_ server: QuiverServer) -> some ApplicationProtocol {
        Application(router: server.buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static func json(_ object: Any) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }

    static func decode(_ response: TestResponse) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
        guard let object = value as? [String: Any] else { throw XCTSkip("not an object") }
        return object
    }

    /// The OpenAI error object of an error response.
    static func error(_ response: TestResponse) throws -> [String: Any] {
        let body = try decode(response)
        return try XCTUnwrap(body["error"] as? [String: Any], "no error object in \(String(buffer: response.body))")
    }

    static func floats(_ value: Any?) throws -> [Float] {
        let array = try XCTUnwrap(value as? [NSNumber], "embedding is not an array of numbers")
        return array.map(\.floatValue)
    }

    /// Decodes OpenAI's base64 format: little-endian float32 bytes.
    static func base64Floats(_ value: Any?) throws -> [Float] {
        let text = try XCTUnwrap(value as? String, "embedding is not a string")
        let data = try XCTUnwrap(Data(base64Encoded: text), "embedding is not base64")
        XCTAssertEqual(data.count % 4, 0)
        let bytes = [UInt8](data)
        var out: [Float] = []
        for i in stride(from: 0, to: bytes.count, by: 4) {
            var bits = UInt32(bytes[i])
            bits |= UInt32(bytes[i + 1]) << 8
            bits |= UInt32(bytes[i + 2]) << 16
            bits |= UInt32(bytes[i + 3]) << 24
            out.append(Float(bitPattern: bits))
        }
        return out
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var d = 0.0, na = 0.0, nb = 0.0
        for i in a.indices { d += Double(a[i]) * Double(b[i]); na += Double(a[i] * a[i]); nb += Double(b[i] * b[i]) }
        return d / (na.squareRoot() * nb.squareRoot())
    }
}

extension TestClientProtocol {
    /// POSTs `object` as JSON to `uri`.
    func post(_ uri: String, json object: Any, headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        h[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: h, body: ServerTest.json(object)) { $0 }
    }

    /// POSTs raw text to `uri`.
    func post(_ uri: String, raw: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: raw)) { $0 }
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers) { $0 }
    }
}
