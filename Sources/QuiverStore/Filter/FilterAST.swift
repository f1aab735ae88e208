import Foundation

/// One step into a JSON (or array) value: `["key"]` or `[3]`.
public enum FilterPathComponent: Sendable, Hashable, CustomStringConvertible {
    /// A member of a JSON object.
    case key(String)
    /// An element of an array (0-based; absent when out of range).
    case index(Int)

    /// The step as written in an expression: `["key"]` or `[3]`.
    public var description: String {
        switch self {
        case let .key(k): return "[\"\(k)\"]"
        case let .index(i): return "[\(i)]"
        }
    }
}

/// A field reference: a declared field (`age`), a JSON path into one (`meta["a"][0]`), or a
/// dynamic field (`$meta["color"]`, or an undeclared plain name). `name` is the top-level field
/// as `FieldLookup.value(of:)` receives it; for `$meta["color"]["x"]` it is `color` with path `["x"]`.
public struct FilterFieldReference: Sendable, Hashable, CustomStringConvertible {
    /// The top-level field name passed to ``FieldLookup/value(of:)``.
    public var name: String
    /// Steps into the field's JSON value, outermost first; empty for the field itself.
    public var path: [FilterPathComponent]
    /// True when written as `$meta[...]`.
    public var isDynamic: Bool

    /// A field reference.
    /// - Parameters:
    ///   - name: the top-level field.
    ///   - path: JSON steps into it.
    ///   - isDynamic: whether it was written `$meta["name"]...`.
    public init(name: String, path: [FilterPathComponent] = [], isDynamic: Bool = false) {
        self.name = name; self.path = path; self.isDynamic = isDynamic
    }

    /// The reference as it would be written: `age`, `meta["a"][0]`, `$meta["color"]`.
    public var description: String {
        (isDynamic ? "$meta[\"\(name)\"]" : name) + path.map(\.description).joined()
    }
}

/// A comparison operator; the raw value is its spelling.
public enum FilterComparison: String, Sendable, Hashable {
    /// `==`: equal (numbers compare by value, `1 == 1.0`; different kinds are unequal).
    case equal = "=="
    /// `!=`: not equal (true for values of different kinds; unknown when either side is missing).
    case notEqual = "!="
    /// `<`.
    case less = "<"
    /// `<=`.
    case lessOrEqual = "<="
    /// `>`.
    case greater = ">"
    /// `>=`.
    case greaterOrEqual = ">="

    /// The operator with its operands swapped (`a < b` ⇔ `b > a`).
    var mirrored: FilterComparison {
        switch self {
        case .equal, .notEqual: return self
        case .less: return .greater
        case .lessOrEqual: return .greaterOrEqual
        case .greater: return .less
        case .greaterOrEqual: return .lessOrEqual
        }
    }
}

/// An arithmetic operator; the raw value is its spelling. `/` is true division, `**` power.
///
/// Integer operands stay integers for `+ - * %`; `/` and `**` give floats. Division or
/// remainder by zero, integer overflow and a non-numeric operand give null (a comparison on it
/// is unknown).
public enum FilterArithmetic: String, Sendable, Hashable {
    /// `+`.
    case add = "+"
    /// `-` (binary; unary minus is ``FilterNode/Kind/negate(_:)``).
    case subtract = "-"
    /// `*`.
    case multiply = "*"
    /// `/`: true division, the result is a float.
    case divide = "/"
    /// `%`: remainder with the sign of the dividend (`fmod` for floats).
    case modulo = "%"
    /// `**`: power.
    case power = "**"
}

/// Built-in functions. `json_contains*` are the same operations as `array_contains*`.
public enum FilterFunction: String, Sendable, Hashable, CaseIterable {
    /// `array_contains(a, v)`: the array `a` has an element equal to `v`.
    case arrayContains = "array_contains"
    /// `array_contains_all(a, [v...])`: `a` has every listed value.
    case arrayContainsAll = "array_contains_all"
    /// `array_contains_any(a, [v...])`: `a` has at least one listed value.
    case arrayContainsAny = "array_contains_any"
    /// `array_length(a)`: the number of elements of `a` (an integer operand).
    case arrayLength = "array_length"

    static func named(_ name: String) -> FilterFunction? {
        let lower = name.lowercased()
        guard name == lower || name == name.uppercased() else { return nil }
        switch lower {
        case "array_contains", "json_contains": return .arrayContains
        case "array_contains_all", "json_contains_all": return .arrayContainsAll
        case "array_contains_any", "json_contains_any": return .arrayContainsAny
        case "array_length": return .arrayLength
        default: return nil
        }
    }
}

/// A `like` pattern: `%` matches any run of characters (including none), `_` exactly one
/// character (Unicode scalar); `\%` and `\_` match the characters themselves.
public struct FilterLikePattern: Sendable, Hashable, CustomStringConvertible {
    /// One piece of a pattern.
    public enum Element: Sendable, Hashable {
        /// Characters matched exactly (wildcards written `\%` / `\_` appear here literally).
        case literal(String)
        /// `%`: any run of characters, possibly empty.
        case anyRun
        /// `_`: exactly one character (Unicode scalar).
        case anyCharacter
    }
    /// Normalized: adjacent literals merged, runs of `%` collapsed.
    public var elements: [Element]

    init(_ lit: FilterStringLiteral) {
        var els: [Element] = []
        var pending = String.UnicodeScalarView()
        var escaped = Set(lit.escapedWildcards)
        var k = 0
        func flush() {
            if !pending.isEmpty { els.append(.literal(String(pending))); pending = String.UnicodeScalarView() }
        }
        var afterBackslash = false
        for s in lit.value.unicodeScalars {
            defer { k += 1 }
            if lit.isRaw {
                // Raw strings keep backslashes; in a pattern `\%` and `\_` still mean the literal character.
                if afterBackslash {
                    afterBackslash = false
                    if s == "%" || s == "_" { pending.removeLast(); pending.append(s); continue }
                } else if s == "\\" {
                    afterBackslash = true
                }
            }
            if (s == "%" || s == "_"), escaped.remove(k) == nil {
                flush()
                if s == "%" { if els.last != .anyRun { els.append(.anyRun) } } else { els.append(.anyCharacter) }
            } else {
                pending.append(s)
            }
        }
        flush()
        elements = els
    }

    /// The normalized pattern, wildcards as `%`/`_` and literal ones escaped as `\%`/`\_`.
    public var description: String {
        elements.map { e -> String in
            switch e {
            case .anyRun: return "%"
            case .anyCharacter: return "_"
            case let .literal(s): return s.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            }
        }.joined()
    }
}

/// A parsed filter expression node with the 1-based column where it starts.
public struct FilterNode: Sendable, Hashable {
    /// What the node is. Literals first, then operands, then conditions.
    public indirect enum Kind: Sendable, Hashable {
        /// An integer literal (decimal, `0x`, `0b` or `0o`).
        case integer(Int64)
        /// A floating-point literal.
        case float(Double)
        /// A string literal, escapes resolved.
        case string(String)
        /// `true` or `false`.
        case bool(Bool)
        /// An array literal `[a, b, ...]`.
        case array([FilterNode])
        /// A field, JSON path or dynamic field reference.
        case field(FilterFieldReference)
        /// Unary minus.
        case negate(FilterNode)
        /// `left op right`.
        case arithmetic(FilterArithmetic, FilterNode, FilterNode)
        /// `left op right`; true, false or unknown (an operand missing or null).
        case comparison(FilterComparison, FilterNode, FilterNode)
        /// `lower < x < upper` (also written `upper > x > lower`), normalized to ascending order.
        case range(lower: FilterNode, lowerInclusive: Bool, value: FilterNode, upper: FilterNode, upperInclusive: Bool)
        /// `x in [..]` / `x not in [..]`.
        case membership(FilterNode, FilterNode, negated: Bool)
        /// `x like "..."` / `x not like "..."`.
        case like(FilterNode, FilterLikePattern, negated: Bool)
        /// `x is null` / `x is not null`.
        case isNull(FilterNode, negated: Bool)
        /// `exists meta["key"]`: true when the path is present with a non-null value.
        case exists(FilterNode)
        /// A built-in function call and its arguments.
        case function(FilterFunction, [FilterNode])
        /// `not x` / `!x`: unknown stays unknown.
        case not(FilterNode)
        /// `a and b and ...` (`&&`), nested ands flattened: false when any is false, true when
        /// all are true, unknown otherwise.
        case and([FilterNode])
        /// `a or b or ...` (`||`), nested ors flattened: true when any is true, false when all
        /// are false, unknown otherwise.
        case or([FilterNode])
    }

    /// What the node is.
    public var kind: Kind
    /// 1-based column of the node's first character in the expression text.
    public var column: Int

    /// A node.
    /// - Parameters:
    ///   - kind: what it is.
    ///   - column: 1-based column of its first character.
    public init(_ kind: Kind, column: Int) { self.kind = kind; self.column = column }

    var fieldReference: FilterFieldReference? {
        if case let .field(f) = kind { return f }
        return nil
    }
}
