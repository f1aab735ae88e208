import Foundation
import XCTest
@testable import QuiverTensor

/// The BLAS core Quiver selects at run time (see `BLAS.prepared`) must compute the same products
/// as a plain double-precision loop, for every transpose combination and for awkward shapes
/// (tails of the vector width, single rows/columns, leading dimensions larger than the width).
final class BLASGemmTests: XCTestCase {
    struct LCG {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
    }

    /// Largest error relative to the sum of term magnitudes; -1 when padding columns were written.
    static func gemmError(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, beta: Float, seed: UInt64) -> Double {
        var rng = LCG(state: seed)
        let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5, ldc = n + 2
        let a = (0..<((transA ? k : m) * lda)).map { _ in rng.next() }
        let b = (0..<((transB ? n : k) * ldb)).map { _ in rng.next() }
        let c0 = (0..<(m * ldc)).map { _ in rng.next() }
        var c = c0
        let alpha: Float = 0.75
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: lda,
                      b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc)
        } } }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0, mag = 0.0
                for p in 0..<k {
                    let x = Double(transA ? a[p * lda + i] : a[i * lda + p])
                    let y = Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                    s += x * y; mag += abs(x * y)
                }
                let expected = Double(alpha) * s + Double(beta) * Double(c0[i * ldc + j])
                let scale = Double(alpha) * mag + abs(Double(beta) * Double(c0[i * ldc + j])) + 1e-6
                worst = max(worst, abs(Double(c[i * ldc + j]) - expected) / scale)
            }
            // Padding columns past n must be untouched.
            for j in n..<ldc where c[i * ldc + j] != c0[i * ldc + j] { return -1 }
        }
        return worst
    }

    func checkGemm(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, beta: Float, seed: UInt64) {
        let e = Self.gemmError(m: m, n: n, k: k, transA: transA, transB: transB, beta: beta, seed: seed)
        let what = "m=\(m) n=\(n) k=\(k) transA=\(transA) transB=\(transB) beta=\(beta) core=\(BLAS.prepared)"
        XCTAssertGreaterThanOrEqual(e, 0, "wrote past n: \(what)")
        // float32 accumulation over k terms: relative error (to the sum of magnitudes) well under 1e-5.
        XCTAssertLessThan(e, 1e-5, what)
    }

    func testGemmMatchesNaiveProductOnAwkwardShapes() {
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 384, 384), (7, 13, 5), (17, 33, 65), (64, 64, 64),
                                         (31, 1, 129), (128, 96, 384), (3, 1536, 384), (200, 17, 9)]
        var seed: UInt64 = 1
        for (m, n, k) in shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    for beta: Float in [0, 1] {
                        seed += 1
                        checkGemm(m: m, n: n, k: k, transA: transA, transB: transB, beta: beta, seed: seed)
                    }
                }
            }
        }
    }

    func testGemmFromSeveralThreadsAgrees() {
        // The models call BLAS from their own worker threads.
        let errors = UnsafeMutableBufferPointer<Double>.allocate(capacity: 4)
        defer { errors.deallocate() }
        nonisolated(unsafe) let out = errors
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            out[t] = Self.gemmError(m: 48, n: 80, k: 96, transA: false, transB: true, beta: 0, seed: 1000 + UInt64(t))
        }
        for e in errors { XCTAssertTrue(e >= 0 && e < 1e-5, "error \(e)") }
    }
}
