/// A bounded heap keeping the `k` best (largest key) entries. Keys are "higher is closer":
/// callers negate L2 distances. The root is the worst kept entry.
struct TopK {
    let k: Int
    private(set) var keys: [Float] = []
    private(set) var rows: [UInt32] = []

    init(k: Int) {
        self.k = k
        keys.reserveCapacity(k)
        rows.reserveCapacity(k)
    }

    var count: Int { keys.count }
    var isFull: Bool { keys.count >= k }
    /// The key an entry must beat to enter (−∞ while not full).
    var threshold: Float { keys.count < k ? -.infinity : keys[0] }

    @inline(__always)
    mutating func push(_ key: Float, _ row: UInt32) {
        if keys.count < k {
            keys.append(key); rows.append(row)
            siftUp(keys.count - 1)
        } else if key > keys[0] {
            keys[0] = key; rows[0] = row
            siftDown(0)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        let key = keys[i], row = rows[i]
        while i > 0 {
            let p = (i - 1) >> 1
            if keys[p] <= key { break }
            keys[i] = keys[p]; rows[i] = rows[p]; i = p
        }
        keys[i] = key; rows[i] = row
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = keys.count
        let key = keys[i], row = rows[i]
        while true {
            var c = 2 * i + 1
            if c >= n { break }
            if c + 1 < n && keys[c + 1] < keys[c] { c += 1 }
            if keys[c] >= key { break }
            keys[i] = keys[c]; rows[i] = rows[c]; i = c
        }
        keys[i] = key; rows[i] = row
    }

    mutating func merge(_ other: TopK) {
        for i in 0..<other.keys.count { push(other.keys[i], other.rows[i]) }
    }

    /// Entries best first, converted to Milvus scores (negating back for L2).
    func sortedHits(metric: Metric) -> [IndexHit] {
        var idx = Array(0..<keys.count)
        idx.sort { keys[$0] != keys[$1] ? keys[$0] > keys[$1] : rows[$0] < rows[$1] }
        let sign: Float = metric.higherIsCloser ? 1 : -1
        return idx.map { IndexHit(row: rows[$0], score: keys[$0] * sign) }
    }
}
