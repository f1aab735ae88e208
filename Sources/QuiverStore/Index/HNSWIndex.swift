import CQuiverKernels
import Foundation

/// Approximate search on a hierarchical navigable small-world graph (the graph and its search
/// loop are in C: `qk_hnsw.h`).
///
/// Build parameters: `M` links per node (2·M on level 0), `efConstruction` candidates while
/// linking, `seed` for the level generator. Search parameter: `ef` (candidate list size, ≥ k;
/// default `max(k, 64)`). Batches of 256+ vectors are inserted on all cores.
/// Removed rows are tombstoned: still traversed, never returned; `compact()` rebuilds without them.
/// Filtered search estimates the filter's selectivity on a sample: below 5 % (or on small
/// indexes) it searches the allowed rows exactly, otherwise it filters the graph's results with
/// `ef` widened by 1/selectivity, and falls back to exact when fewer than `k` rows come back.
///
/// Memory: the vectors (`dimension × 4` bytes a row) plus `(1 + 2·M) × 4` bytes of level-0 links
/// a row and `(1 + M) × 4` bytes per upper level of a row.
public final class HNSWIndex: VectorIndex, @unchecked Sendable {
    /// Always ``IndexKind/hnsw``.
    public let kind: IndexKind = .hnsw
    /// Floats per vector.
    public let dimension: Int
    /// How vectors are compared (the graph uses squared L2 or negated dot products).
    public let metric: Metric
    /// Links per node on upper levels (2·M on level 0), 2...128; higher improves recall and
    /// costs memory and build time.
    public let M: Int
    /// Candidates considered while linking a new node, 1...4096; higher improves graph quality
    /// and costs build time.
    public let efConstruction: Int
    /// Seed of the level generator: the same seed and insertion order give the same levels.
    public let seed: UInt64

    private let lock = IndexLock()
    private var vectors: VectorStorage
    private var rows = RowTable()
    private var graph: OpaquePointer
    private var rng: SplitMix64

    /// Filtered searches below this estimated selectivity go exact.
    static let exactSelectivity = 0.05
    /// Indexes with at most this many rows answer filtered searches exactly.
    static let exactRows = 4096
    /// Batches at least this large are inserted in parallel.
    static let parallelBatch = 256

    /// An empty graph. `M` in 2...128, `efConstruction` in 1...4096.
    /// - Parameters:
    ///   - dimension: floats per vector, 1...65536.
    ///   - metric: comparison.
    ///   - M: links per node (default 16, as Milvus).
    ///   - efConstruction: build candidate list size (default 200).
    ///   - seed: level generator seed.
    /// - Throws: `StoreError.invalidIndexParameter` naming the parameter out of range.
    public init(dimension: Int, metric: Metric, M: Int = 16, efConstruction: Int = 200, seed: UInt64 = 42) throws {
        if dimension < 1 || dimension > 65536 { throw StoreError.invalidIndexParameter(name: "dimension", value: "\(dimension)", reason: "must lie in 1...65536") }
        if M < 2 || M > 128 { throw StoreError.invalidIndexParameter(name: "M", value: "\(M)", reason: "must lie in 2...128") }
        if efConstruction < 1 || efConstruction > 4096 {
            throw StoreError.invalidIndexParameter(name: "efConstruction", value: "\(efConstruction)", reason: "must lie in 1...4096")
        }
        self.dimension = dimension
        self.metric = metric
        self.M = M
        self.efConstruction = efConstruction
        self.seed = seed
        rng = SplitMix64(seed: seed)
        vectors = VectorStorage(dimension: dimension)
        guard let g = qk_hnsw_create(dimension, metric == .l2 ? 1 : 0, M, efConstruction) else {
            throw StoreError.invalidIndexParameter(name: "M", value: "\(M)", reason: "out of memory creating the graph")
        }
        graph = g
    }

    init(file: MappedIndexFile) throws {
        let h = file.header
        dimension = h.dimension
        metric = h.metric
        let p = h.params
        guard (2...128).contains(p[0]), (1...4096).contains(p[1]) else {
            throw file.corrupt("HNSW parameters out of range (M \(p[0]), efConstruction \(p[1]))")
        }
        M = Int(p[0]); efConstruction = Int(p[1])
        let entry = Int64(bitPattern: p[2]), maxLevel = Int64(bitPattern: p[3])
        seed = p[4]
        rng = SplitMix64(seed: p[5])
        let rowIDs = try file.section(.rows, UInt32.self, count: h.slots)
        let dead = try file.section(.dead, UInt64.self, count: (h.slots + 63) / 64)
        let vecs = try file.section(.vectors, Float.self, count: h.slots * h.dimension)
        let levels = try file.section(.levels, UInt8.self, count: h.slots)
        let links0 = try file.section(.links0, UInt32.self, count: h.slots * (1 + 2 * M))
        let upperLen = levels.reduce(0) { $0 + Int($1) } * (1 + M)
        let upper = try file.section(.upper, UInt32.self, count: upperLen)
        rows = RowTable(rows: Array(rowIDs), dead: Array(dead))
        if rows.live != h.live { throw file.corrupt("header says \(h.live) live rows, tombstones leave \(rows.live)") }
        if rows.slotOfRow.count + rows.deadCount != h.slots { throw file.corrupt("ROWS repeats a row number") }
        vectors = VectorStorage(dimension: dimension, count: h.slots, mapped: vecs.baseAddress ?? UnsafePointer(bitPattern: 64)!, mapping: file)
        guard let g = qk_hnsw_create(dimension, metric == .l2 ? 1 : 0, M, efConstruction) else {
            throw file.corrupt("out of memory creating the graph")
        }
        graph = g
        guard maxLevel >= -1 && maxLevel < 256 else { qk_hnsw_free(g); throw file.corrupt("max level \(maxLevel) out of range") }
        let rc = qk_hnsw_restore(g, h.slots, levels.baseAddress, links0.baseAddress, upper.baseAddress, upperLen, entry, Int32(maxLevel))
        if rc != 0 {
            qk_hnsw_free(g)
            let what = [-1: "bad level", -2: "a node has more links than M allows", -3: "a link points outside the graph",
                        -4: "upper-level links do not match the levels", -5: "bad entry point", -6: "out of memory"][Int(rc)] ?? "code \(rc)"
            throw file.corrupt("graph invalid: \(what)")
        }
        qk_hnsw_set_vectors(g, vectors.base)
    }

    deinit { qk_hnsw_free(graph) }

    /// Rows present, removed ones excluded.
    public var count: Int { lock.read { rows.live } }
    /// True when `row` was added and not removed.
    public func contains(row: UInt32) -> Bool { lock.read { rows.contains(row) } }
    /// Vectors plus level-0 and upper-level links and row bookkeeping; removed rows count until
    /// `compact`.
    public var memoryBytes: Int {
        lock.read {
            var upper = 0
            for s in 0..<rows.slots { upper += Int(qk_hnsw_level(graph, UInt32(s))) * (1 + M) * 4 }
            let linkBytes = rows.slots * (1 + 2 * M) * 4 + upper + rows.slots * 10
            return vectors.capacity * dimension * 4 * (vectors.capacity > 0 ? 1 : 0) + linkBytes + rows.slots * 16
        }
    }

    /// Draws a node level: floor(-ln(U) / ln(M)).
    private func drawLevel() -> Int {
        min(Int(-log(rng.unit()) / log(Double(M))), 32)
    }

    /// Inserts the vectors (COSINE: normalized) into the graph under the writer lock; batches of
    /// 256 or more are linked on all cores (the first 64 nodes of a graph always one by one).
    /// - Throws: `StoreError.dimensionMismatch`, `.duplicateIndexRow` (nothing is added then);
    ///   `.invalidIndexParameter` (name `rows`) when the graph cannot grow (out of memory).
    public func add(rows newRows: [UInt32], vectors v: UnsafeBufferPointer<Float>) throws {
        try lock.write {
            try checkAdd(rows: newRows, vectors: v, dimension: dimension, table: rows)
            guard let src = v.baseAddress, !newRows.isEmpty else { return }
            let first = vectors.count
            vectors.reserve(first + newRows.count)
            for (i, r) in newRows.enumerated() {
                vectors.append(src + i * dimension, normalize: metric == .cosine)
                _ = rows.append(r)
            }
            if qk_hnsw_reserve(graph, vectors.capacity) != 0 {
                throw StoreError.invalidIndexParameter(name: "rows", value: "\(newRows.count)", reason: "out of memory growing the graph")
            }
            qk_hnsw_set_vectors(graph, vectors.base)
            let levels = (0..<newRows.count).map { _ in Int32(drawLevel()) }
            try insert(first: first, levels: levels)
        }
    }

    private func insert(first: Int, levels: [Int32]) throws {
        let n = levels.count
        let g = UncheckedSendable(graph)
        var failed = false
        // The first nodes go in one by one so the parallel phase starts from a connected graph.
        let serial = min(n, max(0, 64 - first))
        for i in 0..<serial where qk_hnsw_insert(graph, UInt32(first + i), levels[i]) != 0 { failed = true }
        let rest = n - serial
        let workers = rest >= Self.parallelBatch ? indexWorkerCount : 1
        var fails = [Bool](repeating: false, count: workers)
        fails.withUnsafeMutableBufferPointer { fp in
            let out = fp.baseAddress!
            levels.withUnsafeBufferPointer { lp in
                parallelWorkers(workers) { w in
                    var i = serial + w
                    while i < n {
                        if qk_hnsw_insert(g.value, UInt32(first + i), lp[i]) != 0 { out[w] = true }
                        i += workers
                    }
                }
            }
        }
        if failed || fails.contains(true) {
            throw StoreError.invalidIndexParameter(name: "rows", value: "\(n)", reason: "out of memory inserting into the graph")
        }
    }

    /// Tombstones `row`: the node stays in the graph for navigation but is never returned.
    /// Unknown rows are ignored.
    public func remove(row: UInt32) { lock.write { _ = rows.remove(row) } }

    /// Builds a new graph from the live rows (fresh levels from the generator), replacing the
    /// old one; searches wait meanwhile.
    /// - Throws: `StoreError.invalidIndexParameter` (name `rows`) when memory runs out (the old
    ///   graph is kept when the new one cannot be allocated; not when linking fails part-way).
    public func compact() throws {
        try lock.write {
            if rows.deadCount == 0 { return }
            let live = (0..<rows.slots).filter { !rows.isDead($0) }
            let fresh = VectorStorage(dimension: dimension, capacity: live.count)
            var table = RowTable()
            for s in live {
                fresh.append(vectors.row(s), normalize: false)
                _ = table.append(rows.rowOfSlot[s])
            }
            guard let g = qk_hnsw_create(dimension, metric == .l2 ? 1 : 0, M, efConstruction), qk_hnsw_reserve(g, max(1, live.count)) == 0 else {
                throw StoreError.invalidIndexParameter(name: "rows", value: "\(live.count)", reason: "out of memory rebuilding the graph")
            }
            qk_hnsw_free(graph)
            graph = g
            vectors = fresh
            rows = table
            qk_hnsw_set_vectors(graph, vectors.base)
            try insert(first: 0, levels: live.map { _ in Int32(drawLevel()) })
        }
    }

    private func ef(_ params: IndexParams, k: Int) throws -> Int {
        try validateParams(params, allowed: ["ef": 1...32768])
        try checkK(k)
        return max(k, Int(params["ef"] ?? 64))
    }

    /// Approximate top-`k` by graph search with a candidate list of `max(k, ef)` (`ef` from
    /// `params`, 1...32768, default 64). With `allow`, see the type's notes on filtered search.
    /// - Throws: `StoreError.invalidIndexParameter` for a key other than `ef`, `ef` out of range
    ///   or `k` outside 1...1 000 000; `.dimensionMismatch` for a query of another width.
    public func search(_ query: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit] {
        let ef = try ef(params, k: k)
        let q = try PreparedQuery(query, dimension: dimension, metric: metric)
        return lock.read {
            q.values.withUnsafeBufferPointer { searchLocked($0.baseAddress!, k: k, ef: ef, allow: allow).sortedHits(metric: metric) }
        }
    }

    /// The top-`limit` search, keeping the hits within `radius`: rows inside the radius that are
    /// not among the `limit` best found are missed.
    /// - Throws: as ``search(_:k:params:allow:)``.
    public func rangeSearch(_ query: UnsafeBufferPointer<Float>, radius: Float, limit: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit] {
        try search(query, k: limit, params: params, allow: allow).filter { withinRadius($0.score, radius) }
    }

    /// One prepared query under the read lock.
    func searchLocked(_ q: UnsafePointer<Float>, k: Int, ef: Int, allow: ((UInt32) -> Bool)?) -> TopK {
        let live = rows.live
        if live == 0 { return TopK(k: k) }
        guard let allow else { return graphSearch(q, k: k, ef: ef, allow: nil) }
        if live <= Self.exactRows { return exactOverSlots(allowedSlots(rows, allow), query: q, vectors: vectors, rows: rows, metric: metric, k: k) }
        let s = estimateSelectivity(allow)
        if s < Self.exactSelectivity {
            return exactOverSlots(allowedSlots(rows, allow), query: q, vectors: vectors, rows: rows, metric: metric, k: k)
        }
        let wide = min(live, Int(Double(ef) / max(s, 1e-3)))
        let top = graphSearch(q, k: k, ef: max(ef, wide), allow: allow)
        if top.count < k { return exactOverSlots(allowedSlots(rows, allow), query: q, vectors: vectors, rows: rows, metric: metric, k: k) }
        return top
    }

    /// Fraction of up to 512 evenly spaced live rows that pass `allow`.
    private func estimateSelectivity(_ allow: (UInt32) -> Bool) -> Double {
        let n = rows.slots
        let step = max(1, n / 512)
        var seen = 0, passed = 0
        var s = step / 2
        while s < n {
            if !rows.isDead(s) { seen += 1; if allow(rows.rowOfSlot[s]) { passed += 1 } }
            s += step
        }
        return seen == 0 ? 0 : Double(passed) / Double(seen)
    }

    private final class FilterContext {
        let allow: (UInt32) -> Bool
        let rows: UnsafePointer<UInt32>
        init(_ allow: @escaping (UInt32) -> Bool, _ rows: UnsafePointer<UInt32>) { self.allow = allow; self.rows = rows }
    }

    private func graphSearch(_ q: UnsafePointer<Float>, k: Int, ef: Int, allow: ((UInt32) -> Bool)?) -> TopK {
        var ids = [UInt32](repeating: 0, count: k)
        var dist = [Float](repeating: 0, count: k)
        let n: Int = rows.dead.withUnsafeBufferPointer { deadp in
            rows.rowOfSlot.withUnsafeBufferPointer { rp in
                let dead = rows.deadCount > 0 ? deadp.baseAddress : nil
                if let allow {
                    let ctx = FilterContext(allow, rp.baseAddress!)
                    return withExtendedLifetime(ctx) {
                        qk_hnsw_search(graph, q, k, ef, dead, { c, id in
                            let box = Unmanaged<FilterContext>.fromOpaque(c!).takeUnretainedValue()
                            return box.allow(box.rows[Int(id)]) ? 1 : 0
                        }, Unmanaged.passUnretained(ctx).toOpaque(), &ids, &dist)
                    }
                }
                return qk_hnsw_search(graph, q, k, ef, dead, nil, nil, &ids, &dist)
            }
        }
        var top = TopK(k: k)
        for i in 0..<n { top.push(-dist[i], rows.rowOfSlot[Int(ids[i])]) }
        return top
    }

    /// Total distance computations made by searches and inserts so far (for tuning).
    public var distanceComputations: UInt64 { qk_hnsw_distance_count(graph) }

    /// Writes the index file, atomically: header parameters M, efConstruction, entry point,
    /// max level, seed and generator state; sections ROWS, DEAD, VECS, LVLS, LNK0 and LPPR (see
    /// ``IndexFileFormat``). A loaded graph continues exactly where this one stopped.
    /// - Throws: `StoreError.indexFile` naming the file and the failed step.
    public func write(to path: String) throws {
        try lock.read {
            var header = IndexFileHeader(kind: .hnsw, metric: metric, dimension: dimension, slots: rows.slots, live: rows.live)
            header.params[0] = UInt64(M); header.params[1] = UInt64(efConstruction)
            header.params[2] = UInt64(bitPattern: qk_hnsw_entry(graph))
            header.params[3] = UInt64(bitPattern: Int64(qk_hnsw_max_level(graph)))
            header.params[4] = seed; header.params[5] = rng.state
            let n = rows.slots
            let levels = (0..<n).map { UInt8(qk_hnsw_level(graph, UInt32($0))) }
            var upper: [UInt32] = []
            for s in 0..<n where levels[s] > 0 {
                let p = qk_hnsw_upper(graph, UInt32(s))!
                upper.append(contentsOf: UnsafeBufferPointer(start: p, count: Int(levels[s]) * (1 + M)))
            }
            var w = IndexFileWriter(header: header)
            let links0 = UnsafeRawBufferPointer(start: qk_hnsw_links0(graph), count: n * (1 + 2 * M) * 4)
            try rows.rowOfSlot.withUnsafeBytes { rb in
                try rows.dead.withUnsafeBytes { db in
                    try levels.withUnsafeBytes { lb in
                        try upper.withUnsafeBytes { ub in
                            w.add(.rows, rb)
                            w.add(.dead, UnsafeRawBufferPointer(rebasing: db[0..<((n + 63) / 64) * 8]))
                            w.add(.vectors, UnsafeRawBufferPointer(start: vectors.base, count: vectors.bytes))
                            w.add(.levels, lb)
                            w.add(.links0, n == 0 ? UnsafeRawBufferPointer(start: nil, count: 0) : links0)
                            w.add(.upper, ub)
                            try w.write(to: path)
                        }
                    }
                }
            }
        }
    }
}
