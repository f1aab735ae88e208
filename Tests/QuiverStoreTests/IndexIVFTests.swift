import XCTest
@testable import QuiverStore

/// IVF_FLAT and IVF_SQ8 against exact Flat search (release mode).
final class IndexIVFTests: XCTestCase {
    private func meanRecall(_ index: any VectorIndex, _ flat: FlatIndex, _ queries: [Float], dim: Int, k: Int, params: IndexParams) throws -> Double {
        let nq = queries.count / dim
        var total = 0.0
        for i in 0..<nq {
            let q = queries[i * dim..<(i + 1) * dim]
            total += TestData.recall(try index.search(q, k: k, params: params), try flat.search(q, k: k))
        }
        return total / Double(nq)
    }

    /// recall@10 >= 0.95 for IVF_FLAT (nlist=32, nprobe=8) and IVF_SQ8 with rerank=4, >= 0.85
    /// for plain IVF_SQ8, on 4000 clustered 48-d vectors (queries held out from the same clusters),
    /// every metric.
    func testRecallAgainstFlat() throws {
        let dim = 48, n = 4000, nq = 60
        let all = TestData.clustered(n + nq, dim, clusters: 40, seed: 71)
        let base = Array(all[0..<(n * dim)]), queries = Array(all[(n * dim)...])
        for metric in Metric.allCases {
            let flat = try FlatIndex(dimension: dim, metric: metric)
            try flat.add(TestData.rows(n), base)
            let cases: [(any VectorIndex, Double)] = [
                (try IVFFlatIndex(dimension: dim, metric: metric, nlist: 32), 0.95),
                (try IVFSQ8Index(dimension: dim, metric: metric, nlist: 32, rerank: 4), 0.95),
                (try IVFSQ8Index(dimension: dim, metric: metric, nlist: 32), 0.85),
            ]
            for (index, want) in cases {
                try index.add(TestData.rows(n), base)
                let r = try meanRecall(index, flat, queries, dim: dim, k: 10, params: ["nprobe": 8])
                XCTAssertGreaterThanOrEqual(r, want, "\(index.kind) \(metric) recall@10 = \(r)")
                // Probing every list of IVF_FLAT is exact.
                if index.kind == .ivfFlat {
                    XCTAssertEqual(try meanRecall(index, flat, queries, dim: dim, k: 10, params: ["nprobe": 32]), 1.0)
                }
            }
        }
    }

    func testSQ8ScoresApproximateExactScores() throws {
        let dim = 32, n = 500
        let base = TestData.random(n, dim, seed: 72), q = TestData.random(1, dim, seed: 73)[...]
        for metric in [Metric.l2, .innerProduct] {
            let sq = try IVFSQ8Index(dimension: dim, metric: metric, nlist: 4)
            try sq.add(TestData.rows(n), base)
            let got = try sq.search(q, k: 20, params: ["nprobe": 4])
            for h in got {
                let exact = TestData.naiveScore(q, base[Int(h.row) * dim..<(Int(h.row) + 1) * dim], metric)
                // 8-bit codes over [-1, 1): per-dimension error <= 1/255.
                XCTAssertEqual(h.score, exact, accuracy: metric == .l2 ? 0.05 * max(1, exact) : 0.05, "\(metric)")
            }
        }
    }

    func testFilterDeleteCompactAndTraining() throws {
        let dim = 16, n = 3000
        let all = TestData.clustered(n + 10, dim, clusters: 12, seed: 74)
        let base = Array(all[0..<(n * dim)]), queries = Array(all[(n * dim)...])
        let ivf = try IVFFlatIndex(dimension: dim, metric: .l2, nlist: 16)
        XCTAssertThrowsError(try ivf.add([1, 2], Array(base[0..<(2 * dim)]))) { e in
            guard case .indexNotTrained? = e as? StoreError else { return XCTFail("\(e)") }
        }
        try base.withUnsafeBufferPointer { try ivf.train($0) }
        try ivf.add([1, 2], Array(base[0..<(2 * dim)]))  // trained: small adds are fine now
        try ivf.add((2..<n).map { UInt32($0 + 1) }, Array(base[(2 * dim)...]))
        let rows = (0..<n).map { UInt32($0 + 1) }
        let flat = try FlatIndex(dimension: dim, metric: .l2)
        try flat.add(rows, base)
        let onePercent: (UInt32) -> Bool = { $0 % 100 == 3 }
        for i in 0..<10 {
            let q = queries[i * dim..<(i + 1) * dim]
            XCTAssertEqual(try ivf.search(q, k: 5, params: ["nprobe": 2], allow: onePercent).map(\.row),
                           try flat.search(q, k: 5, allow: onePercent).map(\.row))
        }
        let q = queries[0..<dim]
        let first = try ivf.search(q, k: 3, params: ["nprobe": 16])
        ivf.remove(row: first[0].row)
        XCTAssertEqual(Array(try ivf.search(q, k: 3, params: ["nprobe": 16]).prefix(2)), Array(first.dropFirst()))
        try ivf.compact()
        XCTAssertEqual(ivf.count, n - 1)
        XCTAssertEqual(Array(try ivf.search(q, k: 3, params: ["nprobe": 16]).prefix(2)), Array(first.dropFirst()))
        XCTAssertThrowsError(try ivf.search(q, k: 3, params: ["nprobe": 17]))
        XCTAssertThrowsError(try IVFFlatIndex(dimension: dim, metric: .l2, nlist: 0))
    }
}
