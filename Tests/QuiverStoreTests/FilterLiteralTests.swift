import XCTest
@testable import QuiverStore

/// `FilterExpression.quoted`/`equals`: any string, quotes, backslashes and newlines included,
/// reads back as itself, so `delete(filter: equals("path", p))` removes exactly that file's rows.
final class FilterLiteralTests: XCTestCase {
    func testQuotedStringsSelectExactlyTheirRows() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-literal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try VectorStore(path: dir.path)
        let c = try await store.createCollection("t", schema: .quick(dimension: 2))
        let paths = ["/a/plain.txt", "/a/it's \"quoted\".txt", "C:\\dir\\file.txt", "line\nbreak\ttab", "/a/%_like.txt", "é/😀"]
        _ = try await c.insert(paths.enumerated().map { Entity(id: .int(Int64($0)), vector: [1, Float($0)], fields: ["path": .string($1)]) })
        for (i, p) in paths.enumerated() {
            let rows = try await c.query(filter: FilterExpression.equals("path", p), outputFields: ["path"])
            XCTAssertEqual(rows.map(\.id), [.int(Int64(i))], "filter \(FilterExpression.equals("path", p))")
        }
        XCTAssertEqual(FilterExpression.quoted("a\"b\\c"), #""a\"b\\c""#)
        let deleted = try await c.delete(filter: FilterExpression.equals("path", paths[2]))
        XCTAssertEqual(deleted, 1)
        let left = try await c.count()
        XCTAssertEqual(left, paths.count - 1)
        try await store.close()
    }
}
