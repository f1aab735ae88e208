import XCTest
@testable import QuiverStore

/// Save/load round trips and corruption detection, for every index kind.
final class IndexFileTests: XCTestCase {
    static func makeIndexes(dim: Int, metric: Metric) throws -> [any VectorIndex] {
        [try FlatIndex(dimension: dim, metric: metric)] + (try extraKinds(dim: dim, metric: metric))
    }

    /// Filled in as the other kinds land.
    static func extraKinds(dim: Int, metric: Metric) throws -> [any VectorIndex] {
        [try HNSWIndex(dimension: dim, metric: metric, M: 8, efConstruction: 40),
         try IVFFlatIndex(dimension: dim, metric: metric, nlist: 8),
         try IVFSQ8Index(dimension: dim, metric: metric, nlist: 8),
         try IVFSQ8Index(dimension: dim, metric: metric, nlist: 8, rerank: 3)]
    }

    func testRoundTripIdenticalResults() throws {
        let dim = 24, n = 1200
        let base = TestData.clustered(n, dim, clusters: 10, seed: 21), queries = TestData.random(5, dim, seed: 22)
        for metric in Metric.allCases {
            for index in try Self.makeIndexes(dim: dim, metric: metric) {
                try index.add(TestData.rows(n), base)
                index.remove(row: 17)
                let path = TestData.tempPath("rt-\(index.kind.rawValue)-\(metric.rawValue).qidx")
                try index.write(to: path)
                let loaded = try IndexFiles.load(path: path)
                XCTAssertEqual(loaded.kind, index.kind)
                XCTAssertEqual(loaded.metric, metric)
                XCTAssertEqual(loaded.dimension, dim)
                XCTAssertEqual(loaded.count, n - 1)
                XCTAssertFalse(loaded.contains(row: 17))
                for qi in 0..<5 {
                    let q = queries[qi * dim..<(qi + 1) * dim]
                    XCTAssertEqual(try loaded.search(q, k: 10), try index.search(q, k: 10), "\(index.kind) \(metric)")
                }
                // A loaded (mapped) index still takes new rows.
                try loaded.add([5000], Array(base[0..<dim]))
                XCTAssertTrue(loaded.contains(row: 5000))
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    func testCorruptionAndTruncationAreNamedErrors() throws {
        let dim = 16, n = 300
        let base = TestData.random(n, dim, seed: 23)
        for index in try Self.makeIndexes(dim: dim, metric: .l2) {
            try index.add(TestData.rows(n), base)
            let path = TestData.tempPath("bad-\(index.kind.rawValue).qidx")
            try index.write(to: path)
            let good = try Data(contentsOf: URL(fileURLWithPath: path))
            // Flip one byte at several places: header, section table, each data region.
            for offset in [9, 30, 100, 260, 300, good.count / 2, good.count - 70] {
                var bad = good
                bad[offset] ^= 0x5A
                try bad.write(to: URL(fileURLWithPath: path))
                XCTAssertThrowsError(try IndexFiles.load(path: path), "\(index.kind) flip at \(offset)") { e in
                    XCTAssertTrue("\(e)".contains(path), "error names the file: \(e)")
                }
            }
            for length in [0, 10, 255, 400, good.count - 1] {
                try good.prefix(length).write(to: URL(fileURLWithPath: path))
                XCTAssertThrowsError(try IndexFiles.load(path: path), "\(index.kind) truncated to \(length)") { e in
                    XCTAssertTrue("\(e)".contains(path), "\(e)")
                }
            }
            try good.write(to: URL(fileURLWithPath: path))
            XCTAssertEqual(try IndexFiles.load(path: path).count, n)
            XCTAssertThrowsError(try IndexFiles.load(path: path + ".missing")) { e in
                guard case .indexFile? = e as? StoreError else { return XCTFail("\(e)") }
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    func testWriteLeavesNoTemporaryFiles() throws {
        let index = try FlatIndex(dimension: 4, metric: .innerProduct)
        try index.add([1, 2], [1, 2, 3, 4, 5, 6, 7, 8])
        let path = TestData.tempPath("atomic/x.qidx")
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try index.write(to: path)
        try index.write(to: path)  // replaces
        let names = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        XCTAssertEqual(names, ["x.qidx"])
        XCTAssertThrowsError(try index.write(to: "/nonexistent-dir/x.qidx")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent-dir/x.qidx"))
        }
    }
}
