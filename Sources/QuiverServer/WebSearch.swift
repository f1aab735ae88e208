import Foundation
import Quiver
import QuiverStore

/// One `Searcher` per collection base name, each used by one search at a time.
///
/// `Searcher` caches its models in unsynchronized dictionaries and its `search` methods are
/// nonisolated `async` functions (they run off any actor), so an actor alone would not keep two
/// requests out of it: `SearchLane` holds a turn that a search keeps across its suspension points.
actor WebSearchers {
    private let stores: StoreHolder
    private let home: ModelHome
    private var lanes: [String: (store: ObjectIdentifier, lane: SearchLane)] = [:]

    init(stores: StoreHolder, home: ModelHome) { self.stores = stores; self.home = home }

    /// The lane of base name `base` (the `Ingestor`'s collection option), made on first use and
    /// again when the store was closed and reopened since.
    func lane(_ base: String) async throws -> SearchLane {
        let store = try await stores.get()
        if let entry = lanes[base], entry.store == ObjectIdentifier(store) { return entry.lane }
        let lane = SearchLane(searcher: Searcher(store: store, collection: base, home: home))
        lanes[base] = (ObjectIdentifier(store), lane)
        return lane
    }
}

/// Runs the searches of one `Searcher` one after another, in arrival order.
actor SearchLane {
    private let searcher: Searcher
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(searcher: Searcher) { self.searcher = searcher }

    /// Runs `body` with the searcher once no other search of this lane is running.
    func run<T: Sendable>(_ body: @Sendable (Searcher) async throws -> T) async throws -> T {
        if busy { await withCheckedContinuation { waiting.append($0) } }
        // The turn is handed over directly by `release()`, so `busy` stays true in between.
        busy = true
        defer { release() }
        return try await body(searcher)
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}

/// The JSON of search results and store summaries for the web page.
enum WebJSON {
    /// The URL of a row's file on the media route.
    static func mediaURL(id: String, collection: String) -> String {
        "/api/media?collection=\(percentEncoded(collection))&id=\(percentEncoded(id))"
    }

    /// A PDF hit's media URL opens at its page (`#page=N`, which browsers' PDF viewers follow).
    static func documentMediaURL(_ r: SearchResult, _ url: String) -> String {
        if r.fields["format"] == .string("pdf"), let p = r.int("page") { return url + "#page=\(p)" }
        return url
    }

    static func percentEncoded(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// The fields the page shows, in a fixed order; `sha256`, `size` and other fields are left out
    /// except `size`.
    static let shownFields = ["path", "modality", "chunk", "segment", "start", "end", "start_s", "end_s", "frame_index", "size", "text",
                              "page", "section", "format"]

    /// `{"results": [...], "searched": [...], "notes": [...], "took_ms": t}`; each result has
    /// `score`, `id`, `collection`, `name` (file name), `media` (its media route URL) and the
    /// row fields `path`, `modality`, `chunk`, `start`, `end`, `start_s`, `end_s`, `frame_index`,
    /// `size`, `text` that it has.
    static func outcome(_ o: SearchOutcome, seconds: Double) -> String {
        var items: [String] = []
        items.reserveCapacity(o.results.count)
        for r in o.results {
            var s = "{\"score\": \(JSONText.number(r.score)), \"id\": \(JSONText.string(r.id)), "
            s += "\"collection\": \(JSONText.string(r.collection)), "
            s += "\"name\": \(JSONText.string((r.path as NSString).lastPathComponent)), "
            s += "\"media\": \(JSONText.string(documentMediaURL(r, mediaURL(id: r.id, collection: r.collection))))"
            for k in shownFields { if let v = r.fields[k] { s += ", \(JSONText.string(k)): " + MilvusJSON.text(v) } }
            items.append(s + "}")
        }
        return "{\"results\": [" + items.joined(separator: ",\n") + "], "
            + "\"searched\": [" + o.searched.map(JSONText.string).joined(separator: ", ") + "], "
            + "\"notes\": [" + o.notes.map(JSONText.string).joined(separator: ", ") + "], "
            + "\"took_ms\": \(String(format: "%.1f", seconds * 1000))}"
    }
}
