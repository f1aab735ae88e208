// libFuzzer entry point for the server's JSON request decoders. Not part of the package build:
// scripts/fuzz/run-server-fuzzer.sh compiles it with Sources/QuiverServer/{APIError,JSONBody,
// MilvusJSON,MilvusSchema}.swift and Sources/QuiverStore (all instrumented).
//
// Each input is a request body. It goes through `JSONBody` (as every JSON route parses it), the
// typed field readers, the Milvus request readers and `collections/create`'s schema parser;
// when a schema comes out, every row of `data` is decoded against it as `entities/insert`
// decodes rows (primary key, vectors, declared and dynamic fields), and `describe` of the
// schema must be valid JSON. An `APIError`/`MilvusError` with a message is an expected
// rejection; a crash, a sanitizer report, a leak, a timeout, an error of another type or an
// empty message is a bug.

import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func serverFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let body: JSONBody
    do { body = try JSONBody(bytes: bytes) } catch {
        guard let e = error as? APIError, !e.message.isEmpty, e.status.code == 400 else { preconditionFailure("JSONBody threw \(error)") }
        return 0
    }
    for key in body.object.keys {
        expectRejection { _ = try body.string(key) }
        expectRejection { _ = try body.int(key) }
        _ = body.has(key)
    }
    let request = MilvusRequest(body.object)
    for key in ["collectionName", "dbName", "filter", "annsField", "limit", "offset", "autoID", "outputFields", "params", "schema", "id"] {
        expectRejection { _ = try request.string(key) }
        expectRejection { _ = try request.int(key) }
        expectRejection { _ = try request.bool(key) }
        expectRejection { _ = try request.strings(key) }
        expectRejection { _ = try request.nested(key) }
        _ = request.text(key)
    }
    expectRejection {
        let creation = try MilvusSchema.creation(request)
        let schema = creation.schema
        let describe = MilvusSchema.describe(CollectionInfo(name: "fuzz", schema: schema, count: 0, indexes: []))
        precondition((try? JSONSerialization.jsonObject(with: Data(describe.utf8))) != nil, "describe is not JSON: \(describe)")
        guard let rows = request.value("data") as? [Any] else { return }
        for (r, item) in rows.enumerated() {
            guard let row = item as? [String: Any] else { continue }
            for (key, value) in row {
                if key == schema.primaryKey.name {
                    let id = try MilvusJSON.primaryKey(value, type: schema.primaryKey.type, what: "data[\(r)].\(key)", fail: MilvusError.insertData)
                    precondition(parses(MilvusJSON.text(id)), "primary key text")
                } else if schema.vectorFields.contains(where: { $0.name == key }) {
                    let v = try MilvusJSON.vector(value, what: "data[\(r)].\(key)", fail: MilvusError.insertData)
                    precondition(parses(MilvusJSON.vectorText(v)), "vector text")
                } else {
                    let type = schema.scalarFields.first { $0.name == key }?.type
                    let field = try MilvusJSON.fieldValue(value, type: type, field: key, row: r)
                    precondition(parses("[" + MilvusJSON.text(field) + "]"), "field text of \(value): \(MilvusJSON.text(field))")
                }
            }
        }
    }
    // Every parsed value renders back as JSON.
    let text = MilvusJSON.text(MilvusJSON.jsonValue(body.object))
    precondition(parses(text), "MilvusJSON.text is not JSON: \(text.prefix(200))")
    return 0
}

func parses(_ text: String) -> Bool {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
}

/// Runs `body`; an error must be one of the routes' errors, with a message.
func expectRejection(_ body: () throws -> Void) {
    do { try body() } catch let e as MilvusError {
        precondition(e.code != 0 && !e.message.isEmpty, "MilvusError without code or message: \(e)")
    } catch let e as APIError {
        precondition(!e.message.isEmpty, "APIError without message")
    } catch let e as StoreError {
        precondition(MilvusError.from(e).code != 0 && !e.description.isEmpty, "StoreError without message")
    } catch {
        preconditionFailure("unexpected error type \(type(of: error)): \(error)")
    }
}
