import XCTest
@testable import QuiverStore

/// Every parse error names the 1-based column, what was expected and what was found.
final class FilterErrorTests: XCTestCase {
    private func message(_ expr: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try FilterExpression(parsing: expr)
            XCTFail("\(expr) parsed but should not", file: file, line: line)
            return nil
        } catch {
            // The error names the expression; the rest is the column and what is wrong there.
            guard case let .invalidFilter(expression, _, _) = error else { XCTFail("\(error)", file: file, line: line); return nil }
            XCTAssertEqual(expression, expr, file: file, line: line)
            XCTAssertEqual(error.description, "invalid filter \"\(expr)\": " + (error.filterMessage ?? ""), file: file, line: line)
            return error.filterMessage
        }
    }

    private func check(_ cases: [(String, String)], file: StaticString = #filePath, line: UInt = #line) {
        for (expr, want) in cases {
            XCTAssertEqual(message(expr, file: file, line: line), want, "for \(expr)", file: file, line: line)
        }
    }

    func testSyntaxErrors() {
        check([
            ("age == ", "filter error at column 8: expected a value after '==', found end of expression"),
            ("age == and", "filter error at column 8: expected a value after '==', found 'and'"),
            ("age = 3", "filter error at column 5: '=' is not an operator; use '==' to compare"),
            ("(age > 1", "filter error at column 9: expected ')' to close the '(' at column 1, found end of expression"),
            ("age > 1 )", "filter error at column 9: expected 'and', 'or' or end of expression, found ')'"),
            ("age > 1 age < 3", "filter error at column 9: expected 'and', 'or' or end of expression, found 'age'"),
            ("age < 3 > 1", "filter error at column 9: expected 'and', 'or' or end of expression (comparisons only chain as a range with a field in the middle, like 1 < x < 5), found '>'"),
            ("1 < age < 3 < 4", "filter error at column 13: expected 'and', 'or' or end of expression, found '<'"),
            ("1 < 2 < age", "filter error at column 7: expected 'and', 'or' or end of expression (comparisons only chain as a range with a field in the middle, like 1 < x < 5), found '<'"),
            ("and age > 1", "filter error at column 1: expected a value, field name or '(', found 'and'"),
            ("age > 1 and", "filter error at column 12: expected a condition after 'and', found end of expression"),
            ("age > 1 ||", "filter error at column 11: expected a condition after '||', found end of expression"),
            ("not", "filter error at column 4: expected a condition after 'not', found end of expression"),
            ("1 + ", "filter error at column 5: expected a value after '+', found end of expression"),
            ("age * > 2", "filter error at column 7: expected a value after '*', found '>'"),
            ("2 ** ", "filter error at column 6: expected a value after '**', found end of expression"),
            ("name like 5", "filter error at column 11: expected a quoted pattern after 'like', like \"abc%\", found number 5"),
            ("age in", "filter error at column 7: expected an array after 'in', like [1, 2], found end of expression"),
            ("age not in", "filter error at column 11: expected an array after 'not in', like [1, 2], found end of expression"),
            ("age in [1, 2", "filter error at column 13: expected ',' or ']' to close the '[' at column 8, found end of expression"),
            ("age in [1,, 2]", "filter error at column 11: expected an array element after ',', found ','"),
            ("age is nul", "filter error at column 8: expected 'null' after 'is', found 'nul'"),
            ("age is not", "filter error at column 11: expected 'null' after 'is not', found end of expression"),
            ("1 + 1 is null", "filter error at column 1: expected a field before 'is null', found an expression"),
            ("meta[", "filter error at column 6: expected a quoted key or an index after '[' at column 5, like [\"key\"] or [0], found end of expression"),
            ("meta[\"a\" == 1", "filter error at column 10: expected ']' to close the '[' at column 5, found '=='"),
            ("meta[-1] == 1", "filter error at column 6: expected a quoted key or an index after '[' at column 5, like [\"key\"] or [0], found '-'"),
            ("$meta > 1", "filter error at column 1: expected a key after '$meta', like $meta[\"color\"], found '$meta' alone"),
            ("null == age", "filter error at column 1: expected a value ('null' is only valid in 'is null' / 'is not null'), found 'null'"),
            ("5", "filter error at column 1: expected a condition (a comparison, 'in', 'like', a function or a boolean field), found a number"),
            ("age > 1 and 'x'", "filter error at column 13: expected a condition (a comparison, 'in', 'like', a function or a boolean field), found a string"),
            ("not [1]", "filter error at column 5: expected a condition (a comparison, 'in', 'like', a function or a boolean field), found an array"),
            ("age + 1", "filter error at column 1: expected a condition (a comparison, 'in', 'like', a function or a boolean field), found an arithmetic expression"),
            ("array_length(nums)", "filter error at column 1: expected a condition (a comparison, 'in', 'like', a function or a boolean field), found array_length(...), a number"),
            ("()", "filter error at column 2: expected an expression inside '( )', found ')'"),
            ("array_contains(nums)", "filter error at column 1: expected 2 arguments to array_contains(...), found 1"),
            ("array_length(a, b) > 1", "filter error at column 1: expected 1 argument to array_length(...), found 2"),
            ("array_contains(1, nums)", "filter error at column 16: expected a field or JSON path as the first argument of array_contains(...), found an expression"),
            ("array_contains(nums 1)", "filter error at column 21: expected ',' or ')' to close array_contains(, found number 1"),
            ("foo(1)", "filter error at column 1: expected a known function (array_contains, array_contains_all, array_contains_any, array_length, json_contains, json_contains_all, json_contains_any), found 'foo('"),
            ("Array_Contains(a, 1)", "filter error at column 1: expected a known function (array_contains, array_contains_all, array_contains_any, array_length, json_contains, json_contains_all, json_contains_any), found 'Array_Contains('"),
            ("exists 1", "filter error at column 8: expected a field or JSON path after 'exists', like exists meta[\"key\"], found number 1"),
            ("age > 1 And age < 2", "filter error at column 9: expected 'and', 'or' or end of expression, found 'And'"),
        ])
    }

    func testLexicalErrors() {
        check([
            ("name == \"abc", "filter error at column 9: unterminated string literal; add a closing \""),
            ("name == 'abc", "filter error at column 9: unterminated string literal; add a closing '"),
            (#"name == "a\qb""#, #"filter error at column 11: unknown escape sequence '\q' in string; write '\\' for a backslash"#),
            (#"name == "\u12""#, #"filter error at column 10: escape \u needs exactly 4 hex digits"#),
            (#"name == "\ud800""#, #"filter error at column 10: escape \ud800 is not a valid Unicode scalar"#),
            (#"name == "\777""#, #"filter error at column 10: octal escape \777 is larger than \377"#),
            ("age == 99999999999999999999", "filter error at column 8: integer 99999999999999999999 is too large for a 64-bit integer"),
            ("age == 9223372036854775808", "filter error at column 8: integer 9223372036854775808 is too large for a 64-bit integer"),
            ("age == 077777777777777777777777", "filter error at column 8: integer 077777777777777777777777 is too large for a 64-bit integer"),
            ("age == 0x", "filter error at column 8: number '0x' has no digits"),
            ("age == 0b102", "filter error at column 12: digit '2' is not valid in a base-2 number"),
            ("age == 1e", "filter error at column 8: malformed exponent in number '1e'"),
            ("age == 12abc", "filter error at column 8: malformed number '12a'"),
            ("age == 1.2.3", "filter error at column 8: malformed number '1.2.'"),
            ("age # 1", "filter error at column 5: unexpected character '#'"),
            ("âge > 1", "filter error at column 1: unexpected character 'â'"),
            ("$foo > 1", "filter error at column 1: unexpected '$foo'; the only '$' name is '$meta' (the dynamic field)"),
            ("age == {x", "filter error at column 8: malformed placeholder; write {name} with a parameter name"),
            ("age == {}", "filter error at column 8: malformed placeholder; write {name} with a parameter name"),
            ("age == { 1 }", "filter error at column 8: malformed placeholder; write {name} with a parameter name"),
        ])
    }

    func testUnsupportedMilvusSyntax() {
        check([
            ("age >> 3 == 1", "filter error at column 5: bitwise shift '>>' is not supported"),
            ("age & 1 == 1", "filter error at column 5: bitwise and '&' (use '&&' or 'and') is not supported"),
            ("name =~ \"a.*\"", "filter error at column 6: regex match '=~' is not supported"),
            ("text_match(body, \"x\")", "filter error at column 1: function 'text_match' is not supported"),
        ])
    }

    /// Columns count user-perceived characters: "é" written as e + combining accent is one column.
    func testColumnsCountCharacters() {
        check([
            ("name == \"e\u{301}日本\" and (", "filter error at column 20: expected a value, field name or '(', found end of expression"),
            ("name == \"😀\" or ?", "filter error at column 16: unexpected character '?'"),
        ])
    }

    func testErrorCarriesColumnAndCase() {
        do {
            _ = try FilterExpression(parsing: "age >= ")
            XCTFail("parsed")
        } catch {
            XCTAssertEqual(error.filterColumn, 8)
            XCTAssertEqual(error, .invalidFilter(expression: "age >= ", column: 8, reason: "expected a value after '>=', found end of expression"))
            XCTAssertEqual((error as Error).localizedDescription, error.description)
        }
    }

    func testAcceptedSpellings() throws {
        // Keywords all-lowercase or all-uppercase, booleans also capitalized; whitespace anywhere.
        for expr in ["age > 1 AND age < 9 OR NOT active", "age IN [1] and age NOT IN [2]", "name LIKE 'a%'",
                     "active == True", "active == FALSE", "age\n>\t1", "age in [1, 2,]", "age in []",
                     "ARRAY_LENGTH(nums) == 1", "JSON_CONTAINS(meta[\"a\"], 1)", "x == -9223372036854775808",
                     "x == .5", "x == 1.", "x == 1E+3", "x == 0X1F", "x == 0o17", "exists $meta[\"k\"]",
                     "x == u", "rate == r", "r == R'a\\'b'"] {
            XCTAssertNoThrow(try FilterExpression(parsing: expr), expr)
        }
        let minInt = try FilterExpression(parsing: "x == -9223372036854775808")
        XCTAssertTrue(minInt.matches(["x": FieldValue.int(Int64.min)]))
        let raw = try FilterExpression(parsing: #"s == r'a\'b'"#)
        XCTAssertTrue(raw.matches(["s": FieldValue.string(#"a\'b"#)]))
    }
}
