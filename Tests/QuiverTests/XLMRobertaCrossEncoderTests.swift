import Foundation
import XCTest
import QuiverTestSupport
import Quiver

/// The XLM-RoBERTa cross-encoder head (bge-reranker-base layout) against sentence-transformers'
/// CrossEncoder.predict on a tiny random XLMRobertaForSequenceClassification
/// (Tests/Fixtures/reference/models/tiny-random-xlmr-cross-encoder, made by
/// scripts/fixtures/make_xlmr_cross_encoder_fixture.py).
final class XLMRobertaCrossEncoderTests: XCTestCase {
    struct Reference: Decodable {
        var pairs: [[String]]
        var token_ids: [[Int]]
        var logits: [[Float]]
        var scores: [Float]
    }

    static let folder = TestPaths.reference.appendingPathComponent("models/tiny-random-xlmr-cross-encoder")

    func testScoresMatchSentenceTransformersCrossEncoder() throws {
        let ref: Reference = try TestPaths.referenceJSON("models/tiny-random-xlmr-cross-encoder/reference.json")
        let ce = try CrossEncoder(folder: Self.folder, name: "tiny-xlmr")
        XCTAssertEqual(ce.maxLength, 64, "max_position_embeddings 66 minus the padding offset")
        let pairs = ref.pairs.map { (query: $0[0], document: $0[1]) }
        for (i, p) in pairs.enumerated() {
            let t = ce.tokenize(query: p.query, document: p.document)
            XCTAssertEqual(t.ids, ref.token_ids[i], "pair \(i) token ids")
            XCTAssertTrue(t.typeIDs.allSatisfy { $0 == 0 }, "XLM-R has one token type")
        }
        XCTAssertEqual(ref.token_ids.last?.count, 64, "the long pair is truncated to 64 tokens")
        // Tolerance: 1e-5 on the logits and on the sigmoid scores (fp32).
        let logits = try ce.logits(pairs, threads: 2)
        for i in pairs.indices { XCTAssertEqual(logits[i][0], ref.logits[i][0], accuracy: 1e-5, "pair \(i) logit") }
        let scores = try ce.scores(pairs, threads: 1)
        for i in pairs.indices { XCTAssertEqual(scores[i], ref.scores[i], accuracy: 1e-5, "pair \(i) score") }
    }

    /// The folder is described as a cross-encoder (text pairs) of the XLM-R family.
    func testFolderIsATextPairModel() throws {
        let e = ModelInference.describe(folder: Self.folder)
        XCTAssertEqual(e.modality, .textPair)
        XCTAssertEqual(e.architecture, .xlmRoberta)
        XCTAssertThrowsError(try TextEmbedder(model: Self.folder.path)) { e in
            XCTAssertTrue("\(e)".contains("text-pair"), "a cross-encoder gives no vectors: \(e)")
        }
    }
}
