import Foundation

/// A readers–writer lock (many concurrent readers, one writer).
final class RWLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    init() { pthread_rwlock_init(lock, nil) }
    deinit { pthread_rwlock_destroy(lock); lock.deallocate() }
    func read<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock); defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
    func write<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock); defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// An index on one vector field, guarded so searches run concurrently and changes exclusively.
final class IndexSlot: @unchecked Sendable {
    let info: IndexInfo
    let index: VectorIndex
    let lock = RWLock()
    // Persistence state, guarded by the collection's writer lock: the file last written, the
    // rows it covers (all rows below `coveredRows`), and rows deleted from it since.
    var persistedFile: String?
    var coveredRows: UInt32 = 0
    var removedSince: [UInt32] = []
    init(info: IndexInfo, index: VectorIndex) { self.info = info; self.index = index }

    /// True when the file on disk lags so far behind that rewriting it beats replaying at open.
    func isStale(nextRow: UInt32) -> Bool {
        guard persistedFile != nil else { return true }
        let changes = Int(nextRow) - Int(coveredRows) + removedSince.count
        return Double(changes) > 0.25 * Double(max(index.count, 2000))
    }
}

/// A predicate over one entity's fields (scalar, dynamic and the primary key by name).
///
/// Called once per candidate entity, possibly from several threads at once (multi-query
/// searches run on all cores); it must not call back into the collection.
public typealias RowPredicate = @Sendable (any FieldLookup) -> Bool

/// Compiles filter expressions (Milvus syntax, the Filter module's `FilterExpression`) to
/// predicates, checked against the collection's schema.
enum FilterCompiler {
    static func compile(_ expression: String, schema: CollectionSchema) throws -> RowPredicate {
        let f = try FilterExpression(parsing: expression)
        if f.isAlwaysTrue { return { _ in true } }
        var types: [String: FilterFieldType] = [schema.primaryKey.name: schema.primaryKey.type == .int64 ? .int : .string]
        for s in schema.scalarFields {
            switch s.type {
            case .int64: types[s.name] = .int
            case .double: types[s.name] = .float
            case .bool: types[s.name] = .bool
            case .string: types[s.name] = .string
            case .json: types[s.name] = .json
            }
        }
        for v in schema.vectorFields { types[v.name] = .vector }
        try f.validate(against: types, allowDynamicFields: schema.enableDynamicField)
        return { f.matches($0) }
    }
}

/// One entity inside a chunk, seen through `FieldLookup`.
struct RowView: FieldLookup {
    let chunk: RowChunk
    let i: Int
    let schema: CollectionSchema
    let scalarIndex: [String: Int]

    func value(of field: String) -> FieldValue? {
        if field == schema.primaryKey.name { return chunk.id(i).fieldValue }
        if let s = scalarIndex[field] { return chunk.scalar(s, i) }
        if field == "$meta" {
            return .json(.object(chunk.dynamic(i).mapValues { $0.jsonValue }))
        }
        return chunk.dynamic(i)[field]
    }
}

extension FieldValue {
    /// The value as JSON (for `$meta` and output).
    public var jsonValue: JSONValue {
        switch self {
        case .null: return .null
        case let .bool(b): return .bool(b)
        case let .int(i): return .number(Double(i))
        case let .double(d): return .number(d)
        case let .string(s): return .string(s)
        case let .json(j): return j
        }
    }

    /// A JSON value as a field value: integral numbers become `.int`, objects and arrays `.json`.
    public init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case let .bool(b): self = .bool(b)
        case let .number(n): self = (n.rounded() == n && abs(n) < 9.0e15) ? .int(Int64(n)) : .double(n)
        case let .string(s): self = .string(s)
        case .array, .object: self = .json(json)
        }
    }
}

/// Tuning of a store.
///
/// Written rows first live in memory as "growing" batches (and in the write-ahead log); a flush
/// seals them into a segment file and starts a new log file. Flushing never affects durability
/// (the log already holds every acknowledged write); it bounds memory and the log replay at open.
public struct StoreOptions: Sendable {
    /// Growing rows that trigger a flush into a sealed segment.
    public var flushRows: Int
    /// Number of separate inserts kept in memory before a flush.
    public var flushBatches: Int
    /// Flush thresholds; a write that reaches either one flushes before it returns.
    /// - Parameters:
    ///   - flushRows: growing rows (default 50 000).
    ///   - flushBatches: growing write calls (default 2048).
    public init(flushRows: Int = 50_000, flushBatches: Int = 2048) {
        self.flushRows = flushRows; self.flushBatches = flushBatches
    }
}
