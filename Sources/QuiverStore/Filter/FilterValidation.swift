import Foundation

/// A field's type as filter validation sees it. The storage engine maps its schema onto this.
public indirect enum FilterFieldType: Sendable, Hashable, CustomStringConvertible {
    /// A boolean field.
    case bool
    /// Any integer width (int8...int64).
    case int
    /// float or double.
    case float
    /// varchar / string.
    case string
    /// A JSON field: any value, any path.
    case json
    /// An array field with elements of the given type.
    case array(FilterFieldType)
    /// A vector field: exists, but cannot be used in a filter.
    case vector

    /// The type's name as error messages show it: `int`, `array<string>`, ...
    public var description: String {
        switch self {
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "string"
        case .json: return "json"
        case let .array(e): return "array<\(e)>"
        case .vector: return "vector"
        }
    }

    var isNumeric: Bool { self == .int || self == .float }
}

/// Static type checking of a parsed expression against a schema.
struct FilterValidator {
    let schema: [String: FilterFieldType]
    let allowDynamicFields: Bool

    private var known: [String] { schema.keys.sorted() }

    func validateRoot(_ n: FilterNode) throws(StoreError) {
        try requireCondition(n)
    }

    private func requireCondition(_ n: FilterNode) throws(StoreError) {
        let t = try infer(n)
        guard t == .bool || t == .json else {
            throw .filterTypeMismatch(column: n.column,
                                message: "expected a condition, but \(describe(n, t)) is not a bool; compare it, e.g. \(n.fieldReference.map { "\($0) == ..." } ?? "... == ...")")
        }
    }

    private func describe(_ n: FilterNode, _ t: FilterFieldType) -> String {
        switch n.kind {
        case let .field(f): return "field '\(f)' (\(t))"
        case let .integer(i): return "the number \(i)"
        case let .float(d): return "the number \(d)"
        case let .string(s): return "the string \"\(s)\""
        case let .bool(b): return "\(b)"
        case .array: return "an array literal (\(t))"
        default: return "an expression of type \(t)"
        }
    }

    private func fieldType(_ ref: FilterFieldReference, column: Int) throws(StoreError) -> FilterFieldType {
        var t: FilterFieldType
        if ref.isDynamic {
            guard allowDynamicFields else {
                throw .filterTypeMismatch(column: column, message: "'\(ref)' reads the dynamic field, but the collection has no dynamic field enabled")
            }
            // Milvus reads only the dynamic field here, never a declared field of the same name;
            // FieldLookup cannot tell them apart, so refuse the ambiguous spelling.
            if schema[ref.name] != nil {
                throw .filterTypeMismatch(column: column, message: "'\(ref.name)' is a declared field; write \(ref.name) instead of $meta[\"\(ref.name)\"]")
            }
            t = .json
        } else if let s = schema[ref.name] {
            t = s
        } else if allowDynamicFields {
            t = .json
        } else {
            throw .filterUnknownField(column: column, field: ref.name, knownFields: known)
        }
        if t == .vector {
            throw .filterTypeMismatch(column: column, message: "vector field '\(ref.name)' cannot be used in a filter")
        }
        for step in ref.path {
            switch (t, step) {
            case (.json, _): break
            case let (.array(e), .index): t = e
            case (.array, .key):
                throw .filterTypeMismatch(column: column, message: "field '\(ref.name)' is an array; index it with a number like \(ref.name)[0], not a key")
            default:
                throw .filterTypeMismatch(column: column, message: "field '\(ref.name)' is \(t), which has no keys or elements; only json and array fields take [...]")
            }
        }
        return t
    }

    private func compatible(_ a: FilterFieldType, _ b: FilterFieldType) -> Bool {
        if a == .json || b == .json { return true }
        if a.isNumeric && b.isNumeric { return true }
        switch (a, b) {
        case (.array, .array): return true
        default: return a == b
        }
    }

    private func checkCompare(_ op: FilterComparison, _ l: FilterNode, _ tl: FilterFieldType,
                              _ r: FilterNode, _ tr: FilterFieldType) throws(StoreError) {
        let blame = l.fieldReference != nil && r.fieldReference == nil ? r : l
        guard compatible(tl, tr) else {
            throw .filterTypeMismatch(column: blame.column, message: "cannot compare \(describe(l, tl)) with \(describe(r, tr))")
        }
        if op != .equal && op != .notEqual {
            for (n, t) in [(l, tl), (r, tr)] where t == .bool {
                throw .filterTypeMismatch(column: n.column, message: "\(describe(n, t)) is a bool, which supports only == and !=, not '\(op.rawValue)'")
            }
            for (n, t) in [(l, tl), (r, tr)] {
                if case .array = t {
                    throw .filterTypeMismatch(column: n.column, message: "\(describe(n, t)) is an array, which supports only == and !=, not '\(op.rawValue)'")
                }
            }
        }
    }

    private func elementType(_ t: FilterFieldType) -> FilterFieldType? {
        switch t {
        case let .array(e): return e
        case .json: return .json
        default: return nil
        }
    }

    func infer(_ n: FilterNode) throws(StoreError) -> FilterFieldType {
        switch n.kind {
        case .integer: return .int
        case .float: return .float
        case .string: return .string
        case .bool: return .bool
        case let .array(items):
            var ts: [FilterFieldType] = []
            for it in items { ts.append(try infer(it)) }
            guard let first = ts.first else { return .array(.json) }
            if ts.allSatisfy({ $0 == first }) { return .array(first) }
            if ts.allSatisfy(\.isNumeric) { return .array(.float) }
            return .array(.json)
        case let .field(ref):
            return try fieldType(ref, column: n.column)
        case let .negate(x):
            let t = try infer(x)
            guard t.isNumeric || t == .json else {
                throw .filterTypeMismatch(column: n.column, message: "'-' needs a number, but \(describe(x, t)) is not one")
            }
            return t
        case let .arithmetic(op, a, b):
            let ta = try infer(a), tb = try infer(b)
            for (x, t) in [(a, ta), (b, tb)] where !(t.isNumeric || t == .json) {
                throw .filterTypeMismatch(column: x.column, message: "arithmetic '\(op.rawValue)' needs numbers, but \(describe(x, t)) is not one")
            }
            if ta == .json || tb == .json { return .json }
            if op == .power || op == .divide || ta == .float || tb == .float { return .float }
            return .int
        case let .comparison(op, l, r):
            try checkCompare(op, l, try infer(l), r, try infer(r))
            return .bool
        case let .range(lower, li, v, upper, ui):
            let tv = try infer(v)
            try checkCompare(li ? .lessOrEqual : .less, lower, try infer(lower), v, tv)
            try checkCompare(ui ? .lessOrEqual : .less, v, tv, upper, try infer(upper))
            return .bool
        case let .membership(l, r, negated):
            let tl = try infer(l)
            let kw = negated ? "not in" : "in"
            if case let .array(items) = r.kind {
                for it in items {
                    let ti = try infer(it)
                    guard compatible(tl, ti) else {
                        throw .filterTypeMismatch(column: it.column, message: "'\(kw)' list holds \(describe(it, ti)), which cannot equal \(describe(l, tl))")
                    }
                }
                return .bool
            }
            let tr = try infer(r)
            guard let e = elementType(tr) else {
                throw .filterTypeMismatch(column: r.column, message: "'\(kw)' needs an array on its right, but \(describe(r, tr)) is not one")
            }
            guard compatible(tl, e) else {
                throw .filterTypeMismatch(column: l.column, message: "\(describe(l, tl)) cannot be in \(describe(r, tr))")
            }
            return .bool
        case let .like(l, _, _):
            let t = try infer(l)
            guard t == .string || t == .json else {
                throw .filterTypeMismatch(column: l.column, message: "'like' needs a string, but \(describe(l, t)) is not one")
            }
            return .bool
        case let .isNull(x, _), let .exists(x):
            _ = try infer(x)
            return .bool
        case let .function(fn, args):
            let ta = try infer(args[0])
            guard let elem = elementType(ta) else {
                throw .filterTypeMismatch(column: args[0].column, message: "\(fn.rawValue)(...) needs an array or json field, but \(describe(args[0], ta)) is neither")
            }
            switch fn {
            case .arrayLength:
                return .int
            case .arrayContains:
                let tv = try infer(args[1])
                guard compatible(elem, tv) else {
                    throw .filterTypeMismatch(column: args[1].column, message: "\(describe(args[0], ta)) holds \(elem) values and can never contain \(describe(args[1], tv))")
                }
                return .bool
            case .arrayContainsAll, .arrayContainsAny:
                let tv = try infer(args[1])
                guard let e2 = elementType(tv) else {
                    throw .filterTypeMismatch(column: args[1].column, message: "\(fn.rawValue)(...) needs an array as its second argument, like [1, 2], but got \(describe(args[1], tv))")
                }
                guard compatible(elem, e2) else {
                    throw .filterTypeMismatch(column: args[1].column, message: "\(describe(args[0], ta)) holds \(elem) values and can never contain \(describe(args[1], tv))")
                }
                return .bool
            }
        case let .not(x):
            try requireCondition(x)
            return .bool
        case let .and(xs), let .or(xs):
            for x in xs { try requireCondition(x) }
            return .bool
        }
    }
}
