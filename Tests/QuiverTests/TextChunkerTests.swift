import XCTest
@testable import Quiver

final class TextChunkerTests: XCTestCase {
    private func scalars(_ s: String, _ a: Int, _ b: Int) -> String {
        var v = String.UnicodeScalarView(); v.append(contentsOf: Array(s.unicodeScalars)[a..<b]); return String(v)
    }

    /// Windows: offsets are Unicode-scalar positions whose slice is the chunk text, consecutive
    /// windows overlap, end at whitespace when one is near, and cover the whole text.
    func testCharacterWindowsOffsetsAndOverlap() {
        let words = (0..<300).map { i in i % 7 == 0 ? "café\(i)" : "word\(i)" }
        let text = words.joined(separator: " ")
        let n = text.unicodeScalars.count
        let chunks = TextSplit.characters(size: 200, overlap: 50).chunks(of: text)
        XCTAssertGreaterThan(chunks.count, 10)
        XCTAssertEqual(chunks.first?.start, 0)
        XCTAssertEqual(chunks.last?.end, n)
        for (i, c) in chunks.enumerated() {
            XCTAssertEqual(c.text, scalars(text, c.start, c.end), "chunk \(i)")
            XCTAssertLessThanOrEqual(c.end - c.start, 200)
            if i > 0 {
                let prev = chunks[i - 1]
                XCTAssertGreaterThan(c.start, prev.start)
                XCTAssertEqual(c.start, prev.end - 50, "chunk \(i) starts 50 characters before the previous end")
            }
            if c.end < n { XCTAssertTrue(c.text.last!.isWhitespace, "chunk \(i) ends at a word boundary: \(c.text.suffix(10))") }
        }
    }

    func testShortTextIsOneChunkAndBlankIsNone() {
        XCTAssertEqual(TextSplit.default.chunks(of: "Hello."), [TextChunk(text: "Hello.", start: 0, end: 6)])
        XCTAssertEqual(TextSplit.default.chunks(of: " \n\t "), [])
        XCTAssertEqual(TextSplit.lines.chunks(of: ""), [])
    }

    /// A word longer than the window is cut at the window size (no whitespace to move back to).
    func testNoWhitespaceCutsAtSize() {
        let text = String(repeating: "x", count: 25)
        let c = TextSplit.characters(size: 10, overlap: 2).chunks(of: text)
        XCTAssertEqual(c.map(\.start), [0, 8, 16])
        XCTAssertEqual(c.map(\.end), [10, 18, 25])
    }

    /// Lines: one chunk per non-empty line, offsets exclude the newline (and a CR before it).
    func testLines() {
        let text = "01 dog\r\n\n  \n02 cat é\nlast"
        let c = TextSplit.lines.chunks(of: text)
        XCTAssertEqual(c.map(\.text), ["01 dog", "02 cat é", "last"])
        XCTAssertEqual(c.map(\.start), [0, 12, 21])
        for x in c { XCTAssertEqual(x.text, scalars(text, x.start, x.end)) }
    }
}
