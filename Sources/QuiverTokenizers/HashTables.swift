/// An open-addressing map from scalar sequences (token strings) to ids, looked up without
/// allocating: keys live in one pool, queries are buffer slices.
struct ScalarTable: Sendable {
    private var pool: [UInt32] = []
    private var keyStart: [Int32] = []
    private var keyLength: [Int32] = []
    private var values: [Int32] = []
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    var count: Int { values.count }

    @inline(__always) private static func hash(_ p: UnsafeBufferPointer<UInt32>) -> Int {
        var h: UInt64 = 0xcbf29ce484222325
        for v in p { h = (h ^ UInt64(v)) &* 0x100000001b3 }
        h ^= h >> 29
        return Int(truncatingIfNeeded: h)
    }

    /// Inserts `key → value` unless the key is present (the first insertion wins).
    mutating func insert(_ key: [UInt32], _ value: Int32) {
        if values.count * 2 >= slots.count { grow() }
        let found = key.withUnsafeBufferPointer { find($0) }
        if found.entry >= 0 { return }
        slots[found.slot] = Int32(values.count)
        keyStart.append(Int32(pool.count)); keyLength.append(Int32(key.count)); values.append(value)
        pool.append(contentsOf: key)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        pool.withUnsafeBufferPointer { pp in
            for e in 0..<values.count {
                let key = UnsafeBufferPointer(rebasing: pp[Int(keyStart[e])..<Int(keyStart[e] + keyLength[e])])
                var slot = Self.hash(key) & mask
                while slots[slot] >= 0 { slot = (slot + 1) & mask }
                slots[slot] = Int32(e)
            }
        }
    }

    @inline(__always) private func find(_ key: UnsafeBufferPointer<UInt32>) -> (slot: Int, entry: Int) {
        var slot = Self.hash(key) & mask
        return pool.withUnsafeBufferPointer { pp in
            while true {
                let e = Int(slots[slot])
                if e < 0 { return (slot, -1) }
                let len = Int(keyLength[e])
                if len == key.count {
                    let s = Int(keyStart[e])
                    var same = true
                    for k in 0..<len where pp[s + k] != key[k] { same = false; break }
                    if same { return (slot, e) }
                }
                slot = (slot + 1) & mask
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

/// An open-addressing map from UInt64 keys to UInt64 values (BPE merges: id pair → rank and result).
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var vals: [UInt64]
    private var used: [Bool]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size); vals = keys; used = [Bool](repeating: false, count: size)
        mask = size - 1
    }

    @inline(__always) private static func hash(_ k: UInt64) -> Int {
        var h = k &* 0x9E3779B97F4A7C15
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// Inserts unless present (the first insertion wins, as the lowest merge rank must).
    mutating func insert(_ key: UInt64, _ value: UInt64) {
        precondition(count * 2 < keys.count, "PairTable sized too small")
        var slot = Self.hash(key) & mask
        while used[slot] {
            if keys[slot] == key { return }
            slot = (slot + 1) & mask
        }
        used[slot] = true; keys[slot] = key; vals[slot] = value; count += 1
    }

    @inline(__always) func lookup(_ key: UInt64) -> UInt64? {
        var slot = Self.hash(key) & mask
        while used[slot] {
            if keys[slot] == key { return vals[slot] }
            slot = (slot + 1) & mask
        }
        return nil
    }
}
