import XCTest
@testable import QuiverStore
final class ScratchTests: XCTestCase {
    func testScratch() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let schema = CollectionSchema(primaryKey: PrimaryKeyField(name: "doc", type: .string),
                                      vectorFields: [VectorField(name: "text", dimension: 4, metric: .innerProduct),
                                                     VectorField(name: "image", dimension: 3, metric: .l2)])
        let c = try await store.createCollection("multi", schema: schema)
        try await c.insert([Entity(id: .string("a"), vectors: ["text": [1, 0, 0, 0], "image": [0, 0, 1]]),
                            Entity(id: .string("b"), vectors: ["text": [0, 1, 0, 0], "image": [0, 0, 0]])])
        try await c.flush()
        let s = c.snapshot
        print("SEGS", s.segments.count, s.segments.map(\.count), s.batches.count, s.tombstones, s.nextRow)
        if let seg = s.segments.first { print("ROWS", (0..<seg.count).map { seg.row($0) }, (0..<seg.count).map { seg.id($0) }) }
        print("LOC", s.locate(0) as Any, s.locate(1) as Any)
        let t = try await c.search(SearchRequest(field: "text", vectors: [[0.1, 0.9, 0, 0]], limit: 1))
        print("T", t)
    }
}
