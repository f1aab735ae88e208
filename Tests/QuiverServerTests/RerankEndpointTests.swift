import Foundation
import Hummingbird
import HummingbirdTesting
import QuiverTestSupport
import XCTest
@testable import QuiverServer

/// `POST /v1/rerank` with requests as the Cohere and Jina rerank APIs document them, against
/// sentence-transformers' CrossEncoder.predict scores of the tiny random cross-encoder fixture.
final class RerankEndpointTests: XCTestCase {
    struct Reference: Decodable { var pairs: [[String]]; var scores: [Float] }

    func testCohereAndJinaShapedRequests() async throws {
        let folder = TestPaths.reference.appendingPathComponent("models/tiny-random-cross-encoder")
        let ref: Reference = try TestPaths.referenceJSON("models/tiny-random-cross-encoder/reference.json")
        // Pairs 0 and 1 share the query "a small rodent".
        let query = ref.pairs[0][0]
        let documents = [ref.pairs[0][1], ref.pairs[1][1]]
        let want = [ref.scores[0], ref.scores[1]]
        let order = want[0] >= want[1] ? [0, 1] : [1, 0]
        let server = try ServerTest.server()
        try await ServerTest.application(server).test(.router) { client in
            // Cohere: documents as strings, top_n, return_documents.
            let r = try await client.post("/v1/rerank", json: ["model": folder.path, "query": query, "documents": documents,
                                                               "top_n": 2, "return_documents": true])
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let body = try ServerTest.decode(r)
            let results = try XCTUnwrap(body["results"] as? [[String: Any]])
            XCTAssertEqual(results.map { $0["index"] as? Int }, order.map { Optional($0) })
            for item in results {
                let i = item["index"] as! Int
                // Tolerance: 1e-5 of CrossEncoder.predict.
                XCTAssertEqual((item["relevance_score"] as? NSNumber)?.floatValue ?? -1, want[i], accuracy: 1e-5)
                XCTAssertEqual((item["document"] as? [String: Any])?["text"] as? String, documents[i])
            }
            XCTAssertGreaterThan((body["usage"] as? [String: Any])?["total_tokens"] as? Int ?? 0, 0)
            // Jina: documents as {"text": ...} objects, top_n 1, no documents back.
            let j = try await client.post("/v1/rerank", json: ["model": folder.path, "query": query,
                                                               "documents": documents.map { ["text": $0] }, "top_n": 1])
            XCTAssertEqual(j.status, .ok, String(buffer: j.body))
            let jr = try XCTUnwrap(try ServerTest.decode(j)["results"] as? [[String: Any]])
            XCTAssertEqual(jr.count, 1)
            XCTAssertEqual(jr[0]["index"] as? Int, order[0])
            XCTAssertNil(jr[0]["document"])
            // Errors name the field.
            let bad = try await client.post("/v1/rerank", json: ["model": folder.path, "query": query, "documents": [1]])
            XCTAssertEqual(bad.status, .badRequest)
            XCTAssertTrue(String(buffer: bad.body).contains("documents[0] must be a string"), String(buffer: bad.body))
        }
    }
}
