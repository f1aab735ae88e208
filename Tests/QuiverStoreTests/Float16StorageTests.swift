import XCTest
@testable import QuiverStore

final class Float16StorageTests: XCTestCase {
    func testHalfConversions() {
        XCTAssertEqual(Half.fromFloat(1), 0x3C00)
        XCTAssertEqual(Half.fromFloat(-2), 0xC000)
        XCTAssertEqual(Half.fromFloat(65504), 0x7BFF)
        XCTAssertEqual(Half.fromFloat(70000), 0x7C00, "overflow is infinity")
        XCTAssertEqual(Half.fromFloat(1 + 1.0 / 2048), 0x3C00, "halfway rounds to even (down)")
        XCTAssertEqual(Half.fromFloat(1 + 3.0 / 2048), 0x3C02, "halfway rounds to even (up)")
        XCTAssertEqual(Half.fromFloat(Float(sign: .plus, exponent: -24, significand: 1)), 0x0001, "smallest subnormal")
        XCTAssertEqual(Half.fromFloat(1e-9), 0)
        for h in stride(from: 0, through: 0x7BFF, by: 7).map(UInt16.init) {
            XCTAssertEqual(Half.fromFloat(Half.toFloat(h)), h, "round trip of \(h)")
        }
    }

    func testFloat16FieldStoresHalfAndSearches() async throws {
        let dir = try makeTempDir(self)
        let store = try VectorStore(path: dir)
        func schema(_ s: VectorElementType) -> CollectionSchema {
            CollectionSchema(vectorFields: [VectorField(name: "v", dimension: 64, metric: .l2, storage: s)])
        }
        let half = try await store.createCollection("half", schema: schema(.float16))
        let full = try await store.createCollection("full", schema: schema(.float32))
        let items = (0..<200).map { Entity(id: .int(Int64($0)), vectors: ["v": testVector(Int64($0), dimension: 64).map { $0 * 3.3 }]) }
        try await half.insert(items)
        try await full.insert(items)
        let growing = try await half.get(ids: [.int(5)], outputFields: ["v"])[0].vectors["v"]!
        XCTAssertEqual(growing, items[5].vectors["v"]!.map(Half.round), "rounded to half precision on insert")
        XCTAssertNotEqual(growing, items[5].vectors["v"]!)
        try await half.flush()
        try await full.flush()
        let sealed = try await half.get(ids: [.int(5)], outputFields: ["v"])[0].vectors["v"]!
        XCTAssertEqual(sealed, growing, "the same values once sealed")
        func segSize(_ c: Collection) throws -> Int {
            let f = try FileManager.default.contentsOfDirectory(atPath: c.directory).first { $0.hasPrefix("seg-") }!
            return try FileManager.default.attributesOfItem(atPath: c.directory + "/" + f)[.size] as! Int
        }
        let saved = try segSize(full) - segSize(half)
        XCTAssertGreaterThanOrEqual(saved, 200 * 64 * 2, "two bytes per value saved")
        XCTAssertLessThan(saved, 200 * 64 * 2 + 128)
        let q = items[9].vectors["v"]!
        let hHits = try await half.search(SearchRequest(vectors: [q], limit: 5))[0]
        let fHits = try await full.search(SearchRequest(vectors: [q], limit: 5))[0]
        XCTAssertEqual(hHits.map(\.id), fHits.map(\.id))
        XCTAssertEqual(hHits[1].score, fHits[1].score, accuracy: fHits[1].score * 1e-3)
        await assertStoreError("stores float16 and holds a value beyond ±65504") {
            try await half.insert([Entity(id: .int(1000), vectors: ["v": [Float](repeating: 70000, count: 64)])])
        }
        try await store.close()
        let s2 = try VectorStore(path: dir)
        let again = try await s2.collection("half").get(ids: [.int(5)], outputFields: ["v"])[0].vectors["v"]!
        XCTAssertEqual(again, growing)
        try await s2.close()
    }
}
