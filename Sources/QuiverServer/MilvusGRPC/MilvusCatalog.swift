import Foundation
import QuiverMilvusWire
import QuiverStore
import SwiftProtobuf

/// What Milvus knows about a collection and Quiver's store schema does not hold: the schema as
/// the client sent it (Milvus data types such as Int32 or Float, functions, descriptions), the
/// declared indexes (AUTOINDEX, scalar indexes) and the consistency level.
///
/// Kept next to the store, one file per collection: `DB/milvus-grpc/NAME.pb` (a serialized
/// ``MVCollectionSchema``) and `DB/milvus-grpc/NAME.json` (indexes, timestamps), each written
/// atomically. A file whose schema no longer matches the store's collection of that name (it
/// was dropped and made again by another route) is ignored.
struct MilvusCollectionMeta: Codable, Sendable {
    /// One declared index: the field, its name and its parameters as the client gave them.
    struct Index: Codable, Sendable, Equatable {
        var field: String
        var name: String
        var params: [String: String]
    }
    var indexes: [Index] = []
    var consistencyLevel: Int32 = 2
    var createdTimestamp: UInt64 = 0
    var collectionID: Int64 = 0
    /// Not stored in the JSON file: the schema as sent (its own `.pb` file).
    var schema: MVCollectionSchema?

    enum CodingKeys: String, CodingKey { case indexes, consistencyLevel, createdTimestamp, collectionID }
}

/// The ``MilvusCollectionMeta`` files of one store folder. DDL that changes them runs one at a
/// time (this is an actor).
actor MilvusCatalog {
    let folder: String
    private var cache: [String: MilvusCollectionMeta] = [:]
    /// Collections released by ReleaseCollection (until loaded again or the server restarts).
    private(set) var released: Set<String> = []

    init(storePath: String) { folder = storePath + "/milvus-grpc" }

    /// The metadata of `name`, when present and consistent with `schema` (the store's).
    func meta(_ name: String, schema: CollectionSchema) -> MilvusCollectionMeta? {
        let m: MilvusCollectionMeta
        if let cached = cache[name] { m = cached } else {
            guard let data = FileManager.default.contents(atPath: jsonPath(name)),
                  var decoded = try? JSONDecoder().decode(MilvusCollectionMeta.self, from: data) else { return nil }
            if let pb = FileManager.default.contents(atPath: pbPath(name)) {
                decoded.schema = try? MVCollectionSchema(serializedBytes: pb)
            }
            cache[name] = decoded
            m = decoded
        }
        if let s = m.schema, !Self.consistent(s, schema) { return nil }
        return m
    }

    /// Writes the metadata of `name` (atomically, each file).
    func save(_ name: String, _ meta: MilvusCollectionMeta) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if let s = meta.schema {
            try Data(try s.serializedBytes() as [UInt8]).write(to: URL(fileURLWithPath: pbPath(name)), options: .atomic)
        } else {
            try? FileManager.default.removeItem(atPath: pbPath(name))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(meta).write(to: URL(fileURLWithPath: jsonPath(name)), options: .atomic)
        cache[name] = meta
    }

    /// Forgets `name` (after DropCollection).
    func remove(_ name: String) {
        cache[name] = nil
        released.remove(name)
        try? FileManager.default.removeItem(atPath: jsonPath(name))
        try? FileManager.default.removeItem(atPath: pbPath(name))
    }

    func setReleased(_ name: String, _ value: Bool) {
        if value { released.insert(name) } else { released.remove(name) }
    }

    func isReleased(_ name: String) -> Bool { released.contains(name) }

    private func jsonPath(_ name: String) -> String { folder + "/" + name + ".json" }
    private func pbPath(_ name: String) -> String { folder + "/" + name + ".pb" }

    /// True when the Milvus schema describes the store's schema: same primary key, vector
    /// fields (name and dimension) and declared scalar fields.
    static func consistent(_ milvus: MVCollectionSchema, _ store: CollectionSchema) -> Bool {
        var names = Set<String>()
        for f in milvus.fields where !f.isDynamic { names.insert(f.name) }
        let storeNames = Set([store.primaryKey.name] + store.vectorFields.map(\.name) + store.scalarFields.map(\.name))
        guard names == storeNames else { return false }
        for v in store.vectorFields {
            guard let f = milvus.fields.first(where: { $0.name == v.name }),
                  MilvusWireSchema.param(f.typeParams, "dim").flatMap({ Int($0) }) == v.dimension else { return false }
        }
        return true
    }
}
