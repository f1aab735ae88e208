import CQuiverKernels
import Foundation

/// Inverted-file index: k-means centroids split the space into `nlist` lists; a search scores the
/// `nprobe` closest lists. `IVFFlatIndex` keeps float vectors; `IVFSQ8Index` keeps 8-bit codes
/// (per-dimension min/max scalar quantization) and optionally the floats for re-ranking.
///
/// Training: the first `add` with at least `nlist` vectors trains on (a seeded sample of up to
/// 256·nlist of) them, or call `train(_:)` first. Search parameter `nprobe` (1...nlist, default
/// min(nlist, 8)). Filters: exact over allowed rows below 5 % estimated selectivity, otherwise
/// `nprobe` widened by 1/selectivity.
///
/// Create one through ``IVFFlatIndex`` or ``IVFSQ8Index``. Memory: the float vectors (IVF_FLAT,
/// or IVF_SQ8 with `rerank`) at `dimension × 4` bytes a row, the codes (IVF_SQ8) at `dimension`
/// bytes a row, `nlist × dimension × 4` bytes of centroids, and row bookkeeping.
public class IVFIndex: VectorIndex, @unchecked Sendable {
    /// ``IndexKind/ivfFlat`` or ``IndexKind/ivfSQ8``.
    public let kind: IndexKind
    /// Floats per vector.
    public let dimension: Int
    /// How vectors are compared. COSINE vectors are normalized and clustered by spherical
    /// k-means; IP vectors go to the list whose centroid has the largest dot product.
    public let metric: Metric
    /// Number of k-means lists (1...65536). A common rule of thumb is about 4·√n for n vectors.
    public let nlist: Int
    /// Seed of the training sample and the k-means++ start: same seed and data, same centroids.
    public let seed: UInt64
    /// Lloyd iterations of k-means training (1...100).
    public let iterations: Int
    /// SQ8 re-ranking factor: the `rerank·k` best by codes are re-scored with the float vectors (0: off).
    public let rerank: Int

    let lock = IndexLock()
    var rows = RowTable()
    var vectors: VectorStorage?
    var codes: ByteStorage?
    var sqMin: [Float] = []
    var sqScale: [Float] = []
    var centroids: [Float] = []
    var lists: [[Int32]] = []
    var listOfSlot: [UInt32] = []
    var trained: Bool { !centroids.isEmpty }

    static let exactSelectivity = 0.05

    init(kind: IndexKind, dimension: Int, metric: Metric, nlist: Int, rerank: Int, seed: UInt64, iterations: Int) throws {
        if dimension < 1 || dimension > 65536 { throw StoreError.invalidIndexParameter(name: "dimension", value: "\(dimension)", reason: "must lie in 1...65536") }
        if nlist < 1 || nlist > 65536 { throw StoreError.invalidIndexParameter(name: "nlist", value: "\(nlist)", reason: "must lie in 1...65536") }
        if iterations < 1 || iterations > 100 { throw StoreError.invalidIndexParameter(name: "iterations", value: "\(iterations)", reason: "must lie in 1...100") }
        if rerank < 0 || rerank > 100 { throw StoreError.invalidIndexParameter(name: "rerank", value: "\(rerank)", reason: "must lie in 0...100") }
        self.kind = kind; self.dimension = dimension; self.metric = metric; self.nlist = nlist
        self.rerank = kind == .ivfSQ8 ? rerank : 0
        self.seed = seed; self.iterations = iterations
        if kind == .ivfFlat || rerank > 0 { vectors = VectorStorage(dimension: dimension) }
        if kind == .ivfSQ8 { codes = ByteStorage() }
        lists = Array(repeating: [], count: nlist)
    }

    init(file: MappedIndexFile) throws {
        let h = file.header
        kind = h.kind; dimension = h.dimension; metric = h.metric
        let p = h.params
        guard (1...65536).contains(p[0]), (1...100).contains(p[2]), p[3] <= 100, p[4] <= 1 else {
            throw file.corrupt("IVF parameters out of range (nlist \(p[0]), iterations \(p[2]), rerank \(p[3]), trained \(p[4]))")
        }
        nlist = Int(p[0]); seed = p[1]; iterations = Int(p[2]); rerank = Int(p[3])
        let isTrained = p[4] == 1
        let n = h.slots
        rows = RowTable(rows: Array(try file.section(.rows, UInt32.self, count: n)), dead: Array(try file.section(.dead, UInt64.self, count: (n + 63) / 64)))
        if rows.live != h.live { throw file.corrupt("header says \(h.live) live rows, tombstones leave \(rows.live)") }
        if rows.slotOfRow.count + rows.deadCount != n { throw file.corrupt("ROWS repeats a row number") }
        if !isTrained && n > 0 { throw file.corrupt("untrained IVF index holds \(n) rows") }
        centroids = Array(try file.section(.centroids, Float.self, count: isTrained ? nlist * dimension : 0))
        listOfSlot = Array(try file.section(.lists, UInt32.self, count: n))
        lists = Array(repeating: [], count: nlist)
        for (s, l) in listOfSlot.enumerated() {
            if Int(l) >= nlist { throw file.corrupt("slot \(s) is in list \(l), but nlist is \(nlist)") }
            lists[Int(l)].append(Int32(s))
        }
        if kind == .ivfFlat || rerank > 0 {
            let v = try file.section(.vectors, Float.self, count: n * dimension)
            vectors = VectorStorage(dimension: dimension, count: n, mapped: v.baseAddress ?? UnsafePointer(bitPattern: 64)!, mapping: file)
        }
        if kind == .ivfSQ8 {
            let c = try file.section(.sq8, UInt8.self, count: n * dimension)
            codes = ByteStorage(mapped: c, mapping: file)
            let sp = try file.section(.sq8Params, Float.self, count: isTrained ? 2 * dimension : 0)
            sqMin = Array(sp.prefix(isTrained ? dimension : 0)); sqScale = Array(sp.dropFirst(isTrained ? dimension : 0))
            if sqScale.contains(where: { !($0.isFinite && $0 >= 0) }) || sqMin.contains(where: { !$0.isFinite }) {
                throw file.corrupt("SQ8 parameters are not finite")
            }
        }
    }

    /// Rows present, removed ones excluded.
    public var count: Int { lock.read { rows.live } }
    /// True when `row` was added and not removed.
    public func contains(row: UInt32) -> Bool { lock.read { rows.contains(row) } }
    /// Float vectors, SQ8 codes, centroids and 24 bytes a slot of bookkeeping; removed rows
    /// count until `compact`.
    public var memoryBytes: Int {
        lock.read {
            (vectors.map { $0.capacity * dimension * 4 } ?? 0) + (codes?.count ?? 0) + centroids.count * 4 + rows.slots * 24
        }
    }

    /// Trains the coarse quantizer (and SQ8 ranges) on `vectors` (`n × dimension`, n ≥ nlist).
    /// Replaces an earlier training only while the index is empty.
    ///
    /// Uses an evenly spaced sample of at most 256·nlist of the vectors (start drawn from
    /// `seed`). SQ8 ranges are the per-dimension min/max of that sample: later vectors outside
    /// them are clamped to code 0 or 255. Runs under the writer lock.
    /// - Throws: `StoreError.dimensionMismatch` when the count is not a multiple of `dimension`;
    ///   `.indexNotTrained` for fewer than `nlist` vectors; `.invalidIndexParameter` (name
    ///   `train`) when the index already holds rows.
    public func train(_ v: UnsafeBufferPointer<Float>) throws {
        try lock.write { try trainLocked(v) }
    }

    private func trainLocked(_ v: UnsafeBufferPointer<Float>) throws {
        if v.count % dimension != 0 { throw StoreError.dimensionMismatch(expected: dimension, got: v.count % dimension, what: "training vectors remainder") }
        let n = v.count / dimension
        if n < nlist { throw StoreError.indexNotTrained("training needs at least nlist=\(nlist) vectors, got \(n)") }
        if rows.slots > 0 { throw StoreError.invalidIndexParameter(name: "train", value: "\(n) vectors", reason: "the index already holds rows; train before adding") }
        var rng = SplitMix64(seed: seed)
        let m = min(n, nlist * 256)
        var sample = [Float](repeating: 0, count: m * dimension)
        let start = rng.below(n)
        for i in 0..<m {
            let src = (start + Int(Double(i) * Double(n) / Double(m))) % n
            for d in 0..<dimension { sample[i * dimension + d] = v[src * dimension + d] }
        }
        if metric == .cosine {
            sample.withUnsafeMutableBufferPointer { p in for i in 0..<m { qk_normalize_f32(p.baseAddress! + i * dimension, dimension) } }
        }
        centroids = sample.withUnsafeBufferPointer {
            KMeans.train($0.baseAddress!, n: m, dim: dimension, k: nlist, iterations: iterations, spherical: metric == .cosine, rng: &rng)
        }
        if kind == .ivfSQ8 {
            var lo = [Float](repeating: .infinity, count: dimension), hi = [Float](repeating: -.infinity, count: dimension)
            for i in 0..<m {
                for d in 0..<dimension { let x = sample[i * dimension + d]; lo[d] = min(lo[d], x); hi[d] = max(hi[d], x) }
            }
            sqMin = lo
            sqScale = (0..<dimension).map { (hi[$0] - lo[$0]) / 255 }
        }
    }

    /// Assigns each vector (COSINE: normalized) to its nearest centroid's list and stores it
    /// (IVF_SQ8: encoded). An untrained index first trains on this batch when it holds at least
    /// `nlist` vectors.
    /// - Throws: `StoreError.dimensionMismatch`, `.duplicateIndexRow`; `.indexNotTrained` when
    ///   the index is untrained and the batch is smaller than `nlist` (nothing is added then).
    public func add(rows newRows: [UInt32], vectors v: UnsafeBufferPointer<Float>) throws {
        try lock.write {
            try checkAdd(rows: newRows, vectors: v, dimension: dimension, table: rows)
            if newRows.isEmpty { return }
            if !trained {
                if newRows.count < nlist {
                    throw StoreError.indexNotTrained("\(kind.rawValue) with nlist=\(nlist) needs train(_:) or a first add of at least \(nlist) vectors (got \(newRows.count))")
                }
                try trainLocked(v)
            }
            let n = newRows.count
            var prepared = Array(v)
            if metric == .cosine {
                prepared.withUnsafeMutableBufferPointer { p in for i in 0..<n { qk_normalize_f32(p.baseAddress! + i * dimension, dimension) } }
            }
            var assign = [Int32](repeating: 0, count: n)
            prepared.withUnsafeBufferPointer { p in
                centroids.withUnsafeBufferPointer { c in
                    assign.withUnsafeMutableBufferPointer { a in
                        KMeans.nearest(p.baseAddress!, n: n, dim: dimension, centroids: c.baseAddress!, k: nlist, l2: metric == .l2, out: a.baseAddress!)
                    }
                }
            }
            vectors?.reserve((vectors?.count ?? 0) + n)
            prepared.withUnsafeBufferPointer { p in
                for i in 0..<n {
                    let src = p.baseAddress! + i * dimension
                    vectors?.append(src, normalize: false)
                    if let codes { encode(src, into: codes) }
                    let s = rows.append(newRows[i])
                    listOfSlot.append(UInt32(assign[i]))
                    lists[Int(assign[i])].append(Int32(s))
                }
            }
        }
    }

    private func encode(_ x: UnsafePointer<Float>, into store: ByteStorage) {
        store.append(count: dimension) { out in
            for d in 0..<dimension {
                let s = sqScale[d]
                let c = s > 0 ? ((x[d] - sqMin[d]) / s).rounded() : 0
                out[d] = UInt8(max(0, min(255, c)))
            }
        }
    }

    /// Tombstones `row` (skipped by searches, space kept until `compact`); unknown rows are ignored.
    public func remove(row: UInt32) { lock.write { _ = rows.remove(row) } }

    /// Rewrites the lists, vectors and codes without removed rows; centroids and SQ8 ranges are
    /// kept. Never throws.
    public func compact() throws {
        lock.write {
            if rows.deadCount == 0 { return }
            let live = (0..<rows.slots).filter { !rows.isDead($0) }
            var table = RowTable()
            let fresh = vectors.map { _ in VectorStorage(dimension: dimension, capacity: live.count) }
            let freshCodes = codes.map { _ in ByteStorage() }
            var newList: [UInt32] = []
            var newLists: [[Int32]] = Array(repeating: [], count: nlist)
            for s in live {
                if let fresh, let vectors { fresh.append(vectors.row(s), normalize: false) }
                if let freshCodes, let codes {
                    let src = codes.pointer + s * dimension
                    freshCodes.append(count: dimension) { $0.update(from: src, count: dimension) }
                }
                let ns = table.append(rows.rowOfSlot[s])
                newList.append(listOfSlot[s])
                newLists[Int(listOfSlot[s])].append(Int32(ns))
            }
            rows = table; vectors = fresh; codes = freshCodes; listOfSlot = newList; lists = newLists
        }
    }

    private func nprobe(_ params: IndexParams, k: Int) throws -> Int {
        try validateParams(params, allowed: ["nprobe": 1...Double(nlist)])
        try checkK(k)
        return Int(params["nprobe"] ?? Double(min(nlist, 8)))
    }

    /// Approximate top-`k` over the `nprobe` lists whose centroids are closest to the query
    /// (`nprobe` from `params`, 1...nlist, default min(nlist, 8)); `nprobe == nlist` is exact for
    /// IVF_FLAT. An empty or untrained index returns no hits.
    /// - Throws: `StoreError.invalidIndexParameter` for a key other than `nprobe`, `nprobe` out
    ///   of range or `k` outside 1...1 000 000; `.dimensionMismatch` for a query of another width.
    public func search(_ query: UnsafeBufferPointer<Float>, k: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit] {
        let np = try nprobe(params, k: k)
        let q = try PreparedQuery(query, dimension: dimension, metric: metric)
        return lock.read {
            q.values.withUnsafeBufferPointer { searchLocked($0.baseAddress!, k: k, nprobe: np, allow: allow).sortedHits(metric: metric) }
        }
    }

    /// The top-`limit` search, keeping the hits within `radius`: rows inside the radius that are
    /// not among the `limit` best found are missed.
    /// - Throws: as ``search(_:k:params:allow:)``.
    public func rangeSearch(_ query: UnsafeBufferPointer<Float>, radius: Float, limit: Int, params: IndexParams, allow: ((UInt32) -> Bool)?) throws -> [IndexHit] {
        try search(query, k: limit, params: params, allow: allow).filter { withinRadius($0.score, radius) }
    }

    func searchLocked(_ q: UnsafePointer<Float>, k: Int, nprobe: Int, allow: ((UInt32) -> Bool)?) -> TopK {
        if rows.live == 0 || !trained { return TopK(k: k) }
        guard let allow else { return probe(q, k: k, nprobe: nprobe, allow: nil) }
        let s = estimateSelectivity(allow)
        if s < Self.exactSelectivity { return exact(q, slots: allowedSlots(rows, allow), k: k) }
        let top = probe(q, k: k, nprobe: min(nlist, Int((Double(nprobe) / s).rounded(.up))), allow: allow)
        if top.count < k { return exact(q, slots: allowedSlots(rows, allow), k: k) }
        return top
    }

    private func estimateSelectivity(_ allow: (UInt32) -> Bool) -> Double {
        let n = rows.slots, step = max(1, n / 512)
        var seen = 0, passed = 0, s = step / 2
        while s < n {
            if !rows.isDead(s) { seen += 1; if allow(rows.rowOfSlot[s]) { passed += 1 } }
            s += step
        }
        return seen == 0 ? 0 : Double(passed) / Double(seen)
    }

    /// A query prepared for SQ8 scoring: IP/COSINE use q·min + Σ (q·scale)ᵢ cᵢ; L2 uses Σ (q−min − scale·c)².
    private struct SQ8Query { var scaled: [Float]; var offset: Float }

    private func sq8Query(_ q: UnsafePointer<Float>) -> SQ8Query {
        if metric == .l2 { return SQ8Query(scaled: (0..<dimension).map { q[$0] - sqMin[$0] }, offset: 0) }
        var off: Float = 0
        for d in 0..<dimension { off += q[d] * sqMin[d] }
        return SQ8Query(scaled: (0..<dimension).map { q[$0] * sqScale[$0] }, offset: off)
    }

    /// Closeness key (larger is closer) of `slot` by codes or floats.
    @inline(__always)
    private func key(_ t: UnsafePointer<qk_distance_table>, _ q: UnsafePointer<Float>, _ sq: UnsafePointer<Float>?, _ off: Float,
                     _ scale: UnsafePointer<Float>, _ slot: Int) -> Float {
        if let sq, let codes {
            let c = codes.pointer + slot * dimension
            return metric == .l2 ? -t.pointee.sq8_l2sq(sq, scale, c, dimension) : off + t.pointee.sq8_dot(sq, c, dimension)
        }
        return closenessKey(rawDistance(t, metric, q, vectors!.row(slot), dimension), metric)
    }

    private func scoreSlots(_ q: UnsafePointer<Float>, k: Int, slots: (( (Int) -> Void) -> Void)) -> TopK {
        let t = qk_distance()!
        let useCodes = codes != nil
        let depth = useCodes && rerank > 0 ? k * rerank : k
        var top = TopK(k: depth)
        let sq = useCodes ? sq8Query(q) : SQ8Query(scaled: [], offset: 0)
        sq.scaled.withUnsafeBufferPointer { sp in
            sqScale.withUnsafeBufferPointer { scp in
                slots { s in
                    top.push(key(t, q, useCodes ? sp.baseAddress! : nil, sq.offset, scp.baseAddress ?? UnsafePointer(bitPattern: 64)!, s), rows.rowOfSlot[s])
                }
            }
        }
        if useCodes && rerank > 0, let vectors {
            var exact = TopK(k: k)
            for r in top.rows {
                let s = Int(rows.slotOfRow[r]!)
                exact.push(closenessKey(rawDistance(t, metric, q, vectors.row(s), dimension), metric), r)
            }
            return exact
        }
        if depth == k { return top }
        var cut = TopK(k: k); cut.merge(top); return cut
    }

    private func exact(_ q: UnsafePointer<Float>, slots: [Int32], k: Int) -> TopK {
        scoreSlots(q, k: k) { visit in for s in slots { visit(Int(s)) } }
    }

    private func probe(_ q: UnsafePointer<Float>, k: Int, nprobe: Int, allow: ((UInt32) -> Bool)?) -> TopK {
        let t = qk_distance()!.pointee
        var cs = [Float](repeating: 0, count: nlist)
        centroids.withUnsafeBufferPointer { c in
            cs.withUnsafeMutableBufferPointer { o in
                if metric == .l2 { t.l2sq_many(q, c.baseAddress!, nlist, dimension, o.baseAddress!) }
                else { t.dot_many(q, c.baseAddress!, nlist, dimension, o.baseAddress!) }
            }
        }
        var best = TopK(k: nprobe)
        for l in 0..<nlist { best.push(closenessKey(cs[l], metric), UInt32(l)) }
        let probed = best.rows
        return scoreSlots(q, k: k) { visit in
            for l in probed {
                for s32 in lists[Int(l)] {
                    let s = Int(s32)
                    if rows.isDead(s) { continue }
                    if let allow, !allow(rows.rowOfSlot[s]) { continue }
                    visit(s)
                }
            }
        }
    }

    /// Writes the index file, atomically: header parameters nlist, seed, iterations, rerank and
    /// the trained flag; sections ROWS, DEAD, CENT, LIST, and VECS (IVF_FLAT, or SQ8 with rerank),
    /// SQQ8 and SQ8P (IVF_SQ8) (see ``IndexFileFormat``).
    /// - Throws: `StoreError.indexFile` naming the file and the failed step.
    public func write(to path: String) throws {
        try lock.read {
            var header = IndexFileHeader(kind: kind, metric: metric, dimension: dimension, slots: rows.slots, live: rows.live)
            header.params[0] = UInt64(nlist); header.params[1] = seed; header.params[2] = UInt64(iterations)
            header.params[3] = UInt64(rerank); header.params[4] = trained ? 1 : 0
            let n = rows.slots
            let sqParams = sqMin + sqScale
            var w = IndexFileWriter(header: header)
            try rows.rowOfSlot.withUnsafeBytes { rb in
                try rows.dead.withUnsafeBytes { db in
                    try centroids.withUnsafeBytes { cb in
                        try listOfSlot.withUnsafeBytes { lb in
                            try sqParams.withUnsafeBytes { pb in
                                w.add(.rows, rb)
                                w.add(.dead, UnsafeRawBufferPointer(rebasing: db[0..<((n + 63) / 64) * 8]))
                                w.add(.centroids, cb)
                                w.add(.lists, lb)
                                if let vectors { w.add(.vectors, UnsafeRawBufferPointer(start: vectors.base, count: vectors.bytes)) }
                                if let codes {
                                    w.add(.sq8, UnsafeRawBufferPointer(start: codes.pointer, count: codes.count))
                                    w.add(.sq8Params, pb)
                                }
                                try w.write(to: path)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// IVF with float vectors in the lists (exact scores within the probed lists).
public final class IVFFlatIndex: IVFIndex, @unchecked Sendable {
    /// `nlist` lists (1...65536); k-means runs `iterations` Lloyd steps from a k-means++ start drawn with `seed`.
    /// - Throws: `StoreError.invalidIndexParameter` naming `dimension` (1...65536), `nlist` or
    ///   `iterations` (1...100) when out of range.
    public init(dimension: Int, metric: Metric, nlist: Int, seed: UInt64 = 42, iterations: Int = 10) throws {
        try super.init(kind: .ivfFlat, dimension: dimension, metric: metric, nlist: nlist, rerank: 0, seed: seed, iterations: iterations)
    }
    override init(file: MappedIndexFile) throws { try super.init(file: file) }
}

/// IVF with 8-bit scalar-quantized codes (one byte per dimension: x ≈ min + code·scale, with
/// per-dimension min/scale from the training sample). With `rerank` > 0 the float vectors are
/// kept too and the best `rerank·k` candidates by codes are re-scored exactly.
public final class IVFSQ8Index: IVFIndex, @unchecked Sendable {
    /// An empty, untrained IVF_SQ8 index.
    /// - Parameters:
    ///   - dimension: floats per vector, 1...65536.
    ///   - metric: comparison; IP/COSINE scores from codes are q·min + Σ qᵢ·scaleᵢ·codeᵢ, L2
    ///     scores the squared distance to the decoded vector.
    ///   - nlist: number of lists, 1...65536.
    ///   - rerank: 0 keeps only codes; r > 0 also keeps the float vectors and re-scores the best
    ///     r·k candidates exactly (0...100 here; the collection API allows 0...64).
    ///   - seed: training sample and k-means seed.
    ///   - iterations: k-means iterations, 1...100.
    /// - Throws: `StoreError.invalidIndexParameter` naming the parameter out of range.
    public init(dimension: Int, metric: Metric, nlist: Int, rerank: Int = 0, seed: UInt64 = 42, iterations: Int = 10) throws {
        try super.init(kind: .ivfSQ8, dimension: dimension, metric: metric, nlist: nlist, rerank: rerank, seed: seed, iterations: iterations)
    }
    override init(file: MappedIndexFile) throws { try super.init(file: file) }
}

/// Bytes (SQ8 codes) grown by doubling, or used in place from a mapped file until the first append.
final class ByteStorage: @unchecked Sendable {
    private var owned: UnsafeMutablePointer<UInt8>?
    private var capacity = 0
    private(set) var count = 0
    private(set) var pointer: UnsafePointer<UInt8> = UnsafePointer(bitPattern: 64)!
    private var mapping: MappedIndexFile?

    init() {}
    init(mapped: UnsafeBufferPointer<UInt8>, mapping: MappedIndexFile) {
        count = mapped.count
        if let b = mapped.baseAddress { pointer = b }
        self.mapping = mapping
    }
    deinit { owned?.deallocate() }

    func append(count n: Int, _ fill: (UnsafeMutablePointer<UInt8>) -> Void) {
        if owned == nil || count + n > capacity {
            let cap = max(count + n, capacity * 2, 4096)
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
            if count > 0 { p.update(from: pointer, count: count) }
            owned?.deallocate()
            owned = p; capacity = cap; pointer = UnsafePointer(p); mapping = nil
        }
        fill(owned! + count)
        count += n
    }
}
