import Foundation

/// Runs the recursive parts (parsing, compiling, validating) of deeply nested expressions on a
/// thread with a large stack, so the nesting limit — not the caller's thread stack — decides what
/// is accepted. Each nesting level costs about 4 KB of stack in release and ~25 KB in debug
/// builds; secondary threads may have only 512 KB.
enum FilterStack {
    /// Stack of the helper thread: room for `FilterParser.maxDepth` levels in any build.
    static let largeStackSize = 16 << 20

    /// Nesting-capable tokens above which the work moves to the large stack.
    static let inlineLimit = 12

    /// Runs `body` here when `deep` is false, otherwise on a fresh thread with a large stack,
    /// waiting for it (microseconds; only for unusually nested expressions).
    static func run<T>(deep: Bool, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        if !deep { return try body() }
        let result: Result<T, StoreError> = withoutActuallyEscaping(body) { body in
            let box = FilterStackBox<T>(body)
            let thread = Thread {
                box.execute()
                box.done.signal()
            }
            thread.stackSize = largeStackSize
            thread.start()
            box.done.wait()
            return box.result!
        }
        return try result.get()
    }
}

/// Carries the work to the helper thread and the result back; the semaphore orders the writes
/// before the read. The body is dropped before signalling, so it does not outlive the call.
private final class FilterStackBox<T>: @unchecked Sendable {
    private var body: (() throws(StoreError) -> T)?
    var result: Result<T, StoreError>?
    let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () throws(StoreError) -> T) { self.body = body }

    func execute() {
        if let body { result = Result { () throws(StoreError) -> T in try body() } }
        body = nil
    }
}
