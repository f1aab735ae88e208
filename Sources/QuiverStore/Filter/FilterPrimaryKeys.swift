import Foundation

/// Primary-key values named by a filter, so the engine can look rows up instead of scanning.
public struct FilterPrimaryKeyLookup: Sendable, Hashable {
    /// The key values, all of one type.
    public enum Keys: Sendable, Hashable {
        /// Integer keys (integral float literals such as `3.0` included as `3`).
        case ints([Int64])
        /// String keys.
        case strings([String])

        /// The number of distinct keys.
        public var count: Int {
            switch self {
            case let .ints(v): return v.count
            case let .strings(v): return v.count
            }
        }
    }

    /// Distinct keys in first-mention order. Every entity the filter matches has one of these
    /// primary keys (an empty list means nothing can match).
    public var keys: Keys
    /// True when the filter is exactly "primary key is one of `keys`": the looked-up entities
    /// need no further check. When false, evaluate the whole filter on them.
    public var isExact: Bool
}

extension FilterExpression {
    /// Extracts `pk == v`, `v == pk`, `pk in [..]` (also under `or`, and as one conjunct of an
    /// `and`) for the primary key field `field`. nil when the filter does not restrict the
    /// primary key to a finite list, or mixes integer and string keys.
    public func primaryKeyLookup(field: String) -> FilterPrimaryKeyLookup? {
        guard let root, let (values, exact) = Self.candidates(root, field) else { return nil }
        var ints: [Int64] = [], strings: [String] = []
        var seenI = Set<Int64>(), seenS = Set<String>()
        for v in values {
            switch v {
            case let .int(i): if seenI.insert(i).inserted { ints.append(i) }
            case let .double(d):
                // A non-integral number can never equal an integer key; drop it.
                if let i = FilterValueSet.exactInt(d), seenI.insert(i).inserted { ints.append(i) }
            case let .string(s): if seenS.insert(s).inserted { strings.append(s) }
            default: return nil
            }
        }
        if !ints.isEmpty && !strings.isEmpty { return nil }
        return FilterPrimaryKeyLookup(keys: strings.isEmpty ? .ints(ints) : .strings(strings), isExact: exact)
    }

    private static func isKey(_ n: FilterNode, _ field: String) -> Bool {
        guard let f = n.fieldReference else { return false }
        return f.name == field && f.path.isEmpty && !f.isDynamic
    }

    /// (candidate keys, exact?) or nil when unrestricted.
    private static func candidates(_ n: FilterNode, _ field: String) -> ([FieldValue], Bool)? {
        switch n.kind {
        case let .comparison(.equal, a, b):
            if isKey(a, field), let k = FilterClosureCompiler<UInt32>.constant(b) { return ([k], true) }
            if isKey(b, field), let k = FilterClosureCompiler<UInt32>.constant(a) { return ([k], true) }
            return nil
        case let .membership(a, b, negated: false):
            if isKey(a, field), let ks = FilterClosureCompiler<UInt32>.constantElements(b) { return (ks, true) }
            return nil
        case let .or(xs):
            var all: [FieldValue] = []
            var exact = true
            for x in xs {
                guard let (ks, e) = candidates(x, field) else { return nil }
                all += ks
                exact = exact && e
            }
            return (all, exact)
        case let .and(xs):
            var result: [FieldValue]?
            var exact = true
            for x in xs {
                guard let (ks, e) = candidates(x, field) else { exact = false; continue }
                exact = exact && e
                if let r = result {
                    let keep = FilterValueSet(ks)
                    result = r.filter { keep.contains($0) == .yes }
                } else {
                    result = ks
                }
            }
            guard let result else { return nil }
            return (result, exact)
        default:
            return nil
        }
    }
}
