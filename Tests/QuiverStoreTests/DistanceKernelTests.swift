import CQuiverKernels
import XCTest

/// Every SIMD level the machine runs is compared with the scalar twin on odd lengths
/// (tails) and with a double-precision reference; tolerance 1e-5 relative to the magnitude.
final class DistanceKernelTests: XCTestCase {
    private var levels: [(String, qk_distance_table)] {
        [QK_LEVEL_SCALAR, QK_LEVEL_NEON, QK_LEVEL_AVX2, QK_LEVEL_AVX512].compactMap { l in
            qk_distance_for_level(l).map { (String(cString: qk_level_name(l)), $0.pointee) }
        }
    }

    private func vec(_ n: Int, _ seed: UInt64) -> [Float] {
        var g = TestRNG(seed: seed)
        return (0..<n).map { _ in g.uniform() * 2 - 1 }
    }

    func testEveryLevelMatchesScalarAndDoubleReference() {
        XCTAssertGreaterThanOrEqual(levels.count, 1)
        let scalar = qk_distance_for_level(QK_LEVEL_SCALAR)!.pointee
        for n in [1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 384, 385, 768] {
            let a = vec(n, UInt64(n)), b = vec(n, UInt64(n) + 1000)
            var dotRef = 0.0, l2Ref = 0.0
            for i in 0..<n { dotRef += Double(a[i]) * Double(b[i]); l2Ref += Double(a[i] - b[i]) * Double(a[i] - b[i]) }
            let tol = 1e-5 * Float(n).squareRoot() * 4
            for (name, t) in levels {
                XCTAssertEqual(t.dot(a, b, n), Float(dotRef), accuracy: tol, "\(name) dot n=\(n)")
                XCTAssertEqual(t.dot(a, b, n), scalar.dot(a, b, n), accuracy: tol, "\(name) vs scalar dot n=\(n)")
                XCTAssertEqual(t.l2sq(a, b, n), Float(l2Ref), accuracy: tol * Float(max(1, l2Ref)), "\(name) l2 n=\(n)")
            }
        }
    }

    func testManyAndBatchMatchPairwise() {
        for dim in [5, 16, 33, 384] {
            let nrows = 13, nq = 6
            let rows = vec(nrows * dim, 7), qs = vec(nq * dim, 8)
            let scalar = qk_distance_for_level(QK_LEVEL_SCALAR)!.pointee
            for (name, t) in levels {
                var out = [Float](repeating: 0, count: nrows)
                var outL2 = [Float](repeating: 0, count: nrows)
                var batch = [Float](repeating: 0, count: nq * nrows)
                t.dot_many(qs, rows, nrows, dim, &out)
                t.l2sq_many(qs, rows, nrows, dim, &outL2)
                t.dot_batch(qs, nq, rows, nrows, dim, &batch)
                let tol: Float = 1e-4 * Float(dim).squareRoot()
                rows.withUnsafeBufferPointer { rp in
                    qs.withUnsafeBufferPointer { qp in
                        for r in 0..<nrows {
                            let row = rp.baseAddress! + r * dim
                            XCTAssertEqual(out[r], scalar.dot(qp.baseAddress!, row, dim), accuracy: tol, "\(name) dot_many d=\(dim)")
                            XCTAssertEqual(outL2[r], scalar.l2sq(qp.baseAddress!, row, dim), accuracy: tol, "\(name) l2sq_many d=\(dim)")
                            for i in 0..<nq {
                                XCTAssertEqual(batch[i * nrows + r], scalar.dot(qp.baseAddress! + i * dim, row, dim), accuracy: tol,
                                               "\(name) dot_batch q=\(i) r=\(r) d=\(dim)")
                            }
                        }
                    }
                }
            }
        }
    }

    func testSQ8KernelsMatchScalar() {
        for n in [1, 9, 16, 31, 32, 47, 384] {
            let q = vec(n, 11), scale = vec(n, 12).map { abs($0) / 255 }
            var g = TestRNG(seed: 13)
            let codes = (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            var dotRef = 0.0, l2Ref = 0.0
            for i in 0..<n {
                dotRef += Double(q[i]) * Double(codes[i])
                let d = Double(q[i]) - Double(scale[i]) * Double(codes[i]); l2Ref += d * d
            }
            for (name, t) in levels {
                XCTAssertEqual(Double(t.sq8_dot(q, codes, n)), dotRef, accuracy: 1e-5 * 255 * Double(n), "\(name) sq8_dot n=\(n)")
                XCTAssertEqual(Double(t.sq8_l2sq(q, scale, codes, n)), l2Ref, accuracy: 1e-4 * max(1, l2Ref), "\(name) sq8_l2sq n=\(n)")
            }
        }
    }

    func testCosineAndNormalize() {
        var a: [Float] = [3, 4, 0], b: [Float] = [4, 3, 0]
        XCTAssertEqual(qk_cosine_f32(a, b, 3), 24.0 / 25.0, accuracy: 1e-6)
        XCTAssertEqual(qk_normalize_f32(&a, 3), 5, accuracy: 1e-6)
        XCTAssertEqual(a, [0.6, 0.8, 0])
        var z: [Float] = [0, 0]
        XCTAssertEqual(qk_normalize_f32(&z, 2), 0)
        XCTAssertEqual(z, [0, 0])
        XCTAssertEqual(qk_cosine_f32(z, b, 2), 0)
        _ = b.withUnsafeMutableBufferPointer { $0.count }
    }

    func testCRC32CKnownValuesAndHardwareTwin() {
        // The standard check value of CRC-32C ("123456789") and the iSCSI 32-zero-byte vector.
        let check = Array("123456789".utf8)
        XCTAssertEqual(qk_crc32c(0, check, check.count), 0xE306_9283)
        XCTAssertEqual(qk_crc32c_scalar(0, check, check.count), 0xE306_9283)
        let zeros = [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(qk_crc32c(0, zeros, 32), 0x8A91_36AA)
        var g = TestRNG(seed: 5)
        let data = (0..<1001).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        XCTAssertEqual(qk_crc32c(0, data, data.count), qk_crc32c_scalar(0, data, data.count))
        // Continuation: crc(a ++ b) == crc(crc(a), b).
        data.withUnsafeBytes { p in
            let whole = qk_crc32c(0, p.baseAddress, 1001)
            XCTAssertEqual(qk_crc32c(qk_crc32c(0, p.baseAddress, 500), p.baseAddress! + 500, 501), whole)
        }
    }
}
