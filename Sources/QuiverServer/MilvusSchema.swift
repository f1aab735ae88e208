import Foundation
import QuiverStore

/// `collections/create` and `collections/describe` bodies ↔ the store's schema, as Milvus'
/// RESTful API v2 writes them (request struct `CollectionReq`, handler `createCollection` /
/// `getCollectionDetails` in milvus-io/milvus internal/distributed/proxy/httpserver).
enum MilvusSchema {
    /// What `collections/create` asks for: a schema and the indexes to build.
    struct Creation {
        var schema: CollectionSchema
        var indexes: [(field: String, kind: IndexKind, params: [String: Double])]
    }

    /// Every `dataType` name Milvus knows (case-sensitive, as in its protobuf enum); the ones
    /// Quiver stores are mapped in `scalarType` / the vector cases.
    static let milvusDataTypes: Set<String> = [
        "None", "Bool", "Int8", "Int16", "Int32", "Int64", "Float", "Double", "String", "VarChar", "Array", "JSON",
        "Geometry", "Text", "Timestamptz", "BinaryVector", "FloatVector", "Float16Vector", "BFloat16Vector",
        "SparseFloatVector", "Int8Vector", "ArrayOfVector", "ArrayOfStruct", "Struct",
    ]

    static let consistencyLevels = ["Strong", "Session", "Bounded", "Eventually", "Customized"]

    /// Parses a create request: quick setup (`dimension`, `metricType`, `idType`, `autoID`,
    /// `primaryFieldName`, `vectorFieldName`, `params`) when `schema.fields` is absent or empty,
    /// else a custom `schema` with `fields` and `indexParams`.
    static func creation(_ body: MilvusRequest) throws -> Creation {
        let params = try body.nested("params") ?? MilvusRequest([:], path: "params")
        if let level = params.text("consistencyLevel"), !consistencyLevels.contains(level) {
            throw MilvusError.invalid("consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], default: Bounded",
                                      expected: "Strong, Session, Bounded, Eventually, Customized", actual: level)
        }
        let schema = try body.nested("schema")
        let fields = try schema.map { s -> [Any] in
            guard let v = s.value("fields") else { return [] }
            guard let list = v as? [Any] else { throw MilvusError.format("'schema.fields' must be an array of field objects, got \(JSONBody.typeName(v))") }
            return list
        } ?? []
        var creation: Creation
        if let schema, !fields.isEmpty {
            creation = try custom(schema, fields: fields, indexParams: body.value("indexParams"))
        } else {
            creation = try quick(body, params: params)
        }
        creation.schema.description = try body.string("description") ?? ""
        return creation
    }

    /// Quick setup: an id field and one FloatVector field, indexed with `metricType` (default
    /// COSINE) and loaded; the dynamic field is on unless `params.enableDynamicField` is false.
    static func quick(_ body: MilvusRequest, params: MilvusRequest) throws -> Creation {
        let dimension = try body.int("dimension") ?? 0
        guard dimension > 0 else {
            throw MilvusError.invalid("dimension is required for quickly create collection(default metric type: COSINE); "
                                      + "give \"dimension\": N, or a \"schema\" with \"fields\"",
                                      expected: "collectionName & dimension", actual: dimension == 0 ? "collectionName" : "dimension=\(dimension)")
        }
        let metric = try metricValue(try body.string("metricType").flatMap { $0.isEmpty ? nil : $0 } ?? "COSINE", what: "metricType")
        let idType: PrimaryKeyType
        switch try body.string("idType") ?? "" {
        case "", "Int64", "int64": idType = .int64
        case "VarChar", "Varchar": idType = .string
        case let other:
            throw MilvusError.invalid("idType can only be [Int64, VarChar], default: Int64", expected: "Int64, Varchar", actual: other)
        }
        let autoID = try body.bool("autoID") ?? false
        if autoID && idType == .string {
            throw MilvusError.invalid("autoID needs an Int64 primary key; a VarChar key is given by the client",
                                      expected: "idType Int64 with autoID", actual: "VarChar")
        }
        var dynamic = true
        if let text = params.text("enableDynamicField") {
            guard let b = Bool(text.lowercased()) else {
                throw MilvusError.invalid("parse enableDynamicField fail: params.enableDynamicField must be true or false", actual: text)
            }
            dynamic = b
        }
        let pkName = try body.string("primaryFieldName").flatMap { $0.isEmpty ? nil : $0 } ?? "id"
        let vecName = try body.string("vectorFieldName").flatMap { $0.isEmpty ? nil : $0 } ?? "vector"
        let schema = CollectionSchema(
            primaryKey: PrimaryKeyField(name: pkName, type: idType, autoID: autoID),
            vectorFields: [VectorField(name: vecName, dimension: dimension, metric: metric)],
            scalarFields: [], enableDynamicField: dynamic)
        return Creation(schema: schema, indexes: [])
    }

    /// Custom setup: `schema.fields` (fieldName, dataType, isPrimary, elementTypeParams {dim,
    /// max_length}, nullable, defaultValue), `schema.autoID`, `schema.enableDynamicField`
    /// (default false, as a Go zero value), and `indexParams` (fieldName, indexName, metricType,
    /// indexType or params.index_type, params {M, efConstruction, nlist}).
    static func custom(_ schema: MilvusRequest, fields: [Any], indexParams: Any?) throws -> Creation {
        let autoID = try schema.bool("autoID") ?? false
        let dynamic = try schema.bool("enableDynamicField") ?? false
        var primary: PrimaryKeyField?
        var vectors: [VectorField] = []
        var scalars: [ScalarField] = []
        for (i, raw) in fields.enumerated() {
            guard let object = raw as? [String: Any] else {
                throw MilvusError.format("'schema.fields[\(i)]' must be an object, got \(JSONBody.typeName(raw))")
            }
            let f = MilvusRequest(object, path: "schema.fields[\(i)]")
            let name = try f.required("fieldName", hint: "every field needs a name")
            let type = try f.required("dataType", hint: "field '\(name)' needs a dataType such as Int64, VarChar or FloatVector")
            guard milvusDataTypes.contains(type) else {
                throw MilvusError.invalid("data type \(type) is invalid(case sensitive): schema.fields[\(i)] (\(name))")
            }
            let params = try f.nested("elementTypeParams") ?? MilvusRequest([:], path: f.name("elementTypeParams"))
            if try f.bool("isPrimary") ?? false {
                guard primary == nil else {
                    throw MilvusError.invalid("there are more than one primary key: schema.fields[\(i)] (\(name)) and '\(primary!.name)'")
                }
                switch type {
                case "Int64": primary = PrimaryKeyField(name: name, type: .int64, autoID: autoID)
                case "VarChar":
                    if autoID { throw MilvusError.invalid("autoID needs an Int64 primary key; '\(name)' is VarChar") }
                    primary = PrimaryKeyField(name: name, type: .string, autoID: false)
                default:
                    throw MilvusError.invalid("the data type of primary key should be Int64 or VarChar: schema.fields[\(i)] (\(name)) is \(type)")
                }
                continue
            }
            switch type {
            case "FloatVector", "Float16Vector":
                guard let dimText = params.text("dim") else {
                    throw MilvusError.invalid("dimension is not defined in field type params of '\(name)'; add \"elementTypeParams\": {\"dim\": N}")
                }
                guard let dim = Int(dimText), dim > 0 else {
                    throw MilvusError.invalid("elementTypeParams.dim of '\(name)' must be a positive integer", actual: dimText)
                }
                vectors.append(VectorField(name: name, dimension: dim, metric: .cosine,
                                           storage: type == "Float16Vector" ? .float16 : .float32))
            default:
                guard let scalar = scalarType(type) else {
                    throw MilvusError.invalid("schema.fields[\(i)] (\(name)): dataType \(type) is not supported by Quiver "
                                              + "(Int8/16/32/64, Float, Double, Bool, VarChar, JSON, FloatVector, Float16Vector)")
                }
                let defaultValue = try f.value("defaultValue").map { v -> FieldValue in
                    do { return try MilvusJSON.fieldValue(v, type: scalar, field: name, row: 0) } catch {
                        throw MilvusError.invalid("convert defaultValue fail: schema.fields[\(i)] (\(name)).defaultValue must be \(scalar.rawValue), got \(JSONBody.typeName(v))")
                    }
                }
                var maxLength: Int?
                if let text = params.text("max_length") {
                    guard let m = Int(text), m > 0 else {
                        throw MilvusError.invalid("elementTypeParams.max_length of '\(name)' must be a positive integer", actual: text)
                    }
                    maxLength = m
                }
                scalars.append(ScalarField(name: name, type: scalar, nullable: try f.bool("nullable") ?? false,
                                           defaultValue: defaultValue, maxLength: maxLength))
            }
        }
        guard let primary else {
            throw MilvusError.invalid("schema does not contain primary key field; mark one Int64 or VarChar field \"isPrimary\": true")
        }
        let known = Set([primary.name] + vectors.map(\.name) + scalars.map(\.name))
        let indexes = try indexList(indexParams, known: known, vectors: &vectors)
        return Creation(schema: CollectionSchema(primaryKey: primary, vectorFields: vectors, scalarFields: scalars,
                                                 enableDynamicField: dynamic),
                        indexes: indexes)
    }

    /// `indexParams`: sets the metric of each vector field and lists the vector indexes to build.
    /// Scalar indexes (STL_SORT, INVERTED, TRIE...) are accepted and not built: Quiver filters by
    /// scanning.
    static func indexList(_ raw: Any?, known: Set<String>, vectors: inout [VectorField])
        throws -> [(field: String, kind: IndexKind, params: [String: Double])] {
        guard let raw, !(raw is NSNull) else { return [] }
        guard let list = raw as? [Any] else { throw MilvusError.format("'indexParams' must be an array of objects, got \(JSONBody.typeName(raw))") }
        var out: [(field: String, kind: IndexKind, params: [String: Double])] = []
        for (i, item) in list.enumerated() {
            guard let object = item as? [String: Any] else {
                throw MilvusError.format("'indexParams[\(i)]' must be an object, got \(JSONBody.typeName(item))")
            }
            let p = MilvusRequest(object, path: "indexParams[\(i)]")
            let field = try p.required("fieldName", hint: "name the field to index")
            guard known.contains(field) else {
                throw MilvusError.missing(p.name("fieldName"), "`\(field)` hasn't defined in schema")
            }
            let params = try p.nested("params") ?? MilvusRequest([:])
            var type = (try p.string("indexType") ?? "").uppercased()
            if type.isEmpty { type = (params.text("index_type") ?? "AUTOINDEX").uppercased() }
            guard let vi = vectors.firstIndex(where: { $0.name == field }) else { continue }
            if let m = try p.string("metricType"), !m.isEmpty {
                vectors[vi].metric = try metricValue(m, what: p.name("metricType"))
            }
            if type == "AUTOINDEX" { continue }
            guard let kind = IndexKind(rawValue: type) else {
                throw MilvusError.invalid("index type \(type) of '\(field)' is not supported by Quiver (AUTOINDEX, FLAT, HNSW, IVF_FLAT, IVF_SQ8)",
                                          expected: "AUTOINDEX, FLAT, HNSW, IVF_FLAT, IVF_SQ8", actual: type)
            }
            var build: [String: Double] = [:]
            for (k, v) in params.object where k != "index_type" && k != "metric_type" {
                if let n = v as? NSNumber, !isJSONBoolean(n) { build[k] = n.doubleValue }
                else if let s = v as? String, let d = Double(s) { build[k] = d }
                else { throw MilvusError.invalid("index parameter \(p.name("params")).\(k) must be a number", actual: "\(v)") }
            }
            out.append((field, kind, build))
        }
        return out
    }

    static func scalarType(_ milvus: String) -> ScalarType? {
        switch milvus {
        case "Int64", "Int32", "Int16", "Int8": return .int64
        case "Float", "Double": return .double
        case "Bool": return .bool
        case "VarChar", "String": return .string
        case "JSON": return .json
        default: return nil
        }
    }

    static func metricValue(_ s: String, what: String) throws -> Metric {
        guard let m = Metric(rawValue: s.uppercased()) else {
            throw MilvusError.invalid("float vector index does not support metric type: \(s) (\(what) is COSINE, IP or L2)",
                                      expected: "valid index params", actual: "invalid index params")
        }
        return m
    }

    /// A stable positive id for a collection name (Milvus returns a numeric `collectionID`; Quiver
    /// names collections by name only): FNV-1a of the name, 53 bits so JSON numbers keep it exact.
    static func collectionID(_ name: String) -> Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int64(h & ((1 << 53) - 1))
    }

    /// The `collections/describe` data object, with Milvus' keys: fields carry `id` (from 100, as
    /// Milvus numbers user fields), `name`, `type`, `primaryKey`, `partitionKey`, `clusteringKey`,
    /// `autoId`, `nullable`, `description` and `params` ([{key, value}]); indexes carry
    /// `fieldName`, `indexName` and `metricType`.
    static func describe(_ info: CollectionInfo) -> String {
        let s = info.schema
        func field(_ id: Int, _ name: String, _ type: String, primary: Bool = false, autoID: Bool = false,
                   nullable: Bool = false, params: [(String, String)] = [], defaultValue: FieldValue? = nil) -> String {
            var m = "{\"autoId\": \(autoID), \"clusteringKey\": false, \"description\": \"\", \"id\": \(id), "
                + "\"name\": \(JSONText.string(name)), \"nullable\": \(nullable), \"partitionKey\": false, \"primaryKey\": \(primary), "
                + "\"type\": \"\(type)\""
            if !params.isEmpty {
                m += ", \"params\": [" + params.map { "{\"key\": \(JSONText.string($0.0)), \"value\": \(JSONText.string($0.1))}" }
                    .joined(separator: ", ") + "]"
            }
            if let defaultValue { m += ", \"defaultValue\": " + MilvusJSON.text(defaultValue) }
            return m + "}"
        }
        var fields: [String] = []
        var id = 100
        fields.append(field(id, s.primaryKey.name, s.primaryKey.type.rawValue, primary: true, autoID: s.primaryKey.autoID))
        for v in s.vectorFields {
            id += 1
            fields.append(field(id, v.name, v.storage.rawValue, params: [("dim", String(v.dimension))]))
        }
        for f in s.scalarFields {
            id += 1
            fields.append(field(id, f.name, f.type.rawValue, nullable: f.nullable,
                                params: f.maxLength.map { [("max_length", String($0))] } ?? [], defaultValue: f.defaultValue))
        }
        let indexes = s.vectorFields.map { v in
            "{\"fieldName\": \(JSONText.string(v.name)), \"indexName\": \(JSONText.string(v.name)), \"metricType\": \"\(v.metric.rawValue)\"}"
        }
        return "{\"aliases\": [], \"autoId\": \(s.primaryKey.autoID), \"collectionID\": \(collectionID(info.name)), "
            + "\"collectionName\": \(JSONText.string(info.name)), \"consistencyLevel\": \"Strong\", "
            + "\"description\": \(JSONText.string(s.description)), \"enableDynamicField\": \(s.enableDynamicField), "
            + "\"fields\": [\(fields.joined(separator: ", "))], \"functions\": [], \"indexes\": [\(indexes.joined(separator: ", "))], "
            + "\"load\": \"LoadStateLoaded\", \"partitionsNum\": 1, \"properties\": [], \"shardsNum\": 1}"
    }
}
