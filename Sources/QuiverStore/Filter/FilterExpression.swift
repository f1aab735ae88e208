import Foundation

/// A Milvus-style boolean filter expression, parsed once and compiled into closures.
///
/// ```swift
/// let f = try FilterExpression(parsing: #"age >= 18 and meta["color"] in ["red", "blue"]"#)
/// try f.validate(against: ["age": .int, "meta": .json])   // optional
/// let keep = f.matches(entity)                            // entity: some FieldLookup
/// ```
///
/// Syntax (as Milvus): literals (integers, also `0x`/`0b`/`0o`; leading zeros are decimal as in
/// Milvus Lite; floats, strings in
/// single or double quotes with C escapes, `r"raw"`, `true`/`false`, arrays `[1, 2]`), fields,
/// JSON paths `meta["a"][0]`, dynamic fields `$meta["k"]`, `== != < <= > >=`, ranges `1 < x < 5`,
/// `in`/`not in`, `like`/`not like` (`%` any run, `_` one character, `\%` `\_` literal),
/// `+ - * / % **`, `and or not` / `&& || !`, `is [not] null`, `exists`, `array_contains`,
/// `array_contains_all`, `array_contains_any`, `array_length`, `json_contains*`, `{name}`
/// template placeholders filled from `parameters`. Keywords are
/// accepted all-lowercase or all-uppercase. An empty expression matches everything.
///
/// Semantics: ints and floats compare numerically (exactly); strings compare by Swift `String`
/// ordering (Unicode code point order for NFC text); a missing field, missing JSON key or null
/// makes a comparison (and `like`) *unknown*, and unknown never matches — also under `not`
/// and `!=` (`not (x > 1)` does not match a row without `x`). Membership is definite, as in
/// Milvus Lite: `in` and `array_contains*` are false for a null or missing value, so
/// `x not in [...]` and `not array_contains(a, v)` match rows without `x` / `a`. Values of different kinds (a string and a
/// number) are unequal: `==` is false, `!=` true, `<` unknown. `/` is true division (`7 / 2`
/// is 3.5). `$meta["k"]` reads the field named `k` through `FieldLookup`, declared or dynamic
/// (Milvus reads only the dynamic one; `validate` rejects the ambiguous case).
public struct FilterExpression: Sendable, CustomStringConvertible {
    /// The expression text as given.
    public let source: String
    /// The syntax tree; nil for an empty expression.
    public let root: FilterNode?
    private let compiled: @Sendable (any FieldLookup) -> FilterTruth
    /// Deeply nested: recursive work runs on a large-stack thread (see `FilterStack`).
    private let isDeep: Bool

    /// Deepest nesting accepted by the parser.
    public static var maxNestingDepth: Int { FilterParser.maxDepth }

    /// Parses and compiles `source`. Throws `StoreError.invalidFilter` naming `source` and the
    /// 1-based column of the problem.
    ///
    /// `parameters` fill `{name}` placeholders, as Milvus' `filter_params` do: numbers, strings,
    /// bools, or `.json(.array(...))` lists (e.g. `id in {ids}`); a `like {p}` pattern parameter
    /// is used as written (`%` and `_` are wildcards, `\%` `\_` literal).
    public init(parsing source: String, parameters: [String: FieldValue] = [:]) throws(StoreError) {
        self.source = source
        do {
            var parser = try FilterParser(source: source, parameters: parameters)
            let deep = parser.nestingTokens > FilterStack.inlineLimit
            isDeep = deep
            (root, compiled) = try FilterStack.run(deep: deep) { () throws(StoreError) in
                guard let root = try parser.parseAll() else {
                    return (nil, { @Sendable _ in .yes })
                }
                let compiler = FilterClosureCompiler<any FieldLookup>(field: { name in { entity in entity.value(of: name) } })
                return (root, compiler.predicate(root))
            }
        } catch {
            throw error.naming(expression: source)
        }
    }

    /// The expression text as given (``source``).
    public var description: String { source }

    /// True for an empty expression (matches every entity).
    public var isAlwaysTrue: Bool { root == nil }

    /// Whether `entity` satisfies the expression (unknown counts as no).
    @inline(__always)
    public func matches(_ entity: any FieldLookup) -> Bool {
        compiled(entity) == .yes
    }

    /// A predicate over row numbers for an engine that stores fields in columns, in the shape the
    /// vector indexes take as `allow`. `column(name)` is called while compiling (once per field
    /// reference, never per row) and returns that field's accessor by row (a nil value reads as
    /// missing/null), or nil when the collection has no such field (every row reads it as missing).
    /// For `$meta["k"]` it is asked for `k`. The returned predicate is safe to call concurrently.
    public func rowPredicate(column: (String) -> (@Sendable (UInt32) -> FieldValue?)?) -> @Sendable (UInt32) -> Bool {
        guard let root else { return { _ in true } }
        let p = withoutActuallyEscaping(column) { column in
            // Cannot throw: compiling only builds closures.
            try! FilterStack.run(deep: isDeep) {
                FilterClosureCompiler<UInt32>(field: { name in column(name) ?? { _ in nil } }).predicate(root)
            }
        }
        return { row in p(row) == .yes }
    }

    /// Checks field names and operand types against `schema` (field name → type). Undeclared
    /// names are an error unless `allowDynamicFields` (then they read the dynamic JSON field, as
    /// does `$meta["k"]`). Throws `StoreError.invalidFilter` naming the expression, the column and
    /// the unknown field (listing the known fields) or the operand types that do not go together.
    public func validate(against schema: [String: FilterFieldType], allowDynamicFields: Bool = false) throws(StoreError) {
        guard let root else { return }
        let validator = FilterValidator(schema: schema, allowDynamicFields: allowDynamicFields)
        do {
            try FilterStack.run(deep: isDeep) { () throws(StoreError) in try validator.validateRoot(root) }
        } catch {
            throw error.naming(expression: source)
        }
    }

    /// Top-level field names the expression reads (for `$meta["k"]`, `k`).
    public var fieldNames: Set<String> {
        var out = Set<String>()
        if let root { Self.collectFields(root, into: &out) }
        return out
    }

    private static func collectFields(_ n: FilterNode, into out: inout Set<String>) {
        switch n.kind {
        case .integer, .float, .string, .bool: break
        case let .field(f): out.insert(f.name)
        case let .array(xs), let .function(_, xs), let .and(xs), let .or(xs):
            for x in xs { collectFields(x, into: &out) }
        case let .negate(x), let .not(x), let .like(x, _, _), let .isNull(x, _), let .exists(x):
            collectFields(x, into: &out)
        case let .arithmetic(_, a, b), let .comparison(_, a, b), let .membership(a, b, _):
            collectFields(a, into: &out); collectFields(b, into: &out)
        case let .range(a, _, b, c, _):
            collectFields(a, into: &out); collectFields(b, into: &out); collectFields(c, into: &out)
        }
    }
}
