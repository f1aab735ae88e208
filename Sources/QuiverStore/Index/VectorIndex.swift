import Foundation

/// How vectors are compared. Scores follow Milvus: for IP and COSINE a similarity (higher is
/// closer); for L2 the squared Euclidean distance (lower is closer).
public enum Metric: String, Sendable, Codable, CaseIterable {
    case cosine = "COSINE"
    case innerProduct = "IP"
    case l2 = "L2"

    /// True when a larger score means a closer vector.
    public var higherIsCloser: Bool { self != .l2 }
}

/// Kinds of index.
public enum IndexKind: String, Sendable, Codable, CaseIterable {
    case flat = "FLAT"
    case hnsw = "HNSW"
    case ivfFlat = "IVF_FLAT"
    case ivfSQ8 = "IVF_SQ8"
}

/// One result: the row (the index's dense internal number, assigned by the caller) and its score.
public struct IndexHit: Sendable, Hashable {
    public var row: UInt32
    public var score: Float
    public init(row: UInt32, score: Float) { self.row = row; self.score = score }
}

/// Search-time parameters (`ef` for HNSW, `nprobe` for IVF); unknown keys are an error.
public typealias IndexParams = [String: Double]

/// A vector index over rows numbered by the caller. Implementations: `FlatIndex`, `HNSWIndex`,
/// `IVFFlatIndex`, `IVFSQ8Index`; `IndexFiles.load(path:)` opens any of them from a file.
///
/// Vectors are float32, `dimension` wide, row-major. For COSINE the index normalizes what it
/// stores and each query itself. Thread safety: any number of concurrent `search` calls; `add`,
/// `remove` and `compact` take an internal writer lock (the caller may still serialize them).
public protocol VectorIndex: AnyObject, Sendable {
    var kind: IndexKind { get }
    var dimension: Int { get }
    var metric: Metric { get }
    /// Rows present, tombstoned ones excluded.
    var count: Int { get }

    /// Adds `rows.count` vectors (`vectors.count == rows.count * dimension`).
    /// - Throws: `StoreError.dimensionMismatch`, `.duplicateIndexRow` (nothing is added then).
    func add(rows: [UInt32], vectors: UnsafeBufferPointer<Float>) throws
    /// Tombstones a row: it is never returned again; `compact` reclaims its space.
    func remove(row: UInt32)
    /// The `k` closest rows to `query`, closest first, only rows for which `allow` is true when given.
    /// With a filter the result is still the true top-k among allowed rows for exact indexes, and
    /// best effort (with widening search) for approximate ones.
    func search(_ query: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit]
    /// Writes the index to `path` atomically (magic, version, header, checksum).
    func write(to path: String) throws

    /// True when `row` is present (not removed).
    func contains(row: UInt32) -> Bool
    /// Searches `queries.count / dimension` queries at once (row-major); one result list per query.
    func searchBatch(_ queries: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [[IndexHit]]
    /// Every row within `radius` of `query`, closest first: score >= radius for IP/COSINE,
    /// squared distance <= radius for L2. Approximate indexes search as for top-`limit` and keep
    /// those inside the radius; `limit` caps the result size.
    func rangeSearch(_ query: UnsafeBufferPointer<Float>, radius: Float, limit: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit]
    /// Rebuilds the index without tombstoned rows (same rows, same parameters).
    func compact() throws
    /// Approximate bytes held (vectors, graph, lists, codes); vectors of a loaded index count
    /// even while they are still pages of the memory-mapped file.
    var memoryBytes: Int { get }
}

extension VectorIndex {
    public func searchBatch(_ queries: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [[IndexHit]] {
        if queries.count % dimension != 0 {
            throw StoreError.dimensionMismatch(expected: dimension, got: queries.count % dimension, what: "query batch remainder")
        }
        let n = queries.count / dimension
        var out: [[IndexHit]] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            out.append(try search(UnsafeBufferPointer(rebasing: queries[i * dimension..<(i + 1) * dimension]), k: k, params: params, allow: allow))
        }
        return out
    }

    /// True when `score` lies within `radius` for this metric.
    @inline(__always) func withinRadius(_ score: Float, _ radius: Float) -> Bool {
        metric.higherIsCloser ? score >= radius : score <= radius
    }
}

/// Checks search parameters: only `allowed` keys, each a finite number within `range`.
func validateParams(_ params: IndexParams, allowed: [String: ClosedRange<Double>]) throws {
    for (key, value) in params {
        guard let range = allowed[key] else {
            let known = allowed.keys.sorted().joined(separator: ", ")
            throw StoreError.invalidIndexParameter(name: key, value: "\(value)", reason: known.isEmpty ? "this index takes no search parameters" : "unknown key; expected one of \(known)")
        }
        if !value.isFinite || !range.contains(value) {
            throw StoreError.invalidIndexParameter(name: key, value: "\(value)", reason: "must lie in \(range.lowerBound)...\(range.upperBound)")
        }
    }
}
