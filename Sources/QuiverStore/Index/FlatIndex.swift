import CQuiverKernels
import Foundation

/// Exact (brute-force) search: every stored vector is compared with the query using the SIMD
/// kernels, in cache-sized blocks, with a top-k heap. Large scans and batches run on all cores.
///
/// Memory: `count × dimension × 4` bytes of vectors (plus 4 bytes a row of norms for L2 batches).
///
/// Results are exact, filtered or not. Takes no search parameters (any key is an error).
public final class FlatIndex: VectorIndex, @unchecked Sendable {
    /// Always ``IndexKind/flat``.
    public let kind: IndexKind = .flat
    /// Floats per vector.
    public let dimension: Int
    /// How vectors are compared.
    public let metric: Metric

    private let lock = IndexLock()
    private var vectors: VectorStorage
    private var rows = RowTable()
    /// Squared norms per slot (L2 only, for batch search through dot products); lazily filled.
    private var norms: [Float] = []

    /// Rows per block of a scan (fits the L2 cache next to a batch of queries).
    static let blockRows = 512
    /// Below this many floats compared, a search runs on one core.
    static let parallelThreshold = 1 << 21

    /// An empty index of `dimension`-wide vectors compared with `metric`.
    /// - Throws: `StoreError.invalidIndexParameter` when `dimension` is outside 1...65536.
    public init(dimension: Int, metric: Metric) throws {
        if dimension < 1 || dimension > 65536 {
            throw StoreError.invalidIndexParameter(name: "dimension", value: "\(dimension)", reason: "must lie in 1...65536")
        }
        self.dimension = dimension
        self.metric = metric
        vectors = VectorStorage(dimension: dimension)
    }

    init(file: MappedIndexFile) throws {
        let h = file.header
        dimension = h.dimension
        metric = h.metric
        let rowIDs = try file.section(.rows, UInt32.self, count: h.slots)
        let dead = try file.section(.dead, UInt64.self, count: (h.slots + 63) / 64)
        let vecs = try file.section(.vectors, Float.self, count: h.slots * h.dimension)
        rows = RowTable(rows: Array(rowIDs), dead: Array(dead))
        if rows.live != h.live { throw file.corrupt("header says \(h.live) live rows, tombstones leave \(rows.live)") }
        if rows.slotOfRow.count + rows.deadCount != h.slots { throw file.corrupt("ROWS repeats a row number") }
        vectors = VectorStorage(dimension: dimension, count: h.slots, mapped: vecs.baseAddress ?? UnsafePointer(bitPattern: 64)!, mapping: file)
    }

    /// Rows present, removed ones excluded.
    public var count: Int { lock.read { rows.live } }
    /// Vector capacity × dimension × 4 bytes, 16 bytes a slot of row bookkeeping, and the L2
    /// norm cache; removed rows count until `compact`.
    public var memoryBytes: Int { lock.read { vectors.capacity * dimension * 4 + rows.slots * 16 + norms.count * 4 } }
    /// True when `row` was added and not removed.
    public func contains(row: UInt32) -> Bool { lock.read { rows.contains(row) } }

    /// Appends the vectors (COSINE: normalized) under the writer lock; O(rows × dimension).
    /// - Throws: `StoreError.dimensionMismatch`, `.duplicateIndexRow` (nothing is added then).
    public func add(rows newRows: [UInt32], vectors v: UnsafeBufferPointer<Float>) throws {
        try lock.write {
            try checkAdd(rows: newRows, vectors: v, dimension: dimension, table: rows)
            guard let base = v.baseAddress else { return }
            vectors.reserve(vectors.count + newRows.count)
            for (i, r) in newRows.enumerated() {
                vectors.append(base + i * dimension, normalize: metric == .cosine)
                _ = rows.append(r)
            }
            norms.removeAll()
        }
    }

    /// Tombstones `row` (its vector stays in memory until `compact`); unknown rows are ignored.
    public func remove(row: UInt32) { lock.write { _ = rows.remove(row) } }

    /// Copies the live vectors into fresh storage, dropping removed rows. Never throws.
    public func compact() throws {
        lock.write {
            if rows.deadCount == 0 { return }
            let fresh = VectorStorage(dimension: dimension, capacity: rows.live)
            var table = RowTable()
            for s in 0..<rows.slots where !rows.isDead(s) {
                fresh.append(vectors.row(s), normalize: false)
                _ = table.append(rows.rowOfSlot[s])
            }
            vectors = fresh
            rows = table
            norms.removeAll()
        }
    }

    /// Exact top-`k`: every live vector (every allowed one when `allow` is given) is scored.
    /// Scans of 2²¹ floats or more without a filter are split over all cores.
    /// - Throws: `StoreError.invalidIndexParameter` for any key in `params` or `k` outside
    ///   1...1 000 000; `.dimensionMismatch` for a query of another width.
    public func search(_ query: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit] {
        try validateParams(params, allowed: [:])
        try checkK(k)
        let q = try PreparedQuery(query, dimension: dimension, metric: metric)
        return lock.read {
            q.values.withUnsafeBufferPointer { qp in searchLocked(qp.baseAddress!, k: k, allow: allow).sortedHits(metric: metric) }
        }
    }

    /// Exact range search: every live, allowed row with score >= `radius` (IP/COSINE) or squared
    /// distance <= `radius` (L2), the best `limit` of them, best first.
    /// - Throws: as ``search(_:k:params:allow:)``, with `limit` in place of `k`.
    public func rangeSearch(_ query: UnsafeBufferPointer<Float>, radius: Float, limit: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit] {
        try validateParams(params, allowed: [:])
        try checkK(limit)
        let q = try PreparedQuery(query, dimension: dimension, metric: metric)
        return lock.read {
            q.values.withUnsafeBufferPointer { qp in
                let t = qk_distance()!
                var top = TopK(k: limit)
                for s in 0..<rows.slots where !rows.isDead(s) {
                    let raw = rawDistance(t, metric, qp.baseAddress!, vectors.row(s), dimension)
                    let score = raw
                    if !withinRadius(score, radius) { continue }
                    let r = rows.rowOfSlot[s]
                    if let allow, !allow(r) { continue }
                    top.push(closenessKey(raw, metric), r)
                }
                return top.sortedHits(metric: metric)
            }
        }
    }

    /// Exact top-k of one prepared query; the caller holds the read lock.
    func searchLocked(_ q: UnsafePointer<Float>, k: Int, allow: ((UInt32) -> Bool)?) -> TopK {
        if let allow {
            return exactOverSlots(allowedSlots(rows, allow), query: q, vectors: vectors, rows: rows, metric: metric, k: k)
        }
        let n = rows.slots
        let workers = n * dimension >= Self.parallelThreshold ? indexWorkerCount : 1
        if workers == 1 { return scan(q, 0..<n, k: k) }
        var parts = [TopK](repeating: TopK(k: k), count: workers)
        let chunk = (n + workers - 1) / workers
        parts.withUnsafeMutableBufferPointer { pp in
            let out = pp.baseAddress!
            parallelWorkers(workers) { w in
                let lo = min(n, w * chunk), hi = min(n, lo + chunk)
                out[w] = scan(q, lo..<hi, k: k)
            }
        }
        var top = parts[0]
        for p in parts.dropFirst() { top.merge(p) }
        return top
    }

    /// Blocked scan of `range` with the one-to-many kernels.
    private func scan(_ q: UnsafePointer<Float>, _ range: Range<Int>, k: Int) -> TopK {
        let t = qk_distance()!.pointee
        var top = TopK(k: k)
        let block = Self.blockRows
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { buf in
            let out = buf.baseAddress!
            var start = range.lowerBound
            while start < range.upperBound {
                let n = min(block, range.upperBound - start)
                if metric == .l2 { t.l2sq_many(q, vectors.row(start), n, dimension, out) }
                else { t.dot_many(q, vectors.row(start), n, dimension, out) }
                let neg = metric == .l2
                var thr = top.threshold
                for i in 0..<n {
                    let key = neg ? -out[i] : out[i]
                    if key > thr && !rows.isDead(start + i) {
                        top.push(key, rows.rowOfSlot[start + i])
                        thr = top.threshold
                    }
                }
                start += n
            }
        }
        return top
    }

    /// Batched exact search: queries × blocks of rows through the register-blocked kernel,
    /// split over the cores by queries. Results as `search`, one list per query.
    ///
    /// With a filter or fewer than 4 queries each query runs as `search`. Otherwise L2 distances
    /// are computed as |q|² + |x|² − 2 q·x (the stored norms are cached on first use, briefly
    /// under the writer lock), so they can differ from `search` in the last bits and come out
    /// slightly negative for near-identical vectors.
    /// - Throws: `StoreError.dimensionMismatch` when `queries.count` is not a multiple of
    ///   `dimension`; `.invalidIndexParameter` as for `search`.
    public func searchBatch(_ queries: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [[IndexHit]] {
        try validateParams(params, allowed: [:])
        try checkK(k)
        if queries.count % dimension != 0 {
            throw StoreError.dimensionMismatch(expected: dimension, got: queries.count % dimension, what: "query batch remainder")
        }
        let nq = queries.count / dimension
        if nq == 0 { return [] }
        var qs = Array(queries)
        if metric == .cosine {
            qs.withUnsafeMutableBufferPointer { p in for i in 0..<nq { qk_normalize_f32(p.baseAddress! + i * dimension, dimension) } }
        }
        if allow != nil || nq < 4 {
            return lock.read {
                qs.withUnsafeBufferPointer { p in
                    (0..<nq).map { searchLocked(p.baseAddress! + $0 * dimension, k: k, allow: allow).sortedHits(metric: metric) }
                }
            }
        }
        if metric == .l2 { lock.write { fillNorms() } }
        return lock.read {
            var tops = [TopK](repeating: TopK(k: k), count: nq)
            qs.withUnsafeBufferPointer { qp in
                tops.withUnsafeMutableBufferPointer { tp in
                    let workers = min(indexWorkerCount, (nq + 3) / 4)
                    let per = ((nq + workers - 1) / workers + 3) / 4 * 4
                    let qbase = qp.baseAddress!, tbase = tp.baseAddress!
                    parallelWorkers(workers) { w in
                        let lo = min(nq, w * per), hi = min(nq, lo + per)
                        if lo < hi { batchScan(qbase, lo..<hi, tbase) }
                    }
                }
            }
            return tops.map { $0.sortedHits(metric: metric) }
        }
    }

    private func fillNorms() {
        if norms.count == rows.slots { return }
        let t = qk_distance()!.pointee
        norms = (0..<rows.slots).map { t.dot(vectors.row($0), vectors.row($0), dimension) }
    }

    /// Scores queries `qrange` against every slot, 64 queries × `blockRows` rows at a time.
    private func batchScan(_ qs: UnsafePointer<Float>, _ qrange: Range<Int>, _ tops: UnsafeMutablePointer<TopK>) {
        let t = qk_distance()!.pointee
        let qBlock = 64, rBlock = Self.blockRows
        let n = rows.slots
        let l2 = metric == .l2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: qBlock * rBlock + qBlock) { buf in
            let out = buf.baseAddress!, qn = out + qBlock * rBlock
            var q0 = qrange.lowerBound
            while q0 < qrange.upperBound {
                let nqb = min(qBlock, qrange.upperBound - q0)
                if l2 { for i in 0..<nqb { qn[i] = t.dot(qs + (q0 + i) * dimension, qs + (q0 + i) * dimension, dimension) } }
                var r0 = 0
                while r0 < n {
                    let nr = min(rBlock, n - r0)
                    t.dot_batch(qs + q0 * dimension, nqb, vectors.row(r0), nr, dimension, out)
                    for i in 0..<nqb {
                        let row = out + i * nr
                        var thr = tops[q0 + i].threshold
                        for j in 0..<nr {
                            // L2: -(|q|² + |x|² - 2 q·x)
                            let key = l2 ? 2 * row[j] - norms[r0 + j] - qn[i] : row[j]
                            if key > thr && !rows.isDead(r0 + j) {
                                tops[q0 + i].push(key, rows.rowOfSlot[r0 + j])
                                thr = tops[q0 + i].threshold
                            }
                        }
                    }
                    r0 += nr
                }
                q0 += nqb
            }
        }
    }

    /// Writes the index file: header (no parameters) and the ROWS, DEAD and VECS sections
    /// (format in ``IndexFileFormat``), atomically.
    /// - Throws: `StoreError.indexFile` naming the file and the failed step.
    public func write(to path: String) throws {
        try lock.read {
            var w = IndexFileWriter(header: IndexFileHeader(kind: .flat, metric: metric, dimension: dimension, slots: rows.slots, live: rows.live))
            try rows.rowOfSlot.withUnsafeBytes { rb in
                try rows.dead.withUnsafeBytes { db in
                    w.add(.rows, rb)
                    w.add(.dead, UnsafeRawBufferPointer(rebasing: db[0..<((rows.slots + 63) / 64) * 8]))
                    w.add(.vectors, UnsafeRawBufferPointer(start: vectors.base, count: vectors.bytes))
                    try w.write(to: path)
                }
            }
        }
    }
}
