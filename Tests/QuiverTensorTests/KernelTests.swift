import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTensor

/// Each C kernel at every SIMD level this machine runs, against its scalar twin and against a
/// double-precision reference written here.
final class KernelTests: XCTestCase {
    var rng = SeededRandom(seed: 7)

    func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.nextFloat() * scale } }

    func assertClose(_ a: [Float], _ b: [Float], tol: Float, relative: Bool = false, _ what: String, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, line: line)
        var worst: Float = 0, at = 0
        for i in 0..<min(a.count, b.count) {
            let d = abs(a[i] - b[i]) / (relative ? max(abs(b[i]), 1e-30) : 1)
            if !(d <= worst) { worst = d; at = i }
        }
        XCTAssertLessThanOrEqual(worst, tol, "\(what): worst difference \(worst) at \(at) (\(a[at]) vs \(b[at]))", line: line)
    }

    func testLevelsIncludeScalarAndHardware() {
        XCTAssertTrue(SIMDLevel.available.contains(.scalar))
        XCTAssertTrue(SIMDLevel.available.contains(SIMDLevel.hardware))
        XCTAssertLessThanOrEqual(SIMDLevel.current, SIMDLevel.hardware)
    }

    func testExpMatchesLibmAtEveryLevel() {
        var x = randoms(1000, scale: 80)
        x += [0, -0.0, 1, -1, 87, -87, 88, -87.33, 0.5, 1e-8]
        let reference = x.map { Float(Foundation.exp(Double($0))) }
        for level in SIMDLevel.available {
            var y = [Float](repeating: 0, count: x.count)
            // Odd counts exercise the vector tails.
            for n in [x.count, 13, 7, 1] {
                Kernels.exp(x, out: &y, count: n, level: level)
                assertClose(Array(y.prefix(n)), Array(reference.prefix(n)), tol: 3e-7, relative: true, "exp \(level.name) n=\(n)")
            }
        }
    }

    func testActivationsMatchDefinitionsAndScalarTwin() {
        let rows = 5, cols = 37, ld = 40
        let x = randoms(rows * ld, scale: 6)
        let bias = randoms(cols)
        func reference(_ v: Double, _ act: Activation) -> Double {
            switch act {
            case .none: return v
            case .geluErf: return 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
            case .geluTanh: return 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
            case .relu: return max(v, 0)
            case .relu6: return min(max(v, 0), 6)
            case .quickGelu: return v / (1 + Foundation.exp(-1.702 * v))
            case .silu: return v / (1 + Foundation.exp(-v))
            }
        }
        for act in [Activation.none, .geluErf, .geluTanh, .relu, .relu6, .quickGelu, .silu] {
            var expected = x
            for r in 0..<rows { for c in 0..<cols { expected[r * ld + c] = Float(reference(Double(x[r * ld + c] + bias[c]), act)) } }
            var scalar: [Float] = []
            for level in SIMDLevel.available {
                var y = x
                Kernels.biasActivation(&y, rows: rows, cols: cols, ld: ld, bias: bias, activation: act, level: level)
                // Padding columns between rows must stay untouched.
                for r in 0..<rows { for c in cols..<ld { XCTAssertEqual(y[r * ld + c], x[r * ld + c]) } }
                assertClose(y, expected, tol: 2e-6, "\(act) \(level.name) vs definition")
                if level == .scalar { scalar = y } else { assertClose(y, scalar, tol: 1e-6, "\(act) \(level.name) vs scalar") }
            }
        }
    }

    func testLayerNormWithResidualAndBias() {
        for cols in [384, 37, 1] {
            let rows = 4
            let x = randoms(rows * cols, scale: 3), res = randoms(rows * cols), bias = randoms(cols)
            let gamma = randoms(cols), beta = randoms(cols)
            let eps: Float = 1e-12
            var expected = [Float](repeating: 0, count: rows * cols)
            for r in 0..<rows {
                let s = (0..<cols).map { Double(x[r * cols + $0]) + Double(bias[$0]) + Double(res[r * cols + $0]) }
                let mean = s.reduce(0, +) / Double(cols)
                let variance = s.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
                for c in 0..<cols {
                    expected[r * cols + c] = Float((s[c] - mean) / (variance + Double(eps)).squareRoot() * Double(gamma[c]) + Double(beta[c]))
                }
            }
            var scalar: [Float] = []
            for level in SIMDLevel.available {
                // out aliases residual, as the encoders use it.
                var out = res
                Kernels.layerNorm(x, bias: bias, residual: out, out: &out, rows: rows, cols: cols,
                                  gamma: gamma, beta: beta, eps: eps, level: level)
                let tol: Float = cols == 1 ? 1e-6 : 2e-5
                assertClose(out, expected, tol: tol, "layernorm cols=\(cols) \(level.name) vs double")
                if level == .scalar { scalar = out } else { assertClose(out, scalar, tol: 1e-5, "layernorm \(level.name) vs scalar") }
            }
        }
    }

    func testSoftmaxRows() {
        for cols in [1, 7, 16, 33, 300] {
            let rows = 3
            let x = randoms(rows * cols, scale: 20)
            var expected = x
            for r in 0..<rows {
                let row = (0..<cols).map { Double(x[r * cols + $0]) }
                let m = row.max()!
                let e = row.map { Foundation.exp($0 - m) }
                let s = e.reduce(0, +)
                for c in 0..<cols { expected[r * cols + c] = Float(e[c] / s) }
            }
            for level in SIMDLevel.available {
                var y = x
                Kernels.softmaxRows(&y, rows: rows, cols: cols, level: level)
                assertClose(y, expected, tol: 1e-6, "softmax cols=\(cols) \(level.name)")
            }
        }
    }

    func testAttentionMatchesNaiveDoubleAtEveryLevel() {
        // Interleaved [q | k | v] rows as a fused projection writes them, with and without a bias.
        for (qLen, kvLen, heads, headDim, useBias) in [(5, 5, 3, 32, false), (17, 17, 2, 64, true), (1, 40, 2, 20, true), (33, 3, 1, 8, false)] {
            let hidden = heads * headDim, ld = 3 * hidden
            let rowsNeeded = max(qLen, kvLen)
            let qkv = randoms(rowsNeeded * ld)
            // The bias is a larger table read through strides (as MPNet's shared relative-position table is).
            let bRows = qLen + 3, bCols = kvLen + 5
            let bias = useBias ? randoms(heads * bRows * bCols, scale: 2) : nil
            let scale = 1 / Float(headDim).squareRoot()
            var expected = [Float](repeating: 0, count: qLen * hidden)
            for h in 0..<heads {
                for i in 0..<qLen {
                    var s = (0..<kvLen).map { j -> Double in
                        var d = 0.0
                        for e in 0..<headDim { d += Double(qkv[i * ld + h * headDim + e]) * Double(qkv[j * ld + hidden + h * headDim + e]) }
                        return d * Double(scale) + (bias.map { Double($0[(h * bRows + i) * bCols + j]) } ?? 0)
                    }
                    let m = s.max()!
                    s = s.map { Foundation.exp($0 - m) }
                    let sum = s.reduce(0, +)
                    for e in 0..<headDim {
                        var o = 0.0
                        for j in 0..<kvLen { o += s[j] / sum * Double(qkv[j * ld + 2 * hidden + h * headDim + e]) }
                        expected[i * hidden + h * headDim + e] = Float(o)
                    }
                }
            }
            var scalar: [Float] = []
            for level in SIMDLevel.available {
                var out = [Float](repeating: .nan, count: qLen * hidden)
                var scratch = [Float](repeating: .nan, count: Kernels.attentionScratchCount(kvLength: kvLen, headDim: headDim))
                qkv.withUnsafeBufferPointer { p in
                    let base = p.baseAddress!
                    let b = bias
                    b.withOptionalPointer { bp in
                        Kernels.attention(q: base, ldQ: ld, k: base + hidden, v: base + 2 * hidden, ldKV: ld, out: &out, ldOut: hidden,
                                          qLength: qLen, kvLength: kvLen, heads: heads, headDim: headDim, scale: scale,
                                          bias: bp, biasHeadStride: bRows * bCols, biasRowStride: bCols,
                                          scratch: &scratch, level: level)
                    }
                }
                assertClose(out, expected, tol: 2e-6, "attention q\(qLen) kv\(kvLen) h\(heads)x\(headDim) \(level.name) vs double")
                if level == .scalar { scalar = out } else { assertClose(out, scalar, tol: 2e-6, "attention \(level.name) vs scalar") }
            }
        }
    }

    func testLinearAndMatmul() {
        let x = Tensor(shape: [3, 4], values: randoms(12))
        let w = Tensor(shape: [5, 4], values: randoms(20))
        let b = Tensor(shape: [5], values: randoms(5))
        let y = Linear(weight: w, bias: b)(x, activation: .relu)
        XCTAssertEqual(y.shape, [3, 5])
        for i in 0..<3 {
            for o in 0..<5 {
                var s = Double(b[o])
                for k in 0..<4 { s += Double(x[i, k]) * Double(w[o, k]) }
                XCTAssertEqual(y[i, o], Float(max(s, 0)), accuracy: 1e-5)
            }
        }
        let m = x.matmul(w, transposeOther: true)
        XCTAssertEqual(m.shape, [3, 5])
        XCTAssertEqual(m[2, 4], (0..<4).map { x[2, $0] * w[4, $0] }.reduce(0, +), accuracy: 1e-5)
    }
}

extension Optional where Wrapped == [Float] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case let .some(a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}
