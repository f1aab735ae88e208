import Foundation

/// A request body parsed as a JSON object, with typed accessors whose errors name the field
/// (`input[3]`) and what was found instead, so a client can fix its request.
struct JSONBody {
    let object: [String: Any]

    /// Parses `bytes` as a JSON object.
    /// - Throws: `APIError.badRequest` saying where the JSON is malformed (line and column), or that
    ///   the body is empty or not an object.
    init(bytes: [UInt8]) throws {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw APIError.badRequest("the request body is empty; send a JSON object")
        }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw APIError.badRequest("the request body is not valid JSON: \(Self.describe(error, bytes: bytes))")
        }
        guard let object = value as? [String: Any] else {
            throw APIError.badRequest("the request body must be a JSON object, got \(Self.typeName(value))")
        }
        self.object = object
    }

    /// Foundation's message, with its character offset turned into a line, a column and the text
    /// there (so a client can find the mistake in a multi-line body).
    static func describe(_ error: Error, bytes: [UInt8]) -> String {
        let ns = error as NSError
        var message = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
        if message.hasSuffix(".") { message.removeLast() }
        if message.contains("end of file") || message.contains("Unexpected end") {
            return message + " (the body ends before the JSON is complete, after \(bytes.count) bytes)"
        }
        guard let range = message.range(of: #"character (\d+)"#, options: .regularExpression),
              let offset = Int(message[range].dropFirst("character ".count)) else { return message }
        let at = min(max(offset, 0), bytes.count)
        var line = 1, lineStart = 0
        for i in 0..<at where bytes[i] == 0x0A { line += 1; lineStart = i + 1 }
        let column = at - lineStart + 1
        let snippetEnd = min(bytes.count, at + 20)
        let lineEnd = bytes[at..<snippetEnd].firstIndex(of: 0x0A) ?? snippetEnd
        let near = String(decoding: bytes[at..<lineEnd], as: UTF8.self)
        return message + " (line \(line), column \(column)" + (near.isEmpty ? ")" : ", at `\(near)`)")
    }

    /// The JSON type name of a parsed value, for messages.
    static func typeName(_ value: Any?) -> String {
        switch value {
        case nil: return "nothing"
        case is NSNull: return "null"
        case let n as NSNumber:
            return isJSONBoolean(n) ? "a boolean" : "a number"
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return "\(type(of: value!))"
        }
    }

    /// True when `n` came from JSON `true`/`false`.
    static func isBool(_ value: Any) -> Bool {
        guard let n = value as? NSNumber else { return false }
        return isJSONBoolean(n)
    }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    func string(_ key: String, required: Bool = false) throws -> String? {
        guard let v = object[key], !(v is NSNull) else {
            if required { throw APIError.badRequest("missing required field '\(key)'", param: key) }
            return nil
        }
        guard let s = v as? String else {
            throw APIError.badRequest("'\(key)' must be a string, got \(Self.typeName(v))", param: key)
        }
        return s
    }

    func int(_ key: String) throws -> Int? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        guard let n = v as? NSNumber, !Self.isBool(v), let i = Int(exactly: n.doubleValue) else {
            throw APIError.badRequest("'\(key)' must be an integer, got \(Self.typeName(v))", param: key)
        }
        return i
    }
}

/// Whether an NSNumber holds a boolean (JSONSerialization gives booleans as NSNumber).
func isJSONBoolean(_ n: NSNumber) -> Bool {
    // On Linux and Darwin, booleans parsed by JSONSerialization report the "c" (char) objCType.
    String(cString: n.objCType) == "c" && (n == NSNumber(value: true) || n == NSNumber(value: false))
}
