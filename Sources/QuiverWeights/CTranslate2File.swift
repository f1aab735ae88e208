import Foundation

/// A CTranslate2 model file (`model.bin`, as faster-whisper ships), binary version 6.
///
/// Layout (little-endian): `u32` version; spec name; `u32` spec revision; `u32` variable count;
/// per variable: name, `u8` rank, `rank × u32` dimensions, `u8` type id (0 float32, 1 int8,
/// 2 int16, 3 int32, 4 float16, 5 bfloat16), `u32` byte count, the bytes; then `u32` alias count
/// and per alias its name and the name of the variable it stands for. A string is a `u16`
/// length that counts a trailing NUL, then the UTF-8 bytes and the NUL.
///
/// Names use CTranslate2's `/` scopes (`encoder/layer_0/self_attention/linear_0/weight`).
/// Values are widened to float32 on access (float16/bfloat16 exactly; int8/int16/int32 as
/// their integer values — quantized weights are NOT rescaled, their `*_scale` variables are
/// separate tensors). Aliases are names too; `canonicalName(_:)` maps them to their variable.
public struct CTranslate2File: WeightSource {
    /// The only binary version read.
    public static let supportedVersion: UInt32 = 6
    /// Most variables accepted.
    public static let maxVariables = 1_000_000
    /// CTranslate2's type ids, in order.
    static let typeIDs: [WeightDType] = [.float32, .int8, .int16, .int32, .float16, .bfloat16]

    /// The file, as given to ``init(path:)``; used in error messages.
    public let path: String
    /// Name, shape and element type of every variable and every alias (an alias with its target's shape), sorted by name.
    public let infos: [WeightInfo]
    /// The model specification's name (`WhisperSpec`).
    public let specName: String
    /// The specification's revision.
    public let revision: Int
    /// Alias name → variable name.
    public let aliases: [String: String]
    private let file: MappedFile
    private let entries: [String: (info: WeightInfo, offset: Int, length: Int)]

    /// Opens `path` and reads every variable's header; no values are converted.
    /// - Throws: `WeightsError` naming the file, the variable and the byte offset of a problem.
    public init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        var r = ByteReader(path: path, bytes: try file.bytes(0, file.count))
        func fail(_ reason: String) -> WeightsError { .malformed(path: path, reason: "CTranslate2 model: \(reason)") }
        let version = try r.u32("binary version")
        guard version == Self.supportedVersion else {
            throw fail("binary version \(version); only version \(Self.supportedVersion) is supported (re-convert the model with a current ctranslate2)")
        }
        specName = try Self.string(&r, "spec name")
        revision = Int(try r.u32("spec revision"))
        let count = Int(try r.u32("variable count"))
        // Each variable needs at least 2 (name) + 1 + 1 + 4 bytes of header.
        guard count <= Self.maxVariables, count <= r.remaining / 8 else {
            throw fail("declares \(count) variables, more than the file can hold")
        }
        var entries: [String: (info: WeightInfo, offset: Int, length: Int)] = [:]
        for i in 0..<count {
            let name = try Self.string(&r, "name of variable \(i)")
            let rank = Int(try r.u8("rank of '\(name)'"))
            guard rank <= 16 else { throw fail("variable '\(name)' has rank \(rank) (limit 16)") }
            var shape: [Int] = []
            var elements = 1
            for _ in 0..<rank {
                let d = Int(try r.u32("dimension of '\(name)'"))
                let (m, o) = elements.multipliedReportingOverflow(by: d)
                guard !o else { throw fail("variable '\(name)' shape overflows") }
                elements = m; shape.append(d)
            }
            let typeID = Int(try r.u8("type id of '\(name)'"))
            guard typeID < Self.typeIDs.count else { throw WeightsError.unsupportedDType(path: path, tensor: name, dtype: "CTranslate2 type id \(typeID)") }
            let dtype = Self.typeIDs[typeID]
            let at = r.offset
            let bytes = Int(try r.u32("byte count of '\(name)'"))
            let (need, o) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !o, need == bytes else {
                throw fail("variable '\(name)' at byte \(at) has \(bytes) bytes, its shape \(shape) of \(dtype.rawValue) needs \(o ? -1 : need)")
            }
            let start = r.offset
            try r.skip(bytes, "data of '\(name)'")
            guard entries[name] == nil else { throw fail("variable '\(name)' appears twice") }
            entries[name] = (WeightInfo(name: name, shape: shape, dtype: dtype), start, bytes)
        }
        let aliasCount = Int(try r.u32("alias count"))
        guard aliasCount <= r.remaining / 4 else { throw fail("declares \(aliasCount) aliases, more than the file can hold") }
        var aliases: [String: String] = [:]
        for i in 0..<aliasCount {
            let alias = try Self.string(&r, "name of alias \(i)")
            let target = try Self.string(&r, "target of alias '\(alias)'")
            guard let t = entries[target] else { throw fail("alias '\(alias)' names '\(target)', which is not a variable") }
            guard entries[alias] == nil else { throw fail("alias '\(alias)' shadows a variable") }
            aliases[alias] = target
            entries[alias] = (WeightInfo(name: alias, shape: t.info.shape, dtype: t.info.dtype), t.offset, t.length)
        }
        guard r.atEnd else { throw fail("\(r.remaining) unexpected bytes after the aliases (byte \(r.offset))") }
        self.entries = entries
        self.aliases = aliases
        self.infos = entries.values.map(\.info).sorted { $0.name < $1.name }
    }

    /// A CTranslate2 string: `u16` length including the trailing NUL, bytes, NUL.
    static func string(_ r: inout ByteReader, _ field: String) throws -> String {
        let at = r.offset
        let n = Int(try r.u16("length of \(field)"))
        guard n >= 1 else { throw r.fail("\(field) at byte \(at) has length 0 (the NUL terminator is missing)") }
        let s = try r.utf8(n - 1, field)
        guard try r.u8("terminator of \(field)") == 0 else { throw r.fail("\(field) at byte \(at) is not NUL-terminated") }
        return s
    }

    /// Name, shape and element type of the variable `name` (`/`-scoped, e.g. `encoder/conv1/weight`), or nil if absent.
    public func info(_ name: String) -> WeightInfo? { entries[name]?.info }

    /// The variable an alias stands for (see ``aliases``), or `name` itself when it is not an alias.
    public func canonicalName(_ name: String) -> String { aliases[name] ?? name }

    /// The variable `name` as float32: mapped in place when it is float32 and aligned, else widened into a new buffer
    /// (int8/int16/int32 by integer value, not rescaled).
    /// - Throws: `WeightsError.missingTensor` (with similar names) when there is no such variable.
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
