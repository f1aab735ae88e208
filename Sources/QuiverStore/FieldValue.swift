import Foundation

/// A JSON value, as stored in JSON fields and the dynamic field.
///
/// Encodes and decodes as plain JSON (no wrapping): `{"a": [1, true, null]}` round-trips.
public enum JSONValue: Sendable, Hashable, Codable {
    /// JSON `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// Any JSON number, held as a double (integers beyond 2^53 lose precision).
    case number(Double)
    /// A string.
    case string(String)
    /// An array, in order.
    case array([JSONValue])
    /// An object; member order is not kept.
    case object([String: JSONValue])

    /// Decodes any JSON value: `null`, then bool, number, string, array, object are tried in
    /// that order.
    /// - Throws: `DecodingError` when the input is not JSON.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// Encodes the value as the plain JSON it represents.
    /// - Throws: whatever the encoder throws (e.g. `EncodingError` for a non-finite number).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .number(n): try c.encode(n)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    /// The member at `key` of an object, else nil.
    public subscript(key: String) -> JSONValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    /// The element at `index` of an array, else nil.
    public subscript(index: Int) -> JSONValue? {
        if case let .array(a) = self, index >= 0, index < a.count { return a[index] }
        return nil
    }
}

/// The value of one scalar field of one entity.
///
/// Which case fits which ``ScalarType``: `.int` for `Int64` (and, converted, for `Double`),
/// `.double` for `Double`, `.bool` for `Bool`, `.string` for `VarChar`, anything for `JSON`
/// (a non-`.json` value is stored as its ``FieldValue/jsonValue``). Dynamic fields take any case.
/// The `Codable` form is Swift's synthesized enum encoding (e.g. `{"int":{"_0":5}}`), not plain JSON.
public enum FieldValue: Sendable, Hashable, Codable {
    /// No value: a nullable field left empty. On insert it means "absent" (the field's default
    /// value is used when it has one; a dynamic field set to null is not stored).
    case null
    /// A boolean.
    case bool(Bool)
    /// A 64-bit integer (`Int64` fields, primary keys, integral JSON numbers).
    case int(Int64)
    /// A double (`Double` fields).
    case double(Double)
    /// A UTF-8 string (`VarChar` fields; `ScalarField.maxLength` counts its bytes).
    case string(String)
    /// A JSON document (`JSON` fields, or a JSON value in the dynamic field).
    case json(JSONValue)
}

/// Read access to one entity's fields, as filter expressions evaluate them.
/// `value(of:)` returns nil for a field the entity does not have; dynamic (undeclared) fields
/// are reached by name as well.
public protocol FieldLookup {
    /// The value of the top-level field `field` (declared, dynamic or the primary key), or nil
    /// when the entity has no such field. Filters treat nil and `.null` alike (missing).
    /// - Parameter field: a top-level field name; JSON paths are applied by the caller.
    func value(of field: String) -> FieldValue?
}

/// A `[String: FieldValue]` dictionary is an entity whose fields are its entries (handy to
/// test a ``FilterExpression`` without a collection).
extension Dictionary: FieldLookup where Key == String, Value == FieldValue {
    /// The entry for `field`, or nil when there is none.
    public func value(of field: String) -> FieldValue? { self[field] }
}

extension JSONValue {
    /// `s` as a JSON string literal: quotes, backslashes and control characters escaped, every
    /// other character kept as is (for JSON written by hand, e.g. JSON lines of vectors).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
