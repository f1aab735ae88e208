import Foundation
import QuiverStore

/// `collections/create` and `collections/describe` bodies ↔ the store's schema, as Milvus'
/// RESTful API v2 writes them.
enum MilvusSchema {
    /// What `collections/create` asks for: a schema and the indexes to build.
    struct Creation {
        var schema: CollectionSchema
        var indexes: [(field: String, kind: IndexKind, params: [String: Double])]
    }

    /// Parses a create request: quick setup (`dimension`, `metricType`, `idType`, `autoID`,
    /// `primaryFieldName`, `vectorFieldName`) or a custom `schema` with `fields` and `indexParams`.
    static func creation(_ body: JSONBody) throws -> Creation {
        if let schema = body.object["schema"] as? [String: Any] {
            return try custom(schema, indexParams: body.object["indexParams"])
        }
        if body.has("schema") { throw MilvusError.invalid("'schema' must be an object with 'fields'") }
        guard let dimension = try intValue(body.object["dimension"], what: "dimension") else {
            throw MilvusError.invalid("give 'dimension' (quick setup) or 'schema' with 'fields' (custom setup)")
        }
        let metric = try metricValue(body.object["metricType"] ?? "COSINE")
        let idType: PrimaryKeyType
        switch (body.object["idType"] as? String) ?? "Int64" {
        case "Int64": idType = .int64
        case "VarChar", "String": idType = .string
        case let other: throw MilvusError.invalid("'idType' must be Int64 or VarChar, got \(other)")
        }
        let autoID = (body.object["autoID"] as? Bool) ?? (body.object["autoId"] as? Bool) ?? false
        let pkName = (body.object["primaryFieldName"] as? String) ?? "id"
        let vecName = (body.object["vectorFieldName"] as? String) ?? "vector"
        let schema = CollectionSchema(
            primaryKey: PrimaryKeyField(name: pkName, type: idType, autoID: autoID),
            vectorFields: [VectorField(name: vecName, dimension: dimension, metric: metric)],
            scalarFields: [], enableDynamicField: true)
        return Creation(schema: schema, indexes: [])
    }

    static func custom(_ schema: [String: Any], indexParams: Any?) throws -> Creation {
        guard let fields = schema["fields"] as? [[String: Any]], !fields.isEmpty else {
            throw MilvusError.invalid("'schema.fields' must be a non-empty array of field objects")
        }
        let autoID = (schema["autoId"] as? Bool) ?? (schema["autoID"] as? Bool) ?? false
        let dynamic = (schema["enableDynamicField"] as? Bool) ?? (schema["enabledDynamicField"] as? Bool) ?? true
        // Metric and index per vector field come from indexParams.
        var metrics: [String: Metric] = [:]
        var indexes: [(field: String, kind: IndexKind, params: [String: Double])] = []
        if let list = indexParams as? [[String: Any]] {
            for (i, p) in list.enumerated() {
                guard let field = p["fieldName"] as? String else { throw MilvusError.invalid("indexParams[\(i)].fieldName is missing") }
                if let m = p["metricType"] { metrics[field] = try metricValue(m) }
                let type = (p["indexType"] as? String ?? "AUTOINDEX").uppercased()
                var params: [String: Double] = [:]
                for (k, v) in (p["params"] as? [String: Any]) ?? [:] {
                    if let n = v as? NSNumber, !isJSONBoolean(n) { params[k] = n.doubleValue }
                    else if let s = v as? String, let d = Double(s) { params[k] = d }
                }
                if type == "AUTOINDEX" || type == "STL_SORT" || type == "INVERTED" || type == "TRIE" { continue }
                guard let kind = IndexKind(rawValue: type) else {
                    throw MilvusError.invalid("indexParams[\(i)].indexType \(type) is not supported (AUTOINDEX, FLAT, HNSW, IVF_FLAT, IVF_SQ8)")
                }
                indexes.append((field, kind, params))
            }
        } else if indexParams != nil, !(indexParams is NSNull) {
            throw MilvusError.invalid("'indexParams' must be an array of objects")
        }
        var primary: PrimaryKeyField?
        var vectors: [VectorField] = []
        var scalars: [ScalarField] = []
        for (i, f) in fields.enumerated() {
            guard let name = f["fieldName"] as? String else { throw MilvusError.invalid("schema.fields[\(i)].fieldName is missing") }
            guard let type = f["dataType"] as? String else { throw MilvusError.invalid("schema.fields[\(i)] (\(name)): dataType is missing") }
            let params = (f["elementTypeParams"] as? [String: Any]) ?? [:]
            let isPrimary = (f["isPrimary"] as? Bool) ?? false
            if isPrimary {
                guard primary == nil else { throw MilvusError.invalid("schema.fields[\(i)] (\(name)): a collection has one primary field") }
                switch type {
                case "Int64": primary = PrimaryKeyField(name: name, type: .int64, autoID: autoID)
                case "VarChar": primary = PrimaryKeyField(name: name, type: .string, autoID: autoID)
                default: throw MilvusError.invalid("schema.fields[\(i)] (\(name)): a primary field is Int64 or VarChar, not \(type)")
                }
                continue
            }
            switch type {
            case "FloatVector", "Float16Vector":
                guard let dim = try intValue(params["dim"], what: "schema.fields[\(i)] (\(name)).elementTypeParams.dim") else {
                    throw MilvusError.invalid("schema.fields[\(i)] (\(name)): a vector field needs elementTypeParams.dim")
                }
                vectors.append(VectorField(name: name, dimension: dim, metric: metrics[name] ?? .cosine,
                                           storage: type == "Float16Vector" ? .float16 : .float32))
            default:
                let scalar: ScalarType
                switch type {
                case "Int64", "Int32", "Int16", "Int8": scalar = .int64
                case "Float", "Double": scalar = .double
                case "Bool": scalar = .bool
                case "VarChar", "String": scalar = .string
                case "JSON": scalar = .json
                default:
                    throw MilvusError.invalid("schema.fields[\(i)] (\(name)): dataType \(type) is not supported (Int8/16/32/64, Float, Double, Bool, VarChar, JSON, FloatVector, Float16Vector)")
                }
                let nullable = (f["nullable"] as? Bool) ?? false
                let defaultValue = try f["defaultValue"].map { try MilvusJSON.fieldValue($0, type: scalar, field: name + ".defaultValue", row: 0) }
                let maxLength = try intValue(params["max_length"], what: "schema.fields[\(i)] (\(name)).elementTypeParams.max_length")
                scalars.append(ScalarField(name: name, type: scalar, nullable: nullable || defaultValue != nil,
                                           defaultValue: defaultValue, maxLength: maxLength))
            }
        }
        guard let primary else { throw MilvusError.invalid("schema.fields has no field with \"isPrimary\": true") }
        return Creation(schema: CollectionSchema(primaryKey: primary, vectorFields: vectors, scalarFields: scalars,
                                                 enableDynamicField: dynamic),
                        indexes: indexes)
    }

    static func metricValue(_ v: Any) throws -> Metric {
        guard let s = v as? String, let m = Metric(rawValue: s.uppercased()) else {
            throw MilvusError.invalid("metricType must be COSINE, IP or L2, got \(v)")
        }
        return m
    }

    /// An integer given as a JSON number or a decimal string (Milvus accepts `"dim": "5"`).
    static func intValue(_ v: Any?, what: String) throws -> Int? {
        guard let v, !(v is NSNull) else { return nil }
        if let n = v as? NSNumber, !isJSONBoolean(n), let i = Int(exactly: n.doubleValue) { return i }
        if let s = v as? String, let i = Int(s) { return i }
        throw MilvusError.invalid("\(what) must be an integer, got \(JSONBody.typeName(v))")
    }

    /// The `collections/describe` data object.
    static func describe(_ info: CollectionInfo) -> String {
        let s = info.schema
        var fields: [String] = []
        fields.append("{\"name\": \(JSONText.string(s.primaryKey.name)), \"type\": \"\(s.primaryKey.type.rawValue)\", \"primaryKey\": true, \"autoId\": \(s.primaryKey.autoID), \"description\": \"\"}")
        for v in s.vectorFields {
            fields.append("{\"name\": \(JSONText.string(v.name)), \"type\": \"\(v.storage.rawValue)\", \"primaryKey\": false, \"autoId\": false, \"description\": \"\", \"params\": [{\"key\": \"dim\", \"value\": \"\(v.dimension)\"}]}")
        }
        for f in s.scalarFields {
            var params = ""
            if let m = f.maxLength { params = ", \"params\": [{\"key\": \"max_length\", \"value\": \"\(m)\"}]" }
            fields.append("{\"name\": \(JSONText.string(f.name)), \"type\": \"\(f.type.rawValue)\", \"primaryKey\": false, \"autoId\": false, \"nullable\": \(f.nullable), \"description\": \"\"\(params)}")
        }
        var indexes: [String] = []
        for v in s.vectorFields {
            let kind = info.indexes.first { $0.field == v.name }?.kind.rawValue ?? "FLAT"
            indexes.append("{\"fieldName\": \(JSONText.string(v.name)), \"indexName\": \(JSONText.string(v.name)), \"metricType\": \"\(v.metric.rawValue)\", \"indexType\": \"\(kind)\"}")
        }
        return "{\"collectionName\": \(JSONText.string(info.name)), \"description\": \(JSONText.string(s.description)), "
            + "\"fields\": [\(fields.joined(separator: ", "))], \"indexes\": [\(indexes.joined(separator: ", "))], "
            + "\"load\": \"LoadStateLoaded\", \"enableDynamicField\": \(s.enableDynamicField), \"autoId\": \(s.primaryKey.autoID), "
            + "\"shardsNum\": 1, \"partitionsNum\": 1, \"consistencyLevel\": \"Strong\", \"aliases\": [], \"properties\": [], "
            + "\"rowCount\": \(info.count)}"
    }
}
