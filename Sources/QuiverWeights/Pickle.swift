import Foundation

/// A value produced by the restricted pickle machine. Containers are indexes into the machine's
/// arena (`PickleMachine.tuples`, `.lists`, `.dicts`), never nested Swift values: a hostile
/// pickle nesting a million tuples builds a flat array, and nothing recurses on it.
enum PickleValue: Equatable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits, as its little-endian two's complement bytes (the legacy
    /// PyTorch magic number is one).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(Int)
    case list(Int)
    case dict(Int)
    /// A whitelisted global, as `module.name`.
    case global(String)
    /// A storage reference returned by persistent_load (index into `PickleMachine.storages`).
    case storage(Int)
    /// A tensor rebuilt by `_rebuild_tensor*` (index into `PickleMachine.tensors`).
    case tensor(Int)

    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case let .global(g): return g
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// A storage named by a checkpoint's persistent id.
struct PickleStorage {
    /// Element type from the storage class (`torch.FloatStorage` → F32).
    let dtype: WeightDType
    /// The storage key (`"0"`, or a legacy number such as `"103185984"`).
    let key: String
    /// Number of elements the pickle declares.
    let count: Int
    /// Element offset into the root storage (legacy storage views), else 0.
    let viewOffset: Int
}

/// A tensor view on a storage, as `_rebuild_tensor_v2(storage, offset, size, stride, ...)` describes it.
struct PickleTensor {
    let storage: Int
    let offset: Int
    let shape: [Int]
    let stride: [Int]
}

/// A deliberately small pickle interpreter: the opcodes that `torch.save` emits for state
/// dicts, a whitelist of globals, and hard limits on stack, memo and sizes. It never imports
/// or calls anything; REDUCE only understands the whitelisted constructors.
struct PickleMachine {
    static let maxStack = 1 << 20
    static let maxMemo = 1 << 20
    static let maxMarks = 1 << 16
    static let maxDims = 32
    /// Most tuples + lists + dicts one pickle may build (a state dict needs a handful per tensor).
    static let maxContainers = 1 << 20

    /// Globals a state dict may name.
    static let allowedGlobals: Set<String> = [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
        "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
        "torch.ByteStorage", "torch.BoolStorage",
        "torch.float32", "torch.float16", "torch.bfloat16", "torch.float64",
        "torch.int64", "torch.int32", "torch.int16", "torch.int8", "torch.uint8", "torch.bool",
    ]

    static let storageTypes: [String: WeightDType] = [
        "torch.FloatStorage": .float32, "torch.DoubleStorage": .float64, "torch.HalfStorage": .float16,
        "torch.BFloat16Storage": .bfloat16, "torch.LongStorage": .int64, "torch.IntStorage": .int32,
        "torch.ShortStorage": .int16, "torch.CharStorage": .int8, "torch.ByteStorage": .uint8,
        "torch.BoolStorage": .bool,
    ]

    let path: String
    /// What the pickle is (`"data.pkl"`, `"legacy main pickle"`), for messages.
    let what: String

    var tuples: [[PickleValue]] = []
    var lists: [[PickleValue]] = []
    var dicts: [[(key: PickleValue, value: PickleValue)]] = []
    var storages: [PickleStorage] = []
    var tensors: [PickleTensor] = []

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(path: String, what: String) { self.path = path; self.what = what }

    private func fail(_ reason: String, at offset: Int) -> WeightsError {
        .malformed(path: path, reason: "\(what): \(reason) (byte \(offset))")
    }

    // MARK: - Running

    /// Runs one pickle from `reader`'s position up to and including STOP; returns the result.
    /// `persistentLoad` turns a BINPERSID id into a value (for PyTorch, a storage).
    mutating func run(_ reader: inout ByteReader,
                      persistentLoad: (inout PickleMachine, PickleValue, Int) throws -> PickleValue) throws -> PickleValue {
        stack.removeAll(keepingCapacity: true); marks.removeAll(); memo.removeAll()
        while true {
            let at = reader.offset
            let op = try reader.u8("\(what) opcode")
            switch op {
            case 0x80:  // PROTO
                let v = try reader.u8("PROTO version")
                guard v <= 5 else { throw fail("unsupported pickle protocol \(v)", at: at) }
            case 0x95:  // FRAME: a length hint; the opcodes follow inline.
                let n = try reader.u64("FRAME length")
                guard n <= UInt64(reader.remaining) else { throw fail("FRAME declares \(n) bytes, only \(reader.remaining) remain", at: at) }
            case 0x7D: try push(.dict(try newDict(at)), at)        // EMPTY_DICT '}'
            case 0x5D: try push(.list(try newList([], at)), at)     // EMPTY_LIST ']'
            case 0x29: try push(.tuple(try newTuple([], at)), at)   // EMPTY_TUPLE ')'
            case 0x28:  // MARK '('
                guard marks.count < Self.maxMarks else { throw fail("more than \(Self.maxMarks) nested MARKs", at: at) }
                marks.append(stack.count)
            case 0x58:  // BINUNICODE 'X'
                let n = Int(try reader.u32("BINUNICODE length"))
                try push(.string(try reader.utf8(n, "BINUNICODE string")), at)
            case 0x8C:  // SHORT_BINUNICODE
                let n = Int(try reader.u8("SHORT_BINUNICODE length"))
                try push(.string(try reader.utf8(n, "SHORT_BINUNICODE string")), at)
            case 0x8D:  // BINUNICODE8
                let n = try reader.u64("BINUNICODE8 length")
                guard n <= UInt64(reader.remaining) else { throw fail("BINUNICODE8 declares \(n) bytes, only \(reader.remaining) remain", at: at) }
                try push(.string(try reader.utf8(Int(n), "BINUNICODE8 string")), at)
            case 0x55:  // SHORT_BINSTRING 'U' (protocol 2 str; bytes in Latin-1)
                let n = Int(try reader.u8("SHORT_BINSTRING length"))
                try push(.string(latin1(try reader.slice(n, "SHORT_BINSTRING"))), at)
            case 0x54:  // BINSTRING 'T'
                let n = Int(Int32(bitPattern: try reader.u32("BINSTRING length")))
                guard n >= 0 else { throw fail("BINSTRING has negative length \(n)", at: at) }
                try push(.string(latin1(try reader.slice(n, "BINSTRING"))), at)
            case 0x43:  // SHORT_BINBYTES 'C'
                let n = Int(try reader.u8("SHORT_BINBYTES length"))
                try push(.bytes(Array(try reader.slice(n, "SHORT_BINBYTES"))), at)
            case 0x42:  // BINBYTES 'B'
                let n = Int(try reader.u32("BINBYTES length"))
                try push(.bytes(Array(try reader.slice(n, "BINBYTES"))), at)
            case 0x4A: try push(.int(Int(Int32(bitPattern: try reader.u32("BININT")))), at)  // BININT 'J'
            case 0x4B: try push(.int(Int(try reader.u8("BININT1"))), at)                     // BININT1 'K'
            case 0x4D: try push(.int(Int(try reader.u16("BININT2"))), at)                    // BININT2 'M'
            case 0x8A:  // LONG1
                let n = Int(try reader.u8("LONG1 length"))
                try push(long(try reader.slice(n, "LONG1 bytes")), at)
            case 0x8B:  // LONG4
                let n = Int(Int32(bitPattern: try reader.u32("LONG4 length")))
                guard n >= 0, n <= 256 else { throw fail("LONG4 integer of \(n) bytes is not accepted (limit 256)", at: at) }
                try push(long(try reader.slice(n, "LONG4 bytes")), at)
            case 0x47:  // BINFLOAT 'G' (big-endian)
                let raw = try reader.slice(8, "BINFLOAT")
                try push(.float(Double(bitPattern: UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)))), at)
            case 0x4E: try push(.none, at)          // NONE 'N'
            case 0x88: try push(.bool(true), at)    // NEWTRUE
            case 0x89: try push(.bool(false), at)   // NEWFALSE
            case 0x85, 0x86, 0x87:  // TUPLE1..3
                let n = Int(op - 0x84)
                guard stack.count - (marks.last ?? 0) >= n else { throw fail("TUPLE\(n) needs \(n) stack items", at: at) }
                let items = Array(stack.suffix(n)); stack.removeLast(n)
                try push(.tuple(try newTuple(items, at)), at)
            case 0x74:  // TUPLE 't'
                let items = try popMark(at)
                try push(.tuple(try newTuple(items, at)), at)
            case 0x73:  // SETITEM 's'
                let value = try pop(at), key = try pop(at)
                try setItems([key, value], into: try top(at), at)
            case 0x75:  // SETITEMS 'u'
                let items = try popMark(at)
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number (\(items.count)) of items", at: at) }
                try setItems(items, into: try top(at), at)
            case 0x61:  // APPEND 'a'
                let value = try pop(at)
                try append([value], to: try top(at), at)
            case 0x65:  // APPENDS 'e'
                let items = try popMark(at)
                try append(items, to: try top(at), at)
            case 0x71: try put(Int(try reader.u8("BINPUT index")), at)        // BINPUT 'q'
            case 0x72: try put(Int(try reader.u32("LONG_BINPUT index")), at)  // LONG_BINPUT 'r'
            case 0x94: try put(memo.count, at)                                 // MEMOIZE
            case 0x68: try get(Int(try reader.u8("BINGET index")), at)         // BINGET 'h'
            case 0x6A: try get(Int(try reader.u32("LONG_BINGET index")), at)   // LONG_BINGET 'j'
            case 0x63:  // GLOBAL 'c': "module\nname\n"
                let module = try line(&reader, "GLOBAL module"), name = try line(&reader, "GLOBAL name")
                try push(try global(module, name, at), at)
            case 0x93:  // STACK_GLOBAL
                let nameV = try pop(at), moduleV = try pop(at)
                guard case let .string(name) = nameV, case let .string(module) = moduleV else {
                    throw fail("STACK_GLOBAL needs two strings, found \(moduleV.kind) and \(nameV.kind)", at: at)
                }
                try push(try global(module, name, at), at)
            case 0x52:  // REDUCE 'R'
                let args = try pop(at), callable = try pop(at)
                try push(try reduce(callable, args, at), at)
            case 0x62:  // BUILD 'b': state of OrderedDict (`_metadata`) or of a parameter; ignored.
                _ = try pop(at)
                _ = try top(at)
            case 0x51:  // BINPERSID 'Q'
                let pid = try pop(at)
                try push(try persistentLoad(&self, pid, at), at)
            case 0x2E:  // STOP '.'
                guard let result = stack.last, stack.count == 1, marks.isEmpty else {
                    throw fail("STOP with \(stack.count) stack items and \(marks.count) open MARKs, expected exactly one value", at: at)
                }
                return result
            default:
                throw fail("pickle opcode \(opcodeName(op)) is outside the subset accepted for state dicts", at: at)
            }
        }
    }

    // MARK: - Stack and memo

    private mutating func push(_ v: PickleValue, _ at: Int) throws {
        guard stack.count < Self.maxStack else { throw fail("stack exceeds \(Self.maxStack) items", at: at) }
        stack.append(v)
    }

    private mutating func pop(_ at: Int) throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow", at: at) }
        stack.removeLast()
        return v
    }

    private func top(_ at: Int) throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow", at: at) }
        return v
    }

    private mutating func popMark(_ at: Int) throws -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no MARK to close", at: at) }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func put(_ index: Int, _ at: Int) throws {
        let v = try top(at)
        guard memo[index] != nil || memo.count < Self.maxMemo else { throw fail("memo exceeds \(Self.maxMemo) entries", at: at) }
        memo[index] = v
    }

    private mutating func get(_ index: Int, _ at: Int) throws {
        guard let v = memo[index] else { throw fail("memo index \(index) was never stored", at: at) }
        try push(v, at)
    }

    // MARK: - Containers

    private func checkContainers(_ at: Int) throws {
        guard tuples.count + lists.count + dicts.count < Self.maxContainers else {
            throw fail("more than \(Self.maxContainers) tuples, lists and dicts", at: at)
        }
    }
    private mutating func newTuple(_ items: [PickleValue], _ at: Int) throws -> Int {
        try checkContainers(at); tuples.append(items); return tuples.count - 1
    }
    private mutating func newList(_ items: [PickleValue], _ at: Int) throws -> Int {
        try checkContainers(at); lists.append(items); return lists.count - 1
    }
    private mutating func newDict(_ at: Int) throws -> Int {
        try checkContainers(at); dicts.append([]); return dicts.count - 1
    }

    private mutating func setItems(_ items: [PickleValue], into target: PickleValue, _ at: Int) throws {
        guard case let .dict(d) = target else { throw fail("SETITEM(S) on a \(target.kind), not a dict", at: at) }
        var i = 0
        while i + 1 < items.count {
            dicts[d].append((items[i], items[i + 1]))  // duplicates are rejected where names matter
            i += 2
        }
    }

    private mutating func append(_ items: [PickleValue], to target: PickleValue, _ at: Int) throws {
        guard case let .list(l) = target else { throw fail("APPEND(S) on a \(target.kind), not a list", at: at) }
        lists[l].append(contentsOf: items)
    }

    // MARK: - Globals and REDUCE

    private func global(_ module: String, _ name: String, _ at: Int) throws -> PickleValue {
        let full = module + "." + name
        guard Self.allowedGlobals.contains(full) else {
            throw fail("global \(full) is not on the whitelist of state-dict globals", at: at)
        }
        return .global(full)
    }

    private mutating func reduce(_ callable: PickleValue, _ args: PickleValue, _ at: Int) throws -> PickleValue {
        guard case let .global(name) = callable else { throw fail("REDUCE on a \(callable.kind), not a global", at: at) }
        guard case let .tuple(t) = args else { throw fail("REDUCE of \(name) with \(args.kind) arguments, not a tuple", at: at) }
        let a = tuples[t]
        switch name {
        case "collections.OrderedDict":
            guard a.isEmpty else { throw fail("OrderedDict built with \(a.count) arguments, expected none", at: at) }
            return .dict(try newDict(at))
        case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2":
            guard a.count >= 4, case let .storage(s) = a[0], case let .int(offset) = a[1] else {
                throw fail("\(name) needs (storage, offset, size, stride, ...)", at: at)
            }
            let shape = try intTuple(a[2], "size", at), stride = try intTuple(a[3], "stride", at)
            guard shape.count == stride.count else {
                throw fail("\(name) has \(shape.count) sizes but \(stride.count) strides", at: at)
            }
            guard offset >= 0 else { throw fail("\(name) has negative storage offset \(offset)", at: at) }
            tensors.append(PickleTensor(storage: s, offset: offset, shape: shape, stride: stride))
            return .tensor(tensors.count - 1)
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let data = a.first, case .tensor = data else { throw fail("\(name) needs a tensor as first argument", at: at) }
            return data
        default:
            throw fail("REDUCE of \(name) is not supported", at: at)
        }
    }

    /// A tuple of non-negative ints (a tensor's size or stride).
    func intTuple(_ v: PickleValue, _ field: String, _ at: Int) throws -> [Int] {
        guard case let .tuple(t) = v else { throw fail("tensor \(field) is a \(v.kind), not a tuple", at: at) }
        guard tuples[t].count <= Self.maxDims else { throw fail("tensor \(field) has \(tuples[t].count) dimensions (limit \(Self.maxDims))", at: at) }
        return try tuples[t].map {
            guard case let .int(i) = $0, i >= 0 else { throw fail("tensor \(field) holds \($0.kind) \($0), expected a non-negative int", at: at) }
            return i
        }
    }

    // MARK: - Scalars

    private func line(_ reader: inout ByteReader, _ field: String) throws -> String {
        let start = reader.position
        var end = start
        while end < reader.bytes.count, reader.bytes[end] != 0x0A, end - start < 256 { end += 1 }
        guard end < reader.bytes.count, reader.bytes[end] == 0x0A else {
            throw fail("\(field) is not a newline-terminated name of at most 256 bytes", at: reader.offset)
        }
        let s = try reader.utf8(end - start, field)
        reader.position += 1
        return s
    }

    private func latin1(_ raw: UnsafeRawBufferPointer) -> String {
        String(String.UnicodeScalarView(raw.map { Unicode.Scalar($0) }))
    }

    /// A LONG1/LONG4 payload: little-endian two's complement.
    private func long(_ raw: UnsafeRawBufferPointer) -> PickleValue {
        if raw.isEmpty { return .int(0) }
        if raw.count > 8 { return .bigInt(Array(raw)) }
        var v: UInt64 = 0
        for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        if raw.count < 8, raw[raw.count - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(raw.count)) }  // sign-extend
        return .int(Int(Int64(bitPattern: v)))
    }

    private func opcodeName(_ op: UInt8) -> String {
        let names: [UInt8: String] = [
            0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT", 0x4C: "LONG",
            0x50: "PERSID", 0x53: "STRING", 0x56: "UNICODE", 0x64: "DICT", 0x67: "GET", 0x69: "INST",
            0x6C: "LIST", 0x6F: "OBJ", 0x70: "PUT", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2",
            0x84: "EXT4", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET",
            0x92: "NEWOBJ_EX", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
        ]
        return (names[op] ?? "unknown") + String(format: " (0x%02X)", op)
    }
}

extension PickleMachine {
    /// Decodes the standard PyTorch persistent id `('storage', StorageType, key, location, numel[, view_metadata])`.
    mutating func torchStorage(_ pid: PickleValue, at: Int) throws -> PickleValue {
        guard case let .tuple(t) = pid else { throw fail("persistent id is a \(pid.kind), not a tuple", at: at) }
        let a = tuples[t]
        guard a.count >= 5, a[0] == .string("storage") else { throw fail("persistent id is not ('storage', type, key, location, size)", at: at) }
        guard case let .global(type) = a[1], let dtype = Self.storageTypes[type] else {
            throw fail("storage type \(a[1].kind) is not a supported torch storage class", at: at)
        }
        guard case let .string(key) = a[2] else { throw fail("storage key is a \(a[2].kind), not a string", at: at) }
        guard case let .int(count) = a[4], count >= 0 else { throw fail("storage size is not a non-negative int", at: at) }
        var viewOffset = 0
        if a.count >= 6, case let .tuple(v) = a[5] {  // legacy storage view: (view_key, offset, view_size)
            guard tuples[v].count == 3, case let .int(o) = tuples[v][1], o >= 0 else { throw fail("storage view metadata is malformed", at: at) }
            viewOffset = o
        }
        storages.append(PickleStorage(dtype: dtype, key: key, count: count, viewOffset: viewOffset))
        return .storage(storages.count - 1)
    }

    /// Keys under which training checkpoints wrap their state dict.
    static let wrapperKeys = ["state_dict", "model_state_dict", "model", "module", "net", "params"]

    /// The tensors of a state dict: the top-level dict's tensor entries. A checkpoint wrapping
    /// its state dict (`{"state_dict": {...}, "epoch": 3, "optimizer": {...}}`) is unwrapped when
    /// the top level holds no tensor itself and one of `wrapperKeys` holds a dict; otherwise
    /// nested dicts are flattened with dotted names.
    func stateDict(_ root: PickleValue, at: Int) throws -> [(name: String, tensor: PickleTensor)] {
        guard case var .dict(d) = root else { throw fail("the checkpoint holds a \(root.kind), not a state dict", at: at) }
        let hasTensor = dicts[d].contains { if case .tensor = $0.value { return true }; return false }
        if !hasTensor {
            for key in Self.wrapperKeys {
                if let entry = dicts[d].first(where: { $0.key == .string(key) }), case let .dict(inner) = entry.value {
                    d = inner; break
                }
            }
        }
        var out: [(String, PickleTensor)] = []
        var seen = Set<String>()
        // Explicit work list with a depth limit: cycles and deep nesting stay bounded.
        var work: [(dict: Int, prefix: String, depth: Int)] = [(d, "", 0)]
        var visited = Set<Int>()
        while let (dict, prefix, depth) = work.popLast() {
            guard depth <= 4, visited.insert(dict).inserted else { continue }
            for (k, v) in dicts[dict] {
                let key: String
                switch k {
                case let .string(s): key = s
                case let .int(i): key = String(i)
                default: continue
                }
                switch v {
                case let .tensor(i):
                    let name = prefix + key
                    guard seen.insert(name).inserted else { throw fail("tensor name '\(name)' appears twice", at: at) }
                    out.append((name, tensors[i]))
                case let .dict(inner):
                    work.append((inner, prefix + key + ".", depth + 1))
                default: continue
                }
            }
        }
        return out
    }
}
