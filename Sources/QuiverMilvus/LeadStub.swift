// TEMPORARY (lead's branch only, replaced by the real backend at merge).
import QuiverStore

public final class MilvusStore: VectorDatabase {
    public let location: String
    public init(address: String, token: String?, dbName: String?, caFile: String?, timeout: Double) async throws {
        throw MilvusError.invalidAddress(address, reason: "not built yet")
    }
    public func makeCollection(_ name: String, schema: CollectionSchema) async throws -> any VectorCollection { fatalError() }
    public func openCollection(_ name: String) async throws -> any VectorCollection { fatalError() }
    public func hasCollection(_ name: String) async throws -> Bool { false }
    public func listCollections() async throws -> [String] { [] }
    public func describeCollection(_ name: String) async throws -> CollectionInfo { fatalError() }
    public func dropCollection(_ name: String) async throws {}
    public func close() async throws {}
}
