/// An open-addressing map from scalar sequences (token strings) to ids, looked up without
/// allocating: keys live in one pool, queries are buffer slices. Each slot holds the key's
/// 32-bit hash next to its entry index, so most non-matching probes are rejected without
/// touching the key pool.
struct ScalarTable: Sendable {
    private var pool: [UInt32] = []
    private var keyStart: [Int32] = []
    private var keyLength: [Int32] = []
    private var values: [Int32] = []
    /// `hash << 32 | (entry + 1)`, 0 when empty.
    private var slots: [UInt64]
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    var count: Int { values.count }

    @inline(__always) private static func hash(_ p: UnsafeBufferPointer<UInt32>) -> UInt32 {
        var h: UInt64 = 0xcbf29ce484222325
        for v in p { h = (h ^ UInt64(v)) &* 0x100000001b3 }
        h ^= h >> 32
        return UInt32(truncatingIfNeeded: h)
    }

    /// Inserts `key → value` unless the key is present (the first insertion wins).
    mutating func insert(_ key: [UInt32], _ value: Int32) {
        if values.count * 2 >= slots.count { grow() }
        let found = key.withUnsafeBufferPointer { find($0) }
        if found.entry >= 0 { return }
        let h = key.withUnsafeBufferPointer { Self.hash($0) }
        slots[found.slot] = UInt64(h) << 32 | UInt64(values.count + 1)
        keyStart.append(Int32(pool.count)); keyLength.append(Int32(key.count)); values.append(value)
        pool.append(contentsOf: key)
    }

    private mutating func grow() {
        let old = slots
        let size = slots.count * 2
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for s in old where s != 0 {
            var slot = Int(s >> 32) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = s
        }
    }

    @inline(__always) private func find(_ key: UnsafeBufferPointer<UInt32>) -> (slot: Int, entry: Int) {
        let h = Self.hash(key)
        var slot = Int(h) & mask
        return slots.withUnsafeBufferPointer { sp in
            pool.withUnsafeBufferPointer { pp in
                while true {
                    let s = sp[slot]
                    if s == 0 { return (slot, -1) }
                    if UInt32(truncatingIfNeeded: s >> 32) == h {
                        let e = Int(UInt32(truncatingIfNeeded: s)) - 1
                        let len = Int(keyLength[e])
                        if len == key.count {
                            let start = Int(keyStart[e])
                            var same = true
                            for k in 0..<len where pp[start + k] != key[k] { same = false; break }
                            if same { return (slot, e) }
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    @inline(__always) func lookup(_ key: UnsafeBufferPointer<UInt32>) -> Int32? {
        let e = find(key).entry
        return e >= 0 ? values[e] : nil
    }

    func lookup(_ key: [UInt32]) -> Int32? { key.withUnsafeBufferPointer { lookup($0) } }
    func lookup(_ key: String) -> Int32? { lookup(key.unicodeScalars.map(\.value)) }
}

/// An open-addressing map from UInt64 keys to UInt64 values (BPE merges: id pair → rank and
/// result; Unigram trie edges). Keys and values are interleaved for one cache line per probe.
/// The key `UInt64.max` is reserved (marks empty slots).
struct PairTable: Sendable {
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: Self.empty, count: size * 2)
        mask = size - 1
    }

    @inline(__always) private static func hash(_ k: UInt64) -> Int {
        var h = k &* 0x9E3779B97F4A7C15
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// Inserts unless present (the first insertion wins, as the lowest merge rank must).
    mutating func insert(_ key: UInt64, _ value: UInt64) {
        precondition(key != Self.empty, "PairTable key UInt64.max is reserved")
        precondition(count + 1 < slots.count / 2, "PairTable is full (sized for fewer entries)")
        var slot = Self.hash(key) & mask
        while slots[2 * slot] != Self.empty {
            if slots[2 * slot] == key { return }
            slot = (slot + 1) & mask
        }
        slots[2 * slot] = key; slots[2 * slot + 1] = value; count += 1
    }

    @inline(__always) func lookup(_ key: UInt64) -> UInt64? {
        slots.withUnsafeBufferPointer { p in
            var slot = Self.hash(key) & mask
            while true {
                let k = p[2 * slot]
                if k == key { return p[2 * slot + 1] }
                if k == Self.empty { return nil }
                slot = (slot + 1) & mask
            }
        }
    }
}
