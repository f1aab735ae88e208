import CQuiverKernels
import Foundation

/// Distance kernels for exact scans (the SIMD kernels of CQuiverKernels, chosen at run time).
enum ScanMath {
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float { qk_dot_f32(a, b, n) }

    @inline(__always)
    static func l2sq(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float { qk_l2sq_f32(a, b, n) }

    /// Score of stored vector `v` against `q` (already normalized for COSINE).
    @inline(__always)
    static func score(_ metric: Metric, _ q: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ n: Int) -> Float {
        switch metric {
        case .innerProduct: return dot(q, v, n)
        case .l2: return l2sq(q, v, n)
        case .cosine:
            let nn = dot(v, v, n)
            return nn > 0 ? dot(q, v, n) / nn.squareRoot() : 0
        }
    }

    static func normalized(_ v: [Float]) -> [Float] {
        let n = v.withUnsafeBufferPointer { dot($0.baseAddress!, $0.baseAddress!, v.count) }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }
}

/// Keeps the best `k` (row, score) pairs.
struct ScanTopK {
    let k: Int
    let higherIsCloser: Bool
    private(set) var items: [IndexHit] = []

    init(k: Int, higherIsCloser: Bool) { self.k = k; self.higherIsCloser = higherIsCloser; items.reserveCapacity(k + 1) }

    @inline(__always) func better(_ a: Float, _ b: Float) -> Bool { higherIsCloser ? a > b : a < b }

    /// The score a candidate must beat once full.
    var bound: Float? { items.count == k ? items[0].score : nil }

    /// Heap with the worst item at the root.
    mutating func push(_ row: UInt32, _ score: Float) {
        guard k > 0 else { return }
        if items.count == k {
            guard better(score, items[0].score) else { return }
            items[0] = IndexHit(row: row, score: score)
            siftDown(0)
        } else {
            items.append(IndexHit(row: row, score: score))
            var c = items.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                guard better(items[p].score, items[c].score) else { break }
                items.swapAt(p, c); c = p
            }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var p = start
        while true {
            let l = 2 * p + 1, r = l + 1
            var w = p
            if l < items.count, better(items[w].score, items[l].score) { w = l }
            if r < items.count, better(items[w].score, items[r].score) { w = r }
            if w == p { return }
            items.swapAt(p, w); p = w
        }
    }

    /// Best first; ties broken by row number.
    func sorted() -> [IndexHit] {
        items.sorted { better($0.score, $1.score) || ($0.score == $1.score && $0.row < $1.row) }
    }
}
