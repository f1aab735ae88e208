import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTokenizers

/// Reference outputs written by scripts/fixtures/make_tokenizer_fixtures.py (HF `tokenizers`).
struct ExpectedFile: Decodable {
    struct Case: Decodable {
        var text: String
        var pair: String?
        var add_special_tokens: Bool
        var ids: [Int]
        var tokens: [String]
        var offsets: [[Int]]
        var type_ids: [Int]
        var special_tokens_mask: [Int]
        var attention_mask: [Int]
        var decoded: String
        var max_length: Int?
        var strategy: String?
        var direction: String?
    }
    struct Padded: Decodable {
        var direction: String
        var pad_id: Int
        var pad_token: String
        var texts: [String]
        var ids: [[Int]]
        var attention_mask: [[Int]]
        var type_ids: [[Int]]
        var special_tokens_mask: [[Int]]
    }
    var tokenizer: String
    var cases: [Case]
    var truncated: [Case]
    var padded: [Padded]
    var file_defaults: [Case]?
}

enum Fixtures {
    static let tokenizers = TestPaths.fixtures.appendingPathComponent("tokenizers")

    static func expected(_ name: String) throws -> ExpectedFile {
        let data = try Data(contentsOf: tokenizers.appendingPathComponent("expected-\(name).json"))
        return try JSONDecoder().decode(ExpectedFile.self, from: data)
    }

    /// The tokenizer.json of a fixture name: trained ones in Tests/Fixtures/tokenizers, CLIP in the
    /// reference folder, the others in the model home.
    static func tokenizerURL(_ name: String) throws -> URL {
        if name.hasPrefix("trained-") { return tokenizers.appendingPathComponent("\(name).json") }
        if name == "tiny-random-clip" { return TestPaths.reference.appendingPathComponent("models/tiny-random-clip/tokenizer.json") }
        return try TestPaths.model(name).appendingPathComponent("tokenizer.json")
    }
}

func describe(_ s: String) -> String {
    s.unicodeScalars.map { $0.isASCII && $0.value >= 32 ? String($0) : String(format: "\\u{%X}", $0.value) }.joined()
}

/// Compares one encoding with the reference case; returns the differences found (empty when equal).
func differences(_ e: Encoding, _ c: ExpectedFile.Case, checkOffsets: Bool = true) -> [String] {
    var d: [String] = []
    if e.ids != c.ids { d.append("ids \(e.ids) != \(c.ids)") }
    if e.tokens != c.tokens { d.append("tokens \(e.tokens) != \(c.tokens)") }
    if checkOffsets {
        let offs = e.offsets.map { [$0.lowerBound, $0.upperBound] }
        if offs != c.offsets { d.append("offsets \(offs) != \(c.offsets)") }
    }
    if e.typeIDs != c.type_ids { d.append("type ids \(e.typeIDs) != \(c.type_ids)") }
    if e.specialTokensMask != c.special_tokens_mask { d.append("special mask \(e.specialTokensMask) != \(c.special_tokens_mask)") }
    if e.attentionMask != c.attention_mask { d.append("attention mask \(e.attentionMask) != \(c.attention_mask)") }
    return d
}
