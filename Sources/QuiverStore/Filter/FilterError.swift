import Foundation

/// Why a filter expression was rejected. Every message starts with
/// `filter error at column N:` where N is the 1-based character position in the expression text.
public enum FilterError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// The parser expected `expected` at `column` but found `found` (a token description such as
    /// `'=='`, `string "abc"` or `end of expression`).
    case syntax(column: Int, expected: String, found: String)
    /// A malformed token: unterminated string, bad escape, number out of range, unknown character.
    case lexical(column: Int, message: String)
    /// Parentheses, `not`s, unary signs or operator chains nest more than `limit` levels deep.
    case nestingTooDeep(column: Int, limit: Int)
    /// A field that is not in the schema given to `validate(against:)`; `knownFields` is sorted.
    case unknownField(column: Int, field: String, knownFields: [String])
    /// Operand types that cannot go together (string field compared with a number, `like` on an int...).
    case typeMismatch(column: Int, message: String)
    /// Syntax Milvus has that this implementation does not (bitwise operators, regex, text_match...).
    case unsupported(column: Int, feature: String)

    /// The 1-based column the error points at.
    public var column: Int {
        switch self {
        case let .syntax(c, _, _), let .lexical(c, _), let .nestingTooDeep(c, _),
             let .unknownField(c, _, _), let .typeMismatch(c, _), let .unsupported(c, _):
            return c
        }
    }

    public var description: String {
        let head = "filter error at column \(column): "
        switch self {
        case let .syntax(_, expected, found):
            return head + "expected \(expected), found \(found)"
        case let .lexical(_, message):
            return head + message
        case let .nestingTooDeep(_, limit):
            return head + "expression nests more than \(limit) levels deep (parentheses, 'not', signs or chained operators); simplify it"
        case let .unknownField(_, field, known):
            let list = known.isEmpty ? "(none)" : known.joined(separator: ", ")
            return head + "unknown field '\(field)'; known fields: \(list)"
        case let .typeMismatch(_, message):
            return head + message
        case let .unsupported(_, feature):
            return head + "\(feature) is not supported"
        }
    }

    public var errorDescription: String? { description }
}
