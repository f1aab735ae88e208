import XCTest
@testable import QuiverStore

final class IndexFlatTests: XCTestCase {
    /// Flat equals a naive double-precision top-k for every metric (rows identical, scores within 1e-4).
    func testExactAgainstNaive() throws {
        let dim = 37, n = 700
        let base = TestData.random(n, dim, seed: 1), queries = TestData.random(8, dim, seed: 2)
        for metric in Metric.allCases {
            let index = try FlatIndex(dimension: dim, metric: metric)
            try index.add(TestData.rows(n), base)
            XCTAssertEqual(index.count, n)
            for qi in 0..<8 {
                let q = queries[qi * dim..<(qi + 1) * dim]
                let got = try index.search(q, k: 10)
                let want = TestData.naiveTopK(base: base, query: q, dim: dim, metric: metric, k: 10)
                XCTAssertEqual(got.map(\.row), want.map(\.row), "\(metric) query \(qi)")
                for (g, w) in zip(got, want) { XCTAssertEqual(g.score, w.score, accuracy: 1e-4 * max(1, abs(w.score))) }
            }
        }
    }

    /// The batched path (register-blocked kernel, both cores) returns what single searches return.
    func testBatchEqualsSingle() throws {
        let dim = 48, n = 3000, nq = 37
        let base = TestData.random(n, dim, seed: 3), queries = TestData.random(nq, dim, seed: 4)
        for metric in Metric.allCases {
            let index = try FlatIndex(dimension: dim, metric: metric)
            try index.add(TestData.rows(n), base)
            index.remove(row: 5)
            let batch = try queries.withUnsafeBufferPointer { try index.searchBatch($0, k: 7, params: [:], allow: nil) }
            XCTAssertEqual(batch.count, nq)
            for qi in 0..<nq {
                let single = try index.search(queries[qi * dim..<(qi + 1) * dim], k: 7)
                XCTAssertEqual(batch[qi].map(\.row), single.map(\.row), "\(metric) query \(qi)")
                for (b, s) in zip(batch[qi], single) { XCTAssertEqual(b.score, s.score, accuracy: 1e-3 * max(1, abs(s.score))) }
            }
        }
    }

    func testLargeParallelScanEqualsNaive() throws {
        let dim = 64, n = 40_000  // above the parallel threshold
        let base = TestData.random(n, dim, seed: 9), q = TestData.random(1, dim, seed: 10)
        let index = try FlatIndex(dimension: dim, metric: .innerProduct)
        try index.add(TestData.rows(n), base)
        XCTAssertEqual(try index.search(q[...], k: 20).map(\.row),
                       TestData.naiveTopK(base: base, query: q[...], dim: dim, metric: .innerProduct, k: 20).map(\.row))
    }

    func testDeletesFilterAndCompact() throws {
        let dim = 16, n = 500
        let base = TestData.random(n, dim, seed: 5), q = TestData.random(1, dim, seed: 6)[...]
        let rows = (0..<n).map { UInt32($0 * 3 + 100) }
        let index = try FlatIndex(dimension: dim, metric: .l2)
        try index.add(rows, base)
        let first = try index.search(q, k: 5)
        index.remove(row: first[0].row)
        index.remove(row: 999_999)  // absent: ignored
        XCTAssertEqual(index.count, n - 1)
        XCTAssertFalse(index.contains(row: first[0].row))
        let after = try index.search(q, k: 5)
        XCTAssertFalse(after.map(\.row).contains(first[0].row))
        XCTAssertEqual(Array(after.prefix(4)), Array(first.dropFirst()))
        // Filter keeping 1% of rows: equals the naive filtered top-k.
        let allow: (UInt32) -> Bool = { $0 % 100 == 1 && $0 != first[0].row }
        let filtered = try index.search(q, k: 3, allow: allow)
        let want = TestData.naiveTopK(base: base, query: q, dim: dim, metric: .l2, k: 3, rows: rows, allow: allow)
        XCTAssertEqual(filtered.map(\.row), want.map(\.row))
        try index.compact()
        XCTAssertEqual(index.count, n - 1)
        XCTAssertEqual(try index.search(q, k: 5), after)
        XCTAssertThrowsError(try index.add([rows[1]], Array(base[0..<dim]))) { e in
            XCTAssertEqual(e as? StoreError, .duplicateIndexRow(rows[1]))
        }
    }

    func testRangeSearch() throws {
        let dim = 8, n = 300
        let base = TestData.random(n, dim, seed: 7), q = TestData.random(1, dim, seed: 8)[...]
        for metric in [Metric.l2, .innerProduct] {
            let index = try FlatIndex(dimension: dim, metric: metric)
            try index.add(TestData.rows(n), base)
            let all = TestData.naiveTopK(base: base, query: q, dim: dim, metric: metric, k: n)
            let radius = all[20].score
            let got = try Array(q).withUnsafeBufferPointer { try index.rangeSearch($0, radius: radius, limit: 1000, params: [:], allow: nil) }
            let want = all.filter { metric.higherIsCloser ? $0.score >= radius : $0.score <= radius }
            XCTAssertEqual(Set(got.map(\.row)), Set(want.map(\.row)), "\(metric)")
            XCTAssertTrue(got.count >= 20 && got.count <= 22)
        }
    }

    func testErrors() throws {
        let index = try FlatIndex(dimension: 4, metric: .cosine)
        XCTAssertThrowsError(try index.add([1, 2], [1, 2, 3, 4])) { e in
            XCTAssertEqual(e as? StoreError, .dimensionMismatch(expected: 8, got: 4, what: "vectors for 2 rows"))
        }
        try index.add([1], [1, 0, 0, 0])
        XCTAssertThrowsError(try index.search([1, 0, 0][...], k: 1))
        XCTAssertThrowsError(try index.search([1, 0, 0, 0][...], k: 1, params: ["ef": 10])) { e in
            XCTAssertTrue("\(e)".contains("ef"), "\(e)")
        }
        // COSINE normalizes stored vectors and queries: score of a parallel vector is 1.
        XCTAssertEqual(try index.search([5, 0, 0, 0][...], k: 1).first?.score ?? 0, 1, accuracy: 1e-6)
        XCTAssertThrowsError(try FlatIndex(dimension: 0, metric: .l2))
    }
}
