import CQuiverKernels
import Foundation

/// Row-major float32 vectors in one 64-byte-aligned block, grown by doubling, or used in place
/// from a memory-mapped index file (copied out on the first append).
final class VectorStorage: @unchecked Sendable {
    let dimension: Int
    private(set) var count: Int = 0
    private(set) var capacity: Int = 0
    private var owned: UnsafeMutableRawPointer?
    private(set) var base: UnsafePointer<Float>
    /// Keeps a mapped file alive while `base` points into it.
    private var mapping: MappedIndexFile?

    init(dimension: Int, capacity: Int = 0) {
        self.dimension = dimension
        base = UnsafePointer(bitPattern: 64)!
        if capacity > 0 { reserve(capacity) }
    }

    /// Vectors at `pointer` inside `mapping` (not copied).
    init(dimension: Int, count: Int, mapped pointer: UnsafePointer<Float>, mapping: MappedIndexFile) {
        self.dimension = dimension
        self.count = count
        self.capacity = count
        self.base = pointer
        self.mapping = mapping
    }

    deinit { owned?.deallocate() }

    @inline(__always) func row(_ slot: Int) -> UnsafePointer<Float> { base + slot * dimension }

    var bytes: Int { count * dimension * 4 }

    /// Makes room for `n` vectors in total.
    func reserve(_ n: Int) {
        if n <= capacity && owned != nil { return }
        let newCap = max(n, owned == nil ? n : capacity * 2, 16)
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(newCap * dimension * 4, 64), alignment: 64)
        if count > 0 { p.copyMemory(from: UnsafeRawPointer(base), byteCount: count * dimension * 4) }
        owned?.deallocate()
        owned = p
        mapping = nil
        capacity = newCap
        base = UnsafePointer(p.assumingMemoryBound(to: Float.self))
    }

    /// Appends one vector, normalized to unit length when `normalize`; returns its slot.
    @discardableResult
    func append(_ v: UnsafePointer<Float>, normalize: Bool) -> Int {
        if count >= capacity || owned == nil { reserve(max(count + 1, capacity * 2)) }
        let dst = owned!.assumingMemoryBound(to: Float.self) + count * dimension
        dst.update(from: v, count: dimension)
        if normalize { qk_normalize_f32(dst, dimension) }
        count += 1
        return count - 1
    }

    /// Overwrites slot `slot` (< count) — used when building in parallel after `reserve`/`grow`.
    func set(_ slot: Int, _ v: UnsafePointer<Float>, normalize: Bool) {
        let dst = owned!.assumingMemoryBound(to: Float.self) + slot * dimension
        dst.update(from: v, count: dimension)
        if normalize { qk_normalize_f32(dst, dimension) }
    }

    /// Extends `count` by `n` uninitialized slots (filled with `set`).
    func grow(by n: Int) {
        if count + n > capacity || owned == nil { reserve(max(count + n, capacity + capacity / 2)) }
        count += n
    }
}

/// The mapping between caller rows and dense internal slots, with tombstones.
struct RowTable {
    private(set) var rowOfSlot: [UInt32] = []
    private(set) var slotOfRow: [UInt32: UInt32] = [:]
    /// One bit per slot: set when the slot's row was removed.
    private(set) var dead: [UInt64] = []
    private(set) var deadCount: Int = 0

    var slots: Int { rowOfSlot.count }
    var live: Int { rowOfSlot.count - deadCount }

    init() {}

    init(rows: [UInt32], dead: [UInt64]) {
        rowOfSlot = rows
        slotOfRow.reserveCapacity(rows.count)
        self.dead = dead
        for (s, r) in rows.enumerated() where !Self.bit(dead, s) { slotOfRow[r] = UInt32(s) }
        deadCount = rows.count - slotOfRow.count
    }

    @inline(__always) static func bit(_ words: [UInt64], _ s: Int) -> Bool {
        (words[s >> 6] >> UInt64(s & 63)) & 1 != 0
    }

    @inline(__always) func isDead(_ s: Int) -> Bool { deadCount != 0 && Self.bit(dead, s) }

    func contains(_ row: UInt32) -> Bool { slotOfRow[row] != nil }

    /// Checks that none of `rows` is present or repeated.
    func checkNew(_ rows: [UInt32]) throws {
        var seen = Set<UInt32>()
        for r in rows {
            if slotOfRow[r] != nil || !seen.insert(r).inserted { throw StoreError.duplicateIndexRow(r) }
        }
    }

    mutating func append(_ row: UInt32) -> Int {
        let s = rowOfSlot.count
        rowOfSlot.append(row)
        slotOfRow[row] = UInt32(s)
        if dead.count * 64 < rowOfSlot.count { dead.append(0) }
        return s
    }

    /// Tombstones `row`; returns its slot, or nil when absent.
    @discardableResult
    mutating func remove(_ row: UInt32) -> Int? {
        guard let s = slotOfRow.removeValue(forKey: row) else { return nil }
        dead[Int(s) >> 6] |= 1 << UInt64(Int(s) & 63)
        deadCount += 1
        return Int(s)
    }
}
