import Foundation

/// A PyTorch checkpoint in the legacy (pre-1.6) stream format, such as the EfficientNet-Lite
/// release files. Layout, all pickles back to back:
/// 1. the magic number 0x1950a86a20f9469cfc6c (a pickled int),
/// 2. the protocol version (1001),
/// 3. `sys_info` (`{"little_endian": True, "type_sizes": {...}, ...}`),
/// 4. the state dict, whose tensors reference storages by persistent id
///    `('storage', torch.FloatStorage, key, location, numel, view_metadata)`,
/// 5. the list of storage keys; then for each key in that order an 8-byte little-endian element
///    count followed by the storage's raw bytes.
public struct PyTorchLegacyFile: WeightSource {
    /// The magic number's little-endian bytes, as LONG1 carries them.
    static let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    /// The serialization protocol version this reader understands.
    static let protocolVersion = 1001

    /// The checkpoint file, as given to ``init(path:)``; used in error messages.
    public let path: String
    /// Name, shape and element type of every tensor of the state dict, sorted by name.
    public var infos: [WeightInfo] { table.infos }
    private let table: TorchTensorTable

    /// Opens `path`, runs its pickles and locates every storage; no tensor data is converted.
    /// - Throws: `WeightsError` naming the file and the problem.
    public init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        func fail(_ reason: String) -> WeightsError { .malformed(path: path, reason: "legacy PyTorch checkpoint: \(reason)") }
        var reader = ByteReader(path: path, bytes: try file.bytes(0, file.count))
        var m = PickleMachine(path: path, what: "magic number pickle")
        let noPersistent: (inout PickleMachine, PickleValue, Int) throws -> PickleValue = { _, _, at in
            throw WeightsError.malformed(path: path, reason: "unexpected persistent id in a header pickle (byte \(at))")
        }
        guard case let .bigInt(magic) = try m.run(&reader, persistentLoad: noPersistent), magic == Self.magic else {
            throw fail("the magic number 0x1950a86a20f9469cfc6c is missing")
        }
        m = PickleMachine(path: path, what: "protocol version pickle")
        let version = try m.run(&reader, persistentLoad: noPersistent)
        guard version == .int(Self.protocolVersion) else { throw fail("protocol version is \(version), expected \(Self.protocolVersion)") }
        m = PickleMachine(path: path, what: "sys_info pickle")
        let sysInfo = try m.run(&reader, persistentLoad: noPersistent)
        if case let .dict(d) = sysInfo,
           let le = m.dicts[d].first(where: { $0.key == .string("little_endian") })?.value, le == .bool(false) {
            throw fail("written on a big-endian machine; only little-endian checkpoints are supported")
        }
        var main = PickleMachine(path: path, what: "state dict pickle")
        let root = try main.run(&reader) { m, pid, at in try m.torchStorage(pid, at: at) }
        let tensors = try main.stateDict(root, at: reader.offset)
        m = PickleMachine(path: path, what: "storage key list pickle")
        let keyList = try m.run(&reader, persistentLoad: noPersistent)
        guard case let .list(l) = keyList else { throw fail("the storage key list is a \(keyList.kind), not a list") }
        // Element type of each key, from the storages the state dict references.
        var dtypes: [String: WeightDType] = [:]
        for s in main.storages {
            if let known = dtypes[s.key], known != s.dtype { throw fail("storage '\(s.key)' is referenced as both \(known.rawValue) and \(s.dtype.rawValue)") }
            dtypes[s.key] = s.dtype
        }
        var ranges: [String: (offset: Int, length: Int)] = [:]
        for k in m.lists[l] {
            guard case let .string(key) = k else { throw fail("storage key list holds a \(k.kind), not a string") }
            guard let dtype = dtypes[key] else { throw fail("storage '\(key)' is stored but no tensor references it, so its element size is unknown") }
            guard ranges[key] == nil else { throw fail("storage '\(key)' is stored twice") }
            let at = reader.offset
            let n = try reader.u64("element count of storage '\(key)'")
            let (bytes, o) = n.multipliedReportingOverflow(by: UInt64(dtype.byteSize))
            guard !o, bytes <= UInt64(reader.remaining) else {
                throw fail("storage '\(key)' at byte \(at) declares \(n) elements of \(dtype.rawValue), more than the \(reader.remaining) bytes left in the file")
            }
            ranges[key] = (reader.offset, Int(bytes))
            try reader.skip(Int(bytes), "data of storage '\(key)'")
        }
        table = try TorchTensorTable(path: path, file: file, machine: main, tensors: tensors) { s in
            guard let r = ranges[s.key] else { throw fail("storage '\(s.key)' is referenced by a tensor but not stored in the file") }
            return (r.offset, r.length, nil)
        }
    }

    /// Name, shape and element type of the tensor `name` (a state dict key such as `_conv_stem.weight`), or nil if absent.
    public func info(_ name: String) -> WeightInfo? { table.entries[name]?.info }

    /// The tensor `name` as row-major float32: mapped in place when it is contiguous float32, else converted into a new buffer.
    /// - Throws: `WeightsError.missingTensor` (with similar names) when there is no such tensor; `.malformed` when its
    ///   storage lies outside the file.
    public func tensor(_ name: String) throws -> WeightTensor { try table.tensor(name) }
}
