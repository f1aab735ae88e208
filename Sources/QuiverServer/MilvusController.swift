import Foundation
import Hummingbird
import Quiver
import QuiverStore

/// The subset of Milvus' RESTful API v2 that Quiver answers, over the server's database (the
/// embedded store or a Milvus server, as `any VectorDatabase`): every route is a POST
/// with a JSON body and answers `{"code": 0, "data": ...}` (entity routes add `"cost": 0`, search
/// adds `"topks"`), or `{"code": N, "message": "..."}` with HTTP 200 on failure, as Milvus does.
/// Request and response shapes follow Milvus' v2 handler (milvus-io/milvus
/// internal/distributed/proxy/httpserver, 2.5/2.6 line); `MilvusError` lists the codes.
///
/// Collections: `/v2/vectordb/collections/{create,describe,list,has,drop}`.
/// Entities: `/v2/vectordb/entities/{insert,upsert,delete,get,query,search,hybrid_search}`.
///
/// Every collection is bound to the model of its vectors (`raw` of the field's dimension for
/// vectors sent over this API): a vector of another dimension is refused, naming the field, its
/// dimension and the row.
///
/// Over a Milvus database everything but full-text (BM25) sub-searches of `hybrid_search` works
/// the same; those answer 1100 naming the collection and saying they need the embedded store.
struct MilvusController: Sendable {
    let stores: StoreHolder
    let configuration: ServerConfiguration

    typealias Handler = @Sendable (MilvusRequest, MilvusOutput) async throws -> String

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let routes: [(String, Handler)] = [
            ("collections/create", create), ("collections/describe", describe), ("collections/list", list),
            ("collections/has", has), ("collections/drop", drop),
            ("entities/insert", { try await write($0, $1, upsert: false) }),
            ("entities/upsert", { try await write($0, $1, upsert: true) }),
            ("entities/delete", delete), ("entities/get", get), ("entities/query", query), ("entities/search", search),
            ("entities/hybrid_search", hybridSearch),
        ]
        for (path, handler) in routes {
            router.post("/v2/vectordb/\(path)") { request, _ in
                do {
                    let bytes = try await request.bodyBytes(limit: configuration.maxBodyBytes)
                    let body: JSONBody
                    do { body = try JSONBody(bytes: bytes) } catch let e as APIError { throw MilvusError.format(e.message) }
                    var output = MilvusOutput()
                    if let allow = request.headers.first(where: { $0.name.canonicalName == "accept-type-allow-int64" }) {
                        output.int64AsString = allow.value.lowercased() == "false"
                    }
                    let milvusRequest = MilvusRequest(body.object)
                    try checkDatabase(milvusRequest)
                    return JSONText.response("{\"code\": 0, " + (try await handler(milvusRequest, output)) + "}")
                } catch {
                    return JSONText.response(MilvusError.from(error).json)
                }
            }
        }
    }

    /// Quiver serves one database: Milvus' `default` for the embedded store, the `--db-name` one
    /// (else `default`) for a Milvus server.
    func checkDatabase(_ body: MilvusRequest) throws {
        let served = stores.isMilvus ? (stores.connection.databaseName.flatMap { $0.isEmpty ? nil : $0 } ?? "default") : "default"
        if let db = try body.string("dbName"), !db.isEmpty, db != served {
            throw MilvusError(code: 800, message: "database not found[database=\(db)]: Quiver serves one database, '\(served)'")
        }
    }

    // MARK: collections

    func collectionName(_ body: MilvusRequest) throws -> String {
        try body.required("collectionName", hint: "name the collection, e.g. \"collectionName\": \"quick_setup\"")
    }

    /// Opens the named collection; 100 when it does not exist.
    func collection(_ body: MilvusRequest) async throws -> any VectorCollection {
        let name = try collectionName(body)
        do { return try await stores.get().openCollection(name) } catch StoreError.collectionNotFound {
            throw MilvusError.collectionNotFound(name)
        }
    }

    func create(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let name = try collectionName(body)
        let creation = try MilvusSchema.creation(body)
        let store = try await stores.get()
        let collection = try await store.makeCollection(name, schema: creation.schema)
        do {
            for index in creation.indexes {
                try await collection.createIndex(field: index.field, kind: index.kind, params: index.params)
            }
        } catch {
            // Milvus creates nothing when an index is refused; neither does Quiver.
            try? await store.dropCollection(name)
            throw error
        }
        return "\"data\": {}"
    }

    func describe(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let name = try collectionName(body)
        do {
            let info = try await stores.get().describeCollection(name)
            return "\"data\": " + MilvusSchema.describe(info) + ", \"message\": \"\""
        } catch StoreError.collectionNotFound { throw MilvusError.collectionNotFound(name) }
    }

    func list(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let names = try await stores.get().listCollections()
        return "\"data\": [" + names.map(JSONText.string).joined(separator: ", ") + "]"
    }

    func has(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let has = try await stores.get().hasCollection(try collectionName(body))
        return "\"data\": {\"has\": \(has)}"
    }

    /// Dropping a collection that does not exist succeeds, as in Milvus.
    func drop(_ body: MilvusRequest, _ output: MilvusOutput) async throws -> String {
        let name = try collectionName(body)
        do { try await stores.get().dropCollection(name) } catch StoreError.collectionNotFound {}
        return "\"data\": {}"
    }
}
