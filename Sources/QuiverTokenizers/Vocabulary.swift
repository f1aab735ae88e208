import Foundation

/// A token vocabulary as an id-indexed list of token strings (unused ids are empty strings).
///
/// Swift `String` equality is canonical equivalence, so a `[String: Int]` merges tokens such as
/// "Å" (U+00C5) and "Å" (U+212B ANGSTROM SIGN) that tokenizer vocabularies keep apart. The
/// vocabulary is therefore kept as a list and looked up by exact scalars; when JSONDecoder's
/// dictionary lost such keys (ids are missing), `TokenizerConfig` re-reads the vocabulary
/// exactly from the JSON text.
public struct Vocabulary: Decodable, Sendable, Equatable {
    /// Token strings by id.
    public private(set) var tokens: [String]
    /// True when decoding left ids without a token (keys that Swift considered equal collapsed).
    public private(set) var hasMissingIDs: Bool

    /// A vocabulary from tokens in id order.
    public init(tokens: [String]) {
        self.tokens = tokens
        hasMissingIDs = false
    }

    /// A vocabulary from `token → id` pairs (later duplicates of an id are ignored).
    public init<S: Sequence>(pairs: S) where S.Element == (String, Int) {
        var list: [String] = []
        var filled: [Bool] = []
        for (token, id) in pairs where id >= 0 {
            if id >= list.count { list += [String](repeating: "", count: id - list.count + 1); filled += [Bool](repeating: false, count: id - filled.count + 1) }
            if !filled[id] { list[id] = token; filled[id] = true }
        }
        tokens = list
        hasMissingIDs = filled.contains(false)
    }

    /// Decodes a `{token: id}` object. Keys that Swift's `String` equality merges are lost here and reported by
    /// ``hasMissingIDs``; ``TokenizerConfig/init(data:source:)`` then re-reads them exactly.
    public init(from decoder: Decoder) throws {
        let map = try decoder.singleValueContainer().decode([String: Int].self)
        self.init(pairs: map.map { ($0.key, $0.value) })
    }

    /// Number of ids (the highest id + 1).
    public var count: Int { tokens.count }

    /// Exact scalar-keyed lookup table (the lowest id wins for duplicate strings).
    func table() -> ScalarTable {
        var t = ScalarTable(capacity: tokens.count)
        for (id, token) in tokens.enumerated() where !token.isEmpty { t.insert(token.unicodeScalars.map(\.value), Int32(id)) }
        return t
    }
}

/// A minimal JSON reader that keeps object members as ordered (key, value) pairs with the exact
/// scalars of the keys. Used only to re-read vocabularies whose keys collapsed in JSONDecoder.
enum ExactJSON {
    struct Member { var key: String; var value: Value }

    enum Value {
        case object([Member]), array([Value]), string(String), number(Double), bool(Bool), null

        subscript(key: String) -> Value? {
            guard case .object(let members) = self else { return nil }
            let k = Array(key.unicodeScalars)
            return members.first { Array($0.key.unicodeScalars) == k }?.value
        }
    }

    struct ParseError: Error { var offset: Int; var message: String }

    static func parse(_ data: Data) throws -> Value {
        let bytes = [UInt8](data)
        var i = 0
        let v = try bytes.withUnsafeBufferPointer { try value($0, &i) }
        return v
    }

    private static func skip(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) {
        while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13 { i += 1 }
    }

    private static func value(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) throws -> Value {
        skip(b, &i)
        guard i < b.count else { throw ParseError(offset: i, message: "unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [Member] = []
            skip(b, &i)
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skip(b, &i)
                let key = try string(b, &i)
                skip(b, &i)
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw ParseError(offset: i, message: "expected ':'") }
                i += 1
                members.append(Member(key: key, value: try value(b, &i)))
                skip(b, &i)
                guard i < b.count else { throw ParseError(offset: i, message: "unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                throw ParseError(offset: i, message: "expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [Value] = []
            skip(b, &i)
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try value(b, &i))
                skip(b, &i)
                guard i < b.count else { throw ParseError(offset: i, message: "unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw ParseError(offset: i, message: "expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string(b, &i))
        case UInt8(ascii: "t"): i += 4; return .bool(true)
        case UInt8(ascii: "f"): i += 5; return .bool(false)
        case UInt8(ascii: "n"): i += 4; return .null
        default:
            let start = i
            while i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: ".")
                || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || (b[i] >= 48 && b[i] <= 57) { i += 1 }
            guard i > start, let d = Double(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)) else {
                throw ParseError(offset: start, message: "invalid value")
            }
            return .number(d)
        }
    }

    private static func hex4(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) throws -> UInt32 {
        guard i + 4 <= b.count, let v = UInt32(String(decoding: UnsafeBufferPointer(rebasing: b[i..<(i + 4)]), as: UTF8.self), radix: 16) else {
            throw ParseError(offset: i, message: "invalid \\u escape")
        }
        i += 4
        return v
    }

    private static func string(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int) throws -> String {
        guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw ParseError(offset: i, message: "expected string") }
        i += 1
        var out: [UInt8] = []
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { break }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "u"):
                var v = try hex4(b, &i)
                if v >= 0xD800 && v < 0xDC00, i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4(b, &i)
                    v = 0x10000 + ((v - 0xD800) << 10) + (low &- 0xDC00)
                }
                out.append(contentsOf: Array(String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}").utf8))
            default: out.append(e)  // \" \\ \/
            }
        }
        throw ParseError(offset: i, message: "unterminated string")
    }
}
