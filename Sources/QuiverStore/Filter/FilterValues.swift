import Foundation

/// Three-valued truth: a comparison with a null or missing value is `unknown`; `not unknown` is
/// `unknown`; `and`/`or` follow Kleene logic; an entity matches only when the result is `yes`.
enum FilterTruth: UInt8, Sendable {
    case no = 0, yes = 1, unknown = 2

    @inline(__always) init(_ b: Bool) { self = b ? .yes : .no }

    @inline(__always) var negated: FilterTruth {
        switch self {
        case .no: return .yes
        case .yes: return .no
        case .unknown: return .unknown
        }
    }
}

/// How two values relate. `unequal` = different kinds (a string and a number, an array and a
/// scalar): `==` is false and `!=` true, but `<`-style comparisons are unknown.
enum FilterOrder: UInt8, Sendable {
    case less = 0, equal = 1, greater = 2, unequal = 3, unknown = 4
}

/// Which `FilterOrder`s make a comparison true and which make it false; anything else is unknown.
struct FilterComparisonMasks: Sendable {
    let yes: UInt8
    let no: UInt8

    init(_ op: FilterComparison) {
        let lt: UInt8 = 1 << 0, eq: UInt8 = 1 << 1, gt: UInt8 = 1 << 2, ne: UInt8 = 1 << 3
        switch op {
        case .equal: yes = eq; no = lt | gt | ne
        case .notEqual: yes = lt | gt | ne; no = eq
        case .less: yes = lt; no = eq | gt
        case .lessOrEqual: yes = lt | eq; no = gt
        case .greater: yes = gt; no = lt | eq
        case .greaterOrEqual: yes = gt | eq; no = lt
        }
    }

    @inline(__always) func tri(_ o: FilterOrder) -> FilterTruth {
        let bit: UInt8 = 1 << o.rawValue
        if yes & bit != 0 { return .yes }
        if no & bit != 0 { return .no }
        return .unknown
    }
}

enum FilterValues {
    /// A field value as filters see it: nil → `.null`; JSON scalars unwrapped (numbers become
    /// `.double`); JSON arrays and objects stay `.json`.
    @inline(__always) static func normalize(_ v: FieldValue?) -> FieldValue {
        guard let v else { return .null }
        if case let .json(j) = v { return normalize(j) }
        return v
    }

    @inline(__always) static func normalize(_ j: JSONValue) -> FieldValue {
        switch j {
        case .null: return .null
        case let .bool(b): return .bool(b)
        case let .number(n): return .double(n)
        case let .string(s): return .string(s)
        case .array, .object: return .json(j)
        }
    }

    static func json(_ v: FieldValue) -> JSONValue {
        switch v {
        case .null: return .null
        case let .bool(b): return .bool(b)
        case let .int(i): return .number(Double(i))
        case let .double(d): return .number(d)
        case let .string(s): return .string(s)
        case let .json(j): return j
        }
    }

    /// Follows a JSON path; nil when a key or index is absent or the value has the wrong shape.
    @inline(__always) static func navigate(_ j: JSONValue, _ path: [FilterPathComponent]) -> JSONValue? {
        var cur = j
        for step in path {
            switch step {
            case let .key(k):
                guard case let .object(o) = cur, let next = o[k] else { return nil }
                cur = next
            case let .index(i):
                guard case let .array(a) = cur, i < a.count else { return nil }
                cur = a[i]
            }
        }
        return cur
    }

    @inline(__always) static func order(_ x: Int64, _ y: Int64) -> FilterOrder {
        x < y ? .less : (x == y ? .equal : .greater)
    }

    @inline(__always) static func order(_ x: Double, _ y: Double) -> FilterOrder {
        if x < y { return .less }
        if x > y { return .greater }
        if x == y { return .equal }
        return .unknown   // NaN
    }

    /// Exact comparison of an integer with a double (no rounding of large integers).
    @inline(__always) static func order(_ x: Int64, _ d: Double) -> FilterOrder {
        if d.isNaN { return .unknown }
        if d >= 9.223372036854775808e18 { return .less }
        if d < -9.223372036854775808e18 { return .greater }
        let t = d.rounded(.towardZero)
        let ti = Int64(t)
        if x < ti { return .less }
        if x > ti { return .greater }
        let frac = d - t
        return frac == 0 ? .equal : (frac > 0 ? .less : .greater)
    }

    @inline(__always) static func flip(_ o: FilterOrder) -> FilterOrder {
        switch o {
        case .less: return .greater
        case .greater: return .less
        default: return o
        }
    }

    @inline(__always) static func order(_ x: String, _ y: String) -> FilterOrder {
        x == y ? .equal : (x < y ? .less : .greater)
    }

    /// How `a` relates to `b` (both normalized).
    static func order(_ a: FieldValue, _ b: FieldValue) -> FilterOrder {
        switch (a, b) {
        case (.null, _), (_, .null): return .unknown
        case let (.int(x), .int(y)): return order(x, y)
        case let (.int(x), .double(y)): return order(x, y)
        case let (.double(x), .int(y)): return flip(order(y, x))
        case let (.double(x), .double(y)): return order(x, y)
        case let (.string(x), .string(y)): return order(x, y)
        case let (.bool(x), .bool(y)): return x == y ? .equal : (!x ? .less : .greater)
        case let (.json(x), .json(y)): return jsonEqual(x, y) ? .equal : .unequal
        default: return .unequal
        }
    }

    /// Deep equality with numbers compared by value.
    static func jsonEqual(_ x: JSONValue, _ y: JSONValue) -> Bool {
        switch (x, y) {
        case let (.array(a), .array(b)):
            guard a.count == b.count else { return false }
            for k in 0..<a.count where !jsonEqual(a[k], b[k]) { return false }
            return true
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for (k, v) in a {
                guard let w = b[k], jsonEqual(v, w) else { return false }
            }
            return true
        case (.array, _), (_, .array), (.object, _), (_, .object):
            return false
        default:
            return order(normalize(x), normalize(y)) == .equal
        }
    }

    /// Numeric arithmetic; `.null` for non-numbers, division by zero and integer overflow.
    /// int ∘ int stays integer for `+ - * %`; `/` and `**` give a float.
    static func arithmetic(_ op: FilterArithmetic, _ a: FieldValue, _ b: FieldValue) -> FieldValue {
        switch (a, b) {
        case let (.int(x), .int(y)):
            switch op {
            case .add: let (r, o) = x.addingReportingOverflow(y); return o ? .null : .int(r)
            case .subtract: let (r, o) = x.subtractingReportingOverflow(y); return o ? .null : .int(r)
            case .multiply: let (r, o) = x.multipliedReportingOverflow(by: y); return o ? .null : .int(r)
            case .divide:
                // True division, as in Milvus Lite: 7 / 2 == 3.5.
                return y == 0 ? .null : .double(Double(x) / Double(y))
            case .modulo:
                if y == 0 { return .null }
                let (r, o) = x.remainderReportingOverflow(dividingBy: y); return o ? .null : .int(r)
            case .power: return .double(Foundation.pow(Double(x), Double(y)))
            }
        default:
            guard let x = number(a), let y = number(b) else { return .null }
            switch op {
            case .add: return .double(x + y)
            case .subtract: return .double(x - y)
            case .multiply: return .double(x * y)
            case .divide: return y == 0 ? .null : .double(x / y)
            case .modulo: return y == 0 ? .null : .double(Foundation.fmod(x, y))
            case .power: return .double(Foundation.pow(x, y))
            }
        }
    }

    @inline(__always) static func number(_ v: FieldValue) -> Double? {
        switch v {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }

    static func negate(_ v: FieldValue) -> FieldValue {
        switch v {
        case let .int(i): return i == Int64.min ? .null : .int(-i)
        case let .double(d): return .double(-d)
        default: return .null
        }
    }
}

/// Constant set for `in`: hashed lookups per value kind; integral doubles are stored as integers
/// so `x in [1.0]` matches an int 1.
struct FilterValueSet: Sendable {
    private var ints = Set<Int64>()
    private var doubles = Set<Double>()
    private var strings = Set<String>()
    private var hasTrue = false, hasFalse = false
    private var composites: [JSONValue] = []
    var isEmpty: Bool { ints.isEmpty && doubles.isEmpty && strings.isEmpty && !hasTrue && !hasFalse && composites.isEmpty }

    init(_ values: [FieldValue]) {
        for v in values {
            switch v {
            case .null: break
            case let .int(i): ints.insert(i)
            case let .double(d):
                if let i = Self.exactInt(d) { ints.insert(i) } else if !d.isNaN { doubles.insert(d) }
            case let .string(s): strings.insert(s)
            case let .bool(b): if b { hasTrue = true } else { hasFalse = true }
            case let .json(j): composites.append(j)
            }
        }
    }

    @inline(__always) static func exactInt(_ d: Double) -> Int64? {
        guard d == d.rounded(.towardZero), d >= -9.223372036854775808e18, d < 9.223372036854775808e18 else { return nil }
        return Int64(d)
    }

    /// Membership of a normalized value. A null is never contained (`no`, not unknown), as in
    /// Milvus Lite: `x not in [...]` matches rows where x is null or missing.
    @inline(__always) func contains(_ v: FieldValue) -> FilterTruth {
        switch v {
        case .null: return .no
        case let .int(i): return FilterTruth(ints.contains(i))
        case let .double(d):
            if let i = Self.exactInt(d) { return FilterTruth(ints.contains(i)) }
            return FilterTruth(doubles.contains(d))
        case let .string(s): return FilterTruth(strings.contains(s))
        case let .bool(b): return FilterTruth(b ? hasTrue : hasFalse)
        case let .json(j):
            for c in composites where FilterValues.jsonEqual(c, j) { return .yes }
            return .no
        }
    }
}

/// Matches strings against a `like` pattern on their UTF-8 bytes; `_` consumes one Unicode scalar.
struct FilterLikeMatcher: Sendable {
    private enum Mode: Sendable {
        case any
        case exact([UInt8]), prefix([UInt8]), suffix([UInt8]), contains([UInt8])
        case general([Token])
    }
    private enum Token: Sendable, Equatable { case byte(UInt8), one, many }
    private let mode: Mode

    init(_ pattern: FilterLikePattern) {
        let els = pattern.elements
        func bytes(_ e: FilterLikePattern.Element) -> [UInt8]? {
            if case let .literal(s) = e { return Array(s.utf8) }
            return nil
        }
        switch els.count {
        case 0: mode = .exact([])
        case 1:
            if let b = bytes(els[0]) { mode = .exact(b) } else if els[0] == .anyRun { mode = .any } else { mode = Self.general(els) }
        case 2:
            if let b = bytes(els[0]), els[1] == .anyRun { mode = .prefix(b) }
            else if els[0] == .anyRun, let b = bytes(els[1]) { mode = .suffix(b) }
            else { mode = Self.general(els) }
        case 3:
            if els[0] == .anyRun, els[2] == .anyRun, let b = bytes(els[1]) { mode = .contains(b) } else { mode = Self.general(els) }
        default: mode = Self.general(els)
        }
    }

    private static func general(_ els: [FilterLikePattern.Element]) -> Mode {
        var toks: [Token] = []
        for e in els {
            switch e {
            case let .literal(s): toks.append(contentsOf: s.utf8.map { .byte($0) })
            case .anyRun: toks.append(.many)
            case .anyCharacter: toks.append(.one)
            }
        }
        return .general(toks)
    }

    func matches(_ s: String) -> Bool {
        if case .any = mode { return true }
        if let r = s.utf8.withContiguousStorageIfAvailable({ matches($0) }) { return r }
        var copy = s
        return copy.withUTF8 { matches($0) }
    }

    private func matches(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        switch mode {
        case .any: return true
        case let .exact(p):
            return b.count == p.count && p.withUnsafeBufferPointer { equalBytes(b, 0, $0) }
        case let .prefix(p):
            return b.count >= p.count && p.withUnsafeBufferPointer { equalBytes(b, 0, $0) }
        case let .suffix(p):
            return b.count >= p.count && p.withUnsafeBufferPointer { equalBytes(b, b.count - p.count, $0) }
        case let .contains(p):
            if p.isEmpty { return true }
            if b.count < p.count { return false }
            return p.withUnsafeBufferPointer { pp in
                let first = pp[0]
                var i = 0
                let last = b.count - pp.count
                while i <= last {
                    if b[i] == first && equalBytes(b, i, pp) { return true }
                    i += 1
                }
                return false
            }
        case let .general(toks):
            return toks.withUnsafeBufferPointer { wildcard(b, $0) }
        }
    }

    @inline(__always) private func equalBytes(_ b: UnsafeBufferPointer<UInt8>, _ at: Int, _ p: UnsafeBufferPointer<UInt8>) -> Bool {
        if p.isEmpty { return true }
        return memcmp(b.baseAddress! + at, p.baseAddress!, p.count) == 0
    }

    /// Length in bytes of the UTF-8 scalar starting at `i`.
    @inline(__always) private func scalarLength(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var j = i + 1
        while j < b.count, b[j] & 0xC0 == 0x80 { j += 1 }
        return j - i
    }

    /// Greedy wildcard matching with backtracking to the last `%` (linear in practice).
    private func wildcard(_ s: UnsafeBufferPointer<UInt8>, _ p: UnsafeBufferPointer<Token>) -> Bool {
        var si = 0, pi = 0
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count {
                switch p[pi] {
                case .one:
                    si += scalarLength(s, si); pi += 1; continue
                case let .byte(c) where c == s[si]:
                    si += 1; pi += 1; continue
                case .many:
                    starP = pi; starS = si; pi += 1; continue
                default: break
                }
            }
            guard starP >= 0 else { return false }
            pi = starP + 1
            starS += scalarLength(s, starS)
            si = starS
        }
        while pi < p.count, p[pi] == .many { pi += 1 }
        return pi == p.count
    }
}
