import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTokenizers

/// Opt-in large parity run against HF `tokenizers` on random strings and WordNet glosses
/// (data made by scripts/fixtures/fuzz_tokenizers.py; path in `QUIVER_TOKENIZER_FUZZ`).
/// Reports mismatch counts per tokenizer; asserts exact ids and decoded text on the glosses and
/// no more than 1% differing ids on random strings (Unicode-version differences: the Rust
/// crates' tables predate Unicode 14, e.g. U+061D).
final class FuzzParityTests: XCTestCase {
    struct Data_: Decodable {
        struct T: Decodable { var name: String; var path: String; var ids: [[Int]]; var offsets: [[[Int]]]; var decoded: [[UInt32]] }
        var texts: [[UInt32]]
        var tokenizers: [T]
    }

    func testAgainstHuggingFace() throws {
        guard let path = ProcessInfo.processInfo.environment["QUIVER_TOKENIZER_FUZZ"] else {
            throw XCTSkip("set QUIVER_TOKENIZER_FUZZ to the output of scripts/fixtures/fuzz_tokenizers.py")
        }
        let data = try JSONDecoder().decode(Data_.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        let texts = data.texts.map { String(scalarValues: $0.map { Unicode.Scalar($0)! }) }
        let randomCount = min(6000, texts.count)
        for t in data.tokenizers {
            var tokenizer = try Tokenizer(contentsOf: URL(fileURLWithPath: t.path))
            tokenizer.truncation = nil
            tokenizer.padding = nil
            let encodings = tokenizer.encodeBatch(texts)
            var ids = [0, 0], offsets = [0, 0], decoded = [0, 0]
            for i in texts.indices {
                let k = i < randomCount ? 0 : 1
                if encodings[i].ids != t.ids[i] { ids[k] += 1; continue }
                if encodings[i].offsets.map({ [$0.lowerBound, $0.upperBound] }) != t.offsets[i] { offsets[k] += 1 }
                if Array(tokenizer.decode(encodings[i].ids).unicodeScalars.map(\.value)) != t.decoded[i] { decoded[k] += 1 }
            }
            print("[fuzz] \(t.name): random \(randomCount): \(ids[0]) ids, \(offsets[0]) offsets, \(decoded[0]) decoded differ; "
                  + "glosses \(texts.count - randomCount): \(ids[1]) ids, \(offsets[1]) offsets, \(decoded[1]) decoded differ")
            XCTAssertEqual(ids[1], 0, t.name); XCTAssertEqual(offsets[1], 0, t.name); XCTAssertEqual(decoded[1], 0, t.name)
            XCTAssertLessThanOrEqual(ids[0], randomCount / 100, t.name)
            XCTAssertEqual(decoded[0], 0, t.name)
        }
    }
}
