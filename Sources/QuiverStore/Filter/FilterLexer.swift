import Foundation

/// Keywords, accepted all-lowercase or all-uppercase as Milvus does (`and`/`AND`, not `And`);
/// `true`/`false` also capitalized (`True`).
enum FilterKeyword: String, Sendable {
    case and, or, not, `in`, like, `is`, null, `true`, `false`, exists
}

/// Punctuation and operators.
enum FilterSymbol: String, Sendable {
    case lparen = "(", rparen = ")", lbracket = "[", rbracket = "]", comma = ","
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case plus = "+", minus = "-", star = "*", slash = "/", percent = "%", power = "**"
    case andAnd = "&&", orOr = "||", bang = "!"
}

/// A decoded string literal. `escapedWildcards` holds the Unicode-scalar offsets (into `value`)
/// of `%` and `_` characters written as `\%` / `\_`, which `like` treats literally.
struct FilterStringLiteral: Sendable, Hashable {
    var value: String
    var escapedWildcards: [Int]
    /// Written as r"..." (backslashes kept in `value`; `like` still reads `\%` and `\_` as escapes).
    var isRaw = false
}

enum FilterTokenKind: Sendable, Equatable {
    case integer(UInt64)          // magnitude; the sign is a unary operator
    case float(Double)
    case string(FilterStringLiteral)
    case identifier(String)
    case meta                     // `$meta`, the dynamic field
    case placeholder(String)      // `{name}`, a template parameter
    case keyword(FilterKeyword)
    case symbol(FilterSymbol)
    case end
}

struct FilterToken: Sendable {
    var kind: FilterTokenKind
    /// Offset in Unicode scalars from the start of the expression.
    var offset: Int
    /// The source text of the token, for error messages.
    var text: String

    /// How the token reads in an error message.
    var quoted: String {
        switch kind {
        case .end: return "end of expression"
        case .string: return "string \(text)"
        case .integer, .float: return "number \(text)"
        default: return "'\(text)'"
        }
    }
}

/// Splits a filter expression into tokens. Whitespace (spaces, tabs, newlines) separates tokens.
struct FilterLexer {
    let scalars: [Unicode.Scalar]
    private var i = 0

    init(_ source: String) { scalars = Array(source.unicodeScalars) }

    /// 1-based column (in user-perceived characters) of each scalar offset, 0...scalars.count;
    /// a scalar inside a multi-scalar character gets that character's column.
    static func columns(of source: String) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(source.unicodeScalars.count + 1)
        var col = 1
        for ch in source {
            for _ in ch.unicodeScalars { out.append(col) }
            col += 1
        }
        out.append(col)
        return out
    }

    /// Column of one offset (used for lexer errors; the parser keeps the whole table).
    static func column(of offset: Int, in scalars: [Unicode.Scalar]) -> Int {
        let end = min(max(offset, 0), scalars.count)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[0..<end])
        return String(view).count + 1
    }

    private func error(_ message: String, at offset: Int) -> StoreError {
        .filterLexical(column: Self.column(of: offset, in: scalars), message: message)
    }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? {
        let j = i + k
        return j < scalars.count ? scalars[j] : nil
    }

    private func text(_ from: Int, _ to: Int) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[from..<to])
        return String(view)
    }

    mutating func tokenize() throws(StoreError) -> [FilterToken] {
        var out: [FilterToken] = []
        while true {
            let t = try next()
            out.append(t)
            if case .end = t.kind { return out }
        }
    }

    private static func isIdentStart(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_"
    }
    private static func isIdentPart(_ c: Unicode.Scalar) -> Bool {
        isIdentStart(c) || isDigit(c)
    }
    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
    private static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 48
        case "a"..."f": return c.value - 87
        case "A"..."F": return c.value - 55
        default: return nil
        }
    }

    private mutating func next() throws(StoreError) -> FilterToken {
        while let c = peek(), c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1 }
        let start = i
        guard let c = peek() else { return FilterToken(kind: .end, offset: i, text: "") }

        // Raw strings r"..." / R'...' keep backslashes verbatim.
        if (c == "r" || c == "R"), let q = peek(1), q == "\"" || q == "'" {
            i += 1
            return try string(start: start, raw: true)
        }
        if Self.isIdentStart(c) {
            while let d = peek(), Self.isIdentPart(d) { i += 1 }
            let word = text(start, i)
            if let kw = Self.keyword(word) {
                return FilterToken(kind: .keyword(kw), offset: start, text: word)
            }
            return FilterToken(kind: .identifier(word), offset: start, text: word)
        }
        if c == "$" {
            i += 1
            while let d = peek(), Self.isIdentPart(d) { i += 1 }
            let word = text(start, i)
            if word == "$meta" { return FilterToken(kind: .meta, offset: start, text: word) }
            throw error("unexpected '\(word)'; the only '$' name is '$meta' (the dynamic field)", at: start)
        }
        if Self.isDigit(c) || (c == "." && peek(1).map(Self.isDigit) == true) {
            return try number(start: start)
        }
        if c == "\"" || c == "'" { return try string(start: start, raw: false) }

        func sym(_ s: FilterSymbol, _ n: Int) -> FilterToken {
            i += n
            return FilterToken(kind: .symbol(s), offset: start, text: s.rawValue)
        }
        let n1 = peek(1)
        switch c {
        case "(": return sym(.lparen, 1)
        case ")": return sym(.rparen, 1)
        case "[": return sym(.lbracket, 1)
        case "]": return sym(.rbracket, 1)
        case ",": return sym(.comma, 1)
        case "+": return sym(.plus, 1)
        case "-": return sym(.minus, 1)
        case "/": return sym(.slash, 1)
        case "%": return sym(.percent, 1)
        case "*": return n1 == "*" ? sym(.power, 2) : sym(.star, 1)
        case "=":
            if n1 == "=" { return sym(.eq, 2) }
            if n1 == "~" { throw StoreError.filterUnsupported(column: Self.column(of: start, in: scalars), feature: "regex match '=~'") }
            throw error("'=' is not an operator; use '==' to compare", at: start)
        case "!":
            if n1 == "=" { return sym(.ne, 2) }
            if n1 == "~" { throw StoreError.filterUnsupported(column: Self.column(of: start, in: scalars), feature: "regex match '!~'") }
            return sym(.bang, 1)
        case "<":
            if n1 == "=" { return sym(.le, 2) }
            if n1 == "<" { throw StoreError.filterUnsupported(column: Self.column(of: start, in: scalars), feature: "bitwise shift '<<'") }
            return sym(.lt, 1)
        case ">":
            if n1 == "=" { return sym(.ge, 2) }
            if n1 == ">" { throw StoreError.filterUnsupported(column: Self.column(of: start, in: scalars), feature: "bitwise shift '>>'") }
            return sym(.gt, 1)
        case "&":
            if n1 == "&" { return sym(.andAnd, 2) }
            throw StoreError.filterUnsupported(column: Self.column(of: start, in: scalars), feature: "bitwise and '&' (use '&&' or 'and')")
        case "|":
            if n1 == "|" { return sym(.orOr, 2) }
            throw StoreError.filterUnsupported(column: Self.column(of: start, in: scalars), feature: "bitwise or '|' (use '||' or 'or')")
        case "^", "~":
            throw StoreError.filterUnsupported(column: Self.column(of: start, in: scalars), feature: "bitwise operator '\(c)'")
        case "{":
            i += 1
            while let d = peek(), d == " " || d == "\t" { i += 1 }
            let nameStart = i
            if let d = peek(), Self.isIdentStart(d) {
                while let d = peek(), Self.isIdentPart(d) { i += 1 }
            }
            let name = text(nameStart, i)
            while let d = peek(), d == " " || d == "\t" { i += 1 }
            guard !name.isEmpty, peek() == "}" else {
                throw error("malformed placeholder; write {name} with a parameter name", at: start)
            }
            i += 1
            return FilterToken(kind: .placeholder(name), offset: start, text: text(start, i))
        default:
            throw error("unexpected character '\(String(c))'", at: start)
        }
    }

    static func keyword(_ word: String) -> FilterKeyword? {
        let lower = word.lowercased()
        guard let kw = FilterKeyword(rawValue: lower) else { return nil }
        if word == lower || word == word.uppercased() { return kw }
        if kw == .true || kw == .false, word == lower.prefix(1).uppercased() + lower.dropFirst() { return kw }
        return nil
    }

    // MARK: numbers

    private mutating func number(start: Int) throws(StoreError) -> FilterToken {
        let c = peek()!
        // 0x.., 0b.., 0o.. integers
        if c == "0", let p = peek(1), "xXbBoO".unicodeScalars.contains(p) {
            let radix: UInt64 = (p == "x" || p == "X") ? 16 : (p == "b" || p == "B") ? 2 : 8
            i += 2
            var v: UInt64 = 0
            var digits = 0
            while let d = peek(), let h = Self.hexValue(d) {
                guard UInt64(h) < radix else { throw error("digit '\(String(d))' is not valid in a base-\(radix) number", at: i) }
                let (m, o1) = v.multipliedReportingOverflow(by: radix)
                let (s, o2) = m.addingReportingOverflow(UInt64(h))
                if o1 || o2 { throw error("integer literal \(text(start, i + 1))... is too large for a 64-bit integer", at: start) }
                v = s; digits += 1; i += 1
            }
            if digits == 0 { throw error("number '\(text(start, i))' has no digits", at: start) }
            if let d = peek(), Self.isIdentPart(d) || d == "." { throw error("malformed number '\(text(start, i + 1))'", at: start) }
            return FilterToken(kind: .integer(v), offset: start, text: text(start, i))
        }
        var isFloat = false
        while let d = peek(), Self.isDigit(d) { i += 1 }
        if peek() == ".", !(peek(1) == "." ) {
            isFloat = true
            i += 1
            while let d = peek(), Self.isDigit(d) { i += 1 }
        }
        if let e = peek(), e == "e" || e == "E" {
            var j = 1
            if let s = peek(1), s == "+" || s == "-" { j = 2 }
            if let d = peek(j), Self.isDigit(d) {
                isFloat = true
                i += j
                while let d = peek(), Self.isDigit(d) { i += 1 }
            } else {
                throw error("malformed exponent in number '\(text(start, i + j))'", at: start)
            }
        }
        if let d = peek(), Self.isIdentPart(d) || d == "." {
            throw error("malformed number '\(text(start, i + 1))'", at: start)
        }
        let t = text(start, i)
        if isFloat {
            guard let v = Double(t), v.isFinite else { throw error("number \(t) is out of range", at: start) }
            return FilterToken(kind: .float(v), offset: start, text: t)
        }
        // Leading zeros are decimal, as in Milvus Lite (031 == 31); 0o17 is octal.
        guard let v = UInt64(t), v <= UInt64(Int64.max) + 1 else {
            throw error("integer \(t) is too large for a 64-bit integer", at: start)
        }
        return FilterToken(kind: .integer(v), offset: start, text: t)
    }

    // MARK: strings

    private mutating func string(start: Int, raw: Bool) throws(StoreError) -> FilterToken {
        let quote = peek()!
        let open = i
        i += 1
        var value = String.UnicodeScalarView()
        var count = 0
        var wild: [Int] = []
        while true {
            guard let c = peek() else {
                throw error("unterminated string literal; add a closing \(quote)", at: open)
            }
            if c == quote { i += 1; break }
            if c == "\\" {
                if raw {
                    // Raw: keep the backslash; it only stops a following quote from ending the string.
                    value.append(c); count += 1; i += 1
                    if let n = peek() { value.append(n); count += 1; i += 1 }
                    continue
                }
                let escStart = i
                i += 1
                guard let e = peek() else { throw error("unterminated string literal; add a closing \(quote)", at: open) }
                i += 1
                var out: Unicode.Scalar
                switch e {
                case "n": out = "\n"
                case "t": out = "\t"
                case "r": out = "\r"
                case "a": out = "\u{07}"
                case "b": out = "\u{08}"
                case "f": out = "\u{0C}"
                case "v": out = "\u{0B}"
                case "\\", "\"", "'", "?": out = e
                case "%", "_":
                    out = e
                    wild.append(count)
                case "0"..."7":
                    var v = e.value - 48
                    var n = 1
                    while n < 3, let d = peek(), d >= "0", d <= "7" { v = v * 8 + d.value - 48; i += 1; n += 1 }
                    guard v <= 255, let s = Unicode.Scalar(v) else {
                        throw error("octal escape \(text(escStart, i)) is larger than \\377", at: escStart)
                    }
                    out = s
                case "x", "u", "U":
                    let need = e == "x" ? 2 : e == "u" ? 4 : 8
                    var v: UInt32 = 0
                    for _ in 0..<need {
                        guard let d = peek(), let h = Self.hexValue(d) else {
                            throw error("escape \\\(String(e)) needs exactly \(need) hex digits", at: escStart)
                        }
                        v = v &* 16 &+ h
                        i += 1
                    }
                    guard let s = Unicode.Scalar(v) else {
                        throw error("escape \(text(escStart, i)) is not a valid Unicode scalar", at: escStart)
                    }
                    out = s
                case "\n":
                    continue   // line continuation
                default:
                    throw error("unknown escape sequence '\\\(String(e))' in string; write '\\\\' for a backslash", at: escStart)
                }
                value.append(out); count += 1
                continue
            }
            value.append(c); count += 1; i += 1
        }
        let lit = FilterStringLiteral(value: String(value), escapedWildcards: wild, isRaw: raw)
        return FilterToken(kind: .string(lit), offset: start, text: text(start, i))
    }
}
