import XCTest
@testable import QuiverStore

/// Schema checks: unknown fields (listing the known ones) and operand type mismatches.
final class FilterValidationTests: XCTestCase {
    private let schema = FilterTestRows.schema
    private let known = "active, age, city, embedding, id, meta, name, nums, score, tags"

    private func validationError(_ expr: String, dynamic: Bool = false) -> String? {
        do {
            try FilterExpression(parsing: expr).validate(against: schema, allowDynamicFields: dynamic)
            return nil
        } catch {
            guard case let .invalidFilter(expression, _, _) = error else { XCTFail("\(error)"); return nil }
            XCTAssertEqual(expression, expr, "the error names the expression")
            return error.filterMessage
        }
    }

    func testValidExpressionsPass() {
        for expr in [
            "age > 1 and score < 2.5 and name like \"a%\" and active",
            "age == score", "age + 1.5 > score * 2", "age ** 2 > 10", "-age < 0",
            "meta[\"a\"][\"b\"] > 1", "meta[\"a\"] == \"x\"", "meta[\"a\"] like \"x%\"", "meta[0] == 1",
            "nums[0] + 1 > 2", "tags[1] == \"x\"", "nums == [1, 2]",
            "array_contains(nums, 1)", "array_contains(tags, \"x\")", "array_contains_all(nums, [1, 2.5])",
            "array_contains_any(meta[\"l\"], [1, \"a\"])", "array_length(tags) > 1",
            "age in [1, 2.0]", "name not in [\"a\", \"b\"]", "meta[\"k\"] in [1, \"a\", true]",
            "1 < age <= 5", "age is null or meta is not null", "exists meta[\"k\"]",
            "(age > 1) == active", "not active", "",
        ] {
            XCTAssertNil(validationError(expr), expr)
        }
    }

    func testUnknownFields() {
        XCTAssertEqual(validationError("agee > 1"),
                       "filter error at column 1: unknown field 'agee'; known fields: \(known)")
        XCTAssertEqual(validationError("age > 1 and colour == \"red\""),
                       "filter error at column 13: unknown field 'colour'; known fields: \(known)")
        XCTAssertEqual(validationError("array_contains(numz, 1)"),
                       "filter error at column 16: unknown field 'numz'; known fields: \(known)")
        XCTAssertEqual(validationError("$meta[\"x\"] == 1"),
                       "filter error at column 1: '$meta[\"x\"]' reads the dynamic field, but the collection has no dynamic field enabled")
        XCTAssertNil(validationError("colour == \"red\" and $meta[\"x\"][0] > 1", dynamic: true))
        XCTAssertEqual(validationError("$meta[\"age\"] > 1", dynamic: true),
                       "filter error at column 1: 'age' is a declared field; write age instead of $meta[\"age\"]")
        XCTAssertThrowsError(try FilterExpression(parsing: "a == 1").validate(against: [:])) { e in
            XCTAssertEqual(e as? StoreError, .invalidFilter(expression: "a == 1", column: 1, reason: "unknown field 'a'; known fields: (none)"))
        }
    }

    func testTypeMismatches() {
        let cases: [(String, String)] = [
            ("name == 5", "filter error at column 9: cannot compare field 'name' (string) with the number 5"),
            ("5 < name", "filter error at column 1: cannot compare the number 5 with field 'name' (string)"),
            ("age == \"x\"", "filter error at column 8: cannot compare field 'age' (int) with the string \"x\""),
            ("active == 1", "filter error at column 11: cannot compare field 'active' (bool) with the number 1"),
            ("name == age", "filter error at column 1: cannot compare field 'name' (string) with field 'age' (int)"),
            ("active > true", "filter error at column 1: field 'active' (bool) is a bool, which supports only == and !=, not '>'"),
            ("nums < [1]", "filter error at column 1: field 'nums' (array<int>) is an array, which supports only == and !=, not '<'"),
            ("1 < name < 5", "filter error at column 1: cannot compare the number 1 with field 'name' (string)"),
            ("age like \"1%\"", "filter error at column 1: 'like' needs a string, but field 'age' (int) is not one"),
            ("age + name > 1", "filter error at column 7: arithmetic '+' needs numbers, but field 'name' (string) is not one"),
            ("-name == 1", "filter error at column 1: '-' needs a number, but field 'name' (string) is not one"),
            ("age in [1, \"a\"]", "filter error at column 12: 'in' list holds the string \"a\", which cannot equal field 'age' (int)"),
            ("name not in [1]", "filter error at column 14: 'not in' list holds the number 1, which cannot equal field 'name' (string)"),
            ("age in name", "filter error at column 8: 'in' needs an array on its right, but field 'name' (string) is not one"),
            ("array_contains(age, 1)", "filter error at column 16: array_contains(...) needs an array or json field, but field 'age' (int) is neither"),
            ("array_contains(tags, 1)", "filter error at column 22: field 'tags' (array<string>) holds string values and can never contain the number 1"),
            ("array_contains_all(nums, 1)", "filter error at column 26: array_contains_all(...) needs an array as its second argument, like [1, 2], but got the number 1"),
            ("array_contains_any(nums, [\"a\"])", "filter error at column 26: field 'nums' (array<int>) holds int values and can never contain an array literal (array<string>)"),
            ("array_length(name) > 1", "filter error at column 14: array_length(...) needs an array or json field, but field 'name' (string) is neither"),
            ("embedding == 1", "filter error at column 1: vector field 'embedding' cannot be used in a filter"),
            ("name[\"x\"] == 1", "filter error at column 1: field 'name' is string, which has no keys or elements; only json and array fields take [...]"),
            ("tags[\"k\"] == 1", "filter error at column 1: field 'tags' is an array; index it with a number like tags[0], not a key"),
            ("tags[0] == 1", "filter error at column 12: cannot compare field 'tags[0]' (string) with the number 1"),
            ("age", "filter error at column 1: expected a condition, but field 'age' (int) is not a bool; compare it, e.g. age == ..."),
            ("active and name", "filter error at column 12: expected a condition, but field 'name' (string) is not a bool; compare it, e.g. name == ..."),
            ("not score", "filter error at column 5: expected a condition, but field 'score' (float) is not a bool; compare it, e.g. score == ..."),
        ]
        for (expr, want) in cases {
            XCTAssertEqual(validationError(expr), want, expr)
        }
    }
}
