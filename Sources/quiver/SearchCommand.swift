import ArgumentParser
import Foundation
import Quiver
import QuiverStore

/// `quiver search`: a text, file or vector query over the collections `quiver ingest` made; or,
/// with `--vectors`, the raw nearest neighbours of each row of an .npy file in one collection.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search a store with a text, a file or a vector (or raw .npy query vectors with --vectors).",
        discussion: """
        QUERY is a text, or the path of a file (a text file is read as the query). The query is \
        embedded with each collection's own model and every compatible collection NAME_text, \
        NAME_image, ... is searched. A text searches NAME_text and, when the images were ingested \
        with a CLIP model, the images and video frames of NAME_image (CLIP's text tower); an image \
        or video searches images and video frames; an audio file searches audio files and the \
        sound tracks of videos, each hit with its time range.

        Text → image search needs the images in a CLIP space. Images ingested with a model that \
        has no text encoder (efficientnet-lite0, resnet-50) are left out of text queries (a note \
        says so). To search them by text: `quiver models pull clip-vit-base-patch32`, then \
        `quiver ingest --collection NAME --image-model clip-vit-base-patch32 PATHS` and \
        `quiver search --collection NAME "a cat on a sofa"` (a collection keeps the space it was \
        made in, so the CLIP vectors go to another collection).

        Scores are cosine similarities within each collection's embedding space; spaces are not \
        comparable in absolute terms, so the hits of several collections are interleaved by rank \
        (every collection's best hit first, then the second best, ...; equal ranks by score).
        The table shows audio and video time ranges as m:ss–m:ss; --format json gives every row \
        field, with start_s/end_s in seconds, and the hit's collection and rank.

        --rerank MODEL rescores the best --rerank-depth text hits (default 50) of a text query \
        with a cross-encoder (as sentence-transformers' CrossEncoder.predict: the sigmoid of its \
        logit for the query and the chunk's text) and shows the best --limit by that score.

        Text queries on NAME_text: --mode dense (embeddings), bm25 (the collection's BM25 \
        full-text index: exact words after stemming) or hybrid (both, fused; the default when the \
        collection has a BM25 index, which `quiver ingest` makes). --fusion rrf (reciprocal rank \
        fusion, k = 60, the default) or weighted (--weights DENSE,BM25 on min-max normalized \
        scores, default 0.5,0.5). Hybrid scores are the fused scores; bm25 scores are BM25's.
        The query is embedded with the model's query prompt when it has one (e5, bge).

        --vector gives the query vector itself (a JSON array, or an .npy file of one row).
        --vectors FILE.npy searches the collection named exactly --collection with each row and \
        prints one JSON line per query (raw vectors, as `quiver import` stored them).

        Examples:
          quiver search "a small rodent"
          quiver search --modality image "a cat on a sofa"
          quiver search --mode bm25 "rodent"
          quiver search --mode hybrid --fusion weighted --weights 0.7,0.3 "a small rodent"
          quiver search --modality video recording.wav
          quiver search --modality text --filter 'path like "%wordnet%"' --format json "a small rodent"
          quiver search --db vectors.db --collection docs --vectors queries.npy --limit 5
        """)

    enum Format: String, ExpressibleByArgument { case table, json, jsonl }

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Base name of the ingest collections (exact collection name with --vectors).") var collection: String = "quiver"
    @Argument(help: "The query: a text, or a file.") var query: String?
    @Option(help: "A query vector: a JSON array, or an .npy file holding one row.") var vector: String?
    @Option(help: "An .npy file of shape (queries, dimension): raw search of --collection.") var vectors: String?
    @Option(help: "With a video QUERY: use the frame (and the Perceiver clip) at this second instead of the whole video.") var at: Double?
    @Option(help: "Hits to show.") var limit: Int = 10
    @Option(help: "A filter expression on the row fields, e.g. 'path like \"%notes%\"'.") var filter: String?
    @Option(help: "Only search rows of these modalities (text, image, audio, video); repeatable.") var modality: [String] = []
    @Option(name: .customLong("param"), help: "Search parameter NAME=NUMBER (ef=64, nprobe=16) for --vectors; repeatable.") var params: [String] = []
    @Option(help: "The model id the --vectors queries come from (checked against the collection).") var model: String?
    @Option(help: "Output: table (default), json (one array), jsonl (--vectors).") var format: Format?
    @Option(help: "Text query mode: dense, bm25 or hybrid (default: hybrid when NAME_text has a BM25 index, else dense).") var mode: SearchModeArgument?
    @Option(help: "How hybrid fuses the lists: rrf (k = 60) or weighted.") var fusion: FusionArgument = .rrf
    @Option(help: "With --fusion weighted: DENSE,BM25 weights of the normalized scores.") var weights: String = "0.5,0.5"
    @Option(help: "Rerank the text hits with this cross-encoder (a text-pair model such as ms-marco-MiniLM-L6-v2 or bge-reranker-base: catalog name, hub id or folder).") var rerank: String?
    @Option(help: "With --rerank: hits fetched and rescored before the best --limit are shown.") var rerankDepth: Int = 50

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        let given = [query != nil, vector != nil, vectors != nil].filter { $0 }.count
        if given != 1 { throw ValidationError("give exactly one of QUERY, --vector or --vectors") }
        if mode != nil || fusion != .rrf, vector != nil || vectors != nil {
            throw ValidationError("--mode and --fusion apply to text queries (not --vector/--vectors)")
        }
        _ = try fusionChoice()
        if rerank != nil {
            guard rerankDepth >= 1 else { throw ValidationError("--rerank-depth must be at least 1") }
            if vector != nil || vectors != nil { throw ValidationError("--rerank needs a text QUERY") }
            if let q = query, FileManager.default.fileExists(atPath: q) { throw ValidationError("--rerank needs a text QUERY, not a file (\(q))") }
        }
        for m in modality where ContentModality(rawValue: m) == nil {
            throw ValidationError("--modality \(m): expected text, image, audio or video")
        }
    }

    func run() async throws {
        if let vectors { return try await rawSearch(npy: vectors) }
        let store = try await database.open()
        let searcher = Searcher(store: store, collection: collection)
        let mods = modality.isEmpty ? nil : Set(modality.compactMap(ContentModality.init(rawValue:)))
        var outcome: SearchOutcome
        let searchLimit = rerank != nil ? max(rerankDepth, limit) : limit
        if let vector {
            outcome = try await searcher.search(vector: try Self.parseVector(vector), limit: limit, filter: filter, modalities: mods)
        } else if let query, FileManager.default.fileExists(atPath: query) {
            outcome = try await searcher.search(file: URL(fileURLWithPath: query), limit: limit, filter: filter, modalities: mods, videoTime: at)
        } else {
            outcome = try await searcher.search(text: query ?? "", limit: searchLimit, filter: filter, modalities: mods,
                                                mode: mode?.mode, fusion: try fusionChoice())
        }
        try await store.close()
        if let rerank { outcome.results = try Self.reranked(outcome.results, query: query ?? "", model: rerank, limit: limit) }
        // With hits to show, a collection left out gets one line; the full advice is in the help.
        if !outcome.results.isEmpty && !outcome.skipped.isEmpty {
            for (name, why) in outcome.skipped.sorted(by: { $0.key < $1.key }) {
                let hint = name.hasSuffix("_image") ? "; text → image needs a CLIP model, see `quiver search --help`" : ""
                FileHandle.standardError.write(Data("note: \(name) not searched (\(why)\(hint))\n".utf8))
            }
        } else {
            for n in outcome.notes { FileHandle.standardError.write(Data("note: \(n)\n".utf8)) }
        }
        switch format ?? .table {
        case .json, .jsonl: print(SearchRendering.json(outcome.results))
        case .table: print(SearchRendering.table(outcome.results), terminator: "")
        }
    }

    private func rawSearch(npy: String) async throws {
        guard (format ?? .jsonl) == .jsonl else { throw ValidationError("--vectors prints jsonl") }
        let p = try RawVectorTools.parseParams(params)
        let results = try await database.with {
            try await RawVectorTools.search(in: $0, collection: collection, queriesPath: npy, limit: limit,
                                            params: p, filter: filter, model: model)
        }
        var out = ""
        for (i, hits) in results.enumerated() {
            out += RawVectorTools.jsonLine(query: i, hits: hits) + "\n"
            if out.utf8.count > 1 << 16 { FileHandle.standardOutput.write(Data(out.utf8)); out = "" }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    /// The hits with text rescored by the cross-encoder `model`, best first, then the others; the first `limit`.
    static func reranked(_ results: [SearchResult], query: String, model: String, limit: Int) throws -> [SearchResult] {
        let ce = try CrossEncoder(model: model)
        let withText = results.filter { $0.text != nil }
        let ranked = try ce.rerank(query: query, documents: withText.map { $0.text! })
        var out = ranked.map { r -> SearchResult in var h = withText[r.index]; h.score = r.score; return h }
        out += results.filter { $0.text == nil }
        return out.prefix(limit).enumerated().map { i, h in var h = h; h.rank = i + 1; return h }
    }

    /// The fusion of --fusion and --weights.
    func fusionChoice() throws -> Fusion {
        guard fusion == .weighted else { return .rrf }
        let parts = weights.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let d = parts[0], let b = parts[1], d >= 0, b >= 0, d + b > 0 else {
            throw ValidationError("--weights: expected two non-negative numbers DENSE,BM25 (e.g. 0.7,0.3), got '\(weights)'")
        }
        return .weighted([d, b])
    }

    /// A JSON array of numbers, or an .npy file of one row (or a 1-d array).
    static func parseVector(_ s: String) throws -> [Float] {
        let t = s.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("[") {
            guard let a = try? JSONDecoder().decode([Float].self, from: Data(t.utf8)), !a.isEmpty else {
                throw ValidationError("--vector: expected a JSON array of numbers")
            }
            return a
        }
        let m = try NPY.read(path: t)
        guard m.rows == 1 else { throw ValidationError("--vector \(t): expected one row, found \(m.rows)") }
        return m.values
    }
}


/// `--mode` values.
enum SearchModeArgument: String, ExpressibleByArgument, CaseIterable {
    case dense, bm25, hybrid
    var mode: SearchMode { SearchMode(rawValue: rawValue)! }
}

/// `--fusion` values.
enum FusionArgument: String, ExpressibleByArgument, CaseIterable { case rrf, weighted }
