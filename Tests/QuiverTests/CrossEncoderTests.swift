import Foundation
import XCTest
import QuiverTestSupport
@testable import Quiver

/// Cross-encoder reranking against sentence-transformers' CrossEncoder.predict on a tiny random
/// BertForSequenceClassification (Tests/Fixtures/reference/models/tiny-random-cross-encoder,
/// made by scripts/fixtures/make_cross_encoder_fixture.py).
final class CrossEncoderTests: XCTestCase {
    struct Reference: Decodable {
        var pairs: [[String]]
        var token_ids: [[Int]]
        var token_type_ids: [[Int]]
        var logits: [[Float]]
        var scores: [Float]
    }

    static let folder = TestPaths.reference.appendingPathComponent("models/tiny-random-cross-encoder")

    func testScoresMatchSentenceTransformersCrossEncoder() throws {
        let ref: Reference = try TestPaths.referenceJSON("models/tiny-random-cross-encoder/reference.json")
        let ce = try CrossEncoder(folder: Self.folder, name: "tiny")
        XCTAssertEqual(ce.maxLength, 128)
        let pairs = ref.pairs.map { (query: $0[0], document: $0[1]) }
        for (i, p) in pairs.enumerated() {
            let t = ce.tokenize(query: p.query, document: p.document)
            XCTAssertEqual(t.ids, ref.token_ids[i], "pair \(i) token ids")
            XCTAssertEqual(t.typeIDs, ref.token_type_ids[i], "pair \(i) token types")
        }
        // Tolerance: 1e-5 on the logits and on the sigmoid scores (fp32).
        let logits = try ce.logits(pairs, threads: 2)
        for i in pairs.indices { XCTAssertEqual(logits[i][0], ref.logits[i][0], accuracy: 1e-5, "pair \(i) logit") }
        let scores = try ce.scores(pairs, threads: 1)
        for i in pairs.indices { XCTAssertEqual(scores[i], ref.scores[i], accuracy: 1e-5, "pair \(i) score") }
        let ranked = try ce.rerank(query: pairs[0].query, documents: [pairs[1].document, pairs[0].document])
        let want = ref.scores[1] > ref.scores[0] ? [0, 1] : [1, 0]
        XCTAssertEqual(ranked.map(\.index), want)
    }

    func testRejectsOtherArchitectures() throws {
        XCTAssertThrowsError(try CrossEncoder(folder: TestPaths.reference.appendingPathComponent("models/tiny-random-clip"))) { e in
            XCTAssertTrue("\(e)".contains("BertForSequenceClassification"), "\(e)")
        }
    }
}
