import Foundation

/// An immutable run of rows with ascending row numbers: an in-memory batch (growing data) or a
/// sealed, memory-mapped segment. Readers hold chunks through snapshots; chunks never change.
protocol RowChunk: AnyObject, Sendable {
    var count: Int { get }
    /// Row number of entry `i` (ascending in `i`).
    func row(_ i: Int) -> UInt32
    func id(_ i: Int) -> PrimaryKey
    /// `count * dimension` floats of vector field `field` (schema order); valid while the chunk lives.
    func vectors(_ field: Int) -> UnsafePointer<Float>
    /// Value of scalar field `field` (schema order) for entry `i`.
    func scalar(_ field: Int, _ i: Int) -> FieldValue
    /// The dynamic fields of entry `i`.
    func dynamic(_ i: Int) -> [String: FieldValue]
}

extension RowChunk {
    /// The entry holding `row`, by binary search.
    func index(of row: UInt32) -> Int? {
        var lo = 0, hi = count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            let r = self.row(mid)
            if r == row { return mid }
            if r < row { lo = mid + 1 } else { hi = mid - 1 }
        }
        return nil
    }
    var firstRow: UInt32 { row(0) }
    var lastRow: UInt32 { row(count - 1) }
}

/// Rows as plain arrays, the unit of growing data, WAL records and segment writing.
struct ColumnData: Sendable {
    var rows: [UInt32] = []
    var ids: [PrimaryKey] = []
    /// Per vector field, `rows.count * dimension` floats.
    var vectors: [[Float]]
    /// Per scalar field, one value per row.
    var scalars: [[FieldValue]]
    var dynamic: [[String: FieldValue]] = []

    init(vectorFields: Int, scalarFields: Int) {
        vectors = Array(repeating: [], count: vectorFields)
        scalars = Array(repeating: [], count: scalarFields)
    }

    var count: Int { rows.count }

    /// Appends entry `i` of `chunk`.
    mutating func append(from chunk: RowChunk, _ i: Int, dimensions: [Int]) {
        rows.append(chunk.row(i)); ids.append(chunk.id(i))
        for f in 0..<vectors.count {
            let d = dimensions[f]
            vectors[f].append(contentsOf: UnsafeBufferPointer(start: chunk.vectors(f) + i * d, count: d))
        }
        for f in 0..<scalars.count { scalars[f].append(chunk.scalar(f, i)) }
        dynamic.append(chunk.dynamic(i))
    }

    func encode(_ w: inout ByteWriter) {
        w.u32(UInt32(rows.count))
        for r in rows { w.u32(r) }
        for k in ids { ValueCodec.put(k, &w) }
        w.u32(UInt32(vectors.count))
        for v in vectors { w.u64(UInt64(v.count)); w.floats(v) }
        w.u32(UInt32(scalars.count))
        for col in scalars { for v in col { ValueCodec.put(v, &w) } }
        for d in dynamic { ValueCodec.put(d, &w) }
    }

    static func decode(_ r: inout ByteReader, dimensions: [Int], scalarFields: Int) throws -> ColumnData {
        var c = ColumnData(vectorFields: dimensions.count, scalarFields: scalarFields)
        let n = Int(try r.u32())
        guard n <= r.remaining else { throw StoreError.corruptFile(path: r.path, reason: "row count \(n) at byte \(r.offset)") }
        c.rows.reserveCapacity(n)
        for _ in 0..<n { c.rows.append(try r.u32()) }
        for _ in 0..<n { c.ids.append(try ValueCodec.key(&r)) }
        let nv = Int(try r.u32())
        guard nv == dimensions.count else {
            throw StoreError.corruptFile(path: r.path, reason: "record has \(nv) vector fields, schema has \(dimensions.count)")
        }
        for f in 0..<nv {
            let len = Int(try r.u64())
            guard len == n * dimensions[f] else {
                throw StoreError.corruptFile(path: r.path, reason: "vector field \(f) holds \(len) floats for \(n) rows of \(dimensions[f])")
            }
            c.vectors[f] = try r.floats(len)
        }
        let ns = Int(try r.u32())
        guard ns == scalarFields else {
            throw StoreError.corruptFile(path: r.path, reason: "record has \(ns) scalar fields, schema has \(scalarFields)")
        }
        for f in 0..<ns { for _ in 0..<n { c.scalars[f].append(try ValueCodec.field(&r)) } }
        for _ in 0..<n { c.dynamic.append(try ValueCodec.dynamic(&r)) }
        return c
    }
}

/// Growing data: one committed insert, immutable once built.
final class Batch: RowChunk, @unchecked Sendable {
    let data: ColumnData
    private let vectorStorage: [UnsafeMutablePointer<Float>]

    init(_ data: ColumnData) {
        self.data = data
        vectorStorage = data.vectors.map { v in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(v.count, 1))
            v.withUnsafeBufferPointer { if let b = $0.baseAddress { p.initialize(from: b, count: v.count) } }
            return p
        }
    }
    deinit { for p in vectorStorage { p.deallocate() } }

    var count: Int { data.rows.count }
    func row(_ i: Int) -> UInt32 { data.rows[i] }
    func id(_ i: Int) -> PrimaryKey { data.ids[i] }
    func vectors(_ field: Int) -> UnsafePointer<Float> { UnsafePointer(vectorStorage[field]) }
    func scalar(_ field: Int, _ i: Int) -> FieldValue { data.scalars[field][i] }
    func dynamic(_ i: Int) -> [String: FieldValue] { data.dynamic[i] }
}
