import Foundation
@testable import QuiverStore

/// Five entities covering ints, floats, strings with quotes and non-ASCII text, bools, JSON
/// objects with nested paths, arrays, explicit nulls and missing fields.
enum FilterTestRows {
    static func json(_ text: String) -> FieldValue {
        .json(try! JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
    }

    static let rows: [[String: FieldValue]] = [
        ["id": .int(1), "age": .int(25), "score": .double(3.5), "name": .string("alice"),
         "active": .bool(true), "city": .string("Paris"),
         "meta": json(#"{"color":"red","size":10,"tags":["a","b"],"nested":{"x":1,"y":[5,6]},"flag":true}"#),
         "nums": json("[1,2,3]"), "tags": json(#"["x","y"]"#)],
        ["id": .int(2), "age": .int(40), "score": .double(-1.25), "name": .string(#"Bob "the" builder"#),
         "active": .bool(false), "city": .string("zürich"),
         "meta": json(#"{"color":"blue","size":2.5,"list":[1,2],"flag":false}"#),
         "nums": json("[]"), "tags": json(#"["y"]"#)],
        ["id": .int(3), "age": .null, "score": .double(0), "name": .string("O'Brien"),
         "active": .bool(true), "city": .string("Z\u{00FC}rich"), "meta": .null,
         "nums": json("[2,4]"), "tags": json(#"["x"]"#)],
        ["id": .int(4), "age": .int(18), "score": .double(10), "name": .string("100% cotton_x"),
         "city": .string("東京"), "meta": json(#"{"color":"red","size":"large","note":null}"#),
         "nums": json("[3]")],
        ["id": .int(5), "age": .int(65), "score": .double(1e3), "name": .string("😀 café"),
         "active": .bool(false), "city": .string("paris"), "meta": json(#"{"colour":"green"}"#),
         "nums": json("[1,1,1]"), "tags": json(#"["a","b","c"]"#)],
    ]

    static let allIDs: Set<Int64> = [1, 2, 3, 4, 5]

    static let schema: [String: FilterFieldType] = [
        "id": .int, "age": .int, "score": .float, "name": .string, "active": .bool, "city": .string,
        "meta": .json, "nums": .array(.int), "tags": .array(.string), "embedding": .vector,
    ]

    static func id(_ row: [String: FieldValue]) -> Int64 {
        if case let .int(i)? = row["id"] { return i }
        fatalError("row without id")
    }

    /// ids of the rows `expression` matches through the FieldLookup path.
    static func matchingIDs(_ f: FilterExpression) -> Set<Int64> {
        Set(rows.filter { f.matches($0) }.map(id))
    }

    /// ids of the rows matched through the row-number/column path.
    static func matchingIDsByRow(_ f: FilterExpression) -> Set<Int64> {
        let pred = f.rowPredicate { name in
            let column = rows.map { $0[name] }
            return { row in column[Int(row)] }
        }
        return Set((0..<rows.count).filter { pred(UInt32($0)) }.map { id(rows[$0]) })
    }
}
