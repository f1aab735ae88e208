import CQuiverKernels
import Foundation

/// k-means for IVF coarse quantizers: k-means++ initialization on a seeded sample, Lloyd
/// iterations with batch assignment through the register-blocked dot kernel on all cores.
/// Clustering is Euclidean; with `spherical` the centroids are re-normalized (COSINE).
enum KMeans {
    /// `k` centroids (k × dim, row-major) of the `n` vectors at `data`.
    static func train(_ data: UnsafePointer<Float>, n: Int, dim: Int, k: Int, iterations: Int,
                      spherical: Bool, rng: inout SplitMix64) -> [Float] {
        precondition(n >= k && k >= 1)
        var centroids = plusPlus(data, n: n, dim: dim, k: k, rng: &rng)
        var assign = [Int32](repeating: 0, count: n)
        for _ in 0..<iterations {
            centroids.withUnsafeBufferPointer { c in
                assign.withUnsafeMutableBufferPointer { a in
                    nearest(data, n: n, dim: dim, centroids: c.baseAddress!, k: k, l2: true, out: a.baseAddress!)
                }
            }
            var sums = [Double](repeating: 0, count: k * dim)
            var counts = [Int](repeating: 0, count: k)
            for i in 0..<n {
                let c = Int(assign[i]); counts[c] += 1
                let v = data + i * dim
                for d in 0..<dim { sums[c * dim + d] += Double(v[d]) }
            }
            for c in 0..<k {
                if counts[c] == 0 {
                    // Empty cluster: restart it on a random point.
                    let p = data + rng.below(n) * dim
                    for d in 0..<dim { centroids[c * dim + d] = p[d] }
                    continue
                }
                let inv = 1 / Double(counts[c])
                for d in 0..<dim { centroids[c * dim + d] = Float(sums[c * dim + d] * inv) }
            }
            if spherical {
                centroids.withUnsafeMutableBufferPointer { p in for c in 0..<k { qk_normalize_f32(p.baseAddress! + c * dim, dim) } }
            }
        }
        return centroids
    }

    /// k-means++: each next centre drawn with probability proportional to its squared distance
    /// to the nearest centre so far (on at most 16·k points).
    static func plusPlus(_ data: UnsafePointer<Float>, n: Int, dim: Int, k: Int, rng: inout SplitMix64) -> [Float] {
        let m = min(n, max(k * 16, 1024))
        // An evenly spread, seeded subset of the sample.
        let offset = rng.below(n)
        let pick = (0..<m).map { (offset + Int((Double($0) * Double(n) / Double(m)))) % n }
        var centroids = [Float](repeating: 0, count: k * dim)
        var dist = [Float](repeating: .infinity, count: m)
        let t = qk_distance()!.pointee
        var chosen = pick[rng.below(m)]
        for c in 0..<k {
            let src = data + chosen * dim
            for d in 0..<dim { centroids[c * dim + d] = src[d] }
            if c == k - 1 { break }
            var total = 0.0
            for i in 0..<m {
                let d2 = t.l2sq(src, data + pick[i] * dim, dim)
                if d2 < dist[i] { dist[i] = d2 }
                total += Double(dist[i])
            }
            if total <= 0 { chosen = pick[rng.below(m)]; continue }
            var target = rng.unit() * total
            chosen = pick[m - 1]
            for i in 0..<m {
                target -= Double(dist[i])
                if target <= 0 { chosen = pick[i]; break }
            }
        }
        return centroids
    }

    /// For each of `n` vectors the index of the closest centroid: minimum squared L2 (`l2`) or
    /// maximum dot product. Parallel over the cores, 64 vectors × 256 centroids per kernel call.
    static func nearest(_ data: UnsafePointer<Float>, n: Int, dim: Int, centroids: UnsafePointer<Float>, k: Int,
                        l2: Bool, out: UnsafeMutablePointer<Int32>) {
        let t = qk_distance()!.pointee
        let cn = (0..<k).map { l2 ? t.dot(centroids + $0 * dim, centroids + $0 * dim, dim) : 0 }
        let workers = n * k * dim >= 1 << 22 ? indexWorkerCount : 1
        let chunk = (n + workers - 1) / workers
        let o = UncheckedSendable(out)
        cn.withUnsafeBufferPointer { cnp in
            parallelWorkers(workers) { w in
                let lo = min(n, w * chunk), hi = min(n, lo + chunk)
                let qb = 64, cb = 256
                var best = [Float](repeating: 0, count: qb)
                var scores = [Float](repeating: 0, count: qb * cb)
                var i = lo
                while i < hi {
                    let nq = min(qb, hi - i)
                    for j in 0..<nq { best[j] = -.infinity }
                    var c0 = 0
                    while c0 < k {
                        let nc = min(cb, k - c0)
                        scores.withUnsafeMutableBufferPointer { s in
                            t.dot_batch(data + i * dim, nq, centroids + c0 * dim, nc, dim, s.baseAddress!)
                            for j in 0..<nq {
                                for c in 0..<nc {
                                    // Closeness: 2 x·c − |c|² for L2 (|x|² is common), x·c otherwise.
                                    let v = l2 ? 2 * s[j * nc + c] - cnp[c0 + c] : s[j * nc + c]
                                    if v > best[j] { best[j] = v; o.value[i + j] = Int32(c0 + c) }
                                }
                            }
                        }
                        c0 += nc
                    }
                    i += nq
                }
            }
        }
    }
}
