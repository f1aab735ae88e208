import Foundation
import Hummingbird
import HummingbirdTesting
import QuiverTestSupport
import XCTest
@testable import QuiverServer

/// Health, metrics, the API key, and many requests at once over a real socket.
final class ServerBehaviourTests: XCTestCase {
    func testHealthzReportsVersionModelsAndStore() async throws {
        let server = try ServerTest.server { $0.version = "9.8.7" }
        try await ServerTest.application(server).test(.router) { client in
            var h = try ServerTest.decode(try await client.get("/healthz"))
            XCTAssertEqual(h["status"] as? String, "ok")
            XCTAssertEqual(h["version"] as? String, "9.8.7")
            XCTAssertEqual(h["store_path"] as? String, "/tmp/quiver-server-tests.db")
            XCTAssertEqual(h["models_loaded"] as? [String], [])
            _ = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": "x"])
            h = try ServerTest.decode(try await client.get("/healthz"))
            XCTAssertEqual(h["models_loaded"] as? [String], [ServerTest.model])
        }
    }

    func testUnknownRouteIsA404ListingTheRoutes() async throws {
        let server = try ServerTest.server()
        try await ServerTest.application(server).test(.router) { client in
            let r = try await client.get("/v1/embedding")
            XCTAssertEqual(r.status, .notFound)
            let message = try XCTUnwrap(try ServerTest.error(r)["message"] as? String)
            XCTAssertTrue(message.hasPrefix("no route GET /v1/embedding"), message)
            for route in ["POST /api/search", "GET /api/media?id=", "POST /v1/embeddings", "POST /v2/vectordb/entities/"] {
                XCTAssertTrue(message.contains(route), "\(route) missing: \(message)")
            }
        }
    }

    func testMetricsExposition() async throws {
        let server = try ServerTest.server()
        try await ServerTest.application(server).test(.router) { client in
            _ = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": ["one two", "three"]])
            _ = try await client.post("/v1/embeddings", json: ["model": ServerTest.model])
            _ = try await client.get("/nope")
            let r = try await client.get("/metrics")
            XCTAssertEqual(r.status, .ok)
            XCTAssertTrue(r.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") ?? false)
            let text = String(buffer: r.body)
            let lines = Set(text.split(separator: "\n").map(String.init))
            XCTAssertTrue(lines.contains("quiver_http_requests_total{method=\"POST\",route=\"/v1/embeddings\",status=\"200\"} 1"), text)
            XCTAssertTrue(lines.contains("quiver_http_requests_total{method=\"POST\",route=\"/v1/embeddings\",status=\"400\"} 1"), text)
            XCTAssertTrue(lines.contains("quiver_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"), text)
            XCTAssertTrue(lines.contains("quiver_http_request_duration_seconds_count{route=\"/v1/embeddings\"} 2"), text)
            XCTAssertTrue(lines.contains("quiver_http_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"+Inf\"} 2"), text)
            XCTAssertTrue(lines.contains("quiver_embeddings_total{model=\"all-MiniLM-L6-v2\"} 2"), text)
            // [CLS] one two [SEP] + [CLS] three [SEP]
            XCTAssertTrue(lines.contains("quiver_tokens_total{model=\"all-MiniLM-L6-v2\"} 7"), text)
            XCTAssertTrue(lines.contains("quiver_models_loaded 1"), text)
            // Buckets are cumulative: each bound's count is at least the previous one's.
            let counts = text.split(separator: "\n")
                .filter { $0.hasPrefix("quiver_http_request_duration_seconds_bucket{route=\"/v1/embeddings\"") }
                .compactMap { Int($0.split(separator: " ").last!) }
            XCTAssertEqual(counts.count, ServerMetrics.latencyBuckets.count + 1)
            XCTAssertEqual(counts, counts.sorted())
        }
    }

    func testAPIKeyRequiredEverywhereButHealthz() async throws {
        let server = try ServerTest.server { $0.apiKey = "s3cret" }
        try await ServerTest.application(server).test(.router) { client in
            let body: [String: Any] = ["model": ServerTest.model, "input": "x"]
            let none = try await client.post("/v1/embeddings", json: body)
            XCTAssertEqual(none.status, .unauthorized)
            XCTAssertEqual(try ServerTest.error(none)["code"] as? String, "missing_api_key")
            let wrong = try await client.post("/v1/embeddings", json: body, headers: [.authorization: "Bearer s3cre"])
            XCTAssertEqual(wrong.status, .unauthorized)
            XCTAssertEqual(try ServerTest.error(wrong)["code"] as? String, "invalid_api_key")
            let basic = try await client.post("/v1/embeddings", json: body, headers: [.authorization: "Basic s3cret"])
            XCTAssertEqual(basic.status, .unauthorized)
            let right = try await client.post("/v1/embeddings", json: body, headers: [.authorization: "Bearer s3cret"])
            XCTAssertEqual(right.status, .ok)
            let metricsNoKey = try await client.get("/metrics")
            XCTAssertEqual(metricsNoKey.status, .unauthorized)
            let metricsKey = try await client.get("/metrics", headers: [.authorization: "Bearer s3cret"])
            XCTAssertEqual(metricsKey.status, .ok)
            let health = try await client.get("/healthz")
            XCTAssertEqual(health.status, .ok)
            // Unknown routes are hidden behind the key too.
            let unknown = try await client.get("/v1/models")
            XCTAssertEqual(unknown.status, .unauthorized)
            // Milvus routes answer in Milvus' envelope (code 1800, as Milvus for a missing credential).
            let milvus = try await client.post("/v2/vectordb/collections/list", json: [String: Any]())
            XCTAssertEqual(milvus.status, .unauthorized)
            XCTAssertEqual(try ServerTest.decode(milvus)["code"] as? Int, 1800)
        }
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        XCTAssertFalse(APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        XCTAssertFalse(APIKeyMiddleware<BasicRequestContext>.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
        XCTAssertFalse(APIKeyMiddleware<BasicRequestContext>.constantTimeEqual([], Array("a".utf8)))
    }

    /// 48 requests at once over a real socket (good and bad mixed, first ones racing the model load):
    /// every good one gets the same vector as a request made alone, every bad one its 400, and the
    /// model is loaded once.
    func testManyParallelRequestsOverTheNetwork() async throws {
        let server = try ServerTest.server()
        let texts = (0..<8).map { "sentence number \($0) about parallel requests" }
        try await ServerTest.application(server).test(.live) { client in
            let results = try await withThrowingTaskGroup(of: (Int, TestResponse).self) { group in
                for i in 0..<48 {
                    group.addTask {
                        if i % 6 == 5 {
                            return (i, try await client.post("/v1/embeddings", raw: "{\"model\": 1"))
                        }
                        return (i, try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": [texts[i % 8]], "encoding_format": "base64"]))
                    }
                }
                var all: [Int: TestResponse] = [:]
                for try await (i, r) in group { all[i] = r }
                return all
            }
            var alone: [Int: [Float]] = [:]
            for t in 0..<8 {
                let r = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": [texts[t]], "encoding_format": "base64"])
                alone[t] = try ServerTest.base64Floats((try ServerTest.decode(r)["data"] as? [[String: Any]])?.first?["embedding"])
            }
            XCTAssertEqual(results.count, 48)
            for (i, r) in results {
                if i % 6 == 5 {
                    XCTAssertEqual(r.status, .badRequest)
                    continue
                }
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                let v = try ServerTest.base64Floats((try ServerTest.decode(r)["data"] as? [[String: Any]])?.first?["embedding"])
                XCTAssertEqual(v.map(\.bitPattern), alone[i % 8]!.map(\.bitPattern), "request \(i)")
            }
        }
        let loaded = await server.loadedModels()
        XCTAssertEqual(loaded, [ServerTest.model])
    }
}
