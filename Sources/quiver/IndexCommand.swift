import ArgumentParser
import Foundation
import QuiverStore

/// `quiver index`: build an index on a collection's vector field.
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build an index (FLAT, HNSW, IVF_FLAT, IVF_SQ8) on a collection's vector field.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Collection name.") var collection: String
    @Option(help: "FLAT, HNSW, IVF_FLAT or IVF_SQ8.") var type: String
    @Option(name: .customLong("param"), help: "Build parameter NAME=NUMBER (M=16, efConstruction=200, nlist=1024); repeatable.")
    var params: [String] = []

    func run() async throws {
        guard let kind = IndexKind(rawValue: type.uppercased()) else {
            throw ValidationError("--type must be one of \(IndexKind.allCases.map(\.rawValue).joined(separator: ", ")), not \(type)")
        }
        let p = try RawVectorTools.parseParams(params)
        let started = Date()
        try await database.with { try await RawVectorTools.createIndex(in: $0, collection: collection, kind: kind, params: p) }
        FileHandle.standardError.write(Data(String(format: "built %@ index on '%@' in %.2f s\n", kind.rawValue, collection, Date().timeIntervalSince(started)).utf8))
    }
}
