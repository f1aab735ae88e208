import XCTest
@testable import QuiverStore

final class SchemaTests: XCTestCase {
    func testJSONQuotingEscapesOnlyWhatJSONRequires() throws {
        let s = "a \"q\" \\ /path\n\t\r\u{01} é 😀"
        let q = JSONValue.quoted(s)
        XCTAssertEqual(q, "\"a \\\"q\\\" \\\\ /path\\n\\t\\r\\u0001 é 😀\"")
        XCTAssertEqual(try JSONDecoder().decode(String.self, from: Data(q.utf8)), s, "round-trips through a JSON parser")
    }

    func testSchemaValidationErrors() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        await assertStoreError("at least one vector field") {
            try await store.createCollection("c", schema: CollectionSchema(vectorFields: []))
        }
        await assertStoreError("dimension 0") {
            try await store.createCollection("c", schema: CollectionSchema(vectorFields: [VectorField(name: "v", dimension: 0)]))
        }
        await assertStoreError("field 'v' is declared twice") {
            try await store.createCollection("c", schema: CollectionSchema(vectorFields: [VectorField(name: "v", dimension: 4)],
                                                                           scalarFields: [ScalarField(name: "v", type: .int64)]))
        }
        await assertStoreError("automatic ids are Int64") {
            try await store.createCollection("c", schema: CollectionSchema(primaryKey: PrimaryKeyField(name: "pk", type: .string, autoID: true),
                                                                           vectorFields: [VectorField(name: "v", dimension: 4)]))
        }
        await assertStoreError("bound to model m which makes 8-d vectors") {
            try await store.createCollection("c", schema: CollectionSchema(vectorFields: [VectorField(name: "v", dimension: 4, model: EmbeddingModel(id: "m", dimension: 8))]))
        }
        await assertStoreError("default value") {
            try await store.createCollection("c", schema: CollectionSchema(vectorFields: [VectorField(name: "v", dimension: 4)],
                                                                           scalarFields: [ScalarField(name: "n", type: .int64, defaultValue: .string("x"))]))
        }
        await assertStoreError("may only hold ASCII letters") {
            try await store.createCollection("bad/name", schema: .quick(dimension: 4))
        }
        await assertStoreError("field name '$meta' may only hold") {
            try await store.createCollection("c", schema: CollectionSchema(vectorFields: [VectorField(name: "$meta", dimension: 4)]))
        }
        try await store.createCollection("c", schema: .quick(dimension: 4))
        await assertStoreError("collection 'c' already exists") { try await store.createCollection("c", schema: .quick(dimension: 4)) }
        await assertStoreError("collection 'nope' does not exist") { _ = try await store.collection("nope") }
        try await store.close()
    }

    func testModelBindingErrorsNameBothModels() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let schema = CollectionSchema(vectorFields: [VectorField(name: "embedding", dimension: 384, metric: .cosine,
                                                                 model: EmbeddingModel(id: "all-MiniLM-L6-v2", dimension: 384, normalized: true))])
        let docs = try await store.createCollection("docs", schema: schema)
        let clip = EmbeddingModel(id: "clip-vit-base-patch32", dimension: 512)
        await assertStoreError("collection 'docs' field 'embedding' holds all-MiniLM-L6-v2 vectors (384-d); these come from clip-vit-base-patch32 (512-d)") {
            try await docs.insert([Entity(id: .int(1), vectors: ["embedding": [Float](repeating: 0.1, count: 512)])], models: ["embedding": clip])
        }
        await assertStoreError("holds all-MiniLM-L6-v2 vectors (384-d); these come from other-model (384-d)") {
            _ = try await docs.search(SearchRequest(vectors: [[Float](repeating: 0.1, count: 384)], model: EmbeddingModel(id: "other-model", dimension: 384)))
        }
        await assertStoreError("holds all-MiniLM-L6-v2 vectors (384-d); entity 0 has a 3-d vector") {
            try await docs.insert([Entity(id: .int(1), vectors: ["embedding": [1, 2, 3]])])
        }
        await assertStoreError("query 0 has 2 values") {
            _ = try await docs.search(SearchRequest(vectors: [[1, 2]]))
        }
        // The right model is accepted.
        try await docs.insert([Entity(id: .int(1), vectors: ["embedding": testVector(1, dimension: 384)])],
                              models: ["embedding": EmbeddingModel(id: "all-MiniLM-L6-v2", dimension: 384)])
        let n = try await docs.count()
        XCTAssertEqual(n, 1)
        try await store.close()
    }

    func testEntityValidationErrors() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: docsSchema())
        let v = testVector(1, dimension: 8)
        await assertStoreError("entity 0 lacks required field 'age' (Int64)") { try await c.insert([Entity(id: .int(1), vectors: ["embedding": v])]) }
        await assertStoreError("field 'age' must be Int64") {
            try await c.insert([Entity(id: .int(1), vectors: ["embedding": v], fields: ["age": .string("x")])])
        }
        await assertStoreError("entity 0 has no vector for field 'embedding'") { try await c.insert([Entity(id: .int(1), vectors: [:], fields: ["age": .int(1)])]) }
        await assertStoreError("NaN") {
            try await c.insert([Entity(id: .int(1), vectors: ["embedding": [Float.nan] + v.dropFirst()], fields: ["age": .int(1)])])
        }
        await assertStoreError("entity 0 has no primary key 'id'") { try await c.insert([Entity(id: nil, vectors: ["embedding": v], fields: ["age": .int(1)])]) }
        await assertStoreError("is not of type Int64") { try await c.insert([Entity(id: .string("a"), vectors: ["embedding": v], fields: ["age": .int(1)])]) }
        try await c.insert([docsEntity(1)])
        await assertStoreError("primary key 1 already exists; use upsert") { try await c.insert([docsEntity(1)]) }
        await assertStoreError("entity 1 repeats primary key 2") { try await c.insert([docsEntity(2), docsEntity(2)]) }

        let strict = try await store.createCollection("strict", schema: CollectionSchema(vectorFields: [VectorField(name: "v", dimension: 2)], enableDynamicField: false))
        await assertStoreError("field 'color' is not in the schema and the collection has no dynamic field") {
            try await strict.insert([Entity(id: .int(1), vectors: ["v": [1, 2]], fields: ["color": .string("red")])])
        }
        let auto = try await store.createCollection("auto", schema: CollectionSchema(primaryKey: PrimaryKeyField(autoID: true), vectorFields: [VectorField(name: "v", dimension: 2)]))
        await assertStoreError("is automatic; entity 0 must not give one") { try await auto.insert([Entity(id: .int(5), vectors: ["v": [1, 2]])]) }
        let ids = try await auto.insert([Entity(id: nil, vectors: ["v": [1, 2]]), Entity(id: nil, vectors: ["v": [3, 4]])])
        XCTAssertEqual(ids, [.int(1), .int(2)])
        try await store.close()
    }
}
