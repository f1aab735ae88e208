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

/// A vector index over rows numbered by the caller. Implementations: Flat, HNSW, IVF_FLAT, IVF_SQ8.
///
/// Vectors are float32, `dimension` wide, row-major. For COSINE the index normalizes what it
/// stores and each query itself. Thread safety: any number of concurrent `search` calls, with
/// `add`/`remove` serialized by the caller.
public protocol VectorIndex: AnyObject, Sendable {
    var kind: IndexKind { get }
    var dimension: Int { get }
    var metric: Metric { get }
    /// Rows present, tombstoned ones excluded.
    var count: Int { get }

    /// Adds `rows.count` vectors (`vectors.count == rows.count * dimension`).
    func add(rows: [UInt32], vectors: UnsafeBufferPointer<Float>) throws
    /// Tombstones a row: it is never returned again; `compact` reclaims its space.
    func remove(row: UInt32)
    /// The `k` closest rows to `query`, closest first, only rows for which `allow` is true when given.
    /// With a filter the result is still the true top-k among allowed rows for exact indexes, and
    /// best effort (with widening search) for approximate ones.
    func search(_ query: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit]
    /// Writes the index to `path` atomically (magic, version, header, checksum).
    func write(to path: String) throws
}
