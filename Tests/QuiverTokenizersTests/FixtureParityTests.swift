import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTokenizers

/// Parity with the Hugging Face `tokenizers` library (0.23) on hard strings: ids, tokens,
/// character offsets, type ids, masks and decoded text must be identical.
final class FixtureParityTests: XCTestCase {
    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try Fixtures.expected(name)
        var tokenizer = try Tokenizer(contentsOf: try Fixtures.tokenizerURL(name))
        let fileTruncation = tokenizer.truncation, filePadding = tokenizer.padding
        tokenizer.truncation = nil
        tokenizer.padding = nil
        var failures = 0
        func report(_ what: String, _ d: [String]) {
            guard !d.isEmpty else { return }
            failures += 1
            if failures <= 12 { XCTFail("\(name) \(what): " + d.joined(separator: "; "), file: file, line: line) }
        }
        for c in expected.cases {
            let e = tokenizer.encode(c.text, pair: c.pair, addSpecialTokens: c.add_special_tokens)
            var d = differences(e, c)
            let decoded = tokenizer.decode(e.ids)
            if decoded != c.decoded { d.append("decoded \"\(describe(decoded))\" != \"\(describe(c.decoded))\"") }
            report("\"\(describe(c.text))\"" + (c.pair.map { " + \"\(describe($0))\"" } ?? ""), d)
        }
        for c in expected.truncated {
            var t = tokenizer
            t.truncation = Truncation(maxLength: c.max_length!, strategy: c.strategy == "only_first" ? .onlyFirst : .longestFirst,
                                      direction: c.direction == "left" ? .left : .right)
            report("truncated \(c.max_length!) \(c.strategy!) \(c.direction!) \"\(describe(c.text))\"", differences(t.encode(c.text, pair: c.pair), c))
        }
        for p in expected.padded {
            var t = tokenizer
            t.padding = Padding(strategy: .batchLongest, direction: p.direction == "left" ? .left : .right, padID: p.pad_id, padTypeID: 0, padToken: p.pad_token)
            let batch = t.encodeBatch(p.texts)
            XCTAssertEqual(batch.map(\.ids), p.ids, "\(name) padded \(p.direction)", file: file, line: line)
            XCTAssertEqual(batch.map(\.attentionMask), p.attention_mask, "\(name) padded \(p.direction)", file: file, line: line)
            XCTAssertEqual(batch.map(\.typeIDs), p.type_ids, "\(name) padded \(p.direction)", file: file, line: line)
            XCTAssertEqual(batch.map(\.specialTokensMask), p.special_tokens_mask, "\(name) padded \(p.direction)", file: file, line: line)
        }
        if let defaults = expected.file_defaults {
            var t = tokenizer
            t.truncation = fileTruncation
            t.padding = filePadding
            for c in defaults { report("file defaults \"\(describe(String(c.text.prefix(40))))\"", differences(t.encode(c.text), c)) }
        }
        XCTAssertEqual(failures, 0, "\(name): \(failures) cases differ from the reference", file: file, line: line)
    }

    func testTrainedWordPiece() throws { try check("trained-wordpiece") }
    func testTrainedUnigramMetaspace() throws { try check("trained-unigram") }
    func testTrainedUnigramByteFallback() throws { try check("trained-unigram-bytefallback") }
    func testTrainedBPEWithSuffixAndPrefix() throws { try check("trained-bpe") }
    func testTrainedByteLevelBPEWithOffsetTrimming() throws { try check("trained-bytelevel-bpe") }
    func testTrainedLlamaStyleBPEByteFallback() throws { try check("trained-llama-bpe") }
    func testMiniLM() throws { try check("all-MiniLM-L6-v2") }
    func testMPNet() throws { try check("all-mpnet-base-v2") }
    func testCLIP() throws { try check("tiny-random-clip") }
    func testWhisper() throws { try check("faster-whisper-base") }
}
