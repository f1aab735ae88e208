import CQuiverKernels
import Foundation

/// A query made ready for the kernels: checked, copied and (COSINE) normalized.
struct PreparedQuery {
    var values: [Float]

    init(_ q: UnsafeBufferPointer<Float>, dimension: Int, metric: Metric) throws {
        if q.count != dimension { throw StoreError.dimensionMismatch(expected: dimension, got: q.count, what: "query") }
        values = Array(q)
        if metric == .cosine { values.withUnsafeMutableBufferPointer { _ = qk_normalize_f32($0.baseAddress, dimension) } }
    }
}

func checkK(_ k: Int) throws {
    if k < 1 || k > 1_000_000 { throw StoreError.invalidIndexParameter(name: "k", value: "\(k)", reason: "must lie in 1...1000000") }
}

func checkAdd(rows: [UInt32], vectors: UnsafeBufferPointer<Float>, dimension: Int, table: RowTable) throws {
    if vectors.count != rows.count * dimension {
        throw StoreError.dimensionMismatch(expected: rows.count * dimension, got: vectors.count, what: "vectors for \(rows.count) rows")
    }
    try table.checkNew(rows)
}

/// Key used inside heaps: larger is closer (negated squared distance for L2).
@inline(__always) func closenessKey(_ raw: Float, _ metric: Metric) -> Float { metric == .l2 ? -raw : raw }

/// Raw kernel value between a prepared query and a stored vector (dot or squared L2).
@inline(__always) func rawDistance(_ t: UnsafePointer<qk_distance_table>, _ metric: Metric,
                                   _ q: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ dim: Int) -> Float {
    metric == .l2 ? t.pointee.l2sq(q, v, dim) : t.pointee.dot(q, v, dim)
}

/// Exact top-k over an explicit list of slots (used for filtered search at low selectivity).
func exactOverSlots(_ slots: [Int32], query: UnsafePointer<Float>, vectors: VectorStorage, rows: RowTable,
                    metric: Metric, k: Int) -> TopK {
    let t = qk_distance()!
    var top = TopK(k: k)
    let dim = vectors.dimension
    for s in slots {
        let key = closenessKey(rawDistance(t, metric, query, vectors.row(Int(s)), dim), metric)
        top.push(key, rows.rowOfSlot[Int(s)])
    }
    return top
}

/// The live slots whose row passes `allow`.
func allowedSlots(_ rows: RowTable, _ allow: (UInt32) -> Bool) -> [Int32] {
    var out: [Int32] = []
    for s in 0..<rows.slots where !rows.isDead(s) && allow(rows.rowOfSlot[s]) { out.append(Int32(s)) }
    return out
}
