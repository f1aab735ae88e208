import XCTest
@testable import QuiverStore

/// HNSW against exact Flat search. Recall thresholds are stated per test; the data are
/// seeded so the numbers are reproducible. Run in release mode (`-c release`).
final class IndexHNSWTests: XCTestCase {
    private func meanRecall(_ index: any VectorIndex, _ flat: FlatIndex, _ queries: [Float], dim: Int, k: Int,
                            params: IndexParams) throws -> Double {
        let nq = queries.count / dim
        var total = 0.0
        for i in 0..<nq {
            let q = queries[i * dim..<(i + 1) * dim]
            total += TestData.recall(try index.search(q, k: k, params: params), try flat.search(q, k: k))
        }
        return total / Double(nq)
    }

    /// recall@10 >= 0.95 at M=16, efConstruction=200 for each metric on 4000 uniform random
    /// 32-d vectors (ef=128) and 4000 clustered 64-d vectors (40 clusters, ef=64); the 100
    /// queries come from the same distribution as the base (held out).
    func testRecallAgainstFlat() throws {
        let n = 4000, nq = 100
        let random = TestData.random(n + nq, 32, seed: 31), clustered = TestData.clustered(n + nq, 64, clusters: 40, seed: 32)
        for (name, all, dim, ef) in [("random", random, 32, 128.0), ("clustered", clustered, 64, 64.0)] {
            let base = Array(all[0..<(n * dim)]), queries = Array(all[(n * dim)...])
            for metric in Metric.allCases {
                let hnsw = try HNSWIndex(dimension: dim, metric: metric, M: 16, efConstruction: 200, seed: 7)
                let flat = try FlatIndex(dimension: dim, metric: metric)
                try hnsw.add(TestData.rows(n), base)
                try flat.add(TestData.rows(n), base)
                XCTAssertEqual(hnsw.count, n)
                let r = try meanRecall(hnsw, flat, queries, dim: dim, k: 10, params: ["ef": ef])
                XCTAssertGreaterThanOrEqual(r, 0.95, "\(name) \(metric) recall@10 = \(r)")
                // Scores are Milvus scores (same as Flat's for the same row).
                let q = queries[0..<dim]
                let top = try hnsw.search(q, k: 1, params: ["ef": 200])[0]
                XCTAssertEqual(top.score, try flat.search(q, k: 1)[0].score, accuracy: 1e-4)
            }
        }
    }

    /// Incremental adds (small batches, serial path) reach the same recall as one big batch.
    func testIncrementalAddsAndDeletes() throws {
        let dim = 32, n = 3000
        let all = TestData.clustered(n + 50, dim, clusters: 20, seed: 41)
        let base = Array(all[0..<(n * dim)]), queries = Array(all[(n * dim)...])
        let hnsw = try HNSWIndex(dimension: dim, metric: .l2, M: 12, efConstruction: 100)
        let flat = try FlatIndex(dimension: dim, metric: .l2)
        for start in stride(from: 0, to: n, by: 100) {
            let rows = (start..<start + 100).map { UInt32($0) }
            try hnsw.add(rows, Array(base[start * dim..<(start + 100) * dim]))
        }
        try flat.add(TestData.rows(n), base)
        XCTAssertGreaterThanOrEqual(try meanRecall(hnsw, flat, queries, dim: dim, k: 10, params: ["ef": 100]), 0.95)
        // Delete every third row: never returned, recall against Flat-with-the-same-deletes holds.
        for r in stride(from: 0, to: n, by: 3) { hnsw.remove(row: UInt32(r)); flat.remove(row: UInt32(r)) }
        XCTAssertEqual(hnsw.count, n - (n + 2) / 3)
        for i in 0..<50 {
            let got = try hnsw.search(queries[i * dim..<(i + 1) * dim], k: 10, params: ["ef": 100])
            XCTAssertTrue(got.allSatisfy { $0.row % 3 != 0 }, "tombstoned row returned")
            XCTAssertEqual(got.count, 10)
        }
        XCTAssertGreaterThanOrEqual(try meanRecall(hnsw, flat, queries, dim: dim, k: 10, params: ["ef": 100]), 0.95)
        try hnsw.compact()
        XCTAssertEqual(hnsw.count, n - (n + 2) / 3)
        XCTAssertFalse(hnsw.contains(row: 3))
        XCTAssertGreaterThanOrEqual(try meanRecall(hnsw, flat, queries, dim: dim, k: 10, params: ["ef": 100]), 0.95)
    }

    /// With a filter keeping 1% of 6000 rows the result equals the exact filtered top-k; at 30%
    /// the widened graph search still finds >= 0.95 of it.
    func testFilteredSearch() throws {
        let dim = 32, n = 6000
        let all = TestData.clustered(n + 20, dim, clusters: 30, seed: 51)
        let base = Array(all[0..<(n * dim)]), queries = Array(all[(n * dim)...])
        let hnsw = try HNSWIndex(dimension: dim, metric: .innerProduct)
        let flat = try FlatIndex(dimension: dim, metric: .innerProduct)
        try hnsw.add(TestData.rows(n), base)
        try flat.add(TestData.rows(n), base)
        let onePercent: (UInt32) -> Bool = { $0 % 100 == 7 }
        let thirty: (UInt32) -> Bool = { $0 % 10 < 3 }
        var recall30 = 0.0
        for i in 0..<20 {
            let q = queries[i * dim..<(i + 1) * dim]
            let got = try hnsw.search(q, k: 10, allow: onePercent)
            XCTAssertEqual(got.map(\.row), try flat.search(q, k: 10, allow: onePercent).map(\.row))
            let got30 = try hnsw.search(q, k: 10, allow: thirty)
            XCTAssertTrue(got30.allSatisfy { thirty($0.row) })
            recall30 += TestData.recall(got30, try flat.search(q, k: 10, allow: thirty))
        }
        XCTAssertGreaterThanOrEqual(recall30 / 20, 0.95)
        // A filter nothing passes: empty, not an error.
        XCTAssertEqual(try hnsw.search(queries[0..<dim], k: 5, allow: { _ in false }), [])
    }

    func testParametersAndEdgeCases() throws {
        XCTAssertThrowsError(try HNSWIndex(dimension: 8, metric: .l2, M: 1))
        XCTAssertThrowsError(try HNSWIndex(dimension: 8, metric: .l2, efConstruction: 0))
        let h = try HNSWIndex(dimension: 4, metric: .cosine)
        XCTAssertEqual(try h.search([1, 0, 0, 0][...], k: 3), [])
        try h.add([9], [0, 2, 0, 0])
        XCTAssertEqual(try h.search([0, 1, 0, 0][...], k: 3).map(\.row), [9])
        XCTAssertThrowsError(try h.search([0, 1, 0, 0][...], k: 3, params: ["nprobe": 4])) { e in
            XCTAssertTrue("\(e)".contains("nprobe"))
        }
        XCTAssertThrowsError(try h.search([0, 1, 0, 0][...], k: 3, params: ["ef": 0]))
        // Same seed, same serial insertion order: identical graphs, identical results.
        let base = TestData.random(200, 8, seed: 61)
        let a = try HNSWIndex(dimension: 8, metric: .l2, seed: 3), b = try HNSWIndex(dimension: 8, metric: .l2, seed: 3)
        try a.add(TestData.rows(200), base); try b.add(TestData.rows(200), base)
        XCTAssertEqual(try a.search(base[0..<8], k: 10, params: ["ef": 10]), try b.search(base[0..<8], k: 10, params: ["ef": 10]))
    }
}

final class IndexConcurrencyTests: XCTestCase {
    /// Concurrent searches (8 threads) on every kind return what serial searches return.
    func testConcurrentSearchesMatchSerial() throws {
        let dim = 32, n = 2000, nq = 64
        let all = TestData.clustered(n + nq, dim, clusters: 16, seed: 81)
        let base = Array(all[0..<(n * dim)]), queries = Array(all[(n * dim)...])
        let indexes: [any VectorIndex] = [try FlatIndex(dimension: dim, metric: .cosine),
                                          try HNSWIndex(dimension: dim, metric: .cosine),
                                          try IVFSQ8Index(dimension: dim, metric: .cosine, nlist: 16, rerank: 2)]
        for index in indexes {
            try index.add(TestData.rows(n), base)
            let serial = try (0..<nq).map { try index.search(queries[$0 * dim..<($0 + 1) * dim], k: 5) }
            let results = UnsafeMutableBufferPointer<[IndexHit]>.allocate(capacity: nq)
            results.initialize(repeating: [])
            defer { results.deallocate() }
            let out = UncheckedBox(results)
            DispatchQueue.concurrentPerform(iterations: 8) { w in
                for i in stride(from: w, to: nq, by: 8) {
                    out.value[i] = (try? index.search(queries[i * dim..<(i + 1) * dim], k: 5)) ?? []
                }
            }
            XCTAssertEqual(Array(results), serial, "\(index.kind)")
        }
    }
}

private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
