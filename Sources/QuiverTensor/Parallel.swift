import Foundation

/// Work splitting over the machine's cores.
public enum Parallel {
    /// Active processor count (at least 1). `QUIVER_THREADS` overrides it.
    public static var defaultThreads: Int {
        if let s = ProcessInfo.processInfo.environment["QUIVER_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Runs `body(i)` for i in 0..<count on up to `threads` threads and returns when all are done.
    /// With one thread (or count 1) it runs inline.
    public static func forEach(_ count: Int, threads: Int = defaultThreads, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        if count == 1 || threads <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        // The caller's closure runs on worker threads and returns before this call does; the
        // caller is responsible for giving each index disjoint data (the usual fork-join contract).
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let run = body
            DispatchQueue.concurrentPerform(iterations: count) { run($0) }
        }
    }

    /// Splits `0..<total` into `parts` contiguous ranges of near-equal size (empty ranges dropped).
    public static func split(_ total: Int, parts: Int) -> [Range<Int>] {
        guard total > 0 else { return [] }
        let p = max(1, min(parts, total))
        return (0..<p).map { i in (total * i / p)..<(total * (i + 1) / p) }
    }
}

/// Reusable scratch memory for one thread of a forward pass: numbered slots of float buffers
/// that grow on demand and are reused across calls, so steady-state inference allocates nothing.
/// Not thread-safe: give each worker its own.
public final class Workspace: @unchecked Sendable {
    private var slots: [TensorStorage?] = []

    /// An empty workspace; buffers are allocated by the first ``buffer(_:count:)`` call for each slot.
    public init() {}

    /// A buffer of at least `count` floats for slot `slot` (contents unspecified; valid until the
    /// next call for the same slot with a larger count).
    public func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        if slot >= slots.count { slots.append(contentsOf: Array(repeating: nil, count: slot - slots.count + 1)) }
        if let s = slots[slot], s.count >= count { return s.pointer }
        // Grow by 1.5x to avoid repeated reallocation as batch sizes vary.
        let s = TensorStorage(uninitialized: max(count, (slots[slot]?.count ?? 0) * 3 / 2))
        slots[slot] = s
        return s.pointer
    }

    /// Total floats held.
    public var capacity: Int { slots.reduce(0) { $0 + ($1?.count ?? 0) } }
}
