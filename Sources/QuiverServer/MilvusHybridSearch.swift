import Foundation
import Quiver
import QuiverStore

extension MilvusController {
    /// `POST /v2/vectordb/entities/hybrid_search`, in Milvus' request shape:
    ///
    ///     {"collectionName": "docs",
    ///      "search": [{"data": [[0.1, ...]], "annsField": "vector", "limit": 10, "filter": "...", "params": {"params": {"ef": 64}}},
    ///                 {"data": ["a text query"], "annsField": "text", "limit": 10}],
    ///      "rerank": {"strategy": "rrf", "params": {"k": 60}},
    ///      "limit": 5, "offset": 0, "outputFields": ["text"]}
    ///
    /// Each sub-search is a vector search (`data` holds vectors) or, where Milvus uses a sparse
    /// BM25 field, a full-text search (`data` holds strings; `annsField` names the field with the
    /// BM25 index, or is left out when the collection has one). Every sub-search has the same
    /// number of queries; query i of each is fused into result i. `rerank.strategy` is `rrf`
    /// (`params.k`, default 60) or `weighted` (`params.weights`, one in [0, 1] per sub-search,
    /// `params.norm_score` default true: Milvus' arctan normalization by metric). The answer is
    /// the search answer: hits with the fused score as `distance`, and `topks`.
    ///
    /// Over a Milvus database vector sub-searches run on Milvus and are fused here; text
    /// (BM25) sub-searches need the embedded store's full-text index and answer 1100 naming the
    /// collection (Quiver keeps no BM25 index in Milvus).
    func hybridSearch(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let collection = try await collection(body)
        let schema = collection.schema
        guard let raw = body.value("search") else {
            throw MilvusError.missing("search", "give the sub-searches, e.g. \"search\": [{\"data\": [[0.1, 0.2]], \"annsField\": \"vector\", \"limit\": 10}]")
        }
        guard let subs = raw as? [Any], !subs.isEmpty else {
            throw MilvusError.format("'search' must be a non-empty array of sub-searches, got \(JSONBody.typeName(raw))")
        }
        let limit = try body.int("limit") ?? 100
        let offset = try body.int("offset") ?? 0
        guard (1...Self.maxTopK).contains(limit) else {
            throw MilvusError.invalid("topk [\(limit)] is invalid, it should be in range [1, \(Self.maxTopK)] (the hybrid search 'limit')")
        }
        guard offset >= 0, offset <= Self.maxTopK - limit else { // no overflow on huge offsets
            throw MilvusError.invalid("(offset+limit) should be in range [1, \(Self.maxTopK)], but got offset \(offset) + limit \(limit)")
        }
        let outputs = try outputFields(body, schema: schema, default: [])
        var perSub: [[[SearchHit]]] = []
        var metrics: [Metric?] = []
        var queries: Int?
        for (si, s) in subs.enumerated() {
            guard let o = s as? [String: Any] else { throw MilvusError.format("'search[\(si)]' must be an object, got \(JSONBody.typeName(s))") }
            let sub = MilvusRequest(o, path: "search[\(si)]")
            guard let rawData = sub.value("data") else { throw MilvusError.missing("search[\(si)].data", "give the sub-search's queries") }
            guard let data = rawData as? [Any], !data.isEmpty else {
                throw MilvusError.format("'search[\(si)].data' must be a non-empty array of query vectors or texts, got \(JSONBody.typeName(rawData))")
            }
            if let n = queries, n != data.count {
                throw MilvusError.invalid("the sub-searches must have the same number of queries: search[0] has \(n), search[\(si)] has \(data.count)")
            }
            queries = data.count
            let subLimit = try sub.int("limit") ?? limit
            guard (1...Self.maxTopK).contains(subLimit) else {
                throw MilvusError.invalid("topk [\(subLimit)] is invalid, it should be in range [1, \(Self.maxTopK)] (search[\(si)].limit)")
            }
            let filter = try sub.string("filter").flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
            if data.allSatisfy({ $0 is String }) {
                guard let collection = collection as? Collection else {
                    throw MilvusError.invalid(Self.needsEmbeddedStore(collection.name, sub: si, server: stores.path))
                }
                let field = try fullTextField(try sub.string("annsField"), collection, sub: si)
                var lists: [[SearchHit]] = []
                for q in data as! [String] {
                    lists.append(try await collection.fullTextSearch(q, field: field, limit: subLimit, filter: filter, outputFields: outputs))
                }
                perSub.append(lists)
                metrics.append(nil)
                continue
            }
            let field = try annsField(try sub.string("annsField") ?? "", schema: schema)
            let vectors = try data.enumerated().map { i, v in
                let q = try MilvusJSON.vector(v, what: "search[\(si)].data[\(i)]", fail: MilvusError.format)
                guard q.count == field.dimension else {
                    throw MilvusError.format("search[\(si)].data[\(i)] has \(q.count) values; field '\(field.name)' holds vectors of dim \(field.dimension)")
                }
                return q
            }
            var request = SearchRequest(field: field.name, vectors: vectors)
            request.limit = subLimit
            request.filter = filter
            request.outputFields = outputs
            if let sp = try sub.nested("params") ?? sub.nested("searchParams") {
                try applySearchParams(sp, field: field, kind: try await collection.indexes().first { $0.field == field.name }?.kind, to: &request)
            }
            perSub.append(try await collection.search(request))
            metrics.append(field.metric)
        }
        let fusion = try rerankFusion(try body.nested("rerank"), subSearches: subs.count, metrics: metrics)
        let idField = schema.primaryKey.name
        var items: [String] = []
        var topks: [Int] = []
        for qi in 0..<(queries ?? 0) {
            var byKey: [PrimaryKey: SearchHit] = [:]
            for lists in perSub { for h in lists[qi] where byKey[h.id] == nil { byKey[h.id] = h } }
            let fused = RankFusion.fuse(perSub.map { $0[qi].map { (key: $0.id, score: $0.score) } }, fusion)
            let page = fused.dropFirst(offset).prefix(limit)
            topks.append(page.count)
            for f in page {
                let h = byKey[f.key]!
                items.append(MilvusJSON.rowText(idField: idField, id: h.id, fields: h.fields, vectors: h.vectors, output: output,
                                                extra: [("distance", JSONText.number(Float(f.score)))]))
            }
        }
        if items.isEmpty { return "\"cost\": 0, \"data\": []" }
        return "\"cost\": 0, \"data\": [" + items.joined(separator: ", ") + "], \"topks\": [" + topks.map(String.init).joined(separator: ", ") + "]"
    }

    /// Why a text sub-search cannot run on a collection of a Milvus database.
    static func needsEmbeddedStore(_ collection: String, sub: Int, server: String) -> String {
        "search[\(sub)] gives text queries: full-text (BM25) search of collection '\(collection)' needs the embedded store, "
            + "and this server's database is the Milvus server \(server) (Quiver keeps no BM25 index there); "
            + "give query vectors instead, or serve an embedded store folder (`quiver copy` moves the collection into one)"
    }

    /// The field a text sub-search runs on: `annsField` when it has a full-text index, else the
    /// collection's only full-text index.
    func fullTextField(_ name: String?, _ collection: Collection, sub: Int) throws -> String {
        let indexed = collection.fullTextIndexes().map(\.field)
        if let name, !name.isEmpty {
            guard indexed.contains(name) else {
                throw MilvusError.invalid("search[\(sub)] gives text queries, but field '\(name)' has no full-text (BM25) index"
                                          + (indexed.isEmpty ? " (the collection has none)" : " (indexed: \(indexed.joined(separator: ", ")))"))
            }
            return name
        }
        guard indexed.count == 1 else {
            throw MilvusError.invalid("search[\(sub)] gives text queries: set annsField to a field with a full-text (BM25) index"
                                      + (indexed.isEmpty ? " (the collection has none)" : " (indexed: \(indexed.joined(separator: ", ")))"))
        }
        return indexed[0]
    }

    /// The fusion of Milvus' `rerank` object (absent: RRF with k = 60).
    func rerankFusion(_ rerank: MilvusRequest?, subSearches: Int, metrics: [Metric?]) throws -> Fusion {
        guard let rerank else { return .rrf }
        let strategy = (try rerank.string("strategy") ?? "rrf").lowercased()
        let params = try rerank.nested("params")
        switch strategy {
        case "rrf":
            var k = 60.0
            if let v = params?.value("k") {
                guard let n = v as? NSNumber, !JSONBody.isBool(n) else { throw MilvusError.format("'rerank.params.k' must be a number, got \(JSONBody.typeName(v))") }
                k = n.doubleValue
            }
            guard k > 0, k < 16384 else { throw MilvusError.invalid("The rank params k should be in range (0, 16384), got \(k)") }
            return .reciprocalRank(k: k)
        case "weighted":
            guard let raw = params?.value("weights") else {
                throw MilvusError.missing("rerank.params.weights", "give one weight per sub-search, e.g. \"weights\": [0.7, 0.3]")
            }
            guard let list = raw as? [Any], let weights = list as? [NSNumber], !weights.contains(where: JSONBody.isBool) else {
                throw MilvusError.format("'rerank.params.weights' must be an array of numbers, got \(JSONBody.typeName(raw))")
            }
            guard weights.count == subSearches else {
                throw MilvusError.invalid("the length of weights param mismatch with ann search requests: invalid parameter[expected=\(subSearches)][actual=\(weights.count)]")
            }
            let w = weights.map(\.doubleValue)
            if let bad = w.first(where: { !($0 >= 0 && $0 <= 1) }) {
                throw MilvusError.invalid("rank param weight should be in range [0, 1], got \(bad)")
            }
            let normalize = try params?.bool("norm_score") ?? true
            return .weighted(w, normalization: normalize ? .arctan(metrics) : .none)
        default:
            throw MilvusError.invalid("unsupported rerank strategy '\(strategy)'; use \"rrf\" or \"weighted\"")
        }
    }
}
