import Foundation

/// Tracks which tensors of a checkpoint a model has taken, so that loading can fail on a
/// missing tensor, a wrong shape, or tensors left unused. Shared by every `WeightScope`
/// derived from it. Not thread-safe: load a model from one thread.
public final class WeightLoader: @unchecked Sendable {
    /// The checkpoint.
    public let source: WeightSource
    private var used: Set<String> = []
    /// Names that may stay unused without an error (for example buffers such as `position_ids`,
    /// or a classifier head a feature extractor drops).
    public var ignoredUnused: [(String) -> Bool] = []

    /// Starts tracking `source` with nothing taken and nothing ignored.
    public init(_ source: WeightSource) { self.source = source }

    /// The root scope (no prefix).
    public var root: WeightScope { WeightScope(loader: self, prefix: "") }

    /// Takes a tensor by full name, checking its shape when `shape` is given.
    public func take(_ name: String, shape: [Int]?) throws -> WeightTensor {
        let t = try source.tensor(name)
        if let shape, shape != t.shape {
            throw WeightsError.shapeMismatch(path: source.path, tensor: name, expected: shape, actual: t.shape)
        }
        used.insert(name)
        return t
    }

    /// True if the checkpoint has a tensor of that full name.
    public func has(_ name: String) -> Bool { source.info(name) != nil }

    /// Marks a name as used without reading it.
    public func markUsed(_ name: String) { used.insert(name) }

    /// Names not taken yet (minus the ignored ones).
    public var unused: [String] {
        // An alias counts as used when the tensor it stands for was taken (and vice versa).
        let usedCanonical = Set(used.map { source.canonicalName($0) })
        return source.names.filter { n in
            !used.contains(n) && !usedCanonical.contains(source.canonicalName(n)) && !ignoredUnused.contains { $0(n) }
        }
    }

    /// Throws `WeightsError.unusedTensors` if anything was not taken.
    public func finish() throws {
        let left = unused
        if !left.isEmpty { throw WeightsError.unusedTensors(path: source.path, tensors: left) }
    }
}

/// A view of a checkpoint under a name prefix (`encoder.layer.3.`), as model blocks use it.
public struct WeightScope: Sendable {
    /// The loader that records which tensors were taken (shared by every scope derived from it).
    public let loader: WeightLoader
    /// The prefix, ending with "." unless empty.
    public let prefix: String

    /// A scope whose tensor names start with `prefix` (use "" for the root, otherwise end it with ".").
    public init(loader: WeightLoader, prefix: String) { self.loader = loader; self.prefix = prefix }

    /// A nested scope: `scope("attention")` under `encoder.layer.0.` is `encoder.layer.0.attention.`.
    public func scope(_ name: String) -> WeightScope {
        WeightScope(loader: loader, prefix: prefix + name + ".")
    }
    /// A nested scope for an index: `scope(3)`.
    public func scope(_ index: Int) -> WeightScope { scope(String(index)) }

    /// The tensor `prefix + name`, whose shape must equal `shape` when given.
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> WeightTensor {
        try loader.take(prefix + name, shape: shape)
    }

    /// The tensor if present (for optional biases), else nil.
    public func optionalTensor(_ name: String, shape: [Int]? = nil) throws -> WeightTensor? {
        loader.has(prefix + name) ? try loader.take(prefix + name, shape: shape) : nil
    }

    /// True if `prefix + name` exists.
    public func has(_ name: String) -> Bool { loader.has(prefix + name) }
}
