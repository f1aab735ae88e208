// quiver-bench milvus: Quiver's library path into a Milvus server (used by bench/milvus/run.py).
//
//   quiver-bench milvus --db milvus://HOST:PORT [--token USER:PASS] --corpus LINES.txt
//                       --queries QUERIES.json [--collection NAME] [--limit K]
//                       [--consistency strong|session] [--model all-MiniLM-L6-v2]
//
// Drops the collection NAME_text if it exists, then times, after loading the model:
//   ingest: `Ingestor` over LINES.txt with `--split lines` (one row per line: embed in batches of
//           64, insert under the 4 MiB message limit, the collection created, indexed and loaded);
//   search: each query of QUERIES.json ({"queries": [string]}) one at a time through `Searcher`
//           (embed the query, search top K with the stored text as output): per-query latency.
// Prints one JSON line: rows, ingest seconds, rows/s, query latencies (mean, p50, p99 in ms) and
// the top hit of every query (for comparing results with the Python path).
import Foundation
import Quiver
import QuiverMilvus
import QuiverStore

struct MilvusBenchQueries: Decodable { let queries: [String] }

func milvusBench(_ arguments: [String]) async -> Never {
    var db = "", token: String?, corpus = "", queries = "", collection = "bench", limit = 10
    var consistency = MilvusConsistency.strong, model = "all-MiniLM-L6-v2"
    forEachFlag(arguments) { flag, value in
        switch flag {
        case "--db": db = value
        case "--token": token = value
        case "--corpus": corpus = value
        case "--queries": queries = value
        case "--collection": collection = value
        case "--limit": limit = max(1, Int(value) ?? limit)
        case "--model": model = value
        case "--consistency":
            switch value {
            case "strong": consistency = .strong
            case "session": consistency = .session
            default: fail("--consistency must be strong or session, got \(value)")
            }
        default: fail("unknown option \(flag)")
        }
    }
    guard !db.isEmpty, !corpus.isEmpty, !queries.isEmpty else {
        fail("usage: quiver-bench milvus --db milvus://HOST:PORT [--token T] --corpus LINES.txt --queries QUERIES.json")
    }
    do {
        let store = try await MilvusStore(address: db, token: token, consistency: consistency)
        let name = collection + "_text"
        if try await store.hasCollection(name) { try await store.dropCollection(name) }
        let qs = try JSONDecoder().decode(MilvusBenchQueries.self, from: Data(contentsOf: URL(fileURLWithPath: queries))).queries
        let home = ModelHome.fromEnvironment()
        var options = IngestOptions(collection: collection, textModel: model)
        options.split = .lines
        // Model load, outside the timed parts (the Python side loads its model untimed too).
        let searcher = Searcher(store: store, collection: collection, home: home)
        _ = try TextEmbedder(model: model, home: home).embed(["warm-up"])

        let t0 = Date()
        let report = try await Ingestor(store: store, options: options, home: home).ingest([corpus])
        let ingestSeconds = Date().timeIntervalSince(t0)
        guard report.failures.isEmpty else { fail("quiver-bench: ingest failed: \(report.failures)") }

        var latencies: [Double] = []
        var top: [String] = []
        _ = try await searcher.search(text: qs[0], limit: limit)  // warm-up (query embedder, load)
        for q in qs {
            let s = Date()
            let out = try await searcher.search(text: q, limit: limit)
            latencies.append(Date().timeIntervalSince(s) * 1000)
            top.append(out.results.first?.text ?? "")
        }
        try await store.close()
        let sorted = latencies.sorted()
        func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)] }
        let mean = latencies.reduce(0, +) / Double(max(1, latencies.count))
        let topJSON = String(decoding: try JSONEncoder().encode(top), as: UTF8.self)
        print("{\"rows\": \(report.pieces), \"ingest_seconds\": \(String(format: "%.3f", ingestSeconds)), " +
              "\"rows_per_second\": \(String(format: "%.1f", Double(report.pieces) / ingestSeconds)), " +
              "\"queries\": \(qs.count), \"query_ms_mean\": \(String(format: "%.2f", mean)), " +
              "\"query_ms_p50\": \(String(format: "%.2f", pct(0.5))), \"query_ms_p99\": \(String(format: "%.2f", pct(0.99))), " +
              "\"top\": \(topJSON)}")
        exit(0)
    } catch {
        fail("quiver-bench milvus: \(error)")
    }
}
