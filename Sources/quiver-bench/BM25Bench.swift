// quiver-bench bm25: BM25 index build and query speed of the embedded store (used by bench/relevance/bm25.py).
//
//   quiver-bench bm25 --corpus LINES.txt --queries QUERIES.json [--limit K] [--repeat R] [--no-stem]
//
// Stores one row per line of LINES.txt (id = line number, the line as `text`, a 2-d zero vector
// the schema needs) in a fresh collection of a temporary store (untimed), then times, on one thread:
//   index: `Collection.createFullTextIndex` on `text` (the default analyzer: Unicode words,
//          lowercase, Lucene's English stop words, Snowball English stemming (--no-stem: none);
//          k1 1.2, b 0.75): analysis of every row and the postings;
//   query: `Collection.fullTextSearch(q, limit: K, outputFields: [])` for each query of
//          QUERIES.json ({"queries": [string]}) one after the other; one warm-up pass, then the
//          best of R passes.
// Prints one JSON line: documents, index seconds (wall and CPU), queries/s (wall and per CPU
// second), per-query latency p50/p99 of the best pass, and the top-K row ids and scores of every query.
import Foundation
import QuiverStore

struct BM25BenchQueries: Decodable { let queries: [String] }

/// Process CPU time in seconds.
func benchCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func bm25Bench(_ arguments: [String]) async -> Never {
    var args = arguments
    var corpus = "", queries = "", limit = 10, repeats = 3, stem = true
    while !args.isEmpty {
        let flag = args.removeFirst()
        if flag == "--no-stem" { stem = false; continue }
        guard let value = args.first else { fail("missing value after \(flag)") }
        args.removeFirst()
        switch flag {
        case "--corpus": corpus = value
        case "--queries": queries = value
        case "--limit": limit = max(1, Int(value) ?? limit)
        case "--repeat": repeats = max(1, Int(value) ?? repeats)
        default: fail("unknown option \(flag)")
        }
    }
    guard !corpus.isEmpty, !queries.isEmpty else {
        fail("usage: quiver-bench bm25 --corpus LINES.txt --queries QUERIES.json [--limit K] [--repeat R] [--no-stem]")
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-bench-bm25-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    do {
        let lines = try String(contentsOfFile: corpus, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init).filter { !$0.isEmpty }
        let qs = try JSONDecoder().decode(BM25BenchQueries.self, from: Data(contentsOf: URL(fileURLWithPath: queries))).queries
        let store = try VectorStore(path: dir)
        let schema = CollectionSchema(primaryKey: PrimaryKeyField(name: "id", type: .int64),
                                      vectorFields: [VectorField(name: "v", dimension: 2, metric: .l2)],
                                      scalarFields: [ScalarField(name: "text", type: .string)])
        let c = try await store.createCollection("bench", schema: schema)
        for start in stride(from: 0, to: lines.count, by: 8192) {
            let batch = (start..<min(lines.count, start + 8192)).map {
                Entity(id: .int(Int64($0)), vectors: ["v": [0, 0]], fields: ["text": .string(lines[$0])])
            }
            try await c.insert(batch)
        }
        try await c.flush()

        var options = FullTextOptions(field: "text")
        if !stem { options.language = nil }
        let t0 = Date(), c0 = benchCPUSeconds()
        try await c.createFullTextIndex(options)
        let indexSeconds = Date().timeIntervalSince(t0), indexCPU = benchCPUSeconds() - c0
        let stats = c.fullTextStatistics(field: "text")

        var top: [[Int64]] = [], topScores: [[Float]] = []
        func pass(record: Bool) async throws -> (seconds: Double, cpu: Double, latencies: [Double]) {
            var latencies: [Double] = []
            latencies.reserveCapacity(qs.count)
            let p0 = DispatchTime.now().uptimeNanoseconds, pc = benchCPUSeconds()
            for q in qs {
                let s = DispatchTime.now().uptimeNanoseconds
                let hits = try await c.fullTextSearch(q, field: "text", limit: limit, outputFields: [])
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6)
                if record {
                    top.append(hits.map { if case let .int(i) = $0.id { return i } else { return -1 } })
                    topScores.append(hits.map(\.score))
                }
            }
            return (Double(DispatchTime.now().uptimeNanoseconds - p0) / 1e9, benchCPUSeconds() - pc, latencies)
        }
        _ = try await pass(record: true)  // warm-up (and the hits)
        var best = (seconds: Double.infinity, cpu: 0.0, latencies: [Double]())
        var runs: [Double] = []
        for _ in 0..<repeats {
            let r = try await pass(record: false)
            runs.append(r.seconds)
            if r.seconds < best.seconds { best = r }
        }
        try await store.close()
        let sorted = best.latencies.sorted()
        func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))] }
        let topJSON = String(decoding: try JSONEncoder().encode(top), as: UTF8.self)
        let scoresJSON = String(decoding: try JSONEncoder().encode(topScores), as: UTF8.self)
        print("{\"documents\": \(lines.count), \"indexed\": \(stats?.documents ?? 0), \"terms\": \(stats?.terms ?? 0), " +
              "\"average_length\": \(String(format: "%.3f", stats?.averageLength ?? 0)), \"stemming\": \(stem), " +
              "\"index_seconds\": \(String(format: "%.3f", indexSeconds)), \"index_cpu_seconds\": \(String(format: "%.3f", indexCPU)), " +
              "\"queries\": \(qs.count), \"limit\": \(limit), \"query_seconds\": \(String(format: "%.4f", best.seconds)), " +
              "\"runs\": [\(runs.map { String(format: "%.4f", $0) }.joined(separator: ","))], " +
              "\"queries_per_second\": \(String(format: "%.1f", Double(qs.count) / best.seconds)), " +
              "\"queries_per_cpu_second\": \(String(format: "%.1f", Double(qs.count) / max(best.cpu, 1e-9))), " +
              "\"query_ms_p50\": \(String(format: "%.4f", pct(0.5))), \"query_ms_p99\": \(String(format: "%.4f", pct(0.99))), " +
              "\"top\": \(topJSON), \"top_scores\": \(scoresJSON)}")
        exit(0)
    } catch {
        fail("quiver-bench bm25: \(error)")
    }
}
