import Foundation
import QuiverMilvus
import QuiverStore

/// Where the vectors live: a folder for the embedded store, or a Milvus server.
///
/// `milvus://host:port`, `http://host:port`, `https://host[:port]` (Zilliz Cloud, TLS) and
/// `unix:/path` name a Milvus server (``MilvusStore``); anything else is the folder of an
/// embedded ``VectorStore`` (created when missing).
///
/// ```swift
/// let store = try await DatabaseConnection(location: "milvus://127.0.0.1:19530").open()
/// let report = try await Ingestor(store: store).ingest(["notes/"])
/// ```
public struct DatabaseConnection: Sendable {
    /// The folder or server address.
    public var location: String
    /// Milvus credentials: `user:password` or an API key (nil: none).
    public var token: String?
    /// The Milvus database (nil: the server's `default`).
    public var databaseName: String?
    /// A PEM file of CA certificates for `https://` (nil: the system's roots).
    public var caFile: String?
    /// Seconds each Milvus call may take before it fails.
    public var timeout: Double

    /// A connection description; nothing is opened until ``open()``.
    public init(location: String, token: String? = nil, databaseName: String? = nil, caFile: String? = nil, timeout: Double = 30) {
        self.location = location; self.token = token; self.databaseName = databaseName; self.caFile = caFile; self.timeout = timeout
    }

    /// True when `location` names a Milvus server rather than a folder.
    public static func isMilvus(_ location: String) -> Bool { MilvusAddress.isMilvusAddress(location) }

    /// True when ``location`` names a Milvus server.
    public var isMilvus: Bool { Self.isMilvus(location) }

    /// ``location`` as shown in messages and status pages: the folder, or the Milvus address
    /// without credentials (`user:password@` in the URL is left out).
    public var displayLocation: String {
        guard isMilvus else { return location }
        return (try? MilvusAddress(parsing: location))?.description ?? "an invalid Milvus address"
    }

    /// Opens the embedded store or connects to the Milvus server.
    /// - Throws: `StoreError` for a store folder (e.g. `storeInUse`), `MilvusError` when the
    ///   server cannot be reached or refuses the credentials.
    public func open() async throws -> any VectorDatabase {
        if isMilvus {
            return try await MilvusStore(address: location, token: token, dbName: databaseName, caFile: caFile, timeout: timeout)
        }
        return try VectorStore(path: location)
    }
}
