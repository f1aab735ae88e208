import Foundation
import Hummingbird
import HummingbirdTesting
import QuiverTestSupport
import XCTest
@testable import QuiverServer
import Quiver

/// `POST /v1/embeddings` in process: response shape, parity with sentence-transformers' reference
/// vectors, base64 = float bit for bit, and every error path with its OpenAI-style JSON.
final class EmbeddingsEndpointTests: XCTestCase {
    func testFloatResponseShapeAndParityWithReference() async throws {
        let server = try ServerTest.server()
        let ref: ServerTest.Reference = try TestPaths.referenceJSON("text/all-MiniLM-L6-v2.json")
        let picked = [2, 3, 4]  // short ordinary sentences of the fixture
        let texts = picked.map { ref.texts[$0] }
        try await ServerTest.application(server).test(.router) { client in
            let response = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": texts])
            XCTAssertEqual(response.status, .ok, String(buffer: response.body))
            XCTAssertEqual(response.headers[.contentType], "application/json")
            let body = try ServerTest.decode(response)
            XCTAssertEqual(body["object"] as? String, "list")
            XCTAssertEqual(body["model"] as? String, ServerTest.model)
            let data = try XCTUnwrap(body["data"] as? [[String: Any]])
            XCTAssertEqual(data.count, texts.count)
            for (i, item) in data.enumerated() {
                XCTAssertEqual(item["object"] as? String, "embedding")
                XCTAssertEqual(item["index"] as? Int, i)
                let v = try ServerTest.floats(item["embedding"])
                XCTAssertEqual(v.count, 384)
                // Tolerance from Tests/Fixtures/reference/README.md: cosine >= 0.99999 for fp32.
                XCTAssertGreaterThanOrEqual(ServerTest.cosine(v, ref.embeddings[picked[i]]), 0.99999, "text \(i)")
            }
            let usage = try XCTUnwrap(body["usage"] as? [String: Any])
            let tokens = picked.map { ref.token_ids[$0].count }.reduce(0, +)
            XCTAssertEqual(usage["prompt_tokens"] as? Int, tokens)
            XCTAssertEqual(usage["total_tokens"] as? Int, tokens)
        }
    }

    func testBase64DecodesToTheFloatVectorsExactly() async throws {
        let server = try ServerTest.server()
        let texts = ["A man is eating food.", "A cheetah chases prey across a field."]
        try await ServerTest.application(server).test(.router) { client in
            let f = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": texts, "encoding_format": "float"])
            let b = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": texts, "encoding_format": "base64"])
            XCTAssertEqual(f.status, .ok); XCTAssertEqual(b.status, .ok)
            let fd = try XCTUnwrap(try ServerTest.decode(f)["data"] as? [[String: Any]])
            let bd = try XCTUnwrap(try ServerTest.decode(b)["data"] as? [[String: Any]])
            for i in texts.indices {
                let fv = try ServerTest.floats(fd[i]["embedding"])
                let bv = try ServerTest.base64Floats(bd[i]["embedding"])
                XCTAssertEqual(bv.count, 384)
                // Floats print round-trip exact, so both encodings carry identical bits.
                XCTAssertEqual(fv.map(\.bitPattern), bv.map(\.bitPattern), "text \(i)")
            }
        }
    }

    func testSingleStringInputAndMatchingDimensionsAndUser() async throws {
        let server = try ServerTest.server()
        try await ServerTest.application(server).test(.router) { client in
            let r = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": "hello", "dimensions": 384, "user": "u-1"])
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let data = try XCTUnwrap(try ServerTest.decode(r)["data"] as? [[String: Any]])
            XCTAssertEqual(data.count, 1)
            XCTAssertEqual(try ServerTest.floats(data[0]["embedding"]).count, 384)
        }
    }

    func testLongTextIsTruncatedAndReported() async throws {
        let server = try ServerTest.server()
        let long = String(repeating: "word ", count: 400)
        try await ServerTest.application(server).test(.router) { client in
            let r = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": ["short", long]])
            XCTAssertEqual(r.status, .ok)
            let usage = try XCTUnwrap(try ServerTest.decode(r)["usage"] as? [String: Any])
            XCTAssertEqual(usage["prompt_tokens"] as? Int, 3 + 256)  // [CLS] short [SEP] + the 256-token limit
        }
    }

    /// Each bad request gets its status, the OpenAI error object, and a message naming the problem.
    func testErrorsAreOpenAIStyleJSON() async throws {
        let server = try ServerTest.server { $0.maxInputs = 3 }
        try await ServerTest.application(server).test(.router) { client in
            func expect(_ response: TestResponse, _ status: HTTPResponse.Status, param: String?, code: String? = nil,
                        contains: String, line: UInt = #line) throws {
                XCTAssertEqual(response.status, status, String(buffer: response.body), line: line)
                XCTAssertEqual(response.headers[.contentType], "application/json", line: line)
                let e = try ServerTest.error(response)
                XCTAssertEqual(e["param"] as? String, param, line: line)
                if let code { XCTAssertEqual(e["code"] as? String, code, line: line) }
                XCTAssertNotNil(e["type"] as? String, line: line)
                let message = try XCTUnwrap(e["message"] as? String, line: line)
                XCTAssertTrue(message.contains(contains), "\(message) lacks \(contains)", line: line)
            }
            let m = ServerTest.model
            try expect(try await client.post("/v1/embeddings", raw: "{\"model\": \"x\", \"input\": [\"a\" \"b\"]}"), .badRequest,
                       param: nil, contains: "not valid JSON")
            try expect(try await client.post("/v1/embeddings", raw: ""), .badRequest, param: nil, contains: "empty")
            try expect(try await client.post("/v1/embeddings", raw: "[1, 2]"), .badRequest, param: nil, contains: "must be a JSON object, got an array")
            try expect(try await client.post("/v1/embeddings", json: ["input": "a"]), .badRequest, param: "model", contains: "missing required field 'model'")
            try expect(try await client.post("/v1/embeddings", json: ["model": m]), .badRequest, param: "input", contains: "missing required field 'input'")
            try expect(try await client.post("/v1/embeddings", json: ["model": 7, "input": "a"]), .badRequest, param: "model", contains: "'model' must be a string, got a number")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": 5]), .badRequest, param: "input", contains: "got a number")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": ["a", true]]), .badRequest, param: "input", contains: "input[1] must be a string, got a boolean")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": [[101, 2023, 102]]]), .badRequest, param: "input", contains: "token ids")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": [101, 2023]]), .badRequest, param: "input", contains: "token ids")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": [String]()]), .badRequest, param: "input", contains: "empty array")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": ["a", "b", "c", "d"]]), .badRequest, param: "input", contains: "limit of 3")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": "a", "encoding_format": "int8"]), .badRequest, param: "encoding_format", contains: "\"int8\"")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": "a", "dimensions": 128]), .badRequest, param: "dimensions", contains: "384-dimensional")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": "a", "dimensions": "x"]), .badRequest, param: "dimensions", contains: "must be an integer")
            try expect(try await client.post("/v1/embeddings", json: ["model": m, "input": "a", "temperature": 1]), .badRequest, param: "temperature", contains: "unrecognized request argument 'temperature'")
            try expect(try await client.post("/v1/embeddings", json: ["model": "all-MiniLM-L6", "input": "a"]), .notFound, param: "model", code: "model_not_found",
                       contains: "all-MiniLM-L6-v2")
            try expect(try await client.get("/v1/nothing"), .notFound, param: nil, code: "unknown_url", contains: "/v1/nothing")
        }
    }

    func testMalformedJSONSaysWhere() async throws {
        let server = try ServerTest.server()
        try await ServerTest.application(server).test(.router) { client in
            let r = try await client.post("/v1/embeddings", raw: "{\n  \"model\": \"m\",\n  \"input\": [\"a\" \"b\"]\n}")
            XCTAssertEqual(r.status, .badRequest)
            let message = try XCTUnwrap(try ServerTest.error(r)["message"] as? String)
            XCTAssertTrue(message.contains("line 3"), message)
        }
    }

    func testBodyOverTheLimitIs413() async throws {
        let server = try ServerTest.server { $0.maxBodyBytes = 1000 }
        try await ServerTest.application(server).test(.router) { client in
            let big = String(repeating: "x", count: 2000)
            let r = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": big])
            XCTAssertEqual(r.status, .contentTooLarge)
            let e = try ServerTest.error(r)
            XCTAssertEqual(e["code"] as? String, "request_too_large")
            XCTAssertTrue((e["message"] as? String ?? "").contains("1000 bytes"))
            // The server still answers afterwards.
            let ok = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": "fine"])
            XCTAssertEqual(ok.status, .ok)
        }
    }
}

/// Model errors that do not need the model files.
final class ModelErrorTests: XCTestCase {
    func testCatalogModelMissingFromTheHomeIs404WithInstallHint() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-empty-home-\(getpid())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        var config = ServerConfiguration()
        config.modelHome = ModelHome(root: home)
        config.logRequests = false
        let server = QuiverServer(configuration: config)
        try await ServerTest.application(server).test(.router) { client in
            let r = try await client.post("/v1/embeddings", json: ["model": "all-MiniLM-L6-v2", "input": "a"])
            XCTAssertEqual(r.status, .notFound)
            let e = try ServerTest.error(r)
            XCTAssertEqual(e["code"] as? String, "model_not_installed")
            XCTAssertTrue((e["message"] as? String ?? "").contains("not installed"), "\(e)")
            // A failed load is not cached: health still lists no model.
            let h = try ServerTest.decode(try await client.get("/healthz"))
            XCTAssertEqual(h["models_loaded"] as? [String], [])
        }
    }

    func testJSONTypeNames() throws {
        let body = try JSONBody(bytes: Array("{\"b\": true, \"n\": 1, \"z\": 0, \"s\": \"x\", \"a\": [], \"o\": {}, \"null\": null}".utf8))
        XCTAssertEqual(JSONBody.typeName(body.object["b"]), "a boolean")
        XCTAssertEqual(JSONBody.typeName(body.object["n"]), "a number")
        XCTAssertEqual(JSONBody.typeName(body.object["z"]), "a number")
        XCTAssertEqual(JSONBody.typeName(body.object["s"]), "a string")
        XCTAssertEqual(JSONBody.typeName(body.object["a"]), "an array")
        XCTAssertEqual(JSONBody.typeName(body.object["o"]), "an object")
        XCTAssertEqual(JSONBody.typeName(body.object["null"]), "null")
        XCTAssertEqual(try body.int("n"), 1)
        XCTAssertThrowsError(try body.int("b"))
    }
}
