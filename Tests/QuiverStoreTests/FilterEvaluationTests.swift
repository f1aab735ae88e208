import XCTest
@testable import QuiverStore

/// Expressions evaluated over `FilterTestRows.rows`, expected matches written out by hand.
final class FilterEvaluationTests: XCTestCase {
    private func check(_ cases: [(String, Set<Int64>)], file: StaticString = #filePath, line: UInt = #line) {
        for (expr, want) in cases {
            let f: FilterExpression
            do { f = try FilterExpression(parsing: expr) } catch {
                XCTFail("\(expr): \(error)", file: file, line: line); continue
            }
            XCTAssertEqual(FilterTestRows.matchingIDs(f), want, "entity path: \(expr)", file: file, line: line)
            XCTAssertEqual(FilterTestRows.matchingIDsByRow(f), want, "row path: \(expr)", file: file, line: line)
        }
    }

    func testNumericComparisons() {
        check([
            ("age > 20", [1, 2, 5]),
            ("age >= 18", [1, 2, 4, 5]),
            ("age == 25", [1]),
            ("age != 25", [2, 4, 5]),          // null age (row 3) is unknown, never matches
            ("age < 30.5", [1, 4]),
            ("age > 2.5e1", [2, 5]),
            ("age == 25.0", [1]),
            ("score < 0", [2]),
            ("score == 10", [4]),
            ("score > 999.9", [5]),
            ("30 < age", [2, 5]),               // constant on the left
            ("age == 0x19", [1]),
            ("age == 025", [1]),                // leading zeros are decimal, as in Milvus Lite
            ("age == 0o31", [1]),
            ("age == 0b11001", [1]),
            ("age == \"25\"", []),              // different kinds are unequal...
            ("age != \"25\"", [1, 2, 4, 5]),    // ...so != holds, except for null
            ("age > score", [1, 2, 4]),         // field vs field (row 3 age null; row 5 65 < 1000)
        ])
    }

    func testStrings() {
        check([
            ("name == \"alice\"", [1]),
            ("name == 'alice'", [1]),
            (#"name == "Bob \"the\" builder""#, [2]),
            (#"name == 'Bob "the" builder'"#, [2]),
            (#"name == 'O\'Brien'"#, [3]),
            (#"name == "O'Brien""#, [3]),
            ("name == \"😀 café\"", [5]),
            (#"city == "Z\u00fcrich""#, [3]),
            ("city == \"zürich\"", [2]),
            (#"city == "\u6771\u4eac""#, [4]),
            ("city == \"東京\"", [4]),
            ("name == \"100% cotton_x\"", [4]),  // % and _ are literal outside like
            ("city > \"Z\"", [2, 3, 4, 5]),      // code point order: "zürich", "Zürich", "東京", "paris" > "Z"
            ("city in [\"Paris\", \"paris\"]", [1, 5]),
            ("city not in [\"Paris\"]", [2, 3, 4, 5]),
        ])
    }

    func testLike() {
        check([
            ("name like \"a%\"", [1]),
            ("name LIKE \"%builder\"", [2]),
            ("name like \"%the%\"", [2]),
            (#"name like "100\% %""#, [4]),
            ("name like \"100%\"", [4]),
            (#"name like "%\_x""#, [4]),
            (#"name like "%_x""#, [4]),
            ("name like \"_lice\"", [1]),
            ("name like \"😀_caf%\"", [5]),     // _ is one character (the space)
            ("name like \"_ café\"", [5]),       // _ matches the emoji, one scalar
            ("name like \"%c_f_\"", [5]),
            ("name like \"%\"", [1, 2, 3, 4, 5]),
            ("name like \"alice\"", [1]),
            ("name like \"alic\"", []),
            ("name like \"%%e\"", [1]),
            ("name like \"a%e%\"", [1]),
            ("name like \"%o%o%\"", [4]),
            ("name not like \"%e%\"", [4, 5]),
            (#"name like r"100\% %""#, [4]),    // raw string keeps the backslash
            ("meta[\"color\"] like \"r%\"", [1, 4]),
            ("age like \"2%\"", []),              // not a string: no match
        ])
    }

    func testJSONPaths() {
        check([
            ("meta[\"color\"] == \"red\"", [1, 4]),
            ("meta['color'] != \"red\"", [2]),       // null meta and missing key are unknown
            ("meta[\"size\"] > 5", [1]),              // "large" is not comparable with 5
            ("meta[\"size\"] != 10", [2, 4]),
            ("meta[\"size\"] == \"large\"", [4]),
            ("meta[\"size\"] in [10, \"large\"]", [1, 4]),
            ("meta[\"tags\"][0] == \"a\"", [1]),
            ("meta[\"nested\"][\"x\"] == 1", [1]),
            ("meta[\"nested\"][\"y\"][1] == 6", [1]),
            ("meta [\"nested\"] [\"y\"] [1] == 6", [1]),
            ("meta[\"list\"] == [1, 2]", [2]),
            ("meta[\"list\"] != [1, 2]", []),       // only row 2 has the key, and it is equal
            ("meta[\"flag\"] == true", [1]),
            ("meta[\"flag\"]", [1]),
            ("not meta[\"flag\"]", [2]),
            ("meta[\"note\"] is null", [1, 2, 3, 4, 5]),
            ("meta is null", [3]),
            ("meta is not null", [1, 2, 4, 5]),
            ("exists meta[\"color\"]", [1, 2, 4]),
            ("EXISTS meta[\"note\"]", []),            // present but null counts as absent
            ("$meta[\"city\"] == \"Paris\"", [1]),   // dynamic field reached by name
            ("nums[0] == 1", [1, 5]),
            ("nums[5] == 1", []),
        ])
    }

    func testNullsBoolsAndLogic() {
        check([
            ("age is null", [3]),
            ("age IS NOT NULL", [1, 2, 4, 5]),
            ("active is null", [4]),                  // missing field
            ("active", [1, 3]),
            ("active == true", [1, 3]),
            ("active != true", [2, 5]),
            ("not active", [2, 5]),
            ("!active", [2, 5]),
            ("active && age > 20", [1]),
            ("active || age > 50", [1, 3, 5]),
            ("not (age > 30)", [1, 4]),
            ("not age > 30", [1, 4]),                 // not binds looser than comparisons
            ("age > 30 or age is null", [2, 3, 5]),
            ("true", [1, 2, 3, 4, 5]),
            ("false", []),
            ("", [1, 2, 3, 4, 5]),
            ("   ", [1, 2, 3, 4, 5]),
            ("TRUE and True", [1, 2, 3, 4, 5]),
            ("(age > 1) == true", [1, 2, 4, 5]),
            ("id in [1, 3] and age is not null", [1]),
            ("age > 20 AND city LIKE \"%ris\"", [1, 5]),
            ("age > 20 and not city in [\"Paris\"]", [2, 5]),
            ("age > 20 and city not in [\"Paris\"]", [2, 5]),
            ("age in [25] or id == 5", [1, 5]),
            ("age in [25, 40.0]", [1, 2]),
            ("age not in [25, 40]", [3, 4, 5]),         // null is not in any list (as Milvus Lite)
            ("id in []", []),
            ("id not in []", [1, 2, 3, 4, 5]),
            ("age in [25.5]", []),
        ])
    }

    func testPrecedence() {
        check([
            ("active or age > 30 and city == \"paris\"", [1, 3, 5]),
            ("(active or age > 30) and city == \"paris\"", [5]),
            ("not active or age > 60", [2, 5]),
            ("not (active or age > 60)", [2]),
            ("1 + 2 * 3 == 7", FilterTestRows.allIDs),
            ("(1 + 2) * 3 == 9", FilterTestRows.allIDs),
            ("2 ** 3 ** 2 == 64", FilterTestRows.allIDs),     // left-associative, as Milvus' grammar
            ("-2 ** 2 == -4", FilterTestRows.allIDs),         // ** binds tighter than unary minus
            ("2 ** -1 == 0.5", FilterTestRows.allIDs),
            ("10 - 4 - 3 == 3", FilterTestRows.allIDs),
            ("age >= 25 == true", [1, 2, 5]),                 // relational binds tighter than ==
            ("age > 30 != active", [1, 2, 5]),
            ("1 == 1 == true", FilterTestRows.allIDs),
            ("7 / 2 == 3.5", FilterTestRows.allIDs),          // true division, as in Milvus Lite
            ("7.0 / 2 == 3.5", FilterTestRows.allIDs),
            ("-7 % 3 == -1", FilterTestRows.allIDs),
            ("1 / 0 == 1", []),                               // division by zero is null
            ("- - 3 == 3", FilterTestRows.allIDs),
            ("age + 5 == 30", [1]),
            ("age * 2 > 100", [5]),
            ("age / 2 == 12.5", [1]),
            ("age % 2 == 1", [1, 5]),
            ("age ** 2 > 1000", [2, 5]),
            ("-age < -30", [2, 5]),
            ("score * 2 == 7.0", [1]),
            ("age - 1 + 1 == age", [1, 2, 4, 5]),
            ("a == 1 or b == 2 or c == 3 or active", [1, 3]),
        ])
    }

    func testRanges() {
        check([
            ("18 <= age < 40", [1, 4]),
            ("40 >= age > 18", [1, 2]),
            ("1 < age < 18", []),
            ("0 < meta[\"size\"] <= 10", [1, 2]),
            ("-1.5 < score < 1", [2, 3]),
        ])
    }

    func testArrayFunctions() {
        check([
            ("array_contains(nums, 2)", [1, 3]),
            ("ARRAY_CONTAINS(nums, 2)", [1, 3]),
            ("array_contains(nums, 2.0)", [1, 3]),
            ("array_contains(tags, \"x\")", [1, 3]),
            ("array_contains_all(nums, [1, 2])", [1]),
            ("array_contains_any(nums, [3, 4])", [1, 3, 4]),
            ("array_contains_all(nums, [])", [1, 2, 3, 4, 5]),
            ("array_contains_any(nums, [])", []),
            ("array_length(nums) == 0", [2]),
            ("array_length(nums) >= 3", [1, 5]),
            ("array_length(tags) > 1", [1, 5]),
            ("json_contains(meta[\"tags\"], \"b\")", [1]),
            ("JSON_CONTAINS_ALL(meta[\"tags\"], [\"b\", \"a\"])", [1]),
            ("json_contains_any(meta[\"list\"], [2, 9])", [2]),
            ("not array_contains(tags, \"y\")", [3, 4, 5]),  // row 4 has no tags: contains nothing
            ("array_contains(nums, age - 24)", [1]),
        ])
    }

    /// Row and entity paths agree, and `matches` on an expression evaluated twice is stable.
    func testCompiledExpressionIsReusableAcrossThreads() throws {
        let f = try FilterExpression(parsing: "age > 20 and meta[\"color\"] == \"red\"")
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { k in
            var n = 0
            for _ in 0..<1000 { n += FilterTestRows.rows.filter { f.matches($0) }.count }
            results[k] = n
        }
        XCTAssertEqual(Array(results), Array(repeating: 1000, count: 8))
    }
}
