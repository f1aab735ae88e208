import XCTest
@testable import Quiver
import QuiverStore
import QuiverTokenizers
import QuiverTestSupport

/// A folder of mixed documents ingested end to end with all-MiniLM-L6-v2 (256 tokens): no file
/// that a supported format can read is skipped, every chunk fits the model, pages and sections are
/// kept, damaged files are reported by name, and a re-run changes nothing.
final class DocumentIngestTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-docingest-\(UUID().uuidString)")
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        let fixtures = TestPaths.fixtures.appendingPathComponent("documents")
        for name in ["manual.pdf", "manual.docx", "manual.odt", "manual.epub", "manual.html", "source.md",
                     "encrypted.pdf", "nested.docx", "nested.html"] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: docs.appendingPathComponent(name))
        }
        // A long plain-text file: one paragraph far over 256 tokens must be split, not truncated.
        let long = (0..<120).map { "Sentence number \($0) describes the harbor lighthouse keeper's daily routine in detail." }.joined(separator: " ")
        try long.write(to: docs.appendingPathComponent("long.txt"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func testMixedFolderIngestsEveryReadableDocumentWithinTheModelLimit() async throws {
        let home = ModelHome(root: TestPaths.modelHome)
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        let docs = dir.appendingPathComponent("docs")
        let report = try await Ingestor(store: store, home: home).ingest([docs.path])

        // Seven readable files (five formats of the manual, its Markdown source, the long text);
        // the encrypted PDF and the two deeply nested files fail, each naming its file.
        XCTAssertEqual(report.added, 7, "\(report)")
        XCTAssertEqual(Set(report.failures.map { URL(fileURLWithPath: $0.path).lastPathComponent }),
                       ["encrypted.pdf", "nested.docx", "nested.html"], "\(report.failures)")
        for f in report.failures { XCTAssertFalse(f.reason.isEmpty) }
        // No readable file is skipped; the manual's blank last page is reported, not silently empty.
        XCTAssertEqual(report.skipped.map { URL(fileURLWithPath: $0.path).lastPathComponent + ": " + $0.reason },
                       ["manual.pdf: page 6 of 6 has no text layer (scanned images or blank; Quiver does no OCR)"])

        let c = try await store.collection("quiver_text")
        let rows = try await c.query(outputFields: ["*"])
        let tokenizer = try Tokenizer(contentsOf: try TestPaths.model("all-MiniLM-L6-v2").appendingPathComponent("tokenizer.json"))
        var formats: [String: Int] = [:]
        for r in rows {
            guard case .string(let text)? = r.fields["text"], case .string(let path)? = r.fields["path"] else { return XCTFail("row without text/path") }
            // Every chunk fits: at most 256 tokens with [CLS] and [SEP], counted by re-tokenizing.
            XCTAssertLessThanOrEqual(tokenizer.encode(text).count, 256, path)
            let name = URL(fileURLWithPath: path).lastPathComponent
            if case .string(let f)? = r.fields["format"] { formats[f, default: 0] += 1 } else { XCTAssertEqual(name, "long.txt") }
            if name == "manual.pdf" {
                guard case .int(let page)? = r.fields["page"] else { return XCTFail("PDF chunk without page") }
                XCTAssertTrue((1...6).contains(page), "page \(page)")
            }
        }
        XCTAssertEqual(Set(formats.keys), ["pdf", "docx", "odt", "epub", "html", "markdown"])
        // The long paragraph was split into several chunks that together hold every sentence.
        let longRows = rows.filter { if case .string(let p)? = $0.fields["path"] { return p.hasSuffix("long.txt") } else { return false } }
        XCTAssertGreaterThan(longRows.count, 4)
        let joined = longRows.compactMap { r -> String? in if case .string(let t)? = r.fields["text"] { return t } else { return nil } }.joined(separator: " ")
        for i in [0, 57, 119] { XCTAssertTrue(joined.contains("Sentence number \(i) describes"), "sentence \(i) lost") }

        // A question is answered by the right page of the PDF, shown with its page and section.
        let searcher = Searcher(store: store, home: home)
        let hit = try await searcher.search(text: "How do I reset the router to its factory settings?", limit: 1,
                                            filter: "format == \"pdf\"").results[0]
        XCTAssertTrue(hit.path.hasSuffix("manual.pdf"))
        XCTAssertEqual(hit.int("page"), 3, "the reset chapter is page 3 (page 1 is the title)")
        XCTAssertTrue(hit.text?.contains("paperclip") ?? false, hit.text ?? "nil")

        // Running it again changes nothing and reports the same failures.
        let again = try await Ingestor(store: store, home: home).ingest([docs.path])
        XCTAssertEqual(again.added, 0)
        XCTAssertEqual(again.replaced, 0)
        XCTAssertEqual(again.unchanged, 7)
        XCTAssertEqual(again.failures.count, 3)
        let after = try await c.count()
        XCTAssertEqual(after, rows.count)
    }
}
