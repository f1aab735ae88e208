import Foundation

/// Compact binary encoding of field values, ids and the dynamic field, used by the WAL and segments.
enum ValueCodec {
    static func put(_ v: JSONValue, _ w: inout ByteWriter) {
        switch v {
        case .null: w.u8(0)
        case let .bool(b): w.u8(b ? 2 : 1)
        case let .number(n): w.u8(3); w.f64(n)
        case let .string(s): w.u8(4); w.string(s)
        case let .array(a): w.u8(5); w.u32(UInt32(a.count)); for x in a { put(x, &w) }
        case let .object(o):
            w.u8(6); w.u32(UInt32(o.count))
            for k in o.keys.sorted() { w.string(k); put(o[k]!, &w) }
        }
    }

    static func json(_ r: inout ByteReader, depth: Int = 0) throws -> JSONValue {
        guard depth < 512 else { throw StoreError.corruptFile(path: r.path, reason: "JSON nested too deeply at byte \(r.offset)") }
        let t = try r.u8()
        switch t {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .number(try r.f64())
        case 4: return .string(try r.string())
        case 5:
            let n = Int(try r.u32())
            guard n <= r.remaining else { throw StoreError.corruptFile(path: r.path, reason: "array length \(n) at byte \(r.offset)") }
            var a: [JSONValue] = []; a.reserveCapacity(n)
            for _ in 0..<n { a.append(try json(&r, depth: depth + 1)) }
            return .array(a)
        case 6:
            let n = Int(try r.u32())
            guard n <= r.remaining else { throw StoreError.corruptFile(path: r.path, reason: "object size \(n) at byte \(r.offset)") }
            var o: [String: JSONValue] = [:]
            for _ in 0..<n { let k = try r.string(); o[k] = try json(&r, depth: depth + 1) }
            return .object(o)
        default: throw StoreError.corruptFile(path: r.path, reason: "unknown JSON tag \(t) at byte \(r.offset - 1)")
        }
    }

    static func put(_ v: FieldValue, _ w: inout ByteWriter) {
        switch v {
        case .null: w.u8(0)
        case let .bool(b): w.u8(b ? 2 : 1)
        case let .int(i): w.u8(3); w.i64(i)
        case let .double(d): w.u8(4); w.f64(d)
        case let .string(s): w.u8(5); w.string(s)
        case let .json(j): w.u8(6); put(j, &w)
        }
    }

    static func field(_ r: inout ByteReader) throws -> FieldValue {
        let t = try r.u8()
        switch t {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .int(try r.i64())
        case 4: return .double(try r.f64())
        case 5: return .string(try r.string())
        case 6: return .json(try json(&r))
        default: throw StoreError.corruptFile(path: r.path, reason: "unknown field tag \(t) at byte \(r.offset - 1)")
        }
    }

    static func put(_ k: PrimaryKey, _ w: inout ByteWriter) {
        switch k {
        case let .int(i): w.u8(1); w.i64(i)
        case let .string(s): w.u8(2); w.string(s)
        }
    }

    static func key(_ r: inout ByteReader) throws -> PrimaryKey {
        let t = try r.u8()
        switch t {
        case 1: return .int(try r.i64())
        case 2: return .string(try r.string())
        default: throw StoreError.corruptFile(path: r.path, reason: "unknown key tag \(t) at byte \(r.offset - 1)")
        }
    }

    static func put(_ d: [String: FieldValue], _ w: inout ByteWriter) {
        w.u32(UInt32(d.count))
        for k in d.keys.sorted() { w.string(k); put(d[k]!, &w) }
    }

    static func dynamic(_ r: inout ByteReader) throws -> [String: FieldValue] {
        let n = Int(try r.u32())
        guard n <= r.remaining else { throw StoreError.corruptFile(path: r.path, reason: "dynamic field size \(n) at byte \(r.offset)") }
        var d: [String: FieldValue] = [:]
        for _ in 0..<n { let k = try r.string(); d[k] = try field(&r) }
        return d
    }
}
