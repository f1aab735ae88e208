import Foundation

extension FilterExpression {
    /// A string as a double-quoted filter literal: `\` and `"` escaped, control characters as
    /// `\n`, `\t`, `\r` or `\u{…}`-free octal-less forms that both Quiver and Milvus read back as
    /// the same string.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// The expression `field == "value"` with the value quoted (see ``quoted(_:)``).
    public static func equals(_ field: String, _ value: String) -> String { "\(field) == \(quoted(value))" }
}
