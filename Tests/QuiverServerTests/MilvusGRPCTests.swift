import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Quiver
import QuiverMilvusWire
import QuiverTestSupport
import XCTest
@testable import QuiverServer

/// The Milvus gRPC endpoint with grpc-swift's generated client over a real socket (free port).
final class MilvusGRPCTests: XCTestCase {
    /// Runs `body` with a client of a fresh endpoint over a new store.
    func withEndpoint(apiKey: String? = nil, token: String? = nil,
                      _ body: @escaping @Sendable (MVMilvusService.Client<HTTP2ClientTransport.Posix>) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("milvus-grpc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = ServerConfiguration()
        config.databasePath = dir.path
        config.apiKey = apiKey
        config.modelHome = .init(root: TestPaths.modelHome)
        let server = QuiverServer(configuration: config)
        let endpoint = server.makeMilvusEndpoint(host: "127.0.0.1", port: 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            let port = try await endpoint.listeningPort()
            do {
                try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { grpc in
                    try await body(MVMilvusService.Client(wrapping: grpc))
                }
            } catch {
                endpoint.stop()
                throw error
            }
            endpoint.stop()
            try await group.waitForAll()
        }
        try await server.closeStore()
    }

    static func schemaBytes(_ fields: [MVFieldSchema], dynamic: Bool = true, functions: [MVFunctionSchema] = []) throws -> Data {
        var s = MVCollectionSchema()
        s.fields = fields
        s.enableDynamicField = dynamic
        s.functions = functions
        return try s.serializedBytes()
    }

    static func field(_ name: String, _ type: Int32, primary: Bool = false, params: [String: String] = [:]) -> MVFieldSchema {
        var f = MVFieldSchema()
        f.name = name
        f.dataType = type
        f.isPrimaryKey = primary
        f.typeParams = params.map { MilvusWireSchema.kv($0.key, $0.value) }
        return f
    }

    static func floatColumn(_ name: String, _ rows: [[Float]]) -> MVFieldData {
        var d = MVFieldData()
        d.fieldName = name
        d.type = MilvusDataType.floatVector
        var v = MVVectorField()
        v.dim = Int64(rows[0].count)
        var a = MVFloatArray(); a.data = rows.flatMap { $0 }
        v.floatVector = a
        d.vectors = v
        return d
    }

    static func placeholder(_ queries: [[Float]]) throws -> Data {
        var p = MVPlaceholderValue()
        p.tag = "$0"
        p.type = 101
        p.values = queries.map { q in q.withUnsafeBytes { Data($0) } }
        var g = MVPlaceholderGroup(); g.placeholders = [p]
        return try g.serializedBytes()
    }

    func testCollectionLifecycleInsertQuerySearch() async throws {
        try await withEndpoint { milvus in
            // Missing collection: code 100, legacy CollectionNotExists (pymilvus' has_collection reads these).
            var describe = MVDescribeCollectionRequest(); describe.collectionName = "books"
            var r = try await milvus.describeCollection(describe)
            XCTAssertEqual(r.status.code, 100)
            XCTAssertEqual(r.status.errorCode, 4)

            var create = MVCreateCollectionRequest()
            create.collectionName = "books"
            create.schema = try Self.schemaBytes([
                Self.field("id", MilvusDataType.int64, primary: true),
                Self.field("year", MilvusDataType.int32),
                Self.field("v", MilvusDataType.floatVector, params: ["dim": "3"]),
            ])
            let created = try await milvus.createCollection(create)
            XCTAssertEqual(created.code, 0, created.reason)
            var index = MVCreateIndexRequest()
            index.collectionName = "books"; index.fieldName = "v"
            index.extraParams = [MilvusWireSchema.kv("metric_type", "L2"), MilvusWireSchema.kv("index_type", "FLAT")]
            let indexed = try await milvus.createIndex(index)
            XCTAssertEqual(indexed.code, 0, indexed.reason)

            r = try await milvus.describeCollection(describe)
            XCTAssertEqual(r.status.code, 0)
            XCTAssertEqual(r.schema.fields.map(\.name), ["id", "year", "v"])
            XCTAssertEqual(r.schema.fields.map(\.dataType), [5, 4, 101], "the client's Int32 is described back as Int32")

            var insert = MVInsertRequest()
            insert.collectionName = "books"
            var ids = MVFieldData(); ids.fieldName = "id"; ids.type = 5
            var longs = MVLongArray(); longs.data = [1, 2, 3]
            var s = MVScalarField(); s.longData = longs; ids.scalars = s
            var years = MVFieldData(); years.fieldName = "year"; years.type = 4
            var ints = MVIntArray(); ints.data = [1999, 2005, 2011]
            var ys = MVScalarField(); ys.intData = ints; years.scalars = ys
            var meta = MVFieldData(); meta.fieldName = "$meta"; meta.type = 23; meta.isDynamic = true
            var js = MVJSONArray(); js.data = [#"{"tag": "a"}"#, #"{"tag": "b"}"#, #"{"tag": "a"}"#].map { Data($0.utf8) }
            var ms = MVScalarField(); ms.jsonData = js; meta.scalars = ms
            insert.fieldsData = [ids, years, Self.floatColumn("v", [[0, 0, 0], [1, 0, 0], [5, 0, 0]]), meta]
            insert.numRows = 3
            let inserted = try await milvus.insert(insert)
            XCTAssertEqual(inserted.status.code, 0, inserted.status.reason)
            XCTAssertEqual(inserted.insertCnt, 3)
            XCTAssertEqual(inserted.ids.intID.data, [1, 2, 3])

            // count(*) with a filter on a dynamic key.
            var count = MVQueryRequest()
            count.collectionName = "books"; count.expr = #"tag == "a""#; count.outputFields = ["count(*)"]
            let counted = try await milvus.query(count)
            XCTAssertEqual(counted.fieldsData.first?.scalars.longData.data, [2])

            // Query with limit/offset and output fields: the primary key always, Int32 as int_data, the dynamic key in $meta.
            var query = MVQueryRequest()
            query.collectionName = "books"; query.expr = "year > 1990"; query.outputFields = ["year", "tag"]
            query.queryParams = [MilvusWireSchema.kv("limit", "2"), MilvusWireSchema.kv("offset", "1")]
            let q = try await milvus.query(query)
            XCTAssertEqual(q.status.code, 0, q.status.reason)
            XCTAssertEqual(q.fieldsData.first { $0.fieldName == "id" }?.scalars.longData.data, [2, 3])
            XCTAssertEqual(q.fieldsData.first { $0.fieldName == "year" }?.scalars.intData.data, [2005, 2011])
            let metaCol = q.fieldsData.first { $0.isDynamic }
            XCTAssertEqual(metaCol?.scalars.jsonData.data.map { String(decoding: $0, as: UTF8.self) }, [#"{"tag": "b"}"#, #"{"tag": "a"}"#])
            XCTAssertEqual(q.outputFields, ["id", "year", "tag"])

            // Search (L2: squared distances, nearest first) with a filter.
            var search = MVSearchRequest()
            search.collectionName = "books"
            search.placeholderGroup = try Self.placeholder([[4, 0, 0]])
            search.dslType = 1
            search.searchParams = [MilvusWireSchema.kv("topk", "2"), MilvusWireSchema.kv("metric_type", "L2"), MilvusWireSchema.kv("params", "{}")]
            search.outputFields = ["year"]
            search.nq = 1
            var found = try await milvus.search(search)
            XCTAssertEqual(found.status.code, 0, found.status.reason)
            XCTAssertEqual(found.results.ids.intID.data, [3, 2])
            XCTAssertEqual(found.results.scores, [1, 9])
            XCTAssertEqual(found.results.topks, [2])
            XCTAssertEqual(found.results.fieldsData.first?.scalars.intData.data, [2011, 2005])
            search.dsl = "year < 2010"
            found = try await milvus.search(search)
            XCTAssertEqual(found.results.ids.intID.data, [2, 1])

            // Metric that is not the collection's: 1100.
            search.searchParams = [MilvusWireSchema.kv("topk", "2"), MilvusWireSchema.kv("metric_type", "IP")]
            found = try await milvus.search(search)
            XCTAssertEqual(found.status.code, 1100)

            // Delete by expression answers the deleted keys.
            var delete = MVDeleteRequest(); delete.collectionName = "books"; delete.expr = "id in [1, 3]"
            let deleted = try await milvus.delete(delete)
            XCTAssertEqual(deleted.ids.intID.data, [1, 3])
            XCTAssertEqual(deleted.deleteCnt, 2)

            var describeIndex = MVDescribeIndexRequest(); describeIndex.collectionName = "books"
            let indexes = try await milvus.describeIndex(describeIndex)
            XCTAssertEqual(indexes.indexDescriptions.map(\.fieldName), ["v"])
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: indexes.indexDescriptions[0].params.map { ($0.key, $0.value) })["metric_type"], "L2")

            var release = MVReleaseCollectionRequest(); release.collectionName = "books"
            _ = try await milvus.releaseCollection(release)
            var state = MVGetLoadStateRequest(); state.collectionName = "books"
            let st1 = try await milvus.getLoadState(state).state
            XCTAssertEqual(st1, 1)
            let refused = try await milvus.query(count)
            XCTAssertEqual(refused.status.code, 101, "a released collection is not queried, as in Milvus")
            var load = MVLoadCollectionRequest(); load.collectionName = "books"
            _ = try await milvus.loadCollection(load)
            let st2 = try await milvus.getLoadState(state).state
            XCTAssertEqual(st2, 3)

            var show = MVShowCollectionsRequest()
            let listed = try await milvus.showCollections(show)
            XCTAssertEqual(listed.collectionNames, ["books"])
            var drop = MVDropCollectionRequest(); drop.collectionName = "books"
            _ = try await milvus.dropCollection(drop)
            show = MVShowCollectionsRequest()
            let after = try await milvus.showCollections(show)
            XCTAssertEqual(after.collectionNames, [])
        }
    }

    func testUnimplementedNamesTheMethodAndBM25IsRefused() async throws {
        try await withEndpoint { milvus in
            do {
                _ = try await milvus.hybridSearch(MVHybridSearchRequest())
                XCTFail("HybridSearch answered")
            } catch let e as RPCError {
                XCTAssertEqual(e.code, .unimplemented)
                XCTAssertTrue(e.message.contains("HybridSearch"), e.message)
            }
            var fn = MVFunctionSchema()
            fn.name = "bm25"; fn.type = 1; fn.inputFieldNames = ["text"]; fn.outputFieldNames = ["sparse"]
            var create = MVCreateCollectionRequest()
            create.collectionName = "bm"
            create.schema = try Self.schemaBytes([
                Self.field("id", 5, primary: true), Self.field("text", 21, params: ["max_length": "100"]),
                Self.field("v", 101, params: ["dim": "2"]),
            ], functions: [fn])
            let status = try await milvus.createCollection(create)
            XCTAssertEqual(status.code, 1100)
            XCTAssertTrue(status.reason.contains("BM25"), status.reason)
        }
    }

    func testTokenMustBeTheAPIKey() async throws {
        try await withEndpoint(apiKey: "s3cret") { milvus in
            do {
                _ = try await milvus.showCollections(MVShowCollectionsRequest())
                XCTFail("no token accepted")
            } catch let e as RPCError {
                XCTAssertEqual(e.code, .unauthenticated)
            }
            var md = Metadata()
            md.addString(Data("root:s3cret".utf8).base64EncodedString(), forKey: "authorization")
            let ok = try await milvus.showCollections(MVShowCollectionsRequest(), metadata: md)
            XCTAssertEqual(ok.status.code, 0)
            var bad = Metadata()
            bad.addString(Data("wrong".utf8).base64EncodedString(), forKey: "authorization")
            do {
                _ = try await milvus.showCollections(MVShowCollectionsRequest(), metadata: bad)
                XCTFail("wrong token accepted")
            } catch let e as RPCError {
                XCTAssertEqual(e.code, .unauthenticated)
            }
        }
    }

    func testTokenMatching() {
        let key = "k3y"
        XCTAssertTrue(MilvusTokenInterceptor.matches(Data("k3y".utf8).base64EncodedString(), key: key))
        XCTAssertTrue(MilvusTokenInterceptor.matches(Data("root:k3y".utf8).base64EncodedString(), key: key))
        XCTAssertFalse(MilvusTokenInterceptor.matches(Data("root:other".utf8).base64EncodedString(), key: key))
        XCTAssertFalse(MilvusTokenInterceptor.matches(Data("k3".utf8).base64EncodedString(), key: key))
    }

    func testHalfConversionRoundTrips() {
        for x: Float in [0, 1, -2.5, 0.333251953125, 65504, -0.000061035156] {
            XCTAssertEqual(Half.toFloat(Half.fromFloat(x)), x, "\(x) is exact in half precision")
        }
    }
}
