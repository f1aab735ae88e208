import Foundation

/// An in-memory BM25 inverted index over one text field of a collection, keyed by row number.
///
/// Scoring is Lucene's BM25 (as in bm25s' `lucene` method):
/// `score(q, d) = Σ_{t ∈ q} idf(t) · tf(t, d) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl))` with
/// `idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))`, where N is the number of indexed
/// documents (rows whose text has at least one term), `|d|` a document's term count and avgdl
/// their mean. A query term that repeats counts once per occurrence (as Lucene's query parser
/// and bm25s do). Deleted rows leave the statistics at once; their postings are skipped and
/// purged when they pile up (or at compaction).
///
/// Thread-safe: searches share a read lock, changes take the write lock. A search accumulates
/// scores in a dense per-row array (taken from a small pool, so concurrent searches do not share
/// one) and keeps the best `k` allowed rows in a heap, so `allow` runs only for rows that would
/// enter the top `k`.
final class BM25Index: @unchecked Sendable {
    let options: FullTextOptions
    let analyzer: TextAnalyzer
    private let lock = RWLock()
    private var termIDs: [String: Int32] = [:]
    private var postingRows: [[UInt32]] = []
    private var postingTFs: [[UInt16]] = []
    private var df: [Int32] = []
    /// Row → term count of the indexed rows (0: not indexed; indexed rows have at least one term).
    private var lengths: [Int32] = []
    /// Rows with a nonzero length.
    private var indexedCount = 0
    /// Zeroed score accumulators for searches (8 bytes per row each; at most 2 kept), reused (a
    /// search zeroes what it touched).
    private let scratch = Locked<[[Double]]>([])
    /// Row → distinct term ids (to undo df on delete).
    private var docTerms: [UInt32: [Int32]] = [:]
    private var totalLength = 0
    private var deadPostings = 0
    private var livePostings = 0

    init(options: FullTextOptions) throws {
        self.options = options
        analyzer = try TextAnalyzer(options)
    }

    /// Indexed documents, mean length and distinct terms (with a document).
    var statistics: (documents: Int, averageLength: Double, terms: Int) {
        lock.read { (indexedCount, indexedCount == 0 ? 0 : Double(totalLength) / Double(indexedCount), df.filter { $0 > 0 }.count) }
    }

    /// Adds (or replaces) rows with their texts; a nil or term-less text indexes nothing.
    func add(_ docs: [(row: UInt32, text: String?)]) {
        let analyzed = docs.map { ($0.row, $0.text.map(analyzer.terms) ?? []) }
        lock.write {
            for (row, terms) in analyzed {
                removeLocked(row)
                guard !terms.isEmpty else { continue }
                var counts: [Int32: Int] = [:]
                for t in terms {
                    let id: Int32
                    if let e = termIDs[t] { id = e } else {
                        id = Int32(postingRows.count); termIDs[t] = id
                        postingRows.append([]); postingTFs.append([]); df.append(0)
                    }
                    counts[id, default: 0] += 1
                }
                for (id, n) in counts {
                    let i = Int(id)
                    // Rows arrive in ascending order; postings stay sorted by row.
                    postingRows[i].append(row); postingTFs[i].append(UInt16(min(n, Int(UInt16.max))))
                    df[i] += 1
                }
                livePostings += counts.count
                if Int(row) >= lengths.count { lengths.append(contentsOf: repeatElement(0, count: Int(row) - lengths.count + 1)) }
                lengths[Int(row)] = Int32(terms.count)
                indexedCount += 1
                docTerms[row] = Array(counts.keys)
                totalLength += terms.count
            }
        }
    }

    /// Removes rows (deleted or replaced).
    func remove(_ rows: [UInt32]) {
        guard !rows.isEmpty else { return }
        lock.write {
            for r in rows { removeLocked(r) }
            if deadPostings > 4096 && deadPostings > livePostings { purgeLocked() }
        }
    }

    private func removeLocked(_ row: UInt32) {
        guard Int(row) < lengths.count, lengths[Int(row)] > 0 else { return }
        let len = lengths[Int(row)]
        lengths[Int(row)] = 0
        indexedCount -= 1
        for id in docTerms.removeValue(forKey: row) ?? [] { df[Int(id)] -= 1; deadPostings += 1; livePostings -= 1 }
        totalLength -= Int(len)
    }

    /// Drops the postings of removed rows.
    func purge() { lock.write { purgeLocked() } }

    private func purgeLocked() {
        for i in postingRows.indices {
            var rows: [UInt32] = [], tfs: [UInt16] = []
            rows.reserveCapacity(Int(df[i])); tfs.reserveCapacity(Int(df[i]))
            for (k, r) in postingRows[i].enumerated() where lengths[Int(r)] > 0 {
                rows.append(r); tfs.append(postingTFs[i][k])
            }
            postingRows[i] = rows; postingTFs[i] = tfs
        }
        deadPostings = 0
    }

    /// The best `k` rows for `query` that `allow` accepts, best first (ties by row).
    func search(_ query: String, k: Int, allow: (UInt32) -> Bool) -> [(row: UInt32, score: Float)] {
        let terms = analyzer.terms(query)
        return lock.read {
            let n = Double(indexedCount)
            guard n > 0, k > 0 else { return [] }
            let avgdl = Double(totalLength) / n
            let k1 = options.k1, b = options.b
            // tf / (tf + k1 · (1 − b + b · |d| / avgdl)) = tf / (tf + base + slope · |d|)
            let base = k1 * (1 - b), slope = k1 * b / avgdl
            var scores = scratch.withLock { $0.popLast() } ?? []
            if scores.count < lengths.count { scores = [Double](repeating: 0, count: lengths.count) }
            var touched: [UInt32] = []
            scores.withUnsafeMutableBufferPointer { acc in
                lengths.withUnsafeBufferPointer { len in
                    for t in terms {
                        guard let id = termIDs[t] else { continue }
                        let i = Int(id)
                        let d = Double(df[i])
                        guard d > 0 else { continue }
                        let idf = Foundation.log(1 + (n - d + 0.5) / (d + 0.5))
                        postingRows[i].withUnsafeBufferPointer { rows in
                            postingTFs[i].withUnsafeBufferPointer { tfs in
                                for j in 0..<rows.count {
                                    let r = Int(rows[j])
                                    let l = len[r]
                                    // A removed row (row numbers are never reused).
                                    guard l > 0 else { continue }
                                    let tf = Double(tfs[j])
                                    if acc[r] == 0 { touched.append(UInt32(r)) }
                                    acc[r] += idf * tf / (tf + base + slope * Double(l))
                                }
                            }
                        }
                    }
                }
            }
            // The best k allowed rows: a heap whose root is the worst kept hit.
            var heap: [(row: UInt32, score: Double)] = []
            heap.reserveCapacity(min(k, touched.count))
            @inline(__always) func worse(_ a: (row: UInt32, score: Double), _ b: (row: UInt32, score: Double)) -> Bool {
                a.score != b.score ? a.score < b.score : a.row > b.row
            }
            func siftDown(_ start: Int) {
                var i = start
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < heap.count && worse(heap[l], heap[m]) { m = l }
                    if r < heap.count && worse(heap[r], heap[m]) { m = r }
                    if m == i { return }
                    heap.swapAt(i, m); i = m
                }
            }
            for r in touched {
                let hit = (row: r, score: scores[Int(r)])
                scores[Int(r)] = 0
                if heap.count < k {
                    guard allow(r) else { continue }
                    heap.append(hit)
                    var i = heap.count - 1
                    while i > 0 {
                        let p = (i - 1) / 2
                        guard worse(heap[i], heap[p]) else { break }
                        heap.swapAt(i, p); i = p
                    }
                } else if worse(heap[0], hit), allow(r) {
                    heap[0] = hit
                    siftDown(0)
                }
            }
            scratch.withLock { if $0.count < 2 { $0.append(scores) } }
            heap.sort { worse($1, $0) }
            return heap.map { (row: $0.row, score: Float($0.score)) }
        }
    }
}
