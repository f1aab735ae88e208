import Foundation

/// The one place the engine creates and loads indexes; switch over here as index kinds land.
enum IndexFactory {
    /// A new, empty index.
    static func make(_ info: IndexInfo, dimension: Int, metric: Metric) throws -> VectorIndex {
        switch info.kind {
        case .flat:
            let unknown = info.params.keys.filter { !["nprobe", "ef"].contains($0) }
            guard unknown.isEmpty else { throw StoreError.invalidRequest("FLAT index takes no build parameters; got \(unknown.sorted().joined(separator: ", "))") }
            return ExactIndex(dimension: dimension, metric: metric)
        case .hnsw, .ivfFlat, .ivfSQ8:
            throw StoreError.indexUnavailable(info.kind)
        }
    }

    /// Loads an index file written by `VectorIndex.write(to:)`; throws when it is missing or invalid.
    static func load(_ info: IndexInfo, path: String, dimension: Int, metric: Metric) throws -> VectorIndex {
        switch info.kind {
        case .flat: return try ExactIndex.read(path: path, dimension: dimension, metric: metric)
        case .hnsw, .ivfFlat, .ivfSQ8: throw StoreError.indexUnavailable(info.kind)
        }
    }
}

/// An exact (brute-force) index holding its own copy of the vectors: the FLAT kind until the
/// Index module's `FlatIndex` replaces it.
final class ExactIndex: VectorIndex, @unchecked Sendable {
    let kind = IndexKind.flat
    let dimension: Int
    let metric: Metric
    private var rows: [UInt32] = []
    private var data: [Float] = []
    private var removed = Set<UInt32>()

    static let magic: [UInt8] = Array("QVIDXFL\0".utf8)

    init(dimension: Int, metric: Metric) { self.dimension = dimension; self.metric = metric }

    var count: Int { rows.count - removed.count }

    func add(rows r: [UInt32], vectors: UnsafeBufferPointer<Float>) throws {
        guard vectors.count == r.count * dimension else {
            throw StoreError.invalidRequest("index add: \(vectors.count) floats for \(r.count) rows of \(dimension)")
        }
        rows.append(contentsOf: r)
        if metric == .cosine {
            for i in 0..<r.count {
                data.append(contentsOf: ScanMath.normalized(Array(vectors[(i * dimension)..<((i + 1) * dimension)])))
            }
        } else {
            data.append(contentsOf: vectors)
        }
    }

    /// Rows arrive in ascending order, so membership is a binary search.
    func remove(row: UInt32) {
        var lo = 0, hi = rows.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if rows[mid] == row { removed.insert(row); return }
            if rows[mid] < row { lo = mid + 1 } else { hi = mid - 1 }
        }
    }

    func search(_ query: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit] {
        guard query.count == dimension else { throw StoreError.invalidRequest("query has \(query.count) values, index is \(dimension)-d") }
        var q = Array(query)
        if metric == .cosine { q = ScanMath.normalized(q) }
        var top = TopK(k: k, higherIsCloser: metric.higherIsCloser)
        let m: Metric = metric == .cosine ? .innerProduct : metric
        let anyRemoved = !removed.isEmpty
        q.withUnsafeBufferPointer { qp in
            data.withUnsafeBufferPointer { dp in
                for i in 0..<rows.count {
                    let r = rows[i]
                    if anyRemoved, removed.contains(r) { continue }
                    if let allow, !allow(r) { continue }
                    top.push(r, ScanMath.score(m, qp.baseAddress!, dp.baseAddress! + i * dimension, dimension))
                }
            }
        }
        return top.sorted()
    }

    func write(to path: String) throws {
        var w = ByteWriter(capacity: 64 + rows.count * (4 + 4 * dimension))
        w.raw(Self.magic); w.u32(1)
        var body = ByteWriter()
        body.u32(UInt32(dimension)); body.string(metric.rawValue)
        let live = (0..<rows.count).filter { !removed.contains(rows[$0]) }
        body.u64(UInt64(live.count))
        for i in live { body.u32(rows[i]) }
        for i in live { body.raw(data.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[(i * dimension * 4)..<((i + 1) * dimension * 4)]) }) }
        w.u64(UInt64(body.bytes.count)); w.raw(body.bytes); w.u32(CRC32C.checksum(body.bytes))
        try FileOps.atomicWrite(w.bytes, to: path)
    }

    static func read(path: String, dimension: Int, metric: Metric) throws -> ExactIndex {
        let region = try MappedRegion(path: path)
        let b = region.bytes
        func bad(_ r: String) -> StoreError { .corruptFile(path: path, reason: r) }
        guard b.count >= 24, Array(b[0..<8]) == magic else { throw bad("not a FLAT index file") }
        var r = ByteReader(b, offset: 8, path: path)
        guard try r.u32() == 1 else { throw bad("unknown FLAT index version") }
        let n = Int(try r.u64())
        let body = try r.raw(n)
        guard CRC32C.checksum(body) == (try r.u32()) else { throw bad("checksum mismatch") }
        var br = ByteReader(body, path: path)
        guard Int(try br.u32()) == dimension, try br.string() == metric.rawValue else { throw bad("dimension or metric differs from the field") }
        let count = Int(try br.u64())
        let idx = ExactIndex(dimension: dimension, metric: metric)
        for _ in 0..<count { idx.rows.append(try br.u32()) }
        idx.data = try br.floats(count * dimension)
        return idx
    }
}
