import Foundation
import QuiverStore

/// An error of the Milvus-compatible routes, answered as `{"code": N, "message": "..."}` with
/// HTTP 200, as Milvus' RESTful API v2 does. Codes and message heads follow Milvus' `merr`
/// package (read in milvus-io/milvus master, 2.6 line); the tail says what Quiver found and how
/// to fix it.
///
/// | code  | Milvus name                  | when                                                     |
/// |-------|------------------------------|----------------------------------------------------------|
/// | 100   | ErrCollectionNotFound        | the collection does not exist                            |
/// | 800   | ErrDatabaseNotFound          | `dbName` is not `default`                                |
/// | 1100  | ErrParameterInvalid          | a value is out of range, a filter does not parse...      |
/// | 1801  | ErrIncorrectParameterFormat  | the body is not JSON, a field has the wrong JSON type,   |
/// |       |                              | a search vector has the wrong dimension                  |
/// | 1802  | ErrMissingRequiredParameters | `collectionName`, `data`, `filter`, `id` is missing      |
/// | 1804  | ErrInvalidInsertData         | an insert/upsert row does not fit the schema             |
/// | 1806  | ErrCheckPrimaryKey           | an `id` of `entities/get` is not of the key's type       |
/// | 65535 | (unexpected)                 | anything else (I/O, corrupt file)                        |
struct MilvusError: Error, Sendable {
    var code: Int
    var message: String

    /// 1100: `invalid parameter[expected=...][actual=...]: reason` (the brackets when given).
    static func invalid(_ reason: String, expected: String? = nil, actual: String? = nil) -> MilvusError {
        var head = "invalid parameter"
        if let expected { head += "[expected=\(expected)]" }
        if let actual { head += "[actual=\(actual)]" }
        return MilvusError(code: 1100, message: head + ": " + reason)
    }

    /// 1801: the body or a field of it cannot be read as the route expects.
    static func format(_ detail: String) -> MilvusError {
        MilvusError(code: 1801, message: "can only accept json format request, error: " + detail)
    }

    /// 1802: a required request field is absent.
    static func missing(_ field: String, _ detail: String) -> MilvusError {
        MilvusError(code: 1802, message: "missing required parameters, error: '\(field)' is required; \(detail)")
    }

    /// 1804: an entity of insert/upsert does not fit the collection.
    static func insertData(_ detail: String) -> MilvusError {
        MilvusError(code: 1804, message: "fail to deal the insert data, error: " + detail)
    }

    /// 1806: a primary key given to `entities/get` is not an Int64 / VarChar as the key is.
    static func primaryKey(_ detail: String) -> MilvusError {
        MilvusError(code: 1806, message: "please check the primary key and its' type can only in [int, string], error: " + detail)
    }

    /// 100: `collection not found[collection=NAME]`.
    static func collectionNotFound(_ name: String) -> MilvusError {
        MilvusError(code: 100, message: "collection not found[collection=\(name)]")
    }

    /// Maps store and request errors to Milvus codes. `insert` marks errors of insert/upsert,
    /// which Milvus reports as 1804.
    static func from(_ error: Error, insert: Bool = false) -> MilvusError {
        switch error {
        case let e as MilvusError: return e
        case let e as APIError:
            switch e.status.code {
            case 401: return MilvusError(code: 1800, message: "user hasn't authenticated: " + e.message)
            case 400, 413, 415: return .format(e.message)
            default: return MilvusError(code: 65535, message: e.message)
            }
        case let e as StoreError:
            switch e {
            case let .collectionNotFound(name): return .collectionNotFound(name)
            case .invalidData, .modelMismatch:
                return insert ? .insertData(e.description) : .invalid(e.description)
            case .invalidSchema, .invalidRequest, .invalidFilter, .collectionExists, .indexUnavailable,
                 .invalidIndexParameter, .dimensionMismatch, .indexNotTrained:
                return .invalid(e.description)
            default: return MilvusError(code: 65535, message: e.description)
            }
        default: return MilvusError(code: 65535, message: "\(error)")
        }
    }

    var json: String { "{\"code\": \(code), \"message\": \(JSONText.string(message))}" }
}

/// A Milvus request body. Field names match as Go's `encoding/json` matches them in Milvus' request
/// structs: exactly, else ignoring case (`autoId` sets `autoID`). Typed reads throw 1801, as a
/// Go unmarshal error does in Milvus.
struct MilvusRequest {
    let object: [String: Any]
    /// Where this object sits in the body, for messages (`schema.fields[2]`); empty at the top.
    let path: String

    init(_ object: [String: Any], path: String = "") {
        self.object = object
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The value under `key` (exact, else case-insensitive), nil when absent or JSON null.
    func value(_ key: String) -> Any? {
        if let v = object[key] { return v is NSNull ? nil : v }
        let lower = key.lowercased()
        for (k, v) in object where k.lowercased() == lower { return v is NSNull ? nil : v }
        return nil
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v as? String else { throw MilvusError.format("'\(name(key))' must be a string, got \(JSONBody.typeName(v))") }
        return s
    }

    func int(_ key: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard let n = v as? NSNumber, !isJSONBoolean(n), let i = Int(exactly: n.doubleValue) else {
            throw MilvusError.format("'\(name(key))' must be an integer, got \(JSONBody.typeName(v))")
        }
        return i
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard let n = v as? NSNumber, isJSONBoolean(n) else {
            throw MilvusError.format("'\(name(key))' must be true or false, got \(JSONBody.typeName(v))")
        }
        return n.boolValue
    }

    func nested(_ key: String) throws -> MilvusRequest? {
        guard let v = value(key) else { return nil }
        guard let o = v as? [String: Any] else { throw MilvusError.format("'\(name(key))' must be an object, got \(JSONBody.typeName(v))") }
        return MilvusRequest(o, path: name(key))
    }

    func strings(_ key: String) throws -> [String]? {
        guard let v = value(key) else { return nil }
        guard let list = v as? [Any] else { throw MilvusError.format("'\(name(key))' must be an array of strings, got \(JSONBody.typeName(v))") }
        return try list.enumerated().map { i, x in
            guard let s = x as? String else { throw MilvusError.format("'\(name(key))[\(i)]' must be a string, got \(JSONBody.typeName(x))") }
            return s
        }
    }

    /// A required non-empty string (Go's `binding:"required"`): 1802 when absent or empty.
    func required(_ key: String, hint: String) throws -> String {
        guard let s = try string(key), !s.isEmpty else { throw MilvusError.missing(name(key), hint) }
        return s
    }

    /// A parameter Milvus reads with `fmt.Sprintf("%v")` (`params.enableDynamicField`, `max_length`,
    /// `elementTypeParams.dim`): a JSON string, number or boolean, as text.
    func text(_ key: String) -> String? {
        switch value(key) {
        case let s as String: return s
        case let n as NSNumber: return isJSONBoolean(n) ? (n.boolValue ? "true" : "false") : MilvusJSON.number(n.doubleValue)
        default: return nil
        }
    }
}

/// How a response renders Int64 primary keys: as JSON numbers (Milvus' default,
/// `proxy.http.acceptTypeAllowInt64: true`) or as strings when the client sends
/// `Accept-Type-Allow-Int64: false`.
struct MilvusOutput: Sendable {
    var int64AsString = false
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
    /// - Throws: `MilvusError` 1804 naming the row and field when the value does not fit.
    static func fieldValue(_ v: Any, type: ScalarType?, field: String, row: Int) throws -> FieldValue {
        let value = jsonValue(v)
        guard let type else { return FieldValue(json: value) }
        if case .null = value { return .null }
        func mismatch() -> MilvusError {
            .insertData("data[\(row)].\(field) must be \(type.rawValue), got \(JSONBody.typeName(v))")
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
            // Int64(d) traps outside [-2^63, 2^63): the range is checked on the Double.
            guard case let .number(d) = value, d.rounded() == d, d >= -0x1p63, d < 0x1p63 else { throw mismatch() }
            return .int(Int64(d))
        }
    }

    /// A JSON array of numbers as a vector; `fail` builds the route's error from a message.
    static func vector(_ v: Any?, what: String, fail: (String) -> MilvusError) throws -> [Float] {
        guard let array = v as? [Any] else { throw fail("\(what) must be an array of numbers, got \(JSONBody.typeName(v))") }
        var out = [Float]()
        out.reserveCapacity(array.count)
        for (i, x) in array.enumerated() {
            guard let n = x as? NSNumber, !isJSONBoolean(n) else {
                throw fail("\(what)[\(i)] must be a number, got \(JSONBody.typeName(x))")
            }
            out.append(n.floatValue)
        }
        return out
    }

    /// A primary key of `type` from JSON. Int64 keys may be given as numbers or decimal strings
    /// (Milvus casts both); `fail` builds the route's error from a message.
    static func primaryKey(_ v: Any?, type: PrimaryKeyType, what: String, fail: (String) -> MilvusError) throws -> PrimaryKey {
        switch type {
        case .int64:
            if let n = v as? NSNumber, !isJSONBoolean(n), let i = int64(n) { return .int(i) }
            if let s = v as? String, let i = Int64(s) { return .int(i) }
            throw fail("\(what) must be an Int64 primary key, got \(describe(v))")
        case .string:
            guard let s = v as? String else { throw fail("\(what) must be a VarChar primary key, got \(describe(v))") }
            return .string(s)
        }
    }

    /// The exact Int64 of a parsed JSON number: integers keep all 64 bits (not rounded through a
    /// Double); a floating value counts when it is integral and in range.
    static func int64(_ n: NSNumber) -> Int64? {
        switch String(cString: n.objCType) {
        case "q", "l", "i", "s", "c": return n.int64Value
        case "Q", "L", "I", "S", "C": return n.uint64Value <= UInt64(Int64.max) ? Int64(n.uint64Value) : nil
        default: return Int64(exactly: n.doubleValue)
        }
    }

    static func describe(_ v: Any?) -> String {
        if let s = v as? String { return "the string \(JSONText.string(s))" }
        return JSONBody.typeName(v)
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

    static func text(_ key: PrimaryKey, _ output: MilvusOutput = MilvusOutput()) -> String {
        switch key {
        case let .int(i): return output.int64AsString ? "\"\(i)\"" : String(i)
        case let .string(s): return JSONText.string(s)
        }
    }

    static func vectorText(_ v: [Float]) -> String { "[" + v.map(JSONText.number).joined(separator: ", ") + "]" }

    /// An entity as Milvus' REST API returns it: the primary key under its field name, the
    /// requested scalar and dynamic fields flattened, requested vectors as arrays, then `extra`
    /// members (e.g. `distance`).
    static func rowText(idField: String, id: PrimaryKey, fields: [String: FieldValue], vectors: [String: [Float]],
                        output: MilvusOutput = MilvusOutput(), extra: [(String, String)] = []) -> String {
        var members = [(String, String)]()
        members.append((idField, text(id, output)))
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { members.append((k, text(v))) }
        for (k, v) in vectors.sorted(by: { $0.key < $1.key }) { members.append((k, vectorText(v))) }
        for (k, v) in extra { members.append((k, v)) }
        return "{" + members.map { JSONText.string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }
}
