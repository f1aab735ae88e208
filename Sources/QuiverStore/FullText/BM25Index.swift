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
/// Thread-safe: searches share a read lock, changes take the write lock.
final class BM25Index: @unchecked Sendable {
    let options: FullTextOptions
    let analyzer: TextAnalyzer
    private let lock = RWLock()
    private var termIDs: [String: Int32] = [:]
    private var postingRows: [[UInt32]] = []
    private var postingTFs: [[UInt16]] = []
    private var df: [Int32] = []
    /// Row → term count of the indexed rows.
    private var lengths: [UInt32: Int32] = [:]
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
        lock.read { (lengths.count, lengths.isEmpty ? 0 : Double(totalLength) / Double(lengths.count), df.filter { $0 > 0 }.count) }
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
                lengths[row] = Int32(terms.count)
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
        guard let len = lengths.removeValue(forKey: row) else { return }
        for id in docTerms.removeValue(forKey: row) ?? [] { df[Int(id)] -= 1; deadPostings += 1; livePostings -= 1 }
        totalLength -= Int(len)
    }

    /// Drops the postings of removed rows.
    func purge() { lock.write { purgeLocked() } }

    private func purgeLocked() {
        for i in postingRows.indices {
            var rows: [UInt32] = [], tfs: [UInt16] = []
            rows.reserveCapacity(Int(df[i])); tfs.reserveCapacity(Int(df[i]))
            for (k, r) in postingRows[i].enumerated() where lengths[r] != nil {
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
            let n = Double(lengths.count)
            guard n > 0, k > 0 else { return [] }
            let avgdl = Double(totalLength) / n
            let k1 = options.k1, b = options.b
            var scores: [UInt32: Double] = [:]
            for t in terms {
                guard let id = termIDs[t] else { continue }
                let i = Int(id)
                let d = Double(df[i])
                guard d > 0 else { continue }
                let idf = Foundation.log(1 + (n - d + 0.5) / (d + 0.5))
                let rows = postingRows[i], tfs = postingTFs[i]
                for j in rows.indices {
                    let r = rows[j]
                    // A removed row (row numbers are never reused).
                    guard let len = lengths[r] else { continue }
                    let tf = Double(tfs[j])
                    scores[r, default: 0] += idf * tf / (tf + k1 * (1 - b + b * Double(len) / avgdl))
                }
            }
            var hits = scores.filter { allow($0.key) }.map { (row: $0.key, score: $0.value) }
            hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.row < $1.row }
            return hits.prefix(k).map { (row: $0.row, score: Float($0.score)) }
        }
    }
}
