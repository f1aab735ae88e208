import Foundation
import Quiver

/// Settings of `quiver serve` (see `ServeCommand` for the command-line flags that fill them).
public struct ServerConfiguration: Sendable {
    /// Address to listen on (loopback by default: the server is not reachable from other machines).
    public var host: String = "127.0.0.1"
    /// TCP port (0 picks a free one).
    public var port: Int = 8080
    /// The vector database: an embedded store folder or a Milvus server, with the Milvus
    /// credentials, database name, CA file and timeout (`--db`, `--token`, `--db-name`,
    /// `--ca-file`, `--milvus-timeout`).
    public var database = DatabaseConnection(location: "quiver.db")
    /// Where the vector database is (`--db`, `QUIVER_DB`, else ./quiver.db): a folder, or a Milvus
    /// address (`milvus://host:port`, `http(s)://…`, `unix:…`). The same as `database.location`.
    public var databasePath: String {
        get { database.location }
        set { database.location = newValue }
    }
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
    /// How concurrent requests' texts are gathered into shared forward passes (on by default).
    public var batching = BatchingOptions()
    /// Write one line per request to standard error.
    public var logRequests: Bool = true
    /// TCP port of the Milvus gRPC endpoint on `host` (0 picks a free one; nil: off). The
    /// endpoint serves the embedded store only: with a Milvus `database` it is not started
    /// (see ``servesMilvusGRPC``); clients talk to that Milvus directly.
    public var milvusPort: Int? = 19530
    /// Version reported by `/healthz`.
    public var version: String = "0.1.0"

    /// True when the Milvus gRPC endpoint is started: `milvusPort` is set and the database is an
    /// embedded store folder (the endpoint keeps Milvus metadata next to the store's files).
    public var servesMilvusGRPC: Bool { milvusPort != nil && !database.isMilvus }

    /// The defaults: loopback port 8080, `./quiver.db`, no API key, 16 MiB bodies.
    public init() {}

    /// The store folder or Milvus address from the environment: `QUIVER_DB`, else `./quiver.db`.
    public static func defaultDatabasePath(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let db = environment["QUIVER_DB"], !db.isEmpty { return db }
        return "quiver.db"
    }
}

/// How `quiver serve` gathers the texts of concurrent requests for the same model into shared
/// forward passes (`EmbeddingBatcher`): `/v1/embeddings`, the text query of `/api/search`, the
/// text queries of Milvus gRPC searches and the pairs of `/v1/rerank`. Results are those of the request alone (within float
/// rounding: about 1e-7 per component); only the throughput and the waiting change.
public struct BatchingOptions: Sendable, Equatable {
    /// Off: every request runs its own forward passes, as before batching (no queue, no 503).
    public var enabled = true
    /// Largest forward pass, in tokens: the sum of its texts' token counts (after truncation,
    /// special tokens included; the models pack sequences without padding, so this is the work
    /// of the pass). A request with more is split over several passes; a single text longer than
    /// this still runs, alone.
    public var maxBatchTokens = 4096
    /// Seconds the first text of a batch waits for others before the batch is cut (cut at once
    /// when `maxBatchTokens` are waiting). While a pass runs, new requests wait for it anyway.
    public var maxWait = 0.002
    /// Most texts waiting per model. A request whose texts do not fit is answered 503 with
    /// `Retry-After`; a request into an empty queue is always taken, whatever its size.
    public var maxQueuedTexts = 4096
    /// Seconds sent in the `Retry-After` header of a 503.
    public var retryAfterSeconds = 1

    /// Batching on, 4096-token batches, 2 ms wait, 4096 waiting texts per model.
    public init() {}
}
