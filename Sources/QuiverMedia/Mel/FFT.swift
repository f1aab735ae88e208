import Foundation

/// A complex discrete Fourier transform of one fixed length whose prime factors are small
/// (400 = 4·4·5·5 for Whisper), in double precision.
///
/// Mixed-radix Stockham decimation in frequency: each stage of radix `r` reads `r` inputs
/// `m = len/r` apart, applies the `r`-point DFT and the stage's twiddles, and writes them
/// interleaved, so the output comes out in natural order without a bit-reversal pass.
/// Forward sign: `X[k] = Σ_j x[j] exp(-2πi jk/n)`, unscaled (as `numpy.fft.fft`).
/// Immutable and `Sendable`; scratch memory is passed by the caller, so one plan serves many threads.
public struct ComplexFFT: Sendable {
    /// Transform length.
    public let count: Int
    /// Radices of the stages, in order (4s first, then 2, 3, 5, and any other prime).
    public let radices: [Int]
    /// Per stage: `exp(-2πi p u / n_s)` for `p < n_s / r`, `u < r` at `[p * r + u]` (re, im interleaved).
    private let twiddles: [[Double]]
    /// Per stage: `exp(-2πi k / r)` for `k < r` (re, im interleaved).
    private let roots: [[Double]]

    /// Plans a transform of `count` points. Any length works; large prime factors fall back to an
    /// O(r²) butterfly and are slow.
    public init(count: Int) {
        precondition(count >= 1, "FFT length must be positive, got \(count)")
        self.count = count
        var n = count
        var radices: [Int] = []
        while n % 4 == 0 { radices.append(4); n /= 4 }
        var f = 2
        while n > 1 {
            while n % f == 0 { radices.append(f); n /= f }
            f += 1
        }
        self.radices = radices
        var twiddles: [[Double]] = [], roots: [[Double]] = []
        var ns = count
        for r in radices {
            let m = ns / r
            var t = [Double](repeating: 0, count: 2 * m * r)
            for p in 0..<m {
                for u in 0..<r {
                    let angle = -2 * Double.pi * Double(p * u) / Double(ns)
                    t[2 * (p * r + u)] = cos(angle)
                    t[2 * (p * r + u) + 1] = sin(angle)
                }
            }
            twiddles.append(t)
            roots.append((0..<(2 * r)).map { i in
                let angle = -2 * Double.pi * Double(i / 2) / Double(r)
                return i % 2 == 0 ? cos(angle) : sin(angle)
            })
            ns = m
        }
        self.twiddles = twiddles
        self.roots = roots
    }

    /// Transforms `re`/`im` (`count` values each) in place. `workRe`/`workIm` are scratch of
    /// `count` values each.
    public func forward(re: UnsafeMutablePointer<Double>, im: UnsafeMutablePointer<Double>,
                        workRe: UnsafeMutablePointer<Double>, workIm: UnsafeMutablePointer<Double>) {
        var xr = re, xi = im, yr = workRe, yi = workIm
        var ns = count, s = 1
        for (stage, r) in radices.enumerated() {
            let m = ns / r
            twiddles[stage].withUnsafeBufferPointer { tw in
                roots[stage].withUnsafeBufferPointer { w in
                    switch r {
                    case 4: Self.radix4(xr, xi, yr, yi, m: m, s: s, tw: tw.baseAddress!)
                    case 2: Self.radix2(xr, xi, yr, yi, m: m, s: s, tw: tw.baseAddress!)
                    case 5: Self.radix5(xr, xi, yr, yi, m: m, s: s, tw: tw.baseAddress!)
                    default: Self.radixGeneric(r, xr, xi, yr, yi, m: m, s: s, tw: tw.baseAddress!, w: w.baseAddress!)
                    }
                }
            }
            swap(&xr, &yr); swap(&xi, &yi)
            ns = m; s *= r
        }
        if xr != re {
            re.update(from: xr, count: count)
            im.update(from: xi, count: count)
        }
    }

    @inline(__always)
    private static func radix2(_ xr: UnsafeMutablePointer<Double>, _ xi: UnsafeMutablePointer<Double>,
                               _ yr: UnsafeMutablePointer<Double>, _ yi: UnsafeMutablePointer<Double>,
                               m: Int, s: Int, tw: UnsafePointer<Double>) {
        for p in 0..<m {
            let wr = tw[2 * (2 * p + 1)], wi = tw[2 * (2 * p + 1) + 1]
            for q in 0..<s {
                let i0 = q + s * p, i1 = i0 + s * m
                let ar = xr[i0], ai = xi[i0], br = xr[i1], bi = xi[i1]
                let o = q + s * 2 * p
                yr[o] = ar + br; yi[o] = ai + bi
                let dr = ar - br, di = ai - bi
                yr[o + s] = dr * wr - di * wi; yi[o + s] = dr * wi + di * wr
            }
        }
    }

    @inline(__always)
    private static func radix4(_ xr: UnsafeMutablePointer<Double>, _ xi: UnsafeMutablePointer<Double>,
                               _ yr: UnsafeMutablePointer<Double>, _ yi: UnsafeMutablePointer<Double>,
                               m: Int, s: Int, tw: UnsafePointer<Double>) {
        for p in 0..<m {
            let t = tw + 8 * p
            let w1r = t[2], w1i = t[3], w2r = t[4], w2i = t[5], w3r = t[6], w3i = t[7]
            for q in 0..<s {
                let i0 = q + s * p, sm = s * m
                let a0r = xr[i0], a0i = xi[i0]
                let a1r = xr[i0 + sm], a1i = xi[i0 + sm]
                let a2r = xr[i0 + 2 * sm], a2i = xi[i0 + 2 * sm]
                let a3r = xr[i0 + 3 * sm], a3i = xi[i0 + 3 * sm]
                let s02r = a0r + a2r, s02i = a0i + a2i, d02r = a0r - a2r, d02i = a0i - a2i
                let s13r = a1r + a3r, s13i = a1i + a3i, d13r = a1r - a3r, d13i = a1i - a3i
                // b1 = d02 - i d13, b3 = d02 + i d13
                let b1r = d02r + d13i, b1i = d02i - d13r
                let b2r = s02r - s13r, b2i = s02i - s13i
                let b3r = d02r - d13i, b3i = d02i + d13r
                let o = q + s * 4 * p
                yr[o] = s02r + s13r; yi[o] = s02i + s13i
                yr[o + s] = b1r * w1r - b1i * w1i; yi[o + s] = b1r * w1i + b1i * w1r
                yr[o + 2 * s] = b2r * w2r - b2i * w2i; yi[o + 2 * s] = b2r * w2i + b2i * w2r
                yr[o + 3 * s] = b3r * w3r - b3i * w3i; yi[o + 3 * s] = b3r * w3i + b3i * w3r
            }
        }
    }

    private static let c1 = cos(2 * Double.pi / 5), c2 = cos(4 * Double.pi / 5)
    private static let s1 = sin(2 * Double.pi / 5), s2 = sin(4 * Double.pi / 5)

    @inline(__always)
    private static func radix5(_ xr: UnsafeMutablePointer<Double>, _ xi: UnsafeMutablePointer<Double>,
                               _ yr: UnsafeMutablePointer<Double>, _ yi: UnsafeMutablePointer<Double>,
                               m: Int, s: Int, tw: UnsafePointer<Double>) {
        let c1 = Self.c1, c2 = Self.c2, s1 = Self.s1, s2 = Self.s2
        for p in 0..<m {
            let t = tw + 10 * p
            for q in 0..<s {
                let i0 = q + s * p, sm = s * m
                let a0r = xr[i0], a0i = xi[i0]
                let t1r = xr[i0 + sm] + xr[i0 + 4 * sm], t1i = xi[i0 + sm] + xi[i0 + 4 * sm]
                let t2r = xr[i0 + 2 * sm] + xr[i0 + 3 * sm], t2i = xi[i0 + 2 * sm] + xi[i0 + 3 * sm]
                let t3r = xr[i0 + sm] - xr[i0 + 4 * sm], t3i = xi[i0 + sm] - xi[i0 + 4 * sm]
                let t4r = xr[i0 + 2 * sm] - xr[i0 + 3 * sm], t4i = xi[i0 + 2 * sm] - xi[i0 + 3 * sm]
                let m1r = a0r + c1 * t1r + c2 * t2r, m1i = a0i + c1 * t1i + c2 * t2i
                let m2r = a0r + c2 * t1r + c1 * t2r, m2i = a0i + c2 * t1i + c1 * t2i
                let n1r = s1 * t3r + s2 * t4r, n1i = s1 * t3i + s2 * t4i
                let n2r = s2 * t3r - s1 * t4r, n2i = s2 * t3i - s1 * t4i
                // b1 = m1 - i n1, b4 = m1 + i n1, b2 = m2 - i n2, b3 = m2 + i n2.
                let o = q + s * 5 * p
                yr[o] = a0r + t1r + t2r; yi[o] = a0i + t1i + t2i
                @inline(__always) func put(_ u: Int, _ br: Double, _ bi: Double) {
                    let wr = t[2 * u], wi = t[2 * u + 1]
                    yr[o + u * s] = br * wr - bi * wi
                    yi[o + u * s] = br * wi + bi * wr
                }
                put(1, m1r + n1i, m1i - n1r)
                put(2, m2r + n2i, m2i - n2r)
                put(3, m2r - n2i, m2i + n2r)
                put(4, m1r - n1i, m1i + n1r)
            }
        }
    }

    private static func radixGeneric(_ r: Int, _ xr: UnsafeMutablePointer<Double>, _ xi: UnsafeMutablePointer<Double>,
                                     _ yr: UnsafeMutablePointer<Double>, _ yi: UnsafeMutablePointer<Double>,
                                     m: Int, s: Int, tw: UnsafePointer<Double>, w: UnsafePointer<Double>) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * r) { a in
            let a = a.baseAddress!
            for p in 0..<m {
                for q in 0..<s {
                    let i0 = q + s * p
                    for t in 0..<r { a[2 * t] = xr[i0 + t * s * m]; a[2 * t + 1] = xi[i0 + t * s * m] }
                    let o = q + s * r * p
                    for u in 0..<r {
                        var br = 0.0, bi = 0.0
                        var k = 0
                        for t in 0..<r {
                            let cr = w[2 * k], ci = w[2 * k + 1]
                            br += a[2 * t] * cr - a[2 * t + 1] * ci
                            bi += a[2 * t] * ci + a[2 * t + 1] * cr
                            k += u
                            if k >= r { k -= r }
                        }
                        let twr = tw[2 * (p * r + u)], twi = tw[2 * (p * r + u) + 1]
                        yr[o + s * u] = br * twr - bi * twi
                        yi[o + s * u] = br * twi + bi * twr
                    }
                }
            }
        }
    }
}
