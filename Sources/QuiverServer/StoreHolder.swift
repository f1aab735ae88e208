import Foundation
import Hummingbird
import Quiver
import QuiverStore

/// The vector database of the server: the embedded store folder or a Milvus server, opened on
/// first use through ``DatabaseConnection`` and closed at shutdown.
///
/// Requests that arrive while the database is being opened wait for that one opening; an
/// opening that fails (Milvus unreachable, wrong token) is tried again by the next request, and
/// the request gets 503 `database_unavailable` quoting the reason.
actor StoreHolder {
    /// Where the database is, with the Milvus connection settings.
    let connection: DatabaseConnection
    private var store: (any VectorDatabase)?
    private var opening: Task<any VectorDatabase, Error>?

    init(connection: DatabaseConnection) { self.connection = connection }

    /// The folder, or the Milvus address without credentials (for messages and the gRPC
    /// endpoint's metadata folder).
    nonisolated var path: String { connection.displayLocation }
    /// True when the database is a Milvus server.
    nonisolated var isMilvus: Bool { connection.isMilvus }

    /// The open database (opened now when it is not).
    /// - Throws: for a Milvus server that cannot be opened, `APIError` 503 quoting the reason;
    ///   the store's own errors for a folder.
    func get() async throws -> any VectorDatabase {
        do { return try await open() } catch let error where isMilvus {
            throw APIError(status: .serviceUnavailable, message: "cannot open the database: \(error)", type: "server_error",
                           code: "database_unavailable")
        }
    }

    /// The open database (opened now when it is not), with the backend's own errors.
    func open() async throws -> any VectorDatabase {
        if let store { return store }
        if let opening { return try await opening.value }
        let connection = self.connection
        let task = Task { try await connection.open() }
        opening = task
        do {
            let s = try await task.value
            store = s
            opening = nil
            return s
        } catch {
            opening = nil
            throw error
        }
    }

    /// The embedded store, for the features only it has (the Milvus gRPC endpoint).
    /// - Throws: `StoreError.invalidRequest` naming the Milvus server when the database is one.
    func embedded() async throws -> VectorStore {
        guard let s = try await get() as? VectorStore else {
            throw StoreError.invalidRequest("this needs the embedded store, but the server's database is the Milvus server \(path)")
        }
        return s
    }

    func close() async throws {
        if let opening { _ = try? await opening.value }
        let s = store
        store = nil
        try await s?.close()
    }
}
