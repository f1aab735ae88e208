import Foundation
import XCTest
import QuiverStore
@testable import QuiverMilvus

/// The same operations against the embedded store and each configured Milvus server; the
/// answers must be equal (ids and fields exactly, scores to 1e-4).
final class BehaviourTests: XCTestCase {
    static let model = EmbeddingModel(id: "test-model-8", dimension: 8, normalized: false)

    static var schema: CollectionSchema {
        CollectionSchema(primaryKey: PrimaryKeyField(name: "id", type: .int64),
                         vectorFields: [VectorField(name: "vector", dimension: 8, metric: .cosine, model: model)],
                         scalarFields: [ScalarField(name: "title", type: .string, maxLength: 64),
                                        ScalarField(name: "year", type: .int64),
                                        ScalarField(name: "rating", type: .double),
                                        ScalarField(name: "flag", type: .bool),
                                        ScalarField(name: "meta", type: .json)],
                         enableDynamicField: true, description: "behaviour suite")
    }

    static func entities(_ range: Range<Int>, yearShift: Int64 = 0) -> [Entity] {
        let vs = vectors(range.upperBound, dim: 8, seed: 7)
        return range.map { i in
            Entity(id: .int(Int64(i)), vector: vs[i], fields: [
                "title": .string("doc \(i)"), "year": .int(2000 + Int64(i % 25) + yearShift), "rating": .double(Double(i) / 4),
                "flag": .bool(i % 3 == 0), "meta": .json(.object(["n": .number(Double(i)), "tags": .array([.string("t\(i % 4)")])])),
                "tag": .string("g\(i % 5)"),
            ])
        }
    }

    /// Everything the scenario observed, part by part.
    struct Observed {
        /// What was observed, its text, and an equality test against another observation.
        var parts: [(name: String, text: String, equals: (Any) -> Bool, value: Any)] = []
        mutating func add<T: Equatable>(_ what: String, _ v: T) {
            parts.append((what, "\(v)", { ($0 as? T) == v }, v))
        }
        subscript(_ what: String) -> String? { parts.first { $0.name == what }?.text }
    }

    func crud(_ db: any VectorDatabase, _ name: String) async throws -> Observed {
        var o = Observed()
        let c = try await db.makeCollection(name, schema: Self.schema)
        o.add("schema", try await db.describeCollection(name).schema == Self.schema)
        o.add("insert ids", try await c.insert(Self.entities(0..<40), models: ["vector": Self.model]))
        o.add("count", try await c.count(filter: nil, where: nil))
        o.add("count filter", try await c.count(filter: "year >= 2010 and flag == true", where: nil))
        o.add("query limit offset", try await c.query(filter: "year > 2003", where: nil, limit: 5, offset: 3, outputFields: ["title", "year"]))
        o.add("query dynamic", try await c.query(filter: "tag == \"g2\"", where: nil, limit: nil, offset: 0, outputFields: ["tag", "meta"]))
        o.add("query json path", try await c.query(filter: "meta[\"n\"] < 4", where: nil, limit: nil, offset: 0, outputFields: ["*"]))
        let qs = vectors(3, dim: 8, seed: 99)
        o.add("search", summarize(try await c.search(SearchRequest(vectors: qs, limit: 5, outputFields: ["title"]))))
        o.add("search filter", summarize(try await c.search(SearchRequest(vectors: qs, limit: 4, filter: "rating < 5", outputFields: ["year", "tag"]))))
        o.add("search offset", summarize(try await c.search(SearchRequest(vectors: [qs[0]], limit: 3, offset: 2))))
        o.add("search range", summarize(try await c.search(SearchRequest(vectors: [qs[1]], limit: 10, radius: 0.2, rangeFilter: 0.9))))
        let dupe = await Self.error { try await c.insert(Self.entities(5..<6), models: [:]) }
        o.add("insert existing id", dupe)
        o.add("upsert", try await c.upsert(Self.entities(10..<15, yearShift: 100), models: ["vector": Self.model]))
        o.add("count after upsert", try await c.count(filter: nil, where: nil))
        o.add("get", try await c.get(ids: [.int(12), .int(999), .int(3)], outputFields: ["year", "tag"]))
        o.add("delete ids", try await c.delete(ids: [.int(1), .int(2), .int(999)]))
        o.add("delete filter", try await c.delete(filter: "year < 2005"))
        o.add("count after delete", try await c.count(filter: nil, where: nil))
        var all = try await c.query(filter: nil, where: nil, limit: nil, offset: 0, outputFields: ["*", "vector"])
        all.sort { $0.id < $1.id }
        o.add("all rows", all)
        o.add("search after writes", summarize(try await c.search(SearchRequest(vectors: qs, limit: 6, filter: "year > 2100 or flag == true", outputFields: ["year"]))))
        o.add("model mismatch insert", await Self.error { try await c.insert(Self.entities(50..<51), models: ["vector": EmbeddingModel(id: "other", dimension: 8)]) })
        o.add("model mismatch search", await Self.error { try await c.search(SearchRequest(vectors: [qs[0]], model: EmbeddingModel(id: "other", dimension: 8))) })
        o.add("wrong width", await Self.error { try await c.insert([Entity(id: .int(77), vector: [1, 2], fields: ["title": .string("x"), "year": .int(1), "rating": .double(1), "flag": .bool(true), "meta": .json(.null)])], models: [:]) })
        o.add("missing field", await Self.error { try await c.insert([Entity(id: .int(78), vector: qs[0], fields: [:])], models: [:]) })
        o.add("delete all", try await c.delete(filter: ""))
        o.add("count empty", try await c.count(filter: nil, where: nil))
        try await db.dropCollection(name)
        return o
    }

    static func error(_ body: () async throws -> Any) async -> String {
        do { _ = try await body(); return "no error" } catch { return "\(error)" }
    }

    func compare(_ scenario: (any VectorDatabase, String) async throws -> Observed, test: String,
                 consistency: MilvusConsistency = .strong) async throws -> Observed {
        // One name for every backend, so messages that name the collection compare equal.
        let name = uniqueName(test)
        let embedded = try await Backend.embedded.open()!
        let reference = try await scenario(embedded, name)
        try await embedded.close()
        var ran = 0
        for b in Backend.servers {
            guard let db = try await b.open(consistency: consistency) else { continue }
            ran += 1
            let got = try await scenario(db, name)
            XCTAssertEqual(got.parts.count, reference.parts.count)
            for (r, g) in zip(reference.parts, got.parts) {
                XCTAssertEqual(g.name, r.name)
                XCTAssertTrue(r.equals(g.value), "\(b.rawValue) differs from the embedded store in '\(r.name)':\n  \(b.rawValue): \(g.text)\n  embedded: \(r.text)")
            }
            try await db.close()
        }
        if ran == 0 { print("BehaviourTests.\(test): no Milvus server configured; ran the embedded store only") }
        return reference
    }

    func testCrudSearchParity() async throws {
        let r = try await compare(crud, test: "crud")
        let d = r
        // The embedded answers themselves are what the scenario expects.
        XCTAssertEqual(d["schema"], "true")
        XCTAssertEqual(d["count"], "40")
        XCTAssertEqual(d["delete ids"], "2")
        XCTAssertEqual(d["count empty"], "0")
        XCTAssertTrue(d["insert existing id"]!.contains("already exists"))
        XCTAssertTrue(d["model mismatch insert"]!.contains("holds test-model-8 vectors"))
    }

    /// Session consistency still reads this store's own writes at once.
    func testCrudSearchParityWithSessionConsistency() async throws {
        let r = try await compare(crud, test: "crudsession", consistency: .session)
        XCTAssertEqual(r["count"], "40")
    }

    func indexes(_ db: any VectorDatabase, _ name: String) async throws -> Observed {
        var o = Observed()
        var schemas: [(String, Metric)] = [("l2", .l2), ("ip", .innerProduct)]
        schemas.append(("cos", .cosine))
        for (suffix, metric) in schemas {
            let n = name + "_" + suffix
            let c = try await db.makeCollection(n, schema: .quick(dimension: 16, metric: metric))
            let vs = vectors(300, dim: 16, seed: 3)
            _ = try await c.insert(vs.enumerated().map { Entity(id: .int(Int64($0.offset)), vector: $0.element, fields: ["k": .int(Int64($0.offset % 7))]) }, models: [:])
            let qs = vectors(2, dim: 16, seed: 11)
            o.add("\(suffix) exact", summarize(try await c.search(SearchRequest(vectors: qs, limit: 5))))
            let radius: Float = metric == .l2 ? 9 : 0.5
            o.add("\(suffix) range", summarize(try await c.search(SearchRequest(vectors: [qs[0]], limit: 50, radius: radius))))
            o.add("\(suffix) no index", try await c.indexes())
            try await c.createIndex(field: nil, kind: .hnsw, params: ["M": 16, "efConstruction": 200])
            o.add("\(suffix) hnsw index", try await c.indexes())
            o.add("\(suffix) hnsw", summarize(try await c.search(SearchRequest(vectors: qs, limit: 5, params: ["ef": 300]))))
            try await c.createIndex(field: nil, kind: .ivfFlat, params: ["nlist": 4])
            o.add("\(suffix) ivf index", try await c.indexes())
            o.add("\(suffix) ivf", summarize(try await c.search(SearchRequest(vectors: qs, limit: 5, filter: "k != 3", params: ["nprobe": 4]))))
            try await c.dropIndex(field: nil)
            o.add("\(suffix) dropped", try await c.indexes())
            o.add("\(suffix) after drop", summarize(try await c.search(SearchRequest(vectors: qs, limit: 5))))
            o.add("\(suffix) drop again", await Self.error { try await c.dropIndex(field: nil) })
            try await db.dropCollection(n)
        }
        return o
    }

    func testIndexesAndMetricsParity() async throws {
        let r = try await compare(indexes, test: "index")
        let d = r
        XCTAssertEqual(d["l2 no index"], "[]")
        XCTAssertEqual(d["l2 exact"], d["l2 hnsw"])  // 300 vectors, ef 300: HNSW finds the exact neighbours
        XCTAssertEqual(d["cos exact"], d["cos after drop"])
    }

    func catalog(_ db: any VectorDatabase, _ name: String) async throws -> Observed {
        var o = Observed()
        o.add("has before", try await db.hasCollection(name))
        o.add("open missing", await Self.error { try await db.openCollection(name) })
        o.add("drop missing", await Self.error { try await db.dropCollection(name) })
        o.add("describe missing", await Self.error { try await db.describeCollection(name) })
        let s = CollectionSchema(primaryKey: PrimaryKeyField(name: "key", type: .string), vectorFields: [VectorField(name: "emb", dimension: 4, metric: .l2, model: EmbeddingModel(id: "m4", dimension: 4, normalized: true))],
                                 scalarFields: [ScalarField(name: "body", type: .string, nullable: false, defaultValue: .string("none"), maxLength: 100)], enableDynamicField: false, description: "strings")
        let c = try await db.makeCollection(name, schema: s)
        o.add("has after", try await db.hasCollection(name))
        o.add("listed", try await db.listCollections().contains(name))
        o.add("exists", await Self.error { try await db.makeCollection(name, schema: s) })
        o.add("bad schema", await Self.error { try await db.makeCollection(name + "x", schema: CollectionSchema(vectorFields: [])) })
        _ = try await c.insert([Entity(id: .string("a\"b"), vectors: ["emb": [1, 0, 0, 0]]), Entity(id: .string("c"), vectors: ["emb": [0, 1, 0, 0]], fields: ["body": .string("text")])], models: ["emb": EmbeddingModel(id: "m4", dimension: 4, normalized: true)])
        o.add("dynamic off", await Self.error { try await c.insert([Entity(id: .string("d"), vectors: ["emb": [0, 0, 1, 0]], fields: ["other": .int(1)])], models: [:]) })
        o.add("rows", try await c.query(filter: nil, where: nil, limit: nil, offset: 0, outputFields: ["*"]))
        o.add("get quoted", try await c.get(ids: [.string("a\"b")], outputFields: ["body", "emb"]))
        o.add("search", summarize(try await c.search(SearchRequest(vectors: [[1, 0.5, 0, 0]], limit: 2, outputFields: ["body"]))))
        let reopened = try await db.openCollection(name)
        o.add("reopened schema", reopened.schema == s)
        o.add("describe", try await db.describeCollection(name).count)
        try await db.dropCollection(name)
        o.add("has dropped", try await db.hasCollection(name))
        return o
    }

    func testCatalogAndStringKeysParity() async throws {
        let r = try await compare(catalog, test: "catalog")
        let d = r
        XCTAssertEqual(d["has before"], "false")
        XCTAssertTrue(d["open missing"]!.contains("does not exist"))
        XCTAssertTrue(d["exists"]!.contains("already exists"))
        XCTAssertEqual(d["reopened schema"], "true")
    }

    /// `openCollections` (one listing on Milvus, handles reused while the collection is the same):
    /// a collection dropped and made again under its name with another model is seen with its new
    /// binding, never through the old handle.
    func reopening(_ db: any VectorDatabase, _ name: String) async throws -> Observed {
        var o = Observed()
        let other = EmbeddingModel(id: "other-model-8", dimension: 8, normalized: false)
        _ = try await db.makeCollection(name, schema: Self.schema)
        let first = try await db.openCollections([name, name + "_missing"])
        o.add("names", first.keys.sorted())
        _ = try await first[name]!.insert(Self.entities(0..<5), models: ["vector": Self.model])
        let again = try await db.openCollections([name])
        o.add("same binding", again[name]?.schema.vectorFields[0].model.id)
        o.add("count", try await again[name]!.count(filter: nil, where: nil))
        try await db.dropCollection(name)
        var remade = Self.schema
        remade.vectorFields[0].model = other
        _ = try await db.makeCollection(name, schema: remade)
        let after = try await db.openCollections([name])
        o.add("new binding", after[name]?.schema.vectorFields[0].model.id)
        o.add("new count", try await after[name]!.count(filter: nil, where: nil))
        o.add("old model refused", await Self.error {
            try await after[name]!.search(SearchRequest(vectors: vectors(1, dim: 8, seed: 5), model: Self.model, limit: 1))
        })
        try await db.dropCollection(name)
        o.add("gone", try await db.openCollections([name]).keys.sorted())
        return o
    }

    func testOpenCollectionsSeesACollectionMadeAgain() async throws {
        let r = try await compare(reopening, test: "reopen")
        XCTAssertFalse(r["names"]?.contains("_missing") ?? true, r["names"] ?? "")
        XCTAssertTrue(r["names"]?.contains("qv_") ?? false, r["names"] ?? "")
        XCTAssertEqual(r["same binding"], "Optional(\"test-model-8\")")
        XCTAssertEqual(r["new binding"], "Optional(\"other-model-8\")")
        XCTAssertEqual(r["count"], "5")
        XCTAssertEqual(r["new count"], "0")
        XCTAssertTrue(r["old model refused"]?.contains("other-model-8") ?? false, r["old model refused"] ?? "")
        XCTAssertEqual(r["gone"], "[]")
    }

    /// On Milvus a second `openCollections` of an unchanged collection reuses the handle (no
    /// describe, no load check): what makes a `Searcher` query one listing plus the search.
    /// Milvus Lite 3.2.2 lists no collection ids (and describes id 0), so it gets no reuse: each
    /// call describes (still one listing instead of a HasCollection per name).
    func testOpenCollectionsReusesTheHandleOnMilvus() async throws {
        for b in Backend.servers where b == .standalone {
            guard let db = try await b.open() else { continue }
            let name = uniqueName("reuse")
            _ = try await db.makeCollection(name, schema: Self.schema)
            let a = try await db.openCollections([name])[name]
            let c = try await db.openCollections([name])[name]
            XCTAssertNotNil(a)
            XCTAssertTrue(a.map { $0 as AnyObject } === c.map { $0 as AnyObject }, "\(b.rawValue): a new handle for an unchanged collection")
            try await db.dropCollection(name)
            try await db.close()
        }
    }

    /// `scan` pages through every entity once, whatever the insertion order of the keys (Milvus
    /// pages by key, past its 16,384 query window; the embedded store by insertion order).
    func scanning(_ db: any VectorDatabase, _ name: String) async throws -> Observed {
        var o = Observed()
        let c = try await db.makeCollection(name, schema: .quick(dimension: 4, metric: .l2))
        var ids = Array(0..<2500)
        var g = SystemRandomNumberGenerator()
        ids.shuffle(using: &g)
        for part in stride(from: 0, to: ids.count, by: 1000) {
            _ = try await c.insert(ids[part..<min(part + 1000, ids.count)].map { Entity(id: .int(Int64($0)), vector: [Float($0), 1, 0, 0]) }, models: [:])
        }
        var seen: [PrimaryKey] = [], pages = 0
        var cursor: ScanCursor?
        repeat {
            let page = try await c.scan(after: cursor, limit: 300, outputFields: ["vector"])
            pages += 1
            for r in page.rows where r.vectors["vector"]?.first != Float(r.id.description) { o.add("bad row \(r.id)", r.vectors["vector"] ?? []) }
            seen += page.rows.map(\.id)
            cursor = page.next
        } while cursor != nil
        o.add("rows", seen.count)
        o.add("distinct", Set(seen).count)
        o.add("all", seen.sorted() == (0..<2500).map { PrimaryKey.int(Int64($0)) })
        o.add("pages", pages)
        try await db.dropCollection(name)
        return o
    }

    func testScanPagesThroughEveryEntityOnce() async throws {
        let r = try await compare(scanning, test: "scan")
        XCTAssertEqual(r["rows"], "2500")
        XCTAssertEqual(r["distinct"], "2500")
        XCTAssertEqual(r["all"], "true")
        XCTAssertEqual(r["pages"], "9")
    }
}
