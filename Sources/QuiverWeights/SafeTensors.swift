import Foundation

/// A `.safetensors` file, memory-mapped. Float32 tensors are used in place; F16/BF16 and
/// other numeric types are converted to float32 on access.
///
/// Format: 8-byte little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`),
/// then the data; offsets are relative to the end of the header.
///
/// Immutable and `Sendable`: tensors may be read from several threads. A mapped tensor keeps the mapping alive.
///
/// ```swift
/// let file = try SafeTensorsFile(path: "/home/me/.cache/quiver/models/all-MiniLM-L6-v2/model.safetensors")
/// file.info("embeddings.word_embeddings.weight")?.shape      // [30522, 384]
/// let w = try file.tensor("embeddings.word_embeddings.weight")
/// w.storage.isMapped                                         // true: F32 used in place
/// let first = w.withValues { Array($0.prefix(4)) }
/// ```
public struct SafeTensorsFile: WeightSource {
    /// Largest JSON header accepted (the format's own reference caps it at 100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// The file, as given to ``init(path:)``; used in error messages.
    public let path: String
    /// Name, shape and element type of every tensor in the header, sorted by name (`__metadata__` excluded).
    public let infos: [WeightInfo]
    /// The free-form `__metadata__` strings.
    public let metadata: [String: String]
    private let file: MappedFile
    private let entries: [String: (info: WeightInfo, offset: Int, length: Int)]

    /// Opens and validates the header of `path`; no tensor data is read.
    /// - Throws: `WeightsError` naming the file and the first inconsistency found.
    public init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    /// Reads an already mapped (or in-memory) file.
    init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        guard file.count >= 8 else { throw WeightsError.malformed(path: path, reason: "file is \(file.count) bytes, shorter than the 8-byte header length") }
        let n = try file.bytes(0, 8).loadUnaligned(as: UInt64.self).littleEndian
        guard n <= UInt64(Self.maxHeaderBytes) else { throw WeightsError.malformed(path: path, reason: "declared header length \(n) exceeds \(Self.maxHeaderBytes) bytes") }
        let headerLength = Int(n)
        guard headerLength <= file.count - 8 else { throw WeightsError.malformed(path: path, reason: "declared header length \(headerLength) runs past the end of the file (\(file.count) bytes)") }
        let header = Data(try file.bytes(8, headerLength))
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: header) } catch {
            throw WeightsError.malformed(path: path, reason: "header is not valid JSON (\(error.localizedDescription))")
        }
        guard let object = json as? [String: Any] else { throw WeightsError.malformed(path: path, reason: "header is not a JSON object") }
        let dataStart = 8 + headerLength
        let dataLength = file.count - dataStart
        var entries: [String: (info: WeightInfo, offset: Int, length: Int)] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                if let m = value as? [String: Any] { for (k, v) in m { metadata[k] = "\(v)" } }
                continue
            }
            guard let entry = value as? [String: Any] else { throw WeightsError.malformed(path: path, reason: "entry '\(name)' is not an object") }
            guard let dt = entry["dtype"] as? String else { throw WeightsError.malformed(path: path, reason: "tensor '\(name)' has no dtype") }
            guard let dtype = WeightDType(rawValue: dt) else { throw WeightsError.unsupportedDType(path: path, tensor: name, dtype: dt) }
            guard let shapeAny = entry["shape"] as? [Any] else { throw WeightsError.malformed(path: path, reason: "tensor '\(name)' has no shape") }
            var shape: [Int] = []
            var elements = 1
            for d in shapeAny {
                guard let dim = Self.count(d) else { throw WeightsError.malformed(path: path, reason: "tensor '\(name)' has an invalid dimension \(d)") }
                let (m, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow, m <= dataLength else { throw WeightsError.malformed(path: path, reason: "tensor '\(name)' declares shape \(shapeAny), larger than the file") }
                elements = m; shape.append(dim)
            }
            guard let offs = entry["data_offsets"] as? [Any], offs.count == 2,
                  let begin = Self.count(offs[0]), let end = Self.count(offs[1]), end >= begin else {
                throw WeightsError.malformed(path: path, reason: "tensor '\(name)' has invalid data_offsets")
            }
            guard end <= dataLength else { throw WeightsError.malformed(path: path, reason: "tensor '\(name)' data ends at \(end), past the \(dataLength) data bytes of the file") }
            guard end - begin == elements * dtype.byteSize else {
                throw WeightsError.malformed(path: path, reason: "tensor '\(name)' has \(end - begin) bytes, its shape \(shape) and dtype \(dt) need \(elements * dtype.byteSize)")
            }
            entries[name] = (WeightInfo(name: name, shape: shape, dtype: dtype), dataStart + begin, end - begin)
        }
        self.entries = entries
        self.metadata = metadata
        self.infos = entries.values.map(\.info).sorted { $0.name < $1.name }
    }

    /// A JSON number that is a non-negative integer below 2^53 (not a bool, not a fraction,
    /// not out of Int's range), else nil.
    static func count(_ value: Any) -> Int? {
        guard let n = value as? NSNumber, !(value is Bool && String(cString: n.objCType) == "c") else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d >= 0, d < 9_007_199_254_740_992, d.rounded() == d else { return nil }
        return Int(d)
    }

    /// Name, shape and element type of the tensor `name`, or nil if the header has no such entry.
    public func info(_ name: String) -> WeightInfo? { entries[name]?.info }

    /// The tensor `name` as row-major float32: a view into the mapping when it is F32 and 4-byte aligned (no copy),
    /// else converted into a new buffer (F16, BF16, F64 and the integer types by value).
    /// - Throws: `WeightsError.missingTensor` (with up to five similar names) when the header has no such entry.
    public func tensor(_ name: String) throws -> WeightTensor {
        guard let e = entries[name] else {
            throw WeightsError.missingTensor(path: path, tensor: name, similar: WeightNames.similar(to: name, in: names))
        }
        let raw = try file.bytes(e.offset, e.length)
        let count = e.length / e.info.dtype.byteSize
        if e.info.dtype == .float32, let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            return WeightTensor(name: name, shape: e.info.shape, sourceDType: .float32,
                                storage: FloatStorage(borrowing: base.assumingMemoryBound(to: Float.self), count: count, owner: file))
        }
        let storage = FloatStorage(count: count) { out in
            if let base = raw.baseAddress, let dst = out.baseAddress {
                _ = FloatConversion.convert(base, dtype: e.info.dtype, count: count, into: dst)
            }
        }
        return WeightTensor(name: name, shape: e.info.shape, sourceDType: e.info.dtype, storage: storage)
    }
}

/// Helpers for tensor names in messages.
public enum WeightNames {
    /// Up to five names from `names` that share the last two components (or else the last one)
    /// with `name`. Components are separated by `.` (PyTorch, safetensors) or `/` (CTranslate2).
    public static func similar(to name: String, in names: [String]) -> [String] {
        let isSeparator: (Character) -> Bool = { $0 == "." || $0 == "/" }
        let parts = name.split(whereSeparator: isSeparator)
        guard let last = parts.last else { return [] }
        let separators = name.indices.filter { isSeparator(name[$0]) }
        let tail = separators.count >= 2 ? String(name[name.index(after: separators[separators.count - 2])...]) : name
        let byTail = names.filter { $0.hasSuffix(tail) }
        if !byTail.isEmpty { return Array(byTail.prefix(5)) }
        return Array(names.filter { $0.hasSuffix("." + last) || $0.hasSuffix("/" + last) || $0 == String(last) }.prefix(5))
    }
}
