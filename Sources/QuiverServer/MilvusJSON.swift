import Foundation
import QuiverStore

/// An error of the Milvus-compatible routes: answered as `{"code": N, "message": "..."}` with
/// HTTP 200, as Milvus' RESTful API v2 does. Codes follow Milvus: 1100 invalid parameter,
/// 100 collection not found, 65535 other failures.
struct MilvusError: Error, Sendable {
    var code: Int
    var message: String

    static func invalid(_ message: String) -> MilvusError { MilvusError(code: 1100, message: message) }

    /// Maps store and request errors to Milvus codes.
    static func from(_ error: Error) -> MilvusError {
        switch error {
        case let e as MilvusError: return e
        case let e as APIError: return MilvusError(code: e.status == .unauthorized ? 1800 : 1100, message: e.message)
        case let e as StoreError:
            switch e {
            case .collectionNotFound: return MilvusError(code: 100, message: "collection not found: \(e.description)")
            case .invalidSchema, .invalidData, .invalidRequest, .invalidFilter, .modelMismatch, .collectionExists, .indexUnavailable:
                return .invalid(e.description)
            default: return MilvusError(code: 65535, message: e.description)
            }
        default: return MilvusError(code: 65535, message: "\(error)")
        }
    }

    var json: String { "{\"code\": \(code), \"message\": \(JSONText.string(message))}" }
}

/// Conversions between parsed JSON (`JSONSerialization` values) and the store's values, and JSON
/// text for rows and hits.
enum MilvusJSON {
    /// A parsed JSON value as the store's `JSONValue`.
    static func jsonValue(_ v: Any) -> JSONValue {
        switch v {
        case is NSNull: return .null
        case let n as NSNumber: return isJSONBoolean(n) ? .bool(n.boolValue) : .number(n.doubleValue)
        case let s as String: return .string(s)
        case let a as [Any]: return .array(a.map(jsonValue))
        case let o as [String: Any]: return .object(o.mapValues(jsonValue))
        default: return .null
        }
    }

    /// A parsed JSON value as a field value for a declared `type` (nil: dynamic field).
    /// - Throws: `MilvusError` 1100 naming the row and field when the value does not fit.
    static func fieldValue(_ v: Any, type: ScalarType?, field: String, row: Int) throws -> FieldValue {
        let value = jsonValue(v)
        guard let type else { return FieldValue(json: value) }
        if case .null = value { return .null }
        func mismatch() -> MilvusError {
            .invalid("data[\(row)].\(field) must be \(type.rawValue), got \(JSONBody.typeName(v))")
        }
        switch type {
        case .json: return .json(value)
        case .bool:
            guard case let .bool(b) = value else { throw mismatch() }
            return .bool(b)
        case .string:
            guard case let .string(s) = value else { throw mismatch() }
            return .string(s)
        case .double:
            guard case let .number(d) = value else { throw mismatch() }
            return .double(d)
        case .int64:
            guard case let .number(d) = value, d.rounded() == d, abs(d) < 9.3e18 else { throw mismatch() }
            return .int(Int64(d))
        }
    }

    /// A JSON array of numbers as a vector.
    static func vector(_ v: Any?, what: String) throws -> [Float] {
        guard let array = v as? [Any] else { throw MilvusError.invalid("\(what) must be an array of numbers, got \(JSONBody.typeName(v))") }
        var out = [Float]()
        out.reserveCapacity(array.count)
        for (i, x) in array.enumerated() {
            guard let n = x as? NSNumber, !isJSONBoolean(n) else {
                throw MilvusError.invalid("\(what)[\(i)] must be a number, got \(JSONBody.typeName(x))")
            }
            out.append(n.floatValue)
        }
        return out
    }

    /// A primary key of `type` from JSON.
    static func primaryKey(_ v: Any?, type: PrimaryKeyType, what: String) throws -> PrimaryKey {
        switch type {
        case .int64:
            guard let n = v as? NSNumber, !isJSONBoolean(n), let i = Int64(exactly: n.doubleValue) else {
                throw MilvusError.invalid("\(what) must be an Int64 primary key, got \(JSONBody.typeName(v))")
            }
            return .int(i)
        case .string:
            guard let s = v as? String else { throw MilvusError.invalid("\(what) must be a VarChar primary key, got \(JSONBody.typeName(v))") }
            return .string(s)
        }
    }

    static func text(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .number(d): return number(d)
        case let .string(s): return JSONText.string(s)
        case let .array(a): return "[" + a.map(text).joined(separator: ", ") + "]"
        case let .object(o):
            return "{" + o.sorted { $0.key < $1.key }.map { JSONText.string($0.key) + ": " + text($0.value) }.joined(separator: ", ") + "}"
        }
    }

    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        return d.rounded() == d && abs(d) < 9.0e15 ? String(Int64(d)) : "\(d)"
    }

    static func text(_ v: FieldValue) -> String {
        switch v {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return d.isFinite ? "\(d)" : "null"
        case let .string(s): return JSONText.string(s)
        case let .json(j): return text(j)
        }
    }

    static func text(_ key: PrimaryKey) -> String {
        switch key { case let .int(i): return String(i); case let .string(s): return JSONText.string(s) }
    }

    static func vectorText(_ v: [Float]) -> String { "[" + v.map(JSONText.number).joined(separator: ", ") + "]" }

    /// An entity as Milvus' REST API returns it: the primary key under its field name, the
    /// requested scalar and dynamic fields flattened, requested vectors as arrays, then `extra`
    /// members (e.g. `distance`).
    static func rowText(idField: String, id: PrimaryKey, fields: [String: FieldValue], vectors: [String: [Float]],
                        extra: [(String, String)] = []) -> String {
        var members = [(String, String)]()
        for (k, v) in extra { members.append((k, v)) }
        members.append((idField, text(id)))
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { members.append((k, text(v))) }
        for (k, v) in vectors.sorted(by: { $0.key < $1.key }) { members.append((k, vectorText(v))) }
        return "{" + members.map { JSONText.string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }
}
