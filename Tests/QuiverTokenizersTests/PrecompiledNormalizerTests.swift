import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTokenizers

extension FixtureParityTests {
    /// XLM-R / bge-reranker-base layout: Precompiled (nmt_nfkc) + Replace, Metaspace, Unigram.
    func testTrainedXLMRPrecompiled() throws { try check("trained-xlmr-precompiled") }
}

/// The SentencePiece `Precompiled` normalizer against the `tokenizers` library's `normalize_str`
/// (scripts/fixtures/make_precompiled_fixture.py), and its configuration errors.
final class PrecompiledNormalizerTests: XCTestCase {
    struct Normalized: Decodable { var text: String; var precompiled: String; var sequence: String }
    struct Expected: Decodable { var normalized: [Normalized] }

    static let name = "trained-xlmr-precompiled"

    /// The base64 charsmap of the fixture's tokenizer.json.
    static func charsmapBase64() throws -> String {
        let data = try Data(contentsOf: try Fixtures.tokenizerURL(name))
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let normalizer = try XCTUnwrap(root["normalizer"] as? [String: Any])
        let first = try XCTUnwrap((normalizer["normalizers"] as? [[String: Any]])?.first)
        XCTAssertEqual(first["type"] as? String, "Precompiled")
        return try XCTUnwrap(first["precompiled_charsmap"] as? String)
    }

    func testNormalizeMatchesTokenizersLibrary() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Fixtures.tokenizers.appendingPathComponent("expected-\(Self.name).json")))
        XCTAssertGreaterThan(expected.normalized.count, 40)
        let map = try PrecompiledCharsMap(base64: try Self.charsmapBase64())
        let tokenizer = try Tokenizer(contentsOf: try Fixtures.tokenizerURL(Self.name))
        let sequence = try XCTUnwrap(tokenizer.normalizer)
        var changed = 0
        for c in expected.normalized {
            XCTAssertEqual(describe(map.normalize(c.text)), describe(c.precompiled), "Precompiled \"\(describe(c.text))\"")
            let b = sequence.normalize(TextBuffer(original: c.text.unicodeScalars.map(\.value)[...], base: 0))
            XCTAssertEqual(describe(b.string(0..<b.count)), describe(c.sequence), "Precompiled + Replace \"\(describe(c.text))\"")
            if c.precompiled != c.text { changed += 1 }
        }
        // The fixture exercises the map: many strings change.
        XCTAssertGreaterThanOrEqual(changed, 20)
    }

    func testKnownNFKCRewrites() throws {
        let map = try PrecompiledCharsMap(base64: try Self.charsmapBase64())
        XCTAssertEqual(map.normalize("ＦＵＬＬ ｗｉｄｔｈ"), "FULL width")
        XCTAssertEqual(map.normalize("ﬁne ½"), "fine 1\u{2044}2")
        XCTAssertEqual(map.normalize("e\u{301}"), "\u{E9}")
        // tokenizers' rule: a cluster under 6 bytes takes the replacement of its shortest matching
        // prefix (the accent goes); SentencePiece itself would keep it.
        XCTAssertEqual(map.normalize("\u{FB01}\u{301}x"), "fix")
        XCTAssertEqual(map.normalize("\u{FB01}\u{301}\u{302}"), "fi\u{301}\u{302}")
        XCTAssertEqual(map.normalize("a\tb\nc"), "a b c")
        XCTAssertEqual(map.normalize("plain ascii text"), "plain ascii text")
    }

    func testOffsetsPointAtTheOriginalText() throws {
        let tokenizer = try Tokenizer(contentsOf: try Fixtures.tokenizerURL(Self.name))
        let text = "ﬁne ＡＢ ½x"
        let e = tokenizer.encode(text, addSpecialTokens: false)
        let scalars = Array(text.unicodeScalars)
        // Every token's offsets lie inside the text, in order, and cover the ligature and full-width letters.
        var last = 0
        for r in e.offsets {
            XCTAssertLessThanOrEqual(last, r.lowerBound)
            XCTAssertLessThanOrEqual(r.upperBound, scalars.count)
            last = r.lowerBound
        }
        XCTAssertEqual(e.offsets.first?.lowerBound, 0)
        XCTAssertEqual(e.offsets.last?.upperBound, scalars.count)
    }

    func testInvalidCharsmapsNameTheField() throws {
        func load(_ charsmap: String) throws -> Tokenizer {
            try Tokenizer(data: TokenizerAPITests.json(normalizer: #"{"type": "Precompiled", "precompiled_charsmap": \#(charsmap)}"#))
        }
        for (value, words) in [("\"not base64!\"", "base64"), ("\"AAAA\"", "trie size"), ("\"EAAAAAAA\"", "trie size")] {
            XCTAssertThrowsError(try load(value), value) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("precompiled_charsmap"), message)
                XCTAssertTrue(message.contains(words), message)
            }
        }
        // Replacement strings that are not UTF-8: trie of one unit, then 0xFF.
        let bad = Data([4, 0, 0, 0, 0, 0, 0, 0, 0xFF]).base64EncodedString()
        XCTAssertThrowsError(try load("\"\(bad)\"")) { XCTAssertTrue("\($0)".contains("UTF-8"), "\($0)") }
        // A null or empty charsmap normalizes nothing.
        for value in ["null", "\"\""] {
            let t = try load(value)
            XCTAssertEqual(t.encode("Hello", addSpecialTokens: false).tokens, ["[UNK]"], value)
        }
    }

    func testTruncatedTrieDoesNotCrash() throws {
        // A one-unit trie whose root offset points outside it: every lookup misses.
        let map = try PrecompiledCharsMap([4, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(map.normalize("ＡＢ ﬁ é\r\n"), "ＡＢ ﬁ é\r\n")
    }
}
