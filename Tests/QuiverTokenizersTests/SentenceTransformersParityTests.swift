import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTokenizers

/// Token ids identical to sentence-transformers (which truncates at `max_seq_length`, not at the
/// tokenizer.json's own 128) for the committed reference texts.
final class SentenceTransformersParityTests: XCTestCase {
    struct Reference: Decodable {
        var model: String
        var max_seq_length: Int
        var texts: [String]
        var token_ids: [[Int]]
    }

    func check(_ model: String) throws {
        let reference: Reference = try TestPaths.referenceJSON("text/\(model).json")
        var tokenizer = try Tokenizer(contentsOf: try TestPaths.model(model).appendingPathComponent("tokenizer.json"))
        tokenizer.padding = nil
        tokenizer.maxLength = reference.max_seq_length
        XCTAssertEqual(reference.texts.count, reference.token_ids.count)
        var mismatches = 0
        for (text, expected) in zip(reference.texts, reference.token_ids) {
            let ids = tokenizer.encode(text).ids
            if ids != expected {
                mismatches += 1
                XCTFail("\(model) \"\(describe(String(text.prefix(60))))\": \(ids.prefix(40)) != \(expected.prefix(40))")
            }
        }
        // Batch encoding (parallel path) gives the same ids.
        let batch = tokenizer.encodeBatch(Array(repeating: reference.texts, count: 4).flatMap { $0 })
        XCTAssertEqual(batch.prefix(reference.texts.count).map(\.ids), reference.token_ids)
        XCTAssertEqual(batch.suffix(reference.texts.count).map(\.ids), reference.token_ids)
        XCTAssertEqual(mismatches, 0)
        // The longest text really was truncated at max_seq_length.
        XCTAssertEqual(reference.token_ids.map(\.count).max(), reference.max_seq_length)
    }

    func testAllMiniLML6v2() throws { try check("all-MiniLM-L6-v2") }
    func testAllMPNetBaseV2() throws { try check("all-mpnet-base-v2") }
}
