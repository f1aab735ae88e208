import Foundation
import Quiver

/// Settings of `quiver serve` (see `ServeCommand` for the command-line flags that fill them).
public struct ServerConfiguration: Sendable {
    /// Address to listen on (loopback by default: the server is not reachable from other machines).
    public var host: String = "127.0.0.1"
    /// TCP port (0 picks a free one).
    public var port: Int = 8080
    /// Folder of the vector database (`--db`, `QUIVER_DB`, else ./quiver.db).
    public var databasePath: String = "quiver.db"
    /// When set, every route but `/healthz` requires `Authorization: Bearer <apiKey>`.
    public var apiKey: String?
    /// Largest request body accepted, in bytes (larger ones get 413).
    public var maxBodyBytes: Int = 16 << 20
    /// Largest total size of a request's header lines, in bytes (larger: the connection is closed).
    public var maxHeaderBytes: Int = 64 << 10
    /// Seconds a connection may stay without a complete request head (slow or no headers, or
    /// idle keep-alive) before it is closed.
    public var idleTimeout: Double = 30
    /// Seconds a request's body may take to arrive after its head before the connection is closed.
    public var requestReadTimeout: Double = 60
    /// Most inputs one `/v1/embeddings` request may carry (OpenAI's limit is 2048).
    public var maxInputs: Int = 2048
    /// Where models are found.
    public var modelHome: ModelHome = .fromEnvironment()
    /// Worker threads per embedding call (nil: all cores).
    public var threads: Int?
    /// Precision of the text models' linear layers (`.int8` for int8 inference; default float32).
    public var precision: Precision = .float32
    /// Write one line per request to standard error.
    public var logRequests: Bool = true
    /// TCP port of the Milvus gRPC endpoint on `host` (0 picks a free one; nil: off).
    public var milvusPort: Int? = 19530
    /// Version reported by `/healthz`.
    public var version: String = "0.1.0"

    /// The defaults: loopback port 8080, `./quiver.db`, no API key, 16 MiB bodies.
    public init() {}

    /// The store folder from the environment: `QUIVER_DB`, else `./quiver.db`.
    public static func defaultDatabasePath(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let db = environment["QUIVER_DB"], !db.isEmpty { return db }
        return "quiver.db"
    }
}
