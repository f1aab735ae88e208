import Foundation
@testable import QuiverWeights

/// Writes protocol-2 pickles opcode by opcode, for synthetic checkpoints.
struct PickleBuilder {
    var bytes: [UInt8] = []

    mutating func op(_ b: UInt8) { bytes.append(b) }
    mutating func proto() { bytes += [0x80, 2] }
    mutating func mark() { op(0x28) }
    mutating func emptyDict() { op(0x7D) }
    mutating func emptyTuple() { op(0x29) }
    mutating func stop() { op(0x2E) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { op(0x58); u32(UInt32(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func int(_ i: Int32) { op(0x4A); u32(UInt32(bitPattern: i)) }
    mutating func global(_ module: String, _ name: String) { op(0x63); bytes += Array("\(module)\n\(name)\n".utf8) }

    /// `OrderedDict(name → _rebuild_tensor_v2(storage(key, count), 0, shape, stride, False, OrderedDict()))`
    /// with FloatStorage storages; `count` defaults to the shape's element count.
    mutating func tensorDict(_ tensors: [String: (key: String, shape: [Int], stride: [Int])], counts: [String: Int] = [:]) {
        global("collections", "OrderedDict"); emptyTuple(); op(0x52)
        mark()
        for (name, t) in tensors.sorted(by: { $0.key < $1.key }) {
            string(name)
            global("torch._utils", "_rebuild_tensor_v2")
            mark()
            mark(); string("storage"); global("torch", "FloatStorage"); string(t.key); string("cpu")
            int(Int32(counts[t.key] ?? t.shape.reduce(1, *))); op(0x74)
            op(0x51)  // BINPERSID
            int(0)
            mark(); for d in t.shape { int(Int32(d)) }; op(0x74)
            mark(); for d in t.stride { int(Int32(d)) }; op(0x74)
            op(0x89)
            global("collections", "OrderedDict"); emptyTuple(); op(0x52)
            op(0x74)
            op(0x52)
        }
        op(0x75)  // SETITEMS
    }
}

/// Writes minimal ZIP archives shaped like `torch.save` output.
enum ZipBuilder {
    private static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    /// `archive/data.pkl`, `archive/byteorder`, `archive/data/<key>`; `method` is written into the
    /// headers as is (data stays uncompressed); `zip64` uses ZIP64 records for offsets and the directory.
    static func torch(pickle: [UInt8], storages: [String: [UInt8]], method: UInt16 = 0, zip64: Bool = false) -> [UInt8] {
        var files: [(String, [UInt8])] = [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8))]
        for (k, v) in storages.sorted(by: { $0.key < $1.key }) { files.append(("archive/data/\(k)", v)) }
        return archive(files, method: method, zip64: zip64)
    }

    static func archive(_ files: [(String, [UInt8])], method: UInt16 = 0, zip64: Bool = false) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        for (name, data) in files {
            let offset = out.count
            let n = Array(name.utf8)
            out += le(UInt32(0x0403_4B50)) + le(UInt16(20)) + le(UInt16(0)) + le(method) + le(UInt32(0)) + le(UInt32(0))
            out += le(UInt32(data.count)) + le(UInt32(data.count)) + le(UInt16(n.count)) + le(UInt16(0)) + n + data
            let extra: [UInt8] = zip64 ? le(UInt16(1)) + le(UInt16(8)) + le(UInt64(offset)) : []
            central += le(UInt32(0x0201_4B50)) + le(UInt16(45)) + le(UInt16(45)) + le(UInt16(0)) + le(method)
            central += le(UInt32(0)) + le(UInt32(0)) + le(UInt32(data.count)) + le(UInt32(data.count))
            central += le(UInt16(n.count)) + le(UInt16(extra.count)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt32(0))
            central += le(zip64 ? UInt32.max : UInt32(offset)) + n + extra
        }
        let cdOffset = out.count
        out += central
        if zip64 {
            let record = out.count
            out += le(UInt32(0x0606_4B50)) + le(UInt64(44)) + le(UInt16(45)) + le(UInt16(45)) + le(UInt32(0)) + le(UInt32(0))
            out += le(UInt64(files.count)) + le(UInt64(files.count)) + le(UInt64(central.count)) + le(UInt64(cdOffset))
            out += le(UInt32(0x0706_4B50)) + le(UInt32(0)) + le(UInt64(record)) + le(UInt32(1))
            out += le(UInt32(0x0605_4B50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16.max) + le(UInt16.max) + le(UInt32.max) + le(UInt32.max) + le(UInt16(0))
        } else {
            out += le(UInt32(0x0605_4B50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(files.count)) + le(UInt16(files.count))
            out += le(UInt32(central.count)) + le(UInt32(cdOffset)) + le(UInt16(0))
        }
        return out
    }
}

/// Writes CTranslate2 v6 model files.
enum CT2Builder {
    struct Variable { let name: String; let dims: [UInt32]; let typeID: UInt8; let data: [UInt8] }

    private static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    private static func string(_ s: String) -> [UInt8] { le(UInt16(s.utf8.count + 1)) + Array(s.utf8) + [0] }

    static func build(version: UInt32 = 6, spec: String = "TestSpec", variables: [Variable], aliases: [(String, String)] = []) -> [UInt8] {
        var out = le(version) + string(spec) + le(UInt32(2)) + le(UInt32(variables.count))
        for v in variables {
            out += string(v.name) + [UInt8(v.dims.count)]
            for d in v.dims { out += le(d) }
            out += [v.typeID] + le(UInt32(v.data.count)) + v.data
        }
        out += le(UInt32(aliases.count))
        for (a, t) in aliases { out += string(a) + string(t) }
        return out
    }

    static func floats(_ xs: [Float]) -> [UInt8] { xs.flatMap { le($0.bitPattern) } }

    /// `enc/w` [2,3] F32 (0…5), `enc/h` [2] F16 (1, -2), `enc/s` scalar I8 (-3), `enc/i` [2] I32 (7, -8), alias `dec/w` → `enc/w`.
    static func sample() -> [UInt8] {
        build(variables: [
            Variable(name: "enc/w", dims: [2, 3], typeID: 0, data: floats([0, 1, 2, 3, 4, 5])),
            Variable(name: "enc/h", dims: [2], typeID: 4, data: le(UInt16(0x3C00)) + le(UInt16(0xC000))),
            Variable(name: "enc/s", dims: [], typeID: 1, data: [0xFD]),
            Variable(name: "enc/i", dims: [2], typeID: 3, data: le(Int32(7)) + le(Int32(-8))),
        ], aliases: [("dec/w", "enc/w")])
    }
}
