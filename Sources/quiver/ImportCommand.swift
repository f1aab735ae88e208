import ArgumentParser
import Foundation
import QuiverStore

/// `quiver import`: raw vectors from an NPY file into a collection.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import vectors from an .npy file (float32, float64 or float16, shape n x d) into a collection.",
        discussion: "Creates the collection (primary key 'id', vector field 'vector') when it does not exist.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Collection name.") var collection: String
    @Option(help: "An .npy file of shape (n, dimension).") var vectors: String
    @Option(help: "Metric of a new collection: COSINE, IP or L2.") var metric: String = "COSINE"
    @Option(help: "A text file with one primary key per line (default: row numbers 0..n-1).") var ids: String?
    @Option(help: "A JSON-lines file with one object of fields per vector.") var metadata: String?
    @Option(help: "The model id the vectors come from ('none' for raw vectors).") var model: String = "none"
    @Option(help: "Entities per insert.") var batchSize: Int = 5000
    @Flag(help: "Replace entities whose id already exists.") var upsert = false

    func run() async throws {
        guard let m = Metric(rawValue: metric.uppercased()) else {
            throw ValidationError("--metric must be COSINE, IP or L2, not \(metric)")
        }
        let started = Date()
        let n = try await database.with { store in
            try await RawVectorTools.importVectors(
                .init(database: database.location, collection: collection, vectorsPath: vectors, metric: m, idsPath: ids, metadataPath: metadata,
                      model: model, batchSize: batchSize, upsert: upsert), into: store
            ) { done, total in
                FileHandle.standardError.write(Data("\rimported \(done)/\(total)".utf8))
                if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
            }
        }
        FileHandle.standardError.write(Data(String(format: "imported %d vectors into '%@' in %.2f s\n", n, collection, Date().timeIntervalSince(started)).utf8))
    }
}
