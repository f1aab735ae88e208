import Foundation
import QuiverTensor

/// Multi-head attention of a fixed set of query rows over keys that arrive in blocks, with a
/// running ("online") softmax: for each head and query row it keeps the largest score seen `m`,
/// the sum of `exp(score - m)` and the `exp`-weighted sum of value rows. A new block's scores are
/// one GEMM (`queries x keysᵀ`), the update of the weighted sums another; earlier sums are
/// rescaled by `exp(m_old - m_new)` when the maximum grows. The result equals the softmax over all
/// keys at once, but only a `[queries, block]` score matrix exists at any time.
///
/// Two states over disjoint key sets merge exactly (``merge(_:)``), so key blocks can be split
/// across threads.
final class OnlineAttention {
    let queries: Int
    let heads: Int
    let qkPerHead: Int
    let vPerHead: Int
    /// `[heads, queries]` running maxima.
    private var maxima: [Float]
    /// `[heads, queries]` running sums of exponentials.
    private var sums: [Float]
    /// `[queries, heads * vPerHead]` running weighted sums of values.
    private(set) var accumulated: [Float]
    private var scores: [Float] = []

    init(queries: Int, heads: Int, qkPerHead: Int, vPerHead: Int) {
        self.queries = queries
        self.heads = heads
        self.qkPerHead = qkPerHead
        self.vPerHead = vPerHead
        maxima = [Float](repeating: -.infinity, count: heads * queries)
        sums = [Float](repeating: 0, count: heads * queries)
        accumulated = [Float](repeating: 0, count: queries * heads * vPerHead)
    }

    /// Floats of the score buffer for blocks of `keys` rows (for memory accounting).
    static func scoreFloats(queries: Int, keys: Int) -> Int { queries * keys }

    /// Adds `count` key rows (`k` rows `ldK` apart, head `h` in columns `h*qkPerHead ..<`) and
    /// their value rows (`v`, `ldV` apart, head `h` in columns `h*vPerHead ..<`) for heads `headRange`.
    /// `q` holds the query rows (`ldQ` apart), already multiplied by the score scale.
    func add(q: UnsafePointer<Float>, ldQ: Int, k: UnsafePointer<Float>, ldK: Int, v: UnsafePointer<Float>, ldV: Int,
             count: Int, headRange: Range<Int>? = nil) {
        guard count > 0 else { return }
        let n = queries, width = heads * vPerHead
        if scores.count < n * count { scores = [Float](repeating: 0, count: n * count) }
        scores.withUnsafeMutableBufferPointer { sp in
            maxima.withUnsafeMutableBufferPointer { mp in
                sums.withUnsafeMutableBufferPointer { lp in
                    accumulated.withUnsafeMutableBufferPointer { ap in
                        let s = sp.baseAddress!, acc = ap.baseAddress!
                        for h in headRange ?? 0..<heads {
                            BLAS.gemm(transB: true, m: n, n: count, k: qkPerHead, a: q + h * qkPerHead, lda: ldQ,
                                      b: k + h * qkPerHead, ldb: ldK, c: s, ldc: count)
                            for i in 0..<n {
                                let row = s + i * count
                                var blockMax = -Float.infinity
                                for j in 0..<count where row[j] > blockMax { blockMax = row[j] }
                                let old = mp[h * n + i], new = max(old, blockMax)
                                for j in 0..<count { row[j] -= new }
                                Kernels.exp(row, out: row, count: count)
                                var total: Float = 0
                                for j in 0..<count { total += row[j] }
                                let rescale = old == -.infinity ? 0 : exp(old - new)
                                lp[h * n + i] = lp[h * n + i] * rescale + total
                                mp[h * n + i] = new
                                if rescale != 1 {
                                    let a = acc + i * width + h * vPerHead
                                    for c in 0..<vPerHead { a[c] *= rescale }
                                }
                            }
                            BLAS.gemm(m: n, n: vPerHead, k: count, a: s, lda: count, b: v + h * vPerHead, ldb: ldV,
                                      beta: 1, c: acc + h * vPerHead, ldc: width)
                        }
                    }
                }
            }
        }
    }

    /// Folds in the state of the same queries over other keys.
    func merge(_ other: OnlineAttention) {
        let n = queries, width = heads * vPerHead
        for h in 0..<heads {
            for i in 0..<n {
                let a = maxima[h * n + i], b = other.maxima[h * n + i]
                let m = max(a, b)
                guard m > -.infinity else { continue }
                let ra = a == -.infinity ? 0 : exp(a - m), rb = b == -.infinity ? 0 : exp(b - m)
                sums[h * n + i] = sums[h * n + i] * ra + other.sums[h * n + i] * rb
                maxima[h * n + i] = m
                for c in 0..<vPerHead {
                    let idx = i * width + h * vPerHead + c
                    accumulated[idx] = accumulated[idx] * ra + other.accumulated[idx] * rb
                }
            }
        }
    }

    /// The attention output, `queries` rows of `heads * vPerHead` (weighted sums over the sums of
    /// weights), `ldOut` floats apart.
    func result(into out: UnsafeMutablePointer<Float>, ldOut: Int) {
        let n = queries, width = heads * vPerHead
        for i in 0..<n {
            for h in 0..<heads {
                let inv = 1 / sums[h * n + i]
                for c in 0..<vPerHead { out[i * ldOut + h * vPerHead + c] = accumulated[i * width + h * vPerHead + c] * inv }
            }
        }
    }
}

