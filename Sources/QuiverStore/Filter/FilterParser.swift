import Foundation

/// Recursive-descent parser for Milvus filter expressions.
///
/// Precedence, loosest first: `or`/`||`, `and`/`&&`, `not`/`!`, `== !=` (left-associative),
/// one of `< <= > >=` (or a range `a < x < b`), `in`, `not in`, `like`, `not like`,
/// `is [not] null`, `+ -`, `* / %`, unary `- +`, `**` (left-associative as in Milvus' grammar),
/// then primaries: literals, arrays, fields and JSON paths, function calls, `exists`, parentheses.
/// `not` binds looser than comparisons, so `not a == 1` means `not (a == 1)`.
struct FilterParser {
    /// Deepest nesting accepted (parentheses, brackets, call arguments, `not`, signs and each
    /// link of an arithmetic chain count one level). 100 is Milvus' default `maxExpressionDepth`.
    /// Parsing uses about 4 KB of stack per level in release builds.
    static let maxDepth = 100

    private let tokens: [FilterToken]
    private let columns: [Int]
    private var p = 0
    private var depth = 0

    private let parameters: [String: FieldValue]

    /// How many tokens could each open a nesting level; a bound on the parse depth.
    var nestingTokens: Int {
        var n = 0
        for t in tokens {
            switch t.kind {
            case .symbol(.lparen), .symbol(.lbracket), .symbol(.bang), .symbol(.minus), .symbol(.plus),
                 .symbol(.star), .symbol(.slash), .symbol(.percent), .symbol(.power), .symbol(.eq), .symbol(.ne),
                 .keyword(.not):
                n += 1
            default: break
            }
        }
        return n
    }

    init(source: String, parameters: [String: FieldValue] = [:]) throws(StoreError) {
        var lexer = FilterLexer(source)
        tokens = try lexer.tokenize()
        columns = FilterLexer.columns(of: source)
        self.parameters = parameters
    }

    /// The literal node a `{name}` placeholder stands for.
    private func substitute(_ name: String, at t: FilterToken) throws(StoreError) -> FilterNode {
        let col = column(t)
        guard let v = parameters[name] else {
            let known = parameters.keys.sorted()
            throw StoreError.filterSyntax(column: col, expected: "a value for placeholder {\(name)} in the parameters (given: \(known.isEmpty ? "none" : known.joined(separator: ", ")))",
                                     found: "'\(t.text)'")
        }
        func node(_ v: FieldValue) throws(StoreError) -> FilterNode {
            switch v {
            case let .int(i): return FilterNode(.integer(i), column: col)
            case let .double(d): return FilterNode(.float(d), column: col)
            case let .string(s): return FilterNode(.string(s), column: col)
            case let .bool(b): return FilterNode(.bool(b), column: col)
            case let .json(j):
                switch j {
                case let .array(items):
                    var out: [FilterNode] = []
                    for item in items {
                        // JSON numbers that are whole stay integers, so `id in {ids}` keeps exact keys.
                        if case let .number(d) = item, let i = FilterValueSet.exactInt(d) {
                            out.append(FilterNode(.integer(i), column: col))
                        } else {
                            out.append(try node(FilterValues.normalize(item)))
                        }
                    }
                    return FilterNode(.array(out), column: col)
                case .object:
                    throw StoreError.filterTypeMismatch(column: col, message: "placeholder {\(name)} is a JSON object; parameters must be numbers, strings, bools or arrays of them")
                default:
                    return try node(FilterValues.normalize(j))
                }
            case .null:
                throw StoreError.filterTypeMismatch(column: col, message: "placeholder {\(name)} is null; use 'is null' instead")
            }
        }
        return try node(v)
    }

    private var tok: FilterToken { tokens[p] }
    private func column(_ t: FilterToken) -> Int { columns[min(t.offset, columns.count - 1)] }

    private mutating func advance() -> FilterToken {
        let t = tokens[p]
        if p < tokens.count - 1 { p += 1 }
        return t
    }

    private func fail(_ expected: String, at t: FilterToken? = nil) -> StoreError {
        let t = t ?? tok
        return .filterSyntax(column: column(t), expected: expected, found: t.quoted)
    }

    /// One level deeper, blamed on `t` (the parenthesis or operator that opens the level).
    private mutating func enter(at t: FilterToken) throws(StoreError) {
        depth += 1
        if depth > Self.maxDepth { throw .filterNestingTooDeep(column: column(t), limit: Self.maxDepth) }
    }

    private func isSymbol(_ s: FilterSymbol) -> Bool {
        if case .symbol(s) = tok.kind { return true }
        return false
    }
    private func isKeyword(_ k: FilterKeyword, at offset: Int = 0) -> Bool {
        let j = min(p + offset, tokens.count - 1)
        if case .keyword(k) = tokens[j].kind { return true }
        return false
    }

    private mutating func expect(_ s: FilterSymbol, _ what: String) throws(StoreError) {
        guard isSymbol(s) else { throw fail(what) }
        _ = advance()
    }

    /// Parses the whole expression; nil for an empty (all-whitespace) expression.
    mutating func parseAll() throws(StoreError) -> FilterNode? {
        if case .end = tok.kind { return nil }
        let node = try parseOr()
        guard case .end = tok.kind else {
            throw fail("'and', 'or' or end of expression")
        }
        try requireCondition(node)
        return node
    }

    // MARK: logic

    private mutating func parseOr() throws(StoreError) -> FilterNode {
        let first = try parseAnd()
        var terms = [first]
        while isKeyword(.or) || isSymbol(.orOr) {
            let op = advance()
            if case .end = tok.kind { throw fail("a condition after '\(op.text)'") }
            terms.append(try parseAnd())
        }
        if terms.count == 1 { return first }
        for t in terms { try requireCondition(t) }
        return FilterNode(.or(terms.flatMap { if case let .or(ts) = $0.kind { ts } else { [$0] } }), column: first.column)
    }

    private mutating func parseAnd() throws(StoreError) -> FilterNode {
        let first = try parseNot()
        var terms = [first]
        while isKeyword(.and) || isSymbol(.andAnd) {
            let op = advance()
            if case .end = tok.kind { throw fail("a condition after '\(op.text)'") }
            terms.append(try parseNot())
        }
        if terms.count == 1 { return first }
        for t in terms { try requireCondition(t) }
        return FilterNode(.and(terms.flatMap { if case let .and(ts) = $0.kind { ts } else { [$0] } }), column: first.column)
    }

    private mutating func parseNot() throws(StoreError) -> FilterNode {
        if isKeyword(.not) || isSymbol(.bang) {
            let op = advance()
            if case .end = tok.kind { throw fail("a condition after '\(op.text)'") }
            try enter(at: op); defer { depth -= 1 }
            let inner = try parseNot()
            try requireCondition(inner)
            return FilterNode(.not(inner), column: column(op))
        }
        return try parseComparison()
    }

    /// Rejects nodes that can never be a condition (numbers, strings, arrays, arithmetic).
    private func requireCondition(_ n: FilterNode) throws(StoreError) {
        let what: String
        switch n.kind {
        case .integer, .float, .negate: what = "a number"
        case .string: what = "a string"
        case .array: what = "an array"
        case .arithmetic: what = "an arithmetic expression"
        case .function(.arrayLength, _): what = "array_length(...), a number"
        default: return
        }
        throw StoreError.filterSyntax(column: n.column, expected: "a condition (a comparison, 'in', 'like', a function or a boolean field)", found: what)
    }

    // MARK: comparisons

    private static func comparison(_ k: FilterTokenKind) -> FilterComparison? {
        guard case let .symbol(s) = k else { return nil }
        switch s {
        case .eq: return .equal
        case .ne: return .notEqual
        case .lt: return .less
        case .le: return .lessOrEqual
        case .gt: return .greater
        case .ge: return .greaterOrEqual
        default: return nil
        }
    }

    /// `==` / `!=`, left-associative over relational results (`age >= 25 == true`), as in Milvus.
    private mutating func parseComparison() throws(StoreError) -> FilterNode {
        var lhs = try parseRelational()
        let saved = depth
        defer { depth = saved }
        while let op = Self.comparison(tok.kind), op == .equal || op == .notEqual {
            let opTok = advance()
            try enter(at: opTok)
            let rhs = try parseRelational(after: opTok)
            lhs = FilterNode(.comparison(op, lhs, rhs), column: lhs.column)
        }
        return lhs
    }

    private static func isRelational(_ op: FilterComparison?) -> Bool {
        guard let op else { return false }
        return op != .equal && op != .notEqual
    }

    /// One of `< <= > >=` (or a range `a < x < b`), `in`, `like`, `is [not] null`, or a plain operand.
    private mutating func parseRelational(after op: FilterToken? = nil) throws(StoreError) -> FilterNode {
        if let op, !Self.startsOperand(tok.kind) { throw fail("a value after '\(op.text)'") }
        let lhs = try parseAdditive()
        let opTok = tok

        if let op = Self.comparison(opTok.kind), Self.isRelational(op) {
            _ = advance()
            let rhs = try parseOperand(after: opTok)
            if let op2 = Self.comparison(tok.kind), Self.isRelational(op2) {
                let op2Tok = tok
                let ascending = (op == .less || op == .lessOrEqual) && (op2 == .less || op2 == .lessOrEqual)
                let descending = (op == .greater || op == .greaterOrEqual) && (op2 == .greater || op2 == .greaterOrEqual)
                guard (ascending || descending), rhs.fieldReference != nil else {
                    throw StoreError.filterSyntax(column: column(op2Tok),
                                             expected: "'and', 'or' or end of expression (comparisons only chain as a range with a field in the middle, like 1 < x < 5)",
                                             found: op2Tok.quoted)
                }
                _ = advance()
                let third = try parseOperand(after: op2Tok)
                if ascending {
                    return FilterNode(.range(lower: lhs, lowerInclusive: op == .lessOrEqual, value: rhs,
                                             upper: third, upperInclusive: op2 == .lessOrEqual), column: lhs.column)
                }
                return FilterNode(.range(lower: third, lowerInclusive: op2 == .greaterOrEqual, value: rhs,
                                         upper: lhs, upperInclusive: op == .greaterOrEqual), column: lhs.column)
            }
            return FilterNode(.comparison(op, lhs, rhs), column: lhs.column)
        }

        var negated = false
        if isKeyword(.not), isKeyword(.in, at: 1) || isKeyword(.like, at: 1) {
            _ = advance()
            negated = true
        }
        if isKeyword(.in) {
            let inTok = advance()
            let rhs = try parseOperand(after: inTok, what: "an array after '\(negated ? "not " : "")\(inTok.text)', like [1, 2]")
            return FilterNode(.membership(lhs, rhs, negated: negated), column: lhs.column)
        }
        if isKeyword(.like) {
            let likeTok = advance()
            let lit: FilterStringLiteral
            switch tok.kind {
            case let .string(s):
                lit = s
            case let .placeholder(name):
                guard case let .string(s) = try substitute(name, at: tok).kind else {
                    throw StoreError.filterTypeMismatch(column: column(tok), message: "placeholder {\(name)} after '\(likeTok.text)' must be a string pattern")
                }
                // A parameter pattern has no escapes: %, _ and \ mean what they do in a raw string.
                lit = FilterStringLiteral(value: s, escapedWildcards: [], isRaw: true)
            default:
                throw fail("a quoted pattern after '\(likeTok.text)', like \"abc%\"")
            }
            _ = advance()
            return FilterNode(.like(lhs, FilterLikePattern(lit), negated: negated), column: lhs.column)
        }
        if isKeyword(.is) {
            let isTok = advance()
            var neg = false
            if isKeyword(.not) { _ = advance(); neg = true }
            guard isKeyword(.null) else { throw fail("'null' after '\(isTok.text)\(neg ? " not" : "")'") }
            _ = advance()
            guard lhs.fieldReference != nil else {
                throw StoreError.filterSyntax(column: lhs.column, expected: "a field before 'is \(neg ? "not " : "")null'", found: "an expression")
            }
            return FilterNode(.isNull(lhs, negated: neg), column: lhs.column)
        }
        return lhs
    }

    private mutating func parseOperand(after op: FilterToken, what: String? = nil) throws(StoreError) -> FilterNode {
        if !Self.startsOperand(tok.kind) {
            throw fail(what ?? "a value after '\(op.text)'")
        }
        return try parseAdditive()
    }

    private static func startsOperand(_ k: FilterTokenKind) -> Bool {
        switch k {
        case .integer, .float, .string, .identifier, .meta, .placeholder: return true
        case .keyword(let kw): return kw == .true || kw == .false || kw == .exists
        case .symbol(let s): return s == .lparen || s == .lbracket || s == .minus || s == .plus
        case .end: return false
        }
    }

    // MARK: arithmetic

    private mutating func parseAdditive() throws(StoreError) -> FilterNode {
        var lhs = try parseMultiplicative()
        let saved = depth
        defer { depth = saved }
        while case let .symbol(s) = tok.kind, s == .plus || s == .minus {
            let opTok = advance()
            try enter(at: opTok)
            let rhs = try parseMultiplicative(after: opTok)
            lhs = FilterNode(.arithmetic(s == .plus ? .add : .subtract, lhs, rhs), column: lhs.column)
        }
        return lhs
    }

    private mutating func parseMultiplicative(after op: FilterToken? = nil) throws(StoreError) -> FilterNode {
        if let op, !Self.startsOperand(tok.kind) { throw fail("a value after '\(op.text)'") }
        var lhs = try parseUnary()
        let saved = depth
        defer { depth = saved }
        while case let .symbol(s) = tok.kind, s == .star || s == .slash || s == .percent {
            let opTok = advance()
            try enter(at: opTok)
            if !Self.startsOperand(tok.kind) { throw fail("a value after '\(opTok.text)'") }
            let rhs = try parseUnary()
            let a: FilterArithmetic = s == .star ? .multiply : s == .slash ? .divide : .modulo
            lhs = FilterNode(.arithmetic(a, lhs, rhs), column: lhs.column)
        }
        return lhs
    }

    private mutating func parseUnary() throws(StoreError) -> FilterNode {
        if case let .symbol(s) = tok.kind, s == .minus || s == .plus {
            let opTok = advance()
            if !Self.startsOperand(tok.kind) { throw fail("a value after '\(opTok.text)'") }
            // -9223372036854775808 is the one integer whose magnitude needs the sign.
            if s == .minus, case .integer(let mag) = tok.kind, mag == UInt64(Int64.max) + 1,
               p + 1 < tokens.count, !{ if case .symbol(.power) = tokens[p + 1].kind { return true }; return false }() {
                _ = advance()
                return FilterNode(.integer(Int64.min), column: column(opTok))
            }
            try enter(at: opTok); defer { depth -= 1 }
            let inner = try parseUnary()
            return s == .plus ? inner : negate(inner, column: column(opTok))
        }
        return try parsePower()
    }

    /// Folds the sign into numeric literals (so -9223372036854775808 is representable).
    private func negate(_ n: FilterNode, column: Int) -> FilterNode {
        switch n.kind {
        case let .integer(v) where v != Int64.min: return FilterNode(.integer(-v), column: column)
        case let .float(v): return FilterNode(.float(-v), column: column)
        default: return FilterNode(.negate(n), column: column)
        }
    }

    private mutating func parsePower() throws(StoreError) -> FilterNode {
        var lhs = try parsePrimary()
        let saved = depth
        defer { depth = saved }
        while isSymbol(.power) {
            let opTok = advance()
            try enter(at: opTok)
            let rhs = try parsePowerOperand(after: opTok)
            lhs = FilterNode(.arithmetic(.power, lhs, rhs), column: lhs.column)
        }
        return lhs
    }

    private mutating func parsePowerOperand(after op: FilterToken) throws(StoreError) -> FilterNode {
        if case let .symbol(s) = tok.kind, s == .minus || s == .plus {
            let sTok = advance()
            try enter(at: sTok); defer { depth -= 1 }
            let inner = try parsePowerOperand(after: sTok)
            return s == .plus ? inner : negate(inner, column: column(sTok))
        }
        if !Self.startsOperand(tok.kind) { throw fail("a value after '\(op.text)'") }
        return try parsePrimary()
    }

    // MARK: primaries

    private mutating func parsePrimary() throws(StoreError) -> FilterNode {
        let t = tok
        let col = column(t)
        switch t.kind {
        case let .integer(mag):
            _ = advance()
            if mag > UInt64(Int64.max) {
                throw StoreError.filterLexical(column: col, message: "integer \(t.text) is too large for a 64-bit integer")
            }
            return FilterNode(.integer(Int64(mag)), column: col)
        case let .float(v):
            _ = advance()
            return FilterNode(.float(v), column: col)
        case let .string(s):
            _ = advance()
            return FilterNode(.string(s.value), column: col)
        case .keyword(.true):
            _ = advance()
            return FilterNode(.bool(true), column: col)
        case .keyword(.false):
            _ = advance()
            return FilterNode(.bool(false), column: col)
        case .keyword(.exists):
            _ = advance()
            switch tok.kind {
            case .identifier, .meta: break
            default: throw fail("a field or JSON path after '\(t.text)', like exists meta[\"key\"]")
            }
            let fieldColumn = column(tok)
            let field = FilterNode(.field(try parseField()), column: fieldColumn)
            return FilterNode(.exists(field), column: col)
        case .symbol(.lparen):
            _ = advance()
            try enter(at: t); defer { depth -= 1 }
            if isSymbol(.rparen) { throw fail("an expression inside '( )'") }
            let inner = try parseOr()
            guard isSymbol(.rparen) else { throw fail("')' to close the '(' at column \(col)") }
            _ = advance()
            return inner
        case .symbol(.lbracket):
            _ = advance()
            try enter(at: t); defer { depth -= 1 }
            var items: [FilterNode] = []
            while !isSymbol(.rbracket) {
                if !Self.startsOperand(tok.kind) {
                    throw fail(items.isEmpty ? "an array element or ']'" : "an array element after ','")
                }
                items.append(try parseAdditive())
                if isSymbol(.comma) { _ = advance(); continue }
                guard isSymbol(.rbracket) else { throw fail("',' or ']' to close the '[' at column \(col)") }
            }
            _ = advance()
            return FilterNode(.array(items), column: col)
        case let .placeholder(name):
            _ = advance()
            return try substitute(name, at: t)
        case .identifier(let name):
            if p + 1 < tokens.count, case .symbol(.lparen) = tokens[p + 1].kind {
                return try parseCall(name: name, at: t)
            }
            return FilterNode(.field(try parseField()), column: col)
        case .meta:
            return FilterNode(.field(try parseField()), column: col)
        case .keyword(.null):
            throw StoreError.filterSyntax(column: col, expected: "a value ('null' is only valid in 'is null' / 'is not null')", found: t.quoted)
        default:
            throw fail("a value, field name or '('")
        }
    }

    private mutating func parseField() throws(StoreError) -> FilterFieldReference {
        let t = advance()
        var path: [FilterPathComponent] = []
        while isSymbol(.lbracket) {
            let open = advance()
            switch tok.kind {
            case let .string(s):
                _ = advance()
                path.append(.key(s.value))
            case let .integer(v) where v <= UInt64(Int.max):
                _ = advance()
                path.append(.index(Int(v)))
            default:
                throw fail("a quoted key or an index after '[' at column \(column(open)), like [\"key\"] or [0]")
            }
            guard isSymbol(.rbracket) else { throw fail("']' to close the '[' at column \(column(open))") }
            _ = advance()
        }
        if case .meta = t.kind {
            guard case let .key(name)? = path.first else {
                throw StoreError.filterSyntax(column: column(t), expected: "a key after '$meta', like $meta[\"color\"]",
                                         found: path.isEmpty ? "'$meta' alone" : "an index")
            }
            return FilterFieldReference(name: name, path: Array(path.dropFirst()), isDynamic: true)
        }
        guard case let .identifier(name) = t.kind else { throw fail("a field name", at: t) }
        return FilterFieldReference(name: name, path: path)
    }

    private mutating func parseCall(name: String, at t: FilterToken) throws(StoreError) -> FilterNode {
        let col = column(t)
        guard let fn = FilterFunction.named(name) else {
            let known = "array_contains, array_contains_all, array_contains_any, array_length, json_contains, json_contains_all, json_contains_any"
            let lower = name.lowercased()
            if ["text_match", "phrase_match", "random_sample", "element_filter", "match_all", "match_any"].contains(lower) || lower.hasPrefix("st_") {
                throw StoreError.filterUnsupported(column: col, feature: "function '\(name)'")
            }
            throw StoreError.filterSyntax(column: col, expected: "a known function (\(known))", found: "'\(name)('")
        }
        _ = advance()   // name
        let open = advance()   // (
        try enter(at: open); defer { depth -= 1 }
        var args: [FilterNode] = []
        while !isSymbol(.rparen) {
            if !Self.startsOperand(tok.kind) {
                throw fail(args.isEmpty ? "an argument of \(name)(...)" : "an argument after ','")
            }
            args.append(try parseAdditive())
            if isSymbol(.comma) { _ = advance(); continue }
            guard isSymbol(.rparen) else { throw fail("',' or ')' to close \(name)(") }
        }
        _ = advance()
        let want = fn == .arrayLength ? 1 : 2
        guard args.count == want else {
            throw StoreError.filterSyntax(column: col, expected: "\(want) argument\(want == 1 ? "" : "s") to \(name)(...)",
                                     found: "\(args.count)")
        }
        guard args[0].fieldReference != nil else {
            throw StoreError.filterSyntax(column: args[0].column, expected: "a field or JSON path as the first argument of \(name)(...)",
                                     found: "an expression")
        }
        return FilterNode(.function(fn, args), column: col)
    }
}
