import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import QuiverServer

/// Values at the edges of Int and Int64 that used to trap the server (an arithmetic overflow in
/// the offset/limit checks, `Int64(Double)` past 2^63): each is now a Milvus error naming the
/// field, and the server keeps answering.
final class MilvusHostileInputTests: MilvusTestCase {
    func testHugeOffsetAndLimitAreRefusedNotOverflowed() async throws {
        try await withClient { client in
            _ = try await MilvusRESTTests.ok(client, "collections/create", ["collectionName": "c", "dimension": 2])
            let huge = 9_000_000_000_000_000_000.0
            for (route, extra) in [("entities/query", ["filter": "id > 0"] as [String: Any]), ("entities/search", ["data": [[1.0, 0.0]]])] {
                for (offset, limit) in [(huge, huge), (huge, 10.0), (9.223372036854774e18, 1.0), (20000.0, 0.0)] {
                    var body: [String: Any] = ["collectionName": "c", "offset": offset, "limit": limit]
                    body.merge(extra) { a, _ in a }
                    let r = try await MilvusRESTTests.call(client, route, body)
                    XCTAssertEqual(r["code"] as? Int, 1100, "\(route) offset \(offset) limit \(limit): \(r)")
                    XCTAssertFalse((r["message"] as? String ?? "").isEmpty)
                }
            }
            let sub: [String: Any] = ["data": [[1.0, 0.0]], "limit": 5]
            let r = try await MilvusRESTTests.call(client, "entities/hybrid_search",
                                                   ["collectionName": "c", "search": [sub], "offset": 9.223372036854774e18, "limit": 10])
            XCTAssertEqual(r["code"] as? Int, 1100, "\(r)")
            _ = try await MilvusRESTTests.ok(client, "collections/has", ["collectionName": "c"])
        }
    }

    func testInt64FieldPastTwoToThe63IsAnInsertError() async throws {
        try await withClient { client in
            let schema: [String: Any] = ["fields": [
                ["fieldName": "id", "dataType": "Int64", "isPrimary": true],
                ["fieldName": "v", "dataType": "FloatVector", "elementTypeParams": ["dim": 2]],
                ["fieldName": "n", "dataType": "Int64"],
            ]]
            _ = try await MilvusRESTTests.ok(client, "collections/create", ["collectionName": "c", "schema": schema])
            for n in [9.25e18, -9.25e18, 1e300] {
                let r = try await MilvusRESTTests.call(client, "entities/insert",
                                                       ["collectionName": "c", "data": [["id": 1, "v": [1.0, 0.0], "n": n]]])
                XCTAssertEqual(r["code"] as? Int, 1804, "n = \(n): \(r)")
                XCTAssertTrue((r["message"] as? String ?? "").contains("data[0].n"), "\(r)")
            }
            // The largest Int64 a JSON double can hold exactly is accepted.
            let ok = try await MilvusRESTTests.okAs([String: Any].self, client, "entities/insert",
                                                    ["collectionName": "c", "data": [["id": 2, "v": [1.0, 0.0], "n": -9.223372036854775808e18]]])
            XCTAssertEqual(ok["insertCount"] as? Int, 1)
        }
    }
}
