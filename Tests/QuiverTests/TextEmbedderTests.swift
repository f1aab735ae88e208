import Foundation
import XCTest
import QuiverTestSupport
@testable import Quiver

/// End to end from raw text: tokenizer + transformer + pooling + normalization through the facade,
/// against sentence-transformers' own outputs (Tests/Fixtures/reference/text).
final class TextEmbedderTests: XCTestCase {
    struct Reference: Decodable {
        var texts: [String]
        var token_ids: [[Int]]
        var embeddings: [[Float]]
        var max_seq_length: Int
    }

    func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var d = 0.0, na = 0.0, nb = 0.0
        for i in a.indices { d += Double(a[i]) * Double(b[i]); na += Double(a[i] * a[i]); nb += Double(b[i] * b[i]) }
        return d / (na.squareRoot() * nb.squareRoot())
    }

    func checkParity(model: String, fixture: String) throws {
        let folder = try TestPaths.model(model)
        let ref: Reference = try TestPaths.referenceJSON("text/\(fixture)")
        let embedder = try TextEmbedder(folder: folder, name: model)
        XCTAssertEqual(embedder.maxSequenceLength, ref.max_seq_length)
        let result = try embedder.embed(ref.texts)
        XCTAssertEqual(result.vectors.count, ref.texts.count)
        for i in ref.texts.indices {
            XCTAssertEqual(result.tokenCounts[i], ref.token_ids[i].count, "text \(i): token count")
            // Tolerance from the reference README: cosine >= 0.99999 for an fp32 reimplementation.
            XCTAssertGreaterThanOrEqual(cosine(result.vectors[i], ref.embeddings[i]), 0.99999, "text \(i): \(ref.texts[i].prefix(40))")
        }
        // The reference includes texts longer than max_seq_length: they must be reported as truncated.
        let long = ref.token_ids.indices.filter { ref.token_ids[$0].count == ref.max_seq_length }
        XCTAssertFalse(long.isEmpty)
        XCTAssertTrue(Set(long).isSuperset(of: Set(result.truncated)))
        XCTAssertFalse(result.truncated.isEmpty)
    }

    func testMiniLMFromRawTextMatchesSentenceTransformers() throws {
        try checkParity(model: "all-MiniLM-L6-v2", fixture: "all-MiniLM-L6-v2.json")
    }

    func testMPNetFromRawTextMatchesSentenceTransformers() throws {
        try checkParity(model: "all-mpnet-base-v2", fixture: "all-mpnet-base-v2.json")
    }

    func testNoTruncateNamesTheText() throws {
        let embedder = try TextEmbedder(folder: try TestPaths.model("all-MiniLM-L6-v2"))
        let long = String(repeating: "word ", count: 400)
        XCTAssertThrowsError(try embedder.embed(["short", long], truncate: false)) { error in
            guard case let QuiverError.textTooLong(index, tokens, limit, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(index, 1)
            XCTAssertEqual(limit, 256)
            XCTAssertEqual(tokens, 402)
        }
    }

    func testNormalizeOverride() throws {
        let embedder = try TextEmbedder(folder: try TestPaths.model("all-MiniLM-L6-v2"))
        XCTAssertTrue(embedder.normalizesByDefault)
        let n = try embedder.embed(["a cat"]).vectors[0]
        let u = try embedder.embed(["a cat"], normalize: false).vectors[0]
        let norm = { (v: [Float]) in v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        XCTAssertEqual(norm(n), 1, accuracy: 1e-5)
        XCTAssertGreaterThan(abs(norm(u) - 1), 0.01)
        XCTAssertGreaterThan(cosine(n, u), 0.99999)
    }

    func testWrongModalityIsAClearError() throws {
        _ = try TestPaths.model("efficientnet-lite0")
        XCTAssertThrowsError(try TextEmbedder(model: "efficientnet-lite0")) { error in
            XCTAssertTrue("\(error)".contains("does not embed text"), "\(error)")
        }
    }
}
