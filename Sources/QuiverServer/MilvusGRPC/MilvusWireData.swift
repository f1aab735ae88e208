import Foundation
import QuiverMilvusWire
import QuiverStore

/// Column-wise Milvus `FieldData` ↔ the store's row-wise entities, rows and hits.
enum MilvusWireData {
    // MARK: insert

    /// The entities of an insert or upsert: one per row, from the columns in `columns`.
    ///
    /// `schema` is the store's; `wire` the Milvus schema (for the client's data types);
    /// `functionOutputs` the vector fields an embedding function fills (not to be sent).
    /// - Throws: `MilvusError` 1804 naming the field and row at fault.
    static func entities(_ columns: [MVFieldData], numRows: Int, schema: CollectionSchema, upsert: Bool,
                         functionOutputs: Set<String>) throws -> [Entity] {
        let n = numRows > 0 ? numRows : (columns.first.map(rowCount) ?? 0)
        var entities = [Entity](repeating: Entity(id: nil, vectors: [:], fields: [:]), count: n)
        let pk = schema.primaryKey
        var seen = Set<String>()
        for col in columns {
            let name = col.fieldName
            guard seen.insert(name).inserted else { throw MilvusError.insertData("field '\(name)' is given twice") }
            if col.isDynamic || name == "$meta" {
                guard schema.enableDynamicField else {
                    throw MilvusError.insertData("the dynamic field ($meta) is given but the collection's dynamic field is off")
                }
                let docs = try jsonColumn(col, n: n, name: name)
                for (r, doc) in docs.enumerated() {
                    guard let doc else { continue }
                    guard case let .object(members) = doc else {
                        throw MilvusError.insertData("row \(r): the dynamic field ($meta) must be a JSON object")
                    }
                    for (k, v) in members {
                        if case .null = v { continue }
                        entities[r].fields[k] = FieldValue(json: v)
                    }
                }
                continue
            }
            if name == pk.name {
                if pk.autoID && !upsert {
                    throw MilvusError.insertData("the primary key '\(name)' is given but the collection assigns it (auto_id=True); leave it out")
                }
                let keys = try primaryKeys(col, type: pk.type, n: n)
                for r in 0..<n { entities[r].id = keys[r] }
                continue
            }
            if let v = schema.vectorFields.first(where: { $0.name == name }) {
                if functionOutputs.contains(name) {
                    throw MilvusError.insertData("field '\(name)' is the output of an embedding function: send only its input text, "
                                                 + "Quiver fills '\(name)'")
                }
                let rows = try vectors(col, dimension: v.dimension, n: n, name: name)
                for r in 0..<n { entities[r].vectors[name] = rows[r] }
                continue
            }
            if let f = schema.scalarFields.first(where: { $0.name == name }) {
                let values = try scalars(col, type: f.type, n: n, name: name)
                for r in 0..<n where values[r] != .null { entities[r].fields[name] = values[r] }
                continue
            }
            throw MilvusError.insertData("field '\(name)' is not in the collection's schema (fields: "
                                         + ([pk.name] + schema.vectorFields.map(\.name) + schema.scalarFields.map(\.name)).joined(separator: ", ") + ")")
        }
        if !(pk.autoID && !upsert) && !seen.contains(pk.name) {
            throw MilvusError.insertData("the primary key field '\(pk.name)' is missing")
        }
        return entities
    }

    static func rowCount(_ col: MVFieldData) -> Int {
        switch col.field {
        case let .scalars(s)?:
            let valid = col.validData.count
            switch s.data {
            case let .boolData(a)?: return max(valid, a.data.count)
            case let .intData(a)?: return max(valid, a.data.count)
            case let .longData(a)?: return max(valid, a.data.count)
            case let .floatData(a)?: return max(valid, a.data.count)
            case let .doubleData(a)?: return max(valid, a.data.count)
            case let .stringData(a)?: return max(valid, a.data.count)
            case let .bytesData(a)?: return max(valid, a.data.count)
            case let .jsonData(a)?: return max(valid, a.data.count)
            case nil: return valid
            }
        case let .vectors(v)?:
            guard v.dim > 0 else { return 0 }
            switch v.data {
            case let .floatVector(a)?: return a.data.count / Int(v.dim)
            case let .float16Vector(b)?: return b.count / (2 * Int(v.dim))
            default: return 0
            }
        case nil: return 0
        }
    }

    /// Spreads `data` (full length, or only the valid entries) over `n` rows by `valid`.
    static func spread<T>(_ data: [T], valid: [Bool], n: Int, name: String) throws -> [T?] {
        if valid.isEmpty {
            guard data.count == n else { throw MilvusError.insertData("field '\(name)' has \(data.count) values for \(n) rows") }
            return data.map { Optional($0) }
        }
        guard valid.count == n else { throw MilvusError.insertData("field '\(name)' has \(valid.count) validity flags for \(n) rows") }
        if data.count == n { return (0..<n).map { valid[$0] ? data[$0] : nil } }
        let validCount = valid.filter { $0 }.count
        guard data.count == validCount else {
            throw MilvusError.insertData("field '\(name)' has \(data.count) values for \(validCount) non-null rows")
        }
        var it = data.makeIterator()
        return valid.map { $0 ? it.next() : nil }
    }

    static func primaryKeys(_ col: MVFieldData, type: PrimaryKeyType, n: Int) throws -> [PrimaryKey] {
        let name = col.fieldName
        switch (type, col.scalars.data) {
        case let (.int64, .longData(a)?): return try spread(a.data, valid: [], n: n, name: name).map { .int($0!) }
        case let (.int64, .intData(a)?): return try spread(a.data, valid: [], n: n, name: name).map { .int(Int64($0!)) }
        case let (.string, .stringData(a)?):
            return try spread(a.data, valid: [], n: n, name: name).enumerated().map { r, s in
                guard let s, !s.isEmpty else { throw MilvusError.insertData("row \(r): the VarChar primary key '\(name)' is empty") }
                return .string(s)
            }
        default:
            throw MilvusError.insertData("the primary key '\(name)' must be sent as \(type.rawValue) data")
        }
    }

    static func vectors(_ col: MVFieldData, dimension: Int, n: Int, name: String) throws -> [[Float]] {
        guard case let .vectors(v)? = col.field else { throw MilvusError.insertData("field '\(name)' is a vector field; send vectors") }
        guard Int(v.dim) == dimension else {
            throw MilvusError.insertData("the dim (\(v.dim)) of field '\(name)' data is not equal to schema dim (\(dimension))")
        }
        let flat: [Float]
        switch v.data {
        case let .floatVector(a)?: flat = a.data
        case let .float16Vector(b)?: flat = Half.floats(b)
        default: throw MilvusError.insertData("field '\(name)' must be sent as FloatVector or Float16Vector data")
        }
        guard flat.count == dimension * n else {
            throw MilvusError.insertData("field '\(name)' has \(flat.count) floats; \(n) rows of dim \(dimension) need \(dimension * n)")
        }
        return (0..<n).map { Array(flat[($0 * dimension)..<(($0 + 1) * dimension)]) }
    }

    static func jsonColumn(_ col: MVFieldData, n: Int, name: String) throws -> [JSONValue?] {
        guard case let .jsonData(a)? = col.scalars.data else {
            if col.scalars.data == nil && n == 0 { return [] }
            throw MilvusError.insertData("field '\(name)' must be sent as JSON data")
        }
        return try spread(a.data, valid: col.validData, n: n, name: name).enumerated().map { r, bytes in
            guard let bytes else { return nil }
            do { return try JSONDecoder().decode(JSONValue.self, from: bytes) } catch {
                throw MilvusError.insertData("row \(r): field '\(name)' is not valid JSON")
            }
        }
    }

    static func scalars(_ col: MVFieldData, type: ScalarType, n: Int, name: String) throws -> [FieldValue] {
        let valid = col.validData
        func wrap<T>(_ data: [T], _ f: (T) -> FieldValue) throws -> [FieldValue] {
            try spread(data, valid: valid, n: n, name: name).map { $0.map(f) ?? .null }
        }
        switch (type, col.scalars.data) {
        case let (.bool, .boolData(a)?): return try wrap(a.data) { .bool($0) }
        case let (.int64, .intData(a)?): return try wrap(a.data) { .int(Int64($0)) }
        case let (.int64, .longData(a)?): return try wrap(a.data) { .int($0) }
        case let (.double, .floatData(a)?): return try wrap(a.data) { .double(Double($0)) }
        case let (.double, .doubleData(a)?): return try wrap(a.data) { .double($0) }
        case let (.string, .stringData(a)?): return try wrap(a.data) { .string($0) }
        case (.json, .jsonData?): return try jsonColumn(col, n: n, name: name).map { $0.map { .json($0) } ?? .null }
        case (_, nil) where n == 0 || valid.count == n && !valid.contains(true): return Array(repeating: .null, count: n)
        default:
            throw MilvusError.insertData("field '\(name)' is \(type.rawValue) but was sent as another type")
        }
    }

    /// The text of a function's input field per row. Every row needs a non-empty text, as in
    /// Milvus ("any input field that the Function module embeds must always contain a value").
    static func texts(_ entities: [Entity], field: String, function: String) throws -> [String] {
        try entities.enumerated().map { r, e in
            guard case let .string(s)? = e.fields[field], !s.isEmpty else {
                throw MilvusError.insertData("row \(r): field '\(field)' is the input of embedding function '\(function)' and needs a non-empty text")
            }
            return s
        }
    }

    // MARK: output

    /// Which columns a query or search answers.
    struct OutputPlan {
        /// Declared fields to answer, in schema order (may include the primary key).
        var fields: [MVFieldSchema] = []
        /// Every dynamic key (`*` or `$meta` was asked).
        var allDynamic = false
        /// Named dynamic keys.
        var dynamicKeys: [String] = []
        /// Names for the response's `output_fields`.
        var names: [String] { fields.map(\.name) + (allDynamic ? ["$meta"] : dynamicKeys) }
        var wantsDynamic: Bool { allDynamic || !dynamicKeys.isEmpty }
        /// What to ask the store for.
        var storeFields: [String] {
            fields.filter { !$0.isPrimaryKey }.map(\.name) + (allDynamic ? ["*"] : dynamicKeys)
        }
    }

    /// Resolves output field names: `*` is every field and the dynamic field; a name not in the
    /// schema is a dynamic key when the dynamic field is on.
    static func plan(_ requested: [String], wire: MVCollectionSchema, schema: CollectionSchema, includePrimary: Bool) throws -> OutputPlan {
        var wanted = Set<String>()
        var plan = OutputPlan()
        let declared = wire.fields.filter { !$0.isDynamic }
        if includePrimary { wanted.insert(schema.primaryKey.name) }
        for raw in requested {
            let name = raw.trimmingCharacters(in: .whitespaces)
            if name.isEmpty { continue }
            if name == "*" {
                declared.forEach { wanted.insert($0.name) }
                if schema.enableDynamicField { plan.allDynamic = true }
            } else if name == "$meta" {
                guard schema.enableDynamicField else { throw MilvusError.invalid("field $meta not exist: the dynamic field is off") }
                plan.allDynamic = true
            } else if declared.contains(where: { $0.name == name }) {
                wanted.insert(name)
            } else if schema.enableDynamicField {
                if !plan.dynamicKeys.contains(name) { plan.dynamicKeys.append(name) }
            } else {
                throw MilvusError.invalid("field \(name) not exist (fields: \(declared.map(\.name).joined(separator: ", ")))")
            }
        }
        plan.fields = declared.filter { wanted.contains($0.name) }
        if plan.allDynamic { plan.dynamicKeys = [] }
        return plan
    }

    /// The columns of `rows` (id, scalar/dynamic fields, vectors) as the plan says.
    static func columns(_ plan: OutputPlan, schema: CollectionSchema,
                        rows: [(id: PrimaryKey, fields: [String: FieldValue], vectors: [String: [Float]])]) -> [MVFieldData] {
        var out: [MVFieldData] = []
        let declaredNames = Set([schema.primaryKey.name] + schema.vectorFields.map(\.name) + schema.scalarFields.map(\.name))
        for f in plan.fields {
            var col = MVFieldData()
            col.fieldName = f.name
            col.type = f.dataType
            col.fieldID = f.fieldID
            if f.isPrimaryKey {
                col.scalars = keyColumn(rows.map(\.id))
            } else if let v = schema.vectorFields.first(where: { $0.name == f.name }) {
                var vf = MVVectorField()
                vf.dim = Int64(v.dimension)
                var flat: [Float] = []
                flat.reserveCapacity(rows.count * v.dimension)
                for r in rows { flat += r.vectors[f.name] ?? [Float](repeating: 0, count: v.dimension) }
                if v.storage == .float16 {
                    vf.float16Vector = Half.bytes(flat)
                } else {
                    var a = MVFloatArray(); a.data = flat; vf.floatVector = a
                }
                col.vectors = vf
            } else {
                let nullable = schema.scalarFields.first { $0.name == f.name }?.nullable ?? false
                let values = rows.map { $0.fields[f.name] ?? .null }
                col.scalars = scalarColumn(values, type: f.dataType)
                if nullable { col.validData = values.map { $0 != .null } }
            }
            out.append(col)
        }
        if plan.wantsDynamic {
            var col = MVFieldData()
            col.fieldName = "$meta"
            col.type = MilvusDataType.json
            col.isDynamic = true
            var a = MVJSONArray()
            a.data = rows.map { r in
                var members: [(String, FieldValue)] = []
                if plan.allDynamic {
                    members = r.fields.filter { !declaredNames.contains($0.key) }.map { ($0.key, $0.value) }
                } else {
                    members = plan.dynamicKeys.compactMap { k in r.fields[k].map { (k, $0) } }
                }
                let text = "{" + members.sorted { $0.0 < $1.0 }.map { JSONText.string($0.0) + ": " + MilvusJSON.text($0.1) }
                    .joined(separator: ", ") + "}"
                return Data(text.utf8)
            }
            var s = MVScalarField(); s.jsonData = a
            col.scalars = s
            out.append(col)
        }
        return out
    }

    static func keyColumn(_ ids: [PrimaryKey]) -> MVScalarField {
        var s = MVScalarField()
        if case .string? = ids.first {
            var a = MVStringArray(); a.data = ids.map { $0.description }; s.stringData = a
        } else {
            var a = MVLongArray(); a.data = ids.map { if case let .int(i) = $0 { return i } else { return 0 } }; s.longData = a
        }
        return s
    }

    static func ids(_ keys: [PrimaryKey], type: PrimaryKeyType) -> MVIDs {
        var out = MVIDs()
        switch type {
        case .int64:
            var a = MVLongArray(); a.data = keys.map { if case let .int(i) = $0 { return i } else { return 0 } }; out.intID = a
        case .string:
            var a = MVStringArray(); a.data = keys.map(\.description); out.strID = a
        }
        return out
    }

    /// A scalar column of Milvus type `type` (nulls as zero values; `valid_data` marks them).
    static func scalarColumn(_ values: [FieldValue], type: Int32) -> MVScalarField {
        var s = MVScalarField()
        func int(_ v: FieldValue) -> Int64 {
            switch v { case let .int(i): return i; case let .double(d): return Int64(exactly: d) ?? 0; default: return 0 }
        }
        func double(_ v: FieldValue) -> Double {
            switch v { case let .double(d): return d; case let .int(i): return Double(i); default: return 0 }
        }
        switch type {
        case MilvusDataType.bool:
            var a = MVBoolArray(); a.data = values.map { if case let .bool(b) = $0 { return b } else { return false } }; s.boolData = a
        case MilvusDataType.int8, MilvusDataType.int16, MilvusDataType.int32:
            var a = MVIntArray(); a.data = values.map { Int32(truncatingIfNeeded: int($0)) }; s.intData = a
        case MilvusDataType.int64:
            var a = MVLongArray(); a.data = values.map(int); s.longData = a
        case MilvusDataType.float:
            var a = MVFloatArray(); a.data = values.map { Float(double($0)) }; s.floatData = a
        case MilvusDataType.double:
            var a = MVDoubleArray(); a.data = values.map(double); s.doubleData = a
        case MilvusDataType.varChar, MilvusDataType.string:
            var a = MVStringArray(); a.data = values.map { if case let .string(t) = $0 { return t } else { return "" } }; s.stringData = a
        default:
            var a = MVJSONArray()
            a.data = values.map { v in
                switch v {
                case .null: return Data("null".utf8)
                default: return Data(MilvusJSON.text(v).utf8)
                }
            }
            s.jsonData = a
        }
        return s
    }
}

/// IEEE half precision ↔ float, for Float16Vector data (little-endian, 2 bytes per value).
enum Half {
    static func floats(_ data: Data) -> [Float] {
        let bytes = [UInt8](data)
        return stride(from: 0, to: bytes.count - 1, by: 2).map { i in
            toFloat(UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8)
        }
    }

    static func bytes(_ values: [Float]) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(values.count * 2)
        for v in values { let h = fromFloat(v); out.append(UInt8(h & 0xff)); out.append(UInt8(h >> 8)) }
        return Data(out)
    }

    static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exp = Int((h >> 10) & 0x1f)
        let mant = UInt32(h & 0x3ff)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            let v = Float(mant) / 1024 * pow(2, -14)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | mant << 13)
    }

    static func fromFloat(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exp = Int((bits >> 23) & 0xff) - 127 + 15
        var mant = bits & 0x7f_ffff
        if (bits >> 23) & 0xff == 0xff { return sign | 0x7c00 | (mant != 0 ? 0x200 : 0) }
        if exp >= 31 { return sign | 0x7c00 }
        if exp <= 0 {
            if exp < -10 { return sign }
            mant |= 0x80_0000
            let shift = UInt32(14 - exp)
            var h = mant >> shift
            if (mant >> (shift - 1)) & 1 != 0 { h += 1 }
            return sign | UInt16(h)
        }
        var h = UInt32(sign) | UInt32(exp) << 10 | mant >> 13
        if mant & 0x1000 != 0 { h += 1 }  // round half up
        return UInt16(truncatingIfNeeded: h)
    }
}
