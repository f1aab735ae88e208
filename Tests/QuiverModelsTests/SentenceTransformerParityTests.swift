import Foundation
import XCTest
import QuiverModels
import QuiverTestSupport

/// Parity with sentence-transformers (PyTorch) on the committed reference outputs
/// (Tests/Fixtures/reference/text/*.json): the model runs on the reference `token_ids`, pools and
/// normalizes; every embedding must have cosine >= 0.99999 with the reference and differ by at
/// most 2e-4 in any component (the fixture is rounded to 6 decimals).
final class SentenceTransformerParityTests: XCTestCase {
    struct Reference: Decodable {
        let model: String
        let max_seq_length: Int
        let texts: [String]
        let token_ids: [[Int]]
        let embeddings: [[Float]]
        let unnormalized_first3: [[Float]]
    }

    struct Unnormalized: Decodable {
        struct Row: Decodable { let index: Int; let embedding: [Float] }
        let models: [String: [Row]]
    }

    static let minimumCosine: Double = 0.99999
    static let maximumAbsDifference: Float = 2e-4

    func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in 0..<a.count { ab += Double(a[i]) * Double(b[i]); aa += Double(a[i]) * Double(a[i]); bb += Double(b[i]) * Double(b[i]) }
        return ab / max((aa * bb).squareRoot(), 1e-30)
    }

    func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    func checkParity(_ name: String) throws {
        let folder = try TestPaths.model(name)
        let ref: Reference = try TestPaths.referenceJSON("text/\(name).json")
        let model = try SentenceTransformer(folder: folder)
        XCTAssertEqual(model.maxSequenceLength, ref.max_seq_length)
        XCTAssertTrue(model.normalizes)
        XCTAssertEqual(model.dimension, ref.embeddings[0].count)

        let vectors = try model.embed(tokenIDs: ref.token_ids)
        var worstCos = 1.0, worstDiff: Float = 0
        for (i, (v, r)) in zip(vectors, ref.embeddings).enumerated() {
            let c = cosine(v, r), d = maxAbsDifference(v, r)
            worstCos = min(worstCos, c); worstDiff = max(worstDiff, d)
            XCTAssertGreaterThanOrEqual(c, Self.minimumCosine, "\(name) text \(i) \(ref.texts[i].prefix(40).debugDescription): cosine \(c)")
            XCTAssertLessThanOrEqual(d, Self.maximumAbsDifference, "\(name) text \(i): max abs difference \(d)")
        }
        print("\(name): \(vectors.count) texts, worst cosine \(worstCos), worst max-abs difference \(worstDiff)")

        // The reference's `unnormalized_first3` went through the model's Normalize module (unit norm),
        // so it must equal the normalized output; pooling without normalization is checked against
        // Tests/Fixtures/text/unnormalized-mean-pooled.json (scripts/fixtures/text_unnormalized.py).
        for (i, r) in ref.unnormalized_first3.enumerated() {
            XCTAssertGreaterThanOrEqual(cosine(vectors[i], r), Self.minimumCosine, "\(name) unnormalized_first3[\(i)]")
            XCTAssertLessThanOrEqual(maxAbsDifference(vectors[i], r), Self.maximumAbsDifference, "\(name) unnormalized_first3[\(i)]")
        }
        let pooled: Unnormalized = try JSONDecoder().decode(Unnormalized.self, from: Data(contentsOf: TestPaths.fixtures.appendingPathComponent("text/unnormalized-mean-pooled.json")))
        let rows = try XCTUnwrap(pooled.models[name])
        let raw = try model.embed(tokenIDs: rows.map { ref.token_ids[$0.index] }, normalize: false)
        for (v, r) in zip(raw, rows) {
            XCTAssertGreaterThanOrEqual(cosine(v, r.embedding), Self.minimumCosine, "\(name) unnormalized text \(r.index)")
            XCTAssertLessThanOrEqual(maxAbsDifference(v, r.embedding), Self.maximumAbsDifference, "\(name) unnormalized text \(r.index)")
        }

        // Mixed-length batches give the same vectors as one text at a time, single- or multi-threaded.
        let picks = [15, 0, 3, 27, 2, 40].filter { $0 < ref.token_ids.count }
        let together = try model.embed(tokenIDs: picks.map { ref.token_ids[$0] }, threads: 2)
        for (k, i) in picks.enumerated() {
            let alone = try model.embed(tokenIDs: [ref.token_ids[i]], threads: 1)[0]
            XCTAssertLessThanOrEqual(maxAbsDifference(alone, together[k]), 1e-5, "\(name) text \(i) alone vs in a mixed batch")
        }
    }

    func testAllMiniLML6v2MatchesSentenceTransformers() throws { try checkParity("all-MiniLM-L6-v2") }

    func testAllMpnetBaseV2MatchesSentenceTransformers() throws { try checkParity("all-mpnet-base-v2") }

    func testRejectsBadInput() throws {
        let model = try SentenceTransformer(folder: try TestPaths.model("all-MiniLM-L6-v2"))
        XCTAssertThrowsError(try model.embed(tokenIDs: [[101, 102], [101, 30522, 102]])) { error in
            XCTAssertEqual(error as? ModelsError, .invalidTokenID(sequence: 1, position: 1, id: 30522, vocabularySize: 30522))
            XCTAssertTrue("\(error)".contains("position 1 of sequence 1"))
        }
        XCTAssertThrowsError(try model.embed(tokenIDs: [Array(repeating: 100, count: 257)])) { error in
            XCTAssertEqual(error as? ModelsError, .sequenceTooLong(sequence: 0, length: 257, maximum: 256))
        }
        XCTAssertEqual(try model.embed(tokenIDs: [[Int]]()).count, 0)
        // An empty id sequence pools to the zero vector, as sentence-transformers' clamped mean does.
        XCTAssertEqual(try model.embed(tokenIDs: [[Int]()])[0], [Float](repeating: 0, count: 384))
    }
}
