import Foundation
import GRPCCore
import QuiverMilvusWire
import QuiverStore

/// One entity checked against the schema, ready to be laid out as columns.
struct CheckedEntity {
    var id: PrimaryKey?
    var vectors: [[Float]]  // per vector field
    var scalars: [FieldValue]  // per scalar field, defaults applied
    var dynamic: [String: FieldValue]
    var bytes: Int
}

extension MilvusCollection {
    /// Inserts entities (see ``VectorCollection/insert(_:models:)``). Checks the models and
    /// the schema first, and that no given id exists yet (Milvus itself would store a second
    /// entity with the same key); sends batches of under 4 MiB. Not retried: an insert that
    /// failed on the way may or may not be stored (re-run with ``upsert(_:models:)``).
    @discardableResult
    public func insert(_ entities: [Entity], models: [String: EmbeddingModel] = [:]) async throws -> [PrimaryKey] {
        try await write(entities, models: models, upsert: false)
    }

    /// Inserts or replaces entities by primary key, in batches of under 4 MiB; retried when the
    /// server is unavailable (an upsert is idempotent).
    @discardableResult
    public func upsert(_ entities: [Entity], models: [String: EmbeddingModel] = [:]) async throws -> [PrimaryKey] {
        try await write(entities, models: models, upsert: true)
    }

    func checkModels(_ models: [String: EmbeddingModel]) throws {
        for (field, m) in models {
            guard let f = schema.vectorFields.first(where: { $0.name == field }) else {
                throw bad("no vector field '\(field)'; vector fields: \(schema.vectorFields.map(\.name).joined(separator: ", "))")
            }
            if m.id != f.model.id || m.dimension != f.dimension {
                throw StoreError.modelMismatch(collection: name, field: field, expectedModel: f.model.id, expectedDimension: f.dimension,
                                               gotModel: m.id, gotDimension: m.dimension)
            }
        }
    }

    /// The same checks (and messages) as the embedded store.
    func check(_ entities: [Entity], upsert: Bool) throws -> [CheckedEntity] {
        let auto = pk.autoID && !upsert
        var out: [CheckedEntity] = []
        out.reserveCapacity(entities.count)
        let scalarNames = Set(schema.scalarFields.map(\.name))
        for (e, entity) in entities.enumerated() {
            var id = entity.id
            if id == nil, let v = entity.fields[pk.name] {
                switch v {
                case let .int(i): id = .int(i)
                case let .string(s): id = .string(s)
                default: throw bad("entity \(e) field '\(pk.name)' (the primary key) must be \(pk.type.rawValue), got \(v)")
                }
            }
            if auto {
                if id != nil { throw bad("primary key '\(pk.name)' is automatic; entity \(e) must not give one") }
            } else {
                guard let k = id else { throw bad("entity \(e) has no primary key '\(pk.name)'") }
                switch (k, pk.type) {
                case (.int, .int64): break
                case let (.string(s), .string): guard !s.isEmpty else { throw bad("entity \(e) has an empty string primary key") }
                default: throw bad("entity \(e) primary key \(k) is not of type \(pk.type.rawValue)")
                }
            }
            for (n, _) in entity.vectors where !schema.vectorFields.contains(where: { $0.name == n }) {
                throw bad("entity \(e) gives vector field '\(n)' which is not in the schema (vector fields: \(schema.vectorFields.map(\.name).joined(separator: ", ")))")
            }
            var bytes = 64
            var vecs: [[Float]] = []
            for f in schema.vectorFields {
                guard let v = entity.vectors[f.name] else { throw bad("entity \(e) has no vector for field '\(f.name)'") }
                guard v.count == f.dimension else {
                    throw bad("field '\(f.name)' holds \(f.model.id) vectors (\(f.dimension)-d); entity \(e) has a \(v.count)-d vector")
                }
                guard v.allSatisfy(\.isFinite) else { throw bad("entity \(e) field '\(f.name)' holds a NaN or infinite value") }
                if f.storage == .float16, !v.allSatisfy({ abs($0) <= 65504 }) {
                    throw bad("entity \(e) field '\(f.name)' stores float16 and holds a value beyond ±65504")
                }
                vecs.append(v)
                bytes += v.count * (f.storage == .float16 ? 2 : 4) + 8
            }
            var dyn: [String: FieldValue] = [:]
            for (key, value) in entity.fields where key != pk.name && !scalarNames.contains(key) {
                if schema.vectorFields.contains(where: { $0.name == key }) { throw bad("entity \(e) gives vector field '\(key)' among its scalar fields") }
                guard schema.enableDynamicField else {
                    throw bad("entity \(e) field '\(key)' is not in the schema and the collection has no dynamic field")
                }
                if value != .null { dyn[key] = value }
            }
            var scalars: [FieldValue] = []
            for f in schema.scalarFields {
                var v = entity.fields[f.name] ?? .null
                if v == .null {
                    if let d = f.defaultValue { v = d } else if !f.nullable {
                        throw bad("entity \(e) lacks required field '\(f.name)' (\(f.type.rawValue))")
                    }
                } else {
                    if case let .int(i) = v, f.type == .double { v = .double(Double(i)) }
                    if f.type == .json, case .json = v {} else if f.type == .json { v = .json(v.jsonValue) }
                    let fits: Bool
                    switch (v, f.type) {
                    case (.int, .int64), (.double, .double), (.bool, .bool), (.string, .string), (.json, .json): fits = true
                    default: fits = false
                    }
                    guard fits else { throw bad("entity \(e) field '\(f.name)' must be \(f.type.rawValue), got \(v)") }
                    if let m = f.maxLength, case let .string(s) = v, s.utf8.count > m {
                        throw bad("entity \(e) field '\(f.name)' is \(s.utf8.count) bytes long, the limit is \(m)")
                    }
                }
                if case let .string(s) = v { bytes += s.utf8.count + 8 } else { bytes += 16 }
                scalars.append(v)
            }
            out.append(CheckedEntity(id: auto ? nil : id, vectors: vecs, scalars: scalars, dynamic: dyn, bytes: bytes))
        }
        return out
    }

    static func jsonBytes(_ v: JSONValue) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(v)) ?? Data("null".utf8)
    }

    /// The column-wise FieldData of a batch.
    func columns(_ batch: ArraySlice<CheckedEntity>, includeKeys: Bool) -> [MVFieldData] {
        var cols: [MVFieldData] = []
        if includeKeys {
            var c = MVFieldData()
            c.fieldName = pk.name
            c.type = pk.type == .int64 ? MilvusType.int64 : MilvusType.varChar
            if pk.type == .int64 {
                c.scalars.longData.data = batch.map { if case let .int(i)? = $0.id { return i }; return 0 }
            } else {
                c.scalars.stringData.data = batch.map { if case let .string(s)? = $0.id { return s }; return "" }
            }
            cols.append(c)
        }
        for (fi, f) in schema.vectorFields.enumerated() {
            var c = MVFieldData()
            c.fieldName = f.name
            c.vectors.dim = Int64(f.dimension)
            if f.storage == .float16 {
                c.type = MilvusType.float16Vector
                var d = Data(capacity: batch.count * f.dimension * 2)
                for e in batch { for x in e.vectors[fi] { let h = Half.bits(x); d.append(UInt8(h & 0xff)); d.append(UInt8(h >> 8)) } }
                c.vectors.float16Vector = d
            } else {
                c.type = MilvusType.floatVector
                var flat: [Float] = []
                flat.reserveCapacity(batch.count * f.dimension)
                for e in batch { flat.append(contentsOf: e.vectors[fi]) }
                c.vectors.floatVector.data = flat
            }
            cols.append(c)
        }
        for (si, f) in schema.scalarFields.enumerated() {
            var c = MVFieldData()
            c.fieldName = f.name
            let t = wireTypes[f.name] ?? MilvusType.int64
            c.type = t
            let values = batch.map { $0.scalars[si] }
            let present = f.nullable ? values.filter { $0 != .null } : values
            // Newer servers want validity flags for nullable fields and fields with a default.
            if f.nullable || f.defaultValue != nil { c.validData = values.map { $0 != .null } }
            switch t {
            case MilvusType.bool: c.scalars.boolData.data = present.map { if case let .bool(b) = $0 { return b }; return false }
            case MilvusType.int8, MilvusType.int16, MilvusType.int32:
                c.scalars.intData.data = present.map { if case let .int(i) = $0 { return Int32(truncatingIfNeeded: i) }; return 0 }
            case MilvusType.int64: c.scalars.longData.data = present.map { if case let .int(i) = $0 { return i }; return 0 }
            case MilvusType.float: c.scalars.floatData.data = present.map { if case let .double(d) = $0 { return Float(d) }; return 0 }
            case MilvusType.double: c.scalars.doubleData.data = present.map { if case let .double(d) = $0 { return d }; return 0 }
            case MilvusType.varChar: c.scalars.stringData.data = present.map { if case let .string(s) = $0 { return s }; return "" }
            default: c.scalars.jsonData.data = present.map { Self.jsonBytes($0.jsonValue) }
            }
            cols.append(c)
        }
        if schema.enableDynamicField {
            var c = MVFieldData()
            c.fieldName = "$meta"
            c.type = MilvusType.json
            c.isDynamic = true
            c.scalars.jsonData.data = batch.map { Self.jsonBytes(.object($0.dynamic.mapValues(\.jsonValue))) }
            cols.append(c)
        }
        return cols
    }

    /// Splits into batches whose estimated message size stays under ``maxMessageBytes``.
    static func batches(_ rows: [CheckedEntity]) -> [ArraySlice<CheckedEntity>] {
        var out: [ArraySlice<CheckedEntity>] = []
        var start = 0, size = 0
        for (i, r) in rows.enumerated() {
            if i > start, size + r.bytes > maxMessageBytes { out.append(rows[start..<i]); start = i; size = 0 }
            size += r.bytes
        }
        if start < rows.count { out.append(rows[start..<rows.count]) }
        return out
    }

    func write(_ entities: [Entity], models: [String: EmbeddingModel], upsert: Bool) async throws -> [PrimaryKey] {
        guard !entities.isEmpty else { return [] }
        try checkModels(models)
        var rows = try check(entities, upsert: upsert)
        // Dynamic values are JSON in Milvus: the size estimate includes them.
        for i in rows.indices where !rows[i].dynamic.isEmpty { rows[i].bytes += Self.jsonBytes(.object(rows[i].dynamic.mapValues(\.jsonValue))).count }
        let given = rows.compactMap(\.id)
        var seen = Set<PrimaryKey>()
        for (i, k) in given.enumerated() where !seen.insert(k).inserted {
            throw bad("entity \(i) repeats primary key \(k) within one call")
        }
        if !upsert, !given.isEmpty, let dup = try await existingKeys(given).first {
            throw bad("primary key \(dup) already exists; use upsert to replace it")
        }
        let op = upsert ? "Upsert" : "Insert"
        var ids: [PrimaryKey] = []
        for batch in Self.batches(rows) {
            let cols = columns(batch, includeKeys: upsert || !pk.autoID)
            let n = UInt32(batch.count)
            let r: MVMutationResult
            if upsert {
                var req = MVUpsertRequest()
                req.dbName = conn.dbName; req.collectionName = name; req.fieldsData = cols; req.numRows = n
                r = try await conn.call(op, collection: name, safe: true) { [req] s, m, o in try await s.upsert(req, metadata: m, options: o) }
            } else {
                var req = MVInsertRequest()
                req.dbName = conn.dbName; req.collectionName = name; req.fieldsData = cols; req.numRows = n
                r = try await conn.call(op, collection: name, safe: false) { [req] s, m, o in try await s.insert(req, metadata: m, options: o) }
            }
            try conn.check(r.status, op, collection: name)
            store.noteWrite(r.timestamp)
            if pk.autoID && !upsert {
                let got: [PrimaryKey]
                switch r.ids.idField {
                case let .intID(a)?: got = a.data.map { .int($0) }
                case let .strID(a)?: got = a.data.map { .string($0) }
                case nil: got = []
                }
                guard got.count == batch.count else {
                    throw MilvusError.unexpectedResponse(server: conn.server, collection: name, operation: op,
                                                         reason: "\(got.count) ids for \(batch.count) entities")
                }
                ids += got
            } else {
                ids += batch.map { $0.id! }
            }
        }
        return ids
    }

    /// The keys among `ids` that exist (Strong consistency).
    func existingKeys(_ ids: [PrimaryKey]) async throws -> [PrimaryKey] {
        var found: [PrimaryKey] = []
        var i = 0
        while i < ids.count {
            let chunk = Array(ids[i..<min(ids.count, i + 4096)])
            i += chunk.count
            let r = try await rawQuery(expr: idsExpression(chunk), outputFields: [], limit: nil, offset: 0)
            found += try keys(of: r)
        }
        let set = Set(found)
        return ids.filter { set.contains($0) }
    }

    /// Deletes entities by key; returns how many existed (Milvus counts every key asked, so the
    /// existing ones are looked up first).
    @discardableResult
    public func delete(ids: [PrimaryKey]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let existing = Array(Set(try await existingKeys(ids)))
        var i = 0
        while i < existing.count {
            let chunk = Array(existing[i..<min(existing.count, i + 4096)])
            i += chunk.count
            _ = try await rawDelete(expr: idsExpression(chunk))
        }
        return existing.count
    }

    /// Deletes the entities matching a filter; an empty filter deletes every entity. Returns
    /// how many (Milvus 2.3 answers with a count and no ids; older answers without a count
    /// are counted by their ids).
    @discardableResult
    public func delete(filter: String) async throws -> Int {
        if Self.blank(filter) {
            let all = try await whileLoaded { try keys(of: try await rawQuery(expr: allExpression, outputFields: [], limit: nil, offset: 0)) }
            return try await delete(ids: all)
        }
        return try await rawDelete(expr: filter)
    }

    func rawDelete(expr: String) async throws -> Int {
        var req = MVDeleteRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        req.expr = expr
        req.consistencyLevel = store.readConsistency().level
        let r = try await whileLoaded {
            try await conn.call("Delete", collection: name, safe: true) { [req] s, m, o in try await s.delete(req, metadata: m, options: o) }
        }
        try conn.check(r.status, "Delete", collection: name)
        store.noteWrite(r.timestamp)
        if r.deleteCnt > 0 { return Int(r.deleteCnt) }
        switch r.ids.idField {
        case let .intID(a)?: return a.data.count
        case let .strID(a)?: return a.data.count
        case nil: return 0
        }
    }
}

/// IEEE half precision, by hand (Swift's `Float16` is not available on every platform).
enum Half {
    /// float → half bits, rounding to nearest even (as the embedded store rounds float16 fields).
    static func bits(_ f: Float) -> UInt16 {
        let b = f.bitPattern
        let sign = UInt16((b >> 16) & 0x8000)
        let exp = Int((b >> 23) & 0xFF)
        let mant = b & 0x7F_FFFF
        if exp == 0xFF { return sign | 0x7C00 | (mant != 0 ? 0x200 : 0) }
        let e = exp - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            let m = mant | 0x80_0000
            let shift = UInt32(14 - e)
            var h = m >> shift
            let rem = m & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rem > halfway || (rem == halfway && (h & 1) == 1) { h += 1 }
            return sign | UInt16(h)
        }
        var h = UInt32(e) << 10 | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }
        return sign | UInt16(h)
    }

    static func float(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1f
        let mant = UInt32(h & 0x3ff)
        if exp == 0 {
            return (sign != 0 ? -1 : 1) * Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }
}
