import XCTest
import Quiver
import QuiverDocuments
import QuiverTokenizers
import QuiverTestSupport

/// Token chunking of the fixture documents with all-MiniLM-L6-v2's own tokenizer (256 tokens).
final class DocumentChunkingTests: XCTestCase {
    func chunker(maxTokens: Int) throws -> TokenChunker {
        let folder = try TestPaths.model("all-MiniLM-L6-v2")
        let tok = try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        return TokenChunker(tokenizer: tok, maxTokens: maxTokens, overlap: 8)
    }

    func testEveryChunkFitsAndKeepsPageAndSection() throws {
        // A small limit so that pages are split into several chunks.
        let c = try chunker(maxTokens: 40)
        let url = TestPaths.fixtures.appendingPathComponent("documents/manual.pdf")
        let doc = try XCTUnwrap(try DocumentExtractor().extract(fileAt: url))
        let (text, segments) = doc.layout()
        let chunks = c.chunks(of: text, segments: segments.map { ($0.start, $0.end, $0.page, $0.section) })
        XCTAssertGreaterThan(chunks.count, 8)
        let scalars = Array(text.unicodeScalars)
        for ch in chunks {
            // Within the limit with [CLS] and [SEP], counted by re-tokenizing the chunk on its own.
            XCTAssertLessThanOrEqual(c.tokenizer.encode(ch.text).count, 40, ch.text)
            XCTAssertEqual(ch.tokens, c.tokenizer.encode(ch.text).count)
            // The offsets point at the chunk's text.
            var v = String.UnicodeScalarView(); v.append(contentsOf: scalars[ch.start..<ch.end])
            XCTAssertEqual(String(v), ch.text)
            XCTAssertNotNil(ch.page)
        }
        XCTAssertEqual(chunks.first { $0.text.contains("paperclip") }?.page, 3)   // page 1 is the title
        // Nothing is lost: every word of the text is in some chunk.
        let covered = Set(chunks.flatMap { $0.text.split(whereSeparator: { $0.isWhitespace }) })
        for w in text.split(whereSeparator: { $0.isWhitespace }) { XCTAssertTrue(covered.contains(w), String(w)) }
    }

    func testLongTextIsSplitNotTruncatedAndCutsAtSentences() throws {
        let c = try chunker(maxTokens: 256)
        let sentence = "The quick brown fox jumps over the lazy dog near the riverbank today. "
        let text = String(repeating: sentence, count: 200)
        let chunks = c.chunks(of: text)
        XCTAssertGreaterThan(chunks.count, 10)
        for ch in chunks.dropLast() {
            XCTAssertLessThanOrEqual(c.tokenizer.encode(ch.text).count, 256)
            XCTAssertTrue(ch.text.hasSuffix("today."), "cut inside a sentence: …\(ch.text.suffix(20))")
        }
        // Consecutive chunks overlap.
        for (a, b) in zip(chunks, chunks.dropFirst()) { XCTAssertLessThan(b.start, a.end) }
        XCTAssertEqual(chunks.last?.end, text.unicodeScalars.count - 1)   // the trailing space is not a token
    }
}
