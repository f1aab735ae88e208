import Foundation

/// The ways a filter expression is rejected, each a `StoreError.invalidFilter` with the 1-based
/// column of the problem; `FilterExpression` fills in the expression text before the error leaves it.
extension StoreError {
    /// The parser expected `expected` at `column` but found `found` (a token description such as
    /// `'=='`, `string "abc"` or `end of expression`).
    static func filterSyntax(column: Int, expected: String, found: String) -> StoreError {
        .invalidFilter(expression: "", column: column, reason: "expected \(expected), found \(found)")
    }

    /// A malformed token: unterminated string, bad escape, number out of range, unknown character.
    static func filterLexical(column: Int, message: String) -> StoreError {
        .invalidFilter(expression: "", column: column, reason: message)
    }

    /// Parentheses, `not`s, unary signs or operator chains nest more than `limit` levels deep.
    static func filterNestingTooDeep(column: Int, limit: Int) -> StoreError {
        .invalidFilter(expression: "", column: column,
                       reason: "expression nests more than \(limit) levels deep (parentheses, 'not', signs or chained operators); simplify it")
    }

    /// A field that is not in the schema given to `validate(against:)`; `knownFields` is sorted.
    static func filterUnknownField(column: Int, field: String, knownFields: [String]) -> StoreError {
        let list = knownFields.isEmpty ? "(none)" : knownFields.joined(separator: ", ")
        return .invalidFilter(expression: "", column: column, reason: "unknown field '\(field)'; known fields: \(list)")
    }

    /// Operand types that cannot go together (string field compared with a number, `like` on an int...).
    static func filterTypeMismatch(column: Int, message: String) -> StoreError {
        .invalidFilter(expression: "", column: column, reason: message)
    }

    /// Syntax Milvus has that this implementation does not (bitwise operators, regex, text_match...).
    static func filterUnsupported(column: Int, feature: String) -> StoreError {
        .invalidFilter(expression: "", column: column, reason: "\(feature) is not supported")
    }
}
