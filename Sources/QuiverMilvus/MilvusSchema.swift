import Foundation
import QuiverMilvusWire
import QuiverStore

/// Milvus data type numbers (`schema.DataType`).
enum MilvusType {
    static let bool: Int32 = 1, int8: Int32 = 2, int16: Int32 = 3, int32: Int32 = 4, int64: Int32 = 5
    static let float: Int32 = 10, double: Int32 = 11, varChar: Int32 = 21, array: Int32 = 22, json: Int32 = 23
    static let floatVector: Int32 = 101, float16Vector: Int32 = 102

    static func name(_ t: Int32) -> String {
        switch t {
        case bool: return "Bool"; case int8: return "Int8"; case int16: return "Int16"; case int32: return "Int32"
        case int64: return "Int64"; case float: return "Float"; case double: return "Double"; case varChar: return "VarChar"
        case array: return "Array"; case json: return "JSON"; case floatVector: return "FloatVector"
        case float16Vector: return "Float16Vector"; case 100: return "BinaryVector"; case 103: return "BFloat16Vector"
        case 104: return "SparseFloatVector"
        default: return "type \(t)"
        }
    }
}

/// How a Quiver schema travels to Milvus and back.
///
/// The Milvus schema carries what Milvus needs (types, dimensions, lengths, primary key,
/// dynamic field). The whole Quiver schema (with each vector field's model binding and metric,
/// nullability, defaults and the description) is stored as JSON in the collection property
/// `quiver.schema`: collection properties survive on Milvus Lite 3.2 and Milvus 2.3 alike, while
/// Lite drops field and collection descriptions.
enum MilvusSchemaCodec {
    /// The collection property holding the Quiver schema as JSON.
    static let propertyKey = "quiver.schema"
    /// VarChar length used when the schema gives none (Milvus' maximum).
    static let defaultMaxLength = 65535

    static func kv(_ k: String, _ v: String) -> MVKeyValuePair {
        var p = MVKeyValuePair(); p.key = k; p.value = v; return p
    }

    /// The Milvus schema for a Quiver schema.
    static func wireSchema(_ s: CollectionSchema, name: String) -> MVCollectionSchema {
        var w = MVCollectionSchema()
        w.name = name
        w.description_p = s.description
        w.enableDynamicField = s.enableDynamicField
        w.autoID = s.primaryKey.autoID
        var pk = MVFieldSchema()
        pk.name = s.primaryKey.name
        pk.isPrimaryKey = true
        pk.autoID = s.primaryKey.autoID
        pk.dataType = s.primaryKey.type == .int64 ? MilvusType.int64 : MilvusType.varChar
        if s.primaryKey.type == .string { pk.typeParams = [kv("max_length", String(defaultMaxLength))] }
        w.fields.append(pk)
        for v in s.vectorFields {
            var f = MVFieldSchema()
            f.name = v.name
            f.dataType = v.storage == .float16 ? MilvusType.float16Vector : MilvusType.floatVector
            f.typeParams = [kv("dim", String(v.dimension))]
            f.description_p = "model \(v.model.id) (\(v.dimension)-d), metric \(v.metric.rawValue)"
            w.fields.append(f)
        }
        for sc in s.scalarFields {
            var f = MVFieldSchema()
            f.name = sc.name
            switch sc.type {
            case .int64: f.dataType = MilvusType.int64
            case .double: f.dataType = MilvusType.double
            case .bool: f.dataType = MilvusType.bool
            case .string:
                f.dataType = MilvusType.varChar
                f.typeParams = [kv("max_length", String(sc.maxLength ?? defaultMaxLength))]
            case .json: f.dataType = MilvusType.json
            }
            // Nullability and defaults are also applied by Quiver before sending (Milvus 2.3
            // knows neither), so these only matter to other clients of newer servers.
            if sc.nullable { f.nullable = true }
            if let d = sc.defaultValue, let v = valueField(d) { f.defaultValue = v }
            w.fields.append(f)
        }
        return w
    }

    static func valueField(_ v: FieldValue) -> MVValueField? {
        var f = MVValueField()
        switch v {
        case let .bool(b): f.boolData = b
        case let .int(i): f.longData = i
        case let .double(d): f.doubleData = d
        case let .string(s): f.stringData = s
        default: return nil
        }
        return f
    }

    /// The stored Quiver schema, if the collection has one.
    static func storedSchema(_ properties: [MVKeyValuePair]) -> CollectionSchema? {
        guard let p = properties.first(where: { $0.key == propertyKey }), let d = p.value.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(CollectionSchema.self, from: d)
    }

    static func encodeSchema(_ s: CollectionSchema) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(s), as: UTF8.self)
    }

    /// A Quiver schema for a collection Quiver did not make: vector fields bound to raw vectors
    /// (model `none`), metrics from the indexes (COSINE where there is none).
    static func foreignSchema(_ w: MVCollectionSchema, metrics: [String: Metric]) -> CollectionSchema {
        var pk = PrimaryKeyField(name: "id", type: .int64, autoID: w.autoID)
        var vectors: [VectorField] = []
        var scalars: [ScalarField] = []
        for f in w.fields where !f.isDynamic && f.name != "$meta" {
            let params = Dictionary(f.typeParams.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            if f.isPrimaryKey {
                pk = PrimaryKeyField(name: f.name, type: f.dataType == MilvusType.varChar ? .string : .int64, autoID: f.autoID || w.autoID)
                continue
            }
            switch f.dataType {
            case MilvusType.floatVector, MilvusType.float16Vector:
                let dim = Int(params["dim"] ?? "") ?? 0
                vectors.append(VectorField(name: f.name, dimension: dim, metric: metrics[f.name] ?? .cosine,
                                           storage: f.dataType == MilvusType.float16Vector ? .float16 : .float32))
            case MilvusType.bool: scalars.append(ScalarField(name: f.name, type: .bool, nullable: f.nullable))
            case MilvusType.int8, MilvusType.int16, MilvusType.int32, MilvusType.int64:
                scalars.append(ScalarField(name: f.name, type: .int64, nullable: f.nullable))
            case MilvusType.float, MilvusType.double: scalars.append(ScalarField(name: f.name, type: .double, nullable: f.nullable))
            case MilvusType.varChar:
                scalars.append(ScalarField(name: f.name, type: .string, nullable: f.nullable, maxLength: Int(params["max_length"] ?? "")))
            default:
                // JSON, arrays and anything else are read as JSON values.
                scalars.append(ScalarField(name: f.name, type: .json, nullable: f.nullable))
            }
        }
        let note = "made outside Quiver: no model binding, vectors are raw (model none)"
        return CollectionSchema(primaryKey: pk, vectorFields: vectors, scalarFields: scalars,
                                enableDynamicField: w.enableDynamicField,
                                description: w.description_p.isEmpty ? note : w.description_p + " (" + note + ")")
    }
}
