import XCTest
@testable import QuiverStore

/// Helpers the storage engine uses: the fields an expression reads and primary-key extraction.
final class FilterHelperTests: XCTestCase {
    func testFieldNames() throws {
        XCTAssertEqual(try FilterExpression(parsing: "").fieldNames, [])
        XCTAssertEqual(try FilterExpression(parsing: "true").fieldNames, [])
        XCTAssertEqual(try FilterExpression(parsing: "age > 1 and meta[\"a\"][0] == 2").fieldNames, ["age", "meta"])
        XCTAssertEqual(try FilterExpression(parsing: "$meta[\"color\"] == 'red' or not (x + y < 1 or 1 < w < z)").fieldNames,
                       ["color", "x", "y", "w", "z"])
        XCTAssertEqual(try FilterExpression(parsing: "array_contains_any(tags, [a, 1]) and name like 'x%' and q is null and exists j[\"k\"] and w in [v]").fieldNames,
                       ["tags", "a", "name", "q", "j", "w", "v"])
    }

    private func lookup(_ expr: String, _ field: String = "id") throws -> FilterPrimaryKeyLookup? {
        try FilterExpression(parsing: expr).primaryKeyLookup(field: field)
    }

    func testPrimaryKeyExtraction() throws {
        XCTAssertEqual(try lookup("id == 5"), FilterPrimaryKeyLookup(keys: .ints([5]), isExact: true))
        XCTAssertEqual(try lookup("5 == id"), FilterPrimaryKeyLookup(keys: .ints([5]), isExact: true))
        XCTAssertEqual(try lookup("id == 2 + 3"), FilterPrimaryKeyLookup(keys: .ints([5]), isExact: true))
        XCTAssertEqual(try lookup("id in [3, 1, 3, 2.0]"), FilterPrimaryKeyLookup(keys: .ints([3, 1, 2]), isExact: true))
        XCTAssertEqual(try lookup("id in [1.5]"), FilterPrimaryKeyLookup(keys: .ints([]), isExact: true))
        XCTAssertEqual(try lookup("id in []"), FilterPrimaryKeyLookup(keys: .ints([]), isExact: true))
        XCTAssertEqual(try lookup("pk in ['a', \"b\"]", "pk"), FilterPrimaryKeyLookup(keys: .strings(["a", "b"]), isExact: true))
        XCTAssertEqual(try lookup("id == 1 or id in [2, 3]"), FilterPrimaryKeyLookup(keys: .ints([1, 2, 3]), isExact: true))
        XCTAssertEqual(try lookup("id in [1, 2, 3] and age > 5"), FilterPrimaryKeyLookup(keys: .ints([1, 2, 3]), isExact: false))
        XCTAssertEqual(try lookup("age > 5 and id in [1, 2, 3] and id in [2, 3, 4]"), FilterPrimaryKeyLookup(keys: .ints([2, 3]), isExact: false))
        XCTAssertEqual(try lookup("id in [1, 2] and id == 2"), FilterPrimaryKeyLookup(keys: .ints([2]), isExact: true))
        XCTAssertEqual(try lookup("(id == 1 and a) or id == 2"), FilterPrimaryKeyLookup(keys: .ints([1, 2]), isExact: false))
        // Not restricted to a finite key list → nil (scan).
        XCTAssertNil(try lookup(""))
        XCTAssertNil(try lookup("age == 5"))
        XCTAssertNil(try lookup("id != 5"))
        XCTAssertNil(try lookup("id not in [5]"))
        XCTAssertNil(try lookup("id > 5"))
        XCTAssertNil(try lookup("id == 1 or age == 2"))
        XCTAssertNil(try lookup("not id == 1"))
        XCTAssertNil(try lookup("id == age"))
        XCTAssertNil(try lookup("id[\"x\"] == 1"))
        XCTAssertNil(try lookup("$meta[\"id\"] == 1"))
        XCTAssertNil(try lookup("id in [1, 'a']"))
        XCTAssertNil(try lookup("id == true"))
    }

    /// The looked-up keys must cover every row the full filter matches.
    func testPrimaryKeyLookupAgreesWithScan() throws {
        for expr in ["id in [1, 3, 9]", "id == 2 or id == 4", "id in [1, 2, 3] and age > 20",
                     "(id == 1 and active) or id == 5", "id in [1, 2] and id in [2, 3]"] {
            let f = try FilterExpression(parsing: expr)
            guard let l = f.primaryKeyLookup(field: "id"), case let .ints(keys) = l.keys else {
                XCTFail("no lookup for \(expr)"); continue
            }
            let scanned = FilterTestRows.matchingIDs(f)
            XCTAssertTrue(scanned.isSubset(of: Set(keys)), expr)
            let viaLookup = Set(FilterTestRows.rows.filter { keys.contains(FilterTestRows.id($0)) && (l.isExact || f.matches($0)) }.map(FilterTestRows.id))
            XCTAssertEqual(viaLookup, scanned, expr)
        }
    }

    func testASTShape() throws {
        let f = try FilterExpression(parsing: "a > 1 and (b < 2 and c) and d")
        guard case let .and(terms)? = f.root?.kind else { return XCTFail("not an and") }
        XCTAssertEqual(terms.count, 4, "nested ands flatten")
        XCTAssertEqual(terms.map(\.column), [1, 12, 22, 29])
        let r = try FilterExpression(parsing: "10 >= x > 1").root
        guard case let .range(lower, li, v, upper, ui)? = r?.kind else { return XCTFail("not a range") }
        XCTAssertEqual(lower.kind, .integer(1)); XCTAssertFalse(li)
        XCTAssertEqual(v.fieldReference, FilterFieldReference(name: "x"))
        XCTAssertEqual(upper.kind, .integer(10)); XCTAssertTrue(ui)
        let m = try FilterExpression(parsing: "$meta[\"k\"][2] == 1").root
        guard case let .comparison(.equal, l, _)? = m?.kind else { return XCTFail("not a comparison") }
        XCTAssertEqual(l.fieldReference, FilterFieldReference(name: "k", path: [.index(2)], isDynamic: true))
        XCTAssertEqual(l.fieldReference?.description, "$meta[\"k\"][2]")
        let like = try FilterExpression(parsing: #"s like "a\%b_%%c""#).root
        guard case let .like(_, pattern, false)? = like?.kind else { return XCTFail("not like") }
        XCTAssertEqual(pattern.elements, [.literal("a%b"), .anyCharacter, .anyRun, .literal("c")])
        XCTAssertEqual(pattern.description, #"a\%b_%c"#)
    }
}
