import Foundation

/// Turns a parsed expression into a tree of closures, once, so evaluating a row is a few
/// indirect calls and typed comparisons rather than a walk over the AST.
///
/// `C` is what a row is: `any FieldLookup` for entities, `UInt32` for row numbers with
/// caller-provided column accessors. `field(name)` resolves a top-level field to an accessor once.
struct FilterClosureCompiler<C> {
    typealias Value = @Sendable (C) -> FieldValue
    typealias Predicate = @Sendable (C) -> FilterTruth

    let field: (String) -> @Sendable (C) -> FieldValue?

    // MARK: constants

    /// The value of a node that reads no field, folded at compile time.
    static func constant(_ n: FilterNode) -> FieldValue? {
        switch n.kind {
        case let .integer(i): return .int(i)
        case let .float(d): return .double(d)
        case let .string(s): return .string(s)
        case let .bool(b): return .bool(b)
        case let .array(items):
            var out: [JSONValue] = []
            out.reserveCapacity(items.count)
            for it in items {
                guard let v = constant(it) else { return nil }
                out.append(FilterValues.json(v))
            }
            return .json(.array(out))
        case let .negate(x):
            return constant(x).map(FilterValues.negate)
        case let .arithmetic(op, a, b):
            guard let x = constant(a), let y = constant(b) else { return nil }
            return FilterValues.arithmetic(op, x, y)
        default:
            return nil
        }
    }

    /// Array literal elements as values, keeping integers exact (for `in` sets).
    static func constantElements(_ n: FilterNode) -> [FieldValue]? {
        guard case let .array(items) = n.kind else { return nil }
        var out: [FieldValue] = []
        for it in items {
            guard let v = constant(it) else { return nil }
            out.append(v)
        }
        return out
    }

    // MARK: values

    func reader(_ ref: FilterFieldReference) -> Value {
        let base = field(ref.name)
        let path = ref.path
        if path.isEmpty {
            return { c in FilterValues.normalize(base(c)) }
        }
        if path.count == 1 {
            let step = path[0]
            return { c in
                guard case let .json(j)? = base(c) else { return .null }
                switch step {
                case let .key(k):
                    guard case let .object(o) = j, let v = o[k] else { return .null }
                    return FilterValues.normalize(v)
                case let .index(i):
                    guard case let .array(a) = j, i < a.count else { return .null }
                    return FilterValues.normalize(a[i])
                }
            }
        }
        return { c in
            guard case let .json(j)? = base(c), let v = FilterValues.navigate(j, path) else { return .null }
            return FilterValues.normalize(v)
        }
    }

    func value(_ n: FilterNode) -> Value {
        if let k = Self.constant(n) { return { _ in k } }
        switch n.kind {
        case let .field(ref):
            return reader(ref)
        case let .negate(x):
            let v = value(x)
            return { c in FilterValues.negate(v(c)) }
        case let .arithmetic(op, a, b):
            let x = value(a), y = value(b)
            if let ky = Self.constant(b) { return { c in FilterValues.arithmetic(op, x(c), ky) } }
            return { c in FilterValues.arithmetic(op, x(c), y(c)) }
        case let .array(items):
            let vs = items.map(value)
            return { c in .json(.array(vs.map { FilterValues.json($0(c)) })) }
        case let .function(.arrayLength, args):
            let a = value(args[0])
            return { c in
                if case let .json(.array(els)) = a(c) { return .int(Int64(els.count)) }
                return .null
            }
        default:
            // A condition used as a value, e.g. `(a > 1) == true`.
            let p = predicate(n)
            return { c in
                switch p(c) {
                case .yes: return .bool(true)
                case .no: return .bool(false)
                case .unknown: return .null
                }
            }
        }
    }

    // MARK: predicates

    func predicate(_ n: FilterNode) -> Predicate {
        switch n.kind {
        case let .bool(b):
            let t = FilterTruth(b)
            return { _ in t }
        case let .comparison(op, l, r):
            return comparison(op, l, r)
        case let .range(lower, li, v, upper, ui):
            let lo = comparison(li ? .greaterOrEqual : .greater, v, lower)
            let hi = comparison(ui ? .lessOrEqual : .less, v, upper)
            return Self.and2(lo, hi)
        case let .membership(l, r, negated):
            let p = membership(l, r)
            if !negated { return p }
            return { c in p(c).negated }
        case let .like(l, pattern, negated):
            let get = value(l)
            let m = FilterLikeMatcher(pattern)
            let p: Predicate = { c in
                switch get(c) {
                case let .string(s): return FilterTruth(m.matches(s))
                case .null: return .unknown
                default: return .no
                }
            }
            if !negated { return p }
            return { c in p(c).negated }
        case let .isNull(x, negated):
            let get = value(x)
            return { c in
                if case .null = get(c) { return FilterTruth(!negated) }
                return FilterTruth(negated)
            }
        case let .exists(x):
            let get = value(x)
            return { c in
                if case .null = get(c) { return .no }
                return .yes
            }
        case let .function(fn, args):
            return function(fn, args)
        case let .not(x):
            let p = predicate(x)
            return { c in p(c).negated }
        case let .and(xs):
            let ps = xs.map(predicate)
            if ps.count == 2 { return Self.and2(ps[0], ps[1]) }
            return { c in
                var unknown = false
                for p in ps {
                    switch p(c) {
                    case .no: return .no
                    case .unknown: unknown = true
                    case .yes: break
                    }
                }
                return unknown ? .unknown : .yes
            }
        case let .or(xs):
            let ps = xs.map(predicate)
            if ps.count == 2 {
                let a = ps[0], b = ps[1]
                return { c in
                    let x = a(c)
                    if x == .yes { return .yes }
                    let y = b(c)
                    if y == .yes { return .yes }
                    return (x == .unknown || y == .unknown) ? .unknown : .no
                }
            }
            return { c in
                var unknown = false
                for p in ps {
                    switch p(c) {
                    case .yes: return .yes
                    case .unknown: unknown = true
                    case .no: break
                    }
                }
                return unknown ? .unknown : .no
            }
        default:
            // A bare boolean field or value.
            let get = value(n)
            return { c in
                if case let .bool(b) = get(c) { return FilterTruth(b) }
                return .unknown
            }
        }
    }

    private static func and2(_ a: @escaping Predicate, _ b: @escaping Predicate) -> Predicate {
        return { c in
            let x = a(c)
            if x == .no { return .no }
            let y = b(c)
            if y == .no { return .no }
            return (x == .unknown || y == .unknown) ? .unknown : .yes
        }
    }

    private func comparison(_ op: FilterComparison, _ l: FilterNode, _ r: FilterNode) -> Predicate {
        var op = op, l = l, r = r
        if Self.constant(l) != nil, Self.constant(r) == nil {
            swap(&l, &r)
            op = op.mirrored
        }
        let masks = FilterComparisonMasks(op)
        let get = value(l)
        if let k = Self.constant(r) {
            // Typed fast paths for `field <op> constant`.
            switch k {
            case let .int(y):
                return { c in
                    switch get(c) {
                    case let .int(x): return masks.tri(FilterValues.order(x, y))
                    case let .double(x): return masks.tri(FilterValues.flip(FilterValues.order(y, x)))
                    case .null: return .unknown
                    default: return masks.tri(.unequal)
                    }
                }
            case let .double(y):
                return { c in
                    switch get(c) {
                    case let .double(x): return masks.tri(FilterValues.order(x, y))
                    case let .int(x): return masks.tri(FilterValues.order(x, y))
                    case .null: return .unknown
                    default: return masks.tri(.unequal)
                    }
                }
            case let .string(y):
                return { c in
                    switch get(c) {
                    case let .string(x): return masks.tri(FilterValues.order(x, y))
                    case .null: return .unknown
                    default: return masks.tri(.unequal)
                    }
                }
            default:
                return { c in masks.tri(FilterValues.order(get(c), k)) }
            }
        }
        let rhs = value(r)
        return { c in masks.tri(FilterValues.order(get(c), rhs(c))) }
    }

    private func membership(_ l: FilterNode, _ r: FilterNode) -> Predicate {
        let get = value(l)
        if let elements = Self.constantElements(r) {
            let set = FilterValueSet(elements)
            return { c in set.contains(get(c)) }
        }
        if case let .array(items) = r.kind {
            let vs = items.map(value)
            return { c in
                let v = get(c)
                if case .null = v { return .no }
                for e in vs where FilterValues.order(v, e(c)) == .equal { return .yes }
                return .no
            }
        }
        // `x in some_array_field`
        let list = value(r)
        return { c in
            let v = get(c)
            guard case let .json(.array(els)) = list(c) else { return .no }
            if case .null = v { return .no }
            for e in els where FilterValues.order(v, FilterValues.normalize(e)) == .equal { return .yes }
            return .no
        }
    }

    @Sendable private static func has(_ els: [JSONValue], _ w: FieldValue) -> Bool {
        for e in els where FilterValues.order(FilterValues.normalize(e), w) == .equal { return true }
        return false
    }

    private func function(_ fn: FilterFunction, _ args: [FilterNode]) -> Predicate {
        let array = value(args[0])
        switch fn {
        case .arrayContains:
            if let k = Self.constant(args[1]) {
                let probe = FilterValueSet([k])
                return { c in
                    switch array(c) {
                    case let .json(.array(els)):
                        for e in els where probe.contains(FilterValues.normalize(e)) == .yes { return .yes }
                        return .no
                    case .null: return .no
                    default: return .no
                    }
                }
            }
            let needle = value(args[1])
            return { c in
                guard case let .json(.array(els)) = array(c) else { return .no }
                let v = needle(c)
                for e in els where FilterValues.order(FilterValues.normalize(e), v) == .equal { return .yes }
                return .no
            }
        case .arrayContainsAll, .arrayContainsAny:
            let all = fn == .arrayContainsAll
            let has = Self.has
            if let wanted = Self.constantElements(args[1]) {
                return { c in
                    let a = array(c)
                    guard case let .json(.array(els)) = a else {
                        if case .null = a { return .no }
                        return .no
                    }
                    if all {
                        for w in wanted where !has(els, w) { return .no }
                        return .yes
                    }
                    for w in wanted where has(els, w) { return .yes }
                    return .no
                }
            }
            let list = value(args[1])
            return { c in
                guard case let .json(.array(els)) = array(c), case let .json(.array(ws)) = list(c) else { return .no }
                if all {
                    for w in ws where !has(els, FilterValues.normalize(w)) { return .no }
                    return .yes
                }
                for w in ws where has(els, FilterValues.normalize(w)) { return .yes }
                return .no
            }
        case .arrayLength:
            let get = value(FilterNode(.function(.arrayLength, args), column: args[0].column))
            return { c in
                if case .null = get(c) { return .unknown }
                return .yes
            }
        }
    }
}
