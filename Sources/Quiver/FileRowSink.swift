import QuiverStore

/// What a sink that writes whole files' rows holds: the collection, the model its vectors are
/// bound to, the threads, and the files it holds completely (path → content hash, see
/// ``ImageSink/knownHashes(_:)``).
class FileRowSink {
    let collection: any VectorCollection
    let model: EmbeddingModel
    let threads: Int?
    var known: [String: String] = [:]

    init(collection: any VectorCollection, model: EmbeddingModel, threads: Int?) async throws {
        self.collection = collection; self.model = model; self.threads = threads
        known = try await ImageSink.knownHashes(collection)
    }
}
