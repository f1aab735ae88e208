import XCTest
@testable import QuiverStore

/// Hostile input: random token soup and random characters never crash; deep nesting is refused
/// with a clear error instead of overflowing the stack.
final class FilterRobustnessTests: XCTestCase {
    /// Deterministic generator (SplitMix64) so a failure reproduces.
    private struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private static let vocabulary = [
        "age", "name", "meta", "nums", "tags", "active", "$meta", "id", "score", "x",
        "[", "]", "(", ")", ",", "\"red\"", "'a%'", "\"\\%\"", "r\"\\\"", "1", "0", "-1", "2.5", "1e3", "0x1F", "07",
        "9223372036854775807", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "**",
        "and", "or", "not", "&&", "||", "!", "in", "like", "is", "null", "true", "False", "exists",
        "array_contains", "array_contains_all", "array_length", "json_contains_any", "[\"color\"]", "[0]", "{p}", "{",
    ]

    func testRandomTokenSoupNeverCrashes() {
        var rng = SplitMix(state: 42)
        var parsed = 0, rejected = 0
        for _ in 0..<20_000 {
            let n = Int.random(in: 1...14, using: &rng)
            let text = (0..<n).map { _ in Self.vocabulary.randomElement(using: &rng)! }
                .joined(separator: Bool.random(using: &rng) ? " " : "")
            do {
                let f = try FilterExpression(parsing: text)
                parsed += 1
                for row in FilterTestRows.rows { _ = f.matches(row) }
                _ = f.fieldNames
                _ = f.primaryKeyLookup(field: "id")
                try? f.validate(against: FilterTestRows.schema, allowDynamicFields: Bool.random(using: &rng))
                // The two compiled forms agree on every row.
                XCTAssertEqual(FilterTestRows.matchingIDs(f), FilterTestRows.matchingIDsByRow(f), text)
            } catch {
                rejected += 1
                XCTAssertEqual(error.filterMessage?.hasPrefix("filter error at column "), true, error.description)
                XCTAssertTrue((1...(text.count + 1)).contains(error.filterColumn ?? 0), "column \(String(describing: error.filterColumn)) outside \(text)")
            }
        }
        // Both outcomes are exercised.
        XCTAssertGreaterThan(parsed, 500)
        XCTAssertGreaterThan(rejected, 5000)
    }

    func testRandomCharactersNeverCrash() {
        var rng = SplitMix(state: 7)
        let alphabet = Array("ab_019.eExX\"'\\%[](){},=!<>+-*/&|^~$# \n\tméü日😀\u{301}")
        for _ in 0..<20_000 {
            let text = String((0..<Int.random(in: 0...24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            do {
                let f = try FilterExpression(parsing: text)
                for row in FilterTestRows.rows { _ = f.matches(row) }
            } catch {
                XCTAssertTrue((1...(text.count + 1)).contains(error.filterColumn ?? 0), "column \(String(describing: error.filterColumn)) outside \(text.debugDescription)")
            }
        }
    }

    func testNestingLimit() throws {
        let limit = FilterExpression.maxNestingDepth
        let ok = String(repeating: "(", count: limit) + "age > 1" + String(repeating: ")", count: limit)
        XCTAssertTrue(try FilterExpression(parsing: ok).matches(["age": FieldValue.int(2)]))

        let deep = String(repeating: "(", count: limit + 1) + "age > 1" + String(repeating: ")", count: limit + 1)
        XCTAssertThrowsError(try FilterExpression(parsing: deep)) { e in
            XCTAssertEqual((e as? StoreError)?.filterMessage,
                           "filter error at column \(limit + 1): expression nests more than \(limit) levels deep (parentheses, 'not', signs or chained operators); simplify it")
        }
        // Other ways to nest hit the same limit.
        for text in [String(repeating: "not ", count: 10_000) + "a",
                     String(repeating: "-", count: 10_000) + "1 == a",
                     "a == " + Array(repeating: "1", count: 10_000).joined(separator: " + "),
                     "a == " + Array(repeating: "2", count: 10_000).joined(separator: " ** "),
                     "a in " + String(repeating: "[", count: 10_000),
                     String(repeating: "array_length(", count: 10_000)] {
            XCTAssertThrowsError(try FilterExpression(parsing: text)) { e in
                guard case let .invalidFilter(expression, _, reason)? = e as? StoreError, expression == text,
                      reason.hasPrefix("expression nests more than \(limit) levels deep") else {
                    return XCTFail("\(text.prefix(20))...: \(e)")
                }
            }
        }
    }

    /// Long flat chains are not nesting: thousands of `or` terms parse and evaluate.
    func testLongFlatChains() throws {
        let ors = (0..<5000).map { "id == \($0)" }.joined(separator: " or ")
        let f = try FilterExpression(parsing: ors)
        XCTAssertEqual(FilterTestRows.matchingIDs(f), [1, 2, 3, 4, 5])
        XCTAssertEqual(f.primaryKeyLookup(field: "id")?.keys.count, 5000)
        let list = "id in [" + (0..<50_000).map(String.init).joined(separator: ", ") + "]"
        XCTAssertEqual(FilterTestRows.matchingIDs(try FilterExpression(parsing: list)), [1, 2, 3, 4, 5])
    }

    /// On a thread with a small stack, expressions just under the nesting limit still parse,
    /// validate, compile and evaluate, and those over it fail with the nesting error (the
    /// recursive work moves to a large-stack helper thread).
    func testDeepExpressionsOnSmallThreadStack() {
        let limit = FilterExpression.maxNestingDepth
        // 2 levels per "not (" and per "-(": 4 * k levels in all, just under the limit.
        let k = (limit - 4) / 4
        let nearLimit = String(repeating: "not (", count: k) + "a == " + String(repeating: "-(", count: k) + "1"
            + String(repeating: ")", count: 2 * k)
        let overLimit = String(repeating: "(", count: limit + 1) + "a > 1" + String(repeating: ")", count: limit + 1)
        let done = expectation(description: "ran")
        nonisolated(unsafe) var outcome: [String] = []
        let t = Thread {
            do {
                let f = try FilterExpression(parsing: nearLimit)
                try f.validate(against: ["a": .int])
                // k is even, so the nots cancel: a == (-1)^k * 1 == 1.
                outcome.append("matches \(f.matches(["a": FieldValue.int(1)])) \(f.matches(["a": FieldValue.int(-1)]))")
                let row = f.rowPredicate { _ in { _ in .int(1) } }
                outcome.append("row \(row(0))")
            } catch {
                outcome.append("error \(error)")
            }
            do {
                _ = try FilterExpression(parsing: overLimit)
                outcome.append("over limit parsed")
            } catch {
                if case let .invalidFilter(_, _, reason)? = error as? StoreError, reason.hasPrefix("expression nests more than") { outcome.append("too deep") } else { outcome.append("error \(error)") }
            }
            done.fulfill()
        }
        t.stackSize = 256 << 10
        t.start()
        wait(for: [done], timeout: 60)
        XCTAssertEqual(outcome, ["matches true false", "row true", "too deep"])
    }
}
