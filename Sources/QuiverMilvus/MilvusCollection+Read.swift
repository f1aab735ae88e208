import Foundation
import GRPCCore
import QuiverMilvusWire
import QuiverStore
import SwiftProtobuf

/// Which fields a result carries, and what to ask Milvus for.
struct MilvusOutput {
    var scalars: Set<String> = []
    var vectors: Set<String> = []
    var dynamicAll = false
    var dynamicKeys: Set<String> = []
    var wireNames: [String] = []
}

extension MilvusCollection {
    /// Output fields as the embedded store resolves them.
    func resolveOutput(_ names: [String]) throws -> MilvusOutput {
        var o = MilvusOutput()
        for n in names {
            if n == "*" {
                o.scalars.formUnion(schema.scalarFields.map(\.name))
                o.dynamicAll = schema.enableDynamicField
            } else if n == pk.name {
                continue
            } else if schema.scalarFields.contains(where: { $0.name == n }) {
                o.scalars.insert(n)
            } else if schema.vectorFields.contains(where: { $0.name == n }) {
                o.vectors.insert(n)
            } else if schema.enableDynamicField {
                o.dynamicKeys.insert(n)
            } else {
                throw StoreError.invalidRequest("collection '\(name)' has no field '\(n)' to output")
            }
        }
        var wire = o.scalars.sorted() + o.vectors.sorted()
        if o.dynamicAll { wire.append("$meta") } else { wire += o.dynamicKeys.sorted() }
        o.wireNames = wire
        return o
    }

    static func kv(_ k: String, _ v: String) -> MVKeyValuePair { MilvusSchemaCodec.kv(k, v) }

    func rawQuery(expr: String, outputFields: [String], limit: Int?, offset: Int, params: [String: String] = [:]) async throws -> MVQueryResults {
        var req = MVQueryRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        req.expr = expr
        req.outputFields = outputFields
        let (level, guarantee, token) = store.readConsistency()
        req.consistencyLevel = level
        req.guaranteeTimestamp = guarantee
        req.useDefaultConsistency = false
        if let limit { req.queryParams.append(Self.kv("limit", String(limit))) }
        if offset > 0 { req.queryParams.append(Self.kv("offset", String(offset))) }
        for (k, v) in params.sorted(by: { $0.key < $1.key }) { req.queryParams.append(Self.kv(k, v)) }
        let r = try await whileLoaded {
            let r = try await conn.call("Query", collection: name, safe: true) { [req] s, m, o in try await s.query(req, metadata: m, options: o) }
            try conn.check(r.status, "Query", collection: name)
            store.readDone(token)
            return r
        }
        return r
    }

    /// The primary keys of a query answer.
    func keys(of r: MVQueryResults) throws -> [PrimaryKey] {
        guard let c = r.fieldsData.first(where: { $0.fieldName == pk.name }) else {
            if r.fieldsData.isEmpty { return [] }
            throw MilvusError.unexpectedResponse(server: conn.server, collection: name, operation: "Query", reason: "no '\(pk.name)' column")
        }
        switch c.scalars.data {
        case let .longData(a)?: return a.data.map { .int($0) }
        case let .stringData(a)?: return a.data.map { .string($0) }
        default: return []
        }
    }

    /// Decodes result columns into per-row fields and vectors.
    func decode(_ cols: [MVFieldData], rows n: Int, _ out: MilvusOutput, op: String) throws -> [(fields: [String: FieldValue], vectors: [String: [Float]])] {
        var result = Array(repeating: (fields: [String: FieldValue](), vectors: [String: [Float]]()), count: n)
        func unexpected(_ r: String) -> MilvusError { .unexpectedResponse(server: conn.server, collection: name, operation: op, reason: r) }
        for c in cols where c.fieldName != pk.name {
            if c.isDynamic || c.fieldName == "$meta" {
                guard out.dynamicAll || !out.dynamicKeys.isEmpty else { continue }
                guard case let .jsonData(a)? = c.scalars.data else { continue }
                for (i, d) in a.data.enumerated() where i < n {
                    guard case let .object(o)? = try? JSONDecoder().decode(JSONValue.self, from: d) else { continue }
                    for (k, v) in o where out.dynamicAll || out.dynamicKeys.contains(k) {
                        if v != .null { result[i].fields[k] = FieldValue(json: v) }
                    }
                }
                continue
            }
            if case let .vectors(v)? = c.field {
                guard out.vectors.contains(c.fieldName) else { continue }
                let d = Int(v.dim)
                guard d > 0 else { continue }
                switch v.data {
                case let .floatVector(a)?:
                    guard a.data.count == d * n else { throw unexpected("vector column '\(c.fieldName)' has \(a.data.count) values for \(n) rows of \(d)") }
                    for i in 0..<n { result[i].vectors[c.fieldName] = Array(a.data[(i * d)..<((i + 1) * d)]) }
                case let .float16Vector(b)?:
                    guard b.count == d * n * 2 else { throw unexpected("float16 column '\(c.fieldName)' has \(b.count) bytes for \(n) rows of \(d)") }
                    let bytes = [UInt8](b)
                    for i in 0..<n {
                        result[i].vectors[c.fieldName] = (0..<d).map { j in
                            let o = (i * d + j) * 2
                            return Half.float(UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8)
                        }
                    }
                default: continue
                }
                continue
            }
            guard out.scalars.contains(c.fieldName) else { continue }
            let declared = schema.scalarFields.first { $0.name == c.fieldName }
            let values: [FieldValue]
            switch c.scalars.data {
            case let .boolData(a)?: values = a.data.map { .bool($0) }
            case let .intData(a)?: values = a.data.map { .int(Int64($0)) }
            case let .longData(a)?: values = a.data.map { .int($0) }
            case let .floatData(a)?: values = a.data.map { .double(Double($0)) }
            case let .doubleData(a)?: values = a.data.map { .double($0) }
            case let .stringData(a)?: values = a.data.map { .string($0) }
            case let .jsonData(a)?:
                values = a.data.map { d in
                    let j = (try? JSONDecoder().decode(JSONValue.self, from: d)) ?? .null
                    return declared?.type == .json ? .json(j) : FieldValue(json: j)
                }
            case let .bytesData(a)?: values = a.data.map { .string(String(decoding: $0, as: UTF8.self)) }
            case nil: values = []
            }
            let valid = c.validData
            if !valid.isEmpty {
                guard valid.count == n else { throw unexpected("column '\(c.fieldName)' has \(valid.count) validity flags for \(n) rows") }
                var k = 0
                for i in 0..<n {
                    if !valid[i] { result[i].fields[c.fieldName] = .null; if values.count == n { k += 1 }; continue }
                    let idx = values.count == n ? i : k
                    guard idx < values.count else { throw unexpected("column '\(c.fieldName)' is short") }
                    result[i].fields[c.fieldName] = values[idx]
                    k += 1
                }
            } else {
                guard values.count == n else { throw unexpected("column '\(c.fieldName)' has \(values.count) values for \(n) rows") }
                for i in 0..<n { result[i].fields[c.fieldName] = values[i] }
            }
        }
        return result
    }

    func rows(_ r: MVQueryResults, _ out: MilvusOutput) throws -> [Row] {
        let ids = try keys(of: r)
        let decoded = try decode(r.fieldsData, rows: ids.count, out, op: "Query")
        return zip(ids, decoded).map { Row(id: $0, fields: $1.fields, vectors: $1.vectors) }
    }

    /// The entities with these keys, in the order asked (missing keys left out).
    public func get(ids: [PrimaryKey], outputFields: [String] = ["*"]) async throws -> [Row] {
        let out = try resolveOutput(outputFields)
        var byKey: [PrimaryKey: Row] = [:]
        let unique = Array(Set(ids))
        var i = 0
        while i < unique.count {
            let chunk = Array(unique[i..<min(unique.count, i + 4096)])
            i += chunk.count
            for r in try rows(try await rawQuery(expr: idsExpression(chunk), outputFields: out.wireNames, limit: nil, offset: 0), out) { byKey[r.id] = r }
        }
        return ids.compactMap { byKey[$0] }
    }

    /// Entities matching a filter (nil: all), in primary key order, after skipping `offset`, at
    /// most `limit`. Row predicates are not supported (`StoreError.invalidRequest`).
    public func query(filter: String? = nil, where predicate: RowPredicate? = nil, limit: Int? = nil, offset: Int = 0,
                      outputFields: [String] = ["*"]) async throws -> [Row] {
        guard offset >= 0, (limit ?? 0) >= 0 else { throw StoreError.invalidRequest("query limit and offset must not be negative") }
        try noPredicate(predicate)
        if limit == 0 { return [] }
        let out = try resolveOutput(outputFields)
        let expr = Self.blank(filter) ? allExpression : filter!
        var all = try rows(try await rawQuery(expr: expr, outputFields: out.wireNames, limit: nil, offset: 0), out)
        all.sort { $0.id < $1.id }
        let tail = all.dropFirst(offset)
        return Array(limit.map { tail.prefix($0) } ?? tail)
    }

    /// Pages in primary key order: each page is the `limit` smallest keys above the cursor's last
    /// key, so no `offset` window limit applies and each page is one query. The query carries
    /// `iterator: True` (what pymilvus' query iterator sends): Milvus Lite 3.2.2 returns a
    /// limited query in insertion order without it; Milvus 2.3.5 orders by key either way.
    public func scan(after cursor: ScanCursor?, limit: Int, outputFields: [String]) async throws -> (rows: [Row], next: ScanCursor?) {
        guard limit >= 1 else { throw StoreError.invalidRequest("scan limit must be at least 1") }
        guard limit <= Self.maxWindow else { throw StoreError.invalidRequest("Milvus reads at most \(Self.maxWindow) entities per query; asked for \(limit)") }
        let out = try resolveOutput(outputFields)
        let expr = cursor?.lastKey.map { "\(pk.name) > \(Self.literal($0))" } ?? allExpression
        var page = try rows(try await rawQuery(expr: expr, outputFields: out.wireNames, limit: limit, offset: 0, params: ["iterator": "True"]), out)
        page.sort { $0.id < $1.id }
        let read = (cursor?.offset ?? 0) + page.count
        return (page, page.count < limit ? nil : ScanCursor(offset: read, lastKey: page.last?.id))
    }

    /// The number of entities matching a filter (nil: all live entities), by `count(*)`.
    public func count(filter: String? = nil, where predicate: RowPredicate? = nil) async throws -> Int {
        try noPredicate(predicate)
        let r = try await rawQuery(expr: Self.blank(filter) ? "" : filter!, outputFields: ["count(*)"], limit: nil, offset: 0)
        guard let c = r.fieldsData.first(where: { $0.fieldName == "count(*)" }), case let .longData(a)? = c.scalars.data, let n = a.data.first else {
            throw MilvusError.unexpectedResponse(server: conn.server, collection: name, operation: "Query count(*)", reason: "no count(*) column")
        }
        return Int(n)
    }

    /// Vector search (see ``VectorCollection/search(_:)``): scores are Milvus' (COSINE and IP
    /// similarity, squared L2 distance), as the embedded store's. `params` go to Milvus as
    /// search parameters (`ef`, `nprobe`, ...).
    public func search(_ request: SearchRequest) async throws -> [[SearchHit]] {
        let f = try vectorField(request.field)
        if let m = request.model, m.id != f.model.id || m.dimension != f.dimension {
            throw StoreError.modelMismatch(collection: name, field: f.name, expectedModel: f.model.id, expectedDimension: f.dimension,
                                           gotModel: m.id, gotDimension: m.dimension)
        }
        guard request.limit >= 1, request.offset >= 0 else { throw StoreError.invalidRequest("search limit must be at least 1 and offset not negative") }
        for (qi, q) in request.vectors.enumerated() where q.count != f.dimension {
            throw StoreError.invalidRequest("collection '\(name)' field '\(f.name)' holds \(f.model.id) vectors (\(f.dimension)-d); query \(qi) has \(q.count) values")
        }
        try noPredicate(request.predicate)
        guard request.limit + request.offset <= Self.maxWindow else {
            throw StoreError.invalidRequest("Milvus searches at most \(Self.maxWindow) hits (limit + offset); asked for \(request.limit + request.offset)")
        }
        guard !request.vectors.isEmpty else { return [] }
        let out = try resolveOutput(request.outputFields)

        var ph = MVPlaceholderValue()
        ph.tag = "$0"
        ph.type = f.storage == .float16 ? 102 : 101
        ph.values = request.vectors.map { q in
            var d = Data(capacity: q.count * 4)
            if f.storage == .float16 {
                for x in q { let h = Half.bits(x); d.append(UInt8(h & 0xff)); d.append(UInt8(h >> 8)) }
            } else {
                for x in q { withUnsafeBytes(of: x.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
            }
            return d
        }
        var group = MVPlaceholderGroup()
        group.placeholders = [ph]

        var params: [String: JSONValue] = [:]
        for (k, v) in request.params { params[k] = .number(v) }
        if let r = request.radius { params["radius"] = .number(Double(r)) }
        if let rf = request.rangeFilter { params["range_filter"] = .number(Double(rf)) }

        var req = MVSearchRequest()
        req.dbName = conn.dbName
        req.collectionName = name
        req.dsl = Self.blank(request.filter) ? "" : request.filter!
        req.dslType = 1
        req.placeholderGroup = try group.serializedBytes()
        req.outputFields = out.wireNames
        req.nq = Int64(request.vectors.count)
        let (level, guarantee, token) = store.readConsistency()
        req.consistencyLevel = level
        req.guaranteeTimestamp = guarantee
        req.useDefaultConsistency = false
        req.searchParams = [
            Self.kv("anns_field", f.name), Self.kv("topk", String(request.limit)), Self.kv("metric_type", f.metric.rawValue),
            Self.kv("params", String(decoding: try JSONEncoder().encode(params), as: UTF8.self)),
            Self.kv("offset", String(request.offset)), Self.kv("round_decimal", "-1"), Self.kv("ignore_growing", "False"),
        ]
        let r = try await whileLoaded {
            let r = try await conn.call("Search", collection: name, safe: true) { [req] s, m, o in try await s.search(req, metadata: m, options: o) }
            try conn.check(r.status, "Search", collection: name)
            store.readDone(token)
            return r
        }
        let res = r.results
        let ids: [PrimaryKey]
        switch res.ids.idField {
        case let .intID(a)?: ids = a.data.map { .int($0) }
        case let .strID(a)?: ids = a.data.map { .string($0) }
        case nil: ids = []
        }
        guard !ids.isEmpty else { return Array(repeating: [], count: request.vectors.count) }
        var topks = res.topks.map(Int.init)
        if topks.isEmpty { topks = Array(repeating: Int(res.topK), count: request.vectors.count) }
        guard topks.count == request.vectors.count, topks.reduce(0, +) == ids.count, res.scores.count == ids.count else {
            throw MilvusError.unexpectedResponse(server: conn.server, collection: name, operation: "Search",
                                                 reason: "\(ids.count) ids, \(res.scores.count) scores, per-query counts \(topks) for \(request.vectors.count) queries")
        }
        let decoded = try decode(res.fieldsData, rows: ids.count, out, op: "Search")
        var hits: [[SearchHit]] = []
        var at = 0
        for k in topks {
            hits.append((at..<(at + k)).map { SearchHit(id: ids[$0], score: res.scores[$0], fields: decoded[$0].fields, vectors: decoded[$0].vectors) })
            at += k
        }
        return hits
    }
}
