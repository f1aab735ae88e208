import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTokenizers

/// CLIP's tokenizer built from the original `bpe_simple_vocab_16e6.txt.gz` must equal the Hugging
/// Face tokenizer.json of openai/clip-vit-base-patch32 (same vocabulary, same ids).
final class CLIPTokenizerTests: XCTestCase {
    static let clipFolder = TestPaths.reference.appendingPathComponent("models/tiny-random-clip")

    struct Reference: Decodable { var texts: [String]; var token_ids: [[Int]] }

    func mergesFile() throws -> URL {
        try TestPaths.model("clip-bpe").appendingPathComponent("bpe_simple_vocab_16e6.txt.gz")
    }

    /// The tokenizer built from the merges file, loaded once for the test class.
    nonisolated(unsafe) private static var cached: Tokenizer?
    func builtTokenizer() throws -> Tokenizer {
        if let t = Self.cached { return t }
        let t = try CLIPTokenizer.load(mergesFile: try mergesFile())
        Self.cached = t
        return t
    }

    func testVocabularyEqualsHuggingFace() throws {
        let built = try builtTokenizer()
        let hf = try Tokenizer(contentsOf: Self.clipFolder.appendingPathComponent("tokenizer.json"))
        XCTAssertEqual(built.vocabularySize, 49408)
        XCTAssertEqual(hf.vocabularySize, 49408)
        var differing = 0
        for id in 0..<49408 where built.token(for: id) != hf.token(for: id) {
            differing += 1
            if differing < 5 { XCTFail("id \(id): \(built.token(for: id) ?? "nil") != \(hf.token(for: id) ?? "nil")") }
        }
        XCTAssertEqual(differing, 0)
    }

    func testIdsEqualReferenceAndTokenizerJSON() throws {
        let built = try builtTokenizer()
        var hf = try Tokenizer(contentsOf: Self.clipFolder.appendingPathComponent("tokenizer.json"))
        hf.maxLength = CLIPTokenizer.contextLength
        let reference: Reference = try TestPaths.referenceJSON("models/tiny-random-clip/reference.json")
        XCTAssertEqual(reference.texts.map { built.encode($0).ids }, reference.token_ids, "ids of reference.json (transformers CLIPTokenizer)")

        // Many more texts: the sentence-transformers reference texts (WordNet glosses, edge cases)
        // and the hard strings of the tokenizer fixtures.
        var texts: [String] = []
        for model in ["all-MiniLM-L6-v2", "all-mpnet-base-v2"] {
            struct T: Decodable { var texts: [String] }
            let t: T = try TestPaths.referenceJSON("text/\(model).json")
            texts += t.texts
        }
        texts += try Fixtures.expected("tiny-random-clip").cases.map(\.text)
        XCTAssertGreaterThan(texts.count, 100)
        var differing = 0
        for text in texts {
            let a = built.encode(text), b = hf.encode(text)
            if a.ids != b.ids || a.offsets != b.offsets {
                differing += 1
                XCTFail("\"\(describe(String(text.prefix(50))))\": \(a.ids.prefix(20)) != \(b.ids.prefix(20))")
            }
        }
        XCTAssertEqual(differing, 0)

        // Parallel batch encoding (shared BPE word cache) gives the same encodings.
        let many = Array(repeating: texts, count: 4).flatMap { $0 }
        XCTAssertEqual(built.encodeBatch(many), many.map { built.encode($0) })
    }

    func testTruncatesAtContextLengthAndDecodes() throws {
        let built = try builtTokenizer()
        let long = built.encode(String(repeating: "a photo of a cat ", count: 40))
        XCTAssertEqual(long.count, 77)
        XCTAssertEqual(long.ids.first, CLIPTokenizer.startOfTextID)
        XCTAssertEqual(long.ids.last, CLIPTokenizer.endOfTextID)
        let e = built.encode("A Photo of a CAT, sitting!")
        XCTAssertEqual(built.decode(e.ids), "a photo of a cat , sitting !")
        XCTAssertEqual(e.tokens[1], "a</w>")
    }

    func testMalformedMergesFileIsReported() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-clip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let short = dir.appendingPathComponent("short.txt")
        try "#version: 0.2\ni n\nt h\n".write(to: short, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CLIPTokenizer.load(mergesFile: short)) { error in
            XCTAssertTrue("\(error)".contains("short.txt") && "\(error)".contains("48894"), "\(error)")
        }
        let corrupt = dir.appendingPathComponent("corrupt.txt.gz")
        try Data([0x1F, 0x8B, 0x08, 0x00, 0x01, 0x02, 0x03]).write(to: corrupt)
        XCTAssertThrowsError(try CLIPTokenizer.load(mergesFile: corrupt)) { error in
            XCTAssertTrue("\(error)".contains("corrupt.txt.gz"), "\(error)")
        }
    }
}
