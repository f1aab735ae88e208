import Foundation
import QuiverMilvusWire
import QuiverStore

/// Milvus' `schema.DataType` numbers (wire facts).
enum MilvusDataType {
    static let bool: Int32 = 1, int8: Int32 = 2, int16: Int32 = 3, int32: Int32 = 4, int64: Int32 = 5
    static let float: Int32 = 10, double: Int32 = 11, string: Int32 = 20, varChar: Int32 = 21
    static let array: Int32 = 22, json: Int32 = 23
    static let binaryVector: Int32 = 100, floatVector: Int32 = 101, float16Vector: Int32 = 102
    static let bfloat16Vector: Int32 = 103, sparseFloatVector: Int32 = 104, int8Vector: Int32 = 105

    static func name(_ t: Int32) -> String {
        switch t {
        case 1: return "Bool"; case 2: return "Int8"; case 3: return "Int16"; case 4: return "Int32"; case 5: return "Int64"
        case 10: return "Float"; case 11: return "Double"; case 20: return "String"; case 21: return "VarChar"
        case 22: return "Array"; case 23: return "JSON"; case 100: return "BinaryVector"; case 101: return "FloatVector"
        case 102: return "Float16Vector"; case 103: return "BFloat16Vector"; case 104: return "SparseFloatVector"
        case 105: return "Int8Vector"
        default: return "DataType(\(t))"
        }
    }
}

/// Milvus' `schema.FunctionType` numbers.
enum MilvusFunctionType {
    static let bm25: Int32 = 1, textEmbedding: Int32 = 2
}

/// A TEXTEMBEDDING function of a collection: text of `input` is embedded by `model` into `output`.
struct EmbeddingFunction: Sendable {
    var name: String
    var input: String
    var output: String
    var model: String
}

/// Milvus' `CollectionSchema` message ↔ the store's ``CollectionSchema``.
enum MilvusWireSchema {
    static func param(_ kv: [MVKeyValuePair], _ key: String) -> String? { kv.first { $0.key == key }?.value }

    static func kv(_ key: String, _ value: String) -> MVKeyValuePair {
        var p = MVKeyValuePair(); p.key = key; p.value = value; return p
    }

    /// The store schema for a Milvus schema; vector fields bound to a model when a function fills
    /// them (`models`: output field → model), else raw. Metric is COSINE until an index sets it.
    /// - Throws: `MilvusError` 1100 naming the field for what Quiver cannot store.
    static func storeSchema(_ s: MVCollectionSchema, models: [String: EmbeddingModel]) throws -> CollectionSchema {
        var primary: PrimaryKeyField?
        var vectors: [VectorField] = []
        var scalars: [ScalarField] = []
        for (i, f) in s.fields.enumerated() where !f.isDynamic {
            let what = "schema.fields[\(i)] '\(f.name)'"
            if f.isPrimaryKey {
                guard primary == nil else {
                    throw MilvusError.invalid("there are more than one primary key: \(what) and '\(primary!.name)'")
                }
                switch f.dataType {
                case MilvusDataType.int64: primary = PrimaryKeyField(name: f.name, type: .int64, autoID: f.autoID || s.autoID)
                case MilvusDataType.varChar:
                    if f.autoID || s.autoID { throw MilvusError.invalid("autoID needs an Int64 primary key; \(what) is VarChar") }
                    primary = PrimaryKeyField(name: f.name, type: .string, autoID: false)
                default:
                    throw MilvusError.invalid("the data type of primary key should be Int64 or VarChar: \(what) is \(MilvusDataType.name(f.dataType))")
                }
                continue
            }
            switch f.dataType {
            case MilvusDataType.floatVector, MilvusDataType.float16Vector:
                guard let dimText = param(f.typeParams, "dim") else {
                    throw MilvusError.invalid("dimension is not defined in field type params of \(what); give dim=N")
                }
                guard let dim = Int(dimText), dim > 0 else { throw MilvusError.invalid("dim of \(what) must be a positive integer", actual: dimText) }
                vectors.append(VectorField(name: f.name, dimension: dim, metric: .cosine,
                                           storage: f.dataType == MilvusDataType.float16Vector ? .float16 : .float32,
                                           model: models[f.name]))
            case MilvusDataType.bool, MilvusDataType.int8, MilvusDataType.int16, MilvusDataType.int32, MilvusDataType.int64,
                 MilvusDataType.float, MilvusDataType.double, MilvusDataType.string, MilvusDataType.varChar, MilvusDataType.json:
                let type = scalarType(f.dataType)!
                var maxLength: Int?
                if let text = param(f.typeParams, "max_length") {
                    guard let m = Int(text), m > 0 else { throw MilvusError.invalid("max_length of \(what) must be a positive integer", actual: text) }
                    maxLength = m
                }
                let defaultValue: FieldValue? = f.hasDefaultValue ? try value(f.defaultValue, type: type, what: what) : nil
                scalars.append(ScalarField(name: f.name, type: type, nullable: f.nullable, defaultValue: defaultValue, maxLength: maxLength))
            default:
                throw MilvusError.invalid("\(what): data type \(MilvusDataType.name(f.dataType)) is not supported by Quiver "
                                          + "(Bool, Int8/16/32/64, Float, Double, VarChar, JSON, FloatVector, Float16Vector)")
            }
        }
        guard let primary else {
            throw MilvusError.invalid("schema does not contain primary key field; mark one Int64 or VarChar field is_primary=True")
        }
        guard !vectors.isEmpty else {
            throw MilvusError.invalid("schema does not contain vector field: add a FloatVector field (Quiver needs one)")
        }
        return CollectionSchema(primaryKey: primary, vectorFields: vectors, scalarFields: scalars,
                                enableDynamicField: s.enableDynamicField, description: s.description_p)
    }

    static func scalarType(_ t: Int32) -> ScalarType? {
        switch t {
        case MilvusDataType.bool: return .bool
        case MilvusDataType.int8, MilvusDataType.int16, MilvusDataType.int32, MilvusDataType.int64: return .int64
        case MilvusDataType.float, MilvusDataType.double: return .double
        case MilvusDataType.string, MilvusDataType.varChar: return .string
        case MilvusDataType.json: return .json
        default: return nil
        }
    }

    static func value(_ v: MVValueField, type: ScalarType, what: String) throws -> FieldValue {
        switch (v.data, type) {
        case (nil, _): return .null
        case let (.boolData(b)?, .bool): return .bool(b)
        case let (.intData(i)?, .int64): return .int(Int64(i))
        case let (.longData(i)?, .int64): return .int(i)
        case let (.floatData(x)?, .double): return .double(Double(x))
        case let (.doubleData(x)?, .double): return .double(x)
        case let (.stringData(s)?, .string): return .string(s)
        case let (.bytesData(b)?, .json):
            return .json((try? JSONDecoder().decode(JSONValue.self, from: b)) ?? .null)
        default: throw MilvusError.invalid("default value of \(what) does not fit its type \(type.rawValue)")
        }
    }

    /// The Milvus data type a store field is described with (the client's when known).
    static func wireType(_ t: ScalarType) -> Int32 {
        switch t {
        case .int64: return MilvusDataType.int64
        case .double: return MilvusDataType.double
        case .bool: return MilvusDataType.bool
        case .string: return MilvusDataType.varChar
        case .json: return MilvusDataType.json
        }
    }

    /// The Milvus schema describing a store collection (used when no client schema is kept).
    static func describe(_ s: CollectionSchema, name: String) -> MVCollectionSchema {
        var out = MVCollectionSchema()
        out.name = name
        out.description_p = s.description
        out.autoID = s.primaryKey.autoID
        out.enableDynamicField = s.enableDynamicField
        var pk = MVFieldSchema()
        pk.name = s.primaryKey.name
        pk.isPrimaryKey = true
        pk.autoID = s.primaryKey.autoID
        pk.dataType = s.primaryKey.type == .int64 ? MilvusDataType.int64 : MilvusDataType.varChar
        if s.primaryKey.type == .string { pk.typeParams = [kv("max_length", "65535")] }
        out.fields.append(pk)
        for f in s.scalarFields {
            var m = MVFieldSchema()
            m.name = f.name
            m.dataType = wireType(f.type)
            m.nullable = f.nullable
            if f.type == .string { m.typeParams = [kv("max_length", String(f.maxLength ?? 65535))] }
            if let d = f.defaultValue { m.defaultValue = wireValue(d) }
            out.fields.append(m)
        }
        for v in s.vectorFields {
            var m = MVFieldSchema()
            m.name = v.name
            m.dataType = v.storage == .float16 ? MilvusDataType.float16Vector : MilvusDataType.floatVector
            m.typeParams = [kv("dim", String(v.dimension))]
            out.fields.append(m)
        }
        return out
    }

    static func wireValue(_ v: FieldValue) -> MVValueField {
        var out = MVValueField()
        switch v {
        case .null: break
        case let .bool(b): out.boolData = b
        case let .int(i): out.longData = i
        case let .double(d): out.doubleData = d
        case let .string(s): out.stringData = s
        case let .json(j): out.bytesData = Data(MilvusJSON.text(j).utf8)
        }
        return out
    }

    /// The TEXTEMBEDDING functions of a schema, checked: one VarChar input, one FloatVector
    /// output of the schema each, and a model name. BM25 and other function types are refused.
    static func embeddingFunctions(_ s: MVCollectionSchema) throws -> [EmbeddingFunction] {
        var out: [EmbeddingFunction] = []
        for (i, fn) in s.functions.enumerated() {
            let what = "function '\(fn.name.isEmpty ? "functions[\(i)]" : fn.name)'"
            switch fn.type {
            case MilvusFunctionType.textEmbedding: break
            case MilvusFunctionType.bm25:
                throw MilvusError.invalid("\(what): BM25 functions are not supported by Quiver's Milvus endpoint yet; "
                                          + "use a TEXTEMBEDDING function (params model_name=a Quiver model) or insert sparse vectors elsewhere")
            default:
                throw MilvusError.invalid("\(what): function type \(fn.type) is not supported by Quiver (TEXTEMBEDDING only)")
            }
            guard fn.inputFieldNames.count == 1, fn.outputFieldNames.count == 1 else {
                throw MilvusError.invalid("\(what): a TEXTEMBEDDING function takes one input field and one output field, got "
                                          + "\(fn.inputFieldNames.count) and \(fn.outputFieldNames.count)")
            }
            let input = fn.inputFieldNames[0], output = fn.outputFieldNames[0]
            guard let inField = s.fields.first(where: { $0.name == input }) else {
                throw MilvusError.invalid("\(what): input field '\(input)' is not in the schema")
            }
            guard inField.dataType == MilvusDataType.varChar else {
                throw MilvusError.invalid("\(what): input field '\(input)' is \(MilvusDataType.name(inField.dataType)); it must be VarChar")
            }
            guard let outField = s.fields.first(where: { $0.name == output }) else {
                throw MilvusError.invalid("\(what): output field '\(output)' is not in the schema")
            }
            guard outField.dataType == MilvusDataType.floatVector else {
                throw MilvusError.invalid("\(what): output field '\(output)' is \(MilvusDataType.name(outField.dataType)); Quiver embeds into FloatVector fields")
            }
            guard let model = param(fn.params, "model_name") ?? param(fn.params, "model"), !model.isEmpty else {
                throw MilvusError.invalid("\(what): params.model_name is required: name the Quiver model that embeds '\(input)', "
                                          + "e.g. model_name=all-MiniLM-L6-v2 (see `quiver models list`)")
            }
            if out.contains(where: { $0.output == output }) {
                throw MilvusError.invalid("\(what): output field '\(output)' is already filled by another function")
            }
            out.append(EmbeddingFunction(name: fn.name, input: input, output: output, model: model))
        }
        return out
    }
}
