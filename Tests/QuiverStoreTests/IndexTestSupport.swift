import Foundation
@testable import QuiverStore

/// Deterministic test data for the index tests (SplitMix64, Box–Muller).
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func gaussian() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
}

enum TestData {
    /// `n` uniform random vectors in [-1, 1).
    static func random(_ n: Int, _ dim: Int, seed: UInt64) -> [Float] {
        var g = TestRNG(seed: seed)
        return (0..<(n * dim)).map { _ in g.uniform() * 2 - 1 }
    }

    /// `n` vectors around `clusters` Gaussian centres (spread 0.3 around unit-scale centres).
    static func clustered(_ n: Int, _ dim: Int, clusters: Int, seed: UInt64) -> [Float] {
        var g = TestRNG(seed: seed)
        let centres = (0..<(clusters * dim)).map { _ in g.gaussian() }
        var out = [Float](repeating: 0, count: n * dim)
        for i in 0..<n {
            let c = Int(g.next() % UInt64(clusters))
            for d in 0..<dim { out[i * dim + d] = centres[c * dim + d] + 0.3 * g.gaussian() }
        }
        return out
    }

    /// Naive score of `a` against `b` as Milvus reports it (double accumulation).
    static func naiveScore(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>, _ metric: Metric) -> Float {
        var dot = 0.0, aa = 0.0, bb = 0.0, l2 = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y)
            l2 += (Double(x) - Double(y)) * (Double(x) - Double(y))
        }
        switch metric {
        case .innerProduct: return Float(dot)
        case .cosine: return Float(dot / (aa.squareRoot() * bb.squareRoot()))
        case .l2: return Float(l2)
        }
    }

    /// Naive exact top-k: rows 0..<n (row i = vector i) passing `allow`, best first.
    static func naiveTopK(base: [Float], query: ArraySlice<Float>, dim: Int, metric: Metric, k: Int,
                          rows: [UInt32]? = nil, allow: ((UInt32) -> Bool)? = nil) -> [IndexHit] {
        let n = base.count / dim
        var hits: [IndexHit] = []
        for i in 0..<n {
            let r = rows?[i] ?? UInt32(i)
            if let allow, !allow(r) { continue }
            hits.append(IndexHit(row: r, score: naiveScore(query, base[i * dim..<(i + 1) * dim], metric)))
        }
        hits.sort { metric.higherIsCloser ? $0.score > $1.score : $0.score < $1.score }
        return Array(hits.prefix(k))
    }

    static func rows(_ n: Int) -> [UInt32] { (0..<n).map(UInt32.init) }

    /// Fraction of `truth` rows found in `got`.
    static func recall(_ got: [IndexHit], _ truth: [IndexHit]) -> Double {
        let t = Set(truth.map(\.row))
        return Double(got.filter { t.contains($0.row) }.count) / Double(max(1, truth.count))
    }

    static func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-index-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }
}

extension VectorIndex {
    func add(_ rows: [UInt32], _ v: [Float]) throws { try v.withUnsafeBufferPointer { try add(rows: rows, vectors: $0) } }
    func search(_ q: ArraySlice<Float>, k: Int, params: IndexParams = [:], allow: ((UInt32) -> Bool)? = nil) throws -> [IndexHit] {
        try Array(q).withUnsafeBufferPointer { try search($0, k: k, params: params, allow: allow) }
    }
}
