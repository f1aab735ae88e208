import XCTest
@testable import QuiverStore

/// `{name}` placeholders filled from parameters (Milvus' filter templating).
final class FilterTemplateTests: XCTestCase {
    private func ids(_ expr: String, _ params: [String: FieldValue]) throws -> Set<Int64> {
        FilterTestRows.matchingIDs(try FilterExpression(parsing: expr, parameters: params))
    }

    func testSubstitution() throws {
        let ids3 = FilterTestRows.json("[1, 3, 9]")
        XCTAssertEqual(try ids("age > {min}", ["min": .int(30)]), [2, 5])
        XCTAssertEqual(try ids("age > {min} and score < {max}", ["min": .int(20), "max": .double(5)]), [1, 2])
        XCTAssertEqual(try ids("name == {n}", ["n": .string(#"Bob "the" builder"#)]), [2])
        XCTAssertEqual(try ids("city in {cities}", ["cities": FilterTestRows.json(#"["Paris", "東京"]"#)]), [1, 4])
        XCTAssertEqual(try ids("id in {ids}", ["ids": ids3]), [1, 3])
        XCTAssertEqual(try ids("active == { flag }", ["flag": .bool(false)]), [2, 5])
        XCTAssertEqual(try ids("array_contains_any(nums, {xs})", ["xs": FilterTestRows.json("[4, 3]")]), [1, 3, 4])
        XCTAssertEqual(try ids("{lo} <= age < {hi}", ["lo": .int(18), "hi": .int(40)]), [1, 4])
        // A like parameter is a pattern as written: % and _ are wildcards, \% a literal %.
        XCTAssertEqual(try ids("name like {p}", ["p": .string("%c_f_")]), [5])
        XCTAssertEqual(try ids("name like {p}", ["p": .string(#"100\%%"#)]), [4])
        // Substituted lists keep integer keys exact for primary-key lookup.
        let f = try FilterExpression(parsing: "id in {ids}", parameters: ["ids": ids3])
        XCTAssertEqual(f.primaryKeyLookup(field: "id"), FilterPrimaryKeyLookup(keys: .ints([1, 3, 9]), isExact: true))
        XCTAssertNoThrow(try f.validate(against: FilterTestRows.schema))
    }

    func testParameterErrors() {
        func message(_ expr: String, _ params: [String: FieldValue]) -> String? {
            do { _ = try FilterExpression(parsing: expr, parameters: params); return nil } catch {
                // The whole message names the expression; the filter part names the column.
                XCTAssertEqual(error.description, "invalid filter \"\(expr)\": " + (error.filterMessage ?? "(not a filter error)"))
                return error.filterMessage
            }
        }
        XCTAssertEqual(message("age > {min}", [:]),
                       "filter error at column 7: expected a value for placeholder {min} in the parameters (given: none), found '{min}'")
        XCTAssertEqual(message("age > {mn}", ["min": .int(1), "max": .int(2)]),
                       "filter error at column 7: expected a value for placeholder {mn} in the parameters (given: max, min), found '{mn}'")
        XCTAssertEqual(message("age == {v}", ["v": .null]),
                       "filter error at column 8: placeholder {v} is null; use 'is null' instead")
        XCTAssertEqual(message("meta == {v}", ["v": FilterTestRows.json(#"{"a":1}"#)]),
                       "filter error at column 9: placeholder {v} is a JSON object; parameters must be numbers, strings, bools or arrays of them")
        XCTAssertEqual(message("name like {p}", ["p": .int(1)]),
                       "filter error at column 11: placeholder {p} after 'like' must be a string pattern")
    }
}
