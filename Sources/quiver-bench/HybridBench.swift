// quiver-bench hybrid: hybrid (dense + BM25, RRF k = 60) query latency of the library on the embedded
// store (used by bench/relevance/hybrid.py).
//
//   quiver-bench hybrid --corpus LINES.txt --queries QUERIES.json --store DIR
//                       [--model all-MiniLM-L6-v2] [--limit K] [--depth D] [--repeat R]
//
// When DIR holds no collection `bench_text` yet, ingests LINES.txt into it first with `Ingestor`
// (`--split lines`: one row per line, embedded with the model, BM25 index on `text`; timed and
// reported as setup, not part of the latency). Then, after loading the model and one warm-up
// query, times each query of QUERIES.json ({"queries": [string]}) one at a time through
// `Searcher.search(text:limit:mode:depth:)` in mode hybrid (embed the query, exact dense search
// and BM25 search D deep each, reciprocal rank fusion), and for comparison in mode dense, in mode
// bm25, and the query embedding alone (`TextEmbedder.embed`). Best of R passes per mode.
// Prints one JSON line: rows, ingest seconds (0 when reused), per mode the latencies (mean, p50,
// p99 in ms), and the top hit's text of every hybrid query.
import Foundation
import Quiver
import QuiverStore

struct HybridBenchQueries: Decodable { let queries: [String] }

func hybridBench(_ arguments: [String]) async -> Never {
    var corpus = "", queries = "", dir = "", model = "all-MiniLM-L6-v2", limit = 10, depth = 50, repeats = 1
    forEachFlag(arguments) { flag, value in
        switch flag {
        case "--corpus": corpus = value
        case "--queries": queries = value
        case "--store": dir = value
        case "--model": model = value
        case "--limit": limit = max(1, Int(value) ?? limit)
        case "--depth": depth = max(1, Int(value) ?? depth)
        case "--repeat": repeats = max(1, Int(value) ?? repeats)
        default: fail("unknown option \(flag)")
        }
    }
    guard !corpus.isEmpty, !queries.isEmpty, !dir.isEmpty else {
        fail("usage: quiver-bench hybrid --corpus LINES.txt --queries QUERIES.json --store DIR [--model M] [--limit K] [--depth D] [--repeat R]")
    }
    do {
        let qs = try JSONDecoder().decode(HybridBenchQueries.self, from: Data(contentsOf: URL(fileURLWithPath: queries))).queries
        let store = try VectorStore(path: dir)
        let home = ModelHome.fromEnvironment()
        var ingestSeconds = 0.0
        if !store.hasCollection("bench_text") {
            var options = IngestOptions(collection: "bench", textModel: model)
            options.split = .lines
            let t0 = Date()
            let report = try await Ingestor(store: store, options: options, home: home).ingest([corpus])
            ingestSeconds = Date().timeIntervalSince(t0)
            guard report.failures.isEmpty else { fail("quiver-bench hybrid: ingest failed: \(report.failures)") }
        }
        let rows = try await store.collection("bench_text").count()
        let searcher = Searcher(store: store, collection: "bench", home: home)
        let embedder = try TextEmbedder(model: model, home: home)
        _ = try embedder.embed([qs[0]])

        func latencies(_ body: (String) async throws -> Void) async throws -> [Double] {
            try await body(qs[0])  // warm-up
            var best: [Double] = []
            for _ in 0..<repeats {
                var pass: [Double] = []
                for q in qs {
                    let s = DispatchTime.now().uptimeNanoseconds
                    try await body(q)
                    pass.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6)
                }
                if best.isEmpty || pass.reduce(0, +) < best.reduce(0, +) { best = pass }
            }
            return best
        }
        let hybrid = try await latencies { q in _ = try await searcher.search(text: q, limit: limit, mode: .hybrid, depth: depth) }
        var top: [String] = []
        for q in qs { top.append(try await searcher.search(text: q, limit: limit, mode: .hybrid, depth: depth).results.first?.text ?? "") }
        let dense = try await latencies { q in _ = try await searcher.search(text: q, limit: limit, mode: .dense) }
        let bm25 = try await latencies { q in _ = try await searcher.search(text: q, limit: limit, mode: .bm25) }
        let embed = try await latencies { q in _ = try embedder.embed([q]) }
        try await store.close()

        func summary(_ l: [Double]) -> String {
            let s = l.sorted()
            func pct(_ p: Double) -> Double { s[min(s.count - 1, max(0, Int((p * Double(s.count)).rounded(.up)) - 1))] }
            return "{\"mean\": \(String(format: "%.3f", l.reduce(0, +) / Double(max(1, l.count)))), " +
                "\"p50\": \(String(format: "%.3f", pct(0.5))), \"p99\": \(String(format: "%.3f", pct(0.99)))}"
        }
        let topJSON = String(decoding: try JSONEncoder().encode(top), as: UTF8.self)
        print("{\"rows\": \(rows), \"ingest_seconds\": \(String(format: "%.2f", ingestSeconds)), \"queries\": \(qs.count), " +
              "\"limit\": \(limit), \"depth\": \(depth), \"hybrid_ms\": \(summary(hybrid)), \"dense_ms\": \(summary(dense)), " +
              "\"bm25_ms\": \(summary(bm25)), \"embed_ms\": \(summary(embed)), \"top\": \(topJSON)}")
        exit(0)
    } catch {
        fail("quiver-bench hybrid: \(error)")
    }
}
