import ArgumentParser
import Foundation
import Quiver
import QuiverStore

/// `--db` and the Milvus connection flags, shared by the commands that open a database.
struct DatabaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Store folder, or a Milvus server: milvus://HOST:PORT, http(s)://HOST[:PORT] (Zilliz Cloud), unix:PATH (default: $QUIVER_DB, else ./quiver.db).", valueName: "DIR|URL"))
    var db: String?
    @Option(help: ArgumentHelp("Milvus credentials: USER:PASSWORD or an API key (default: $MILVUS_TOKEN).", valueName: "TOKEN"))
    var token: String?
    @Option(help: "Milvus database name (default: the server's 'default').")
    var dbName: String?
    @Option(help: ArgumentHelp("PEM file of CA certificates for an https:// Milvus (default: the system's roots).", valueName: "FILE"))
    var caFile: String?
    @Option(help: "Seconds a Milvus call may take before it fails.")
    var milvusTimeout: Double = 30

    /// The folder or URL: --db, else $QUIVER_DB, else ./quiver.db.
    var location: String { StorePath.resolve(db) }

    /// The connection these flags describe.
    var connection: DatabaseConnection {
        let env = ProcessInfo.processInfo.environment
        return DatabaseConnection(location: location, token: token ?? env["MILVUS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                                  databaseName: dbName, caFile: caFile, timeout: milvusTimeout)
    }

    /// Opens the database.
    func open() async throws -> any VectorDatabase { try await connection.open() }
}

extension DatabaseOptions {
    /// Opens the database, runs `body` and closes it (also when `body` throws).
    func with<T>(_ body: (any VectorDatabase) async throws -> T) async throws -> T {
        let store = try await open()
        do {
            let r = try await body(store)
            try await store.close()
            return r
        } catch {
            try? await store.close()
            throw error
        }
    }
}
