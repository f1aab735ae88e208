import Foundation
import GRPCCore
import Quiver
import QuiverMilvusWire
import QuiverStore

/// `milvus.proto.milvus.MilvusService` over the embedded store: the calls pymilvus 3.0.2's
/// `MilvusClient` makes, with Milvus 2.5/2.6 behaviour (status codes and reasons of Milvus'
/// `merr`, answered in the response's `status`, never as a gRPC error).
///
/// Collections: CreateCollection (schema bytes, TEXTEMBEDDING functions), DescribeCollection
/// (missing: code 100), HasCollection, ShowCollections, DropCollection. Indexes: CreateIndex
/// (AUTOINDEX, FLAT, HNSW, IVF_FLAT, IVF_SQ8; scalar indexes are recorded, not built),
/// DescribeIndex, DropIndex. Load: LoadCollection, GetLoadingProgress, GetLoadState,
/// ReleaseCollection (Quiver collections are always searchable; release only marks them).
/// Data: Insert, Upsert, Delete (by expression), Query (`count(*)`, limit, offset, output
/// fields), Search (float/float16/text placeholders, metric, ef, nprobe, radius, range_filter,
/// filters, output fields, group_by_field/group_size). Flush, GetFlushState, AllocTimestamp,
/// GetVersion, CheckHealth, Connect, ListDatabases (`default` only). HybridSearch, partitions,
/// aliases, users/roles and the other calls answer UNIMPLEMENTED naming the method.
struct MilvusGRPCService: MVMilvusService.SimpleServiceProtocol {
    let stores: StoreHolder
    let models: ModelCache
    let embeddings: TextEmbeddings
    let catalog: MilvusCatalog
    let configuration: ServerConfiguration

    init(stores: StoreHolder, models: ModelCache, embeddings: TextEmbeddings, configuration: ServerConfiguration) {
        self.stores = stores
        self.models = models
        self.embeddings = embeddings
        self.configuration = configuration
        self.catalog = MilvusCatalog(storePath: stores.path)
    }

    /// The version reported by GetVersion: the Milvus line whose behaviour is followed.
    static let milvusVersion = "v2.6.0"
    static let maxTopK = 16384

    // MARK: status

    static func status(_ error: Error) -> MVStatus {
        let e = MilvusError.from(error)
        var s = MVStatus()
        s.code = Int32(e.code)
        s.reason = e.message
        switch e.code {
        case 100: s.errorCode = 4       // CollectionNotExists
        case 700: s.errorCode = 25      // IndexNotExist
        case 1100, 1801, 1802, 1804, 1806: s.errorCode = 5  // IllegalArgument
        case 1800: s.errorCode = 3      // PermissionDenied
        default: s.errorCode = 1        // UnexpectedError
        }
        return s
    }

    /// Runs `body`; an error becomes the response's status.
    func answer<R: MilvusStatusCarrier>(_ body: () async throws -> R) async -> R {
        do { return try await body() } catch {
            var r = R()
            r.status = Self.status(error)
            return r
        }
    }

    func answerStatus(_ body: () async throws -> Void) async -> MVStatus {
        do { try await body(); return MVStatus() } catch { return Self.status(error) }
    }

    static func checkDatabase(_ db: String) throws {
        if !db.isEmpty && db != "default" {
            throw MilvusError(code: 800, message: "database not found[database=\(db)]: Quiver serves one database, 'default'")
        }
    }

    static func timestamp() -> UInt64 {
        // Milvus' hybrid timestamp: physical milliseconds << 18 | logical counter.
        UInt64(Date().timeIntervalSince1970 * 1000) << 18
    }

    // MARK: collections

    func collection(_ name: String, db: String = "") async throws -> Collection {
        try Self.checkDatabase(db)
        guard !name.isEmpty else { throw MilvusError.invalid("collection name should not be empty") }
        do { return try await stores.embedded().collection(name) } catch StoreError.collectionNotFound {
            throw MilvusError.collectionNotFound(name)
        }
    }

    /// The Milvus schema of a collection: the client's (kept at creation) or one derived from the store.
    func wireSchema(_ c: Collection) async -> (MVCollectionSchema, MilvusCollectionMeta?) {
        let meta = await catalog.meta(c.name, schema: c.schema)
        var s = meta?.schema ?? MilvusWireSchema.describe(c.schema, name: c.name)
        s.name = c.name
        var id: Int64 = 100
        for i in s.fields.indices {
            s.fields[i].fieldID = id; id += 1
            if s.fields[i].isPrimaryKey { s.fields[i].autoID = c.schema.primaryKey.autoID }
        }
        let outputs = Set(s.functions.flatMap(\.outputFieldNames))
        for i in s.fields.indices where outputs.contains(s.fields[i].name) { s.fields[i].isFunctionOutput = true }
        for i in s.functions.indices {
            s.functions[i].id = Int64(i + 1)
            s.functions[i].inputFieldIds = s.functions[i].inputFieldNames.compactMap { n in s.fields.first { $0.name == n }?.fieldID }
            s.functions[i].outputFieldIds = s.functions[i].outputFieldNames.compactMap { n in s.fields.first { $0.name == n }?.fieldID }
        }
        return (s, meta)
    }

    func functions(_ c: Collection) async throws -> [EmbeddingFunction] {
        guard let s = await catalog.meta(c.name, schema: c.schema)?.schema else { return [] }
        return try MilvusWireSchema.embeddingFunctions(s)
    }

    func createCollection(request: MVCreateCollectionRequest, context: ServerContext) async throws -> MVStatus {
        await answerStatus {
            try Self.checkDatabase(request.dbName)
            let name = request.collectionName
            var wire: MVCollectionSchema
            do { wire = try MVCollectionSchema(serializedBytes: request.schema) } catch {
                throw MilvusError.invalid("the schema of CreateCollection is not a serialized CollectionSchema: \(error)")
            }
            if !wire.name.isEmpty && wire.name != name {
                throw MilvusError.invalid("collection name [\(name)] does not match the schema name [\(wire.name)]")
            }
            wire.name = name
            wire.fields.removeAll { $0.isDynamic }
            let functions = try MilvusWireSchema.embeddingFunctions(wire)
            var bound: [String: EmbeddingModel] = [:]
            for fn in functions {
                let embedder = try await embedder(fn.model, function: fn.name)
                let field = wire.fields.first { $0.name == fn.output }!
                let dim = MilvusWireSchema.param(field.typeParams, "dim").flatMap { Int($0) } ?? 0
                guard dim == embedder.dimension else {
                    throw MilvusError.invalid("function '\(fn.name)': model \(embedder.modelName) makes \(embedder.dimension)-d vectors "
                                              + "but field '\(fn.output)' has dim=\(dim); declare dim=\(embedder.dimension)")
                }
                bound[fn.output] = EmbeddingModel(id: embedder.modelName, dimension: embedder.dimension, normalized: embedder.normalizesByDefault)
            }
            let schema = try MilvusWireSchema.storeSchema(wire, models: bound)
            let store = try await stores.embedded()
            if store.hasCollection(name) {
                // Milvus: creating an existing collection with the same schema succeeds.
                let existing = try await store.collection(name)
                let (old, _) = await wireSchema(existing)
                if MilvusCatalog.consistent(old, schema) && existing.schema.vectorFields.map(\.model) == schema.vectorFields.map(\.model) { return }
                throw MilvusError.invalid("create duplicate collection with different parameters, collection: \(name)")
            }
            _ = try await store.createCollection(name, schema: schema)
            var meta = MilvusCollectionMeta()
            meta.schema = wire
            meta.consistencyLevel = request.consistencyLevel
            meta.createdTimestamp = Self.timestamp()
            meta.collectionID = MilvusSchema.collectionID(name)
            do { try await catalog.save(name, meta) } catch {
                try? await store.dropCollection(name)
                throw MilvusError(code: 65535, message: "cannot write the Milvus schema of '\(name)' under \(catalog.folder): \(error)")
            }
        }
    }

    func embedder(_ model: String, function: String) async throws -> TextEmbedder {
        do { return try await models.embedder(for: model) } catch let e as APIError {
            throw MilvusError.invalid("function '\(function)': \(e.message). Quiver runs embedding functions itself with its own models "
                                      + "(whatever the provider param says); give model_name of an installed Quiver text model, "
                                      + "e.g. all-MiniLM-L6-v2")
        }
    }

    func dropCollection(request: MVDropCollectionRequest, context: ServerContext) async throws -> MVStatus {
        await answerStatus {
            try Self.checkDatabase(request.dbName)
            let store = try await stores.embedded()
            do { try await store.dropCollection(request.collectionName) } catch StoreError.collectionNotFound {}
            await catalog.remove(request.collectionName)
        }
    }

    func hasCollection(request: MVHasCollectionRequest, context: ServerContext) async throws -> MVBoolResponse {
        await answer {
            try Self.checkDatabase(request.dbName)
            var r = MVBoolResponse()
            r.status = MVStatus()
            r.value = try await stores.embedded().hasCollection(request.collectionName)
            return r
        }
    }

    func describeCollection(request: MVDescribeCollectionRequest, context: ServerContext) async throws -> MVDescribeCollectionResponse {
        await answer {
            let c = try await collection(request.collectionName, db: request.dbName)
            let (s, meta) = await wireSchema(c)
            var r = MVDescribeCollectionResponse()
            r.status = MVStatus()
            r.schema = s
            r.collectionName = c.name
            r.collectionID = meta?.collectionID ?? MilvusSchema.collectionID(c.name)
            r.shardsNum = 1
            r.numPartitions = 1
            r.consistencyLevel = meta?.consistencyLevel ?? 2
            r.createdTimestamp = meta?.createdTimestamp ?? 0
            r.createdUtcTimestamp = (meta?.createdTimestamp ?? 0) >> 18
            r.dbName = "default"
            r.virtualChannelNames = ["quiver-dml_0_\(r.collectionID)v0"]
            r.physicalChannelNames = ["quiver-dml_0"]
            return r
        }
    }

    func getCollectionStatistics(request: MVGetCollectionStatisticsRequest, context: ServerContext) async throws -> MVGetCollectionStatisticsResponse {
        await answer {
            let c = try await collection(request.collectionName, db: request.dbName)
            var r = MVGetCollectionStatisticsResponse()
            r.status = MVStatus()
            r.stats = [MilvusWireSchema.kv("row_count", String(try await c.count(filter: nil)))]
            return r
        }
    }

    func showCollections(request: MVShowCollectionsRequest, context: ServerContext) async throws -> MVShowCollectionsResponse {
        await answer {
            try Self.checkDatabase(request.dbName)
            var names = try await stores.embedded().listCollections()
            if !request.collectionNames.isEmpty { names = names.filter(request.collectionNames.contains) }
            var r = MVShowCollectionsResponse()
            r.status = MVStatus()
            r.collectionNames = names
            r.collectionIds = names.map(MilvusSchema.collectionID)
            r.createdTimestamps = names.map { _ in 0 }
            r.createdUtcTimestamps = names.map { _ in 0 }
            var loaded: [Int64] = []
            for n in names { loaded.append(await catalog.isReleased(n) ? 0 : 100) }
            r.inMemoryPercentages = loaded
            r.queryServiceAvailable = loaded.map { $0 == 100 }
            r.shardsNum = names.map { _ in 1 }
            return r
        }
    }

    func alterCollection(request: MVAlterCollectionRequest, context: ServerContext) async throws -> MVStatus {
        MVStatus.failure(MilvusError(code: 65535, message: "AlterCollection is not supported by Quiver: collection properties (TTL, mmap...) do not apply to the embedded store"))
    }

    // MARK: load

    func loadCollection(request: MVLoadCollectionRequest, context: ServerContext) async throws -> MVStatus {
        await answerStatus {
            let c = try await collection(request.collectionName, db: request.dbName)
            await catalog.setReleased(c.name, false)
        }
    }

    func releaseCollection(request: MVReleaseCollectionRequest, context: ServerContext) async throws -> MVStatus {
        await answerStatus {
            let c = try await collection(request.collectionName, db: request.dbName)
            await catalog.setReleased(c.name, true)
        }
    }

    func getLoadingProgress(request: MVGetLoadingProgressRequest, context: ServerContext) async throws -> MVGetLoadingProgressResponse {
        await answer {
            let c = try await collection(request.collectionName, db: request.dbName)
            var r = MVGetLoadingProgressResponse()
            r.status = MVStatus()
            r.progress = await catalog.isReleased(c.name) ? 0 : 100
            r.refreshProgress = r.progress
            return r
        }
    }

    func getLoadState(request: MVGetLoadStateRequest, context: ServerContext) async throws -> MVGetLoadStateResponse {
        await answer {
            try Self.checkDatabase(request.dbName)
            var r = MVGetLoadStateResponse()
            r.status = MVStatus()
            let store = try await stores.embedded()
            if !store.hasCollection(request.collectionName) { r.state = 0 } else {
                r.state = await catalog.isReleased(request.collectionName) ? 1 : 3
            }
            return r
        }
    }

    /// Milvus refuses reads of a released collection (101).
    func checkLoaded(_ c: Collection) async throws {
        if await catalog.isReleased(c.name) {
            throw MilvusError(code: 101, message: "collection not loaded[collection=\(c.name)]: call load_collection first")
        }
    }

    // MARK: indexes

    func createIndex(request: MVCreateIndexRequest, context: ServerContext) async throws -> MVStatus {
        await answerStatus {
            var c = try await collection(request.collectionName, db: request.dbName)
            var params: [String: String] = [:]
            for p in request.extraParams {
                if p.key == "params", let data = p.value.data(using: .utf8),
                   let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                    for (k, v) in object { params[k] = "\(v)" }
                } else {
                    params[p.key] = p.value
                }
            }
            let field = request.fieldName
            let schema = c.schema
            let declared = [schema.primaryKey.name] + schema.scalarFields.map(\.name) + schema.vectorFields.map(\.name)
            guard declared.contains(field) else {
                throw MilvusError.invalid("cannot create index on non-exist field: \(field)")
            }
            var indexName = request.indexName.isEmpty ? field : request.indexName
            if indexName.isEmpty { indexName = field }
            var meta = await catalog.meta(c.name, schema: schema) ?? MilvusCollectionMeta()
            if meta.schema == nil { meta.schema = MilvusWireSchema.describe(schema, name: c.name) }
            if let vi = schema.vectorFields.firstIndex(where: { $0.name == field }) {
                let kindText = (params["index_type"] ?? "AUTOINDEX").uppercased()
                var kind: IndexKind?
                if !["AUTOINDEX", ""].contains(kindText) {
                    guard let k = IndexKind(rawValue: kindText) else {
                        throw MilvusError.invalid("invalid index type: \(kindText) (Quiver builds AUTOINDEX, FLAT, HNSW, IVF_FLAT, IVF_SQ8)")
                    }
                    kind = k
                }
                if let m = params["metric_type"], !m.isEmpty {
                    let metric = try MilvusSchema.metricValue(m, what: "metric_type")
                    if metric != schema.vectorFields[vi].metric {
                        // The store fixes the metric at creation; an empty collection is made again with it.
                        guard try await c.count(filter: nil) == 0 else {
                            throw MilvusError.invalid("metric type \(metric.rawValue) for '\(field)' differs from the collection's "
                                                      + "\(schema.vectorFields[vi].metric.rawValue), and the collection holds entities; "
                                                      + "Quiver sets the metric while a collection is empty (create the index before inserting)")
                        }
                        var newSchema = schema
                        newSchema.vectorFields[vi].metric = metric
                        let store = try await stores.embedded()
                        try await store.dropCollection(c.name)
                        c = try await store.createCollection(c.name, schema: newSchema)
                    }
                }
                if let kind {
                    var build: [String: Double] = [:]
                    for (k, v) in params where !["index_type", "metric_type"].contains(k) {
                        guard let d = Double(v) else { throw MilvusError.invalid("index parameter \(k) must be a number", actual: v) }
                        build[k] = d
                    }
                    try await c.createIndex(field: field, kind: kind, params: build)
                } else if c.indexes().contains(where: { $0.field == field }) {
                    try await c.dropIndex(field: field)
                }
                if params["metric_type"] == nil { params["metric_type"] = c.schema.vectorFields[vi].metric.rawValue }
                if params["index_type"] == nil { params["index_type"] = "AUTOINDEX" }
            }
            meta.indexes.removeAll { $0.field == field || $0.name == indexName }
            meta.indexes.append(.init(field: field, name: indexName, params: params))
            try await catalog.save(c.name, meta)
        }
    }

    /// The declared indexes (kept ones, else the store's, else AUTOINDEX for each vector field of
    /// a collection made outside this endpoint).
    func indexList(_ c: Collection) async -> [MilvusCollectionMeta.Index] {
        if let meta = await catalog.meta(c.name, schema: c.schema) { return meta.indexes }
        return c.schema.vectorFields.map { v in
            let built = c.indexes().first { $0.field == v.name }
            var params = ["index_type": built?.kind.rawValue ?? "AUTOINDEX", "metric_type": v.metric.rawValue]
            for (k, x) in built?.params ?? [:] { params[k] = MilvusJSON.number(x) }
            return .init(field: v.name, name: v.name, params: params)
        }
    }

    func describeIndex(request: MVDescribeIndexRequest, context: ServerContext) async throws -> MVDescribeIndexResponse {
        await answer {
            let c = try await collection(request.collectionName, db: request.dbName)
            var list = await indexList(c)
            if !request.indexName.isEmpty { list = list.filter { $0.name == request.indexName } }
            else if !request.fieldName.isEmpty { list = list.filter { $0.field == request.fieldName } }
            guard !list.isEmpty else {
                throw MilvusError(code: 700, message: "index not found[collection=\(c.name)]"
                                  + (request.indexName.isEmpty ? "" : "[indexName=\(request.indexName)]"))
            }
            let count = Int64(try await c.count(filter: nil))
            var r = MVDescribeIndexResponse()
            r.status = MVStatus()
            r.indexDescriptions = list.map { i in
                var d = MVIndexDescription()
                d.indexName = i.name
                d.fieldName = i.field
                d.indexID = MilvusSchema.collectionID(c.name + "/" + i.name)
                d.params = i.params.sorted { $0.key < $1.key }.map { MilvusWireSchema.kv($0.key, $0.value) }
                d.indexedRows = count
                d.totalRows = count
                d.state = 3  // Finished
                return d
            }
            return r
        }
    }

    func dropIndex(request: MVDropIndexRequest, context: ServerContext) async throws -> MVStatus {
        await answerStatus {
            let c = try await collection(request.collectionName, db: request.dbName)
            var meta = await catalog.meta(c.name, schema: c.schema) ?? MilvusCollectionMeta()
            if meta.schema == nil { meta.schema = MilvusWireSchema.describe(c.schema, name: c.name); meta.indexes = await indexList(c) }
            let gone = meta.indexes.filter { request.indexName.isEmpty ? $0.field == request.fieldName : $0.name == request.indexName }
            meta.indexes.removeAll { g in gone.contains(g) }
            for g in gone where c.indexes().contains(where: { $0.field == g.field }) { try await c.dropIndex(field: g.field) }
            try await catalog.save(c.name, meta)
        }
    }

    // MARK: writes

    func write(_ name: String, db: String, columns: [MVFieldData], numRows: UInt32, upsert: Bool) async throws -> MVMutationResult {
        let c = try await collection(name, db: db)
        let functions = try await functions(c)
        var entities = try MilvusWireData.entities(columns, numRows: Int(numRows), schema: c.schema, upsert: upsert,
                                                   functionOutputs: Set(functions.map(\.output)))
        var models: [String: EmbeddingModel] = [:]
        for fn in functions {
            let texts = try MilvusWireData.texts(entities, field: fn.input, function: fn.name)
            let vectors = try await embed(texts, model: fn.model, function: fn.name)
            for i in entities.indices { entities[i].vectors[fn.output] = vectors[i] }
            models[fn.output] = c.schema.vectorFields.first { $0.name == fn.output }?.model
        }
        for v in c.schema.vectorFields where !entities.isEmpty && entities.contains(where: { $0.vectors[v.name] == nil }) {
            throw MilvusError.insertData("the vector field '\(v.name)' is missing (a \(v.dimension)-d vector per row)")
        }
        let keys: [PrimaryKey]
        do {
            keys = upsert ? try await c.upsert(entities, models: models) : try await c.insert(entities, models: models)
        } catch { throw MilvusError.from(error, insert: true) }
        var r = MVMutationResult()
        r.status = MVStatus()
        r.ids = MilvusWireData.ids(keys, type: c.schema.primaryKey.type)
        r.succIndex = (0..<UInt32(keys.count)).map { $0 }
        if upsert { r.upsertCnt = Int64(keys.count) } else { r.insertCnt = Int64(keys.count) }
        r.timestamp = Self.timestamp()
        return r
    }

    /// Embeds texts with a Quiver model in batches of 256 on a worker thread.
    func embed(_ texts: [String], model: String, function: String) async throws -> [[Float]] {
        let embedder = try await embedder(model, function: function)
        let threads = configuration.threads
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let batch = Array(texts[start..<min(texts.count, start + 256)])
            out += try await runBlocking { try embedder.embed(batch, truncate: true, threads: threads).vectors }
            start += 256
        }
        return out
    }

    func insert(request: MVInsertRequest, context: ServerContext) async throws -> MVMutationResult {
        await answer { try await write(request.collectionName, db: request.dbName, columns: request.fieldsData, numRows: request.numRows, upsert: false) }
    }

    func upsert(request: MVUpsertRequest, context: ServerContext) async throws -> MVMutationResult {
        await answer { try await write(request.collectionName, db: request.dbName, columns: request.fieldsData, numRows: request.numRows, upsert: true) }
    }

    func delete(request: MVDeleteRequest, context: ServerContext) async throws -> MVMutationResult {
        await answer {
            let c = try await collection(request.collectionName, db: request.dbName)
            let expr = request.expr.trimmingCharacters(in: .whitespaces)
            guard !expr.isEmpty else { throw MilvusError.invalid("expression should not be empty: give a filter or ids to delete") }
            let keys = try await c.query(filter: expr, limit: nil, offset: 0, outputFields: []).map(\.id)
            let n = keys.isEmpty ? 0 : try await c.delete(ids: keys)
            var r = MVMutationResult()
            r.status = MVStatus()
            r.ids = MilvusWireData.ids(keys, type: c.schema.primaryKey.type)
            r.deleteCnt = Int64(n)
            r.timestamp = Self.timestamp()
            return r
        }
    }

    func flush(request: MVFlushRequest, context: ServerContext) async throws -> MVFlushResponse {
        await answer {
            try Self.checkDatabase(request.dbName)
            var r = MVFlushResponse()
            r.status = MVStatus()
            r.dbName = "default"
            let ts = Self.timestamp()
            for name in request.collectionNames {
                let c = try await collection(name)
                try await c.flush()
                r.collSegIds[name] = MVLongArray()
                r.flushCollSegIds[name] = MVLongArray()
                r.collSealTimes[name] = Int64(Date().timeIntervalSince1970)
                r.collFlushTs[name] = ts
            }
            return r
        }
    }

    func getFlushState(request: MVGetFlushStateRequest, context: ServerContext) async throws -> MVGetFlushStateResponse {
        var r = MVGetFlushStateResponse()
        r.status = MVStatus()
        r.flushed = true  // Flush returns once the data is durable.
        return r
    }

    // MARK: query

    func query(request: MVQueryRequest, context: ServerContext) async throws -> MVQueryResults {
        await answer {
            let c = try await collection(request.collectionName, db: request.dbName)
            try await checkLoaded(c)
            if !request.partitionNames.isEmpty && request.partitionNames != ["_default"] {
                throw MilvusError.invalid("partition not found: Quiver collections have one partition, '_default'")
            }
            let params = Dictionary(request.queryParams.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            let limit = try params["limit"].map { try Self.int($0, "limit") }
            let offset = try params["offset"].map { try Self.int($0, "offset") } ?? 0
            let expr = request.expr.trimmingCharacters(in: .whitespaces)
            let filter = expr.isEmpty ? nil : expr
            var r = MVQueryResults()
            r.status = MVStatus()
            r.collectionName = c.name
            r.primaryFieldName = c.schema.primaryKey.name
            let fields = request.outputFields.map { $0.trimmingCharacters(in: .whitespaces) }
            if fields.count == 1, fields[0].lowercased() == "count(*)" {
                var col = MVFieldData()
                col.fieldName = "count(*)"
                col.type = MilvusDataType.int64
                var a = MVLongArray(); a.data = [Int64(try await c.count(filter: filter))]
                var s = MVScalarField(); s.longData = a
                col.scalars = s
                r.fieldsData = [col]
                r.outputFields = ["count(*)"]
                return r
            }
            if fields.contains(where: { $0.lowercased() == "count(*)" }) {
                throw MilvusError.invalid("count entities with pagination or other output fields is not allowed; ask count(*) alone")
            }
            if filter == nil && limit == nil {
                throw MilvusError.invalid("empty expression should be used with limit: give a filter, or a limit")
            }
            if let limit, limit < 0 || offset < 0 || offset + limit > Self.maxTopK {
                throw MilvusError.invalid("invalid max query result window, (offset+limit) should be in range [1, \(Self.maxTopK)], "
                                          + "but got offset \(offset) + limit \(limit)")
            }
            let (wire, _) = await wireSchema(c)
            let plan = try MilvusWireData.plan(fields, wire: wire, schema: c.schema, includePrimary: true)
            // Milvus answers a query in primary-key order (and pages in that order); the store
            // answers in insertion order (an upserted row moves to the end), so sort, then page.
            var rows = try await c.query(filter: filter, limit: nil, offset: 0, outputFields: plan.storeFields).sorted { $0.id < $1.id }
            rows = Array(rows.dropFirst(offset).prefix(limit ?? Int.max))
            r.fieldsData = MilvusWireData.columns(plan, schema: c.schema, rows: rows.map { ($0.id, $0.fields, $0.vectors) })
            r.outputFields = plan.names
            return r
        }
    }

    static func int(_ text: String, _ what: String) throws -> Int {
        guard let n = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw MilvusError.invalid("\(what) [\(text)] is invalid, should be an integer")
        }
        return n
    }

    // MARK: search

    func search(request: MVSearchRequest, context: ServerContext) async throws -> MVSearchResults {
        await answer { try await searchResults(request) }
    }

    func searchResults(_ request: MVSearchRequest) async throws -> MVSearchResults {
        let c = try await collection(request.collectionName, db: request.dbName)
        try await checkLoaded(c)
        let schema = c.schema
        var params = Dictionary(request.searchParams.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        var inner: [String: Any] = [:]
        if let p = params.removeValue(forKey: "params"), let data = p.data(using: .utf8), !p.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw MilvusError.invalid("search params must be a JSON object", actual: p)
            }
            inner = object
        }
        let annsName = params["anns_field"] ?? ""
        let field = try MilvusController(stores: stores, configuration: configuration).annsField(annsName, schema: schema)
        var group: MVPlaceholderGroup
        do { group = try MVPlaceholderGroup(serializedBytes: request.placeholderGroup) } catch {
            throw MilvusError.invalid("the placeholder group is not a serialized PlaceholderGroup: \(error)")
        }
        guard let holder = group.placeholders.first else { throw MilvusError.invalid("the search has no query data (empty placeholder group)") }
        var queries: [[Float]]
        var model: EmbeddingModel?
        switch holder.type {
        case 101:  // FloatVector
            queries = holder.values.map { Self.floats($0) }
        case 102:  // Float16Vector
            queries = holder.values.map { Half.floats($0) }
        case 21:  // VarChar: text, embedded with the field's model
            guard field.model.id != "none" else {
                throw MilvusError.invalid("field '\(field.name)' holds raw vectors (no embedding function): search it with vectors, not text")
            }
            let texts = holder.values.map { String(decoding: $0, as: UTF8.self) }
            // Query texts share forward passes with concurrent requests (EmbeddingBatcher).
            let function = "search on '\(field.name)'"
            queries = try await embeddings.embed(texts, with: try await embedder(field.model.id, function: function)).vectors
            model = field.model
        default:
            throw MilvusError.invalid("placeholder type \(holder.type) is not supported by Quiver (FloatVector 101, Float16Vector 102, VarChar text 21)")
        }
        for (i, q) in queries.enumerated() where q.count != field.dimension {
            throw MilvusError.invalid("the dimension of query \(i) is \(q.count); field '\(field.name)' has dim \(field.dimension)",
                                      expected: String(field.dimension), actual: String(q.count))
        }
        var req = SearchRequest(field: field.name, vectors: queries, model: model)
        req.limit = try Self.int(params["topk"] ?? params["limit"] ?? "10", "topk")
        req.offset = try params["offset"].map { try Self.int($0, "offset") } ?? 0
        guard (1...Self.maxTopK).contains(req.limit) else {
            throw MilvusError.invalid("topk [\(req.limit)] is invalid, it should be in range [1, \(Self.maxTopK)], but got \(req.limit)")
        }
        guard req.offset >= 0, req.offset + req.limit <= Self.maxTopK else {
            throw MilvusError.invalid("(offset+limit) should be in range [1, \(Self.maxTopK)], but got offset \(req.offset) + limit \(req.limit)")
        }
        let dsl = request.dsl.trimmingCharacters(in: .whitespaces)
        if !dsl.isEmpty { req.filter = dsl }
        let metricText = params["metric_type"] ?? (inner["metric_type"] as? String)
        if let metricText, !metricText.isEmpty {
            let metric = try MilvusSchema.metricValue(metricText, what: "metric_type")
            guard metric == field.metric else {
                throw MilvusError.invalid("metric type not match: invalid parameter[expected=\(field.metric.rawValue)][actual=\(metric.rawValue)]")
            }
        }
        let kind = c.indexes().first { $0.field == field.name }?.kind
        let used: Set<String> = switch kind {
        case .hnsw?: ["ef"]
        case .ivfFlat?, .ivfSQ8?: ["nprobe"]
        default: []
        }
        for (k, v) in inner {
            let number: Double? = (v as? NSNumber).map { $0.doubleValue } ?? (v as? String).flatMap(Double.init)
            switch k {
            case "radius": req.radius = number.map(Float.init)
            case "range_filter": req.rangeFilter = number.map(Float.init)
            default:
                if used.contains(k), let number { req.params[k] = number }
            }
        }
        let (wire, _) = await wireSchema(c)
        let plan = try MilvusWireData.plan(request.outputFields, wire: wire, schema: schema, includePrimary: false)
        req.outputFields = plan.storeFields
        let groupField = params["group_by_field"].flatMap { $0.isEmpty ? nil : $0 }
        var results: [[SearchHit]]
        if let groupField {
            let size = try params["group_size"].map { try Self.int($0, "group_size") } ?? 1
            results = try await MilvusController(stores: stores, configuration: configuration)
                .groupedSearch(c, req, by: groupField, groupSize: max(1, size))
        } else {
            results = try await c.search(req)
        }
        if let round = params["round_decimal"].flatMap({ Int($0) }), round >= 0 {
            let scale = Float(pow(10, Double(round)))
            results = results.map { $0.map { var h = $0; h.score = (h.score * scale).rounded() / scale; return h } }
        }
        let hits = results.flatMap { $0 }
        var data = MVSearchResultData()
        data.numQueries = Int64(queries.count)
        data.topK = Int64(req.limit)
        data.scores = hits.map(\.score)
        data.ids = MilvusWireData.ids(hits.map(\.id), type: schema.primaryKey.type)
        data.topks = results.map { Int64($0.count) }
        data.fieldsData = MilvusWireData.columns(plan, schema: schema, rows: hits.map { ($0.id, $0.fields, $0.vectors) })
        data.outputFields = plan.names
        data.primaryFieldName = schema.primaryKey.name
        if let groupField, let gf = wire.fields.first(where: { $0.name == groupField && !$0.isDynamic }) {
            var col = MVFieldData()
            col.fieldName = groupField
            col.type = gf.dataType
            col.scalars = MilvusWireData.scalarColumn(hits.map { $0.fields[groupField] ?? .null }, type: gf.dataType)
            data.groupByFieldValue = col
        }
        var r = MVSearchResults()
        r.status = MVStatus()
        r.results = data
        r.collectionName = c.name
        return r
    }

    static func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) }
        }
    }

    func hybridSearch(request: MVHybridSearchRequest, context: ServerContext) async throws -> MVSearchResults {
        throw RPCError(code: .unimplemented, message: "Quiver's Milvus endpoint does not implement HybridSearch (multi-vector search with "
                       + "rerankers); run one search per vector field")
    }

    // MARK: server

    func getVersion(request: MVGetVersionRequest, context: ServerContext) async throws -> MVGetVersionResponse {
        var r = MVGetVersionResponse()
        r.status = MVStatus()
        r.version = Self.milvusVersion
        return r
    }

    func checkHealth(request: MVCheckHealthRequest, context: ServerContext) async throws -> MVCheckHealthResponse {
        var r = MVCheckHealthResponse()
        r.status = MVStatus()
        do { _ = try await stores.embedded(); r.isHealthy = true } catch {
            r.isHealthy = false
            r.reasons = ["cannot open the store \(stores.path): \(error)"]
        }
        return r
    }

    func connect(request: MVConnectRequest, context: ServerContext) async throws -> MVConnectResponse {
        var r = MVConnectResponse()
        r.status = MVStatus()
        var info = MVServerInfo()
        info.buildTags = "quiver-" + configuration.version
        info.deployMode = "quiver"
        info.reserved = ["milvus_version": Self.milvusVersion]
        r.serverInfo = info
        r.identifier = Int64(Self.timestamp() >> 18)
        return r
    }

    func allocTimestamp(request: MVAllocTimestampRequest, context: ServerContext) async throws -> MVAllocTimestampResponse {
        var r = MVAllocTimestampResponse()
        r.status = MVStatus()
        r.timestamp = Self.timestamp()
        return r
    }

    func listDatabases(request: MVListDatabasesRequest, context: ServerContext) async throws -> MVListDatabasesResponse {
        var r = MVListDatabasesResponse()
        r.status = MVStatus()
        r.dbNames = ["default"]
        r.createdTimestamp = [0]
        r.dbIds = [1]
        return r
    }
}

/// Responses that carry a Milvus status (so one helper can answer an error in any of them).
protocol MilvusStatusCarrier { init(); var status: MVStatus { get set } }
extension MVBoolResponse: MilvusStatusCarrier {}
extension MVDescribeCollectionResponse: MilvusStatusCarrier {}
extension MVGetCollectionStatisticsResponse: MilvusStatusCarrier {}
extension MVShowCollectionsResponse: MilvusStatusCarrier {}
extension MVGetLoadingProgressResponse: MilvusStatusCarrier {}
extension MVGetLoadStateResponse: MilvusStatusCarrier {}
extension MVDescribeIndexResponse: MilvusStatusCarrier {}
extension MVMutationResult: MilvusStatusCarrier {}
extension MVQueryResults: MilvusStatusCarrier {}
extension MVSearchResults: MilvusStatusCarrier {}
extension MVFlushResponse: MilvusStatusCarrier {}

extension MVStatus {
    static func failure(_ e: MilvusError) -> MVStatus { MilvusGRPCService.status(e) }
}
