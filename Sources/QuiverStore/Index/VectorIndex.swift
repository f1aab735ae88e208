import Foundation

/// How vectors are compared. Scores follow Milvus: for IP and COSINE a similarity (higher is
/// closer); for L2 the squared Euclidean distance (lower is closer).
///
/// The raw values are Milvus' metric names.
public enum Metric: String, Sendable, Codable, CaseIterable {
    /// Cosine similarity in -1...1, higher is closer. Vectors are normalized to unit length
    /// (indexes store them normalized; a zero vector stays zero and scores 0).
    case cosine = "COSINE"
    /// Inner (dot) product, higher is closer; vectors are used as given (for unit vectors it
    /// equals the cosine).
    case innerProduct = "IP"
    /// Squared Euclidean distance Σ(qᵢ − vᵢ)², lower is closer (no square root, as Milvus).
    case l2 = "L2"

    /// True when a larger score means a closer vector.
    public var higherIsCloser: Bool { self != .l2 }
}

/// Kinds of index; the raw values are Milvus' index type names.
public enum IndexKind: String, Sendable, Codable, CaseIterable {
    /// Exact brute-force search (``FlatIndex``); no build parameters.
    case flat = "FLAT"
    /// Hierarchical navigable small-world graph (``HNSWIndex``): approximate, fast, memory for
    /// the vectors plus the links.
    case hnsw = "HNSW"
    /// Inverted file with float vectors (``IVFFlatIndex``): k-means lists, exact scores inside
    /// the probed lists.
    case ivfFlat = "IVF_FLAT"
    /// Inverted file with 8-bit scalar-quantized codes (``IVFSQ8Index``): a quarter of the
    /// vector memory, approximate scores.
    case ivfSQ8 = "IVF_SQ8"
}

/// One result: the row (the index's dense internal number, assigned by the caller) and its score.
public struct IndexHit: Sendable, Hashable {
    /// The caller's row number given to ``VectorIndex/add(rows:vectors:)``.
    public var row: UInt32
    /// The score in the units of ``Metric``: similarity for COSINE/IP, squared distance for L2.
    /// Approximate for IVF_SQ8 without re-ranking (computed from the 8-bit codes).
    public var score: Float
    /// A hit.
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
    /// The index type (stored in its file).
    var kind: IndexKind { get }
    /// Floats per vector (1...65536).
    var dimension: Int { get }
    /// How vectors are compared and what scores mean.
    var metric: Metric { get }
    /// Rows present, tombstoned ones excluded.
    var count: Int { get }

    /// Adds `rows.count` vectors (`vectors.count == rows.count * dimension`).
    ///
    /// The vectors are copied (COSINE: normalized first). Takes the writer lock: concurrent
    /// searches wait until the batch is in.
    /// - Parameters:
    ///   - rows: the caller's row numbers, each distinct and not present in the index (a
    ///     removed row number may be added again).
    ///   - vectors: `rows.count × dimension` floats, row-major.
    /// - Throws: `StoreError.dimensionMismatch`, `.duplicateIndexRow` (nothing is added then).
    func add(rows: [UInt32], vectors: UnsafeBufferPointer<Float>) throws
    /// Tombstones a row: it is never returned again; `compact` reclaims its space.
    /// A row number that is not in the index is ignored.
    func remove(row: UInt32)
    /// The `k` closest rows to `query`, closest first, only rows for which `allow` is true when given.
    /// With a filter the result is still the true top-k among allowed rows for exact indexes, and
    /// best effort (with widening search) for approximate ones.
    ///
    /// - Parameters:
    ///   - query: `dimension` floats (COSINE: need not be normalized).
    ///   - k: the number of hits wanted, 1...1 000 000; fewer come back when fewer rows qualify.
    ///   - params: search parameters of the kind (HNSW `ef`, IVF `nprobe`; FLAT takes none).
    ///   - allow: a row filter, called under the index's read lock (possibly for every row); it
    ///     must not call back into the index.
    /// - Returns: hits best first, ties by row number; scores in ``Metric`` units.
    /// - Throws: `StoreError.dimensionMismatch` for a query of another width,
    ///   `.invalidIndexParameter` for `k` out of range or an unknown or out-of-range parameter.
    func search(_ query: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit]
    /// Writes the index to `path` atomically (magic, version, header, checksum).
    ///
    /// The file (format in ``IndexFileFormat``) is written beside `path` under a temporary name,
    /// fsync'd and renamed over `path`, and the directory fsync'd: after a crash `path` holds the
    /// old or the new index, never a mix. Searches may run meanwhile; `add`/`remove` wait.
    /// ``IndexFiles/load(path:)`` reads it back.
    /// - Throws: `StoreError.indexFile` naming the file and the failed step.
    func write(to path: String) throws

    /// True when `row` is present (not removed).
    func contains(row: UInt32) -> Bool
    /// Searches `queries.count / dimension` queries at once (row-major); one result list per query.
    /// - Throws: `StoreError.dimensionMismatch` when `queries.count` is not a multiple of
    ///   `dimension`; otherwise as `search`.
    func searchBatch(_ queries: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [[IndexHit]]
    /// Every row within `radius` of `query`, closest first: score >= radius for IP/COSINE,
    /// squared distance <= radius for L2. Approximate indexes search as for top-`limit` and keep
    /// those inside the radius; `limit` caps the result size.
    /// - Throws: as ``search(_:k:params:allow:)`` (`limit` must lie in 1...1 000 000).
    func rangeSearch(_ query: UnsafeBufferPointer<Float>, radius: Float, limit: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit]
    /// Rebuilds the index without tombstoned rows (same rows, same parameters).
    ///
    /// Holds the writer lock for the whole rebuild (searches wait). Does nothing when no row
    /// was removed. IVF keeps its centroids; HNSW rebuilds the graph.
    /// - Throws: `StoreError.invalidIndexParameter` (name `rows`) when memory for a new HNSW
    ///   graph cannot be allocated.
    func compact() throws
    /// Approximate bytes held (vectors, graph, lists, codes); vectors of a loaded index count
    /// even while they are still pages of the memory-mapped file.
    var memoryBytes: Int { get }
}

extension VectorIndex {
    /// Runs `search` for each query in turn (``FlatIndex`` overrides this with a blocked,
    /// multi-core kernel).
    /// - Throws: `StoreError.dimensionMismatch` when `queries.count` is not a multiple of
    ///   `dimension`, or the first error of `search`.
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
