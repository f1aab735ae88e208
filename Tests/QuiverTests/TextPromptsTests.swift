import Foundation
import XCTest
import QuiverTestSupport
@testable import Quiver

/// Prompts (instructions) against sentence-transformers: `encode(texts, prompt_name=...)` on the
/// all-MiniLM-L6-v2 folder with the committed config_sentence_transformers.json
/// (Tests/Fixtures/reference/prompts, made by scripts/fixtures/make_prompt_fixture.py).
final class TextPromptsTests: XCTestCase {
    struct Reference: Decodable {
        var texts: [String]
        var literal_prompt: String
        var embeddings: [String: [[Float]]]
        var token_ids: [String: [[Int]]]
    }

    /// A temporary copy of the installed MiniLM folder with the fixture's prompts config.
    func promptedFolder() throws -> URL {
        let src = try TestPaths.model("all-MiniLM-L6-v2")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-prompts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for name in try FileManager.default.contentsOfDirectory(atPath: src.path) {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name), withDestinationURL: src.appendingPathComponent(name))
        }
        let config = dir.appendingPathComponent("config_sentence_transformers.json")
        try? FileManager.default.removeItem(at: config)
        try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("prompts/config_sentence_transformers.json"), to: config)
        return dir
    }

    func testPromptsMatchSentenceTransformers() throws {
        let ref: Reference = try TestPaths.referenceJSON("prompts/all-MiniLM-L6-v2-prompts.json")
        let embedder = try TextEmbedder(folder: try promptedFolder(), name: "minilm-prompts")
        XCTAssertEqual(embedder.prompts.defaultPromptName, "classify")
        XCTAssertEqual(embedder.prompts.prompts["query"], "query: ")
        // Tolerance: every component within 1e-5 of sentence-transformers (unit vectors, fp32).
        let tolerance: Float = 1e-5
        func check(_ got: TextEmbedder.Result, _ key: String) {
            let want = ref.embeddings[key]!
            XCTAssertEqual(got.vectors.count, want.count)
            for (i, (a, b)) in zip(got.vectors, want).enumerated() {
                let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThanOrEqual(worst, tolerance, "\(key) text \(i): max |Δ| \(worst)")
            }
            if let ids = ref.token_ids[key] { XCTAssertEqual(got.tokenCounts, ids.map(\.count), "\(key): token counts") }
        }
        check(try embedder.embed(ref.texts, promptName: "query"), "query")
        check(try embedder.embed(ref.texts, promptName: "passage"), "passage")
        check(try embedder.embed(ref.texts, promptName: "classify"), "classify")
        check(try embedder.embed(ref.texts), "default")                   // default_prompt_name
        check(try embedder.embed(ref.texts, prompt: ref.literal_prompt), "literal")
        // Input types pick the prompts sentence-transformers' encode_query / encode_document use.
        check(try embedder.embed(ref.texts, inputType: .query), "query")
        check(try embedder.embed(ref.texts, inputType: .passage), "passage")
        // Token ids of a prompted text are the tokenizer's ids of prompt + text.
        XCTAssertEqual(embedder.tokenize(try embedder.prompted([ref.texts[0]], inputType: .query)[0]), ref.token_ids["query"]![0])
    }

    func testUnknownPromptNamesTheAvailableOnes() throws {
        let embedder = try TextEmbedder(folder: try promptedFolder(), name: "minilm-prompts")
        XCTAssertThrowsError(try embedder.embed(["x"], promptName: "search")) { error in
            XCTAssertEqual(error as? QuiverError, .unknownPrompt(model: "minilm-prompts", name: "search", available: ["classify", "passage", "query"]))
            XCTAssertTrue("\(error)".contains("classify, passage, query"), "\(error)")
        }
    }

    func testCatalogPrefixesCompleteTheFolderPrompts() {
        let e5 = TextPrompts().completed(with: ModelDefaults(queryPrefix: "query: ", documentPrefix: "passage: "))
        XCTAssertEqual(e5.promptName(for: .query), "query")
        XCTAssertEqual(e5.promptName(for: .passage), "passage")
        XCTAssertEqual(try e5.resolve(promptName: nil, inputType: .passage, model: "e5"), "passage: ")
        XCTAssertNil(try e5.resolve(promptName: nil, inputType: nil, model: "e5"))
        // bge: a query instruction only; passages are embedded as they are.
        let bge = TextPrompts().completed(with: ModelDefaults(queryPrefix: "Represent this sentence for searching relevant passages: "))
        XCTAssertNil(try bge.resolve(promptName: nil, inputType: .passage, model: "bge"))
        // A folder's own prompts win over the catalog's.
        let own = TextPrompts(prompts: ["query": "Q: ", "document": "D: "]).completed(with: ModelDefaults(queryPrefix: "query: ", documentPrefix: "passage: "))
        XCTAssertEqual(own.prompts, ["query": "Q: ", "document": "D: "])
        XCTAssertEqual(own.promptName(for: .passage), "document")
        XCTAssertEqual(TextInputType(apiName: "search_document"), .passage)
        XCTAssertEqual(TextInputType(apiName: "Query"), .query)
        XCTAssertNil(TextInputType(apiName: "summary"))
    }

    func testCatalogEntriesOfRetrievalModelsCarryPrompts() throws {
        let e5 = try XCTUnwrap(ModelCatalog.standard.entry(named: "e5-small-v2"))
        XCTAssertEqual(TextPrompts().completed(with: e5.defaults).prompts, ["query": "query: ", "passage": "passage: "])
    }
}
