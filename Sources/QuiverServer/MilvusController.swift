import Foundation
import Hummingbird
import QuiverStore

/// The vector database, opened on first use at the configured folder and closed at shutdown.
actor StoreHolder {
    let path: String
    private var store: VectorStore?

    init(path: String) { self.path = path }

    func get() throws -> VectorStore {
        if let store { return store }
        let s = try VectorStore(path: path)
        store = s
        return s
    }

    func close() async throws {
        try await store?.close()
        store = nil
    }
}

/// The subset of Milvus' RESTful API v2 that the embedded store answers: every route is a POST
/// with a JSON body and answers `{"code": 0, "data": ...}`, or `{"code": N, "message": "..."}`
/// with HTTP 200 on failure, as Milvus does.
///
/// Collections: `/v2/vectordb/collections/{create,describe,list,has,drop}`.
/// Entities: `/v2/vectordb/entities/{insert,upsert,delete,get,query,search}`.
struct MilvusController: Sendable {
    let stores: StoreHolder
    let configuration: ServerConfiguration

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let routes: [(String, @Sendable (JSONBody) async throws -> String)] = [
            ("collections/create", create), ("collections/describe", describe), ("collections/list", list),
            ("collections/has", has), ("collections/drop", drop),
            ("entities/insert", { try await write($0, upsert: false) }), ("entities/upsert", { try await write($0, upsert: true) }),
            ("entities/delete", delete), ("entities/get", get), ("entities/query", query), ("entities/search", search),
        ]
        for (path, handler) in routes {
            router.post("/v2/vectordb/\(path)") { request, _ in
                do {
                    let body = try JSONBody(bytes: try await request.bodyBytes(limit: configuration.maxBodyBytes))
                    return JSONText.response("{\"code\": 0, " + (try await handler(body)) + "}")
                } catch {
                    return JSONText.response(MilvusError.from(error).json)
                }
            }
        }
    }

    // MARK: collections

    func collectionName(_ body: JSONBody) throws -> String {
        guard let name = body.object["collectionName"] as? String, !name.isEmpty else {
            throw MilvusError.invalid("missing required parameter 'collectionName'")
        }
        return name
    }

    func create(_ body: JSONBody) async throws -> String {
        let name = try collectionName(body)
        let creation = try MilvusSchema.creation(body)
        let store = try await stores.get()
        let collection = try await store.createCollection(name, schema: creation.schema)
        for index in creation.indexes {
            try await collection.createIndex(field: index.field, kind: index.kind, params: index.params)
        }
        return "\"data\": {}"
    }

    func describe(_ body: JSONBody) async throws -> String {
        let info = try await stores.get().describeCollection(try collectionName(body))
        return "\"data\": " + MilvusSchema.describe(info)
    }

    func list(_ body: JSONBody) async throws -> String {
        let names = try await stores.get().listCollections()
        return "\"data\": [" + names.map(JSONText.string).joined(separator: ", ") + "]"
    }

    func has(_ body: JSONBody) async throws -> String {
        let has = try await stores.get().hasCollection(try collectionName(body))
        return "\"data\": {\"has\": \(has)}"
    }

    func drop(_ body: JSONBody) async throws -> String {
        try await stores.get().dropCollection(try collectionName(body))
        return "\"data\": {}"
    }

    // MARK: entities

    func write(_ body: JSONBody, upsert: Bool) async throws -> String {
        let collection = try await stores.get().collection(try collectionName(body))
        let schema = collection.schema
        let rows: [[String: Any]]
        if let list = body.object["data"] as? [[String: Any]] { rows = list }
        else if let one = body.object["data"] as? [String: Any] { rows = [one] }
        else { throw MilvusError.invalid("'data' must be an array of entity objects, got \(JSONBody.typeName(body.object["data"]))") }
        guard !rows.isEmpty else { throw MilvusError.invalid("'data' is empty; give at least one entity") }
        let vectorNames = Set(schema.vectorFields.map(\.name))
        var scalarTypes: [String: ScalarType] = [:]
        for f in schema.scalarFields { scalarTypes[f.name] = f.type }
        var entities: [Entity] = []
        entities.reserveCapacity(rows.count)
        for (r, row) in rows.enumerated() {
            var entity = Entity(id: nil, vectors: [:])
            for (key, value) in row {
                if key == schema.primaryKey.name {
                    if schema.primaryKey.autoID && !upsert {
                        throw MilvusError.invalid("data[\(r)].\(key): the primary key is assigned automatically (autoID); leave it out")
                    }
                    entity.id = try MilvusJSON.primaryKey(value, type: schema.primaryKey.type, what: "data[\(r)].\(key)")
                } else if vectorNames.contains(key) {
                    entity.vectors[key] = try MilvusJSON.vector(value, what: "data[\(r)].\(key)")
                } else if let t = scalarTypes[key] {
                    entity.fields[key] = try MilvusJSON.fieldValue(value, type: t, field: key, row: r)
                } else if schema.enableDynamicField {
                    entity.fields[key] = try MilvusJSON.fieldValue(value, type: nil, field: key, row: r)
                } else {
                    throw MilvusError.invalid("data[\(r)]: field '\(key)' is not in the schema and the dynamic field is off")
                }
            }
            entities.append(entity)
        }
        let ids = upsert ? try await collection.upsert(entities) : try await collection.insert(entities)
        let word = upsert ? "upsert" : "insert"
        return "\"data\": {\"\(word)Count\": \(ids.count), \"\(word)Ids\": [" + ids.map(MilvusJSON.text).joined(separator: ", ") + "]}"
    }

    func delete(_ body: JSONBody) async throws -> String {
        let collection = try await stores.get().collection(try collectionName(body))
        guard let filter = body.object["filter"] as? String, !filter.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw MilvusError.invalid("entities/delete needs a non-empty 'filter' (e.g. \"id in [1, 2]\")")
        }
        let n = try await collection.delete(filter: filter)
        return "\"data\": {\"deleteCount\": \(n)}"
    }

    func outputFields(_ body: JSONBody, default fallback: [String]) throws -> [String] {
        guard let v = body.object["outputFields"], !(v is NSNull) else { return fallback }
        guard let list = v as? [String] else { throw MilvusError.invalid("'outputFields' must be an array of field names") }
        return list
    }

    func rowsText(_ rows: [Row], idField: String) -> String {
        "\"data\": [" + rows.map { MilvusJSON.rowText(idField: idField, id: $0.id, fields: $0.fields, vectors: $0.vectors) }
            .joined(separator: ", ") + "]"
    }

    func get(_ body: JSONBody) async throws -> String {
        let collection = try await stores.get().collection(try collectionName(body))
        let pk = collection.schema.primaryKey
        let raw = body.object["id"]
        let values: [Any] = (raw as? [Any]) ?? (raw.map { [$0] } ?? [])
        guard !values.isEmpty, !(raw is NSNull) else { throw MilvusError.invalid("entities/get needs 'id': a primary key or an array of them") }
        let ids = try values.enumerated().map { try MilvusJSON.primaryKey($0.element, type: pk.type, what: "id[\($0.offset)]") }
        let rows = try await collection.get(ids: ids, outputFields: try outputFields(body, default: ["*"]))
        return rowsText(rows, idField: pk.name)
    }

    func query(_ body: JSONBody) async throws -> String {
        let collection = try await stores.get().collection(try collectionName(body))
        let filter = try body.string("filter")
        let limit = try body.int("limit")
        let offset = try body.int("offset") ?? 0
        if filter?.isEmpty ?? true, limit == nil {
            throw MilvusError.invalid("entities/query needs a 'filter' or a 'limit'")
        }
        let rows = try await collection.query(filter: filter?.isEmpty == true ? nil : filter, limit: limit, offset: offset,
                                              outputFields: try outputFields(body, default: ["*"]))
        return rowsText(rows, idField: collection.schema.primaryKey.name)
    }

    func search(_ body: JSONBody) async throws -> String {
        let collection = try await stores.get().collection(try collectionName(body))
        guard let data = body.object["data"] as? [Any], !data.isEmpty else {
            throw MilvusError.invalid("entities/search needs 'data': an array of query vectors")
        }
        let vectors = try data.enumerated().map { try MilvusJSON.vector($0.element, what: "data[\($0.offset)]") }
        var request = SearchRequest(vectors: vectors)
        request.field = try body.string("annsField")
        request.limit = try body.int("limit") ?? 100
        request.offset = try body.int("offset") ?? 0
        if let f = try body.string("filter"), !f.isEmpty { request.filter = f }
        request.outputFields = try outputFields(body, default: [])
        if let sp = body.object["searchParams"] as? [String: Any] {
            let field = collection.schema.vectorFields.first { $0.name == (request.field ?? collection.schema.vectorFields.first?.name) }
            if let m = sp["metricType"], let field {
                let metric = try MilvusSchema.metricValue(m)
                guard metric == field.metric else {
                    throw MilvusError.invalid("searchParams.metricType \(metric.rawValue) differs from the \(field.metric.rawValue) metric of field '\(field.name)'")
                }
            }
            let params = ((sp["params"] as? [String: Any]) ?? [:]).merging(sp.filter { $0.key != "params" && $0.key != "metricType" }) { a, _ in a }
            for (k, v) in params {
                guard let n = v as? NSNumber, !isJSONBoolean(n) else { continue }
                switch k {
                case "radius": request.radius = n.floatValue
                case "range_filter": request.rangeFilter = n.floatValue
                case "offset": request.offset = n.intValue
                default: request.params[k] = n.doubleValue
                }
            }
        }
        let results = try await collection.search(request)
        let idField = collection.schema.primaryKey.name
        var items: [String] = []
        for hits in results {
            for h in hits {
                items.append(MilvusJSON.rowText(idField: idField, id: h.id, fields: h.fields, vectors: h.vectors,
                                                extra: [("distance", JSONText.number(h.score))]))
            }
        }
        return "\"data\": [" + items.joined(separator: ", ") + "], \"topks\": [" + results.map { String($0.count) }.joined(separator: ", ") + "]"
    }
}
