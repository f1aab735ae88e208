import XCTest
import QuiverDocuments
import QuiverTestSupport

/// Extraction of documents made by LibreOffice and pandoc (scripts/fixtures/make_documents.sh)
/// from Tests/Fixtures/documents/source.md, checked against that source.
final class DocumentExtractionTests: XCTestCase {
    static let folder = TestPaths.fixtures.appendingPathComponent("documents")

    func url(_ name: String) -> URL { Self.folder.appendingPathComponent(name) }

    func extract(_ name: String, limits: DocumentLimits = DocumentLimits()) throws -> ExtractedDocument {
        guard let doc = try DocumentExtractor(limits: limits).extract(fileAt: url(name)) else {
            XCTFail("\(name) not detected as a document"); throw DocumentError.cannotOpen(path: name, reason: "not detected")
        }
        return doc
    }

    /// The source's paragraphs (not headings, not front matter), whitespace collapsed.
    func sourceParagraphs() throws -> [String] {
        let md = try String(contentsOf: url("source.md"), encoding: .utf8)
        return md.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") && !$0.hasPrefix("---") }
    }

    static let headings = ["Getting started", "Resetting the router", "Wireless network", "Guest network", "Troubleshooting"]

    func collapsed(_ s: String) -> String { s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ") }

    /// Every source paragraph appears in the extracted text (whitespace-insensitive), and every
    /// heading is a section.
    func checkAgainstSource(_ doc: ExtractedDocument, sections: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = collapsed(doc.text)
        for p in try sourceParagraphs() {
            XCTAssertTrue(text.contains(collapsed(p)), "\(doc.format): missing paragraph \(p.prefix(40))…", file: file, line: line)
        }
        if sections {
            // pandoc's title block becomes a title heading in some formats.
            let found = Set(doc.blocks.filter(\.isHeading).map(\.text)).subtracting(["Harbor Router H200 Manual"])
            XCTAssertEqual(found, Set(Self.headings), "\(doc.format) headings", file: file, line: line)
            // The paragraph on resetting lies in that section.
            let reset = try XCTUnwrap(doc.blocks.first { $0.text.contains("recessed reset button") }, file: file, line: line)
            XCTAssertEqual(reset.section, "Resetting the router", file: file, line: line)
        }
    }

    func testDetection() throws {
        let expected: [String: DocumentFormat] = ["manual.pdf": .pdf, "manual.docx": .docx, "manual.odt": .odt, "manual.epub": .epub,
                                                  "manual.html": .html, "source.md": .markdown]
        for (name, format) in expected {
            let data = try Data(contentsOf: url(name))
            // Extension-free for the binary formats: detected by content.
            let ext = format == .markdown ? "md" : ""
            XCTAssertEqual(DocumentFormat.detect(data: data, pathExtension: ext, isText: format == .html || format == .markdown), format, name)
        }
        XCTAssertNil(DocumentFormat.detect(data: Data("just some text".utf8), pathExtension: "txt", isText: true))
    }

    func testPDFPagesAndText() throws {
        let doc = try extract("manual.pdf")
        // pandoc's title block is page 1; each chapter starts a page; page 6 is empty.
        XCTAssertEqual(doc.pageCount, 6)
        try checkAgainstSource(doc, sections: false)
        // One chapter per page (page breaks before each level-1 heading), the last page empty and reported.
        func page(of phrase: String) -> Int? { doc.blocks.first { $0.text.contains(phrase) }?.page }
        XCTAssertEqual(page(of: "connects your home"), 2)
        XCTAssertEqual(page(of: "recessed reset button"), 3)
        XCTAssertEqual(page(of: "Guest network"), 4)
        XCTAssertEqual(page(of: "status light stays red"), 5)
        XCTAssertEqual(doc.warnings.count, 1)
        XCTAssertTrue(doc.warnings.first?.contains("page 6 of 6") == true, doc.warnings.first ?? "no warning")
    }

    func testOfficeAndWebFormats() throws {
        for name in ["manual.docx", "manual.odt", "manual.html", "manual.epub", "source.md"] {
            try checkAgainstSource(try extract(name))
        }
        XCTAssertEqual(try extract("manual.html").title, "Harbor Router H200 Manual")
        // LibreOffice records its page breaks in the ODT.
        let odt = try extract("manual.odt")
        XCTAssertEqual(odt.blocks.first { $0.text.contains("recessed reset button") }?.page, 3)
    }

    func testHTMLDropsScriptsAndStyles() throws {
        let html = """
        <!DOCTYPE html><html><head><title>T</title><style>p { color: red }</style></head>
        <body><nav>Home | About</nav><script>var secret = 1;</script><h2>Part one</h2><p>Visible   text.</p></body></html>
        """
        let doc = try DocumentExtractor().extract(path: "/x.html", data: Data(html.utf8), format: .html)
        XCTAssertEqual(doc.blocks.map(\.text), ["Part one", "Visible text."])
        XCTAssertEqual(doc.blocks.last?.section, "Part one")
        XCTAssertEqual(doc.title, "T")
    }

    func testDamagedAndHostileFiles() throws {
        func error(_ name: String, limits: DocumentLimits = DocumentLimits()) -> DocumentError? {
            do { _ = try extract(name, limits: limits); return nil } catch let e as DocumentError { return e } catch { XCTFail("\(error)"); return nil }
        }
        let truncated = error("truncated.pdf")
        // Poppler repairs what it can; a truncated file either fails naming the file or loses pages.
        if let truncated {
            XCTAssertTrue("\(truncated)".contains("truncated.pdf"), "\(truncated)")
        } else {
            let doc = try extract("truncated.pdf")
            XCTAssertLessThan(doc.blocks.count, 5)
        }
        guard case .encrypted(let p, _)? = error("encrypted.pdf") else { return XCTFail("encrypted PDF not reported") }
        XCTAssertTrue(p.hasSuffix("encrypted.pdf"))

        var small = DocumentLimits()
        small.maxEntryBytes = 1 << 20
        guard case .limitExceeded(let bp, _, let what, _)? = error("bomb.docx", limits: small) else { return XCTFail("zip bomb not stopped") }
        XCTAssertTrue(bp.hasSuffix("bomb.docx") && what.contains("word/document.xml"), what)

        let nested = error("nested.docx")
        XCTAssertNotNil(nested, "deep XML accepted")
        XCTAssertTrue("\(nested.map { "\($0)" } ?? "")".contains("nested.docx"))
        let deepHTML = error("nested.html")
        XCTAssertNotNil(deepHTML, "deep HTML accepted")
        XCTAssertTrue("\(deepHTML.map { "\($0)" } ?? "")".contains("nested.html"))

        // Bytes that are not an archive at all, named .docx, are not a document.
        XCTAssertNil(DocumentFormat.detect(data: Data("PK\u{3}\u{4}garbage".utf8), pathExtension: "docx", isText: false))
    }
}
