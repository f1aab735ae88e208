import Foundation

/// Element types found in checkpoints. The raw values are safetensors' `dtype` strings: `F32`, `F16`
/// (IEEE half), `BF16` (bfloat16), `F64`, the signed integers `I64`/`I32`/`I16`/`I8`, `U8` and `BOOL`.
/// Every type is delivered as float32 (integers and booleans by value).
public enum WeightDType: String, Sendable, Equatable {
    case float32 = "F32", float16 = "F16", bfloat16 = "BF16", float64 = "F64"
    case int64 = "I64", int32 = "I32", int16 = "I16", int8 = "I8", uint8 = "U8", bool = "BOOL"

    /// Size of one element in bytes.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }
}

/// Read-only float32 storage: either a view into a memory-mapped file (kept alive by `owner`)
/// or an owned buffer produced by a conversion.
public final class FloatStorage: @unchecked Sendable {
    /// First element.
    public let pointer: UnsafePointer<Float>
    /// Number of elements.
    public let count: Int
    private let owner: AnyObject?
    private let ownsMemory: Bool

    /// Wraps memory that `owner` keeps alive (for example a `MappedFile`). No copy.
    public init(borrowing pointer: UnsafePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer; self.count = count; self.owner = owner; self.ownsMemory = false
    }

    /// Takes the values of `array` into a newly allocated buffer.
    public init(copying array: [Float]) {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(array.count, 1))
        array.withUnsafeBufferPointer { if let b = $0.baseAddress { p.initialize(from: b, count: array.count) } }
        self.pointer = UnsafePointer(p); self.count = array.count; self.owner = nil; self.ownsMemory = true
    }

    /// Allocates `count` floats and lets `fill` write them.
    public init(count: Int, fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        do { try fill(UnsafeMutableBufferPointer(start: p, count: count)) } catch { p.deallocate(); throw error }
        self.pointer = UnsafePointer(p); self.count = count; self.owner = nil; self.ownsMemory = true
    }

    /// True when the values live in the mapped file rather than in a converted copy.
    public var isMapped: Bool { !ownsMemory }

    /// The values as a buffer.
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

    /// A copy of the values.
    public var array: [Float] { Array(buffer) }

    deinit { if ownsMemory { UnsafeMutablePointer(mutating: pointer).deallocate() } }
}

/// A named tensor from a checkpoint, as float32, row-major (C order).
public struct WeightTensor: Sendable {
    /// The checkpoint's name for it.
    public let name: String
    /// Dimensions, outermost first.
    public let shape: [Int]
    /// The element type in the file (values are always delivered as float32).
    public let sourceDType: WeightDType
    /// The values.
    public let storage: FloatStorage

    /// Wraps values already in float32; `shape`'s element count should equal `storage.count`.
    public init(name: String, shape: [Int], sourceDType: WeightDType, storage: FloatStorage) {
        self.name = name; self.shape = shape; self.sourceDType = sourceDType; self.storage = storage
    }

    /// Number of elements.
    public var count: Int { storage.count }
    /// The values as a buffer. Valid only while this tensor (or its `storage`) is alive: keep the
    /// tensor in a variable, or use `array` for a copy.
    public var values: UnsafeBufferPointer<Float> { storage.buffer }
    /// A copy of the values (row-major).
    public var array: [Float] { storage.array }
    /// Calls `body` with the values, keeping their storage alive for the duration (safe on a
    /// temporary: `try source.tensor(n).withValues { ... }`).
    public func withValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(storage.buffer) }
    }
}

/// Metadata of one tensor, without reading its values.
public struct WeightInfo: Sendable, Equatable {
    /// The tensor's name in the checkpoint (`encoder.layer.0.attention.self.query.weight`).
    public let name: String
    /// Dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// The element type stored in the file (``WeightSource/tensor(_:)`` delivers float32 whatever it is).
    public let dtype: WeightDType
    /// Metadata for a tensor `name` of `shape` stored as `dtype`.
    public init(name: String, shape: [Int], dtype: WeightDType) { self.name = name; self.shape = shape; self.dtype = dtype }
}

/// A checkpoint: a set of named tensors. Implemented by safetensors, PyTorch and CTranslate2 readers.
public protocol WeightSource: Sendable {
    /// The file (or folder) the tensors come from, for messages.
    var path: String { get }
    /// Every tensor's metadata, sorted by name.
    var infos: [WeightInfo] { get }
    /// Metadata of one tensor, or nil.
    func info(_ name: String) -> WeightInfo?
    /// The tensor's values as float32 (mapped in place when the file stores float32, converted otherwise).
    func tensor(_ name: String) throws -> WeightTensor
    /// The name of the stored tensor `name` refers to: itself, unless it is an alias (CTranslate2
    /// stores shared weights once and lists the other names as aliases).
    func canonicalName(_ name: String) -> String
}

extension WeightSource {
    /// Returns `name` unchanged: most formats have no aliases.
    public func canonicalName(_ name: String) -> String { name }

    /// Names of all tensors, sorted.
    public var names: [String] { infos.map(\.name) }
}
