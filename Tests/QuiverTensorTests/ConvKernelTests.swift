import Foundation
import QuiverTestSupport
import XCTest
@testable import QuiverTensor

/// The convolution kernels (depthwise, max pool, average pool, residual add) at every SIMD level
/// against their scalar twin and a double-precision reference, and `Conv2D` (im2col + GEMM,
/// BatchNorm folding, padding modes, threads) against a direct convolution written here.
final class ConvKernelTests: XCTestCase {
    var rng = SeededRandom(seed: 11)

    func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.nextFloat() * scale } }

    func assertClose(_ a: [Float], _ b: [Float], tol: Float, _ what: String, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, line: line)
        var worst: Float = 0, at = 0
        for i in 0..<min(a.count, b.count) where !(abs(a[i] - b[i]) <= worst) { worst = abs(a[i] - b[i]); at = i }
        XCTAssertLessThanOrEqual(worst, tol, "\(what): worst difference \(worst) at \(at) (\(a[at]) vs \(b[at]))", line: line)
    }

    /// Direct convolution in double precision. `x` NHWC [h, w, ci], `weight` PyTorch
    /// [co, ci/groups, kh, kw]; returns NHWC [oh, ow, co] before bias/activation.
    func directConv(_ x: [Float], h: Int, w: Int, ci: Int, weight: [Float], co: Int, kh: Int, kw: Int, stride: Int,
                    padTop: Int, padLeft: Int, oh: Int, ow: Int, depthwise: Bool) -> [Double] {
        var y = [Double](repeating: 0, count: oh * ow * co)
        let cig = depthwise ? 1 : ci
        for oy in 0..<oh { for ox in 0..<ow { for o in 0..<co {
            var s = 0.0
            for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * stride - padTop + ky, ix = ox * stride - padLeft + kx
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                for c in 0..<cig {
                    let inC = depthwise ? o : c
                    s += Double(x[(iy * w + ix) * ci + inC]) * Double(weight[((o * cig + c) * kh + ky) * kw + kx])
                }
            } }
            y[(oy * ow + ox) * co + o] = s
        } } }
        return y
    }

    func testDepthwiseMatchesScalarTwinAndReference() {
        for (c, k, stride, h, w) in [(5, 3, 1, 7, 6), (37, 5, 2, 9, 11), (70, 3, 2, 8, 8), (96, 5, 1, 6, 5)] {
            let x = randoms(h * w * c), wt = randoms(k * k * c, scale: 0.5), b = randoms(c)
            let pad = k / 2, oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1
            // Reference with the kernel's [kh, kw, c] layout transposed back to PyTorch's [c, 1, kh, kw].
            var torchW = [Float](repeating: 0, count: c * k * k)
            for ch in 0..<c { for t in 0..<(k * k) { torchW[ch * k * k + t] = wt[t * c + ch] } }
            let ref = directConv(x, h: h, w: w, ci: c, weight: torchW, co: c, kh: k, kw: k, stride: stride,
                                 padTop: pad, padLeft: pad, oh: oh, ow: ow, depthwise: true)
            let expected = ref.enumerated().map { Float(min(max($0.element + Double(b[$0.offset % c]), 0), 6)) }
            var scalar: [Float] = []
            for level in SIMDLevel.available {
                var y = [Float](repeating: .nan, count: oh * ow * c)
                ConvKernels.depthwiseConv2d(x, height: h, width: w, channels: c, weight: wt, bias: b, kernelHeight: k, kernelWidth: k,
                                            stride: stride, padTop: pad, padLeft: pad, out: &y, outHeight: oh, outWidth: ow,
                                            lo: 0, hi: 6, level: level)
                assertClose(y, expected, tol: 2e-5, "depthwise c=\(c) k=\(k) s=\(stride) \(level.name) vs reference")
                if level == .scalar { scalar = y } else { assertClose(y, scalar, tol: 2e-6, "depthwise \(level.name) vs scalar") }
            }
        }
    }

    func testMaxPoolAveragePoolAndAddClampMatchScalarTwin() {
        for c in [3, 16, 21, 64] {
            let h = 9, w = 7
            let x = randoms(h * w * c)
            let oh = pooledSize(h, kernel: 3, stride: 2, padding: 1), ow = pooledSize(w, kernel: 3, stride: 2, padding: 1)
            var expected = [Float](repeating: -.infinity, count: oh * ow * c)
            for oy in 0..<oh { for ox in 0..<ow { for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                for ch in 0..<c { expected[(oy * ow + ox) * c + ch] = max(expected[(oy * ow + ox) * c + ch], x[(iy * w + ix) * c + ch]) }
            } } } }
            var mean = [Float](repeating: 0, count: c)
            for ch in 0..<c { mean[ch] = Float((0..<(h * w)).reduce(0.0) { $0 + Double(x[$1 * c + ch]) } / Double(h * w)) }
            let y2 = randoms(h * w * c)
            let added = zip(x, y2).map { min(max($0 + $1, 0), 6) }
            for level in SIMDLevel.available {
                var y = [Float](repeating: .nan, count: oh * ow * c)
                ConvKernels.maxPool2d(x, height: h, width: w, channels: c, kernel: 3, stride: 2, padding: 1, out: &y, outHeight: oh, outWidth: ow, level: level)
                XCTAssertEqual(y, expected, "maxpool c=\(c) \(level.name)")
                var m = [Float](repeating: .nan, count: c)
                ConvKernels.globalAveragePool(x, pixels: h * w, channels: c, out: &m, level: level)
                assertClose(m, mean, tol: 1e-6, "average pool c=\(c) \(level.name)")
                var s = x
                ConvKernels.addClamp(&s, y2, count: s.count, lo: 0, hi: 6, level: level)
                XCTAssertEqual(s, added, "add+clamp c=\(c) \(level.name)")
            }
        }
    }

    func testDenseConvWithBatchNormPaddingModesAndThreads() {
        let cases: [(ci: Int, co: Int, k: Int, stride: Int, padding: Conv2D.Padding, h: Int, w: Int)] = [
            (3, 8, 7, 2, .symmetric(3), 15, 13),   // ResNet stem
            (6, 5, 3, 1, .symmetric(1), 6, 7),
            (4, 9, 1, 1, .symmetric(0), 5, 5),     // read in place
            (4, 9, 1, 2, .symmetric(0), 7, 6),     // strided shortcut
            (5, 7, 3, 2, .same, 8, 9),             // TF SAME, stride 2: extra pixel at bottom/right
            (5, 7, 5, 2, .same, 7, 7),
        ]
        for t in cases {
            let x = randoms(t.h * t.w * t.ci), wt = randoms(t.co * t.ci * t.k * t.k, scale: 0.3), bias = randoms(t.co)
            let bn = BatchNorm(weight: randoms(t.co), bias: randoms(t.co), runningMean: randoms(t.co),
                               runningVar: randoms(t.co).map { abs($0) + 0.1 }, eps: 1e-3)
            let conv = Conv2D(weight: Tensor(shape: [t.co, t.ci, t.k, t.k], values: wt), bias: Tensor(shape: [t.co], values: bias),
                              batchNorm: bn, stride: t.stride, padding: t.padding, activation: .relu)
            let g = conv.geometry(height: t.h, width: t.w)
            if t.padding == .same {
                XCTAssertEqual(g.outHeight, (t.h + t.stride - 1) / t.stride)
                let total = max((g.outHeight - 1) * t.stride + t.k - t.h, 0)
                XCTAssertEqual(g.padTop, total / 2)
            }
            let ref = directConv(x, h: t.h, w: t.w, ci: t.ci, weight: wt, co: t.co, kh: t.k, kw: t.k, stride: t.stride,
                                 padTop: g.padTop, padLeft: g.padLeft, oh: g.outHeight, ow: g.outWidth, depthwise: false)
            let residual = randoms(g.outHeight * g.outWidth * t.co)
            func expected(withResidual: Bool) -> [Float] {
                ref.enumerated().map { i, v in
                    let c = i % t.co
                    let s = Double(bn.weight[c]) / (Double(bn.runningVar[c]) + 1e-3).squareRoot()
                    let y = (v + Double(bias[c]) - Double(bn.runningMean[c])) * s + Double(bn.bias[c]) + (withResidual ? Double(residual[i]) : 0)
                    return Float(max(y, 0))
                }
            }
            var scratch = [Float](repeating: 0, count: max(conv.scratchCount(height: t.h, width: t.w), 1))
            for threads in [1, 3] {
                var y = [Float](repeating: .nan, count: g.outHeight * g.outWidth * t.co)
                conv.apply(x, height: t.h, width: t.w, into: &y, scratch: &scratch, threads: threads)
                assertClose(y, expected(withResidual: false), tol: 2e-5, "conv \(t) threads \(threads)")
                var acc = residual
                conv.apply(x, height: t.h, width: t.w, into: &acc, accumulate: true, scratch: &scratch, threads: threads)
                assertClose(acc, expected(withResidual: true), tol: 2e-5, "conv+residual \(t) threads \(threads)")
            }
        }
    }

    func testDepthwiseConv2DLayerSamePaddingAndNonClampActivation() {
        let c = 12, k = 5, h = 9, w = 10
        let x = randoms(h * w * c), wt = randoms(c * k * k, scale: 0.3)
        for (stride, act) in [(2, Activation.relu6), (1, Activation.silu)] {
            let conv = Conv2D(weight: Tensor(shape: [c, 1, k, k], values: wt), stride: stride, padding: .same, groups: c, activation: act)
            XCTAssertTrue(conv.isDepthwise)
            XCTAssertEqual(conv.scratchCount(height: h, width: w), 0)
            let g = conv.geometry(height: h, width: w)
            let ref = directConv(x, h: h, w: w, ci: c, weight: wt, co: c, kh: k, kw: k, stride: stride,
                                 padTop: g.padTop, padLeft: g.padLeft, oh: g.outHeight, ow: g.outWidth, depthwise: true)
            let expected = ref.map { v -> Float in
                act == .relu6 ? Float(min(max(v, 0), 6)) : Float(v / (1 + Foundation.exp(-v)))
            }
            for threads in [1, 2] {
                var y = [Float](repeating: .nan, count: expected.count)
                conv.apply(x, height: h, width: w, into: &y, scratch: nil, threads: threads)
                assertClose(y, expected, tol: 2e-5, "depthwise layer stride \(stride) \(act) threads \(threads)")
            }
        }
    }
}
