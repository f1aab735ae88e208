import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import QuiverServer

/// `/openapi.json` describes exactly the routes the router serves, and is a well-formed document.
final class OpenAPIDocumentTests: XCTestCase {
    func testDocumentListsExactlyTheRegisteredRoutes() throws {
        var config = ServerConfiguration()
        config.logRequests = false
        config.apiKey = "k" // the key middleware must not hide routes from the comparison
        let router = QuiverServer(configuration: config).buildRouter()
        let registered = Set(router.routes.map { "\($0.method.rawValue) \($0.path)" })
        let documented = Set(OpenAPIDocument.operations.map { "\($0.method) \($0.path)" })
        XCTAssertGreaterThan(registered.count, 20, "the router lists its routes: \(registered.sorted())")
        XCTAssertEqual(registered.subtracting(documented).sorted(), [], "served but missing from /openapi.json")
        XCTAssertEqual(documented.subtracting(registered).sorted(), [], "in /openapi.json but not served")
    }

    func testServedDocumentIsOpenAPI3WithResolvableReferences() async throws {
        var config = ServerConfiguration()
        config.logRequests = false
        config.apiKey = "secret" // the document is public, like the page
        config.version = "1.2.3"
        let server = QuiverServer(configuration: config)
        let app = Application(router: server.buildRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.router) { client in
            let r = try await client.get("/openapi.json")
            XCTAssertEqual(r.status, .ok)
            XCTAssertEqual(r.headers[.contentType], "application/json")
            let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: Any])
            XCTAssertEqual(doc["openapi"] as? String, "3.0.3")
            XCTAssertEqual((doc["info"] as? [String: Any])?["version"] as? String, "1.2.3")
            let paths = try XCTUnwrap(doc["paths"] as? [String: [String: Any]])
            XCTAssertEqual(Set(paths.keys), Set(OpenAPIDocument.operations.map(\.path)))
            let schemas = try XCTUnwrap((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])
            // Every $ref names a schema of components.schemas.
            var refs: [String] = []
            func walk(_ v: Any) {
                if let o = v as? [String: Any] {
                    if let ref = o["$ref"] as? String { refs.append(ref) }
                    o.values.forEach(walk)
                } else if let a = v as? [Any] { a.forEach(walk) }
            }
            walk(doc)
            XCTAssertFalse(refs.isEmpty)
            for ref in refs {
                XCTAssertTrue(ref.hasPrefix("#/components/schemas/"), ref)
                XCTAssertNotNil(schemas[String(ref.dropFirst("#/components/schemas/".count))], "unresolved \(ref)")
            }
            // Every operation answers something and every POST but the upload takes JSON.
            for (path, item) in paths {
                for (method, op) in item {
                    let op = try XCTUnwrap(op as? [String: Any])
                    XCTAssertNotNil(op["responses"], "\(method) \(path)")
                    if method == "post", path != "/api/search/file" {
                        let content = (op["requestBody"] as? [String: Any])?["content"] as? [String: Any]
                        XCTAssertNotNil(content?["application/json"], "\(method) \(path) has no JSON body schema")
                    }
                }
            }
        }
    }

    func testWrongMethodOnAKnownPathIs405WithAllow() async throws {
        var config = ServerConfiguration()
        config.logRequests = false
        let app = Application(router: QuiverServer(configuration: config).buildRouter(),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.router) { client in
            let r = try await client.execute(uri: "/v1/embeddings", method: .put) { $0 }
            XCTAssertEqual(r.status, .methodNotAllowed)
            XCTAssertEqual(r.headers[.allow], "POST")
            let message = try XCTUnwrap(try ServerTest.error(r)["message"] as? String)
            XCTAssertTrue(message.contains("PUT is not allowed on /v1/embeddings"), message)
            let m = try await client.execute(uri: "/v2/vectordb/collections/list", method: .get) { $0 }
            XCTAssertEqual(m.status, .methodNotAllowed)
            XCTAssertEqual(m.headers[.allow], "POST")
            XCTAssertNotNil(try ServerTest.decode(m)["message"] as? String)
            let media = try await client.execute(uri: "/api/media", method: .delete) { $0 }
            XCTAssertEqual(media.headers[.allow], "GET, HEAD")
            let unknown = try await client.execute(uri: "/nowhere", method: .put) { $0 }
            XCTAssertEqual(unknown.status, .notFound)
        }
    }
}
