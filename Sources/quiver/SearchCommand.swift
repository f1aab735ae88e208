import ArgumentParser
import Foundation
import QuiverStore

/// `quiver search`: nearest neighbours of each row of an NPY query file, as JSON lines.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search a collection with query vectors from an .npy file; prints one JSON line per query.")

    @Option(help: "Store directory.") var db: String
    @Option(help: "Collection name.") var collection: String
    @Option(help: "An .npy file of shape (queries, dimension).") var vectors: String
    @Option(help: "Hits per query.") var limit: Int = 10
    @Option(name: .customLong("param"), help: "Search parameter NAME=NUMBER (ef=64, nprobe=16); repeatable.") var params: [String] = []
    @Option(help: "A filter expression, e.g. 'age > 3 and color == \"red\"'.") var filter: String?
    @Option(help: "The model id the queries come from (checked against the collection).") var model: String?
    @Option(help: "Output format: jsonl.") var format: String = "jsonl"

    func run() async throws {
        guard format == "jsonl" else { throw ValidationError("--format must be jsonl") }
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        let p = try RawVectorTools.parseParams(params)
        let results = try await RawVectorTools.search(database: db, collection: collection, queriesPath: vectors, limit: limit,
                                                      params: p, filter: filter, model: model)
        var out = ""
        for (i, hits) in results.enumerated() {
            out += RawVectorTools.jsonLine(query: i, hits: hits) + "\n"
            if out.utf8.count > 1 << 16 { FileHandle.standardOutput.write(Data(out.utf8)); out = "" }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
