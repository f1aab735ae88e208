import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTokenizers

/// The public API on small tokenizers written in the tests: configuration errors, truncation and
/// padding from the file and from the API, batch encoding, added tokens, decoding.
final class TokenizerAPITests: XCTestCase {
    static let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[X]", "hello", "world", ",", "!", "wor", "##ld", "foo", "a", "b", "##b"]

    /// A BERT-like tokenizer.json with the given extra top-level sections.
    static func json(truncation: String = "null", padding: String = "null", model: String? = nil, normalizer: String? = nil,
                     added: String = "[]") -> Data {
        let v = vocab.enumerated().map { "\"\($1)\": \($0)" }.joined(separator: ", ")
        let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"].enumerated().map {
            "{\"id\": \($0), \"content\": \"\($1)\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}"
        }.joined(separator: ", ")
        let addedList = added == "[]" ? "[\(specials)]" : "[\(specials), \(added.dropFirst().dropLast())]"
        return """
        {"version": "1.0", "truncation": \(truncation), "padding": \(padding), "added_tokens": \(addedList),
         "normalizer": \(normalizer ?? #"{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true}"#),
         "pre_tokenizer": {"type": "BertPreTokenizer"},
         "model": \(model ?? "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"continuing_subword_prefix\": \"##\", \"max_input_chars_per_word\": 100, \"vocab\": {\(v)}}"),
         "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
         "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true}}
        """.data(using: .utf8)!
    }

    func testEncodeBasics() throws {
        let t = try Tokenizer(data: Self.json())
        let e = t.encode("Hello, WORLD! wor")
        XCTAssertEqual(e.tokens, ["[CLS]", "hello", ",", "world", "!", "wor", "[SEP]"])
        XCTAssertEqual(e.ids, [2, 5, 7, 6, 8, 9, 3])
        XCTAssertEqual(e.offsets, [0..<0, 0..<5, 5..<6, 7..<12, 12..<13, 14..<17, 0..<0])
        XCTAssertEqual(e.specialTokensMask, [1, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(e.attentionMask, [1, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(e.typeIDs, [0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(e.sequenceIDs, [nil, 0, 0, 0, 0, 0, nil])
        XCTAssertEqual(t.encode("abb bx").tokens, ["[CLS]", "a", "##b", "##b", "[UNK]", "[SEP]"])
        XCTAssertEqual(t.encode("abb bx").offsets[4], 4..<6)
        XCTAssertEqual(t.encode("hello", addSpecialTokens: false).ids, [5])
        let pair = t.encode("hello", pair: "world")
        XCTAssertEqual(pair.ids, [2, 5, 3, 6, 3])
        XCTAssertEqual(pair.typeIDs, [0, 0, 0, 1, 1])
        XCTAssertEqual(t.id(for: "world"), 6)
        XCTAssertEqual(t.token(for: 10), "##ld")
        XCTAssertNil(t.token(for: 999))
        XCTAssertTrue(t.isSpecial(2))
        XCTAssertFalse(t.isSpecial(5))
        XCTAssertEqual(t.vocabularySize, Self.vocab.count)
    }

    func testDecode() throws {
        let t = try Tokenizer(data: Self.json())
        let ids = t.encode("hello , world !").ids
        XCTAssertEqual(t.decode(ids), "hello, world!")
        XCTAssertEqual(t.decode(ids, skipSpecialTokens: false), "[CLS] hello, world! [SEP]")
        XCTAssertEqual(t.decode([5, 9, 10]), "hello world")
    }

    func testTruncationAndPaddingFromFileAndAPI() throws {
        var t = try Tokenizer(data: Self.json(
            truncation: #"{"max_length": 5, "strategy": "LongestFirst", "stride": 0, "direction": "Right"}"#,
            padding: #"{"strategy": {"Fixed": 8}, "direction": "Right", "pad_to_multiple_of": null, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}"#))
        XCTAssertEqual(t.truncation, Truncation(maxLength: 5))
        XCTAssertEqual(t.padding?.strategy, .fixed(8))
        let text = "hello world hello world hello"
        let e = t.encode(text)
        XCTAssertEqual(e.ids, [2, 5, 6, 5, 3, 0, 0, 0])
        XCTAssertEqual(e.attentionMask, [1, 1, 1, 1, 1, 0, 0, 0])
        XCTAssertEqual(e.specialTokensMask, [1, 0, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(e.tokens.last, "[PAD]")

        t.padding = nil
        t.maxLength = 4
        XCTAssertEqual(t.encode(text).ids, [2, 5, 6, 3])
        t.truncation?.direction = .left
        XCTAssertEqual(t.encode(text).ids, [2, 6, 5, 3])
        t.maxLength = nil
        XCTAssertEqual(t.encode(text).count, 7)

        t.maxLength = 6
        // Equal lengths: the first keeps floor(room / 2), as HF does.
        XCTAssertEqual(t.encode("hello world hello", pair: "world hello world").ids, [2, 5, 3, 6, 5, 3])

        t.padding = Padding(strategy: .batchLongest, direction: .left, padToMultipleOf: 4, padID: 0, padTypeID: 0, padToken: "[PAD]")
        let batch = t.encodeBatch(["hello", "hello world !"])
        XCTAssertEqual(batch.map(\.ids), [[0, 0, 0, 0, 0, 2, 5, 3], [0, 0, 0, 2, 5, 6, 8, 3]])
        XCTAssertEqual(batch[0].attentionMask, [0, 0, 0, 0, 0, 1, 1, 1])
    }

    func testBatchEqualsSingleEncodes() throws {
        let t = try Tokenizer(data: Self.json())
        let texts = (0..<500).map { i in Array(repeating: ["hello", "world", "wor", "!", ",", "foo"][i % 6], count: 1 + i % 9).joined(separator: " ") }
        let batch = t.encodeBatch(texts)
        XCTAssertEqual(batch, texts.map { t.encode($0) })
    }

    func testAddedTokensRawAndNormalized() throws {
        // "[X]" is matched on the original text (normalized: false); "FOO" is normalized (lowercased)
        // before matching, so "foo"/"Foo" in the text match it too; single_word "b" only alone.
        let added = #"""
        [{"id": 4, "content": "[X]", "single_word": false, "lstrip": true, "rstrip": false, "normalized": false, "special": true},
         {"id": 11, "content": "FOO", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": false},
         {"id": 13, "content": "b", "single_word": true, "lstrip": false, "rstrip": false, "normalized": false, "special": false}]
        """#
        let t = try Tokenizer(data: Self.json(added: added))
        let e = t.encode("hello  [X]Foo b abb")
        XCTAssertEqual(e.tokens, ["[CLS]", "hello", "  [X]", "foo", "b", "a", "##b", "##b", "[SEP]"])
        XCTAssertEqual(e.ids, [2, 5, 4, 11, 13, 12, 14, 14, 3])
        XCTAssertEqual(e.offsets[2], 5..<10)
        XCTAssertEqual(e.offsets[3], 10..<13)
        XCTAssertEqual(t.decode(e.ids), "hello FOO b abb")
    }

    func testNormalizersAndOffsetsOnHardText() throws {
        let t = try Tokenizer(data: Self.json())
        let text = "Ｈello\u{0}\tWＯrld 北京 Café\u{301}!"
        let e = t.encode(text)
        let scalars = Array(text.unicodeScalars)
        for (token, range) in zip(e.tokens, e.offsets) where !range.isEmpty {
            XCTAssertTrue(range.upperBound <= scalars.count, "\(token) \(range)")
        }
        XCTAssertEqual(e.tokens.filter { $0 != "[UNK]" }, ["[CLS]", "!", "[SEP]"])
        XCTAssertEqual(e.offsets.last(where: { !$0.isEmpty }), (scalars.count - 1)..<scalars.count)
    }

    func testCanonicallyEquivalentVocabularyEntriesStayDistinct() throws {
        // "Å" U+00C5 vs U+212B ANGSTROM SIGN, and precomposed vs decomposed "é": equal as Swift
        // Strings, distinct tokens for HF. The file mixes raw UTF-8 and \u escapes.
        let json = """
        {"added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"},
         "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                   "vocab": {"[UNK]": 0, "\u{C5}": 1, "\\u212B": 2, "e\u{301}": 3, "\\u00e9": 4, "\\ud83d\\ude00": 5}}}
        """
        let t = try Tokenizer(data: json.data(using: .utf8)!)
        XCTAssertEqual(t.encode("\u{C5} \u{212B} e\u{301} \u{E9} \u{1F600} x").ids, [1, 2, 3, 4, 5, 0])
        XCTAssertEqual(t.id(for: "\u{212B}"), 2)
        XCTAssertEqual(t.id(for: "\u{E9}"), 4)
        XCTAssertEqual(t.token(for: 3)?.unicodeScalars.count, 2)
    }

    func testConfigurationErrorsNameTheProblem() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        let missing = URL(fileURLWithPath: "/nonexistent/dir/tokenizer.json")
        XCTAssertTrue(message { _ = try Tokenizer(contentsOf: missing) }.contains("/nonexistent/dir/tokenizer.json"))

        let noModel = #"{"normalizer": null}"#.data(using: .utf8)!
        let m1 = message { _ = try Tokenizer(data: noModel, source: "my.json") }
        XCTAssertTrue(m1.contains("my.json") && m1.contains("\"model\""), m1)

        let m2 = message { _ = try Tokenizer(data: Self.json(normalizer: #"{"type": "Fancy"}"#)) }
        XCTAssertTrue(m2.contains("normalizer") && m2.contains("\"Fancy\""), m2)

        let m3 = message { _ = try Tokenizer(data: Self.json(model: #"{"type": "WordPiece", "unk_token": "<nope>", "vocab": {"a": 0}}"#)) }
        XCTAssertTrue(m3.contains("<nope>") && m3.contains("unk_token"), m3)

        let m4 = message { _ = try Tokenizer(data: Self.json(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "b c"]}"#)) }
        XCTAssertTrue(m4.contains("merge #1") && m4.contains("\"c\""), m4)

        let m5 = message { _ = try Tokenizer(data: Self.json(normalizer: #"{"type": "Replace", "pattern": {"Regex": "(unclosed"}, "content": ""}"#)) }
        XCTAssertTrue(m5.contains("(unclosed"), m5)

        let m6 = message { _ = try Tokenizer(data: Self.json(model: #"{"type": "Unigram", "unk_id": 7, "vocab": [["a", -1.0]]}"#)) }
        XCTAssertTrue(m6.contains("unk_id 7"), m6)
    }
}
