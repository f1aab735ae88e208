import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTensor

/// The int8 kernels (qk_int8.h): every form (AVX-512 VNNI, AVX2, scalar) gives exactly the int32
/// sums of a naive product written here, on random data, shapes with tails in every dimension and
/// the extreme values (255 x -127, 255 x 127) that would saturate a 16-bit pair sum.
final class Int8KernelTests: XCTestCase {
    var rng = SeededRandom(seed: 88)

    func testVNNIIsReportedOnThisMachine() {
        // The brief's machine has AVX-512 VNNI; elsewhere this only checks the form names agree.
        if SIMDLevel.hardware == .avx512 && Int8Kernels.hasVNNI {
            XCTAssertEqual(Int8Kernels.formName(.avx512), "avx512-vnni")
        }
        XCTAssertEqual(Int8Kernels.formName(.scalar), "scalar")
    }

    func naive(_ a: [UInt8], _ w: [Int8], m: Int, n: Int, k: Int) -> [Int32] {
        let rb = Int8Kernels.rowBytes(k: k)
        var c = [Int32](repeating: 0, count: m * n)
        for r in 0..<m { for j in 0..<n {
            var s: Int64 = 0
            for i in 0..<k { s += Int64(a[r * rb + i]) * Int64(w[j * k + i]) }
            c[r * n + j] = Int32(s)
        } }
        return c
    }

    func testInt32ProductsAreExactAtEveryLevel() {
        // (101, 70, 37) and (53, 130, 20) run past the kernels' 48-row blocks with tails in both.
        let shapes: [(Int, Int, Int)] = [(1, 1, 1), (7, 5, 3), (6, 64, 4), (13, 70, 37), (25, 130, 384), (5, 16, 1536), (12, 200, 3),
                                         (101, 70, 37), (53, 130, 20)]
        for (m, n, k) in shapes {
            let rb = Int8Kernels.rowBytes(k: k)
            var a = [UInt8](repeating: 0, count: m * rb)
            for r in 0..<m { for i in 0..<k { a[r * rb + i] = UInt8(rng.below(256)) } }
            var w = (0..<(n * k)).map { _ in Int8(rng.below(255) - 127) }
            // Worst cases for pair sums: full-scale rows against +-127.
            if m > 1 { for i in 0..<k { a[rb + i] = 255 } }
            if n > 1 { for i in 0..<k { w[k + i] = -127; w[i] = 127 } }
            let (packed, sums) = Int8Kernels.pack(w, n: n, k: k)
            XCTAssertEqual(sums, (0..<n).map { j in (0..<k).reduce(Int32(0)) { $0 + Int32(w[j * k + $1]) } })
            let want = naive(a, w, m: m, n: n, k: k)
            for level in SIMDLevel.available {
                let got = Int8Kernels.gemmInt32(a, packed: packed, m: m, n: n, k: k, level: level)
                XCTAssertEqual(got, want, "\(Int8Kernels.formName(level)) m=\(m) n=\(n) k=\(k)")
            }
        }
    }

    func testRowQuantizationIsTheSameAtEveryLevelAndWithinHalfAStep() {
        let m = 9, k = 45
        var x = (0..<(m * k)).map { _ in rng.nextFloat() * 3 }
        for i in 0..<k { x[i] = abs(x[i]) + 0.5 }       // all positive: zero point 0
        for i in 0..<k { x[k + i] = -abs(x[k + i]) }     // all negative: zero point 255
        for i in 0..<k { x[2 * k + i] = 0 }              // all zero: scale 1
        let reference = Int8Kernels.quantizeRows(x, m: m, k: k, level: .scalar)
        let rb = Int8Kernels.rowBytes(k: k)
        for r in 0..<m {
            for i in k..<rb { XCTAssertEqual(reference.q[r * rb + i], 0, "padding byte row \(r)") }
            for i in 0..<k {
                let back = (Float(reference.q[r * rb + i]) - Float(reference.zeros[r])) * reference.scales[r]
                XCTAssertLessThanOrEqual(abs(back - x[r * k + i]), reference.scales[r] * 0.5 + 1e-6, "row \(r) col \(i)")
            }
        }
        XCTAssertEqual(reference.zeros[0], 0)
        XCTAssertEqual(reference.zeros[1], 255)
        XCTAssertEqual(reference.scales[2], 1)
        for level in SIMDLevel.available {
            let got = Int8Kernels.quantizeRows(x, m: m, k: k, level: level)
            XCTAssertEqual(got.q, reference.q, level.name)
            XCTAssertEqual(got.scales, reference.scales, level.name)
            XCTAssertEqual(got.zeros, reference.zeros, level.name)
        }
    }

    /// The split quantization: the outlier channels are left out of each row's range (the rows and
    /// scales are those of the input with those channels zeroed) and copied out unchanged.
    func testSplitQuantizationLeavesOutliersOutOfTheRangeAndCopiesThem() {
        let m = 7, k = 53, outliers = [0, 9, 52]
        let x = (0..<(m * k)).map { i in rng.nextFloat() * (outliers.contains(i % k) ? 500 : 2) }
        var zeroed = x
        for r in 0..<m { for c in outliers { zeroed[r * k + c] = 0 } }
        let want = Int8Kernels.quantizeRows(zeroed, m: m, k: k, level: .scalar)
        XCTAssertLessThan(want.scales.max()!, 4.0 / 255, "the outliers (up to 500) are not in the range")
        for level in SIMDLevel.available {
            let got = Int8Kernels.quantizeRowsSplit(x, m: m, k: k, outliers: outliers, level: level)
            XCTAssertEqual(got.q, want.q, level.name)
            XCTAssertEqual(got.scales, want.scales, level.name)
            XCTAssertEqual(got.zeros, want.zeros, level.name)
            XCTAssertEqual(got.xo, (0..<m).flatMap { r in outliers.map { x[r * k + $0] } }, level.name)
        }
    }

    func testQuantizedLinearIsCloseToFloatAndIdenticalAcrossLevels() {
        let m = 11, k = 96, n = 70
        let w = Tensor(shape: [n, k], values: (0..<(n * k)).map { _ in rng.nextFloat() * 0.2 })
        let b = Tensor(shape: [n], values: (0..<n).map { _ in rng.nextFloat() })
        let x = (0..<(m * k)).map { _ in rng.nextFloat() * 2 }
        let fp = Linear(weight: w, bias: b)
        var ref = [Float](repeating: 0, count: m * n)
        fp.apply(x, rows: m, into: &ref)
        let q = QuantizedLinear(fp)
        let ws = Workspace()
        var first: [Float]? = nil
        for level in SIMDLevel.available {
            var y = [Float](repeating: 0, count: m * n)
            q.apply(x, rows: m, into: &y, workspace: ws, slot: 0, level: level)
            // Error bound: k products, each off by at most half an input step times |w| plus half a weight step times |x|.
            for i in 0..<(m * n) { XCTAssertEqual(y[i], ref[i], accuracy: 0.05, "\(level.name) element \(i)") }
            if let first { XCTAssertEqual(y, first, "\(level.name) differs from scalar") } else { first = y }
        }
    }

    /// Outlier input channels (two channels 60 times larger than the rest, as BERT's special-token
    /// rows have): without calibration they set every row's scale and the error grows with them;
    /// with the calibration maxima they are found, kept in float32, and the result is back within
    /// the plain case's bound, at every level, with a strided output and a fused activation.
    func testOutlierChannelsStayFloat32() {
        checkOutlierChannelsStayFloat32(rows: 9)
        checkOutlierChannelsStayFloat32(rows: 103)  // past the kernels' 48-row blocks, with a tail
    }

    func checkOutlierChannelsStayFloat32(rows m: Int) {
        let k = 96, n = 70, ldy = 75
        let big: Set<Int> = [3, 40]
        let w = Tensor(shape: [n, k], values: (0..<(n * k)).map { _ in rng.nextFloat() * 0.2 })
        let b = Tensor(shape: [n], values: (0..<n).map { _ in rng.nextFloat() })
        let x = (0..<(m * k)).map { i in rng.nextFloat() * (big.contains(i % k) ? 120 : 2) }
        let fp = Linear(weight: w, bias: b)
        var ref = [Float](repeating: 0, count: m * n)
        fp.apply(x, rows: m, into: &ref)
        let maxAbs = (0..<k).map { c in (0..<m).map { abs(x[$0 * k + c]) }.max()! }
        XCTAssertEqual(QuantizedLinear.outliers(inputMaxAbs: maxAbs), big.sorted())
        let plain = QuantizedLinear(fp), split = QuantizedLinear(fp, inputMaxAbs: maxAbs)
        XCTAssertEqual(plain.outlierChannels, [])
        XCTAssertEqual(split.outlierChannels, big.sorted())
        let ws = Workspace()
        func maxError(_ q: QuantizedLinear, _ level: SIMDLevel) -> (Float, [Float]) {
            var y = [Float](repeating: -7, count: m * ldy)
            y.withUnsafeMutableBufferPointer { yp in
                x.withUnsafeBufferPointer { xp in
                    q.apply(xp.baseAddress!, rows: m, into: yp.baseAddress!, ldy: ldy, activation: .relu, workspace: ws, slot: 0, level: level)
                }
            }
            var e: Float = 0
            for r in 0..<m {
                for j in 0..<n { e = max(e, abs(y[r * ldy + j] - max(0, ref[r * n + j]))) }
                for j in n..<ldy { XCTAssertEqual(y[r * ldy + j], -7, "row \(r) padding \(j) written") }
            }
            return (e, y)
        }
        var first: [Float]? = nil
        for level in SIMDLevel.available {
            let (withOutliers, y) = maxError(split, level)
            let (without, _) = maxError(plain, level)
            XCTAssertLessThan(withOutliers, 0.05, "\(level.name), \(m) rows: outlier channels in float32")
            XCTAssertGreaterThan(without, 4 * withOutliers, "\(level.name), \(m) rows: the outliers hurt the plain int8 product")
            if let first { XCTAssertEqual(y, first, "\(level.name) differs from scalar") } else { first = y }
        }
    }
}
