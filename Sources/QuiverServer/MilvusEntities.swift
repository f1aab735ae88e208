import Foundation
import QuiverStore

/// `entities/{insert,upsert,delete,get,query,search}`, as Milvus' v2 handler reads and answers them.
extension MilvusController {
    /// Milvus' `quotaAndLimits.limits.maxTopK` default: search `limit` and query/search
    /// `offset + limit` stay within it.
    static let maxTopK = 16384

    // MARK: insert / upsert

    /// `data` is an array of row objects. Answers `{"insertCount", "insertIds"}` (or
    /// `upsertCount`/`upsertIds`); a row that does not fit the schema is 1804 naming the row and field.
    func write(_ body: MilvusRequest, _ output: MilvusOutput, upsert: Bool) async throws -> String {
        let collection = try await collection(body)
        guard let raw = body.value("data") else {
            throw MilvusError.missing("data", "give the entities as \"data\": [{...}, ...]")
        }
        guard let list = raw as? [Any] else {
            throw MilvusError.format("'data' must be an array of entity objects, got \(JSONBody.typeName(raw))")
        }
        guard !list.isEmpty else { throw MilvusError.insertData("'data' is empty; give at least one entity") }
        let schema = collection.schema
        let vectorFields = Dictionary(uniqueKeysWithValues: schema.vectorFields.map { ($0.name, $0) })
        var scalarTypes: [String: ScalarType] = [:]
        for f in schema.scalarFields { scalarTypes[f.name] = f.type }
        let pk = schema.primaryKey
        var entities: [Entity] = []
        entities.reserveCapacity(list.count)
        for (r, item) in list.enumerated() {
            guard let row = item as? [String: Any] else {
                throw MilvusError.format("data[\(r)] must be an entity object, got \(JSONBody.typeName(item))")
            }
            var entity = Entity(id: nil, vectors: [:])
            for (key, value) in row {
                if key == pk.name {
                    if pk.autoID && !upsert {
                        throw MilvusError.insertData("data[\(r)].\(key): set primary key but autoID == true; leave '\(key)' out, it is assigned")
                    }
                    entity.id = try MilvusJSON.primaryKey(value, type: pk.type, what: "data[\(r)].\(key)", fail: MilvusError.insertData)
                } else if let field = vectorFields[key] {
                    let v = try MilvusJSON.vector(value, what: "data[\(r)].\(key)", fail: MilvusError.insertData)
                    guard v.count == field.dimension else {
                        throw MilvusError.insertData("data[\(r)].\(key) has \(v.count) values; field '\(key)' holds "
                                                     + "\(field.model.id == "none" ? "raw" : field.model.id) vectors of dim \(field.dimension) "
                                                     + "(vector length diff from dimension)")
                    }
                    entity.vectors[key] = v
                } else if let t = scalarTypes[key] {
                    entity.fields[key] = try MilvusJSON.fieldValue(value, type: t, field: key, row: r)
                } else if schema.enableDynamicField {
                    if value is NSNull { continue }
                    entity.fields[key] = try MilvusJSON.fieldValue(value, type: nil, field: key, row: r)
                } else {
                    throw MilvusError.insertData("data[\(r)]: field '\(key)' is not in the schema and the dynamic field is off "
                                                 + "(fields: \(([pk.name] + schema.vectorFields.map(\.name) + schema.scalarFields.map(\.name)).joined(separator: ", ")))")
                }
            }
            if entity.id == nil && (!pk.autoID || upsert) {
                throw MilvusError.insertData("row \(r) does not has field \(pk.name) (the primary key)")
            }
            for f in schema.vectorFields where entity.vectors[f.name] == nil {
                throw MilvusError.insertData("row \(r) does not has field \(f.name) (a \(f.dimension)-d vector)")
            }
            entities.append(entity)
        }
        let ids: [PrimaryKey]
        do {
            ids = upsert ? try await collection.upsert(entities, models: [:]) : try await collection.insert(entities, models: [:])
        } catch {
            throw MilvusError.from(error, insert: true)
        }
        let word = upsert ? "upsert" : "insert"
        return "\"cost\": 0, \"data\": {\"\(word)Count\": \(ids.count), \"\(word)Ids\": ["
            + ids.map { MilvusJSON.text($0, output) }.joined(separator: ", ") + "]}"
    }

    // MARK: delete

    /// `filter` is required (as Milvus' request struct binds it). Answers `{"deleteCount": N}`.
    func delete(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let collection = try await collection(body)
        let filter = try body.required("filter", hint: "select the entities to delete, e.g. \"filter\": \"id in [1, 2]\"")
        let n = try await collection.delete(filter: filter)
        return "\"cost\": 0, \"data\": {\"deleteCount\": \(n)}"
    }

    // MARK: get / query

    /// The store's output list for Milvus' `outputFields`: `*` is every scalar, dynamic and vector
    /// field (as Milvus returns for query and get).
    func outputFields(_ body: MilvusRequest, schema: CollectionSchema, default fallback: [String]) throws -> [String] {
        let list = try body.strings("outputFields") ?? fallback
        guard list.contains("*") else { return list }
        return list + schema.vectorFields.map(\.name).filter { !list.contains($0) }
    }

    func rowsText(_ rows: [Row], idField: String, output: MilvusOutput) -> String {
        "\"cost\": 0, \"data\": [" + rows.map {
            MilvusJSON.rowText(idField: idField, id: $0.id, fields: $0.fields, vectors: $0.vectors, output: output)
        }.joined(separator: ", ") + "]"
    }

    /// `id` is one primary key or an array of them; `outputFields` defaults to `*`.
    func get(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let collection = try await collection(body)
        let pk = collection.schema.primaryKey
        guard let raw = body.value("id") else {
            throw MilvusError.missing("id", "give a primary key or an array of them, e.g. \"id\": [1, 2]")
        }
        let values: [Any] = (raw as? [Any]) ?? [raw]
        let ids = try values.enumerated().map { i, v in
            try MilvusJSON.primaryKey(v, type: pk.type, what: raw is [Any] ? "id[\(i)]" : "id", fail: MilvusError.primaryKey)
        }
        let rows = try await collection.get(ids: ids, outputFields: try outputFields(body, schema: collection.schema, default: ["*"]))
        return rowsText(rows, idField: pk.name, output: output)
    }

    /// `filter` (may be empty), `outputFields` (default `*`), `limit` (default 100, as Milvus),
    /// `offset`. `outputFields: ["count(*)"]` answers `[{"count(*)": N}]`.
    func query(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let collection = try await collection(body)
        let filter = try body.string("filter").flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        let limit = try body.int("limit") ?? 100
        let offset = try body.int("offset") ?? 0
        guard limit >= 0, offset >= 0, offset <= Self.maxTopK, limit <= Self.maxTopK - offset else { // no overflow on huge values
            throw MilvusError.invalid("invalid max query result window, (offset+limit) should be in range [1, \(Self.maxTopK)], "
                                      + "but got offset \(offset) + limit \(limit)")
        }
        let fields = try body.strings("outputFields") ?? ["*"]
        if fields.count == 1, fields[0].trimmingCharacters(in: .whitespaces).lowercased() == "count(*)" {
            let n = try await collection.count(filter: filter, where: nil)
            return "\"cost\": 0, \"data\": [{\"count(*)\": \(n)}]"
        }
        let rows = try await collection.query(filter: filter, where: nil, limit: limit == 0 ? nil : limit, offset: offset,
                                              outputFields: try outputFields(body, schema: collection.schema, default: ["*"]))
        return rowsText(rows, idField: collection.schema.primaryKey.name, output: output)
    }

    // MARK: search

    /// `data` (query vectors), `annsField`, `limit` (default 100), `offset`, `filter`,
    /// `outputFields`, `searchParams` {`metricType`, `params` {`ef`, `nprobe`, `radius`,
    /// `range_filter`}} (keys may also sit directly in `searchParams`, as Milvus ≥ 2.5.2 reads them),
    /// `groupingField` / `groupSize`. Answers hits of every query in one `data` array, each with
    /// `distance`, and `topks` (hits per query) when any hit is found.
    func search(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let collection = try await collection(body)
        let schema = collection.schema
        guard let raw = body.value("data") else {
            throw MilvusError.missing("data", "give the query vectors, e.g. \"data\": [[0.1, 0.2, ...]]")
        }
        guard let data = raw as? [Any] else {
            throw MilvusError.format("'data' must be an array of query vectors, got \(JSONBody.typeName(raw))")
        }
        let field = try annsField(try body.string("annsField") ?? "", schema: schema)
        let vectors = try data.enumerated().map { i, v in
            let q = try MilvusJSON.vector(v, what: "data[\(i)]", fail: MilvusError.format)
            guard q.count == field.dimension else {
                throw MilvusError.format("invalid parameter[expected=\(field.storage.rawValue)][actual=data[\(i)]]: dimension: "
                                         + "\(field.dimension), but length of []float: \(q.count) (field '\(field.name)' holds "
                                         + "\(field.model.id == "none" ? "raw" : field.model.id) vectors of dim \(field.dimension))")
            }
            return q
        }
        var request = SearchRequest(field: field.name, vectors: vectors)
        request.limit = try body.int("limit") ?? 100
        request.offset = try body.int("offset") ?? 0
        guard (1...Self.maxTopK).contains(request.limit) else {
            throw MilvusError.invalid("topk [\(request.limit)] is invalid, it should be in range [1, \(Self.maxTopK)] (the search 'limit')")
        }
        guard request.offset >= 0, request.offset <= Self.maxTopK - request.limit else { // no overflow on huge offsets
            throw MilvusError.invalid("(offset+limit) should be in range [1, \(Self.maxTopK)], but got offset \(request.offset) + limit \(request.limit)")
        }
        if let f = try body.string("filter"), !f.trimmingCharacters(in: .whitespaces).isEmpty { request.filter = f }
        request.outputFields = try outputFields(body, schema: schema, default: [])
        if let sp = try body.nested("searchParams") {
            try applySearchParams(sp, field: field, kind: try await collection.indexes().first { $0.field == field.name }?.kind,
                                  to: &request)
        }
        let grouping = try body.string("groupingField").flatMap { $0.isEmpty ? nil : $0 }
        let results: [[SearchHit]]
        if let grouping {
            results = try await groupedSearch(collection, request, by: grouping, groupSize: max(1, try body.int("groupSize") ?? 1))
        } else {
            results = try await collection.search(request)
        }
        let idField = schema.primaryKey.name
        var items: [String] = []
        for hits in results {
            for h in hits {
                items.append(MilvusJSON.rowText(idField: idField, id: h.id, fields: h.fields, vectors: h.vectors, output: output,
                                                extra: [("distance", JSONText.number(h.score))]))
            }
        }
        if items.isEmpty { return "\"cost\": 0, \"data\": []" }
        return "\"cost\": 0, \"data\": [" + items.joined(separator: ", ") + "], \"topks\": ["
            + results.map { String($0.count) }.joined(separator: ", ") + "]"
    }

    /// The vector field to search: `annsField`, or the only vector field when it is empty.
    func annsField(_ name: String, schema: CollectionSchema) throws -> VectorField {
        if name.isEmpty {
            guard schema.vectorFields.count == 1 else {
                throw MilvusError.format("search without annsField, but already found multiple vector fields: ["
                                         + schema.vectorFields.map(\.name).joined(separator: ", ") + "]; set \"annsField\"")
            }
            return schema.vectorFields[0]
        }
        guard let f = schema.vectorFields.first(where: { $0.name == name }) else {
            throw MilvusError.format("cannot find a vector field named: \(name) (vector fields: \(schema.vectorFields.map(\.name).joined(separator: ", ")))")
        }
        return f
    }

    /// `searchParams`: `metricType` must be the field's; `radius` / `range_filter` select a range;
    /// `ef` (HNSW) and `nprobe` (IVF) reach the index that uses them and are ignored by others, as
    /// Milvus ignores parameters an index does not take. A key given both in `searchParams` and in
    /// `searchParams.params` with different values is ambiguous (1100), as in Milvus.
    func applySearchParams(_ sp: MilvusRequest, field: VectorField, kind: IndexKind?, to request: inout SearchRequest) throws {
        var params = (try sp.nested("params"))?.object ?? [:]
        for (k, v) in sp.object where k != "params" {
            if let existing = params[k], "\(existing)" != "\(v)" {
                throw MilvusError.invalid("ambiguous parameter: \(k), in search_param: \(v), in search_param.params: \(existing)")
            }
            params[k] = v
        }
        var metricText: String?
        for key in ["metricType", "metric_type"] { if let m = params.removeValue(forKey: key) { metricText = "\(m)" } }
        if let metricText {
            let metric = try MilvusSchema.metricValue(metricText, what: "searchParams.metricType")
            guard metric == field.metric else {
                throw MilvusError.invalid("metric type not match: field '\(field.name)' is indexed with \(field.metric.rawValue); "
                                          + "drop searchParams.metricType or set it to \(field.metric.rawValue)",
                                          expected: field.metric.rawValue, actual: metric.rawValue)
            }
        }
        let used: Set<String> = switch kind {
        case .hnsw?: ["ef"]
        case .ivfFlat?, .ivfSQ8?: ["nprobe"]
        default: []
        }
        for (k, v) in params {
            guard ["radius", "range_filter"].contains(k) || used.contains(k) else { continue }
            guard let n = v as? NSNumber, !isJSONBoolean(n) else {
                throw MilvusError.invalid("searchParams.params.\(k) must be a number", actual: "\(v)")
            }
            switch k {
            case "radius": request.radius = n.floatValue
            case "range_filter": request.rangeFilter = n.floatValue
            default: request.params[k] = n.doubleValue
            }
        }
    }

    /// Grouping search: the best `groupSize` hits of each distinct value of `field`, for the best
    /// `offset + limit` groups, by ranking every candidate (exact, as Quiver's flat scan is). On a
    /// Milvus database the candidates are the best 16,384 (Milvus' largest `limit`).
    func groupedSearch(_ collection: any VectorCollection, _ request: SearchRequest, by field: String, groupSize: Int) async throws -> [[SearchHit]] {
        let schema = collection.schema
        guard schema.scalarFields.contains(where: { $0.name == field }) || schema.enableDynamicField else {
            throw MilvusError.invalid("groupingField '\(field)' is not a scalar field of the collection")
        }
        var wide = request
        wide.offset = 0
        let count = try await collection.count(filter: nil, where: nil)
        wide.limit = collection is Collection ? max(1, count) : min(max(1, count), Self.maxTopK)
        let requested = wide.outputFields.contains(field) || wide.outputFields.contains("*")
        if !requested { wide.outputFields.append(field) }
        let all = try await collection.search(wide)
        return all.map { hits in
            var taken: [String: Int] = [:]
            var rank: [String: Int] = [:]
            var out: [SearchHit] = []
            for var h in hits {
                let key = h.fields[field].map { MilvusJSON.text($0) } ?? "null"
                if rank[key] == nil {
                    if rank.count == request.offset + request.limit { continue }
                    rank[key] = rank.count
                }
                let n = taken[key, default: 0]
                guard n < groupSize else { continue }
                taken[key] = n + 1
                guard rank[key]! >= request.offset else { continue }
                if !requested { h.fields[field] = nil }
                out.append(h)
            }
            return out
        }
    }
}
