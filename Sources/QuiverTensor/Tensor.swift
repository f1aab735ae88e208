import Foundation

/// Float32 storage for tensors: either an owned, 64-byte aligned allocation or a borrowed region
/// (for example a weight matrix inside a memory-mapped checkpoint) kept alive by `owner`.
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of floats.
    public let count: Int
    private let owner: AnyObject?
    private let owned: Bool

    /// Allocates `count` floats, 64-byte aligned, set to zero.
    public init(zeros count: Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        owner = nil
        owned = true
    }

    /// Allocates `count` floats, 64-byte aligned, without initializing them (the caller writes every one).
    public init(uninitialized count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        owner = nil
        owned = true
    }

    /// Wraps `count` floats at `pointer` that `owner` keeps alive. No copy; the memory must not be
    /// written through the tensor if it is read-only (a mapped file).
    public init(borrowing pointer: UnsafePointer<Float>, count: Int, owner: AnyObject?) {
        self.pointer = UnsafeMutablePointer(mutating: pointer)
        self.count = count
        self.owner = owner
        owned = false
    }

    /// True when this storage borrows memory it does not own (a mapped weight, for example).
    public var isBorrowed: Bool { !owned }

    deinit { if owned { UnsafeMutableRawPointer(pointer).deallocate() } }
}

/// A dense, row-major (C order) float32 tensor: a shape and a contiguous region of a `TensorStorage`.
///
/// Tensors are cheap values: copies share storage, `rows(_:)` and `reshaped(_:)` are views
/// without copying. Writing through `mutablePointer` writes the shared storage; kernels write into
/// tensors the caller allocated (`Tensor(zeros:)`), so value copies are not copy-on-write.
public struct Tensor: @unchecked Sendable {
    /// Dimensions, outermost first (`[tokens, hidden]`, `[channels, height, width]`...).
    public let shape: [Int]
    /// The backing store.
    public let storage: TensorStorage
    /// Index of the first element in `storage`.
    public let offset: Int

    /// Number of elements (product of `shape`; 1 for a scalar shape `[]`).
    public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// A view of `storage` from `offset` with `shape`.
    public init(shape: [Int], storage: TensorStorage, offset: Int = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(offset >= 0 && offset + shape.reduce(1, *) <= storage.count,
                     "shape \(shape) at offset \(offset) exceeds a storage of \(storage.count) floats")
        self.shape = shape
        self.storage = storage
        self.offset = offset
    }

    /// A new tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, storage: TensorStorage(zeros: shape.reduce(1, *)))
    }

    /// A new tensor holding `values` (row-major); `values.count` must equal the product of `shape`.
    public init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        let s = TensorStorage(uninitialized: values.count)
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { s.pointer.update(from: b, count: values.count) } }
        self.init(shape: shape, storage: s)
    }

    /// A tensor over memory that `owner` keeps alive, without copying (e.g. a memory-mapped weight).
    public init(borrowing pointer: UnsafePointer<Float>, shape: [Int], owner: AnyObject?) {
        self.init(shape: shape, storage: TensorStorage(borrowing: pointer, count: shape.reduce(1, *), owner: owner))
    }

    /// First element (read-only use).
    public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer + offset) }
    /// First element, for kernels writing into a tensor the caller owns.
    public var mutablePointer: UnsafeMutablePointer<Float> { storage.pointer + offset }

    /// The values as a buffer.
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    /// A copy of the values, row-major.
    public var array: [Float] { Array(buffer) }

    /// Elements per index of the first dimension (`count / shape[0]`).
    public var rowSize: Int { shape.dropFirst().reduce(1, *) }

    /// A view of the index range `range` of the first dimension (rows of a matrix, items of a batch). No copy.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) of shape \(shape)")
        var s = shape
        s[0] = range.count
        return Tensor(shape: s, storage: storage, offset: offset + range.lowerBound * rowSize)
    }

    /// The same values viewed with another shape of equal element count. One dimension may be -1 (inferred). No copy.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            s[i] = count / known
        }
        precondition(s.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return Tensor(shape: s, storage: storage, offset: offset)
    }

    /// A new tensor with a copy of the values (own storage).
    public func copy() -> Tensor {
        let s = TensorStorage(uninitialized: count)
        s.pointer.update(from: pointer, count: count)
        return Tensor(shape: shape, storage: s)
    }

    /// The element at a full index (bounds-checked; for tests and small work, not for hot loops).
    public subscript(_ index: Int...) -> Float {
        get { pointer[linearIndex(index)] }
        nonmutating set { mutablePointer[linearIndex(index)] = newValue }
    }

    private func linearIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) for shape \(shape)")
        var at = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "index \(index) out of shape \(shape)")
            at = at * d + i
        }
        return at
    }
}

extension Tensor: CustomStringConvertible {
    /// The shape and the first six values (`%.5g`), e.g. `Tensor([2, 3]: [1, 2, 3, 4, 5, 6])`, for debugging.
    public var description: String {
        let head = buffer.prefix(6).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape): [\(head)\(count > 6 ? ", …" : "")])"
    }
}
